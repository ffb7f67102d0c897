"""The chat screen on the real SmolLM2 GGUF (llama.cpp, in the app's process): streaming into
the pane, compare mode with the base, preferences written as DPO pairs, and a target that
cannot be opened shown as a message."""

from __future__ import annotations

import json

from tests.tui.support import canned_run, hold_run, notes, pilot_test
from tests.waits import until
from tuitune.chat.backend import GenerationParams
from tuitune.tui.app import TuituneApp


def exported(smollm2_gguf, quant: str = "q4_1"):
    """A finished run whose verified export is the SmolLM2 GGUF (its base is the same file);
    ``quant``: the type its export report claims."""
    run = canned_run(status="done")
    (run.path / "gguf").mkdir()
    report = {"status": "passed", "files": [{"quant": quant, "path": str(smollm2_gguf), "bytes": 1}]}
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
        # the screen's own keys; not the app's 1 2 3 q, which the focused input would take as text
        assert "/a  /b" in keys and "1" not in keys and "f1" in keys


def pane_text(screen, n: int) -> str:
    return " ".join(str(w.render()) for w in screen.query_one(f"#pane-{n}").children)


async def toggle_compare(pilot, screen, panes: int) -> None:
    await pilot.press("ctrl+o")
    await until(pilot, lambda: screen.control is not None and len(screen.query(".chat-pane")) == panes
                and len(screen.control.sessions) == panes, timeout=30, what=f"{panes} panes")


@pilot_test
async def test_compare_keeps_the_conversation_saves_both_sides_and_reopens_it(smollm2_gguf):
    run = exported(smollm2_gguf)
    app = TuituneApp()
    async with app.run_test(size=(140, 40)) as pilot:
        screen = await open_chat(app, pilot, run.id)
        await say(pilot, screen, "Hi.")
        await toggle_compare(pilot, screen, 2)
        assert all(len(s.history) == 2 for s in screen.control.sessions)  # the first exchange is still there
        assert "Hi." in pane_text(screen, 0) and "Hi." in pane_text(screen, 1)
        assert "(B answered)" in pane_text(screen, 0) and "(B answered)" not in pane_text(screen, 1)
        await say(pilot, screen, "Why?")
        await pilot.press("ctrl+s")
        saved = run.path / "chats"
        await until(pilot, lambda: list(saved.glob("*.json")), what="the transcript")
        transcript = json.loads(next(saved.glob("*.json")).read_text())
        assert [side["side"] for side in transcript["sides"]] == ["A", "B"]
        for side, session in zip(transcript["sides"], screen.control.sessions, strict=True):
            assert side["messages"] == session.history and len(side["messages"]) == 4
        answers = [s.history[-1]["content"] for s in screen.control.sessions]
        await pilot.press("ctrl+n")
        await until(pilot, lambda: not any(s.history for s in screen.control.sessions), what="a new chat")
        await pilot.press("ctrl+l")
        await until(pilot, lambda: type(app.screen).__name__ == "PickDialog", what="the saved chats")
        await pilot.press("enter")
        await until(pilot, lambda: [s.history[-1]["content"] if s.history else None for s in screen.control.sessions]
                    == answers, what="each side's own answers back")
        assert "Why?" in pane_text(screen, 0) and "Why?" in pane_text(screen, 1)
        await toggle_compare(pilot, screen, 1)
        assert screen.control.sessions[0].history == transcript["sides"][1]["messages"]  # B goes on alone


@pilot_test
async def test_settings_are_shown_changed_with_set_and_the_speed_is_shown(smollm2_gguf):
    run = exported(smollm2_gguf)
    app = TuituneApp()
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_chat(app, pilot, run.id)
        settings = screen.query_one("#chat-settings")
        assert "temperature 0.7" in str(settings.render())  # what the model opened with, before any change
        await _command(pilot, screen, "/set temperature 0")
        await until(pilot, lambda: "temperature 0 ·" in str(settings.render()), what="the new temperature")
        assert screen.control.sessions[0].params.temperature == 0
        await _command(pilot, screen, "/set max_tokens 5")
        await until(pilot, lambda: "max_tokens 5" in str(settings.render()), what="the new length")
        await _command(pilot, screen, "/set temperature hot")
        await until(pilot, lambda: any("give a number from 0 to 2" in n for n in notes(app)), what="the refusal")
        await say(pilot, screen, "Hello")
        await until(pilot, lambda: "tokens/s" in str(settings.render()), what="the speed")
        assert len(screen.reply_texts[0]) > 0 and screen.control.sessions[0].last_reply[0] <= 5


@pilot_test
async def test_the_base_is_compared_at_the_tuned_sides_quantization(smollm2_gguf):
    from tuitune.chat.targets import gguf_type

    run = exported(smollm2_gguf, quant="q8_0")  # the base is the bundled Q4_1
    app = TuituneApp()
    async with app.run_test(size=(140, 36)) as pilot:
        screen = await open_chat(app, pilot, run.id, compare=True)
        base = screen.control.sessions[0].backend
        assert base.name.endswith(".as-q8_0.gguf"), base.name
        assert screen.query_one("#pane-0").border_title == "A: SmolLM2-135M-Instruct.Q4_1.as-q8_0.gguf"
        cached = next((app_home() / "cache" / "base-gguf").rglob("*.gguf"))
        assert gguf_type(cached) == "q8_0" and gguf_type(smollm2_gguf) == "q4_1"
        await say(pilot, screen, "Hi.")
        assert screen.reply_texts[0].strip()


def app_home():
    from tuitune.paths import tuitune_home

    return tuitune_home()


@pilot_test
async def test_chat_warns_and_takes_fewer_threads_while_a_run_trains_on_the_cpu(smollm2_gguf):
    import os

    training = canned_run(status="running")
    worker = hold_run(training)
    try:
        run = exported(smollm2_gguf)
        app = TuituneApp()
        async with app.run_test(size=(120, 36)) as pilot:
            screen = await open_chat(app, pilot, run.id)
            await until(pilot, lambda: any(f"{training.id} trains on this CPU" in n for n in notes(app)),
                        what="the warning")
            assert "trains on this CPU" in str(screen.query_one("#chat-settings").render())
            assert screen.control.sessions[0].backend.llm.n_threads == max(1, (os.cpu_count() or 1) // 2)
    finally:
        worker.terminate()
        worker.wait()
