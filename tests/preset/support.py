"""Shared by the preset tests (a test module must not import another)."""

from __future__ import annotations

MINIMAL = '[model]\npath = "m"\n[data]\npath = "d.jsonl"\n'


def preset(extra: str = ""):
    """A validated preset; its paths are not checked (the rules only read the settings)."""
    from tuitune.preset import Preset
    from tuitune.preset.load import tomllib

    return Preset.model_validate(tomllib.loads(MINIMAL + extra))
