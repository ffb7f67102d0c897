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

import json
import os
from pathlib import Path
from typing import Any

from tuitune.errors import TuituneError

PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl")


class ModelFileError(TuituneError):
    """A local model file or folder that cannot be loaded, or not safely."""


TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "tokenizer_config.json", "vocab.json", "tiktoken.model")


def check_model_files(ref: str, allow_pickle: bool = False, trust_remote_code: bool = False) -> None:
    """Raise :class:`ModelFileError` unless the model ``ref`` names can load, said before any
    run starts: a GGUF must be whole; a folder needs a config.json, weights in safetensors
    (pickles only when allowed), tokenizer files, and ``model.trust_remote_code`` when its
    architecture exists only as code shipped with it; a hub id must be cached when offline."""
    path = Path(ref).expanduser()
    if path.is_file() and path.suffix.lower() == ".gguf":
        from tuitune.models.gguf_header import GGUFFormatError, check_complete

        try:
            check_complete(path)
        except (GGUFFormatError, OSError) as e:
            raise ModelFileError(f"{path}: not a usable GGUF file: {e}. Download or export it again.") from None
    elif path.is_dir():
        _check_folder(path, allow_pickle, trust_remote_code)
    elif not path.exists():
        _check_hub_id(ref)


def _check_folder(path: Path, allow_pickle: bool, trust_remote_code: bool) -> None:
    config_file = path / "config.json"
    if not config_file.is_file():
        raise ModelFileError(f"{path}: no config.json, so not a Hugging Face model folder; give a model folder, "
                             "a .gguf file, a hub id, bundled:NAME or run:<id>")
    if not any(path.glob("*.safetensors")):
        pickles = pickled_weights(path)
        if not pickles:
            raise ModelFileError(f"{path}: no weights (no .safetensors file); a config.json describes a model "
                                 "but does not hold it. Download the whole model folder")
        if not allow_pickle:
            names = ", ".join(p.name for p in pickles[:3]) + (" …" if len(pickles) > 3 else "")
            raise ModelFileError(
                f"{path}: the weights are pickled ({names}), and loading a pickle can run arbitrary code. "
                "Convert them to safetensors (load once, then save_pretrained(..., safe_serialization=True)), "
                "or, if you trust where they came from, set model.allow_pickle = true."
            )
    if not any((path / name).is_file() for name in TOKENIZER_FILES):
        raise ModelFileError(f"{path}: no tokenizer files ({', '.join(TOKENIZER_FILES[:3])} …); copy them from "
                             "the model these weights come from")
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ModelFileError(f"{config_file}: unreadable ({e})") from None
    if not isinstance(config, dict):
        raise ModelFileError(f"{config_file}: not a JSON object")
    custom = (config.get("auto_map") or {}).get("AutoModelForCausalLM")
    if custom and not trust_remote_code and not _known_architecture(str(config.get("model_type", ""))):
        raise ModelFileError(
            f"{path}: the model's architecture ({config.get('model_type') or 'unnamed'}) exists only as Python code "
            f"shipped with it ({custom}); tuitune runs it only when the preset sets model.trust_remote_code = true. "
            "That code runs with your permissions: turn it on only for authors you trust."
        )


def _known_architecture(model_type: str) -> bool:
    """Whether the installed transformers has ``model_type`` built in (looked up in its package
    folder, so nothing is imported)."""
    import importlib.util

    spec = importlib.util.find_spec("transformers")
    if not model_type or spec is None or spec.origin is None:
        return False
    return (Path(spec.origin).parent / "models" / model_type.replace("-", "_")).is_dir()


def _check_hub_id(ref: str) -> None:
    """A hub id offline must be in the cache (online, the worker downloads it)."""
    from tuitune.models.ref import parse_model_ref

    if parse_model_ref(ref).kind != "hub" or os.environ.get("HF_HUB_OFFLINE", "").lower() not in ("1", "true", "yes"):
        return
    from tuitune.models.hub_cache import hub_cache_config, hub_cache_dir

    if hub_cache_config(ref) is None:
        raise ModelFileError(f"{ref}: not in the Hugging Face cache ({hub_cache_dir()}), and HF_HUB_OFFLINE is set, "
                             f"so it cannot be downloaded; download it first (`hf download {ref}`) or unset HF_HUB_OFFLINE")


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
