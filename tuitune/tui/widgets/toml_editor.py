"""The review step's preset as TOML, editable: every change is validated as ``tuitune check``
validates a file (:func:`tuitune.preset.parse_preset`, so the errors are the same lines, each
naming the key), and the screen hears the result (:class:`TomlEdited`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Static, TextArea


@dataclass
class TomlEdited(Message):
    """The editor's text as a preset: ``preset`` when valid, else None and ``problems``."""

    text: str
    preset: Any
    problems: str


class TomlEditor(Vertical):
    DEFAULT_CSS = """
    TomlEditor { height: 1fr; }
    TomlEditor TextArea { height: 1fr; }
    TomlEditor #toml-problems { height: auto; max-height: 8; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.source, self.base_dir = "<preset>", Path.cwd()

    def compose(self) -> ComposeResult:
        yield TextArea("", id="toml-text", soft_wrap=False, show_line_numbers=True)
        yield Static("", id="toml-problems")

    def edit(self, text: str, source: str, base_dir: Path) -> None:
        """Start editing ``text`` (relative paths in it resolve against ``base_dir``, as in the file)."""
        self.source, self.base_dir = source, base_dir
        self.query_one(TextArea).load_text(text)
        self.query_one(TextArea).focus()

    @property
    def text(self) -> str:
        return self.query_one(TextArea).text

    @on(TextArea.Changed, "#toml-text")
    def _changed(self) -> None:
        from tuitune.preset import PresetError, parse_preset

        text = self.text
        try:
            preset, problems = parse_preset(text, source=self.source, base_dir=self.base_dir), ""
        except PresetError as e:
            preset, problems = None, str(e)
        box = self.query_one("#toml-problems", Static)
        if preset is None:
            box.update(Text.assemble(("not valid (as tuitune check says):\n", "bold red"), problems))
        else:
            box.update(Text("valid · f2 puts it in the form · ctrl+s / ctrl+l save or launch it as it is",
                            style="green"))
        self.post_message(TomlEdited(text, preset, problems))
