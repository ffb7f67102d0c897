"""Watch one run: its numbers always in sight, then tabs for the charts (loss, learning rate,
gradient norm, tokens/s, and VRAM and DPO rewards when logged), the events (``enter`` shows one
whole), the probe answers (base and latest, wrapped) and the end of worker.log (``l``: all of
it, searchable). Tabs keep every part readable at 80×24, where side-by-side panels were cut.

A thread worker tails the run's files (:class:`tuitune.tui.tail.RunTail`) and posts messages;
the handlers here own the widgets. The same view serves a run in progress, a run started
headless earlier, a finished run (replayed from its events) and a failed or crashed one (its
error is shown, and ``r`` resumes it).
"""

from __future__ import annotations

import time

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Footer, Header, Log, OptionList, Static, TabbedContent, TabPane
from textual.worker import get_current_worker

from tuitune.runs.event_text import describe
from tuitune.runs.series import series_points
from tuitune.runs.store import RunDir
from tuitune.tui.export_progress import ExportProgress
from tuitune.tui.messages import (
    ActionFailed,
    LossPointsRead,
    RunEventsRead,
    RunStateRead,
    SeriesPointsRead,
    StepLogged,
    WorkerLogRead,
)
from tuitune.tui.run_keys import run_bindings
from tuitune.tui.screens.base import AppScreen, RunGone
from tuitune.tui.screens.eval import EvalScreen, open_binding
from tuitune.tui.tail import RunTail
from tuitune.tui.widgets.loss_chart import LossChart
from tuitune.tui.widgets.run_stats import RunStats
from tuitune.tui.widgets.series_chart import SeriesChart

CRASHED = ("the worker ended without finishing (killed, or out of memory?); worker.log may say why. "
           "r resumes from the last checkpoint.")
TABS = ("tab-charts", "tab-events", "tab-probes", "tab-log")
MAX_EVENTS = 500
PHASES = {"loading_model": "loading model", "training": "training", "resuming": "resuming",
          "exporting": "exporting", "stopping": "stopping"}


class RunScreen(AppScreen):
    """One run, followed live from its directory."""

    POLL_SECONDS = 0.25

    BINDINGS = [
        Binding("escape", "close", "Back", id="run.back", tooltip="Back to the previous screen"),
        *run_bindings("run", "stop", "resume", "export", "chat", "label", hidden=("label",)),
        Binding("right_square_bracket", "tab(1)", "Next tab", id="run.next_tab",
                tooltip="Charts → events → probes → worker.log (left/right on the tabs too)"),
        Binding("left_square_bracket", "tab(-1)", "Previous tab", id="run.previous_tab", show=False,
                tooltip="worker.log → probes → events → charts"),
        Binding("enter", "show_event", "Whole event", id="run.event",
                tooltip="The event under the cursor, whole (the probe answers, the guided choices…)"),
        Binding("l", "full_log", "Full log", id="run.log", tooltip="All of worker.log on the whole screen, searchable"),
        open_binding("run"),
        Binding("b", "data_rows", "Data rows", id="run.rows", show=False,
                tooltip="Every row the run trains and validates on, and those left out with their reasons; searchable"),
    ]

    def __init__(self, run: RunDir) -> None:
        super().__init__()
        self.run = run
        self.status = ""
        self.phase = ""
        self.error: str | None = None
        self.events: list[str] = []
        """The whole text of each event in the events list, in its order."""
        self.probes: dict[str, dict] = {}
        """The latest probe event of the base model ("base") and of the model in training ("latest")."""
        self.attempt_seq = -1
        """The sequence number of the latest attempt's ``started`` event: steps before it are the old attempt's."""
        self.export = ExportProgress()

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="run-view"):
            yield Static(Text.assemble((self.run.id, "bold"), "   ", (str(self.run.path), "dim")), id="run-title")
            yield RunStats(id="stats")
            yield Static("", id="error")
            with TabbedContent(id="run-tabs", initial=TABS[0]):
                with TabPane("charts", id="tab-charts"):
                    yield LossChart(id="chart")
                    with Horizontal(id="small-charts"):
                        yield SeriesChart("learning rate", ["lr"], id="lr-chart")
                        yield SeriesChart("grad norm", ["grad norm"], id="grad-chart")
                        yield SeriesChart("tokens/s", ["tokens/s"], id="speed-chart")
                        yield SeriesChart("VRAM GiB", ["allocated", "reserved", "used"], hide_empty=True,
                                          id="vram-chart")
                        yield SeriesChart("power W · °C", ["power W", "temp °C"], hide_empty=True, id="power-chart")
                        yield SeriesChart("DPO rewards", ["margin", "reward acc"], hide_empty=True, id="reward-chart")
                with TabPane("events", id="tab-events"):
                    yield OptionList(id="events")
                with TabPane("probes", id="tab-probes"), VerticalScroll(id="probes-box"):
                    yield Static(NO_PROBES, id="probes")
                with TabPane("worker.log", id="tab-log"):
                    yield Log(id="worker-log", max_lines=300, highlight=False)
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = f"run {self.run.id}"
        self.query_one("#worker-log", Log).border_title = "worker.log (l: all of it, searchable)"
        self.query_one("#error", Static).display = False
        self.follow()

    @work(thread=True, exclusive=True, exit_on_error=False, group="tail")
    def follow(self) -> None:
        """Poll the run's files until the screen goes away; post what changed."""
        from tuitune.tui.gpu_memory import GpuMemory

        worker = get_current_worker()
        tail = RunTail(self.run)
        gpu = GpuMemory()
        failing = False
        last_step, pid, next_gpu_read = 0, None, 0.0
        while not worker.is_cancelled:
            if not self.run.path.exists():  # deleted (from the runs table, the palette, by hand)
                self.post_message(RunGone())
                return
            try:
                batch = tail.poll()
            except OSError as e:  # e.g. the run's folder was deleted or is unreadable: say so once
                if not failing:
                    self.post_message(ActionFailed(f"cannot read run {self.run.id}: {e}"))
                failing = True
                time.sleep(1.0)
                continue
            failing = False
            if batch.events:
                self.post_message(RunEventsRead(batch.events))
            if batch.steps or batch.evals:
                train = [(e["step"], e["loss"]) for e in batch.steps if e.get("loss") is not None]
                evals = [(e["step"], e["loss"]) for e in batch.evals if e.get("loss") is not None]
                self.post_message(LossPointsRead(train, evals))
            if batch.steps:
                self.post_message(StepLogged(batch.steps[-1]))
            points = series_points(batch.steps + [e for e in batch.events if e.get("type") in ("vram", "power")],
                                   last_step)
            last_step = batch.steps[-1]["step"] if batch.steps else last_step
            if batch.state is not None:
                pid = batch.state.pid if batch.status in ("running", "stopping") else None
            if pid is not None and time.monotonic() >= next_gpu_read:  # NVML: device-wide, every 2 s
                next_gpu_read = time.monotonic() + 2.0
                used = gpu.used_bytes(pid)
                if used is not None:
                    points.setdefault("used", []).append((last_step, used / 2**30))
            if points:
                self.post_message(SeriesPointsRead(points))
            if batch.state is not None and batch.status is not None:
                self.post_message(RunStateRead(batch.state, batch.status))
            if batch.log_lines is not None:
                self.post_message(WorkerLogRead(batch.log_lines))
            time.sleep(self.POLL_SECONDS)

    @on(StepLogged)
    def _step(self, message: StepLogged) -> None:
        event = message.event
        if event.get("seq", 0) < self.attempt_seq:  # replayed with the batch that holds the resume
            event = {**event, "eta_s": None}
        self.query_one(RunStats).show_step(event)
        self._total_steps(message.event.get("total_steps"))

    def _total_steps(self, total: int | None) -> None:
        """One step axis for every chart."""
        self.query_one(LossChart).set_total_steps(total)
        for chart in self.query(SeriesChart):
            chart.set_total_steps(total)

    @on(LossPointsRead)
    def _points(self, message: LossPointsRead) -> None:
        self.query_one(LossChart).add_points(message.train, message.eval)
        if message.eval:
            self.query_one(RunStats).show_eval(message.eval[-1][1])

    @on(SeriesPointsRead)
    def _series(self, message: SeriesPointsRead) -> None:
        for chart in self.query(SeriesChart):
            chart.add_points(message.points)

    @on(RunEventsRead)
    def _events(self, message: RunEventsRead) -> None:
        lines: list[list[str]] = []
        for event in message.events:
            kind = event.get("type")
            if kind == "started":
                self.error = None
                self.attempt_seq = int(event.get("seq", 0))
                self.query_one(RunStats).forget_eta()
            elif kind == "status":
                self.phase = PHASES.get(event.get("status", ""), str(event.get("status")))
                if event.get("status") == "training" and event.get("total_steps"):
                    self.query_one(RunStats).show_progress(event.get("step", 0), event["total_steps"])
                    self._total_steps(event["total_steps"])
            elif kind == "error":
                self.error = str(event.get("message"))
            elif kind == "finished":
                self.phase = ""
            elif kind == "warning" and event.get("code") == "throttling":  # heat or power slows the card
                self.notify(str(event.get("message")), title="GPU throttling", severity="warning", markup=False,
                            timeout=10)
            elif kind == "probe":
                self.probes["base" if event.get("label") == "base" else "latest"] = event
            elif kind == "eval" and "perplexity" in event:  # continued pretraining's held-out perplexity
                self.query_one(RunStats).show_perplexity(event["perplexity"])
            text = log_lines(event)
            if text:
                lines.append(text)
        self._add_events(lines)
        if self.export.feed(message.events):
            self.query_one(RunStats).show_export(self.export.summary() if self.export.running else None)
        if any(e.get("type") == "probe" for e in message.events):
            self.query_one("#probes", Static).update(probes_text(self.probes))
        self._show_status()

    def _add_events(self, texts: list[list[str]]) -> None:
        """Each event one entry, its first line wrapped (details behind enter); the list follows
        the newest unless the cursor was moved up."""
        if not texts:
            return
        events = self.query_one("#events", OptionList)
        follow = events.highlighted is None or events.highlighted >= events.option_count - 1
        for lines in texts:
            self.events.append("\n".join(lines))
            more = len(lines) - 1
            events.add_option(Text.assemble(lines[0], (f"  (+{more} lines: enter)" if more else "", "dim")))
        while events.option_count > MAX_EVENTS:
            events.remove_option_at_index(0)
            del self.events[0]
        if follow:
            events.highlighted = events.option_count - 1

    @on(RunStateRead)
    def _state(self, message: RunStateRead) -> None:
        self.status = message.status
        if message.status == "crashed":
            self.phase = ""
        if message.status in ("failed", "unreadable") and message.state.message and not self.error:
            self.error = message.state.message
        self._show_status()

    @on(WorkerLogRead)
    def _log(self, message: WorkerLogRead) -> None:
        log = self.query_one("#worker-log", Log)
        follow = log.is_vertical_scroll_end  # keep following the end unless the user scrolled up
        log.clear()
        log.write_lines(message.lines, scroll_end=False)
        if follow:
            log.scroll_end(animate=False, immediate=True, x_axis=False)

    def _show_status(self) -> None:
        self.query_one(RunStats).show_status(self.status or "…", self.phase)
        error = self.error
        if self.status == "crashed":
            error = f"{error}\n{CRASHED}" if error else CRASHED
        box = self.query_one("#error", Static)
        box.display = bool(error)
        box.update(Text.assemble(("error: ", "bold"), error) if error else "")

    def _act(self, verb_name: str, done: str) -> None:
        from tuitune.tui import launch

        try:
            getattr(launch, verb_name)(self.run, self.app.processes)
        except launch.user_errors() as e:
            self.notify(str(e), markup=False, severity="error", timeout=8)
            return
        self.notify(done)

    def action_stop_run(self) -> None:
        self._act("stop", "asked the worker to stop after its current step")

    def action_resume_run(self) -> None:
        self._act("resume", "resuming from the last checkpoint")

    def action_export_run(self) -> None:
        self.app.open_export(self.run.id)

    def action_chat(self) -> None:
        self.app.open_chat(self.run.id)

    def action_evaluate(self) -> None:
        self.app.push_screen(EvalScreen([self.run]))
    def action_label_run(self) -> None:
        self.app.label_run(self.run.id)

    def action_close(self) -> None:
        self.dismiss()

    # -- tabs, events and the log ----------------------------------------------------------

    def action_tab(self, delta: int) -> None:
        tabs = self.query_one("#run-tabs", TabbedContent)
        tabs.active = TABS[(TABS.index(tabs.active) + delta) % len(TABS)]

    @on(TabbedContent.TabActivated, "#run-tabs")
    def _tab_shown(self, message: TabbedContent.TabActivated) -> None:
        # The events list takes the focus where it is shown, so that up/down/enter act on it.
        if message.pane.id == "tab-events":
            self.call_after_refresh(self.query_one("#events").focus)
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "show_event":
            return self.query_one("#run-tabs", TabbedContent).active == "tab-events"
        return True

    def action_show_event(self) -> None:
        index = self.query_one("#events", OptionList).highlighted
        if index is not None and index < len(self.events):
            self._show_event(index)

    @on(OptionList.OptionSelected, "#events")
    def _event_selected(self, message: OptionList.OptionSelected) -> None:
        self._show_event(message.option_index)

    def _show_event(self, index: int) -> None:
        from tuitune.tui.screens.text_dialog import TextDialog

        self.app.push_screen(TextDialog(f"event {index + 1} of {len(self.events)}", self.events[index]))

    def action_data_rows(self) -> None:
        from tuitune.tui.screens.rows import RowsScreen, run_rows

        self.app.push_screen(RowsScreen(f"run {self.run.id}", run_rows(self.run.path)))

    def action_full_log(self) -> None:
        from tuitune.tui.screens.log import LogScreen

        self.app.push_screen(LogScreen(self.run))


NO_PROBES = ("No probe answers yet. The worker asks the probe prompts ([eval] probes, else the first validation "
             "rows) before training and at each evaluation; base and latest answers show here.")


def probes_text(probes: dict[str, dict]) -> Text:
    """Each probe prompt, then the base model's answer and the latest one, wrapped whole."""
    base, latest = probes.get("base"), probes.get("latest")
    if base is None and latest is None:
        return Text(NO_PROBES, style="dim")
    answers: dict[str, dict[str, str]] = {}
    for side, event in (("base", base), ("latest", latest)):
        for a in (event or {}).get("answers") or []:
            answers.setdefault(str(a.get("prompt")), {})[side] = str(a.get("answer"))
    text = Text()
    latest_label = f"{latest.get('label')} at step {latest.get('step')}" if latest else ""
    for prompt, said in answers.items():
        text.append(f"{prompt}\n", style="bold")
        text.append("  base     ", style="dim")
        text.append(f"{said.get('base', '(not asked)')}\n")
        text.append("  latest   ", style="dim")
        text.append(f"{said['latest']}  " if "latest" in said else "(no evaluation yet)  ")
        text.append(f"({latest_label})\n\n" if "latest" in said else "\n\n", style="dim")
    return text


def log_lines(event: dict) -> list[str]:
    """The event log's lines for an event: its text after the clock time, detail lines under it."""
    text = describe(event)
    if text is None:
        return []
    stamp = time.strftime("%H:%M:%S", time.localtime(event.get("ts", 0)))
    first, *details = text.split("\n")
    return [f"{stamp}  {first}", *(f"{'':{len(stamp)}}  {line}" for line in details)]
