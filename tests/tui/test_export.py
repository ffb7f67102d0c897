"""The export screen: types ticked from the preset, e starts the export worker with the chosen
types, and a canned export (events + report.json) shows its stages and verification report."""

from __future__ import annotations

from tests.tui.support import REPORT, canned_run, notes, open_runs, pilot_test, select, write_export
from tests.waits import until
from tuitune.events import EventWriter
from tuitune.runs.export_report import report_lines
from tuitune.tui.app import TuituneApp
from tuitune.tui.export_progress import ExportProgress


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
async def test_e_opens_export_with_preset_types_and_starts_the_chosen_ones(worker_starts):
    failed = canned_run(status="failed")
    done = canned_run(status="done", quants=["q8_0", "q4_k_m"])
    app = TuituneApp()
    async with app.run_test(size=(140, 40)) as pilot:
        table = await open_runs(app, pilot, 2)
        await select(pilot, table, failed.id)
        await pilot.press("e")
        await until(pilot, lambda: any("only finished" in n for n in notes(app)), what="refusal")
        assert type(app.screen).__name__ == "RunsScreen"
        await select(pilot, table, done.id)
        await pilot.press("e")
        await until(pilot, lambda: type(app.screen).__name__ == "ExportScreen" and app.screen.query("#quants"),
                    what="export screen")
        screen = app.screen
        assert screen.chosen == ["q8_0", "q4_k_m"]
        assert "not exported yet" in str(screen.query_one("#export-stages").render())
        await pilot.press("space")  # the cursor starts on f16: tick it too
        await pilot.press("e")
        await until(pilot, lambda: worker_starts, what="the export worker")
        assert worker_starts == [{"run": done.id, "module": "tuitune.export", "args": ["--quant", "f16,q8_0,q4_k_m"]}]


@pilot_test
async def test_export_screen_follows_stages_and_shows_the_report():
    run = canned_run(status="done", quants=["q8_0", "q4_k_m"])
    write_export(run, REPORT, upto="quantize q4_k_m")
    app = TuituneApp()
    async with app.run_test(size=(140, 40)) as pilot:
        app.open_export(run.id)
        await until(pilot, lambda: type(app.screen).__name__ == "ExportScreen" and app.screen.query("#export-stages"),
                    what="export screen")
        stages = app.screen.query_one("#export-stages")
        await until(pilot, lambda: "▶ quantize q4_k_m" in str(stages.render()), what="stage in progress")
        assert "✓ convert  2.5 s" in str(stages.render()) and "exporting…" in str(stages.render())
        with EventWriter(run.events) as ev:
            ev.emit("export", stage="quantize q4_k_m", state="done", seconds=1.0)
        write_export(run, REPORT)  # a second export: the screen follows the latest one
        report = app.screen.query_one("#export-report")
        await until(pilot, lambda: "verification FAILED" in str(report.render()), what="report")
        text = str(stages.render())
        assert "export failed" in text and "error: export verification failed" in text
        assert "144810848" not in str(report.render()) and "138.1 MiB" in str(report.render())
        await pilot.press("escape")
        await until(pilot, lambda: type(app.screen).__name__ == "HomeScreen", what="back home")


@pilot_test
async def test_export_screen_marks_kept_stages_and_shows_the_verification_check_running():
    run = canned_run(status="done", quants=["q8_0"])
    (run.path / "gguf").mkdir()
    with EventWriter(run.events) as ev:
        ev.emit("status", status="exporting", quants=["q8_0", "q4_k_m"])
        for stage in ("merge", "convert", "quantize q8_0"):
            ev.emit("export", stage=stage, state="reused", why="intact")
        ev.emit("export", stage="quantize q4_k_m", state="done", seconds=1.5)
        ev.emit("export", stage="verify", state="started")
        ev.emit("verify", check="perplexity q4_k_m", index=1, total=2)
    app = TuituneApp()
    async with app.run_test(size=(140, 40)) as pilot:
        app.open_export(run.id)
        await until(pilot, lambda: type(app.screen).__name__ == "ExportScreen" and app.screen.query("#export-stages"),
                    what="export screen")
        stages = app.screen.query_one("#export-stages")
        await until(pilot, lambda: "▶ verify 1/2: perplexity q4_k_m …" in str(stages.render()), what="the check")
        text = str(stages.render())
        assert "✓ merge  kept from the export before" in text and "✓ quantize q8_0  kept from the export before" in text
        assert "✓ quantize q4_k_m  1.5 s" in text
        with EventWriter(run.events) as ev:
            ev.emit("verify", check="greedy answers of q4_k_m stop", index=2, total=2)
        await until(pilot, lambda: "▶ verify 2/2: greedy answers of q4_k_m stop …" in str(stages.render()),
                    what="the next check")
