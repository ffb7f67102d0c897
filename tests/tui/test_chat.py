"""The chat screen on the real SmolLM2 GGUF (llama.cpp, in the app's process): streaming into
the pane, compare mode with the base, preferences written as DPO pairs, and a target that
cannot be opened shown as a message."""

from __future__ import annotations

import json

from tests.tui.support import canned_run, notes, pilot_test
from tests.waits import until
from tuitune.chat.backend import GenerationParams
from tuitune.tui.app import TuituneApp


def exported(smollm2_gguf):
    """A finished run whose verified export is the SmolLM2 GGUF (its base is the same file)."""
    run = canned_run(status="done")
    (run.path / "gguf").mkdir()
    report = {"status": "passed", "files": [{"quant": "q4_1", "path": str(smollm2_gguf), "bytes": 1}]}
    (run.path / "gguf" / "report.json").write_text(json.dumps(report))
    return run


async def open_chat(app, pilot, ref: str, compare: bool = False):
    app.open_chat(ref, compare)
    await until(pilot, lambda: type(app.screen).__name__ == "ChatScreen" and app.screen.query("#chat-input"),
                what="chat screen")
    screen = app.screen
    await until(pilot, lambda: screen.control is not None and len(screen.query(".chat-pane")) == (2 if compare else 1),
                timeout=30, what="model loaded")
    for session in screen.control.sessions:  # short greedy answers keep the test quick
        session.params = GenerationParams(0.0, max_tokens=6, seed=0)
    return screen


async def say(pilot, screen, text: str) -> None:
    await pilot.press(*text, "enter") if not text.startswith("/") else await _command(pilot, screen, text)
    await until(pilot, lambda: not screen.busy, timeout=120, what="the answer")


async def _command(pilot, screen, text: str) -> None:
    screen.query_one("#chat-input").value = text
    await pilot.press("enter")


@pilot_test
async def test_chat_streams_retries_and_stores_a_preference(smollm2_gguf):
    run = exported(smollm2_gguf)
    app = TuituneApp()
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_chat(app, pilot, run.id)
        assert smollm2_gguf.name in str(screen.query_one("#chat-title").render())
        assert "/save [NAME] · /open NAME" in str(screen.query_one("#chat-hint").render())  # text, not markup
        await say(pilot, screen, "What is 2 + 2?")
        first = screen.reply_texts[0]
        assert first.strip() and first == screen.control.sessions[0].history[-1]["content"]
        assert first.strip() in str(screen.replies[0].render())
        await _command(pilot, screen, "/a")
        await until(pilot, lambda: any("nothing to compare yet" in n for n in notes(app)), what="refusal")
        await pilot.press("ctrl+r")
        await until(pilot, lambda: not screen.busy, timeout=120, what="the new answer")
        assert len(screen.control.sessions[0].history) == 2
        await _command(pilot, screen, "/b")
        prefs = run.path / "preferences.jsonl"
        await until(pilot, lambda: prefs.exists(), what="preference file")
        row = json.loads(prefs.read_text())
        assert row["prompt"][-1] == {"role": "user", "content": "What is 2 + 2?"}
        assert row["rejected"][0]["content"] == first
        await pilot.press("escape")
        await until(pilot, lambda: type(app.screen).__name__ == "HomeScreen", what="closed")


@pilot_test
async def test_compare_mode_answers_with_base_and_tuned_and_keeps_an_edit(smollm2_gguf):
    run = exported(smollm2_gguf)
    app = TuituneApp()
    async with app.run_test(size=(140, 36)) as pilot:
        screen = await open_chat(app, pilot, run.id, compare=True)
        titles = [p.border_title for p in screen.query(".chat-pane")]
        assert titles[0].startswith("A: ") and titles[1].startswith("B: ")
        await say(pilot, screen, "Name a colour.")
        assert all(t.strip() for t in screen.reply_texts)
        await _command(pilot, screen, "/prefer A Blue.")
        prefs = run.path / "preferences.jsonl"
        await until(pilot, lambda: prefs.exists(), what="preference file")
        row = json.loads(prefs.read_text())
        assert row["chosen"] == [{"role": "assistant", "content": "Blue."}]
        assert row["rejected"][0]["content"] == screen.reply_texts[1]


@pilot_test
async def test_a_run_with_nothing_to_chat_with_says_so():
    run = canned_run(status="failed")
    app = TuituneApp()
    async with app.run_test(size=(120, 36)) as pilot:
        app.open_chat(run.id)
        await until(pilot, lambda: type(app.screen).__name__ == "ChatScreen" and app.screen.query("#chat-title"),
                    what="chat screen")
        title = app.screen.query_one("#chat-title")
        await until(pilot, lambda: "cannot chat" in str(title.render()), timeout=10, what="the reason")
        assert "no trained result yet" in str(title.render())
        await pilot.press(*"hello", "enter")
        await until(pilot, lambda: any("still loading" in n for n in notes(app)), what="no model")
        await pilot.press("f1")  # help while the input has the focus
        await until(pilot, lambda: type(app.screen).__name__ == "HelpScreen", what="help")
        table = app.screen.query_one("#help-keys")
        keys = [str(table.get_row_at(i)[0]) for i in range(table.row_count)]
        assert "/a  /b" in keys and keys.index("/a  /b") < keys.index("1")  # the screen's own first
