"""Export a finished run: choose the GGUF types, start the export worker
(``python -m tuitune.export``, as ``tuitune export`` does), watch its stages and read the
verification report. Opening it on a run that is exporting, or exported before, shows that
export (its events are replayed)."""

from __future__ import annotations

import time

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Checkbox, Footer, Header, SelectionList, Static
from textual.worker import get_current_worker

from tuitune.preset.schema import GGUF_TYPE_HELP, GGUF_TYPES
from tuitune.runs.export_report import read_report, report_lines, report_path
from tuitune.runs.store import RunDir
from tuitune.tui.export_progress import ExportProgress
from tuitune.tui.messages import RunEventsRead
from tuitune.tui.screens.base import AppScreen, RunGone


class ExportScreen(AppScreen):
    """GGUF types on the left; the export's stages and its report on the right."""

    POLL_SECONDS = 0.25

    BINDINGS = [
        Binding("escape", "close", "Back", id="export.back", tooltip="Back to the previous screen"),
        Binding("e", "start_export", "Export", id="export.start",
                tooltip="Merge, convert, quantize to the ticked types and verify (in a worker process)"),
        Binding("c", "chat", "Chat", id="export.chat", tooltip="Chat with the exported GGUF"),
    ]

    def __init__(self, run: RunDir) -> None:
        super().__init__()
        self.run = run
        self.progress = ExportProgress(default_report=report_path(run.path))
        self.report: dict | None = None

    def compose(self) -> ComposeResult:
        preset = self.run.preset()
        chosen = set(preset.export.gguf)
        yield Header()
        with Horizontal(id="export-view"):
            with Vertical(id="export-form"):
                yield Static(Text.assemble(("export ", "bold"), self.run.id), id="export-title")
                yield SelectionList[str](
                    *[(Text.assemble((q, "bold"), f"  {GGUF_TYPE_HELP[q]}"), q, q in chosen) for q in GGUF_TYPES],
                    id="quants",
                )
                yield Checkbox("write an Ollama Modelfile", preset.export.ollama, id="ollama")
                yield Static("", id="export-chosen")
                yield Static("space ticks a type · e exports · c chats with the result", id="export-hint")
            with VerticalScroll(id="export-side"):
                yield Static("", id="export-stages")
                yield Static("", id="export-report")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = f"export {self.run.id}"
        self.query_one("#quants").border_title = "GGUF types"
        self.query_one("#export-side").border_title = "progress and verification"
        self.query_one("#quants").focus()
        self._ticked()
        self._show()
        self.follow()

    @property
    def chosen(self) -> list[str]:
        """The ticked types, in the list's order (the first one gets the Ollama Modelfile)."""
        selected = set(self.query_one("#quants", SelectionList).selected)
        return [q for q in GGUF_TYPES if q in selected]

    @on(SelectionList.SelectedChanged, "#quants")
    def _ticked(self) -> None:
        chosen = self.chosen
        self.query_one("#export-chosen", Static).update(
            Text.assemble(("e exports: ", "dim"), (", ".join(chosen), "bold")) if chosen
            else Text("no type ticked: space ticks the one under the cursor", style="yellow"))

    @work(thread=True, exclusive=True, exit_on_error=False, group="export-tail")
    def follow(self) -> None:
        from tuitune.events import EventReader

        worker = get_current_worker()
        reader = EventReader(self.run.events)
        while not worker.is_cancelled:
            if not self.run.path.exists():
                self.post_message(RunGone())
                return
            try:
                events = reader.read_new()
            except OSError:
                events = []
            if events:
                self.post_message(RunEventsRead(events))
            time.sleep(self.POLL_SECONDS)

    @on(RunEventsRead)
    def _events(self, message: RunEventsRead) -> None:
        if self.progress.feed(message.events):
            self.report = read_report(self.progress.report) if self.progress.status else None
            self._show()

    def _show(self) -> None:
        p = self.progress
        text = Text()
        if not p.seen:
            text.append("not exported yet. Tick the types, then press e.\n", style="dim")
        else:
            state = "exporting…" if p.running else f"export {p.status}"
            text.append(f"{state}  ({', '.join(p.quants)})\n", style="bold")
            for mark, line in p.stage_lines():
                style = {"✓": "green", "▶": "bold yellow"}.get(mark, "dim")
                text.append(f" {mark} {line}\n", style=style)
            for warning in p.warnings:
                text.append(f"warning: {warning}\n", style="yellow")
            for error in p.errors:
                text.append(f"error: {error}\n", style="bold red")
        self.query_one("#export-stages", Static).update(text)
        report = Text()
        if self.report:
            for n, line in enumerate(report_lines(self.report, self.run.path)):
                passed = self.report.get("status") == "passed"
                report.append(line + "\n", style=("bold green" if passed else "bold red") if n == 0 else "")
            if self.report.get("status") == "passed":
                report.append("\nc chats with it; tuitune chat " + self.run.id + " does too.", style="dim")
        self.query_one("#export-report", Static).update(report)

    def action_start_export(self) -> None:
        from tuitune.tui import launch

        try:
            quants = launch.export(self.run, self.app.processes, self.chosen, self.query_one("#ollama", Checkbox).value)
        except launch.user_errors() as e:
            self.notify(str(e), markup=False, severity="error", timeout=8)
            return
        self.notify(f"exporting {', '.join(quants)}")

    def action_chat(self) -> None:
        self.app.open_chat(self.run.id)

    def action_close(self) -> None:
        self.dismiss()
