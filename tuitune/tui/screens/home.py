"""The first screen: what this machine has, the latest runs, and one key to try the CPU demo."""

from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Footer, Header, Static

from tuitune.tui.messages import DoctorRead, HardwareRead, RunsListed
from tuitune.tui.screens.base import AppScreen
from tuitune.tui.widgets.runs_table import RunsTable

INTRO = (
    "[b]tuitune[/b] fine-tunes open LLMs on one GPU (or the CPU), from a preset file to a GGUF.\n"
    "[b]d[/b] starts the CPU demo (SmolLM2-135M learns to talk like a pirate, a few minutes on 2 cores); "
    "[b]2[/b] lists all runs, [b]3[/b] sets up a new one, [b]?[/b] shows every key."
)


class HomeScreen(AppScreen):
    """Hardware summary, recent runs, and the demo key."""

    BINDINGS = [
        Binding("d", "start_demo", "Start CPU demo", id="home.demo",
                tooltip="Create a run from presets/demo-cpu.toml, start its worker and watch it"),
        Binding("enter", "open_run", "Open run", id="home.open", show=False,
                tooltip="Open the run under the cursor"),
        Binding("i", "doctor", "Install check", id="home.doctor",
                tooltip="Every check of `tuitune doctor`: GPU, torch, bitsandbytes, llama.cpp, disk, memory"),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        with Vertical(id="home"):
            yield Static(INTRO, id="intro")
            yield Static("Hardware", classes="section-title")
            yield Static("reading hardware…", id="hardware")
            yield Static("install: checking…", id="doctor-line")
            yield Static("Recent runs", classes="section-title")
            yield Static("", id="training")
            yield RunsTable(limit=8, interval=2.0, id="recent")
            yield Static("", id="no-runs")
        yield Footer()

    pointed = False
    """Whether the cursor was put on a training run once (after that it is the user's)."""

    def on_mount(self) -> None:
        self.sub_title = "home"
        self.query_one("#training").display = False
        self.call_after_refresh(self.read_hardware)
        self.call_after_refresh(self.check_install)
        self.set_interval(5.0, self.read_hardware)  # memory, temperature and processes change

    @work(thread=True, exclusive=True, exit_on_error=False, group="hardware")
    def read_hardware(self) -> None:
        from tuitune.tui.hardware_info import summary

        self.post_message(HardwareRead(summary()))

    @work(thread=True, exclusive=True, exit_on_error=False, group="doctor")
    def check_install(self) -> None:
        from tuitune.doctor.checks import diagnose

        self.post_message(DoctorRead(diagnose(quick=True)))

    @on(DoctorRead)
    def _doctor_read(self, message: DoctorRead) -> None:
        from tuitune.doctor.report import summary

        self.query_one("#doctor-line", Static).update(Text(f"install: {summary(message.checks)} (i: the full check)"))

    def action_doctor(self) -> None:
        from tuitune.tui.screens.doctor import DoctorScreen

        self.app.push_screen(DoctorScreen())

    @on(HardwareRead)
    def _hardware_read(self, message: HardwareRead) -> None:
        self.query_one("#hardware", Static).update(Text("\n".join(message.lines)))

    @on(RunsListed)
    def _runs_listed(self, message: RunsListed) -> None:
        hint = "" if message.rows else "No runs yet. Press d to start the CPU demo."
        self.query_one("#no-runs", Static).update(hint)
        # Reopened while a worker trains: say so first, with the one key that goes there.
        training = [r for r in message.rows if r.status in ("running", "stopping")]
        line = self.query_one("#training", Static)
        line.display = bool(training)
        if not training:
            return
        table = self.query_one(RunsTable)
        if not self.pointed:
            self.pointed = True
            table.move_cursor(row=[r.id for r in table.rows_shown].index(training[0].id), animate=False)
        under = table.selected_run_id
        which = "" if len(training) == 1 else f" (the one under the cursor: {under})"
        count = "1 run training" if len(training) == 1 else f"{len(training)} runs training"
        line.update(Text(f"{count} — enter to watch{which}"))

    @on(DataTable.RowSelected, "#recent")
    def _row_selected(self, message: DataTable.RowSelected) -> None:
        self.app.open_run(str(message.row_key.value))

    def action_open_run(self) -> None:
        run_id = self.query_one(RunsTable).selected_run_id
        if run_id:
            self.app.open_run(run_id)

    def action_start_demo(self) -> None:
        self.app.action_start_demo()
