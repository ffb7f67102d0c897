"""The chat's slash commands, parsed in one place for both fronts: ``tuitune chat``'s prompt
and the TUI's chat screen read a line, :func:`parse` says what it asks for, and the front
carries it out through the controller (:mod:`tuitune.chat.controller`). :data:`COMMANDS` is
what the fronts' help shows. UI-free.
"""

from __future__ import annotations

from dataclasses import dataclass

from tuitune.chat.backend import ChatError


@dataclass(frozen=True)
class Command:
    """A parsed command: ``name`` is one of :data:`NAMES`; ``side`` is A or B for ``prefer``;
    ``text`` is the edited answer (prefer), the system prompt (system, empty clears it),
    ``KEY VALUE`` (set) or the transcript's name (save, open); ``replace``: save over a transcript of that name."""

    name: str
    side: str = ""
    text: str = ""
    replace: bool = False


@dataclass(frozen=True)
class Spec:
    usage: str
    title: str
    help: str


COMMANDS: tuple[Spec, ...] = (
    Spec("/a  /b", "Prefer A or B", "Store the last two answers as a DPO preference pair (preferences.jsonl)"),
    Spec("/prefer A|B TEXT", "Prefer, edited", "Store the pair with your own text as the chosen answer"),
    Spec("/retry", "Retry", "A new answer to the last question; /a keeps the old one, /b the new (a preference)"),
    Spec("/reset", "New chat", "Forget the conversation"),
    Spec("/system TEXT", "System prompt", "Set (or, without TEXT, clear) the system prompt"),
    Spec("/set KEY VALUE", "Settings", "Change temperature, top_p, max_tokens or seed for every side "
                                       "(/set temperature 0: always the likeliest token); /set alone shows them"),
    Spec("/save [NAME]", "Save", "Save the transcript (in the run's chats/ folder for a run; "
                                 "--replace after NAME saves over one of that name)"),
    Spec("/open NAME", "Open", "Continue a saved transcript"),
    Spec("/list", "Transcripts", "List the saved transcripts"),
    Spec("/quit", "Quit", "Close the chat (the models are unloaded)"),
    Spec("/help", "Commands", "Show the commands in one line"),
)
HINT = ("/a or /b prefers an answer (/prefer A|B EDITED keeps your edit) · /retry · /reset · /system TEXT · "
        "/set temperature 0 · /save [NAME] · /open NAME · /list · /quit")
"""The commands in one line, as both fronts show it under the conversation."""

NAMES = ("prefer", "retry", "reset", "system", "set", "save", "open", "list", "quit", "help")
_SIDES = ("A", "B")


def parse(line: str) -> Command | None:
    """The command a line asks for, or None when the line is a message for the model.
    ChatError (with the one-line help) for an unknown command or a missing argument."""
    line = line.strip()
    if not line.startswith("/"):
        return None
    word, _, rest = line.partition(" ")
    word, rest = word.lower(), rest.strip()
    if word in ("/a", "/b"):
        return Command("prefer", word[1:].upper(), rest)
    if word == "/prefer":
        side, _, edited = rest.partition(" ")
        if side.upper() not in _SIDES:
            raise ChatError("/prefer needs A or B: /prefer A, /prefer B, or /prefer A YOUR EDITED ANSWER")
        return Command("prefer", side.upper(), edited.strip())
    if word == "/open" and not rest:
        raise ChatError("/open needs the transcript's name; /list shows them")
    if word == "/save" and (rest == "--replace" or rest.endswith(" --replace")):
        name = rest.removesuffix("--replace").strip()
        if not name:
            raise ChatError("/save --replace needs the transcript's name: /save NAME --replace")
        return Command("save", text=name, replace=True)
    if word in ("/retry", "/reset", "/list", "/quit", "/help", "/system", "/set", "/save", "/open"):
        return Command(word[1:], text=rest)
    raise ChatError(f"unknown command {word}. {HINT}")
