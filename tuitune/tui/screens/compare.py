"""Two runs compared: both loss curves on one chart and every preset key that differs.
Opened from the runs table by marking one run with x and pressing x on another."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static
from textual_plotext import PlotextPlot

from tuitune.runs.series import downsample
from tuitune.runs.store import RunDir
from tuitune.tui.chart_axes import draw_axes, legend
from tuitune.tui.messages import CompareRead
from tuitune.tui.run_compare import RunCurves, compare_rows, curves
from tuitune.tui.screens.eval import EvalScreen, open_binding

RUN_MARKERS = (("braille", "o"), ("dot", "x"), ("sd", "+"), ("hd", "*"), ("fhd", "#"), ("braille", "@"))
"""(training line, validation points) for run A, then run B (and a sweep's further trials)."""


class CompareChart(PlotextPlot):
    """Training loss of both runs (lines) and their validation losses (points)."""

    def __init__(self, labels: list[str], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.labels = labels
        self.curves: list[RunCurves] = []

    def render(self):
        plt = self.plt
        plt.clear_data()
        plt.xlabel("step")
        limit = max(10, self.size.width * 2)
        shown = []
        # Each run its own markers, not only its own colour: a terminal with few colours (or a
        # text snapshot) still tells A from B.
        for (label, c), (line, point) in zip(zip(self.labels, self.curves, strict=False), RUN_MARKERS, strict=False):
            if c.train:
                xs, ys = zip(*downsample(c.train, limit), strict=False)
                plt.plot(xs, ys, marker=line)
                shown.append((f"{label} train", line))
            if c.eval:
                xs, ys = zip(*c.eval, strict=False)
                plt.scatter(xs, ys, marker=point)
                shown.append((f"{label} val", point))
        plt.title(legend("loss", shown))
        draw_axes(plt, [s for c in self.curves for s in (c.train, c.eval)], None, self.size.width, self.size.height)
        return super().render()


class CompareScreen(Screen):
    """Run A against run B, refreshed every two seconds (either may still be training)."""

    BINDINGS = [Binding("escape", "close", "Back", id="compare.back", tooltip="Back to the runs table"),
                open_binding("compare")]

    def __init__(self, a: RunDir, b: RunDir) -> None:
        super().__init__()
        self.runs = [a, b]

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="compare-view"):
            yield Static(Text.assemble(("A ", "bold"), self.runs[0].id, ("   B ", "bold"), self.runs[1].id),
                         id="compare-title")
            yield CompareChart(["A", "B"], id="compare-chart")
            yield DataTable(id="compare-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "compare runs"
        self.query_one(DataTable).add_columns("", "A", "B")
        self.read()
        self.set_interval(2.0, self.read)

    @work(thread=True, exclusive=True, exit_on_error=False, group="compare")
    def read(self) -> None:
        self.post_message(CompareRead([curves(r) for r in self.runs], compare_rows(*self.runs)))

    @on(CompareRead)
    def _read(self, message: CompareRead) -> None:
        chart = self.query_one(CompareChart)
        chart.curves = message.curves
        chart.refresh()
        table = self.query_one(DataTable)
        if [tuple(str(c) for c in table.get_row_at(i)) for i in range(table.row_count)] != message.rows:
            table.clear()
            table.add_rows([tuple(Text(c) for c in row) for row in message.rows])

    def action_evaluate(self) -> None:
        self.app.push_screen(EvalScreen(self.runs))

    def action_close(self) -> None:
        self.dismiss()
