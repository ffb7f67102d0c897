"""A small line chart of named series over steps (learning rate, gradient norm, tokens/s, VRAM,
DPO reward margin), on the loss chart's step axis, each series with its own marker.

Hidden until its first point when ``hide_empty`` is set (a CPU run has no VRAM to draw).
Points arrive in batches; a resumed run's repeated steps replace what was drawn; long series
are averaged down to about two points per column.
"""

from __future__ import annotations

from textual_plotext import PlotextPlot

from tuitune.runs.series import Point, downsample
from tuitune.tui.chart_axes import MARKERS, draw_axes, legend


class SeriesChart(PlotextPlot):
    """``series`` holds every point received, by name (the drawing is thinned, not these)."""

    def __init__(self, title: str, names: list[str], *, ylabel: str = "", hide_empty: bool = False,
                 id: str | None = None) -> None:
        super().__init__(id=id)
        self.title = title
        self.ylabel = ylabel
        self.hide_empty = hide_empty
        self.series: dict[str, list[Point]] = {name: [] for name in names}
        self.total_steps: int | None = None
        """The run's steps, when known: every chart of the run shares one step axis."""

    def set_total_steps(self, total: int | None) -> None:
        if total != self.total_steps:
            self.total_steps = total
            self.refresh()

    def on_mount(self) -> None:
        self.display = not self.hide_empty

    def add_points(self, new: dict[str, list[Point]]) -> None:
        changed = False
        for name, points in new.items():
            if name not in self.series or not points:
                continue
            series = self.series[name]
            for point in points:
                while series and series[-1][0] >= point[0]:
                    series.pop()
                series.append(point)
            changed = True
        if changed:
            self.display = True
            self.refresh()

    def render(self):
        plt = self.plt
        plt.clear_data()
        drawn = {name: points for name, points in self.series.items() if points}
        markers = dict(zip(self.series, MARKERS, strict=False))
        many = len(self.series) > 1  # one series: the title names it
        plt.title((legend(self.title, [(n, markers[n]) for n in drawn]) if many else self.title) if drawn
                  else f"{self.title} (nothing logged yet)")
        plt.xlabel("step")
        if self.ylabel:
            plt.ylabel(self.ylabel)
        limit = max(10, self.size.width * 2)
        for name, points in drawn.items():
            xs, ys = zip(*downsample(points, limit), strict=False)
            plt.plot(xs, ys, marker=markers[name])
        draw_axes(plt, drawn.values(), self.total_steps, self.size.width, self.size.height)
        return super().render()
