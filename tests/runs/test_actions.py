"""The run actions (tuitune/runs/actions.py) are one copy behind both fronts: the TUI refuses
what `tuitune` refuses, with the same message, before any worker starts. The real app through
Textual's pilot; the CLI's own message read from the real command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import BAD_INPUTS, NVML_RECORDINGS, shape_only_model, tuitune, write_preset
from tests.tui.support import notes, pilot_test
from tests.waits import until
from tuitune.runs import actions
from tuitune.tui.app import TuituneApp

DATA = BAD_INPUTS / "data" / "good.jsonl"


def cli_error(*argv: str) -> str:
    """What `tuitune ARGV` says when it refuses: its one error line, without the `error: `."""
    result = tuitune(*argv)
    assert result.returncode == 2, result.stdout + result.stderr
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    return line.removeprefix("error: ")


def finished_run(gguf: list[str]):
    """A run as the training worker leaves it when done (its weights are never read here)."""
    from tuitune.models.bundled import presets_dir
    from tuitune.preset import load_preset
    from tuitune.runs.store import create_run

    run = create_run(load_preset(presets_dir() / "demo-cpu.toml", [f"export.gguf={json.dumps(gguf)}"]))
    run.update_state(status="done", step=20, total_steps=20)
    return run


def no_runs(home: Path) -> bool:
    return not (home / "runs").exists() or not any((home / "runs").iterdir())


async def launch_refused(app, pilot, preset: Path) -> str:
    """Launch ``preset`` as the new-run screen and the demo key do; the error notification."""
    app.launch_preset(preset)
    await until(pilot, lambda: any("cannot start" in n for n in notes(app)), timeout=30, what="the refusal")
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


@pilot_test
async def test_a_preset_that_cannot_fit_the_gpu_is_refused_with_the_planners_advice(
        tmp_path, tuitune_home, small_data, monkeypatch):
    """On a recorded RTX 4090, full fine-tuning of an 8B model: `tuitune run` refuses it (exit 2,
    its --force aside), and so does the TUI, with the same advice and no run created."""
    monkeypatch.setenv("TUITUNE_NVML_REPLAY", str(NVML_RECORDINGS / "rtx4090.json"))
    preset = write_preset(tmp_path / "p.toml", shape_only_model("Llama-3.1-8B", tmp_path), small_data,
                          train={"method": "full", "device": "auto", "max_seq_len": 2048})
    expected = cli_error("run", str(preset))
    assert "planner suggests" in expected
    app = TuituneApp()
    async with app.run_test(size=(120, 40)) as pilot:
        shown = await launch_refused(app, pilot, preset)
        assert expected in shown
        assert type(app.screen).__name__ == "HomeScreen"
    assert no_runs(tuitune_home)


@pilot_test
async def test_an_export_of_no_gguf_types_is_refused_like_the_cli_refuses_it(tuitune_home):
    """A finished run whose preset lists no GGUF types: nothing is ticked on the export screen,
    and `e` says what `tuitune export RUN` says; no export worker starts."""
    run = finished_run(gguf=[])
    expected = cli_error("export", run.id)
    app = TuituneApp()
    async with app.run_test(size=(140, 40)) as pilot:
        app.open_export(run.id)
        await until(pilot, lambda: type(app.screen).__name__ == "ExportScreen" and app.screen.query("#quants"),
                       what="export screen")
        assert app.screen.chosen == []
        await pilot.press("e")
        await until(pilot, lambda: any("no GGUF types" in n for n in notes(app)), what="the refusal")
        assert expected in notes(app)
    assert not run.launch_file.exists() and not (run.path / "gguf").exists()


def test_the_fit_check_refuses_only_on_a_gpu_and_only_unless_forced(tmp_path, small_data, monkeypatch):
    from tuitune.hardware.errors import PlannerError
    from tuitune.preset import load_preset

    preset = load_preset(write_preset(tmp_path / "p.toml", shape_only_model("Llama-3.1-8B", tmp_path), small_data,
                                      train={"method": "full", "device": "auto", "max_seq_len": 2048}))
    monkeypatch.setenv("TUITUNE_NVML_REPLAY", str(NVML_RECORDINGS / "rtx4090.json"))
    with pytest.raises(PlannerError, match=r"needs about .* GiB .*planner suggests"):
        actions.check_fits(preset)
    actions.check_fits(preset, force=True)
    cpu = preset.model_copy(deep=True)
    cpu.train.device = "cpu"
    actions.check_fits(cpu)
    monkeypatch.setenv("TUITUNE_NVML_REPLAY", str(NVML_RECORDINGS / "no_driver.json"))
    actions.check_fits(preset)  # no GPU: nothing to fit into; the worker trains on the CPU


def test_cli_export_of_no_gguf_types_is_refused_before_any_worker_starts(tuitune_home):
    run = finished_run(gguf=[])
    events = run.events.read_bytes() if run.events.exists() else b""
    for argv in (["export", run.id], ["export", run.id, "--quant", ","]):
        result = tuitune(*argv)
        assert result.returncode == 2, result.stdout + result.stderr
        assert "Traceback" not in result.stderr
        assert f"tuitune export {run.id} --quant q8_0" in result.stderr and "export.gguf" in result.stderr
    assert not run.launch_file.exists() and not (run.path / "gguf").exists() and not (run.path / "merged").exists()
    assert (run.events.read_bytes() if run.events.exists() else b"") == events
    with pytest.raises(actions.ActionRefused, match="no GGUF types"):
        actions.export(run, [])


def test_export_checks_the_types_and_the_run_before_anything_starts(tuitune_home):
    run = finished_run(gguf=["q8_0"])
    with pytest.raises(actions.ActionRefused, match=r"unknown type\(s\) q3_fancy; known: .*q8_0"):
        actions.export(run, ["q8_0", "q3_fancy"])
    run.update_state(status="stopped")
    with pytest.raises(actions.ActionRefused, match="is stopped: only finished"):
        actions.export(run)
    assert not run.launch_file.exists()


def test_check_says_ok_only_of_a_preset_whose_data_passes_too():
    broken = BAD_INPUTS / "presets" / "broken-data.toml"
    result = tuitune("check", str(broken))
    assert result.returncode == 2
    assert ": ok" not in result.stdout, result.stdout
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "broken-json-line.jsonl:3: invalid JSON" in errors[0], result.stderr
    good = BAD_INPUTS / "presets" / "good.toml"
    result = tuitune("check", str(good))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{good}: ok (sft, method auto, model bundled:smollm2-135m-instruct)")


def test_resume_refused_after_rebuilding_the_state_says_both(tuitune_home):
    """An unreadable state.json is rebuilt from the events before resume decides: when the
    rebuilt run turns out to be done, the refusal also says the file was rebuilt (and kept)."""
    from tuitune.events import EventWriter

    run = finished_run(gguf=[])
    with EventWriter(run.events) as events:
        events.emit("started", pid=1, run_id=run.id, attempt=1)
        events.emit("finished", status="done")
    run.state_file.write_text("{not json")
    with pytest.raises(actions.ActionRefused, match=r"rebuilt it from events.jsonl.*already done"):
        actions.resume(run)
    assert run.read_state().status == "done" and list(run.path.glob("state.json.unreadable-*"))
    assert not run.launch_file.exists()
