"""The runs screen: the table and its keys (open, stop, resume, export, delete, filter)."""

from __future__ import annotations

from tests.tui.support import canned_run, hold_run, notes, open_runs, pilot_test, row_ids, screen_text, select
from tests.waits import until
from tuitune.tui.app import TuituneApp


@pilot_test
async def test_table_shows_every_column_and_filters():
    done = canned_run(status="done", steps=12)
    failed = canned_run(status="failed", steps=3, total=12, error="boom")
    app = TuituneApp()
    async with app.run_test(size=(140, 40)) as pilot:
        table = await open_runs(app, pilot, 2)
        assert [c.label.plain for c in table.ordered_columns] == [
            "id", "name", "status", "method", "step", "loss", "started", "duration"]
        row = table.get_row(done.id)
        assert [str(c) for c in row[3:6]] == ["lora", "12/12", "1.5000"] and row[7] == "50s"
        await pilot.press("slash")
        await pilot.press(*"fail")
        await until(pilot, lambda: row_ids(table) == [failed.id], what="filtered to the failed run")
        await pilot.press("enter")  # done typing: the table has the focus again
        assert table.has_focus and row_ids(table) == [failed.id]
        await pilot.press("escape")
        await until(pilot, lambda: table.row_count == 2, what="filter cleared")


@pilot_test
async def test_the_table_refreshes_by_itself():
    app = TuituneApp()
    async with app.run_test(size=(140, 40)) as pilot:
        table = await open_runs(app, pilot, 0)
        run = canned_run()
        await until(pilot, lambda: row_ids(table) == [run.id], timeout=5, what="the new run to appear")


@pilot_test
async def test_enter_opens_the_run_view():
    run = canned_run()
    app = TuituneApp()
    async with app.run_test(size=(140, 40)) as pilot:
        await open_runs(app, pilot, 1)
        await pilot.press("enter")
        await until(pilot, lambda: type(app.screen).__name__ == "RunScreen", what="run view")
        assert app.screen.run.id == run.id


@pilot_test
async def test_s_stops_a_running_run_through_its_worker():
    run = canned_run(status="stopped")
    worker = hold_run(run)
    try:
        app = TuituneApp()
        async with app.run_test(size=(140, 40)) as pilot:
            table = await open_runs(app, pilot, 1)
            await until(pilot, lambda: "running" in str(table.get_row_at(0)[2]), what="running status")
            await pilot.press("s")
            assert worker.wait(timeout=10) == 0
            assert (run.path / "stop-requested").exists()
            assert any("asked run" in n for n in notes(app))
    finally:
        worker.kill()


@pilot_test
async def test_r_resumes_a_stopped_run_and_refuses_a_done_one(worker_starts):
    done, stopped = canned_run(status="done"), canned_run(status="stopped")
    app = TuituneApp()
    async with app.run_test(size=(140, 40)) as pilot:
        table = await open_runs(app, pilot, 2)
        await select(pilot, table, done.id)
        await pilot.press("r")
        assert worker_starts == [] and any("already done" in n for n in notes(app))
        await select(pilot, table, stopped.id)
        await pilot.press("r")
        await until(pilot, lambda: type(app.screen).__name__ == "RunScreen", what="run view")
        assert worker_starts == [{"run": stopped.id, "module": "tuitune.train", "args": []}]
        assert app.screen.run.id == stopped.id


@pilot_test
async def test_d_deletes_after_confirmation_only():
    keep, gone = canned_run(), canned_run(status="stopped")
    app = TuituneApp()
    async with app.run_test(size=(140, 40)) as pilot:
        table = await open_runs(app, pilot, 2)
        await select(pilot, table, gone.id)
        await pilot.press("d")
        await until(pilot, lambda: type(app.screen).__name__ == "ConfirmDialog", what="confirmation")
        assert gone.id in str(app.screen.query_one("#question").render())
        await pilot.press("n")
        await until(pilot, lambda: type(app.screen).__name__ == "RunsScreen", what="dialog closed")
        assert gone.path.exists()
        await pilot.press("d")
        await until(pilot, lambda: type(app.screen).__name__ == "ConfirmDialog", what="confirmation")
        app.screen.query_one("#yes").active_effect_duration = 0
        await pilot.click("#yes")
        await until(pilot, lambda: not gone.path.exists(), what="deleted")
        await until(pilot, lambda: row_ids(table) == [keep.id], what="row gone")
        assert keep.path.exists()


@pilot_test
async def test_d_refuses_to_delete_a_running_run():
    run = canned_run(status="stopped")
    worker = hold_run(run)
    try:
        app = TuituneApp()
        async with app.run_test(size=(140, 40)) as pilot:
            await open_runs(app, pilot, 1)
            await pilot.press("d", "y")
            await until(pilot, lambda: any("is running" in n for n in notes(app)), what="refusal")
            assert run.path.exists()
    finally:
        worker.kill()
        worker.wait()


@pilot_test
async def test_x_marks_a_run_and_x_on_another_compares_them():
    a = canned_run(status="done", steps=12, quants=["q8_0"])
    b = canned_run(status="failed", steps=6, total=12, quants=["q4_0"])
    app = TuituneApp()
    async with app.run_test(size=(140, 44)) as pilot:
        table = await open_runs(app, pilot, 2)
        await select(pilot, table, a.id)
        await pilot.press("x")
        assert app.screen.marked == a.id and "comparing" in app.screen.sub_title
        await until(pilot, lambda: f"◆ A {a.id}" in screen_text(app), what="the mark on the picked run")
        await select(pilot, table, b.id)
        assert f"◆ A {a.id}" in screen_text(app)  # still marked with the cursor elsewhere
        await select(pilot, table, a.id)
        await pilot.press("x")  # x on it again: unmarked
        await until(pilot, lambda: "◆" not in screen_text(app), what="the mark removed")
        await pilot.press("x")
        await select(pilot, table, b.id)
        await pilot.press("x")
        await until(pilot, lambda: type(app.screen).__name__ == "CompareScreen" and app.screen.query("#compare-table"),
                    what="compare screen")
        compare = app.screen.query_one("#compare-table")
        await until(pilot, lambda: compare.row_count > 0, what="compare rows")
        rows = {str(compare.get_row_at(i)[0]): [str(c) for c in compare.get_row_at(i)[1:]] for i in range(compare.row_count)}
        assert rows["status"] == ["done", "failed"] and rows["step"] == ["12/12", "6/12"]
        assert rows["export.gguf"] == ["['q8_0']", "['q4_0']"] and "train.method" in rows
        assert "train.learning_rate" not in rows  # equal keys are left out
        chart = app.screen.query_one("#compare-chart")
        assert [len(c.train) for c in chart.curves] == [12, 6]
        await pilot.press("escape")
        await until(pilot, lambda: type(app.screen).__name__ == "RunsScreen", what="back")
        assert app.screen.marked is None


@pilot_test
async def test_n_names_a_run_and_writes_a_note_that_the_table_and_the_filter_show():
    from tuitune.runs.label import read_label

    run = canned_run(status="done", steps=12)
    app = TuituneApp()
    async with app.run_test(size=(140, 40)) as pilot:
        table = await open_runs(app, pilot, 1)
        await pilot.press("n")
        await until(pilot, lambda: type(app.screen).__name__ == "LabelDialog", what="the name dialog")
        await pilot.press(*"pirate v1")
        await pilot.press("tab")
        await pilot.press(*"lr 5e-4, learned the signature")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: type(app.screen).__name__ == "RunsScreen", what="back to the table")
        assert read_label(run.path).name == "pirate v1" and read_label(run.path).note == "lr 5e-4, learned the signature"
        await until(pilot, lambda: str(table.get_row(run.id)[1]) == "pirate v1 ✎", what="the name in the table")
        await pilot.press("slash", *"signature", "enter")  # the note is searched too
        await until(pilot, lambda: row_ids(table) == [run.id], what="found by its note")
        await pilot.press("escape")
        await pilot.press("n")
        await until(pilot, lambda: type(app.screen).__name__ == "LabelDialog", what="the dialog again")
        assert app.screen.query_one("#label-name").value == "pirate v1"  # opens with what is kept
        await pilot.press("escape")
        await until(pilot, lambda: type(app.screen).__name__ == "RunsScreen", what="cancelled")
        assert read_label(run.path).name == "pirate v1"
