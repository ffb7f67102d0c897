"""One slash-command parser (tuitune.chat.commands) and one chat controller
(tuitune.chat.controller) for `tuitune chat` and the TUI's chat screen: what each command
means, what the controller does with it on the real SmolLM2 GGUF, and both fronts doing it."""

from __future__ import annotations

import json

import pytest

from tests.helpers import tuitune
from tests.tui.support import pilot_test
from tests.waits import until
from tuitune.chat.backend import ChatError, GenerationParams
from tuitune.chat.commands import COMMANDS, HINT, NAMES, Command, parse
from tuitune.chat.controller import open_chat, transcripts_folder


@pytest.mark.parametrize("line, command", [
    ("What is the sea?", None),
    ("  ", None),
    ("/a", Command("prefer", "A")),
    ("/B Blue, matey.", Command("prefer", "B", "Blue, matey.")),
    ("/prefer a", Command("prefer", "A")),
    ("/prefer B  Ahoy there ", Command("prefer", "B", "Ahoy there")),
    ("/retry", Command("retry")),
    ("/RESET", Command("reset")),
    ("/system Answer like a pirate.", Command("system", text="Answer like a pirate.")),
    ("/system", Command("system")),
    ("/save first try", Command("save", text="first try")),
    ("/save", Command("save")),
    ("/save talk --replace", Command("save", text="talk", replace=True)),
    ("/open first", Command("open", text="first")),
    ("/list", Command("list")),
    ("/quit", Command("quit")),
    ("/help", Command("help")),
])
def test_a_line_is_a_message_or_a_command(line, command):
    assert parse(line) == command


@pytest.mark.parametrize("line, message", [
    ("/prefer", "/prefer needs A or B"),
    ("/prefer C better", "/prefer needs A or B"),
    ("/open", "/open needs the transcript's name"),
    ("/save --replace", "/save --replace needs the transcript's name"),
    ("/frobnicate now", f"unknown command /frobnicate. {HINT}"),
])
def test_a_command_that_cannot_mean_anything_says_why(line, message):
    with pytest.raises(ChatError) as e:
        parse(line)
    assert str(e.value).startswith(message)


def test_every_command_is_in_the_help_and_the_hint():
    usages = " ".join(spec.usage for spec in COMMANDS)
    for name in NAMES:
        word = "/a" if name == "prefer" else f"/{name}"
        assert word in usages, name
        assert word in HINT or name == "help", name


@pytest.fixture
def control(smollm2_gguf):
    chat = open_chat(str(smollm2_gguf), params=GenerationParams(0.0, max_tokens=4, seed=0))
    yield chat
    chat.close()


def test_the_controller_retries_prefers_saves_and_reopens(control, smollm2_gguf, tuitune_home):
    with pytest.raises(ChatError, match="nothing to retry yet"):
        control.take_retry()
    first = "".join(control.sessions[0].ask("Name a colour."))
    question = control.take_retry()
    assert question == "Name a colour." and control.previous == first
    second = "".join(control.sessions[0].ask(question))
    path = control.prefer("b", "Blue.")
    row = json.loads(path.read_text().splitlines()[-1])
    assert row["chosen"] == [{"role": "assistant", "content": "Blue."}]
    assert row["rejected"] == [{"role": "assistant", "content": first}] and second
    # A new question after a retry: the replaced answer belonged to the old one, so there is no pair.
    control.new_question()
    "".join(control.sessions[0].ask("Name a fish."))
    with pytest.raises(ChatError, match="nothing to compare yet"):
        control.prefer("A")
    control.set_system("Be brief.")
    saved = control.save("talk")
    assert saved == transcripts_folder(control.target) / "talk.json" and saved.parent == tuitune_home / "chats"
    assert control.transcripts() == ["talk"]
    control.reset()
    control.set_system(None)
    assert control.restore("talk") == saved
    assert [m["content"] for m in control.sessions[0].history][::2] == ["Name a colour.", "Name a fish."]
    assert control.sessions[0].system == "Be brief."
    with pytest.raises(ChatError, match="no transcript 'nope'"):
        control.restore("nope")
    with pytest.raises(ChatError, match="a transcript named 'talk' exists .* `/save talk --replace` replaces it"):
        control.apply(parse("/save talk"))
    assert json.loads(saved.read_text())["system"] == "Be brief."  # not overwritten
    control.set_system("Be long.")
    assert control.apply(parse("/save talk --replace")) == f"saved {saved}"
    assert json.loads(saved.read_text())["system"] == "Be long."
    # Unnamed saves in the same second keep each transcript.
    unnamed = {control.save(None) for _ in range(3)}
    assert len(unnamed) == 3 and all(p.exists() for p in unnamed)
    (saved.parent / "broken.json").write_text("{")
    with pytest.raises(ChatError, match="not a transcript tuitune can read"):
        control.restore("broken")


def test_tuitune_chat_takes_the_tui_commands(smollm2_gguf, tuitune_home):
    script = "/frobnicate\nName a colour.\n/retry\n/a\n/save talk\n/list\n/reset\n/open talk\n/prefer\n/quit\n"
    result = tuitune("chat", str(smollm2_gguf), "--max-tokens", "4", "--temperature", "0", input=script)
    assert result.returncode == 0, result.stderr
    assert "unknown command /frobnicate" in result.stderr and "[B (new)]" in result.stdout
    assert "preference saved to" in result.stderr and "(A chosen)" in result.stderr and "saved transcripts: talk" in result.stderr
    assert "continuing " in result.stderr and "/prefer needs A or B" in result.stderr
    row = json.loads((tuitune_home / "chats" / "preferences.jsonl").read_text())
    assert row["prompt"] == [{"role": "user", "content": "Name a colour."}]


@pilot_test
async def test_the_chat_screen_takes_the_same_commands(smollm2_gguf, tuitune_home):
    from tuitune.tui.app import TuituneApp

    app = TuituneApp()
    async with app.run_test(size=(120, 36)) as pilot:
        app.open_chat(str(smollm2_gguf))
        await until(pilot, lambda: type(app.screen).__name__ == "ChatScreen" and app.screen.control is not None,
                       timeout=30, what="model loaded")
        screen = app.screen
        screen.control.sessions[0].params = GenerationParams(0.0, max_tokens=4, seed=0)

        async def command(text):
            screen.query_one("#chat-input").value = text
            await pilot.press("enter")
            await until(pilot, lambda: not screen.busy, timeout=60, what=f"{text} done")

        await command("Name a colour.")
        await command("/retry")
        await command("Name a fish.")  # a new question: the answer the retry replaced pairs with nothing
        await command("/a")
        await until(pilot, lambda: any("nothing to compare yet" in str(n.message) for n in app._notifications),
                       what="no stale pair")
        assert not (tuitune_home / "chats" / "preferences.jsonl").exists()
        await command("/reset")
        await command("Name a colour.")
        await command("/save talk")
        await until(pilot, lambda: (tuitune_home / "chats" / "talk.json").exists(), what="saved")
        await command("/list")  # the words tuitune chat prints
        await until(pilot, lambda: any(str(n.message) == "saved transcripts: talk" for n in app._notifications),
                       what="the transcripts listed")
        await command("/reset")  # (was never run: an async action called without await)
        await until(pilot, lambda: not screen.control.sessions[0].history and not screen.query(".chat-user"),
                       what="conversation cleared")
        await command("/open talk")
        await until(pilot, lambda: len(screen.query(".chat-user")) == 1, what="transcript shown")
        assert len(screen.control.sessions[0].history) == 2
        assert "Name a colour." in str(screen.query_one(".chat-user").render())
        await command("/quit")
        await until(pilot, lambda: type(app.screen).__name__ == "HomeScreen", what="chat closed")


@pytest.mark.parametrize(("line", "expected"), [
    ("/set temperature 0", "temperature 0 · top_p 0.95 · max_tokens 512 · seed random"),
    ("/set max-tokens 64", "temperature 0.7 · top_p 0.95 · max_tokens 64 · seed random"),
    ("/set seed 7", "temperature 0.7 · top_p 0.95 · max_tokens 512 · seed 7"),
    ("/set", "temperature 0.7 · top_p 0.95 · max_tokens 512 · seed random"),
])
def test_set_changes_a_setting_and_says_them_all(line, expected):
    command = parse(line)
    assert command == Command("set", text=line.removeprefix("/set").strip())
    key, _, value = command.text.partition(" ")
    params = GenerationParams().changed(key, value) if key else GenerationParams()
    assert params.describe() == expected


@pytest.mark.parametrize(("key", "value", "error"), [
    ("temperature", "hot", "give a number from 0 to 2"),
    ("temperature", "5", "give a number from 0 to 2"),
    ("max_tokens", "1.5", "give a whole number from 1 to 32768"),
    ("top_p", "0", "keeps no token at all"),
    ("seed", "x", "give a whole number, or random"),
    ("colour", "red", "one of temperature, top_p, max_tokens, seed"),
])
def test_set_refuses_a_value_it_cannot_use(key, value, error):
    with pytest.raises(ChatError, match=error):
        GenerationParams().changed(key, value)
