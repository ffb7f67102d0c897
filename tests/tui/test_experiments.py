"""The runs screen's experiment rows and keys: queued runs show their place, `[` / `]` reorder
them and `u` takes one out; a sweep is one row that opens into its trials (each
named with its values), and `w` opens the sweep (its trials ranked, their curves on one chart); `+` asks how many
steps to extend a finished run by (and refuses one that is not finished)."""

from __future__ import annotations

from tests.tui.support import canned_run, hold_run, notes, open_runs, pilot_test, row_ids, select
from tests.waits import until
from tuitune.models.bundled import presets_dir
from tuitune.preset import load_preset
from tuitune.runs import queue, sweep
from tuitune.runs.store import create_run
from tuitune.tui.app import TuituneApp


def _step(table, run_id):
    return str(table.get_row(run_id)[4])


@pilot_test
async def test_queued_rows_show_their_place_and_move_and_leave_by_keys():
    training = canned_run(status="stopped")
    worker = hold_run(training)  # the CPU is busy: the queued runs wait
    preset = load_preset(presets_dir() / "demo-cpu.toml")
    first, second = create_run(preset), create_run(preset)
    queue.add(first, "cpu")
    queue.add(second, "cpu")
    try:
        app = TuituneApp()
        async with app.run_test(size=(160, 40)) as pilot:
            table = await open_runs(app, pilot, 3)
            await until(pilot, lambda: _step(table, first.id) == "queue 1" and _step(table, second.id) == "queue 2",
                        what="the queue places")
            assert "queued" in str(table.get_row(second.id)[2])
            await select(pilot, table, second.id)
            await pilot.press("left_square_bracket")
            await until(pilot, lambda: _step(table, second.id) == "queue 1", what="moved to the front")
            assert [e.run for e in queue.entries()] == [second.id, first.id]
            await pilot.press("right_square_bracket")
            await until(pilot, lambda: _step(table, second.id) == "queue 2", what="moved back")
            await pilot.press("u")
            await until(pilot, lambda: "stopped" in str(table.get_row(second.id)[2]), what="taken out of the queue")
            assert [e.run for e in queue.entries()] == [first.id]
            await select(pilot, table, training.id)
            await pilot.press("left_square_bracket")
            await until(pilot, lambda: any("not in the queue" in n for n in notes(app)), what="the refusal")
    finally:
        worker.terminate()
        worker.wait(timeout=10)


@pilot_test
async def test_a_sweep_trial_row_names_its_sweep_and_values(tmp_path):
    from tuitune.runs.store import RunDir

    made = sweep.create_sweep(presets_dir() / "demo-cpu.toml", [sweep.parse_param("train.learning_rate=1e-4,3e-4")],
                              [], "grid", None, "pirate")
    trial = canned_run(status="done")
    sweep.add_trial(made, RunDir(trial.path))
    sweep.write_tag(trial, {**sweep.read_tag(trial), "trial": 1, "params": {"train.learning_rate": 3e-4}})
    other = canned_run(status="done")
    app = TuituneApp()
    async with app.run_test(size=(200, 40)) as pilot:
        table = await open_runs(app, pilot, 2)  # the sweep is one row, its trial folded under it
        key = f"sweep:{made.id}"
        assert set(row_ids(table)) == {key, other.id}
        assert "sweep, 1 trials" in str(table.get_row(key)[1]) and str(table.get_row(key)[4]) == "1/1 trials"
        await select(pilot, table, key)
        await pilot.press("enter")  # opens into its trials
        await until(pilot, lambda: trial.id in row_ids(table), what="the trial under its sweep")
        assert row_ids(table).index(trial.id) == row_ids(table).index(key) + 1
        assert f"sweep {made.id[-4:]} #2" in str(table.get_row(trial.id)[1])
        assert "learning_rate=0.0003" in str(table.get_row(trial.id)[1])
        await select(pilot, table, trial.id)
        await pilot.press("w")  # the sweep as one view: its trials ranked, all curves on one chart
        await until(pilot, lambda: type(app.screen).__name__ == "SweepScreen", what="the sweep screen")
        ranking = app.screen.query_one("#sweep-table")
        await until(pilot, lambda: ranking.row_count == 1, what="the trial's row")
        row = [str(c) for c in ranking.get_row_at(0)]
        assert row[:4] == ["1 best", "#1", trial.id, "done"] and row[5] == "train.learning_rate=0.0003"
        assert app.screen.query_one("#compare-chart").curves[0].eval  # its validation losses are drawn
        await pilot.press("enter")
        await until(pilot, lambda: type(app.screen).__name__ == "RunScreen" and app.screen.run.id == trial.id
                    and app.screen.sub_title, what="the trial's run view")


@pilot_test
async def test_plus_asks_for_steps_and_refuses_a_run_that_is_not_done():
    run = canned_run(status="stopped")
    app = TuituneApp()
    async with app.run_test(size=(160, 40)) as pilot:
        await open_runs(app, pilot, 1)
        await pilot.press("plus")
        await until(pilot, lambda: type(app.screen).__name__ == "ExtendDialog", what="the extend dialog")
        await pilot.press("0", "enter")
        assert type(app.screen).__name__ == "ExtendDialog"  # 0 steps: asked again
        await pilot.press("backspace", "5", "enter")
        await until(pilot, lambda: any("only a finished (done) run can be extended" in n for n in notes(app)),
                    what="the refusal")
        assert run.read_state().status == "stopped"


@pilot_test
async def test_launching_while_a_run_trains_asks_and_queues():
    training = canned_run(status="stopped")
    worker = hold_run(training)
    try:
        app = TuituneApp()
        async with app.run_test(size=(160, 40)) as pilot:
            app.launch_preset(presets_dir() / "demo-cpu.toml")
            await until(pilot, lambda: type(app.screen).__name__ == "ConfirmDialog", timeout=60, what="the question")
            assert training.id in app.screen.question
            await pilot.press("y")
            await until(pilot, lambda: queue.entries(), timeout=60, what="the run in the queue")
            [entry] = queue.entries()
            await until(pilot, lambda: any(f"run {entry.run} queued: place 1" in n for n in notes(app)),
                        what="the queued notice")
    finally:
        worker.terminate()
        worker.wait(timeout=10)
