"""Shared by the tests of this folder (a test module must not import another)."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import write_preset
from tuitune.events import read_events

TOPICS = [
    "the sea", "a parrot", "the moon", "gold coins", "a storm", "the captain", "rum", "a map", "the anchor",
    "a cannon", "the wind", "a treasure chest", "the island", "a sword", "the sails", "a ship's cat",
    "the galley", "a lighthouse", "the tide", "a compass", "the crew", "a harbour", "the stars", "a shipwreck",
    "the deck", "a lantern", "the fog", "a barrel", "the mast", "a rope", "the horizon", "a seagull",
]


def preset_with(path: Path, model, data: Path, data_keys: dict, **sections) -> Path:
    """write_preset, plus keys of the [data] section (its `data` argument is the file)."""
    import tomli_w
    import tomllib

    write_preset(path, model, data, **sections)
    preset = tomllib.loads(path.read_text())
    preset["data"].update(data_keys)
    path.write_text(tomli_w.dumps(preset))
    return path


def steps(run: Path) -> list[dict]:
    return [e for e in read_events(run / "events.jsonl") if e["type"] == "step"]


def mean(values):
    return sum(values) / len(values)
