"""Remapped keys: ``$TUITUNE_HOME/keys.toml`` maps binding ids (``?`` in the app lists them)
to keys, for example::

    [keys]
    "runs.delete" = "D"
    "app.quit" = "ctrl+q"

UI-free; the app applies the result with ``App.set_keymap`` and shows the problems.
"""

from __future__ import annotations

import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def keymap_file() -> Path:
    from tuitune.paths import tuitune_home

    return tuitune_home() / "keys.toml"


def binding_ids() -> set[str]:
    """Every binding id of the app and its screens."""
    from textual.binding import Binding
    from textual.dom import DOMNode

    from tuitune.tui.app import TuituneApp
    from tuitune.tui.screens import chat, compare, confirm, doctor, eval, export, help, home, log, new_run, run, runs, text_dialog

    owners: list[type[DOMNode]] = [
        TuituneApp, chat.ChatScreen, compare.CompareScreen, confirm.ConfirmDialog, doctor.DoctorScreen, eval.EvalScreen,
        export.ExportScreen,
        help.HelpScreen, home.HomeScreen, new_run.NewRunScreen, run.RunScreen, runs.RunsScreen,
        log.LogScreen, text_dialog.TextDialog,
    ]
    return {b.id for owner in owners for b in Binding.make_bindings(owner.BINDINGS) if b.id}


def load_keymap(path: Path | None = None) -> tuple[dict[str, str], list[str]]:
    """(binding id → keys, problems); no file means no changes and no problems."""
    path = path or keymap_file()
    if not path.is_file():
        return {}, []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        return {}, [f"{path}: not read ({e}); the default keys apply"]
    table = data.get("keys")
    if not isinstance(table, dict):
        return {}, [f"{path}: expected a [keys] table of \"binding.id\" = \"key\"; the default keys apply"]
    known = binding_ids()
    keymap, problems = {}, []
    for binding_id, keys in table.items():
        if binding_id not in known:
            problems.append(f"{path}: unknown binding id {binding_id!r} (press ? in the app to see the ids)")
        elif not isinstance(keys, str) or not keys.strip():
            problems.append(f"{path}: {binding_id!r} needs a key as a string, e.g. \"ctrl+d\"")
        else:
            keymap[binding_id] = keys.strip()
    return keymap, problems
