"""The run view at any size (issue 21, item 2): its numbers in sight at 80×24, tabs for the
charts, events, probes and worker.log, an event shown whole, the probe answers wrapped whole,
the full log searchable, and charts that share a step axis, keep their legend off the points
and tell series apart by marker."""

from __future__ import annotations

import pytest
from textual.widgets import TabbedContent, TextArea

from tests.tui.support import canned_run, pilot_test, screen_text
from tests.waits import until
from tuitune.events import EventWriter
from tuitune.tui.app import TuituneApp
from tuitune.tui.chart_axes import nice_ticks, tick_label
from tuitune.tui.widgets.loss_chart import LossChart
from tuitune.tui.widgets.run_stats import RunStats

LONG = ("Arr, two plus two be four doubloons, matey, and any landlubber who says otherwise walks the plank "
        "before the sun goes down over the Caribbean")


def probed_run():
    run = canned_run(status="done", steps=24, evals_every=6,
                     log="".join(f"warning {n}: a library said something long\n" for n in range(300))
                     + "the needle is here\nand the end\n")
    with EventWriter(run.events) as ev:
        ev.emit("probe", step=0, label="base", answers=[{"prompt": "What is two plus two?", "answer": "Four."}])
        ev.emit("probe", step=24, label="tuned", answers=[{"prompt": "What is two plus two?", "answer": LONG}])
    return run


async def open_view(app, pilot, run):
    app.open_run(run.id)
    await until(pilot, lambda: type(app.screen).__name__ == "RunScreen" and len(app.screen.events) >= 14
                and len(app.screen.query_one(LossChart).train) == 24, what="the run view, replayed")
    return app.screen


@pilot_test
async def test_at_80x24_the_numbers_stay_in_sight_and_every_tab_is_reachable():
    app = TuituneApp()
    async with app.run_test(size=(80, 24)) as pilot:
        view = await open_view(app, pilot, probed_run())
        await until(pilot, lambda: "tokens/s 144" in screen_text(app) and "ETA" in screen_text(app),
                    what="ETA and tokens/s on screen")
        assert view.query_one(RunStats).size.height <= 2
        tabs = view.query_one("#run-tabs", TabbedContent)
        seen = []
        for _ in range(4):
            seen.append(tabs.active)
            await pilot.press("right_square_bracket")
        assert seen == ["tab-charts", "tab-events", "tab-probes", "tab-log"] and tabs.active == "tab-charts"
        await pilot.press("left_square_bracket")
        assert tabs.active == "tab-log"


@pilot_test
async def test_a_run_on_two_gpus_shows_its_ranks_and_each_ones_memory():
    """Recorded from the shape train/callbacks.py gives a step of a 2-process run on CUDA."""
    per_rank = [{"allocated": 3 * 2**30, "reserved": int(3.5 * 2**30)}, {"allocated": 3 * 2**30, "reserved": 4 * 2**30}]
    run = canned_run(status="done", steps=24, step_fields={"world_size": 2, "vram_per_rank": per_rank})
    app = TuituneApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_view(app, pilot, run)
        await until(pilot, lambda: "ranks 2" in screen_text(app), what="the ranks on screen")
        assert "GiB/rank 3.5 · 4.0" in screen_text(app)


@pilot_test
async def test_probe_answers_are_wrapped_whole_and_enter_shows_an_event_whole():
    app = TuituneApp()
    async with app.run_test(size=(80, 24)) as pilot:
        view = await open_view(app, pilot, probed_run())
        tabs = view.query_one("#run-tabs", TabbedContent)
        while tabs.active != "tab-probes":
            await pilot.press("right_square_bracket")
        await until(pilot, lambda: "Caribbean" in screen_text(app), what="the end of the long answer, wrapped")
        assert "Four." in screen_text(app) and "tuned at step 24" in screen_text(app)
        await pilot.press("left_square_bracket")
        await until(pilot, lambda: view.query_one("#events").has_focus, what="the events list focused")
        assert "Caribbean" not in screen_text(app)  # the list shows each event's first line
        await pilot.press("enter")  # the newest event is highlighted: the tuned probe answers
        await until(pilot, lambda: type(app.screen).__name__ == "TextDialog", what="the event, whole")
        assert "Caribbean" in screen_text(app) and "step 24" in screen_text(app)
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is view, what="back in the run view")


@pilot_test
async def test_l_opens_the_whole_worker_log_and_slash_searches_it():
    app = TuituneApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_view(app, pilot, probed_run())
        await pilot.press("l")
        await until(pilot, lambda: type(app.screen).__name__ == "LogScreen"
                    and "and the end" in app.screen.query_one(TextArea).text, what="the log viewer")
        area = app.screen.query_one(TextArea)
        assert "warning 0:" in area.text  # all of it, not the tab's last 200 lines
        await pilot.press("slash", *"needle", "enter")
        await until(pilot, lambda: area.selected_text == "needle", what="the match selected")
        assert area.selection.start[0] == 300
        await pilot.press("escape", "escape")
        await until(pilot, lambda: type(app.screen).__name__ == "RunScreen", what="back in the run view")


@pilot_test
async def test_the_charts_share_one_step_axis_and_show_grad_norm_and_tokens_per_second():
    app = TuituneApp()
    async with app.run_test(size=(120, 40)) as pilot:
        view = await open_view(app, pilot, probed_run())
        charts = [view.query_one(LossChart), *(view.query_one(f"#{name}") for name in ("lr-chart", "grad-chart",
                                                                                         "speed-chart"))]
        await until(pilot, lambda: all(c.plt._active.monitor.xlim[0] == [0, 24] for c in charts),
                    what="one step axis, 0 to the run's 24 steps")
        assert len(view.query_one("#grad-chart").series["grad norm"]) == 24
        assert view.query_one("#speed-chart").series["tokens/s"][-1] == (24, 144.0)
        text = screen_text(app)
        assert "loss   ⣀⣀ train   o validation" in text  # the legend is the title, above the plot


@pytest.mark.parametrize(("lo", "hi", "labels"), [
    (1.5, 2.94, ["1.5", "2.0", "2.5", "3.0"]),
    (0, 0.000479, ["0", "2e-4", "4e-4", "6e-4"]),
    (120, 144, ["120", "130", "140", "150"]),
    (1.2, 1.2, ["1.0", "1.1", "1.2", "1.3", "1.4"]),
])
def test_y_ticks_are_round_and_labelled_at_one_precision(lo, hi, labels):
    ticks = nice_ticks(lo, hi, 5)
    assert [tick_label(t, ticks[1] - ticks[0]) for t in ticks] == labels


@pilot_test
async def test_compare_tells_the_runs_apart_by_marker_not_only_by_colour():
    from tuitune.tui.screens.compare import CompareChart, CompareScreen

    a, b = canned_run(steps=12), canned_run(steps=12)
    app = TuituneApp()
    async with app.run_test(size=(120, 40)) as pilot:
        app.push_screen(CompareScreen(a, b))
        await until(pilot, lambda: isinstance(app.screen, CompareScreen) and app.screen.query(CompareChart),
                    what="the compare screen")
        chart = app.screen.query_one(CompareChart)
        await until(pilot, lambda: len(chart.curves) == 2 and chart.plt._active.monitor.marker, what="both runs drawn")
        markers = chart.plt._active.monitor.marker
        assert len(set(map(str, markers))) == 4  # A's line and points, B's line and points
        assert "A train" in screen_text(app) and "B val" in screen_text(app)


@pilot_test
async def test_b_browses_the_runs_rows_the_rejected_with_their_reasons_and_searches_them():
    import json

    run = canned_run(status="done", steps=6)
    data = run.path / "data"
    data.mkdir(exist_ok=True)
    turn = lambda q, a: {"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}]}  # noqa: E731
    (data / "train.jsonl").write_text("".join(json.dumps(turn(f"Question {i}?", f"Arr, answer {i}.")) + "\n"
                                              for i in range(30)))
    (data / "val.jsonl").write_text(json.dumps(turn("Where be the treasure?", "Under the palm, matey.")) + "\n")
    (data / "rejected.jsonl").write_text(json.dumps({"where": "pirate.jsonl:7", "step": "exact_duplicate",
                                                     "reason": "an exact duplicate of pirate.jsonl:3",
                                                     "row": turn("Question 3?", "Arr, answer 3.")}) + "\n")
    app = TuituneApp()
    async with app.run_test(size=(120, 40)) as pilot:
        app.open_run(run.id)
        await until(pilot, lambda: type(app.screen).__name__ == "RunScreen", what="run view")
        await pilot.press("b")
        await until(pilot, lambda: type(app.screen).__name__ == "RowsScreen" and app.screen.rows is not None,
                    what="the rows")
        rows = app.screen
        assert "30 train · 1 validation · 1 rejected" in screen_text(app) and len(rows.shown) == 32
        await pilot.press("f")  # the rejected ones
        await until(pilot, lambda: [r.where for r in rows.shown] == ["pirate.jsonl:7"], what="the rejected rows")
        assert "an exact duplicate of pirate.jsonl:3" in screen_text(app)
        await pilot.press("enter")
        await until(pilot, lambda: type(app.screen).__name__ == "TextDialog", what="the row whole")
        assert "left out, an exact duplicate" in screen_text(app) and "assistant: Arr, answer 3." in screen_text(app)
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is rows, what="back to the rows")
        await pilot.press("f", "f", "f")  # validation, train, then all again
        await pilot.press("slash", *"treasure", "enter")
        await until(pilot, lambda: [r.split for r in rows.shown] == ["validation"], what="found by search")
        await pilot.press("escape")  # clears the search
        await until(pilot, lambda: len(rows.shown) == 32, what="all rows again")
        await pilot.press("escape")
        await until(pilot, lambda: type(app.screen).__name__ == "RunScreen", what="back to the run")
