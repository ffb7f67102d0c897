"""The evaluation screen: `v` from the run view and from compare shows base against tuned and
steps through the rows; `e` runs a real evaluation in the worker and shows its result."""

from __future__ import annotations

import json

from tests.tui.support import canned_run, pilot_test
from tests.waits import until
from tuitune.runs import evals
from tuitune.tui.app import TuituneApp
from tuitune.tui.screens.compare import CompareScreen
from tuitune.tui.widgets.eval_rows import EvalRows


def write_eval(run, tuned_contains: float, general_tuned: float = 0.5) -> None:
    """An evaluation as the worker leaves it: a summary and its per-row answers."""
    folder = evals.eval_dir(run)
    folder.mkdir(parents=True, exist_ok=True)
    rows = [
        {"i": 0, "where": "val.jsonl:1", "kind": "answer", "prompt": [{"role": "user", "content": "Why is the sky blue?"}],
         "reference": "Arr! Scattering.", "base": {"answer": "Rayleigh scattering.", "contains": 0.0, "ref_ppl": 9.0},
         "tuned": {"answer": "Arr! Scattering, matey.", "contains": 1.0, "ref_ppl": 2.0}},
        {"i": 1, "where": "val.jsonl:2", "kind": "choice", "prompt": [{"role": "user", "content": "Pick"}],
         "choices": ["yes", "no"], "answer": 1, "base": {"answer": "yes", "choice_acc": 0.0},
         "tuned": {"answer": "no", "choice_acc": 1.0}},
    ]
    (folder / "20260101-120000.rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    summary = {"rows": 2, "base": {"contains": 0.0, "ref_ppl": 9.0}, "tuned": {"contains": tuned_contains, "ref_ppl": 2.0},
               "general": {"items": 154, "base": {"score": 0.5}, "tuned": {"score": general_tuned}},
               "per_row": str(folder / "20260101-120000.rows.jsonl"), "models": {"base": "base.gguf", "tuned": "tuned.gguf"},
               "created": "20260101-120000", "wall_s": 12.0, "margin": 0.05, "data": "val.jsonl"}
    (folder / "20260101-120000.json").write_text(json.dumps(summary))


def cells(screen) -> dict[str, list[str]]:
    table = screen.query_one("#eval-table")
    return {str(table.get_row_at(i)[0]): [str(c) for c in table.get_row_at(i)[1:]] for i in range(table.row_count)}


@pilot_test
async def test_v_in_the_run_view_shows_base_against_tuned_row_by_row():
    run = canned_run(status="done", steps=12)
    write_eval(run, 1.0, general_tuned=0.2)
    app = TuituneApp()
    async with app.run_test(size=(120, 44)) as pilot:
        app.open_run(run.id)
        await until(pilot, lambda: type(app.screen).__name__ == "RunScreen", what="run view")
        await pilot.press("v")
        await until(pilot, lambda: type(app.screen).__name__ == "EvalScreen" and app.screen.query("#eval-table"), what="eval")
        screen = app.screen
        table = cells(screen)
        assert table["contains"] == ["0.000", "1.000"] and table["general score"] == ["0.500", "0.200"]
        assert "warning: the general score fell" in str(screen.query_one("#eval-title").render())
        viewer = screen.query_one(EvalRows)
        shown = viewer.texts()
        assert "row 1 of 2" in shown and "Arr! Scattering." in shown and "Rayleigh scattering." in shown
        await pilot.press("n")
        await until(pilot, lambda: "row 2 of 2" in viewer.texts(), what="next row")
        assert "no  (of: yes, no)" in viewer.texts()
        await pilot.press("p")
        await until(pilot, lambda: "row 1 of 2" in viewer.texts(), what="previous row")
        await pilot.press("escape")
        await until(pilot, lambda: type(app.screen).__name__ == "RunScreen", what="back")


@pilot_test
async def test_v_in_compare_shows_both_runs():
    a, b = canned_run(status="done", steps=12), canned_run(status="done", steps=12)
    write_eval(a, 1.0)
    write_eval(b, 0.5)
    app = TuituneApp()
    async with app.run_test(size=(140, 44)) as pilot:
        app.push_screen(CompareScreen(a, b))
        await until(pilot, lambda: type(app.screen).__name__ == "CompareScreen", what="compare")
        await pilot.press("v")
        await until(pilot, lambda: type(app.screen).__name__ == "EvalScreen" and app.screen.query("#eval-table"), what="eval")
        screen = app.screen
        assert cells(screen)["contains"] == ["0.000", "1.000", "0.000", "0.500"]
        assert str(screen.query_one("#eval-title").render()).startswith(f"A {a.id}")
        await pilot.press("t")
        await until(pilot, lambda: str(screen.query_one("#eval-title").render()).startswith(f"B {b.id}"), what="switch")


@pilot_test
async def test_e_runs_a_real_evaluation_and_shows_it(terse_export, monkeypatch, tmp_path):
    run, _ = terse_export
    # Questions the run never saw (its knowledge-like file holds no validation rows out).
    held_out = tmp_path / "held-out.jsonl"
    held_out.write_text("".join(json.dumps({"messages": [
        {"role": "user", "content": f"Question number {i}: what do you say?"},
        {"role": "assistant", "content": "Aye."}]}) + "\n" for i in range(40, 43)))
    monkeypatch.setenv("TUITUNE_HOME", str(run.parent.parent))
    for old in evals.results(run / "eval"):
        old.rename(old.with_suffix(".old"))  # only this test's evaluation counts
    app = TuituneApp()
    async with app.run_test(size=(120, 44)) as pilot:
        app.open_run(run.name)
        await until(pilot, lambda: type(app.screen).__name__ == "RunScreen", what="run view")
        await pilot.press("v")
        await until(pilot, lambda: type(app.screen).__name__ == "EvalScreen", what="eval")
        screen = app.screen
        assert "not evaluated yet" in str(screen.query_one("#eval-title").render())
        screen.extra = ["--general-limit", "1", "--data", str(held_out)]  # the general set: tests/evaluation's
        await pilot.press("e")
        await until(pilot, lambda: "evaluated:" in str(screen.query_one("#eval-status").render()), timeout=300,
                    what="the evaluation worker's result")
        assert cells(screen)["contains"][1] == "1.000"
        assert "Aye." in screen.query_one(EvalRows).texts()
