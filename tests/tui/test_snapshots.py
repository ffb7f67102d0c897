"""Snapshots of the main screens at a fixed size (110×36), as plain text: what a user sees,
compared line by line with tests/tui/snapshots/*.txt.

Machine-dependent parts are fixed or masked so the files are the same everywhere: the
hardware summary and the GPU the planner reads are stand-ins, run ids are fixed, and clock
times, dates and folder paths are replaced by placeholders.

After an intended change of a screen, rewrite the files and review the diff:

    TUITUNE_UPDATE_SNAPSHOTS=1 pytest tests/tui/test_snapshots.py
    git diff tests/tui/snapshots/
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

import pytest

from tests.helpers import REPO
from tests.tui.support import REPORT, canned_run, pilot_test, write_export
from tests.waits import steady, until
from tuitune.tui.app import TuituneApp

SIZE = (110, 36)
SNAPSHOTS = Path(__file__).parent / "snapshots"


@pytest.fixture(autouse=True)
def same_machine_everywhere(monkeypatch):
    monkeypatch.setattr("tuitune.tui.hardware_info.summary",
                        lambda: ["CPU   Test CPU, 2 cores", "RAM   16.0 GiB", "GPU   none: (test); training runs on the CPU"])
    monkeypatch.setattr("tuitune.tui.wizard.MemoryPlanner.gpu", lambda self: (None, False, "no GPU: (test)"))


def fixed_run(run_id: str, **kwargs):
    """A canned run renamed to a stable id."""
    from tuitune.runs.store import RunDir

    run = canned_run(**kwargs)
    target = run.path.parent / run_id
    run.path.rename(target)
    return RunDir(target)


def screen_text(app, home: Path) -> str:
    """The screen as text, with what differs between machines and moments masked."""
    lines = [strip.text.rstrip() for strip in app.screen._compositor.render_strips()]
    text = "\n".join(lines)
    for path, name in ((str(home), "$TUITUNE_HOME"), (str(REPO), "$REPO")):
        text = text.replace(path, name)
    # pytest's temporary folders (a path may be cut at the edge of a box): its root is where
    # the root of the pytest-N numbered folders is, which depends on the user and TMPDIR.
    text = re.sub(re.escape(str(home.parents[2])) + r"[^\s│]*", "$TMP", text)
    text = re.sub(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", "YYYY-MM-DD HH:MM", text)
    return re.sub(r"\b\d{2}:\d{2}:\d{2}\b", "HH:MM:SS", text)


async def check(pilot, app, home: Path, name: str) -> None:
    """The screen matches the stored snapshot. Repaints land asynchronously (the footer
    last, on a loaded machine), so the screen is read again for a few seconds until it matches;
    a real difference still fails, showing the last screen read."""
    path = SNAPSHOTS / f"{name}.txt"
    if os.environ.get("TUITUNE_UPDATE_SNAPSHOTS") or not path.exists():
        path.write_text(await steady(pilot, lambda: screen_text(app, home), what=f"screen {name}") + "\n",
                        encoding="utf-8")
        if not os.environ.get("TUITUNE_UPDATE_SNAPSHOTS"):
            pytest.fail(f"{path.name} did not exist and was written: review it, then rerun")
        return
    expected = path.read_text(encoding="utf-8").rstrip("\n")
    with contextlib.suppress(AssertionError):  # the comparison below shows the difference
        await until(pilot, lambda: screen_text(app, home) == expected, timeout=10, what=f"screen {name}")
    assert screen_text(app, home) == expected, (f"screen {name} differs from {path}; if the change is intended: "
                                                "TUITUNE_UPDATE_SNAPSHOTS=1 pytest tests/tui/test_snapshots.py")


async def settle(pilot, predicate, what: str) -> None:
    await until(pilot, predicate, timeout=10, what=what)


@pilot_test
async def test_snapshots_home_runs_and_help(tuitune_home):
    fixed_run("20260101-120000-demo-cpu-aaaa", status="done", steps=12)
    fixed_run("20260101-130000-demo-cpu-bbbb", status="failed", steps=6, total=12, error="out of memory (test)")
    app = TuituneApp()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: app.screen.query_one("#recent").row_count == 2
                     and "Test CPU" in str(app.screen.query_one("#hardware").render()), "home")
        await check(pilot, app, tuitune_home, "home")
        await pilot.press("2")
        await settle(pilot, lambda: type(app.screen).__name__ == "RunsScreen" and app.screen.query_one("#runs").row_count == 2,
                     "runs")
        await check(pilot, app, tuitune_home, "runs")
        await pilot.press("question_mark")
        await settle(pilot, lambda: type(app.screen).__name__ == "HelpScreen", "help")
        await check(pilot, app, tuitune_home, "help-runs")


@pilot_test
async def test_snapshots_run_view_export_and_chat(tuitune_home):
    run = fixed_run("20260101-120000-demo-cpu-aaaa", status="done", steps=24, evals_every=6, quants=["q8_0", "q4_k_m"])
    app = TuituneApp()
    async with app.run_test(size=SIZE) as pilot:
        app.open_run(run.id)
        await settle(pilot, lambda: type(app.screen).__name__ == "RunScreen" and app.screen.query("#chart")
                     and len(app.screen.query_one("#chart").train) == 24 and app.screen.query_one("#worker-log").lines,
                     "run view")
        await check(pilot, app, tuitune_home, "run-view")
        await pilot.press("escape")
        write_export(run, {**REPORT, "files": [{**f, "path": str(run.path / "gguf" / Path(f["path"]).name)}
                                               for f in REPORT["files"]],
                           "modelfile": {"path": str(run.path / "gguf" / "Modelfile"), "for": "q8_0"}})
        app.open_export(run.id)
        await settle(pilot, lambda: type(app.screen).__name__ == "ExportScreen" and app.screen.report is not None,
                     "export report")
        await check(pilot, app, tuitune_home, "export")
        await pilot.press("escape")
        app.open_chat(run.id)  # its export failed verification and it has no adapter: nothing to chat with
        await settle(pilot, lambda: type(app.screen).__name__ == "ChatScreen" and app.screen.query("#chat-title")
                     and "cannot chat" in str(app.screen.query_one("#chat-title").render()), "chat error")
        await check(pilot, app, tuitune_home, "chat-unavailable")


@pilot_test
async def test_snapshot_new_run(tuitune_home):
    app = TuituneApp()
    async with app.run_test(size=(140, 44)) as pilot:
        await pilot.press("3")
        await settle(pilot, lambda: type(app.screen).__name__ == "NewRunScreen" and app.screen.memory_view is not None
                     and "200 rows" in str(app.screen.query_one("#data-info").render()), "new run")
        await check(pilot, app, tuitune_home, "new-run")
