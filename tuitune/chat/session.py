"""A conversation with one backend: history, system prompt, trimming to the context window,
transcripts and preference pairs. Light core: backends do the heavy part."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tuitune.chat.backend import Backend, GenerationParams, Message

REPLY_RESERVE = 0.25  # share of the context window kept free for the reply


@dataclass
class ChatSession:
    backend: Backend
    system: str | None = None
    params: GenerationParams = field(default_factory=GenerationParams)
    history: list[Message] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)

    def messages(self) -> list[Message]:
        return ([{"role": "system", "content": self.system}] if self.system else []) + self.history

    def ask(self, text: str) -> Iterator[str]:
        """Stream the answer to ``text``; the answer joins the history once it is complete."""
        self.history.append({"role": "user", "content": text})
        self._trim()
        pieces = []
        for piece in self.backend.stream(self.messages(), self.params):
            pieces.append(piece)
            yield piece
        self.history.append({"role": "assistant", "content": "".join(pieces)})

    def reset(self) -> None:
        self.history.clear()

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

    def save(self, folder: Path, name: str | None = None) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        from tuitune.paths import safe_name

        path = folder / f"{safe_name(name or '', default=time.strftime('%Y%m%d-%H%M%S'), limit=80)}.json"
        transcript = {"model": self.backend.name, "system": self.system, "params": self.params.to_json(),
                      "messages": self.history, "saved_at": time.time()}
        path.write_text(json.dumps(transcript, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        return path


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
