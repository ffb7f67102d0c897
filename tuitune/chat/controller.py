"""The chat screen's logic, UI-free: open what ``tuitune chat TARGET`` opens (a run's verified
GGUF in this process through llama.cpp, an adapter through a worker process), in compare mode
its base beside it, and turn a choice between two answers into a preference pair — the same
rows ``tuitune chat``'s ``/prefer`` writes, for DPO.

Slow (a model loads, a reply streams): the screen calls these from thread workers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tuitune.chat.session import ChatSession
    from tuitune.chat.targets import Target

COMMANDS = "/a or /b prefers an answer (/prefer A|B EDITED keeps your edit) · /retry · /reset · /system TEXT · /save [NAME]"


@dataclass
class ChatControl:
    """The target and one session per side: [tuned] or, in compare mode, [base, tuned]."""

    target: Target
    sessions: list[ChatSession]
    previous: str | None = None
    """The answer a retry replaced: side A of the next preference in single mode."""
    saved: list[Path] = field(default_factory=list)

    @property
    def compare(self) -> bool:
        return len(self.sessions) == 2

    @property
    def labels(self) -> list[str]:
        if self.compare:
            return [f"A: {self.sessions[0].backend.name}", f"B: {self.sessions[1].backend.name}"]
        return [self.sessions[0].backend.name]

    def folder(self) -> Path:
        from tuitune.paths import tuitune_home

        return self.target.run.path / "chats" if self.target.run is not None else tuitune_home() / "chats"

    def preferences_file(self) -> Path:
        return (self.target.run.path if self.target.run is not None else self.folder()) / "preferences.jsonl"

    def take_retry(self) -> str | None:
        """Undo the last exchange for a new answer: returns its question, remembers its answer."""
        history = self.sessions[-1].history
        if self.compare or len(history) < 2:
            return None
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
            raise ChatError("nothing to compare yet: compare mode (ctrl+o) or /retry gives two answers; then /a or /b")
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

    def save(self, name: str | None) -> Path:
        path = self.sessions[-1].save(self.folder(), name or None)
        self.saved.append(path)
        return path

    def close(self) -> None:
        for s in self.sessions:
            s.backend.close()


def open_chat(ref: str, compare: bool = False, system: str | None = None) -> ChatControl:
    """Resolve ``ref`` (a run id, a .gguf, a model folder) and load its model(s)."""
    from tuitune.chat.session import ChatSession
    from tuitune.chat.targets import base_of, resolve

    target = resolve(ref)
    targets = [base_of(target), target] if compare else [target]
    sessions: list[ChatSession] = []
    try:
        for t in targets:
            sessions.append(ChatSession(t.open(), system=system))
    except BaseException:
        for s in sessions:
            s.backend.close()
        raise
    return ChatControl(target, sessions)


def chat_errors() -> tuple[type[BaseException], ...]:
    from tuitune.errors import USER_ERRORS

    return (*USER_ERRORS, OSError)
