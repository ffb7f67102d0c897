"""Export a run: merge, GGUF, quantize, verify, Ollama Modelfile. Runs as a worker process:
``python -m tuitune.export RUN_DIR [--quant q4_k_m,q8_0] [--no-ollama]``."""
