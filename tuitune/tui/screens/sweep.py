"""A sweep as one view: its trials ranked by best validation loss (as `tuitune sweep` prints
them), and all their loss curves on one chart. Opened with `w` on any trial's row; enter opens
a trial's run view."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Footer, Header, Static

from tuitune.tui.screens.base import AppScreen
from tuitune.tui.screens.compare import RUN_MARKERS, CompareChart

COLUMNS = ("#", "trial", "run", "status", "val loss", "values")


class SweepRead(Message):
    def __init__(self, ranking: dict[str, Any], numbers: dict[str, int], curves: list[Any]) -> None:
        super().__init__()
        self.ranking, self.numbers, self.curves = ranking, numbers, curves


class SweepScreen(AppScreen):
    BINDINGS = [Binding("escape", "close", "Back", id="sweep.back", tooltip="Back to the runs table")]

    def __init__(self, sweep_id: str) -> None:
        super().__init__()
        self.sweep_id = sweep_id
        self.order: list[str] = []

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="compare-view"):
            yield Static(Text.assemble(("sweep ", "bold"), self.sweep_id), id="compare-title")
            yield CompareChart([], id="compare-chart")
            yield DataTable(id="sweep-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "sweep"
        self.query_one(DataTable).add_columns(*COLUMNS)
        self.read()
        self.set_interval(2.0, self.read)

    @work(thread=True, exclusive=True, exit_on_error=False, group="sweep")
    def read(self) -> None:
        from tuitune.runs import sweep
        from tuitune.tui.run_compare import curves

        made = sweep.find_sweep(self.sweep_id)
        runs = made.runs()
        numbers = {r.id: i for i, r in enumerate(runs, 1)}  # the trials' order in the sweep
        self.post_message(SweepRead(sweep.result(made), numbers, [curves(r) for r in runs[:len(RUN_MARKERS)]]))

    @on(SweepRead)
    def _read(self, message: SweepRead) -> None:
        chart = self.query_one(CompareChart)
        chart.labels = [f"#{n}" for n in list(message.numbers.values())[:len(RUN_MARKERS)]]
        chart.curves = message.curves
        chart.refresh()
        best = message.ranking["best"]
        rows = []
        for rank, t in enumerate(message.ranking["trials"], 1):
            loss = f"{t['eval_loss']:.4f}" if t["eval_loss"] is not None else "–"
            values = "  ".join(f"{k}={v}" for k, v in t["params"].items())
            rows.append((f"{rank}{' best' if t['run'] == best else ''}", f"#{message.numbers.get(t['run'], '?')}",
                         t["run"], t["status"], loss, values))
        table = self.query_one(DataTable)
        if [tuple(str(c) for c in table.get_row_at(i)) for i in range(table.row_count)] != rows:
            table.clear()
            for row in rows:
                table.add_row(*row, key=row[2])
        self.order = [r[2] for r in rows]

    @on(DataTable.RowSelected, "#sweep-table")
    def _open(self, message: DataTable.RowSelected) -> None:
        self.app.open_run(str(message.row_key.value))

    def action_close(self) -> None:
        self.dismiss()
