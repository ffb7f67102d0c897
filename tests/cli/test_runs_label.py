"""`tuitune runs name|note`: a run's name and note, kept in its label.json, shown by list and show."""

from __future__ import annotations

import json

from tests.helpers import tuitune


def test_a_run_gets_a_name_and_a_note_and_list_and_show_print_them(tuitune_home):
    from tuitune.models.bundled import presets_dir
    from tuitune.preset import load_preset
    from tuitune.runs.store import create_run

    run = create_run(load_preset(presets_dir() / "demo-cpu.toml"))
    assert tuitune("runs", "name", run.id, "pirate v1").stdout.strip() == f"run {run.id}: name set"
    assert tuitune("runs", "note", run.id, "lr 5e-4\nlearned the signature").returncode == 0
    (row,) = [json.loads(line) for line in tuitune("runs", "list", "--json").stdout.splitlines()]
    assert row["name"] == "pirate v1" and row["note"] == "lr 5e-4\nlearned the signature"
    listed = tuitune("runs", "list").stdout
    assert "pirate v1" in listed and "lr 5e-4…" in listed
    shown = tuitune("runs", "show", run.id).stdout
    assert "name             pirate v1" in shown and "note             lr 5e-4\n                 learned the signature" in shown
    assert json.loads((run.path / "label.json").read_text()) == {"name": "pirate v1",
                                                                 "note": "lr 5e-4\nlearned the signature"}
    too_long = tuitune("runs", "name", run.id, "x" * 61)
    assert too_long.returncode == 2 and "at most 60 characters (this one has 61)" in too_long.stderr
    assert tuitune("runs", "name", run.id, "").stdout.strip() == f"run {run.id}: name removed"
    assert json.loads((run.path / "label.json").read_text())["name"] == ""
    assert tuitune("runs", "name", "nope", "x").returncode == 2
