"""A conversation with one backend: history, system prompt, trimming to the context window,
transcripts and preference pairs. Light core: backends do the heavy part."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tuitune.chat.backend import Backend, ChatError, GenerationParams, Message

REPLY_RESERVE = 0.25  # share of the context window kept free for the reply


@dataclass
class ChatSession:
    backend: Backend
    system: str | None = None
    params: GenerationParams = field(default_factory=GenerationParams)
    history: list[Message] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    inherited: int = 0
    """How many of the first history messages are another side's (the tuned side's conversation
    that the base continues after compare was switched on): shown as not this model's."""
    last_reply: tuple[int, float] | None = None
    """(pieces, seconds) of the last answer: llama.cpp streams one token per piece."""

    def messages(self) -> list[Message]:
        return ([{"role": "system", "content": self.system}] if self.system else []) + self.history

    def ask(self, text: str) -> Iterator[str]:
        """Stream the answer to ``text``; the answer joins the history once it is complete."""
        self.history.append({"role": "user", "content": text})
        self._trim()
        self._require_fit(text)
        pieces = []
        start = time.monotonic()
        for piece in self.backend.stream(self.messages(), self.params):
            pieces.append(piece)
            yield piece
        self.last_reply = (len(pieces), time.monotonic() - start)
        self.history.append({"role": "assistant", "content": "".join(pieces)})

    def speed(self) -> str:
        """The last answer's length and speed, in words ("" before the first answer)."""
        if self.last_reply is None:
            return ""
        tokens, seconds = self.last_reply
        rate = f", {tokens / seconds:.1f} tokens/s" if seconds > 0 else ""
        return f"{tokens} tokens in {seconds:.1f} s{rate}"

    def reset(self) -> None:
        self.history.clear()
        self.inherited = 0

    def _require_fit(self, text: str) -> None:
        """After trimming, the prompt alone may still not fit: say so, and keep it out of the history."""
        budget = int(self.backend.n_ctx * (1 - REPLY_RESERVE))
        tokens = self.backend.count_tokens(self.messages())
        if tokens > budget:
            self.history.pop()
            raise ChatError(
                f"the prompt is {tokens} tokens ({len(text)} characters), but the context window holds "
                f"{self.backend.n_ctx} tokens, {budget} of them for the conversation (the rest is kept for the "
                "reply); shorten it, or open the chat with a larger context (`tuitune chat TARGET --ctx N`)"
            )

    def _trim(self) -> None:
        budget = int(self.backend.n_ctx * (1 - REPLY_RESERVE))
        dropped = 0
        while len(self.history) > 1 and self.backend.count_tokens(self.messages()) > budget:
            # Drop the oldest exchange (user + assistant) so roles keep alternating.
            del self.history[: 2 if len(self.history) > 2 else 1]
            dropped += 1
        if dropped:
            self.notices.append(f"the conversation outgrew the context window ({self.backend.n_ctx} tokens): "
                                f"the oldest {dropped} exchange(s) were left out")

    def save(self, folder: Path, name: str | None = None, replace: bool = False,
             sides: list[ChatSession] | None = None) -> Path:
        """Write the transcript as ``NAME.json`` (a :class:`ChatError` if that exists, unless
        ``replace``), or without a name as the time, made unique (two saves in one second
        keep both). ``sides``: in compare mode every side (A, B), each with its own answers;
        ``messages`` stays this session's, so a reader of one side keeps working."""
        from tuitune.paths import atomic_write_text, safe_name

        folder.mkdir(parents=True, exist_ok=True)
        transcript: dict[str, object] = {"model": self.backend.name, "system": self.system, "params": self.params.to_json(),
                      "messages": self.history, "saved_at": time.time()}
        if sides:
            transcript["sides"] = [{"side": label, "model": s.backend.name, "messages": s.history}
                                   for label, s in zip("AB", sides, strict=False)]
        text = json.dumps(transcript, indent=2, ensure_ascii=False) + "\n"
        if name:
            path = folder / f"{safe_name(name, limit=80)}.json"
            if path.exists() and not replace:
                raise ChatError(f"a transcript named {path.stem!r} exists in {folder}; "
                                f"`/save {path.stem} --replace` replaces it, or give another name")
            atomic_write_text(path, text)
            return path
        stamp = time.strftime("%Y%m%d-%H%M%S")
        for n in itertools.count(1):
            path = folder / (f"{stamp}.json" if n == 1 else f"{stamp}-{n}.json")
            try:
                with open(path, "x", encoding="utf-8") as f:  # "x": never an existing file
                    f.write(text)
                return path
            except FileExistsError:
                continue
        raise AssertionError("unreachable")


def load_transcript(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def list_transcripts(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.json")) if folder.is_dir() else []


def append_preference(path: Path, prompt: list[Message], chosen: str, rejected: str) -> dict:
    """One preference pair, in the conversational prompt/chosen/rejected form DPO trains on."""
    row = {
        "prompt": prompt,
        "chosen": [{"role": "assistant", "content": chosen}],
        "rejected": [{"role": "assistant", "content": rejected}],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(row, ensure_ascii=False) + "\n")
    return row
