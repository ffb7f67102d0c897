"""The TUI refuses what `tuitune` refuses, with the same message: the run actions are one copy
(tuitune/runs/actions.py) behind both fronts. Real app through Textual's pilot; the CLI's own
message is read from the real command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import tuitune
from tests.test_tui_support import pilot_test, wait_for
from tuitune.tui.app import TuituneApp

DATA = Path(__file__).resolve().parent / "bad_inputs" / "data" / "good.jsonl"


def notes(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


def cli_error(*argv: str) -> str:
    """What `tuitune ARGV` says when it refuses: its one error line, without the `error: `."""
    result = tuitune(*argv)
    assert result.returncode == 2, result.stdout + result.stderr
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    return line.removeprefix("error: ")


def no_runs(home: Path) -> bool:
    return not (home / "runs").exists() or not any((home / "runs").iterdir())


async def launch_refused(app, pilot, preset: Path) -> str:
    """Launch ``preset`` as the new-run screen and the demo key do; the error notification."""
    app.launch_preset(preset)
    await wait_for(pilot, lambda: any("cannot start" in n for n in notes(app)), timeout=30, what="the refusal")
    return next(n for n in notes(app) if "cannot start" in n)


@pytest.fixture
def bad_models(tmp_path, smollm2_gguf) -> dict[str, Path]:
    """Presets whose model is a GGUF cut in its data, and a folder of pickled weights only."""
    whole = smollm2_gguf.read_bytes()
    (tmp_path / "cut-in-data.gguf").write_bytes(whole[: len(whole) // 2])
    pickled = tmp_path / "pickled-model"
    pickled.mkdir()
    (pickled / "config.json").write_text(json.dumps({"model_type": "llama"}))
    (pickled / "pytorch_model.bin").write_bytes(b"\x80\x04 not really a pickle")
    presets = {}
    for name, model in (("truncated-gguf", "cut-in-data.gguf"), ("pickled", "pickled-model")):
        presets[name] = tmp_path / f"{name}.toml"
        presets[name].write_text(f'[model]\npath = "{model}"\n\n[data]\npath = "{DATA}"\n')
    return presets


@pilot_test
async def test_a_model_file_the_cli_refuses_is_refused_with_the_same_message(bad_models, tuitune_home):
    expected = {name: cli_error("run", str(preset)) for name, preset in bad_models.items()}
    assert "not a usable GGUF file" in expected["truncated-gguf"]
    assert "the weights are pickled" in expected["pickled"]
    app = TuituneApp()
    async with app.run_test(size=(120, 40)) as pilot:
        for name, preset in bad_models.items():
            app.clear_notifications()
            shown = await launch_refused(app, pilot, preset)
            assert expected[name] in shown, (name, shown)
        assert type(app.screen).__name__ == "HomeScreen"
    assert no_runs(tuitune_home)
