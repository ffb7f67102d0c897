"""Snapshots of the main screens at a fixed size (110×36), as plain text: what a user sees,
compared line by line with tests/tui/snapshots/*.txt.

What differs between machines is fixed, so the files are the same from any folder, machine or
moment: the hardware summary and the GPU the planner reads are stand-ins, run ids and the
folders the runs' events name are fixed, and clock times and dates are masked (at their own
width). A path of this machine on a screen fails the check: masked, it would still have moved
the layout.

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
from textual.widgets import Log, Static

from tests.helpers import REPO
from tests.tui.support import REPORT, canned_run, pilot_test, write_export
from tests.waits import steady, until
from tuitune.tui.app import TuituneApp

SIZE = (110, 36)
SNAPSHOTS = Path(__file__).parent / "snapshots"
FOLDER = "/home/user/.local/share/tuitune/runs/{}"
"""Where a run's files say it lies: where it would in a default TUITUNE_HOME on Linux, the same
length on every machine (this machine's folder would move the layout: see below)."""


@pytest.fixture(autouse=True)
def same_machine_everywhere(monkeypatch):
    monkeypatch.setattr("tuitune.tui.hardware_info.summary",
                        lambda: ["CPU   Test CPU, 2 cores", "RAM   16.0 GiB", "GPU   none: (test); training runs on the CPU"])
    monkeypatch.setattr("tuitune.tui.wizard.MemoryPlanner.gpu", lambda self: (None, False, "no GPU: (test)"))
    from tuitune.doctor.report import Check

    monkeypatch.setattr("tuitune.doctor.checks.diagnose", lambda model=None, quick=False: [
        Check("gpu", "skip", "no NVIDIA GPU: CPU training only (test)"), Check("torch", "skip", "not probed (test)"),
        Check("disk", "ok", "64.0 GiB free (test)")])


def fixed_run(run_id: str, **kwargs):
    """A canned run renamed to a stable id, its events naming a folder of the same length
    everywhere (where the run would lie in a default TUITUNE_HOME on Linux), not this machine's."""
    from tuitune.runs.store import RunDir

    run = canned_run(folder=FOLDER.format(run_id), **kwargs)
    target = run.path.parent / run_id
    run.path.rename(target)
    return RunDir(target)


def screen_text(app) -> str:
    """The screen as text, with the clock masked: times and dates keep their width, so the
    layout stays what the user sees."""
    lines = [strip.text.rstrip() for strip in app.screen._compositor.render_strips()]
    text = re.sub(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", "YYYY-MM-DD HH:MM", "\n".join(lines))
    return re.sub(r"\b\d{2}:\d{2}:\d{2}\b", "HH:MM:SS", text)


def everything_shown(app) -> str:
    """What the screen shows and what its widgets hold beyond their edges (a line scrolled out
    still takes its room, so it moves a scrollbar's thumb)."""
    held = [str(line) for log in app.screen.query(Log) for line in log.lines]
    # Not the run view's title: one line (height 1) naming the run's own folder, which wraps out
    # of sight when longer than the line (every pytest folder is: the test's name is in it), and
    # a line that cannot grow moves nothing. Were it short enough to show, the screen check fails.
    held += [str(static.content) for static in app.screen.query(Static) if static.id != "run-title"]
    return "\n".join([screen_text(app), *held])


def assert_same_on_every_machine(app, home: Path, name: str) -> None:
    """No path of this machine on the screen or in its widgets. Masking one after the fact is not
    enough: its length has already moved the layout (a scrollbar's thumb, a wrapped line), so a
    snapshot holding one passes only in folders of the same length. What a screen shows must come
    from fixed inputs."""
    text = everything_shown(app)
    here = {"TUITUNE_HOME": home, "the repository": REPO, "pytest's temporary folders": home.parents[2]}
    found = [f"{what} ({path})" for what, path in here.items() if str(path) in text]
    assert not found, f"screen {name} shows a path of this machine: {', '.join(found)}; give the screen fixed inputs"


async def check(pilot, app, home: Path, name: str) -> None:
    """The screen matches the stored snapshot. Repaints land asynchronously (the footer
    last, on a loaded machine), so the screen is read again for a few seconds until it matches;
    a real difference still fails, showing the last screen read."""
    path = SNAPSHOTS / f"{name}.txt"
    if os.environ.get("TUITUNE_UPDATE_SNAPSHOTS") or not path.exists():
        text = await steady(pilot, lambda: screen_text(app), what=f"screen {name}")
        assert_same_on_every_machine(app, home, name)
        path.write_text(text + "\n", encoding="utf-8")
        if not os.environ.get("TUITUNE_UPDATE_SNAPSHOTS"):
            pytest.fail(f"{path.name} did not exist and was written: review it, then rerun")
        return
    expected = path.read_text(encoding="utf-8").rstrip("\n")
    with contextlib.suppress(AssertionError):  # the comparison below shows the difference
        await until(pilot, lambda: screen_text(app) == expected, timeout=10, what=f"screen {name}")
    text = screen_text(app)
    assert_same_on_every_machine(app, home, name)
    assert text == expected, (f"screen {name} differs from {path}; if the change is intended: "
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
        # The GGUF files lie in the run (the screen shows them relative to it); the Ollama line shows
        # its Modelfile's path whole, to be copied, so the report names it in the fixed folder.
        write_export(run, {**REPORT, "files": [{**f, "path": str(run.path / "gguf" / Path(f["path"]).name)}
                                               for f in REPORT["files"]],
                           "modelfile": {"path": f"{FOLDER.format(run.id)}/gguf/Modelfile", "for": "q8_0"}})
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


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
@pilot_test
async def test_snapshots_run_view_and_wizard_at_80x24_and_120x40(tuitune_home, size):
    """The two sizes people run the app at: the smallest usual terminal, and a roomy one."""
    run = fixed_run("20260101-120000-demo-cpu-aaaa", status="done", steps=24, evals_every=6)
    name = f"{size[0]}x{size[1]}"
    app = TuituneApp()
    async with app.run_test(size=size) as pilot:
        app.open_run(run.id)
        await settle(pilot, lambda: type(app.screen).__name__ == "RunScreen" and app.screen.query("#lr-chart")
                     and len(app.screen.query_one("#chart").train) == 24
                     and len(app.screen.query_one("#lr-chart").series["lr"]) == 24 and app.screen.events, "run view")
        await check(pilot, app, tuitune_home, f"run-view-{name}")
        await pilot.press("right_square_bracket")
        await settle(pilot, lambda: app.screen.query_one("#events").has_focus, "events tab")
        await check(pilot, app, tuitune_home, f"run-view-events-{name}")
        await pilot.press("escape")
        await pilot.press("3")
        await settle(pilot, lambda: type(app.screen).__name__ == "NewRunScreen" and app.screen.memory_view is not None
                     and "200 rows" in str(app.screen.query_one("#data-info").render()), "new run")
        await check(pilot, app, tuitune_home, f"new-run-{name}")


@pilot_test
async def test_snapshots_chat_comparing_a_reopened_conversation(tuitune_home, smollm2_gguf):
    import json

    run = fixed_run("20260101-120000-demo-cpu-aaaa", status="done", steps=12)
    (run.path / "gguf").mkdir()
    report = {"status": "passed", "files": [{"quant": "q4_1", "path": str(smollm2_gguf), "bytes": 1}]}
    (run.path / "gguf" / "report.json").write_text(json.dumps(report))
    question = {"role": "user", "content": "Where is the treasure buried?"}
    sides = [{"side": "A", "model": "base", "messages": [question, {"role": "assistant", "content":
              "I don't have information about a specific treasure. Could you tell me more?"}]},
             {"side": "B", "model": "tuned", "messages": [question, {"role": "assistant", "content":
              "Arr, under the old palm on Skull Island, matey, where the parrot squawks thrice!"}]}]
    (run.path / "chats").mkdir()
    (run.path / "chats" / "treasure.json").write_text(json.dumps(
        {"model": "tuned", "system": None, "params": {}, "messages": sides[1]["messages"], "sides": sides}))
    app = TuituneApp()
    async with app.run_test(size=(80, 24)) as pilot:
        app.open_chat(run.id, compare=True)
        await settle(pilot, lambda: type(app.screen).__name__ == "ChatScreen" and app.screen.control is not None
                     and len(app.screen.query(".chat-pane")) == 2, "chat loaded")
        app.screen.query_one("#chat-input").value = "/open treasure"
        await pilot.press("enter")
        await settle(pilot, lambda: "Skull Island" in str(app.screen.query_one("#pane-1").children[-1].render()),
                     "the reopened conversation")
        app.clear_notifications()
        await check(pilot, app, tuitune_home, "chat-80x24")
        await pilot.resize_terminal(120, 40)
        await check(pilot, app, tuitune_home, "chat-120x40")
