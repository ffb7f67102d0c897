"""The evaluation worker (``python -m tuitune.evaluation TARGET``): base against tuned on the
user's rows, the general set that guards against forgetting, and the lm-eval bridge.

Heavy (llama.cpp, and torch for adapters and folders): a front starts it as a process through
tuitune.runs.evals and reads its messages; it never imports it.
"""
