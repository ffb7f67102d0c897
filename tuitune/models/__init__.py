"""What a model reference means and what can be read from a model without torch. Light core.

    ref.py           ``model.path`` parsed once: bundled / run / gguf / folder / hub (ModelRef)
    bundled.py       ``bundled:`` models and data that ship inside installed packages
    files.py         safe model files: whole GGUFs, no unpickling unless allowed
    gguf_header.py   a GGUF file's metadata and tensor list, without numpy
    hub_cache.py     the local Hugging Face cache, through huggingface_hub's cache API
    tokenizer.py     a torch-free tokenizer (tokenizers + a sandboxed chat template)
"""
