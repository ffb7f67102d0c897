"""The run view, driven by canned events.jsonl files: a finished run replayed, a live run
growing under it, a flood of steps, a resumed run, a failed and a crashed run."""

from __future__ import annotations

from tests.tui.support import canned_run, hold_run, pilot_test
from tests.waits import until
from tuitune.events import EventWriter
from tuitune.tui.app import TuituneApp
from tuitune.tui.messages import LossPointsRead, RunStateRead, StepLogged
from tuitune.tui.widgets.loss_chart import LossChart
from tuitune.tui.widgets.run_stats import RunStats


async def open_view(app, pilot, run):
    app.open_run(run.id)
    await until(pilot, lambda: type(app.screen).__name__ == "RunScreen" and app.screen.query("#chart"),
                what="run view")
    return app.screen


def log_text(screen, selector: str) -> str:
    """The events list's entries, whole, or the worker.log tab's lines."""
    return "\n".join(screen.events if selector == "#events" else screen.query_one(selector).lines)


@pilot_test
async def test_a_finished_run_is_replayed_in_full():
    run = canned_run(status="done", steps=12, evals_every=6)
    app = TuituneApp()
    async with app.run_test(size=(120, 40)) as pilot:
        view = await open_view(app, pilot, run)
        stats, chart = view.query_one(RunStats), view.query_one(LossChart)
        await until(pilot, lambda: len(chart.train) == 12 and stats.status == "done", what="replay")
        assert stats.values == {"step": "12/12", "epoch": "0.25", "loss": "1.5000", "lr": "0.00e+00",
                                "tokens/s": "132", "ETA": "0s", "val loss": "1.7000"}
        assert chart.train[0] == (1, 3.0 - 1.5 / 12) and [(s, round(v, 6)) for s, v in chart.eval] == [(6, 2.3), (12, 1.7)]
        events = log_text(view, "#events")
        for text in ("worker started (pid 4242, attempt 1)", "190 train / 10 validation rows",
                     "loading bundled:smollm2-135m-instruct on cpu", "step 6: validation loss 2.3000",
                     "step 12: checkpoint saved", "adapter written to", "run finished: done"):
            assert text in events
        assert "step 3" not in events  # steps are numbers and chart points, not log lines
        await until(pilot, lambda: view.query_one("#worker-log").lines, what="worker.log")
        assert view.query_one("#worker-log").lines == ["loading model", "training", " 20%|## | 2/10"]
        assert not view.query_one("#error").display
        rendered = str(view.query_one(RunStats).render())
        assert "done" in rendered and "loss 1.5000" in rendered


@pilot_test
async def test_a_live_run_updates_as_events_arrive_and_floods_collapse():
    run = canned_run(status="stopped", steps=0, total=600, evals_every=0)
    worker = hold_run(run)  # a worker holds the run: it reads as running
    try:
        app = TuituneApp()
        async with app.run_test(size=(120, 40)) as pilot:
            view = await open_view(app, pilot, run)
            stats, chart = view.query_one(RunStats), view.query_one(LossChart)
            await until(pilot, lambda: stats.status == "running", what="running")
            assert stats.values["step"] == "0/600"  # from the "training" status event
            with EventWriter(run.events) as ev:
                ev.emit("step", step=1, total_steps=600, loss=3.1, lr=1e-4, tokens_per_s=100.0, eta_s=1200)
            await until(pilot, lambda: stats.values["step"] == "1/600", what="first step")
            assert chart.train == [(1, 3.1)] and stats.values["ETA"] == "20m00s"
            with EventWriter(run.events) as ev:  # a fast worker: many steps between two polls
                for step in range(2, 601):
                    ev.emit("step", step=step, total_steps=600, loss=3.0 - step / 600, lr=1e-4)
                ev.emit("eval", step=600, loss=1.9)
            await until(pilot, lambda: len(chart.train) == 600 and stats.values["step"] == "600/600",
                        what="all steps")
            assert chart.eval == [(600, 1.9)] and stats.values["val loss"] == "1.9000"
            # Collapsed updates: a handful of repaints for 600 steps, not one per step. (Counted on
            # the widgets: a message_hook misses messages dispatched in some task contexts.)
            assert stats.updates < 10, "one StepLogged per poll, not one per step"
            assert chart.batches < 10
            assert "step" in str(view.query_one(LossChart).render())  # 600 points drawn thinned
    finally:
        worker.kill()
        worker.wait()


def test_step_and_state_messages_replace_older_ones_in_the_queue():
    a, b = StepLogged({"step": 1}), StepLogged({"step": 2})
    assert b.can_replace(a)
    assert not LossPointsRead([], []).can_replace(LossPointsRead([], []))
    assert not b.can_replace(RunStateRead(None, "done"))


@pilot_test
async def test_a_resumed_run_redraws_from_its_checkpoint():
    run = canned_run(status="stopped", steps=6, total=8, evals_every=0)
    with EventWriter(run.events) as ev:
        ev.emit("started", pid=1, run_id=run.id, attempt=2)
        ev.emit("status", status="resuming", checkpoint="checkpoint-4", step=4)
        for step in range(5, 9):
            ev.emit("step", step=step, total_steps=8, loss=1.0)
        ev.emit("finished", status="done")
    run.update_state(status="done")
    app = TuituneApp()
    async with app.run_test(size=(120, 40)) as pilot:
        view = await open_view(app, pilot, run)
        chart = view.query_one(LossChart)
        await until(pilot, lambda: view.query_one(RunStats).status == "done", what="done")
        await until(pilot, lambda: len(chart.train) == 8, what="8 points")
        assert [p[0] for p in chart.train] == list(range(1, 9)) and chart.train[5] == (6, 1.0)
        assert "resuming from checkpoint-4 (step 4)" in log_text(view, "#events")


@pilot_test
async def test_a_failed_run_shows_its_error_and_the_app_stays_up():
    run = canned_run(status="failed", steps=3, total=12,  # brackets: shown as written, never as markup
                     error="out of memory (test). Lower train.batch_size [/b] in [train]; then `tuitune runs resume`.")
    app = TuituneApp()
    async with app.run_test(size=(120, 40)) as pilot:
        view = await open_view(app, pilot, run)
        box = view.query_one("#error")
        await until(pilot, lambda: box.display, what="error box")
        assert "out of memory (test). Lower train.batch_size [/b] in [train]; then" in str(box.render())
        assert view.query_one(RunStats).status == "failed"
        assert "ERROR: out of memory" in log_text(view, "#events")
        await pilot.press("escape")
        await until(pilot, lambda: type(app.screen).__name__ == "HomeScreen", what="home again")


@pilot_test
async def test_a_crashed_run_says_so_and_r_resumes_it(worker_starts):
    run = canned_run(status="running", steps=5, total=12, evals_every=5)  # a worker that died without a word
    app = TuituneApp()
    async with app.run_test(size=(120, 40)) as pilot:
        view = await open_view(app, pilot, run)
        await until(pilot, lambda: view.query_one(RunStats).status == "crashed", what="crashed")
        box = view.query_one("#error")
        assert box.display and "ended without finishing" in str(box.render())
        await pilot.press("e")
        assert worker_starts == []
        await pilot.press("r")
        assert worker_starts == [{"run": run.id, "module": "tuitune.train", "args": []}]


@pilot_test
async def test_a_long_run_is_drawn_thinned():
    run = canned_run(status="done", steps=5000, evals_every=500)
    app = TuituneApp()
    async with app.run_test(size=(100, 40)) as pilot:
        view = await open_view(app, pilot, run)
        chart = view.query_one(LossChart)
        await until(pilot, lambda: len(chart.train) == 5000, timeout=10, what="5000 points")
        assert len(chart.eval) == 10
        # what plotext was given (once the chart has drawn): thinned to ~2 per column
        plotted = await until(pilot, lambda: chart.plt._active.monitor.x, timeout=10, what="the chart drawn")
        assert 0 < len(plotted[0]) <= 2 * chart.size.width


@pilot_test
async def test_small_charts_show_lr_vram_and_dpo_rewards_only_when_logged():
    from tuitune.tui.widgets.series_chart import SeriesChart

    cpu = canned_run(status="done", steps=6, evals_every=0)
    app = TuituneApp()
    async with app.run_test(size=(120, 44)) as pilot:
        view = await open_view(app, pilot, cpu)
        lr = view.query_one("#lr-chart", SeriesChart)
        await until(pilot, lambda: len(lr.series["lr"]) == 6, what="lr points")
        assert lr.display and not view.query_one("#vram-chart").display and not view.query_one("#reward-chart").display
        await pilot.press("escape")
    gpu = canned_run(status="stopped", steps=0, total=4, evals_every=0)
    with EventWriter(gpu.events) as ev:
        for step in (1, 2):
            ev.emit("step", step=step, total_steps=4, loss=1.0, lr=1e-4, vram_allocated=3 * 2**30,
                    vram_reserved=4 * 2**30, reward_margin=0.1 * step, reward_accuracy=0.5, some_new_field="x")
        ev.emit("vram", allocated=5 * 2**30, reserved=6 * 2**30)
        ev.emit("a_kind_this_version_does_not_know", detail=42)
    app = TuituneApp()
    async with app.run_test(size=(120, 44)) as pilot:
        view = await open_view(app, pilot, gpu)
        vram, rewards = view.query_one("#vram-chart", SeriesChart), view.query_one("#reward-chart", SeriesChart)
        await until(pilot, lambda: len(vram.series["allocated"]) == 2, what="vram points")
        assert vram.display and rewards.display
        assert vram.series["allocated"] == [(1, 3.0), (2, 5.0)]  # the vram reading after step 2 replaces it
        assert vram.series["reserved"][-1] == (2, 6.0) and rewards.series["margin"] == [(1, 0.1), (2, 0.2)]
        stats = view.query_one(RunStats)
        assert stats.values["margin"] == "+0.200" and stats.values["reward acc"] == "50%"
        await until(pilot, lambda: "a_kind_this_version_does_not_know: detail 42" in log_text(view, "#events"),
                    what="unknown event shown")


@pilot_test
async def test_the_eta_after_a_resume_is_not_the_one_from_before_the_stop():
    """Stopped at step 6 of 12 with 15 s to go; resumed, the worker loads the model for a while
    before its first step: the 15 s of the old attempt must not show meanwhile, and the first
    step of the new attempt gives the ETA again."""
    run = canned_run(status="stopped", steps=6, total=12, evals_every=0)
    with EventWriter(run.events) as ev:
        ev.emit("started", pid=1, run_id=run.id, attempt=2)
        ev.emit("status", status="resuming", checkpoint="checkpoint-6", step=6)
    worker = hold_run(run)
    try:
        app = TuituneApp()
        async with app.run_test(size=(120, 40)) as pilot:
            view = await open_view(app, pilot, run)
            stats = view.query_one(RunStats)
            await until(pilot, lambda: stats.status == "running" and view.phase == "resuming", what="resuming")
            await until(pilot, lambda: stats.values["step"] == "6/12", what="the replayed steps")
            assert stats.values["ETA"] == "–"
            assert "ETA –" in str(stats.render())
            with EventWriter(run.events) as ev:
                ev.emit("step", step=7, total_steps=12, loss=1.0, eta_s=40)
            await until(pilot, lambda: stats.values["ETA"] == "40s", what="the new attempt's ETA")
    finally:
        worker.kill()
        worker.wait()


@pilot_test
async def test_an_export_after_training_shows_its_progress_where_the_eta_was():
    run = canned_run(status="stopped", steps=12, total=12, evals_every=0)
    with EventWriter(run.events) as ev:
        ev.emit("status", status="exporting", quants=["q8_0"])
        ev.emit("export", stage="merge", state="done", seconds=2.0)
        ev.emit("export", stage="convert", state="done", seconds=6.0)
        ev.emit("export", stage="quantize q8_0", state="done", seconds=1.0)
        ev.emit("export", stage="verify", state="started")
        ev.emit("verify", check="chat template", index=1, total=5)
    worker = hold_run(run)
    try:
        app = TuituneApp()
        async with app.run_test(size=(120, 40)) as pilot:
            view = await open_view(app, pilot, run)
            stats = view.query_one(RunStats)
            await until(pilot, lambda: "export 4/4 verify 1/5" in str(stats.render()), what="export progress")
            assert "ETA" not in str(stats.render())
            with EventWriter(run.events) as ev:
                ev.emit("verify", check="perplexity q8_0", index=4, total=5)
            await until(pilot, lambda: "export 4/4 verify 4/5" in str(stats.render()), what="verify progress")
            assert "export: verify 4/5: perplexity q8_0 …" in log_text(view, "#events")
    finally:
        worker.kill()
        worker.wait()
