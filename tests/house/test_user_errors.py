"""One user-error class: every error a person can cause and fix is a TuituneError, which every
front and worker catches; errors.py itself is the bottom layer and imports no package."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from tuitune.errors import TuituneError, explain, user_errors

USER_ERRORS = [
    ("tuitune.preset.load", "PresetError"),
    ("tuitune.data.loader", "DataError"),
    ("tuitune.models.files", "ModelFileError"),
    ("tuitune.models.bundled", "BundledNotFound"),
    ("tuitune.hardware.errors", "PlannerError"),
    ("tuitune.chat.backend", "ChatError"),
    ("tuitune.runs.store", "RunStoreError"),
    ("tuitune.runs.checkpoints", "CheckpointSaveError"),
    ("tuitune.runs.actions", "ActionRefused"),
    ("tuitune.train.oom", "OutOfMemory"),
    ("tuitune.weights.merge", "ExportError"),
    ("tuitune.weights.loading", "ModelLoadError"),
]


@pytest.mark.parametrize("module,name", USER_ERRORS, ids=[n for _, n in USER_ERRORS])
def test_every_user_error_is_a_tuitune_error(module, name):
    assert issubclass(getattr(importlib.import_module(module), name), TuituneError)


def test_errors_is_the_bottom_layer():
    code = "import sys, tuitune.errors\nprint(sorted(m for m in sys.modules if m.startswith('tuitune')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['tuitune', 'tuitune.errors']"


def test_the_cli_prints_every_problem_of_a_preset_on_its_own_line(capsys):
    from tuitune.preset import PresetError

    with pytest.raises(SystemExit) as exited, user_errors():
        raise PresetError("p.toml", ["key 'model': required", "key 'data': required"])
    assert exited.value.code == 2
    assert capsys.readouterr().err.splitlines() == ["error: p.toml: key 'model': required",
                                                    "error: p.toml: key 'data': required"]
    with pytest.raises(SystemExit), user_errors():
        raise TuituneError("run x is running; stop it first")
    assert capsys.readouterr().err == "error: run x is running; stop it first\n"
    with pytest.raises(ZeroDivisionError), user_errors():  # a bug stays a traceback
        1 / 0  # noqa: B018


def test_a_full_disk_is_said_as_one_and_other_os_errors_stay_tracebacks(capsys):
    import errno

    full = OSError(errno.ENOSPC, "No space left on device", "/runs/x/state.json")
    with pytest.raises(SystemExit) as exited, user_errors():
        raise full
    assert exited.value.code == 2
    assert capsys.readouterr().err == ("error: no space left on the disk holding /runs/x/state.json; "
                                       "free some space, then try again\n")
    assert explain(full) == "no space left on the disk holding /runs/x/state.json; free some space, then try again"
    with pytest.raises(PermissionError), user_errors():
        raise PermissionError(errno.EACCES, "Permission denied", "/etc/shadow")


def test_a_worker_explains_user_errors_as_their_message_and_the_rest_with_their_type():
    from tuitune.weights.merge import ExportError

    assert explain(ExportError("not enough free disk space")) == "not enough free disk space"
    assert explain(MemoryError()).startswith("out of memory")
    assert explain(KeyboardInterrupt()) == "interrupted"
    assert explain(ValueError("bad shape")) == "ValueError: bad shape (details in worker.log)"
