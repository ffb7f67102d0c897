"""A table of runs, one row per run, keyed by run id. It refreshes itself from the run store in
a thread worker on a timer, applies its filter, and keeps the cursor on the same run."""

from __future__ import annotations

from textual import on, work
from textual.widgets import DataTable

from tuitune.tui.messages import RunsListed
from tuitune.tui.run_rows import COLUMNS, RunRow, list_rows

STATUS_STYLE = {
    "running": "bold green", "stopping": "yellow", "done": "cyan", "stopped": "yellow",
    "failed": "bold red", "crashed": "bold red", "queued": "dim", "unreadable": "red",
}


class RunsTable(DataTable):
    """Runs as rows; ``selected_run_id`` is the run under the cursor (None when empty)."""

    def __init__(self, *, limit: int | None = None, interval: float = 1.0, id: str | None = None,
                 fold_sweeps: bool = False) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.fold = fold_sweeps
        self.expanded: set[str] = set()
        """The sweeps whose trials are shown under their row (``fold_sweeps``)."""
        self.limit = limit
        self.interval = interval
        self.filter_text = ""
        self.all_rows: list[RunRow] | None = None
        """Every row last read (None before the first read)."""
        self.rows_shown: list[RunRow] = []
        self.marked: str | None = None
        """The run picked for compare: its row carries a mark until the second one is picked."""
        self._shown_mark: str | None = None

    def on_mount(self) -> None:
        self.add_columns(*COLUMNS)
        self.set_interval(self.interval, self.reload)
        self.reload()

    @work(thread=True, exclusive=True, exit_on_error=False, group="runs-table")
    def reload(self) -> None:
        """Read the runs again (in a thread: many runs mean many small files)."""
        self.post_message(RunsListed(list_rows(limit=self.limit)))

    @on(RunsListed)
    def _rows_read(self, message: RunsListed) -> None:
        # Not stopped: the screen also hears it (to say "no runs yet").
        self.all_rows = message.rows
        self._show()

    def set_marked(self, run_id: str | None) -> None:
        self.marked = run_id
        self._show()

    def toggle_sweep(self, sweep_id: str) -> None:
        self.expanded ^= {sweep_id}
        self._show(force=True)

    def set_filter(self, text: str) -> None:
        self.filter_text = text
        self._show()

    @property
    def selected_run_id(self) -> str | None:
        if not self.rows_shown or not self.is_valid_row_index(self.cursor_row):
            return None
        return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value

    def _show(self, force: bool = False) -> None:
        from tuitune.tui.run_rows import fold_sweeps

        rows = [r for r in self.all_rows or [] if r.matches(self.filter_text)]
        if self.fold and not self.filter_text:  # a filter shows the trials it finds, unfolded
            rows = fold_sweeps(rows, self.expanded)
        if rows == self.rows_shown and self.marked == self._shown_mark and not force:
            return
        keep = self.selected_run_id
        self.clear()
        for row in rows:
            cells = list(row.cells)
            style = STATUS_STYLE.get(row.status)
            if style:
                cells[2] = f"[{style}]{row.status}[/]"
            if row.id == self.marked:  # a mark, not only a colour: low-colour terminals see it too
                cells[0] = f"[bold reverse]◆ A {row.id}[/]"
            self.add_row(*cells, key=row.id)
        self.rows_shown, self._shown_mark = rows, self.marked
        ids = [r.id for r in rows]
        if keep in ids:
            self.move_cursor(row=ids.index(keep), animate=False)
