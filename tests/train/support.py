"""Shared by the tests of this folder (a test module must not import another)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.helpers import read_state, run_dir_from, tuitune, write_preset
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


def killed_then_resumed(preset: Path, home: Path, last: int, kept: int, *args: str) -> Path:
    """`tuitune run` SIGKILLed while writing its last checkpoint (step ``last``; checkpoint
    ``kept`` before it stays whole), then `tuitune runs resume`: the run ends done, the resumed
    attempt's first step is ``kept + 1``. Returns the run directory."""
    env = {**os.environ, "TUITUNE_FAULT": f"kill_in_save:step={last}", "TUITUNE_HOME": str(home)}
    killed = subprocess.run([sys.executable, "-m", "tuitune", "run", str(preset), *args, "--json"],
                            capture_output=True, text=True, timeout=600, env=env)
    assert killed.returncode == 1, killed.stdout[-3000:] + killed.stderr[-3000:]
    run = run_dir_from(killed.stderr)
    assert (run / "checkpoints" / f"checkpoint-{kept}").is_dir(), sorted(p.name for p in (run / "checkpoints").iterdir())
    before = len(steps(run))
    resumed = tuitune("runs", "resume", str(run), "--json", env_home=home)
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    assert read_state(run)["status"] == "done"
    again = [e["step"] for e in steps(run)[before:]]
    assert again and again[0] == kept + 1 and again[-1] == last, again
    return run
