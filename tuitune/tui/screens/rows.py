"""Every row of a dataset, browsable: the rows kept for training and validation and those left
out with their reasons (:mod:`tuitune.data.rows`), searched with ``/``, one set at a time with
``f``, ``enter`` showing a row whole. Opened from the run view (the run's ``data/``) and from the
wizard's data step (the data as the run would clean it, before any run). The rows are read in a
thread: a large file or a tokenizer takes seconds."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.widgets import DataTable, Footer, Header, Input, Static

from tuitune.data.rows import SPLITS, Row, search
from tuitune.tui.screens.base import AppScreen

FILTERS = (None, *reversed(SPLITS))  # all, then the rejected first: what a person looks for
TEXT_WIDTH = 200


@dataclass
class RowsRead(Message):
    rows: list[Row] | None
    error: str | None = None


class RowsScreen(AppScreen):
    """The rows ``load`` returns, in a table."""

    BINDINGS = [
        Binding("escape", "back", "Back", id="rows.back", tooltip="Clear the search, then leave"),
        Binding("slash", "search", "Search", id="rows.search", tooltip="Show only rows containing some text"),
        Binding("f", "next_set", "Set", id="rows.set", tooltip="All rows → rejected → validation → train"),
        Binding("enter", "show_row", "Whole row", id="rows.show", tooltip="The row under the cursor, whole"),
    ]

    def __init__(self, title: str, load: Callable[[], list[Row]]) -> None:
        super().__init__()
        self.title_text, self.load = title, load
        self.rows: list[Row] | None = None
        self.shown: list[Row] = []
        self.split: str | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(Text.assemble(("rows of ", "bold"), self.title_text, ("  reading…", "dim")), id="rows-title")
        yield Input(placeholder="search the rows, their place and the reasons (enter: done, escape: clear)",
                    id="rows-search")
        yield DataTable(id="rows-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "data rows"
        self.query_one("#rows-search").display = False
        table = self.query_one("#rows-table", DataTable)
        table.add_columns("set", "where", "why left out", "row")
        table.focus()
        self.read_rows()

    @work(thread=True, exclusive=True, exit_on_error=False, group="rows")
    def read_rows(self) -> None:
        from tuitune.tui.launch import user_errors

        try:
            self.post_message(RowsRead(self.load()))
        except user_errors() as e:
            self.post_message(RowsRead(None, str(e)))

    @on(RowsRead)
    def _read(self, message: RowsRead) -> None:
        if message.rows is None:
            self.query_one("#rows-title", Static).update(Text(f"cannot read the rows: {message.error}", style="bold red"))
            return
        self.rows = message.rows
        self._show()

    def _show(self) -> None:
        rows = self.rows or []
        query = self.query_one("#rows-search", Input).value
        self.shown = search(rows, query, self.split)
        counts = " · ".join(f"{sum(r.split == s for r in rows)} {s}" for s in SPLITS)
        showing = f"showing {len(self.shown)}" + (f" {self.split}" if self.split else "") + (
            f" matching {query!r}" if query.strip() else "")
        self.query_one("#rows-title", Static).update(Text.assemble(
            ("rows of ", "bold"), self.title_text, "   ", counts, "   ", (showing, "bold"),
            ("   f: one set · /: search · enter: whole row", "dim")))
        table = self.query_one("#rows-table", DataTable)
        table.clear()
        for n, row in enumerate(self.shown):
            first = row.text.replace("\n", " ⏎ ")
            style = "bold red" if row.split == "rejected" else ""
            table.add_row(Text(row.split, style=style), row.where, Text(row.reason, style="yellow"),
                          first[:TEXT_WIDTH] + ("…" if len(first) > TEXT_WIDTH else ""), key=str(n))

    def action_next_set(self) -> None:
        self.split = FILTERS[(FILTERS.index(self.split) + 1) % len(FILTERS)]
        self._show()

    def action_search(self) -> None:
        box = self.query_one("#rows-search", Input)
        box.display = True
        box.focus()

    @on(Input.Changed, "#rows-search")
    def _searched(self) -> None:
        self._show()

    @on(Input.Submitted, "#rows-search")
    def _search_done(self) -> None:
        box = self.query_one("#rows-search", Input)
        box.display = bool(box.value)
        self.query_one("#rows-table").focus()

    def action_back(self) -> None:
        box = self.query_one("#rows-search", Input)
        if box.value or box.has_focus:
            box.value, box.display = "", False
            self.query_one("#rows-table").focus()
            return
        self.dismiss()

    @on(DataTable.RowSelected, "#rows-table")
    def action_show_row(self) -> None:
        from tuitune.tui.screens.text_dialog import TextDialog

        table = self.query_one("#rows-table", DataTable)
        if not self.shown or not table.is_valid_row_index(table.cursor_row):
            return
        row = self.shown[table.cursor_row]
        head = f"{row.split}, {row.where}" + (f": left out, {row.reason}" if row.reason else "")
        self.app.push_screen(TextDialog(head, row.text))


def run_rows(run_path: object) -> Callable[[], list[Row]]:
    """The rows of a run's data folder, as its worker cleaned and split them."""
    from pathlib import Path

    from tuitune.data.rows import folder_rows

    def load() -> list[Row]:
        folder = Path(str(run_path)) / "data"
        if not (folder / "train.jsonl").exists() and not (folder / "rejected.jsonl").exists():
            raise FileNotFoundError(f"{folder} holds no rows yet: the worker writes them when the run starts")
        return folder_rows(folder)

    return load


def preset_rows(preset: object) -> Callable[[], list[Row]]:
    """The rows of a preset's data, cleaned and split as a run of it would (its tokenizer's
    token bounds included), before any run."""

    def load() -> list[Row]:
        from tuitune.data.pipeline import inspect
        from tuitune.data.rows import inspected_rows
        from tuitune.models.tokenizer import load_tokenizer
        from tuitune.runs.refs import readable_ref

        p: Any = preset  # a Preset: typed loosely so this module stays light to import
        tokenizer = load_tokenizer(readable_ref(p.model.path))
        _, rejected, train, val = inspect(p.data, tokenizer, seed=p.train.seed, max_seq_len=p.train.max_seq_len,
                                          on_error="skip")
        return inspected_rows(rejected, train, val)

    return load
