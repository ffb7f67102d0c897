"""Chat with a model: a GGUF through llama-cpp-python (in-process, light), or a run's adapter
or a Hugging Face model through transformers (in a worker process, never in a front)."""
