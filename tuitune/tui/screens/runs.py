"""Every run in a table that refreshes itself, with the CLI's run commands on keys:
open, stop, resume, delete (after a confirmation), export, and a filter."""

from __future__ import annotations

from collections.abc import Callable

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Header, Input, Static

from tuitune.tui.messages import RunsListed
from tuitune.tui.run_keys import run_bindings
from tuitune.tui.screens.base import AppScreen
from tuitune.tui.widgets.runs_table import RunsTable


class RunsScreen(AppScreen):
    """All runs under $TUITUNE_HOME/runs, newest first."""

    BINDINGS = [
        Binding("enter", "open_run", "Open", id="runs.open", tooltip="Watch the run under the cursor"),
        *run_bindings("runs", "stop", "resume", "extend", "export", "chat", "label", "delete", hidden=("extend",)),
        Binding("left_square_bracket", "queue_move(-1)", "Earlier", id="runs.queue_earlier", show=False,
                tooltip="Move the queued run under the cursor one place earlier in the queue"),
        Binding("right_square_bracket", "queue_move(1)", "Later", id="runs.queue_later", show=False,
                tooltip="Move the queued run under the cursor one place later in the queue"),
        Binding("w", "open_sweep", "Sweep", id="runs.sweep", show=False,
                tooltip="Open the sweep of the trial under the cursor: its trials ranked, all loss curves"),
        Binding("u", "unqueue", "Unqueue", id="runs.unqueue", show=False,
                tooltip="Take the queued run under the cursor out of the queue (it stays, stopped)"),
        Binding("x", "compare", "Compare", id="runs.compare",
                tooltip="Mark this run; x on a second run shows both loss curves and what differs"),
        Binding("slash", "filter", "Filter", id="runs.filter", tooltip="Show only rows containing some text"),
        Binding("escape", "clear_filter", "Clear filter", id="runs.clear_filter", show=False,
                tooltip="Show every run again"),
    ]

    marked: str | None = None
    """The run marked by x, waiting for a second one to compare with."""

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(placeholder="filter: part of an id, a status or a method (enter: done, escape: clear)",
                    id="filter")
        yield RunsTable(id="runs", fold_sweeps=True)
        yield Static("", id="no-runs")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "runs"
        # No daemon starts queued runs: a worker killed outright leaves that to whoever looks.
        self.set_interval(5.0, self._kick_queue)
        self.query_one("#filter", Input).display = False
        self.query_one(RunsTable).focus()

    @property
    def table(self) -> RunsTable:
        return self.query_one(RunsTable)

    @on(RunsListed)
    def _runs_listed(self, message: RunsListed) -> None:
        hint = "" if message.rows else "No runs yet: 1 goes home, where d starts the CPU demo; 3 sets up a run."
        self.query_one("#no-runs", Static).update(hint)

    @on(DataTable.RowSelected, "#runs")
    def _row_selected(self, message: DataTable.RowSelected) -> None:
        from tuitune.tui.run_rows import SWEEP_ROW

        key = str(message.row_key.value)
        if key.startswith(SWEEP_ROW):  # a sweep's row opens into its trials (and closes again)
            self.table.toggle_sweep(key.removeprefix(SWEEP_ROW))
            return
        self.app.open_run(key)

    def _with_run(self, verb: Callable, done: str, open_after: bool = False) -> None:
        """Apply a :mod:`tuitune.tui.launch` function to the selected run; user errors become
        notifications, never tracebacks."""
        from tuitune.runs.store import find_run
        from tuitune.tui.launch import user_errors

        run_id = self.table.selected_run_id
        if run_id is None:
            self.notify("no run selected", severity="warning")
            return
        try:
            verb(find_run(run_id), self.app.processes)
        except user_errors() as e:
            self.notify(str(e), markup=False, severity="error", timeout=8)
            return
        self.notify(done.format(run_id=run_id))
        self.table.reload()
        if open_after:
            self.app.open_run(run_id)

    @work(thread=True, exclusive=True, exit_on_error=False, group="queue-kick")
    def _kick_queue(self) -> None:
        from tuitune.runs.queue import kick

        kick()

    def _queue_change(self, change: Callable[[str], str]) -> None:
        from tuitune.tui.launch import user_errors

        run_id = self.table.selected_run_id
        if run_id is None:
            self.notify("no run selected", severity="warning")
            return
        try:
            said = change(run_id)
        except user_errors() as e:
            self.notify(str(e), markup=False, severity="error", timeout=8)
            return
        self.notify(said, markup=False, timeout=3)
        self.table.reload()

    def action_queue_move(self, by: int) -> None:
        from tuitune.runs import queue
        from tuitune.runs.store import find_run

        def move(run_id: str) -> str:
            place = queue.position(find_run(run_id))
            if place is None:
                raise queue.QueueError(f"run {run_id} is not in the queue")
            return f"run {run_id}: place {queue.move(run_id, max(1, place + by))} in the queue"

        self._queue_change(move)

    def action_open_sweep(self) -> None:
        from tuitune.runs.store import RunDir, runs_root
        from tuitune.runs.sweep import read_tag
        from tuitune.tui.run_rows import SWEEP_ROW
        from tuitune.tui.screens.sweep import SweepScreen

        run_id = self.table.selected_run_id
        if run_id and run_id.startswith(SWEEP_ROW):
            self.app.push_screen(SweepScreen(run_id.removeprefix(SWEEP_ROW)))
            return
        tag = read_tag(RunDir(runs_root() / run_id)) if run_id else None
        if tag is None:
            self.notify("not a sweep trial: `tuitune sweep` makes them", severity="warning")
            return
        self.app.push_screen(SweepScreen(tag["sweep"]))

    def action_unqueue(self) -> None:
        from tuitune.runs import queue

        self._queue_change(lambda run_id: f"run {queue.remove(run_id).id} left the queue (stopped; r starts it)")

    def action_extend_run(self) -> None:
        from tuitune.runs.store import find_run
        from tuitune.tui.launch import extend, user_errors
        from tuitune.tui.screens.extend import ExtendDialog

        run_id = self.table.selected_run_id
        if run_id is None:
            self.notify("no run selected", severity="warning")
            return
        try:
            run = find_run(run_id)
            step = run.read_state().step
        except user_errors() as e:
            self.notify(str(e), markup=False, severity="error")
            return

        def answered(steps: int | None) -> None:
            if steps:
                self._with_run(lambda r, p: extend(r, p, steps), f"extending run {{run_id}} by {steps} steps",
                               open_after=True)

        self.app.push_screen(ExtendDialog(run_id, step), answered)

    def action_open_run(self) -> None:
        from tuitune.tui.run_rows import SWEEP_ROW

        run_id = self.table.selected_run_id
        if run_id and run_id.startswith(SWEEP_ROW):
            self.table.toggle_sweep(run_id.removeprefix(SWEEP_ROW))
        elif run_id:
            self.app.open_run(run_id)

    def action_stop_run(self) -> None:
        from tuitune.tui.launch import stop

        self._with_run(stop, "asked run {run_id} to stop after its current step")

    def action_resume_run(self) -> None:
        from tuitune.tui.launch import resume

        self._with_run(resume, "resuming run {run_id}", open_after=True)

    def action_export_run(self) -> None:
        if self.table.selected_run_id:
            self.app.open_export(self.table.selected_run_id)

    def action_chat(self) -> None:
        if self.table.selected_run_id:
            self.app.open_chat(self.table.selected_run_id)

    def action_label_run(self) -> None:
        if self.table.selected_run_id:
            self.app.label_run(self.table.selected_run_id)

    def action_delete_run(self) -> None:
        from tuitune.tui.launch import delete
        from tuitune.tui.screens.confirm import ConfirmDialog

        run_id = self.table.selected_run_id
        if run_id is None:
            self.notify("no run selected", severity="warning")
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self._with_run(delete, "deleted run {run_id}")

        self.app.push_screen(ConfirmDialog(f"Delete run {run_id} and all its files?"), answered)

    def action_compare(self) -> None:
        from tuitune.runs.store import RunStoreError, find_run
        from tuitune.tui.screens.compare import CompareScreen

        run_id = self.table.selected_run_id
        if run_id is None:
            self.notify("no run selected", severity="warning")
        elif self.marked is None or self.marked == run_id:
            self.marked = None if self.marked == run_id else run_id
            self.sub_title = f"runs — comparing {run_id} with… (x on another run)" if self.marked else "runs"
            self.table.set_marked(self.marked)
            self.notify(f"{run_id} is A (◆): x on another run compares them, x on it again unmarks it"
                        if self.marked else "compare mark removed", markup=False, timeout=4)
        else:
            try:
                a, b = find_run(self.marked), find_run(run_id)
            except RunStoreError as e:
                self.notify(str(e), markup=False, severity="error")
                return
            finally:
                self.marked, self.sub_title = None, "runs"
                self.table.set_marked(None)
            self.app.push_screen(CompareScreen(a, b))

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        box.focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.value = ""
        box.display = False
        self.table.set_filter("")
        self.table.focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, message: Input.Changed) -> None:
        self.table.set_filter(message.value)

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = bool(box.value)
        self.table.focus()
