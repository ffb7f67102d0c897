"""The loss curve: training loss per logged step and validation loss per evaluation.

Points arrive in batches; a resumed run repeats steps after its checkpoint, and the repeated
stretch replaces what was drawn. Long runs are averaged down to about two points per column.
The step axis, ticks and legend are the other charts' (:mod:`tuitune.tui.chart_axes`).
"""

from __future__ import annotations

from textual_plotext import PlotextPlot

from tuitune.runs.series import Point, downsample
from tuitune.tui.chart_axes import draw_axes, legend


class LossChart(PlotextPlot):
    """``train`` and ``eval`` hold every point received (the drawing is thinned, not these)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.train: list[Point] = []
        self.eval: list[Point] = []
        self.total_steps: int | None = None
        self.batches = 0
        """Batches of points received (each repaints once)."""
        """The x axis spans the whole run when known, so the curve also shows progress."""

    def set_total_steps(self, total: int | None) -> None:
        if total != self.total_steps:
            self.total_steps = total
            self.refresh()

    def add_points(self, train: list[Point], eval: list[Point]) -> None:
        self.batches += 1
        for series, new in ((self.train, train), (self.eval, eval)):
            for point in new:
                while series and series[-1][0] >= point[0]:
                    series.pop()  # a resume went back to a checkpoint
                series.append(point)
        self.refresh()

    def render(self):
        plt = self.plt
        plt.clear_data()
        shown = [(name, marker) for name, marker, points in (("train", "braille", self.train),
                                                            ("validation", "o", self.eval)) if points]
        plt.title(legend("loss", shown) if shown else "loss (waiting for the first logged step)")
        plt.xlabel("step")
        limit = max(10, self.size.width * 2)
        if self.train:
            xs, ys = zip(*downsample(self.train, limit), strict=False)
            plt.plot(xs, ys, marker="braille")
        if self.eval:
            xs, ys = zip(*downsample(self.eval, limit), strict=False)
            plt.scatter(xs, ys, marker="o")
        draw_axes(plt, [self.train, self.eval], self.total_steps, self.size.width, self.size.height)
        return super().render()
