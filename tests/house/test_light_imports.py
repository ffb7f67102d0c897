"""The fronts, the run layer and the core stay light: importing them leaves the training stack out
of ``sys.modules``. Only a fresh interpreter shows that a deferred import stays deferred, so each
check is a subprocess; import-linter (pyproject.toml) checks the import graph, this checks what
really gets loaded.

The modules are found by walking the package, not listed: a new module is checked the day it is
added. The workers are left out by the rule pyproject.toml's import-linter contract already
states ("the fronts start workers, they never import them"), read from there so the two cannot
drift: its source modules are the fronts, its forbidden tuitune packages the workers.
"""

from __future__ import annotations

import pkgutil
import sys
from pathlib import Path

import pytest

from tests.helpers import HEAVY, REPO, heavy_loaded_by

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - tomli is a dependency on 3.10
    import tomli as tomllib

DATA_HEAVY = (*HEAVY, "pyarrow", "datasketch", "numpy")
"""The data core promises more: its Parquet, datasets and near-duplicate readers load inside the
functions that need them."""


def front_contract() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(the fronts, the workers), from the import-linter contract that forbids one the other."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    for contract in config["tool"]["importlinter"]["contracts"]:
        if contract["type"] == "forbidden" and set(contract["source_modules"]) == {"tuitune.cli", "tuitune.tui"}:
            workers = tuple(m for m in contract["forbidden_modules"] if m.startswith("tuitune."))
            return tuple(contract["source_modules"]), workers
    raise AssertionError("pyproject.toml: no import-linter contract forbids the fronts (tuitune.cli, tuitune.tui) anything")


FRONTS, WORKERS = front_contract()


def walk(path: Path, prefix: str) -> list[str]:
    """Every module under ``path``, found on disk. (pkgutil.walk_packages would import each package
    to find its subpackages: collecting the tests must not import the worker packages.)"""
    names = []
    for info in pkgutil.iter_modules([str(path)]):
        name = prefix + info.name
        names.append(name)
        if info.ispkg:
            names += walk(path / info.name, name + ".")
    return names


def within(name: str, packages: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in packages)


MODULES = ["tuitune", *walk(REPO / "tuitune", "tuitune.")]
LIGHT = [m for m in MODULES if not within(m, WORKERS)]
FRONT = [m for m in LIGHT if within(m, FRONTS) or m == "tuitune.__main__"]  # python -m tuitune is the CLI
DATA = [m for m in LIGHT if within(m, ("tuitune.data",))]
CORE = [m for m in LIGHT if m not in FRONT and m not in DATA]
"""The run layer, the core, the shared modules and chat's light half: what the fronts import."""


def imports(modules: list[str]) -> str:
    return "".join(f"import {m}\n" for m in modules)


def test_the_walk_sorts_every_module_into_one_group():
    assert sorted(FRONT + DATA + CORE) == sorted(LIGHT) and len(set(LIGHT)) == len(LIGHT)
    assert {"tuitune.cli.main", "tuitune.tui.app", "tuitune.tui.screens.run"} <= set(FRONT)
    assert {"tuitune.runs.store", "tuitune.preset.schema", "tuitune.hardware.plan", "tuitune.chat.session",
            "tuitune.models.bundled", "tuitune.events", "tuitune.errors", "tuitune.paths"} <= set(CORE)
    assert "tuitune.data.readers" in DATA
    assert WORKERS and not {"tuitune.train.sft", "tuitune.export.gguf", "tuitune.weights.merge"} & set(LIGHT)


@pytest.mark.parametrize("module", FRONT)
def test_a_front_module_imports_nothing_heavy(module):
    """One process per front module: each must stand light on its own, not only after another
    module happened to defer the same import."""
    assert heavy_loaded_by(f"import {module}") == []


def test_the_core_and_the_run_layer_import_nothing_heavy():
    assert heavy_loaded_by(imports(CORE)) == []


def test_the_data_core_imports_nothing_heavy():
    assert heavy_loaded_by(imports(DATA), DATA_HEAVY) == []


def test_help_and_version_parse_nothing_heavy():
    code = (
        "from tuitune.cli.main import main\n"
        "for argv in (['--help'], ['--version'], ['keys']):\n"
        "    try:\n        main(argv)\n    except SystemExit:\n        pass\n"
    )
    assert heavy_loaded_by(code) == []


def test_inspect_without_a_model_stays_light(tmp_path):
    f = tmp_path / "d.jsonl"
    f.write_text('{"prompt": "q", "completion": "a"}\n')
    code = f"from tuitune.cli.data import main\nassert main(['data', 'inspect', {str(f)!r}, '--no-near-dedup']) == 0\n"
    assert heavy_loaded_by(code, DATA_HEAVY) == []
