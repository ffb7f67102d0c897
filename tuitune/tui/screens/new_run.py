"""Set up a run: pick a preset, see it resolved, change a few keys (each with its help from the
preset schema), save it as a preset file and launch it — the file reruns headless with
``tuitune run``."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, DataTable, Footer, Header, Input, Label, Select, Static

from tuitune.preset import Preset
from tuitune.tui import preset_form

FIELD_IDS = {key: "f-" + key.replace(".", "-") for key in preset_form.EDITABLE}


class NewRunScreen(Screen):
    """A preset, four editable keys, its resolved TOML and every key's help."""

    BINDINGS = [
        Binding("ctrl+s", "save", "Save preset", id="new.save", tooltip="Write the preset to $TUITUNE_HOME/presets"),
        Binding("ctrl+l", "launch", "Save + launch", id="new.launch", tooltip="Save, then start a run of it"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.files = preset_form.preset_files()
        self.help = preset_form.key_help()
        self.preset: Preset | None = None
        self.problems = ""
        self.source: Path | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="new-run"):
            with VerticalScroll(id="new-run-form"):
                yield Label("preset file")
                yield Select([(p.name, str(p)) for p in self.files], id="preset", allow_blank=False,
                             value=str(self.files[0]) if self.files else Select.NULL)
                for key, field_id in FIELD_IDS.items():
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
        else:
            self.guidance = preset_form.guidance(preset)
            guided = f"\n# guided: {self.guidance.summary}" if self.guidance else ""
            box.update(Text(preset_form.render(preset) + guided))

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
