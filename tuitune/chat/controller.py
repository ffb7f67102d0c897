"""A chat's logic for both fronts (``tuitune chat`` and the TUI's chat screen), UI-free: open
a target (a run's verified GGUF in this process through llama.cpp, an adapter through a worker
process), in compare mode its base beside it; retries, the system prompt, transcripts saved
and reopened, and a choice between two answers turned into a preference pair for DPO. The
slash commands that ask for these are parsed by :mod:`tuitune.chat.commands`.

Slow (a model loads, a reply streams): the TUI calls these from thread workers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tuitune.hardware.cpu import cores

if TYPE_CHECKING:
    from collections.abc import Callable

    from tuitune.chat.backend import GenerationParams
    from tuitune.chat.commands import Command
    from tuitune.chat.session import ChatSession
    from tuitune.chat.targets import Target


@dataclass
class ChatControl:
    """The target and one session per side: [tuned] or, in compare mode, [base, tuned]."""

    target: Target
    sessions: list[ChatSession]
    previous: str | None = None
    """The answer a retry replaced: side A of the next preference in single mode."""
    saved: list[Path] = field(default_factory=list)
    warning: str = ""
    """Why the chat runs slower than it could (a run training on the same CPU), or ""."""

    @property
    def compare(self) -> bool:
        return len(self.sessions) == 2

    @property
    def labels(self) -> list[str]:
        if self.compare:
            return [f"A: {self.sessions[0].backend.name}", f"B: {self.sessions[1].backend.name}"]
        return [self.sessions[0].backend.name]

    def folder(self) -> Path:
        return transcripts_folder(self.target)

    def preferences_file(self) -> Path:
        return (self.target.run.path if self.target.run is not None else self.folder()) / "preferences.jsonl"

    def new_question(self) -> None:
        """A question that is not a retry: the answer a retry replaced pairs with nothing now."""
        self.previous = None

    def take_retry(self) -> str:
        """Undo the last exchange for a new answer: returns its question, remembers its answer
        (side A of the next preference). ChatError when there is nothing to retry."""
        from tuitune.chat.backend import ChatError

        history = self.sessions[-1].history
        if self.compare:
            raise ChatError("nothing to retry: in compare mode both sides already answer")
        if len(history) < 2:
            raise ChatError("nothing to retry yet: ask something first")
        self.previous = history.pop()["content"]
        return history.pop()["content"]

    def pair(self) -> tuple[list[dict[str, str]], str, str] | None:
        """(prompt messages, answer A, answer B) of the last exchange, when there are two."""
        last = self.sessions[-1].history
        if len(last) < 2 or last[-1]["role"] != "assistant":
            return None
        prompt = self.sessions[-1].messages()[:-1]
        if self.compare:
            return prompt, self.sessions[0].history[-1]["content"], last[-1]["content"]
        if self.previous is not None:
            return prompt, self.previous, last[-1]["content"]
        return None

    def prefer(self, side: str, edited: str = "") -> Path:
        """Store the last pair with ``side`` (A or B) chosen; ``edited`` replaces its text."""
        from tuitune.chat.backend import ChatError
        from tuitune.chat.session import append_preference

        pair = self.pair()
        if pair is None or side.upper() not in ("A", "B"):
            raise ChatError("nothing to compare yet: compare mode (ctrl+o in the TUI, --compare for tuitune chat) "
                            "or /retry gives two answers; then /a or /b")
        prompt, a, b = pair
        chosen, rejected = (a, b) if side.upper() == "A" else (b, a)
        path = self.preferences_file()
        append_preference(path, prompt, edited.strip() or chosen, rejected)
        return path

    def reset(self) -> None:
        self.previous = None
        for s in self.sessions:
            s.reset()

    def set_system(self, text: str | None) -> None:
        for s in self.sessions:
            s.system = text

    @property
    def params(self) -> GenerationParams:
        return self.sessions[-1].params

    def adopt(self, old: ChatControl) -> None:
        """Continue ``old``'s conversation after compare mode was switched on or off: a side that
        was there keeps its own answers; the base, new to it, continues the tuned side's (so both
        answer the next question in the same context). Settings and the system prompt carry over."""
        tuned = old.sessions[-1]
        for n, session in enumerate(self.sessions):
            own = (self.compare and old.compare) or n == len(self.sessions) - 1
            source = old.sessions[n] if self.compare and old.compare else tuned
            session.history = [dict(m) for m in source.history]
            session.inherited = source.inherited if own else len(source.history)  # the base continues B's
            session.last_reply = source.last_reply if own else None
            session.system, session.params = tuned.system, tuned.params
        self.previous = old.previous if not self.compare else None

    def set_param(self, text: str) -> str:
        """``/set KEY VALUE`` for every side; ``/set`` alone says the settings in effect."""
        from tuitune.chat.backend import ChatError

        key, _, value = text.strip().partition(" ")
        if not key:
            return self.params.describe()
        if not value.strip():
            raise ChatError(f"/set {key} needs a value, e.g. /set temperature 0; now: {self.params.describe()}")
        params = self.params.changed(key, value.strip())
        for s in self.sessions:
            s.params = params
        return params.describe()

    def save(self, name: str | None, replace: bool = False) -> Path:
        path = self.sessions[-1].save(self.folder(), name or None, replace, self.sessions if self.compare else None)
        self.saved.append(path)
        return path

    def transcripts(self) -> list[str]:
        """The names of the transcripts saved for this target, in name order."""
        return transcript_names(self.target)

    def restore(self, name: str) -> Path:
        """Continue a saved transcript: its messages become every side's history, and its system
        prompt applies unless one is set already."""
        from tuitune.chat.backend import ChatError
        from tuitune.chat.session import load_transcript
        from tuitune.paths import safe_name

        path = self.folder() / f"{safe_name(name, limit=80)}.json"
        if not path.exists():
            raise ChatError(f"no transcript {path.stem!r} in {path.parent}; /list (or --list) shows them")
        try:
            data = load_transcript(path)
            messages = list(data["messages"])
        except (ValueError, KeyError, TypeError) as e:
            raise ChatError(f"{path}: not a transcript tuitune can read ({e})") from None
        sides = data.get("sides") if isinstance(data.get("sides"), list) else None
        self.previous = None
        for n, s in enumerate(self.sessions):
            # A compared transcript gives each side its own answers back; one side's, all of them.
            own = sides[n]["messages"] if sides is not None and len(sides) == len(self.sessions) else messages
            s.history = [dict(m) for m in own]
            s.inherited = 0 if own is not messages or n == len(self.sessions) - 1 else len(own)
            s.system = s.system or data.get("system")
        return path

    def apply(self, command: Command) -> str:
        """Carry out a command that needs no streaming (prefer, reset, system, save, list, open)
        and return what to tell the person, in the same words on both fronts. Retry, quit and
        help are the fronts' (a new answer streams into their own output). ChatError when the
        command cannot be done now."""
        from tuitune.chat.backend import ChatError

        name, text = command.name, command.text
        if name == "prefer":
            return f"preference saved to {self.prefer(command.side, text)} ({command.side} chosen)"
        if name == "reset":
            self.reset()
            return "conversation cleared"
        if name == "system":
            self.set_system(text or None)
            return f"system prompt {'set' if text else 'cleared'}"
        if name == "save":
            return f"saved {self.save(text or None, command.replace)}"
        if name == "set":
            return self.set_param(text)
        if name == "list":
            return "saved transcripts: " + (", ".join(self.transcripts()) or "none yet")
        if name == "open":
            path = self.restore(text)
            return f"continuing {path} ({len(self.sessions[-1].history)} messages)"
        raise ChatError(f"/{name} is not carried out by the controller")

    def close(self) -> None:
        for s in self.sessions:
            s.backend.close()


def open_chat(ref: str, compare: bool = False, system: str | None = None, params: GenerationParams | None = None,
              loading: Callable[[str], None] | None = None, n_ctx: int | None = None) -> ChatControl:
    """Resolve ``ref`` (a run id, a .gguf, a model folder) and load its model(s); ``loading`` is
    told each target's label before it loads (the CLI says so: a model can take seconds)."""
    from tuitune.chat.backend import GenerationParams
    from tuitune.chat.session import ChatSession
    from tuitune.chat.targets import base_of, resolve
    from tuitune.runs.busy import chat_threads, cpu_training_runs

    training = cpu_training_runs()
    threads = chat_threads(training)
    target = resolve(ref)
    targets = [base_of(target, threads), target] if compare else [target]
    sessions: list[ChatSession] = []
    try:
        for t in targets:
            if loading is not None:
                loading(t.label)
            sessions.append(ChatSession(t.open(n_ctx, threads), system=system, params=params or GenerationParams()))
    except BaseException:
        for s in sessions:
            s.backend.close()
        raise
    warning = ""
    if training:
        names = ", ".join(run.id for run in training)
        warning = (f"{names} trains on this CPU: the chat uses {threads} of {cores()} cores, and "
                   "both run slower while it trains (stop the run, or chat when it is done)")
    return ChatControl(target, sessions, warning=warning)


def transcripts_folder(target: Target) -> Path:
    """Where a target's transcripts are kept: in its run, else in ``$TUITUNE_HOME/chats``."""
    from tuitune.paths import tuitune_home

    return target.run.path / "chats" if target.run is not None else tuitune_home() / "chats"


def transcript_names(target: Target) -> list[str]:
    """The names of a target's saved transcripts (no model is loaded to list them)."""
    from tuitune.chat.session import list_transcripts

    return [path.stem for path in list_transcripts(transcripts_folder(target))]


def chat_errors() -> tuple[type[BaseException], ...]:
    from tuitune.errors import TuituneError

    return (TuituneError, OSError)
