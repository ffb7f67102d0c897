"""Set up a run on one page, top to bottom: a preset to start from, the model (bundled demo, the
Hugging Face cache, local folders, or a typed hub id / path), the data file (what was
detected; ctrl+o adds the cleaning report, token lengths and a loss-mask preview), method and
hyperparameters (each with its help from the preset schema) beside a memory bar that follows
every edit and the planner's recommendation (ctrl+r applies it), then the resolved preset to
review, save (ctrl+s) and launch (ctrl+l). The saved file reruns headless with ``tuitune run``."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, DataTable, Footer, Header, Input, Label, Select, Static

from tuitune.preset import Preset
from tuitune.tui import preset_form
from tuitune.tui.messages import DataInspected, MemoryPlanned, ModelsFound

FIELD_IDS = {key: "f-" + key.replace(".", "-") for key in preset_form.EDITABLE}


class NewRunScreen(Screen):
    """A preset, four editable keys, its resolved TOML and every key's help."""

    BINDINGS = [
        Binding("ctrl+s", "save", "Save preset", id="new.save", tooltip="Write the preset to $TUITUNE_HOME/presets"),
        Binding("ctrl+l", "launch", "Save + launch", id="new.launch", tooltip="Save, then start a run of it"),
        Binding("ctrl+r", "apply_recommendation", "Use plan", id="new.recommend",
                tooltip="Put the planner's recommended method, batch, sequence length and rank in the form"),
        Binding("ctrl+o", "data_details", "Data details", id="new.data",
                tooltip="Cleaning report, token lengths and a loss-mask preview (loads the tokenizer in a subprocess)"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.files = preset_form.preset_files()
        self.help = preset_form.key_help()
        self.preset: Preset | None = None
        self.problems = ""
        self.source: Path | None = None
        from tuitune.tui.wizard import MemoryPlanner

        self.planner = MemoryPlanner()
        self.recommended: list[str] = []
        self.memory_view = None
        self._data_key: tuple[str, str] | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="new-run"):
            with VerticalScroll(id="new-run-form"):
                yield Label("preset file")
                yield Select([(p.name, str(p)) for p in self.files], id="preset", allow_blank=False,
                             value=str(self.files[0]) if self.files else Select.NULL)
                for key, field_id in FIELD_IDS.items():
                    if key == "model.path":
                        yield Label("model: pick one, or type a hub id or folder below")
                        yield Select([], id="model-choice", prompt="models found on this machine")
                    yield Label(key)
                    if key == "train.method":
                        yield Select([(m, m) for m in preset_form.METHODS], id=field_id, allow_blank=False)
                    else:
                        yield Input(id=field_id, placeholder="(default)")
                yield Label("save as (name)")
                yield Input(id="save-name")
                with Horizontal(id="new-run-buttons"):
                    yield Button("Save", id="save")
                    yield Button("Launch", id="launch", variant="success")
                yield Static("", id="field-help")
            with Vertical(id="new-run-side"):
                yield Static("", id="memory")
                with VerticalScroll(id="data-box"):
                    yield Static("", id="data-info")
                with VerticalScroll(id="preset-toml-box"):
                    yield Static("", id="preset-toml")
                yield DataTable(id="key-help", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "new run"
        for key, field_id in FIELD_IDS.items():
            type_name, default, text = self.help.get(key, ("", "", ""))
            self.query_one(f"#{field_id}").tooltip = f"{key} ({type_name}, default {default})\n{text}"
        self.query_one("#preset-toml-box").border_title = "resolved preset (what will run)"
        self.query_one("#key-help").border_title = "every key (tuitune keys)"
        self.query_one("#memory").border_title = "GPU memory (planner estimate)"
        self.query_one("#data-box").border_title = "data (ctrl+o: details)"
        self.find_models()
        table = self.query_one("#key-help", DataTable)
        table.add_columns("key", "default", "help")
        table.add_rows([(k, Text(_short(d, 14)), Text(_short(h, 110))) for k, (_t, d, h) in self.help.items()])
        if self.files:
            self._load(Path(self.files[0]))
        else:
            self.query_one("#preset-toml", Static).update("no preset files found")

    def _load(self, path: Path) -> None:
        """Fill the form from a preset file (its own values, unedited)."""
        from tuitune.tui.launch import user_errors

        self.source = path
        self.query_one("#save-name", Input).value = f"{path.stem}-custom"
        try:
            preset = preset_form.build(path, {})
        except user_errors() as e:
            self._show(None, str(e))
            return
        for key, value in preset_form.values_of(preset).items():
            widget = self.query_one(f"#{FIELD_IDS[key]}")
            widget.value = value
        self._show(preset, "")

    def edits(self) -> dict[str, str]:
        return {key: str(self.query_one(f"#{fid}").value) for key, fid in FIELD_IDS.items()}

    def _rebuild(self) -> None:
        from tuitune.tui.launch import user_errors

        assert self.source is not None
        try:
            self._show(preset_form.build(self.source, self.edits()), "")
        except user_errors() as e:
            self._show(None, str(e))

    def _show(self, preset: Preset | None, problems: str) -> None:
        self.preset, self.problems = preset, problems
        box = self.query_one("#preset-toml", Static)
        if preset is None:
            box.update(Text.assemble(("not valid:\n", "bold red"), problems))
            return
        from tuitune.model_files import safety_warnings

        warnings = [(f"warning: {w}\n", "bold yellow") for w in safety_warnings(preset)]
        self.guidance = preset_form.guidance(preset)
        guided = f"\n# guided: {self.guidance.summary}" if self.guidance else ""
        box.update(Text.assemble(*warnings, preset_form.render(preset) + guided))
        self.plan_memory(preset)
        key = (str(preset.data.path), preset.data.format)
        if key != self._data_key:
            self._data_key = key
            self.query_one("#data-info", Static).update(Text("reading the data…", style="dim"))
            self.inspect_data(preset)

    @work(thread=True, exclusive=True, exit_on_error=False, group="models")
    def find_models(self) -> None:
        from tuitune.tui.wizard import model_choices

        self.post_message(ModelsFound(model_choices()))

    @on(ModelsFound)
    def _models_found(self, message: ModelsFound) -> None:
        self.query_one("#model-choice", Select).set_options(message.choices)

    @on(Select.Changed, "#model-choice")
    def _model_picked(self, message: Select.Changed) -> None:
        if message.value is not Select.NULL:
            self.query_one(f"#{FIELD_IDS['model.path']}", Input).value = str(message.value)

    @work(thread=True, exclusive=True, exit_on_error=False, group="memory")
    def plan_memory(self, preset: Preset) -> None:
        self.post_message(MemoryPlanned(self.planner.plan(preset)))

    @on(MemoryPlanned)
    def _memory_planned(self, message: MemoryPlanned) -> None:
        from tuitune.tui.wizard import memory_bar

        view = message.view
        self.memory_view = view
        self.recommended = view.overrides
        text = Text()
        if view.problem:
            text.append(view.problem, style="yellow")
        else:
            style = "bold red" if view.fits is False else "bold green"
            text.append(memory_bar(view) + "\n", style=style)
            text.append("  ".join(f"{k} {v / 2**30:.2f}" for k, v in view.breakdown.items()) + " GiB\n", style="dim")
            text.append("planner: ", style="bold")
            text.append(view.recommendation + " (ctrl+r applies it)")
        text.append(f"\n{view.gpu_text}", style="dim")
        self.query_one("#memory", Static).update(text)

    @work(thread=True, exclusive=True, exit_on_error=False, group="data")
    def inspect_data(self, preset: Preset) -> None:
        from tuitune.tui.launch import user_errors
        from tuitune.tui.wizard import data_summary

        try:
            self.post_message(DataInspected(data_summary(preset), ok=True))
        except user_errors() as e:
            self.post_message(DataInspected([str(e)], ok=False))

    @work(thread=True, exclusive=True, exit_on_error=False, group="data")
    def inspect_data_details(self, preset: Preset) -> None:
        from tuitune.tui.launch import user_errors
        from tuitune.tui.wizard import data_details, data_summary

        try:
            self.post_message(DataInspected(data_summary(preset) + data_details(preset), ok=True))
        except (*user_errors(), TimeoutError) as e:
            self.post_message(DataInspected([str(e)], ok=False))

    @on(DataInspected)
    def _data_inspected(self, message: DataInspected) -> None:
        self.query_one("#data-info", Static).update(
            Text("\n".join(message.lines), style="" if message.ok else "bold red"))

    def action_data_details(self) -> None:
        if self.preset is None:
            self.notify(f"fix the preset first:\n{self.problems}", markup=False, severity="error", timeout=8)
            return
        self.query_one("#data-info", Static).update(
            Text("loading the tokenizer for token statistics and the loss-mask preview…", style="dim"))
        self.inspect_data_details(self.preset)

    def action_apply_recommendation(self) -> None:
        """Fill the form's fields from the planner's choice (other keys it sets are shown only)."""
        if not self.recommended:
            self.notify("no recommendation yet (the planner needs a valid preset and a known model)", severity="warning")
            return
        applied = []
        for item in self.recommended:
            key, _, value = item.partition("=")
            if key in FIELD_IDS:
                self.query_one(f"#{FIELD_IDS[key]}").value = value.strip('"')
                applied.append(f"{key}={value}")
        self.notify("applied " + ", ".join(applied), markup=False)

    @on(Select.Changed, "#preset")
    def _preset_picked(self, message: Select.Changed) -> None:
        if message.value is not Select.NULL:
            self._load(Path(str(message.value)))

    @on(Input.Changed)
    @on(Select.Changed)
    def _field_changed(self, message: Input.Changed | Select.Changed) -> None:
        if message.control.id in FIELD_IDS.values() and self.source is not None:
            self._rebuild()

    def on_descendant_focus(self, event) -> None:  # type: ignore[no-untyped-def]
        key = next((k for k, fid in FIELD_IDS.items() if fid == event.widget.id), None)
        if key:
            type_name, default, text = self.help.get(key, ("", "", ""))
            choice = getattr(self, "guidance", None) and self.guidance.choices.get(key)
            why = f"\n{'tuitune chooses' if choice.auto else 'now'}: {choice.value} — {choice.reason}" if choice else ""
            self.query_one("#field-help", Static).update(Text.assemble((key, "bold"), f" ({type_name}, default {default})\n{text}{why}"))

    @on(Button.Pressed, "#save")
    def action_save(self) -> Path | None:
        if self.preset is None or self.source is None:
            self.notify(f"fix the preset first:\n{self.problems}", markup=False, severity="error", timeout=8)
            return None
        try:
            path = preset_form.save(self.preset, self.query_one("#save-name", Input).value, self.source)
        except OSError as e:
            self.notify(f"cannot save: {e}", markup=False, severity="error")
            return None
        self.notify(f"saved {path}", markup=False)
        return path

    @on(Button.Pressed, "#launch")
    def action_launch(self) -> None:
        path = self.action_save()
        if path is not None:
            self.app.launch_preset(path)


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
