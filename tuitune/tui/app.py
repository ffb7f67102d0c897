"""The Textual app: modes (home, runs, new run), global keys, the command palette, and the
worker processes it started. Screens hold the UI; the work is done by the core and by workers.

Run it with ``python -m tuitune.tui`` (or ``tuitune`` with no arguments, once wired).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from textual import on, work
from textual.app import App, SystemCommand
from textual.await_complete import AwaitComplete
from textual.binding import Binding
from textual.screen import Screen
from textual.widget import AwaitMount

from tuitune.tui.commands import RunCommands
from tuitune.tui.launch import WorkerProcesses
from tuitune.tui.messages import ActionFailed, RunLaunched
from tuitune.tui.screens.home import HomeScreen


def _runs_screen() -> Screen:
    from tuitune.tui.screens.runs import RunsScreen

    return RunsScreen()


def _new_run_screen() -> Screen:
    from tuitune.tui.screens.new_run import NewRunScreen

    return NewRunScreen()


class TuituneApp(App):
    """tuitune in the terminal."""

    TITLE = "tuitune"
    CSS_PATH = Path(__file__).parent / "app.tcss"
    MODES = {"home": HomeScreen, "runs": _runs_screen, "new": _new_run_screen}
    DEFAULT_MODE = "home"
    COMMANDS = App.COMMANDS | {RunCommands}
    BINDINGS = [
        Binding("1", "switch_mode('home')", "Home", id="app.home", tooltip="Hardware, recent runs, the demo"),
        Binding("2", "switch_mode('runs')", "Runs", id="app.runs", tooltip="Every run, with stop/resume/export/delete"),
        Binding("3", "new_run", "New run", id="app.new",
                tooltip="Set up a run from a preset (asks whether to go on with one left unfinished)"),
        Binding("question_mark,f1", "help", "Keys", id="app.help",
                tooltip="Every key on this screen (f1 also works while typing)"),
        Binding("ctrl+t", "toggle_dark", "Light/dark", id="app.theme", tooltip="Switch the light and dark theme"),
        Binding("q", "quit", "Quit", id="app.quit", tooltip="Leave; running workers go on, reopen to re-attach"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.processes = WorkerProcesses()
        self.previous_mode = "home"
        """The mode before the current one: where escape on a mode's first screen goes back to."""

    def on_mount(self) -> None:
        from tuitune.tui.settings import load_settings

        theme = load_settings().get("theme")
        if isinstance(theme, str) and theme in self.available_themes:
            self.theme = theme
        # Subscribed after the remembered theme is set: ctrl+t and the palette's theme picker both land here.
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        self.set_interval(1.0, self.processes.reap)
        self.call_after_refresh(self.apply_keymap)  # after the first frame: it imports the run store

    def apply_keymap(self) -> None:
        """Keys remapped in $TUITUNE_HOME/keys.toml; problems are shown, defaults stay."""
        from tuitune.tui.keymap import keymap_file, load_keymap

        if not keymap_file().is_file():
            return
        keymap, problems = load_keymap()
        self.set_keymap(keymap)
        for problem in problems:
            self.notify(problem, markup=False, severity="warning", timeout=15)

    def switch_mode(self, mode: str) -> AwaitMount:
        if mode != self.current_mode:
            self.previous_mode = self.current_mode
        return super().switch_mode(mode)

    def leave_mode(self) -> None:
        """Leave a mode's first screen for the mode it was entered from (home from home's own)."""
        back = self.previous_mode if self.previous_mode != self.current_mode else "home"
        self.switch_mode(back)

    def action_command_palette(self) -> None:
        from tuitune.tui.palette import CommandPalette

        if self.use_command_palette and not CommandPalette.is_open(self):
            self.push_screen(CommandPalette())

    def action_new_run(self) -> None:
        """The wizard: a fresh one, or the one left unfinished if the user wants to go on with it."""
        from tuitune.tui.screens.confirm import ConfirmDialog

        stack = self._screen_stacks.get("new")
        draft = stack[0] if stack else None
        if self.current_mode == "new" or draft is None or not getattr(draft, "is_draft", False):
            self.switch_mode("new")
            return

        async def answered(go_on: bool | None) -> None:
            if not go_on:
                await self.reset_wizard()
            self.switch_mode("new")

        self.push_screen(ConfirmDialog("Go on with the new run you were setting up?", yes="Go on (y)",
                                       no="Start afresh (n)", danger=False), answered)

    def reset_wizard(self) -> AwaitComplete:
        """Forget the wizard's screen (and any screen above it): the next 3 builds a fresh one."""
        if self.current_mode == "new" or "new" not in self._screen_stacks:
            return AwaitComplete.nothing()
        done = self.remove_mode("new")
        self.add_mode("new", _new_run_screen)
        return done

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        from tuitune.tui.commands import app_commands

        yield from app_commands(self)
        yield from super().get_system_commands(screen)

    def open_run(self, run_id: str) -> None:
        """Push the run view of ``run_id`` on the current mode (the wizard's launches open under Runs)."""
        from tuitune.runs.store import RunStoreError, find_run
        from tuitune.tui.screens.run import RunScreen

        try:
            run = find_run(run_id)
        except RunStoreError as e:
            self.notify(str(e), markup=False, severity="error")
            return
        self.push_screen(RunScreen(run))

    def open_export(self, run_id: str) -> None:
        """Push the export screen of a finished run (a notification says why not otherwise)."""
        from tuitune.runs.actions import check_exportable
        from tuitune.tui.launch import user_errors
        from tuitune.tui.screens.export import ExportScreen

        try:
            from tuitune.runs.store import find_run

            run = find_run(run_id)
            check_exportable(run)
            screen = ExportScreen(run)
        except user_errors() as e:
            self.notify(str(e), markup=False, severity="error", timeout=8)
            return
        self.push_screen(screen)

    def open_chat(self, ref: str, compare: bool = False) -> None:
        """Push a chat with a run's result, a .gguf file or a model folder (it loads in a thread)."""
        from tuitune.tui.screens.chat import ChatScreen

        self.push_screen(ChatScreen(ref, compare))

    def label_run(self, run_id: str) -> None:
        """Ask for the run's name and note, and store them (``tuitune runs name|note``)."""
        from tuitune.runs.label import read_label
        from tuitune.runs.store import find_run
        from tuitune.tui.launch import user_errors
        from tuitune.tui.screens.label import LabelDialog

        try:
            run = find_run(run_id)
        except user_errors() as e:
            self.notify(str(e), markup=False, severity="error")
            return

        def answered(label: tuple[str, str] | None) -> None:
            from tuitune.runs import actions

            if label is None:
                return
            try:
                actions.label(run, name=label[0], note=label[1])
            except user_errors() as e:
                self.notify(str(e), markup=False, severity="error", timeout=8)
                return
            self.notify(f"run {run_id}: name and note kept", markup=False, timeout=3)

        self.push_screen(LabelDialog(run_id, read_label(run.path)), answered)

    def act_on_run(self, verb: str, run_id: str) -> None:
        """stop / resume / delete (after asking) a run by id: the palette's run entries."""
        from tuitune.runs.store import find_run
        from tuitune.tui import launch
        from tuitune.tui.screens.confirm import ConfirmDialog

        def act(yes: bool | None = True) -> None:
            if not yes:
                return
            try:
                getattr(launch, verb)(find_run(run_id), self.processes)
            except launch.user_errors() as e:
                self.notify(str(e), markup=False, severity="error", timeout=8)
                return
            self.notify(f"{verb}: run {run_id}", markup=False)
            if verb == "resume":
                self.open_run(run_id)

        if verb == "delete":
            self.push_screen(ConfirmDialog(f"Delete run {run_id} and all its files?"), act)
        else:
            act()

    def action_help(self) -> None:
        from tuitune.tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def _theme_changed(self, theme: object) -> None:
        from tuitune.tui.settings import save_setting

        save_setting("theme", self.theme)

    def action_toggle_dark(self) -> None:
        self.theme = "textual-light" if self.current_theme.dark else "textual-dark"

    def action_start_demo(self) -> None:
        """``tuitune demo``: the CPU demo preset, watched in its run view."""
        from tuitune.tui.launch import demo_preset_path

        self.notify("starting the CPU demo…", timeout=3)
        self.launch_preset(demo_preset_path())

    @work(thread=True, exit_on_error=False, group="launch")
    def launch_preset(self, path: str | Path, overrides: list[str] | None = None, queue: bool | None = None) -> None:
        """``tuitune run PRESET`` in a thread (preflight reads the data); opens the run view. While
        another run trains on the same device it first asks whether to queue this one after it
        (``queue`` is the answer: ``tuitune run --queue``, or start both now)."""
        from tuitune.runs.actions import Queued
        from tuitune.tui.launch import launch, launch_queued, training_on, user_errors

        try:
            if queue is None and (busy := training_on(path, overrides)) is not None:
                self.call_from_thread(self._ask_queue, path, overrides, busy)
                return
            outcome = launch_queued(path, self.processes, overrides) if queue else launch(path, self.processes, overrides)
        except user_errors() as e:
            self.post_message(ActionFailed(f"cannot start {Path(path).name}: {e}"))
            return
        if isinstance(outcome, Queued):
            self.call_from_thread(self.notify, f"run {outcome.run.id} queued: place {outcome.position}, it starts "
                                  f"after {outcome.behind or 'the run before it'} (runs table: [ ] u)", markup=False)
            return
        self.post_message(RunLaunched(outcome.run.id, outcome.warnings))

    def _ask_queue(self, path: str | Path, overrides: list[str] | None, busy: str) -> None:
        from tuitune.tui.screens.confirm import ConfirmDialog

        question = (f"Run {busy} is training on this device. Queue the new run to start when it finishes? "
                    "(Starting both now makes them share the device: slower, and on a GPU they may not fit.)")
        def answered(answer: bool | None) -> None:
            self.launch_preset(path, overrides, queue=bool(answer))

        self.push_screen(ConfirmDialog(question, yes="Queue it (y)", no="Start now (n)", danger=False), answered)

    @on(RunLaunched)
    async def _launched(self, message: RunLaunched) -> None:
        for warning in message.warnings:
            self.notify(warning, markup=False, severity="warning", timeout=15)
        # A launched run lives under Runs, never stacked on the wizard that set it up: escape
        # then shows the runs table, and the next 3 starts a fresh wizard, not the old review.
        if self.current_mode != "runs":
            await self.switch_mode("runs")
            while len(self.screen_stack) > 1:
                await self.pop_screen()
        await self.reset_wizard()
        self.open_run(message.run_id)

    @on(ActionFailed)
    def _failed(self, message: ActionFailed) -> None:
        self.notify(message.text, markup=False, severity="error", timeout=15)


def main() -> None:
    TuituneApp().run()


if __name__ == "__main__":
    main()
