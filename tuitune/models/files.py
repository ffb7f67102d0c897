"""Safe loading, checked before anything heavy runs: a local model must be whole and must not
need unpickling, and settings that let a model run code are said out loud.

- A `.gguf` file must parse and hold all its tensor data (an interrupted download fails here,
  with exit code 2, not minutes later inside llama.cpp or a worker).
- A local Hugging Face folder must hold `.safetensors` weights. Pickled weights (`.bin`, `.pt`,
  `.pth`) can run arbitrary code when loaded: refused unless the preset sets
  `model.allow_pickle = true`, and then warned about.
- `model.trust_remote_code = true` runs Python shipped with the model: always warned about.

Light core: no torch here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tuitune.errors import TuituneError

PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl")


class ModelFileError(TuituneError):
    """A local model file or folder that cannot be loaded, or not safely."""


def check_model_files(ref: str, allow_pickle: bool = False) -> None:
    """Raise :class:`ModelFileError` for a truncated GGUF or a folder of pickled weights only.
    Hub ids and anything that is not a local file or folder pass (the loader reports those)."""
    path = Path(ref).expanduser()
    if path.is_file() and path.suffix.lower() == ".gguf":
        from tuitune.models.gguf_header import GGUFFormatError, check_complete

        try:
            check_complete(path)
        except (GGUFFormatError, OSError) as e:
            raise ModelFileError(f"{path}: not a usable GGUF file: {e}. Download or export it again.") from None
    elif path.is_dir() and not any(path.glob("*.safetensors")):
        pickles = pickled_weights(path)
        if pickles and not allow_pickle:
            names = ", ".join(p.name for p in pickles[:3]) + (" …" if len(pickles) > 3 else "")
            raise ModelFileError(
                f"{path}: the weights are pickled ({names}), and loading a pickle can run arbitrary code. "
                "Convert them to safetensors (load once, then save_pretrained(..., safe_serialization=True)), "
                "or, if you trust where they came from, set model.allow_pickle = true."
            )


def pickled_weights(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in PICKLE_SUFFIXES and "training_args" not in p.name)


def safety_warnings(preset: Any) -> list[str]:
    """What the preset lets the model do that a person should know about, one line each."""
    warnings = []
    if preset.model.trust_remote_code:
        warnings.append(
            "model.trust_remote_code is on: Python code shipped with the model will run on this machine "
            "with your permissions. Only keep it on for authors you trust."
        )
    if preset.model.allow_pickle:
        path = Path(preset.model.path).expanduser()
        if path.is_dir() and not any(path.glob("*.safetensors")) and pickled_weights(path):
            warnings.append(
                f"model.allow_pickle is on and {path} has only pickled weights: loading them can run "
                "arbitrary code. Convert them to safetensors when you can."
            )
    return warnings
