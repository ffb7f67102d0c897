"""The doctor's full report (`tuitune doctor`): every check with what to do. The torch checks
run in the probe worker, so this screen takes a few seconds and the app never imports torch."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import Footer, Header, Static

from tuitune.doctor.report import Check, report_lines, summary
from tuitune.tui.messages import DoctorRead
from tuitune.tui.screens.base import AppScreen

STYLES = {"ok": "green", "warn": "yellow", "fail": "bold red", "skip": "dim"}


def report_text(checks: list[Check]) -> Text:
    """The report's lines (tuitune.doctor.report), each status coloured, the fixes in italics."""
    text = Text()
    for status, line in report_lines(checks):
        text.append(f"{status:4}", style=STYLES.get(status, ""))
        text.append(f"  {line}\n", style="" if status else "italic")
    return text


class DoctorScreen(AppScreen):
    BINDINGS = [
        Binding("escape", "close", "Back", id="doctor.back", tooltip="Back to the home screen"),
        Binding("r", "recheck", "Check again", id="doctor.recheck", tooltip="Run every check again"),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="doctor"):
            yield Static("checking the install (torch is probed in a worker process, a few seconds)…", id="doctor-summary")
            yield Static("", id="doctor-report")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "install check"
        self.action_recheck()

    @work(thread=True, exclusive=True, exit_on_error=False, group="doctor")
    def action_recheck(self) -> None:
        from tuitune.doctor.checks import diagnose

        self.post_message(DoctorRead(diagnose()))

    @on(DoctorRead)
    def _read(self, message: DoctorRead) -> None:
        message.stop()  # the home screen's quick summary is not this one
        self.query_one("#doctor-summary", Static).update(Text(summary(message.checks)))
        self.query_one("#doctor-report", Static).update(report_text(message.checks))

    def action_close(self) -> None:
        self.app.pop_screen()
