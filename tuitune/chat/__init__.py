"""Chat with a model: a GGUF through llama-cpp-python (in-process, light), or a run's adapter
or a Hugging Face model through transformers (in a worker process, never in a front).

Both fronts drive a chat the same way: :mod:`~tuitune.chat.commands` parses the slash commands,
:mod:`~tuitune.chat.controller` opens the targets (compare mode: the base beside the tuned model)
and carries out retries, preferences and transcripts; the fronts keep only their input/output."""
