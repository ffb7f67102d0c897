"""The new-run wizard, in four steps (ctrl+n / ctrl+b, or the tabs):

1. Model: a preset to start from, then the model (bundled demo, the Hugging Face cache, local
   folders, or a typed hub id / path) with what the planner reads from its config.
2. Data: a data file (bundled, found nearby, or typed), what was detected, then the cleaning
   report, token-length histogram and a loss-mask preview (computed in a subprocess, which
   loads the tokenizer).
3. Method: stage, method and hyperparameters, each with its help from the preset schema,
   beside a memory bar that follows every edit. Where the preset leaves the method to tuitune
   and a GPU is here, the planner's recommendation is filled in with its reason (ctrl+r puts
   it in at any time).
4. Review: the resolved preset that will run, saved (ctrl+s) as a file ``tuitune run`` reads,
   and launched (ctrl+l).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, cast

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Footer, Header, Input, Label, Select, Static, TabbedContent, TabPane

from tuitune.preset import Preset, key_summary
from tuitune.preset.schema import PREFERENCE_STAGES
from tuitune.tui import preset_form
from tuitune.tui.messages import DataFilesFound, DataMeasured, MemoryPlanned, ModelsFound
from tuitune.tui.method_note import method_note
from tuitune.tui.screens.base import AppScreen
from tuitune.tui.widgets.data_panel import DataPanel
from tuitune.tui.widgets.memory_panel import MemoryPanel
from tuitune.tui.widgets.toml_editor import TomlEdited, TomlEditor

if TYPE_CHECKING:
    from tuitune.tui.wizard import MemoryView

FIELD_IDS = {key: "f-" + key.replace(".", "-") for key in preset_form.EDITABLE}
STEPS = ("step-model", "step-data", "step-method", "step-review")
FIRST_FIELD = {"step-model": "#f-model-path", "step-data": "#f-data-path", "step-method": "#f-train-stage",
               "step-review": "#launch"}
SELECTS = {key: preset_form.select_options(key) for key in preset_form.SELECT_KEYS}


class NewRunScreen(AppScreen):
    """Model → data → method → review, over one preset file and the form's edits of it."""

    AUTO_FOCUS = "#steps Tabs"
    """The step tabs, not a field: keys typed while the wizard opens (a second 3, then 1) must
    act as the app's keys, never land in model.path."""

    BINDINGS = [
        Binding("escape", "leave", "Back", id="new.back_out",
                tooltip="Leave the field being edited (the step tabs get the focus); from there, leave the wizard "
                        "(3 offers to go on with it)"),
        Binding("ctrl+n", "step(1)", "Next step", id="new.next", tooltip="Go to the next step"),
        Binding("ctrl+b", "step(-1)", "Back", id="new.back", tooltip="Go to the previous step"),
        Binding("ctrl+s", "save", "Save preset", id="new.save", tooltip="Write the preset to $TUITUNE_HOME/presets"),
        Binding("ctrl+l", "launch", "Save + launch", id="new.launch", tooltip="Save, then start a run of it"),
        Binding("ctrl+r", "apply_recommendation", "Use plan", id="new.recommend",
                tooltip="Put the planner's recommended method, batch, sequence length and rank in the form"),
        Binding("ctrl+o", "data_details", "Data details", id="new.data",
                tooltip="Recompute the cleaning report, token histogram and loss-mask preview"),
        Binding("f2", "edit_toml", "Edit TOML", id="new.toml", show=False,
                tooltip="Edit the preset as TOML on the review step, validated as you type; f2 again puts it in the form"),
        Binding("ctrl+g", "data_rows", "Data rows", id="new.rows", show=False,
                tooltip="Every row of the data as the run would clean and split it, the left-out ones with their reasons"),
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
        self.memory_view: MemoryView | None = None
        self.guidance = None
        self.loaded: dict[str, str] = {}
        """The form's fields as the preset file gives them (what counts as the user's edit)."""
        self.plan_extra: dict[str, str] = {}
        """Keys of an applied plan that the form has no field for (grad_accum, checkpointing…)."""
        from tuitune.tui.wizard import PlanFill

        self.plan_fill = PlanFill()
        self.opened: dict[str, str] = {}
        """What edits() gave as the preset was opened (what is_draft compares with)."""
        self.editing = False
        """The review step's TOML is being edited: it is the preset (the form waits until f2)."""

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="new-run"):
            with TabbedContent(id="steps", initial=STEPS[0]):
                with TabPane("1 Model", id="step-model"), VerticalScroll(classes="step"):
                    yield Label("start from a preset")
                    yield Select([(p.name, str(p)) for p in self.files], id="preset", allow_blank=False,
                                 value=str(self.files[0]) if self.files else Select.NULL)
                    yield Label("model: pick one, or type a hub id or folder below")
                    yield Select([], id="model-choice", prompt="models found on this machine")
                    yield from self._fields("model.path")
                    yield Static("", id="model-info")
                    yield Button("Next: data →", classes="next")
                with TabPane("2 Data", id="step-data"), VerticalScroll(classes="step"):
                    yield Label("data: pick a file, or type a path or hf:ORG/NAME below")
                    yield Select([], id="data-choice", prompt="data files found here")
                    yield from self._fields("data.path", "data.format")
                    yield DataPanel()
                    yield Button("Next: method →", classes="next")
                with TabPane("3 Method", id="step-method"), VerticalScroll(classes="step"):
                    yield Static("", id="plan-note")
                    yield from self._fields(*(k for k in FIELD_IDS if k.split(".")[0] in ("train", "lora", "dpo")))
                    yield Static("", id="method-note")
                    yield Static("", id="cadence")
                    yield Button("Next: review →", classes="next")
                with TabPane("4 Review", id="step-review"), Vertical(classes="step"):
                    with VerticalScroll(id="preset-toml-box"):
                        yield Static("", id="preset-toml")
                    yield TomlEditor(id="toml-editor")
                    with Horizontal(id="new-run-buttons"):
                        yield Label("save as")
                        yield Input(id="save-name")
                        yield Button("Save", id="save")
                        yield Button("Launch", id="launch", variant="success")
            with Vertical(id="new-run-side"):
                yield MemoryPanel("", id="memory")
                yield Static("", id="field-help")
        yield Footer()

    def _fields(self, *keys: str) -> ComposeResult:
        """One line per key: its name, then a compact field."""
        for key in keys:
            with Horizontal(classes="field"):
                yield Label(key)
                if key in SELECTS:
                    yield Select([(v, v) for v in SELECTS[key]], id=FIELD_IDS[key], allow_blank=False, compact=True)
                else:
                    yield Input(id=FIELD_IDS[key], placeholder="(default)", compact=True)

    def on_mount(self) -> None:
        self.sub_title = "new run"
        for key, field_id in FIELD_IDS.items():
            type_name, default, text = self.help.get(key, ("", "", ""))
            self.query_one(f"#{field_id}").tooltip = f"{key} ({key_summary(type_name, default)})\n{text}"
        self.query_one("#preset-toml-box").border_title = "the preset that will run (f2: edit it as TOML)"
        self.query_one("#field-help").border_title = "help"
        self.query_one("#field-help", Static).update(Text(
            "ctrl+n next step · ctrl+b back · tab moves between fields.\n"
            "A field's help shows here when it has the focus.", style="dim"))
        self.query_one("#toml-editor").display = False
        self.find_choices()
        if self.files:
            self._load(Path(self.files[0]))
        else:
            self.query_one("#preset-toml", Static).update("no preset files found")

    # -- steps ---------------------------------------------------------------------------

    def action_leave(self) -> None:
        tabs = self.query_one("#steps Tabs")
        if self.focused is not None and self.focused is not tabs:
            tabs.focus()
        else:
            self.app.leave_mode()

    @property
    def is_draft(self) -> bool:
        """Whether the form holds work of the user's: edits to the preset, or another preset picked."""
        if self.source is None:
            return False
        first = Path(self.files[0]) if self.files else None
        return self.source != first or self.edits() != {**self.opened, **self.plan_extra} or bool(self.plan_extra)

    def action_step(self, delta: int) -> None:
        steps = self.query_one("#steps", TabbedContent)
        step = STEPS[max(0, min(len(STEPS) - 1, STEPS.index(steps.active) + delta))]
        self.set_focus(None)  # else hiding the focused field moves the focus on its own, racing ours
        steps.active = step
        self.call_after_refresh(self._focus_step, step)

    def _focus_step(self, step: str, tries: int = 10) -> None:
        # Focusing a widget in another pane switches TabbedContent to it: a step left behind
        # by a quick second ctrl+n must not pull the wizard back.
        if self.query_one("#steps", TabbedContent).active != step:
            return
        target = self.query_one(FIRST_FIELD[step])
        if target.focusable:
            target.focus()
        elif tries:  # the pane is not shown yet: focus() would be ignored
            self.set_timer(0.02, lambda: self._focus_step(step, tries - 1))

    @on(Button.Pressed, ".next")
    def _next_pressed(self) -> None:
        self.action_step(1)

    @on(TabbedContent.TabActivated)
    def _step_shown(self, message: TabbedContent.TabActivated) -> None:
        panel = self.query_one(DataPanel)
        panel.follow = message.pane.id == "step-data"
        if panel.follow:
            panel.details_if_stale()

    # -- the preset ----------------------------------------------------------------------

    def _load(self, path: Path) -> None:
        """Fill the form from a preset file (its own values, unedited)."""
        from tuitune.tui.launch import user_errors

        self.source = path
        self.plan_extra = {}
        self.query_one("#save-name", Input).value = f"{path.stem}-custom"
        try:
            preset = preset_form.build(path, {})
        except user_errors() as e:
            self._show(None, str(e))
            return
        self.plan_fill.start(preset)
        self.loaded = preset_form.values_of(preset)
        for key, value in self.loaded.items():
            self._field(key).value = value
        self.opened = self.edits()
        self._show(preset, "")

    def _field(self, key: str) -> Input | Select[str]:
        """The form's field for a preset key: a text input, or a select for keys with choices."""
        return cast("Input | Select[str]", self.query_one(f"#{FIELD_IDS[key]}"))

    def edits(self) -> dict[str, str]:
        form = {key: str(self._field(key).value) for key in FIELD_IDS}
        return {**self.plan_extra, **preset_form.rederived(form, self.loaded)}

    def _rebuild(self) -> None:
        from tuitune.tui.launch import user_errors

        assert self.source is not None
        if self.editing:  # the TOML being edited is the preset until f2 puts it in the form
            return
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
        from tuitune.models.files import safety_warnings

        warnings = [(f"warning: {w}\n", "bold yellow") for w in safety_warnings(preset)]
        self.guidance = preset_form.guidance(preset)
        guided = f"\n# guided: {self.guidance.summary}" if self.guidance else ""
        box.update(Text.assemble(*warnings, preset_form.render(preset) + guided))
        # The preference keys mean nothing to an SFT run: out of sight, not just greyed out.
        beta = self.query_one(f"#{FIELD_IDS['dpo.beta']}").parent
        beta.display = preset.train.stage in PREFERENCE_STAGES  # type: ignore[union-attr]
        self.query_one("#cadence", Static).update(Text(preset_form.cadence_text(preset, self.guidance), style="dim"))
        self.query_one("#method-note", Static).update(method_note(preset, self.guidance))
        self.plan_memory(preset)
        self.query_one(DataPanel).show(preset)

    @on(Select.Changed, "#preset")
    def _preset_picked(self, message: Select.Changed) -> None:
        if message.value is not Select.NULL:
            self._load(Path(str(message.value)))

    @on(Input.Changed)
    @on(Select.Changed)
    def _field_changed(self, message: Input.Changed | Select.Changed) -> None:
        if message.control.id in FIELD_IDS.values() and self.source is not None:
            self._rebuild()

    def on_descendant_focus(self, event) -> None:
        key = next((k for k, fid in FIELD_IDS.items() if fid == event.widget.id), None)
        if key:
            type_name, default, text = self.help.get(key, ("", "", ""))
            choice = self.guidance and self.guidance.choices.get(key)
            why = f"\n\n{'tuitune chooses' if choice.auto else 'now'}: {choice.value} — {choice.reason}" if choice else ""
            self.query_one("#field-help", Static).update(
                Text.assemble((key, "bold"), f" ({key_summary(type_name, default)})\n{text}{why}"))

    # -- model and data choices ----------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="choices")
    def find_choices(self) -> None:
        from tuitune.tui.wizard import data_choices, model_choices

        self.post_message(ModelsFound(model_choices()))
        self.post_message(DataFilesFound(data_choices()))

    @on(ModelsFound)
    def _models_found(self, message: ModelsFound) -> None:
        self.query_one("#model-choice", Select).set_options(message.choices)

    @on(DataFilesFound)
    def _data_found(self, message: DataFilesFound) -> None:
        self.query_one("#data-choice", Select).set_options(message.choices)

    @on(Select.Changed, "#model-choice")
    def _model_picked(self, message: Select.Changed) -> None:
        if message.value is not Select.NULL:
            self.query_one(f"#{FIELD_IDS['model.path']}", Input).value = str(message.value)

    @on(Select.Changed, "#data-choice")
    def _data_picked(self, message: Select.Changed) -> None:
        if message.value is not Select.NULL:
            self.query_one(f"#{FIELD_IDS['data.path']}", Input).value = str(message.value)

    # -- memory and the planner ----------------------------------------------------------

    @work(thread=True, exclusive=True, exit_on_error=False, group="memory")
    def plan_memory(self, preset: Preset) -> None:
        from tuitune.tui.wizard import MemoryView

        try:
            view = self.planner.plan(preset)
        except Exception as e:  # noqa: BLE001 - a planner bug must show, not blank the panel
            view = MemoryView(problem=f"the planner failed: {type(e).__name__}: {e}")
        self.post_message(MemoryPlanned(view))

    @on(DataMeasured)
    def _data_measured(self, message: DataMeasured) -> None:
        from tuitune.tui.wizard import data_key

        self.planner.tokens[data_key(message.preset)] = message.tokens
        if self.preset is not None:
            self.plan_memory(self.preset)

    @on(MemoryPlanned)
    def _memory_planned(self, message: MemoryPlanned) -> None:
        view = message.view
        self.memory_view = view
        self.recommended = view.overrides
        self.query_one(MemoryPanel).show(view)
        self.query_one("#model-info", Static).update(Text(view.model_text or view.problem, style="dim"))
        self._prefill(view)

    def _prefill(self, view) -> None:
        note = self.query_one("#plan-note", Static)
        plan = f"{view.plan_text}. {view.recommendation}"
        state, fill = self.plan_fill.decide(view, self.preset.model.path if self.preset else None)
        if fill:
            self.apply_plan(view.overrides)
        if state == "filled":
            note.update(Text.assemble(("Filled in from the planner: ", "bold"), plan))
        elif state in ("preset", "no-gpu"):
            hint = ("The preset sets the method; ctrl+r applies the plan." if state == "preset" else
                    "No GPU here: tuitune chooses at run start (method auto); ctrl+r fills in the plan for the "
                    "reference card.")
            note.update(Text.assemble(("planner: ", "bold"), plan + "\n", (hint, "dim")))

    def apply_plan(self, overrides: list[str]) -> list[str]:
        """Put a plan in the form; keys without a field go into the preset as they are."""
        applied = []
        for item in overrides:
            key, _, value = item.partition("=")
            if key in FIELD_IDS:
                self._field(key).value = value.strip('"')
            else:
                self.plan_extra[key] = value
            applied.append(f"{key}={value}")
        self._rebuild()
        return applied

    def action_apply_recommendation(self) -> None:
        if not self.recommended:
            self.notify("no recommendation yet (the planner needs a valid preset and a known model)", severity="warning")
            return
        self.notify("applied " + ", ".join(self.apply_plan(self.recommended)), markup=False)

    def action_data_details(self) -> None:
        if self.preset is None:
            self.notify(f"fix the preset first:\n{self.problems}", markup=False, severity="error", timeout=8)
            return
        self.query_one(DataPanel).details()

    def action_data_rows(self) -> None:
        from tuitune.tui.screens.rows import RowsScreen, preset_rows

        if self.preset is None:
            self.notify(f"fix the preset first:\n{self.problems}", markup=False, severity="error", timeout=8)
            return
        self.app.push_screen(RowsScreen(str(self.preset.data.path), preset_rows(self.preset)))

    def action_edit_toml(self) -> None:
        """Open the TOML editor on the review step; pressed again, put a valid TOML in the form."""
        steps = self.query_one("#steps", TabbedContent)
        if steps.active != "step-review":
            steps.active = "step-review"
        editor = self.query_one(TomlEditor)
        if not self.editing:
            if self.preset is None or self.source is None:
                self.notify(f"fix the preset first:\n{self.problems}", markup=False, severity="error", timeout=8)
                return
            self.editing = True
            self.query_one("#preset-toml-box").display, editor.display = False, True
            editor.edit(preset_form.render(self.preset), str(self.source), self.source.resolve().parent)
            return
        if self.preset is None:
            self.notify(f"the TOML is not valid yet:\n{self.problems}", markup=False, severity="error", timeout=8)
            return
        name = self.query_one("#save-name", Input).value
        draft = preset_form.write_draft(self.preset, name)
        self.editing = False
        editor.display, self.query_one("#preset-toml-box").display = False, True
        self._load(draft)  # the form shows what the TOML says, and edits go on from there
        self.query_one("#save-name", Input).value = name
        self.notify("the edited TOML is the form's preset now", timeout=3)

    @on(TomlEdited)
    def _toml_edited(self, message: TomlEdited) -> None:
        self.preset, self.problems = message.preset, message.problems
        if message.preset is not None:
            self.plan_memory(message.preset)

    # -- save and launch -----------------------------------------------------------------

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
            self.query_one(DataPanel).cancel()  # the run needs the CPU more than the data panel does
            self.app.launch_preset(path)
