"""Did it work? The latest evaluation of a run (two runs from compare): base against tuned on the
task and on the general set, and a per-row viewer. ``v`` opens it from the run view and from
compare; ``e`` here runs a new evaluation in the evaluation worker (``tuitune eval RUN``'s),
following its progress. UI state only: tuitune.runs.evals reads, words and starts everything.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Footer, Header, Static

from tuitune.runs import evals
from tuitune.runs.store import RunDir
from tuitune.tui.screens.base import AppScreen
from tuitune.tui.widgets.eval_rows import EvalRows


def open_binding(screen: str) -> Binding:
    """The key that opens this screen, for the run view and compare (their ``action_evaluate``)."""
    return Binding("v", "evaluate", "Eval", id=f"{screen}.eval",
                   tooltip="Base against tuned on the validation rows and the general set, row by row")


class EvalProgress(Message):
    def __init__(self, message: dict[str, Any]) -> None:
        super().__init__()
        self.message = message

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, EvalProgress) and "progress" in message.message and "progress" in self.message


class EvalScreen(AppScreen):
    """The latest evaluation of each run given (A and B from compare)."""

    BINDINGS = [
        Binding("escape", "close", "Back", id="eval.back", tooltip="Back to the previous screen"),
        Binding("n", "move(1)", "Next row", id="eval.next", tooltip="The next scored row"),
        Binding("p", "move(-1)", "Previous row", id="eval.previous", tooltip="The previous scored row"),
        Binding("t", "switch", "A/B", id="eval.switch", tooltip="Show the other run's rows (from compare)"),
        Binding("e", "run_eval", "Evaluate", id="eval.run",
                tooltip="Run a new evaluation of this run (base and tuned; the rows and the general set)"),
    ]

    # Here rather than in app.tcss: the screen is one self-contained module.
    DEFAULT_CSS = """
    #eval-view { padding: 0 1; }
    #eval-title { height: auto; margin-bottom: 1; }
    #eval-table { height: auto; max-height: 16; }
    #eval-status { height: auto; color: $text-muted; margin: 1 0; }
    #eval-scroll { height: 1fr; }
    """

    def __init__(self, runs: list[RunDir]) -> None:
        super().__init__()
        self.runs = runs
        self.current = 0
        self.summaries: list[dict[str, Any] | None] = [None] * len(runs)
        self.process: Any = None
        self.extra: list[str] = []  # more arguments for the worker (`tuitune eval`'s, e.g. --general-limit N)

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="eval-view"):
            yield Static("", id="eval-title")
            yield DataTable(id="eval-table", cursor_type="row", zebra_stripes=True)
            yield Static("", id="eval-status")
            with VerticalScroll(id="eval-scroll"):
                yield EvalRows(id="eval-rows")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "evaluation"
        self.reload()

    def reload(self) -> None:
        self.summaries = [evals.latest(evals.eval_dir(r)) for r in self.runs]
        table = self.query_one(DataTable)
        table.clear(columns=True)
        labels = ["A ", "B "] if len(self.runs) > 1 else [""]
        table.add_columns("metric", *(f"{label}{side}" for label in labels for side in ("base", "tuned")))
        rows: dict[str, list[str]] = {}
        for n, summary in enumerate(self.summaries):
            for metric, base, tuned, _ in evals.table(summary or {}):
                rows.setdefault(metric, ["—"] * 2 * len(self.runs))[2 * n:2 * n + 2] = [base, tuned]
        table.add_rows([(Text(m), *(Text(v) for v in values)) for m, values in rows.items()])
        self._show_current()

    def _show_current(self) -> None:
        run, summary = self.runs[self.current], self.summaries[self.current]
        which = f"{'AB'[self.current]} " if len(self.runs) > 1 else ""
        if summary is None:
            title = Text.assemble((f"{which}{run.id}", "bold"), ": not evaluated yet; e evaluates it")
        else:
            lines = evals.summary_lines(summary)
            title = Text.assemble((f"{which}{run.id}", "bold"), "  ", lines[0], "\n", "\n".join(lines[1:3]))
            warning = evals.forgetting(summary)
            if warning:
                title.append(f"\nwarning: {warning}", style="yellow")
        self.query_one("#eval-title", Static).update(title)
        self.query_one(EvalRows).show(evals.per_row(summary) if summary else [])

    def action_move(self, by: int) -> None:
        self.query_one(EvalRows).move(by)

    def action_switch(self) -> None:
        if len(self.runs) > 1:
            self.current = 1 - self.current
            self.query_one(EvalRows).index = 0
            self._show_current()

    def action_run_eval(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.notify("an evaluation is already running", severity="warning")
            return
        self.query_one("#eval-status", Static).update("starting the evaluation worker …")
        self.evaluate(self.runs[self.current])

    @work(thread=True, exclusive=True, exit_on_error=False, group="eval")
    def evaluate(self, run: RunDir) -> None:
        self.process = evals.start_eval(evals.eval_command(str(run.path), extra=self.extra), log=run.path / "eval.log")
        for message in evals.messages(self.process):
            self.post_message(EvalProgress(message))
        if self.process.returncode and self.process.returncode < 0:
            self.post_message(EvalProgress({"error": f"the evaluation worker was stopped ({self.process.returncode})"}))

    @on(EvalProgress)
    def _progress(self, event: EvalProgress) -> None:
        m, status = event.message, self.query_one("#eval-status", Static)
        if "progress" in m:
            status.update(f"evaluating: {m['progress']}/{m['of']}  {m['what']}")
        elif "note" in m:
            self.notify(m["note"], markup=False)
        elif "error" in m:
            status.update(Text(f"evaluation failed: {m['error']}", style="red"))
        elif "skipped" in m:
            status.update(f"skipped: {m['skipped']}")
        elif "result" in m:
            status.update(Text(f"evaluated: {Path(m['result']).name}", style="green"))
            self.reload()

    def action_close(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
        self.dismiss()
