"""A run's worker.log on the whole screen, wrapped, searchable: what the library printed
(warnings, tracebacks, progress bars), which the run view's tab can only show the end of."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Header, Input, Static, TextArea
from textual.widgets.text_area import Selection

from tuitune.runs.store import RunDir
from tuitune.tui.screens.base import AppScreen

LOG_BYTES = 4 * 2**20
"""The end of the log that is read: a log longer than this starts where it is cut."""


def read_log(run: RunDir) -> str:
    """The end of worker.log as the terminal showed it (see :func:`tuitune.tui.tail.clean_lines`)."""
    from tuitune.tui.tail import clean_lines

    try:
        size = run.log.stat().st_size
        with open(run.log, "rb") as f:
            f.seek(max(0, size - LOG_BYTES))
            data = f.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return "(no worker.log yet: the worker has not started)"
    lines = clean_lines(data, cut=size > LOG_BYTES)
    return "\n".join(lines)


class LogScreen(AppScreen):
    """The log in a read-only text area; ``/`` searches, ``n`` / ``N`` go to the next / previous match."""

    BINDINGS = [
        Binding("escape", "close", "Back", id="log.back",
                tooltip="Leave the search box; from the log, back to the run view"),
        Binding("slash", "search", "Search", id="log.search", tooltip="Type a text to find in the log (enter: find)"),
        Binding("n", "find(1)", "Next", id="log.next", tooltip="The next match of the search"),
        Binding("N", "find(-1)", "Previous", id="log.previous", tooltip="The previous match of the search"),
        Binding("r", "reload", "Reload", id="log.reload", tooltip="Read the log again (a running worker adds to it)"),
    ]

    def __init__(self, run: RunDir) -> None:
        super().__init__()
        self.run = run
        self.query_text = ""

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(placeholder="find in worker.log (enter: next match, escape: back to the log)", id="log-search")
        yield TextArea("", id="log-text", read_only=True, soft_wrap=True, show_cursor=True)
        yield Static("", id="log-found")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = f"worker.log of run {self.run.id}"
        self.query_one("#log-search").display = False
        self.query_one("#log-text").focus()
        self.action_reload()

    @work(thread=True, exclusive=True, exit_on_error=False, group="log")
    def action_reload(self) -> None:
        text = read_log(self.run)
        self.app.call_from_thread(self._loaded, text)

    def _loaded(self, text: str) -> None:
        area = self.query_one("#log-text", TextArea)
        area.load_text(text)
        area.move_cursor(area.document.end)  # the end first: the newest lines, where an error is
        self._found(f"{text.count(chr(10)) + 1 if text else 0} lines")

    def _found(self, text: str) -> None:
        self.query_one("#log-found", Static).update(text)

    def action_search(self) -> None:
        box = self.query_one("#log-search", Input)
        box.display = True
        box.focus()

    def action_close(self) -> None:
        box = self.query_one("#log-search", Input)
        if box.has_focus:
            box.display = bool(box.value)
            self.query_one("#log-text").focus()
        else:
            self.dismiss()

    @on(Input.Submitted, "#log-search")
    def _submitted(self, message: Input.Submitted) -> None:
        self.query_text = message.value
        self.action_find(1)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "find":
            return bool(self.query_text)  # no search yet: n and N do nothing, and say nothing
        return True

    def action_find(self, direction: int) -> None:
        """Select the next (or previous) match after the current one, wrapping round the log."""
        area = self.query_one("#log-text", TextArea)
        needle = self.query_text.lower()
        if not needle:
            return
        matches = [(r, at) for r, line in enumerate(area.text.lower().split("\n"))
                   for at in _positions(line, needle)]
        if not matches:
            self._found(f"{self.query_text!r}: not in the log")
            return
        here = area.selection.start
        after = [m for m in matches if m > here] if direction > 0 else [m for m in matches if m < here]
        r, at = (after[0] if after else matches[0]) if direction > 0 else (after[-1] if after else matches[-1])
        area.selection = Selection((r, at), (r, at + len(needle)))
        area.scroll_cursor_visible(center=True)
        self._found(f"{self.query_text!r}: match {matches.index((r, at)) + 1} of {len(matches)}, line {r + 1} "
                    "· n next, N previous")


def _positions(line: str, needle: str) -> list[int]:
    out, at = [], line.find(needle)
    while at >= 0:
        out.append(at)
        at = line.find(needle, at + 1)
    return out
