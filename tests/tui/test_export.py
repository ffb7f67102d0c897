"""The export screen: types ticked from the preset, e starts the export worker with the chosen
types, and a canned export (events + report.json) shows its stages and verification report."""

from __future__ import annotations

import json

from tests.tui.test_runs import notes, open_runs, select
from tests.tui.test_support import canned_run, pilot_test, record_start_worker, wait_for
from tuitune.events import EventWriter
from tuitune.tui.app import TuituneApp
from tuitune.tui.export_progress import ExportProgress, report_lines

REPORT = {
    "status": "failed",
    "files": [{"quant": "q8_0", "path": "/r/gguf/demo-q8_0.gguf", "bytes": 144810848, "tensor_types": {"q8_0": 211, "f32": 61}},
              {"quant": "q4_k_m", "path": "/r/gguf/demo-q4_k_m.gguf", "bytes": 100 * 2**20,
               "tensor_types": {"q5_0": 180, "q4_k": 31}, "note": "asked for q4_k_m, got mostly q5_0"}],
    "timings_s": {"merge": 21.06, "convert": 5.93},
    "verification": {"passed": False, "reasons": ["1 of 3 greedy answers did not stop within 200 tokens"],
                     "template_match": True, "agreement": 0.997,
                     "stops": [{"finish_reason": "stop"}, {"finish_reason": "length"}, {"finish_reason": "stop"}],
                     "perplexity": {"f16": 5.12, "q8_0": 5.13, "q4_k_m": 5.61}},
    "modelfile": {"path": "/r/gguf/Modelfile", "for": "q8_0"},
}


def write_export(run, report: dict, upto: str | None = None) -> None:
    """Export events as the worker writes them, stopping after ``upto``'s start when given."""
    (run.path / "gguf").mkdir(exist_ok=True)
    with EventWriter(run.events) as ev:
        ev.emit("status", status="exporting", quants=["q8_0", "q4_k_m"])
        for stage in ("merge", "convert", "quantize q8_0", "quantize q4_k_m", "verify"):
            ev.emit("export", stage=stage, state="started")
            if stage == upto:
                return
            if stage == "quantize q4_k_m":
                ev.emit("warning", message="asked for q4_k_m, got mostly q5_0")
            ev.emit("export", stage=stage, state="done", seconds=2.5)
        (run.path / "gguf" / "report.json").write_text(json.dumps(report))
        if report["status"] != "passed":
            ev.emit("error", message="export verification failed: " + report["verification"]["reasons"][0])
        ev.emit("finished", stage="export", status=report["status"], report=str(run.path / "gguf" / "report.json"))


def test_progress_and_report_lines_from_canned_events():
    progress = ExportProgress()
    assert not progress.feed([{"type": "step", "step": 1}, {"type": "finished", "status": "done"}])
    progress.feed([{"type": "status", "status": "exporting", "quants": ["q8_0"]},
                   {"type": "export", "stage": "merge", "state": "done", "seconds": 2.0},
                   {"type": "export", "stage": "convert", "state": "started"},
                   {"type": "brand_new_kind", "x": 1}])
    assert progress.running and progress.stage_lines() == [
        ("✓", "merge  2.0 s"), ("▶", "convert …"), ("·", "quantize q8_0"), ("·", "verify")]
    progress.feed([{"type": "export", "stage": "verify", "state": "done", "seconds": 1.0},
                   {"type": "finished", "status": "done", "export": "failed"}])  # exported by the training worker
    assert progress.status == "failed" and progress.report is None and not progress.running
    lines = report_lines(REPORT)
    assert lines[0] == "verification FAILED" and "did not stop" in lines[1]
    assert any("q4_k_m" in line and "100.0 MiB" in line and "perplexity 5.61" in line for line in lines)
    assert "files (in /r/gguf):" in lines and "           note: asked for q4_k_m, got mostly q5_0" in lines
    assert "greedy test answers that ended on the end token: 2 of 3" in lines
    assert lines[-1] == "Ollama: ollama create NAME -f /r/gguf/Modelfile"


@pilot_test
async def test_e_opens_export_with_preset_types_and_starts_the_chosen_ones(monkeypatch):
    calls = record_start_worker(monkeypatch)
    failed = canned_run(status="failed")
    done = canned_run(status="done", quants=["q8_0", "q4_k_m"])
    app = TuituneApp()
    async with app.run_test(size=(140, 40)) as pilot:
        table = await open_runs(app, pilot, 2)
        await select(pilot, table, failed.id)
        await pilot.press("e")
        await wait_for(pilot, lambda: any("only finished" in n for n in notes(app)), what="refusal")
        assert type(app.screen).__name__ == "RunsScreen"
        await select(pilot, table, done.id)
        await pilot.press("e")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ExportScreen" and app.screen.query("#quants"),
                       what="export screen")
        screen = app.screen
        assert screen.chosen == ["q8_0", "q4_k_m"]
        assert "not exported yet" in str(screen.query_one("#export-stages").render())
        await pilot.press("space")  # the cursor starts on f16: tick it too
        await pilot.press("e")
        await wait_for(pilot, lambda: calls, what="the export worker")
        assert calls == [{"run": done.id, "module": "tuitune.export", "args": ["--quant", "f16,q8_0,q4_k_m"]}]


@pilot_test
async def test_export_screen_follows_stages_and_shows_the_report():
    run = canned_run(status="done", quants=["q8_0", "q4_k_m"])
    write_export(run, REPORT, upto="quantize q4_k_m")
    app = TuituneApp()
    async with app.run_test(size=(140, 40)) as pilot:
        app.open_export(run.id)
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ExportScreen" and app.screen.query("#export-stages"),
                       what="export screen")
        stages = app.screen.query_one("#export-stages")
        await wait_for(pilot, lambda: "▶ quantize q4_k_m" in str(stages.render()), what="stage in progress")
        assert "✓ convert  2.5 s" in str(stages.render()) and "exporting…" in str(stages.render())
        with EventWriter(run.events) as ev:
            ev.emit("export", stage="quantize q4_k_m", state="done", seconds=1.0)
        write_export(run, REPORT)  # a second export: the screen follows the latest one
        report = app.screen.query_one("#export-report")
        await wait_for(pilot, lambda: "verification FAILED" in str(report.render()), what="report")
        text = str(stages.render())
        assert "export failed" in text and "error: export verification failed" in text
        assert "144810848" not in str(report.render()) and "138.1 MiB" in str(report.render())
        await pilot.press("escape")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "HomeScreen", what="back home")
