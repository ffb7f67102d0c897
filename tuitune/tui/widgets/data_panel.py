"""The wizard's data panel: what was detected in the data file (read on every change of the
file, fast, no tokenizer), then the tokenizer's part — cleaning report, token histogram,
loss-mask preview — which costs seconds in a subprocess, so it is computed only while the
panel is followed and its inputs changed, and stopped when the panel goes away."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from tuitune.tui.messages import DataInspected, DataMeasured

if TYPE_CHECKING:
    from tuitune.tui.wizard import DataDetails


class DataPanel(Vertical):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.preset: Any = None
        self.follow = False
        """Compute the details on their own (the data step is shown)."""
        self._summary_key: tuple | None = None
        self._details_key: tuple | None = None
        self._job: DataDetails | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="data-info")
        yield Static("", id="data-details")

    def show(self, preset: Any) -> None:
        """The form's preset changed: read its data again if the data settings did."""
        self.preset = preset
        key = (str(preset.data.path), preset.data.format, preset.train.stage)
        if key != self._summary_key:
            self._summary_key = key
            self.query_one("#data-info", Static).update(Text("reading the data…", style="dim"))
            self._summarize(preset)

    def details_if_stale(self) -> None:
        """The details, when the data, model or sequence length changed since they were made."""
        preset = self.preset
        if preset is None:
            return
        key = (str(preset.data.path), preset.data.format, preset.model.path, preset.train.max_seq_len)
        if key != self._details_key:
            self._details_key = key
            self.details()

    def details(self) -> None:
        self.query_one("#data-details", Static).update(
            Text("loading the tokenizer for the cleaning report, token histogram and loss-mask preview…", style="dim"))
        self._detail(self.preset)

    def cancel(self) -> None:
        if self._job is not None:
            self._job.cancel()

    def on_unmount(self) -> None:
        self.cancel()

    @work(thread=True, exclusive=True, exit_on_error=False, group="data")
    def _summarize(self, preset: Any) -> None:
        from tuitune.tui.launch import user_errors
        from tuitune.tui.wizard import data_summary

        try:
            self.post_message(DataInspected(data_summary(preset), ok=True))
        except user_errors() as e:
            self.post_message(DataInspected([str(e)], ok=False))

    @work(thread=True, exclusive=True, exit_on_error=False, group="data-details")
    def _detail(self, preset: Any) -> None:
        from tuitune.tui.launch import user_errors
        from tuitune.tui.wizard import DataDetails

        self.cancel()
        job = self._job = DataDetails(preset)
        try:
            lines = job.run()
        except user_errors() as e:  # a TimeoutError is an OSError
            self.post_message(DataInspected([str(e)], ok=False, details=True))
            return
        if not job.cancelled:
            self.post_message(DataInspected(lines, ok=True, details=True))
            if job.tokens:
                self.post_message(DataMeasured(preset, job.tokens))

    @on(DataInspected)
    def _inspected(self, message: DataInspected) -> None:
        message.stop()
        target = self.query_one("#data-details" if message.details else "#data-info", Static)
        target.update(Text("\n".join(message.lines), style="" if message.ok else "bold red"))
        if message.details:
            return
        if not message.ok:
            self.query_one("#data-details", Static).update("")
            self._details_key = None
        elif self.follow:
            self.details_if_stale()
