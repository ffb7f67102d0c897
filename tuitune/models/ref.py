"""What a model reference (``model.path``, ``--model``, a chat target) means, decided once.

- ``bundled:NAME`` — a model that ships inside an installed package (:func:`unbundle` finds its file);
- ``run:<id>`` — an earlier run's result (an id, a unique prefix or suffix, or the run's folder);
- ``gguf`` — a local path ending in ``.gguf``;
- ``folder`` — any other local path: a Hugging Face model folder (the planner also takes a config.json);
- ``hub`` — ``org/name`` or ``name`` that is no local path: a Hugging Face repository id.

A path is local when it starts with ``.``, ``/`` or ``~``, is absolute, ends in ``.gguf``,
exists, or cannot be a repository id. Parsing reads no file (it only asks whether a path
exists), imports nothing heavy, and never resolves ``run:``: that is the run layer's job
(:func:`tuitune.runs.refs.readable_ref`), and the core does not import the run layer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tuitune.models.bundled import BUNDLED_PREFIX
from tuitune.models.files import ModelFileError

RUN_PREFIX = "run:"

Kind = Literal["bundled", "run", "gguf", "folder", "hub"]

# A Hugging Face repository id: an optional namespace and a name, each of letters, digits, `-`,
# `_` and `.` (huggingface_hub.utils.validate_repo_id's rule, without importing it: the fronts
# parse references on every keystroke of the wizard).
_HUB_ID = re.compile(r"^(?:[A-Za-z0-9][\w.-]{0,95}/)?[A-Za-z0-9][\w.-]{0,95}$")


class ModelRefError(ModelFileError):
    """A model reference that cannot mean anything (``run:`` with no id, an empty string)."""


@dataclass(frozen=True)
class ModelRef:
    kind: Kind
    text: str
    """As the user wrote it (messages quote this)."""
    value: str
    """The bundled name, what follows ``run:``, the local path as text, or the hub id."""
    path: Path | None = None
    """gguf and folder: the local path (absolute when parsed with a ``base_dir``)."""

    @property
    def is_local(self) -> bool:
        return self.kind in ("gguf", "folder")

    def __str__(self) -> str:
        """The reference as a preset records it (local paths resolved)."""
        if self.kind == "bundled":
            return BUNDLED_PREFIX + self.value
        if self.kind == "run":
            return RUN_PREFIX + self.value
        return self.value


def parse_model_ref(text: str | Path | ModelRef, base_dir: Path | None = None) -> ModelRef:
    """What ``text`` names; relative local paths are resolved against ``base_dir`` when given
    (a preset's folder), else left relative to the working directory."""
    if isinstance(text, ModelRef):
        return text
    text = str(text)  # a Path names a local file or folder like its text does
    if not text.strip():
        raise ModelRefError("the model reference is empty; give a model folder, a .gguf file, a hub id, "
                            f"{BUNDLED_PREFIX}NAME or {RUN_PREFIX}<run id>")
    if text.startswith(BUNDLED_PREFIX):
        name = text[len(BUNDLED_PREFIX):].strip()
        if not name:
            raise ModelRefError(f"{text!r}: name a bundled model after the colon, e.g. {BUNDLED_PREFIX}smollm2-135m-instruct")
        return ModelRef("bundled", text, name)
    if text.startswith(RUN_PREFIX):
        wanted = text[len(RUN_PREFIX):].strip()
        if not wanted:
            raise ModelRefError(f"{text!r}: name a run after the colon, e.g. {RUN_PREFIX}20250101-120000-sft-ab12 "
                                "(`tuitune runs list` shows them)")
        return ModelRef("run", text, wanted)
    given = Path(text).expanduser()
    path = (base_dir / given).resolve() if base_dir is not None else given
    local = (text.startswith((".", "/", "~")) or given.is_absolute() or text.lower().endswith(".gguf")
             or path.exists() or not _HUB_ID.match(text))
    if not local:
        return ModelRef("hub", text, text)
    kind: Kind = "gguf" if path.suffix.lower() == ".gguf" else "folder"
    return ModelRef(kind, text, str(path), path)


def unbundle(ref: ModelRef) -> ModelRef:
    """A ``bundled:`` reference as the installed GGUF file it names (raises
    :class:`~tuitune.models.bundled.BundledNotFound`); any other reference as it is."""
    if ref.kind != "bundled":
        return ref
    from tuitune.models.bundled import resolve_model

    path = resolve_model(ref.text)
    return ModelRef("gguf", ref.text, str(path), path)
