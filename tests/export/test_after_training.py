"""Training and export are independent packages: the training worker runs the preset's
[export] as a child process (`python -m tuitune.export RUN_DIR --after-training`) while it
keeps the run, and the event stream stays what the fronts read — one closing `finished`
event from the training worker, with `export=passed|failed`."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO, read_state, run_dir_from, tuitune, write_preset
from tuitune.events import read_events

PACKAGE = REPO / "tuitune"


def imported_modules(folder: Path) -> dict[str, set[str]]:
    """Every module each file of ``folder`` imports, at the top or inside a function."""
    found = {}
    for path in folder.rglob("*.py"):
        names = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                names |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
        found[str(path.relative_to(PACKAGE))] = names
    return found


@pytest.mark.parametrize("package,forbidden", [("train", "tuitune.export"), ("export", "tuitune.train")])
def test_train_and_export_never_import_each_other(package, forbidden):
    offenders = {path: sorted(n for n in names if n == forbidden or n.startswith(forbidden + "."))
                 for path, names in imported_modules(PACKAGE / package).items()}
    assert {p: n for p, n in offenders.items() if n} == {}


def test_after_training_export_refuses_a_run_no_worker_holds(tuitune_home):
    from tuitune.models.bundled import presets_dir
    from tuitune.preset import load_preset
    from tuitune.runs.store import create_run

    run = create_run(load_preset(presets_dir() / "demo-cpu.toml"))
    run.update_state(status="done")
    result = subprocess.run([sys.executable, "-m", "tuitune.export", str(run.path), "--after-training"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 3
    assert "--after-training is for the training worker" in result.stderr and f"tuitune export {run.id}" in result.stderr
    assert read_events(run.events) == [] and not (run.path / "gguf").exists()


@pytest.mark.slow
def test_an_export_killed_after_training_leaves_a_done_run_and_one_closing_event(
        tmp_path, tiny_model_dir, small_data, monkeypatch):
    """The export child dies (SIGKILL as it starts converting): the training worker, which
    still holds the run, says so and closes the stream with `finished`, export=failed; the
    run stays done (its training result is whole) and `tuitune export` can start again."""
    monkeypatch.setenv("TUITUNE_FAULT", "kill_in_export:stage=convert")
    preset = write_preset(tmp_path / "p.toml", tiny_model_dir, small_data, train={"max_steps": 2},
                          export={"gguf": ["q8_0"], "ollama": False})
    result = tuitune("run", str(preset), "--json")
    run = run_dir_from(result.stderr)
    assert result.returncode == 0, result.stderr[-2000:]
    events = read_events(run / "events.jsonl")
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(set(seqs)), "one sequence across the worker and its export child"
    finished = [e for e in events if e["type"] == "finished"]
    assert len(finished) == 1 and finished[0] == events[-1]
    assert finished[0]["status"] == "done" and finished[0]["export"] == "failed"
    stages = [e["stage"] for e in events if e["type"] == "export" and e["state"] == "done"]
    assert stages == ["merge"]  # written by the child, before it was killed
    (error,) = [e["message"] for e in events if e["type"] == "error"]
    assert "the export process died (killed by SIGKILL)" in error and f"tuitune export {run.name}" in error
    assert read_state(run)["status"] == "done"
    assert "Traceback" not in result.stderr
