"""The TUI's UI-free logic: table rows, event lines, chart thinning, tailing a run's files,
the run actions and the new-run form. No terminal needed."""

from __future__ import annotations

import pytest

from tests.helpers import NVML_RECORDINGS, idle_process
from tests.tui.support import canned_run, hold_run
from tuitune.events import EventWriter
from tuitune.preset import PresetError, load_preset
from tuitune.runs.actions import ActionRefused
from tuitune.runs.event_text import describe, step_numbers
from tuitune.runs.series import downsample
from tuitune.runs.store import RunStoreError
from tuitune.tui import launch, preset_form
from tuitune.tui.hardware_info import summary
from tuitune.tui.run_rows import format_duration, list_rows, run_row
from tuitune.tui.tail import RunTail


def test_rows_newest_first_with_every_column():
    old = canned_run(status="done", steps=12)
    new = canned_run(status="failed", steps=3, total=12, error="boom")
    rows = list_rows()
    assert [r.id for r in rows] == [new.id, old.id]
    row = rows[1]
    assert (row.status, row.method, row.step, row.loss, row.duration) == ("done", "lora", "12/12", "1.5000", "50s")
    assert rows[0].status == "failed" and rows[0].matches("FAIL") and not rows[0].matches("done")
    assert list_rows(limit=1) == rows[:1]


def test_row_of_a_fresh_run_reads_the_method_from_its_config():
    from tuitune.runs.store import create_run

    run = create_run(load_preset(launch.demo_preset_path()))
    row = run_row(run)
    assert (row.status, row.method, row.step, row.loss) == ("queued", "lora", "", "")


@pytest.mark.parametrize("seconds,text", [(5, "5s"), (75, "1m15s"), (3725, "1h02m")])
def test_durations(seconds, text):
    assert format_duration(seconds) == text


def test_event_lines():
    assert describe({"type": "step", "step": 1}) is None
    assert describe({"type": "error", "ts": 0, "message": "out of memory"}).endswith("ERROR: out of memory")
    assert "exporting GGUF: q8_0" in describe({"type": "status", "status": "exporting", "quants": ["q8_0"], "ts": 0})
    assert "export finished: passed" in describe({"type": "finished", "stage": "export", "status": "passed", "ts": 0})
    assert "something: a 1" in describe({"type": "something", "a": 1, "ts": 0, "seq": 3, "v": 1})
    assert describe({"type": "export", "stage": "merge", "state": "reused", "why": "merged/ is intact"}) == (
        "export: merge not needed: merged/ is intact")
    assert describe({"type": "verify", "check": "perplexity q8_0", "index": 2, "total": 5}) == (
        "export: verify 2/5: perplexity q8_0 …")
    numbers = step_numbers({"step": 5, "total_steps": 80, "loss": 2.5, "lr": 5e-4, "tokens_per_s": 117.2, "eta_s": 190})
    assert numbers == {"step": "5/80", "epoch": "–", "loss": "2.5000", "lr": "5.00e-04", "tokens/s": "117", "ETA": "3m10s"}


def test_downsample_keeps_shape_and_ends():
    points = [(float(i), float(i % 10)) for i in range(1, 10_001)]
    thin = downsample(points, 200)
    assert len(thin) == 200 and thin[-1] == points[-1]
    assert all(a[0] < b[0] for a, b in zip(thin, thin[1:], strict=False))
    assert abs(sum(p[1] for p in thin) / len(thin) - 4.5) < 0.2
    assert downsample(points[:50], 200) == points[:50]


def test_tail_reads_incrementally_and_skips_torn_lines():
    run = canned_run(status="running", steps=4, total=10, evals_every=0)
    tail = RunTail(run)
    first = tail.poll()
    assert [e["step"] for e in first.steps] == [1, 2, 3, 4]
    assert first.status == "crashed"  # state says running, but no worker holds the run
    assert first.log_lines == ["loading model", "training", " 20%|## | 2/10"]
    again = tail.poll()
    assert (again.steps, again.events, again.state, again.log_lines) == ([], [], None, None)
    with open(run.events, "a") as f:
        f.write('{"v": 1, "seq": 99, "type": "step", "step": 5, "los')  # a worker mid-write
    assert tail.poll().steps == []
    with open(run.events, "a") as f:
        f.write('s": 1.0}\n')
    with EventWriter(run.events) as ev:
        ev.emit("eval", step=5, loss=1.2)
    batch = tail.poll()
    assert [e["step"] for e in batch.steps] == [5] and [e["loss"] for e in batch.evals] == [1.2]


def test_launch_preflights_then_starts_a_worker(worker_starts, tmp_path):
    processes = launch.WorkerProcesses()
    bad = tmp_path / "bad.toml"
    bad.write_text('[model]\npath = "bundled:smollm2-135m-instruct"\n[data]\npath = "missing.jsonl"\n')
    with pytest.raises(PresetError, match="data.path"):
        launch.launch(bad, processes)
    assert worker_starts == [] and list_rows() == []
    run = launch.launch(launch.demo_preset_path(), processes, ["train.max_steps=3"]).run
    assert worker_starts == [{"run": run.id, "module": "tuitune.train", "args": []}]
    assert run.preset().train.max_steps == 3


def test_resume_export_and_delete_refuse_what_makes_no_sense(worker_starts):
    processes = launch.WorkerProcesses()
    done = canned_run(status="done", quants=["q8_0", "q4_k_m"])
    with pytest.raises(RunStoreError, match="already done"):
        launch.resume(done, processes)
    assert launch.export(done, processes) == ["q8_0", "q4_k_m"]
    assert worker_starts[-1] == {"run": done.id, "module": "tuitune.export", "args": ["--quant", "q8_0,q4_k_m"]}
    with pytest.raises(ActionRefused, match="only finished"):
        launch.export(canned_run(status="stopped"), processes)
    with pytest.raises(ActionRefused, match="no GGUF types"):
        launch.export(canned_run(status="done", quants=[]), processes)
    with pytest.raises(RunStoreError, match="not running"):
        launch.stop(done, launch.WorkerProcesses())  # (``processes`` still tracks the export)


def test_delete_refuses_a_running_run_and_stop_reaches_its_worker():
    run = canned_run(status="stopped")
    worker = hold_run(run)
    processes = launch.WorkerProcesses()
    try:
        with pytest.raises(RunStoreError, match="is running"):
            launch.delete(run, processes)
        launch.stop(run, processes)
        assert worker.wait(timeout=10) == 0
        assert (run.path / "stop-requested").exists()
    finally:
        worker.kill()
    launch.delete(run, processes)
    assert not run.path.exists()


def test_preset_form_edits_validates_and_saves(tuitune_home, monkeypatch):
    files = preset_form.preset_files()
    assert files[0].name == "demo-cpu.toml"
    demo = files[0]
    preset = preset_form.build(demo, {"train.max_steps": "5", "train.method": "full",
                                      "train.learning_rate": "1e-4", "train.batch_size": "2"})
    assert preset_form.values_of(preset) == {
        "model.path": "bundled:smollm2-135m-instruct", "data.path": "bundled:pirate", "train.method": "full",
        "train.max_steps": "5", "train.learning_rate": "0.0001", "train.batch_size": "2", "train.max_seq_len": "256",
        "lora.r": "16", "data.format": "auto", "train.stage": "sft", "dpo.beta": ""}
    assert "max_steps = 5" in preset_form.render(preset)
    assert preset_form.build(demo, {"train.max_steps": ""}).train.max_steps is None
    local = tuitune_home / "rows.jsonl"  # a relative path typed in the form means from the current folder
    local.parent.mkdir(parents=True, exist_ok=True)
    local.write_text("{}\n")
    monkeypatch.chdir(tuitune_home)
    assert preset_form.build(demo, {"data.path": "rows.jsonl"}).data.path == str(local.resolve())
    with pytest.raises(PresetError) as e:
        preset_form.build(demo, {"train.max_steps": "-1", "train.method": "bogus"})
    assert len(e.value.problems) == 2 and "train.method" in str(e.value)
    saved = preset_form.save(preset, "my run/1", demo)
    assert saved == tuitune_home / "presets" / "my-run-1.toml"
    assert saved.read_text().startswith("# Written by tuitune") and f"tuitune run {saved}" in saved.read_text()
    again = load_preset(saved)
    assert (again.name, again.train.max_steps, again.train.method) == ("my-run-1", 5, "full")
    assert saved in preset_form.preset_files()
    assert "train.max_steps" in preset_form.key_help()


def test_hardware_summary_says_cpu_and_why_no_gpu():
    lines = summary()
    assert lines[0].startswith("CPU") and any(line.startswith("GPU") for line in lines)


def test_hardware_summary_lists_gpus_from_tuitune_hardware(monkeypatch):
    import json

    nvml = pytest.importorskip("tuitune.hardware.nvml")
    replay = pytest.importorskip("tuitune.hardware.nvml_replay")
    recording = NVML_RECORDINGS / "rtx4090.json"
    if not recording.exists():
        pytest.skip("no NVML recording of an RTX 4090 in tests/data/nvml")
    real = nvml.read_gpus
    monkeypatch.setattr(nvml, "read_gpus", lambda *_: real(replay.RecordedNvml(json.loads(recording.read_text()))))
    lines = summary()
    gpu = next(line for line in lines if line.startswith("GPU 0"))
    assert "4090" in gpu and "bf16 yes" in gpu and "GiB free" in gpu
    assert any("driver" in line for line in lines)
    bar = lines[lines.index(gpu) + 1]
    assert bar.strip().startswith("used █") and "/ 24.0 GiB" in bar and "°C" in bar and " W" in bar


def test_stop_signals_a_just_started_worker_that_holds_no_lock_yet():
    run = canned_run(status="queued", steps=0, total=10)
    processes = launch.WorkerProcesses()
    process = idle_process()
    processes.track(run, process)
    launch.stop(run, processes)
    assert process.wait(timeout=10) == -15
    processes.reap()
    assert processes.alive(run.id) is None
