"""The home screen: hardware summary, recent runs, and `d` starting the CPU demo."""

from __future__ import annotations

from tests.tui.support import canned_run, pilot_test
from tests.waits import until
from tuitune.tui.app import TuituneApp
from tuitune.tui.widgets.runs_table import RunsTable


def text_of(app, selector: str) -> str:
    return str(app.screen.query_one(selector).render())


@pilot_test
async def test_home_shows_hardware_and_says_there_are_no_runs():
    app = TuituneApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: "CPU" in text_of(app, "#hardware"), what="hardware summary")
        assert "GPU" in text_of(app, "#hardware")
        await until(pilot, lambda: "No runs yet" in text_of(app, "#no-runs"), what="empty hint")
        assert app.screen.query_one(RunsTable).row_count == 0


@pilot_test
async def test_recent_runs_are_listed_newest_first_and_enter_opens_one():
    older, newer = canned_run(status="done"), canned_run(status="failed", error="boom")
    app = TuituneApp()
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.screen.query_one(RunsTable)
        await until(pilot, lambda: table.row_count == 2, what="two recent runs")
        assert [table.get_row_at(i)[0] for i in range(2)] == [newer.id, older.id]
        assert "failed" in str(table.get_row_at(0)[2])
        assert text_of(app, "#no-runs") == ""
        table.focus()
        await pilot.press("down", "enter")
        await until(pilot, lambda: type(app.screen).__name__ == "RunScreen", what="run view")
        assert app.screen.run.id == older.id
        await pilot.press("escape")
        await until(pilot, lambda: type(app.screen).__name__ == "HomeScreen", what="back home")


@pilot_test
async def test_d_starts_the_cpu_demo_and_opens_its_run_view(worker_starts):
    app = TuituneApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("d")
        await until(pilot, lambda: type(app.screen).__name__ == "RunScreen", timeout=15, what="demo run view")
        run = app.screen.run
        assert worker_starts == [{"run": run.id, "module": "tuitune.train", "args": []}]
        assert run.preset().name == "demo-cpu" and run.preset().train.device == "cpu"
        assert "demo-cpu" in str(app.screen.query_one("#run-title").render())


@pilot_test
async def test_a_demo_that_cannot_start_says_why_and_the_app_stays(worker_starts, monkeypatch, tmp_path):
    broken = tmp_path / "demo-cpu.toml"
    broken.write_text('[model]\npath = "bundled:no-such-model"\n[data]\npath = "bundled:pirate"\n')
    monkeypatch.setattr("tuitune.tui.launch.demo_preset_path", lambda: broken)
    app = TuituneApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("d")
        await until(pilot, lambda: any("cannot start" in str(n.message) for n in app._notifications),
                    timeout=10, what="error notification")
        note = next(n for n in app._notifications if "cannot start" in str(n.message))
        assert note.severity == "error" and "no-such-model" in str(note.message)
        assert worker_starts == [] and type(app.screen).__name__ == "HomeScreen"


@pilot_test
async def test_home_sums_up_the_install_and_i_opens_the_full_check():
    """The home screen's quick check (no torch); `i` runs `tuitune doctor`'s full report, the
    torch probe in its worker, and shows each check."""
    app = TuituneApp()
    async with app.run_test(size=(150, 40)) as pilot:
        await until(pilot, lambda: " ok · " in text_of(app, "#doctor-line"), timeout=30, what="the install summary")
        line = text_of(app, "#doctor-line")
        assert line.startswith("install: ") and "skip" in line and "(i: the full check)" in line
        await pilot.press("i")
        await until(pilot, lambda: type(app.screen).__name__ == "DoctorScreen", what="the report screen")
        await until(pilot, lambda: "bitsandbytes" in text_of(app, "#doctor-report"), timeout=120, what="the full report")
        report = text_of(app, "#doctor-report")
        assert "torch 2." in report and "a CPU build" in report and "no NVIDIA GPU: CPU training only" in report
        assert " ok · " in text_of(app, "#doctor-summary")
        await pilot.press("escape")
        await until(pilot, lambda: type(app.screen).__name__ == "HomeScreen", what="back home")


@pilot_test
async def test_reopened_during_a_training_it_says_so_and_enter_watches_it():
    from tests.tui.support import hold_run

    training = canned_run(status="stopped", steps=3, total=12)
    canned_run(status="done")  # newer: first in the table, yet the cursor goes to the training run
    worker = hold_run(training)
    try:
        app = TuituneApp()
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, lambda: "1 run training — enter to watch" in text_of(app, "#training"),
                        what="the training line")
            await pilot.press("enter")
            await until(pilot, lambda: type(app.screen).__name__ == "RunScreen", what="run view")
            assert app.screen.run.id == training.id
    finally:
        worker.kill()
        worker.wait()
    app = TuituneApp()
    async with app.run_test(size=(120, 40)) as pilot:  # nothing trains now: no line
        table = app.screen.query_one(RunsTable)
        await until(pilot, lambda: table.row_count == 2, what="two recent runs")
        assert not app.screen.query_one("#training").display
