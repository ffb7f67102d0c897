"""The house rules that tools check (config in pyproject.toml), run by the one test command:
ruff (style, bugs, imports), mypy (strict on the preset, events, runs, paths and errors), and
import-linter (the layers of DESIGN.md; no cycle between subpackages; train and export
independent). Each prints what it found when it fails."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: pip install -e '.[test]' installs it")
    return found


@pytest.mark.parametrize("command", [
    ["ruff", "check", "--no-cache", "."],
    ["mypy"],
    ["lint-imports", "--no-cache"],
], ids=["ruff", "mypy", "import-linter"])
def test_the_tools_pass(command):
    result = subprocess.run([_tool(command[0]), *command[1:]], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
