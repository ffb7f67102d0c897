"""The training worker (heavy: torch, transformers, peft, trl). Started as a separate process
with ``python -m tuitune.train RUN_DIR``; never imported by the fronts."""
