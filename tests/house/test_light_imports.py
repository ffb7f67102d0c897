"""The fronts and the core stay light: no torch, transformers, trl or peft on import, and
`tuitune --help` answers in well under half a second (importing torch alone takes over a second, so a
regression cannot hide under the limit)."""

import subprocess
import sys
import time

HEAVY = ("torch", "transformers", "trl", "peft", "datasets", "accelerate", "bitsandbytes")

LIGHT_MODULES = [
    "tuitune", "tuitune.cli.main", "tuitune.preset", "tuitune.events", "tuitune.runs.store",
    "tuitune.runs.workers", "tuitune.cli.display", "tuitune.errors", "tuitune.models.bundled",
    "tuitune.runs.checkpoints", "tuitune.data.loader", "tuitune.runs.preflight", "tuitune.tui.app", "tuitune.chat.session", "tuitune.chat.targets",
    "tuitune.cli.chat", "tuitune.cli.follow", "tuitune.__main__", "tuitune.cli.hardware", "tuitune.cli.data",
]


def test_core_and_fronts_import_nothing_heavy():
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in LIGHT_MODULES)
        + f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_help_and_version_parse_nothing_heavy():
    code = (
        "import sys\nfrom tuitune.cli.main import main\n"
        "for argv in (['--help'], ['--version'], ['keys']):\n"
        "    try:\n        main(argv)\n    except SystemExit:\n        pass\n"
        f"print('HEAVY', sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("HEAVY []")


def _best_of(n, argv):
    best = float("inf")
    for _ in range(n):
        start = time.perf_counter()
        subprocess.run(argv, capture_output=True, check=True)
        best = min(best, time.perf_counter() - start)
    return best


def test_help_is_fast():
    assert _best_of(3, [sys.executable, "-m", "tuitune", "--help"]) < 0.5
    assert _best_of(3, [sys.executable, "-m", "tuitune", "--version"]) < 0.5
