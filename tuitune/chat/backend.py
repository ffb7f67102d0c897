"""What every chat backend offers, and the settings of one reply."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Protocol

from tuitune.errors import TuituneError

Message = dict[str, str]


class ChatError(TuituneError):
    """A chat target that cannot be opened or used; the message says why and what to do."""


@dataclass
class GenerationParams:
    temperature: float = 0.7
    top_p: float = 0.95
    max_tokens: int = 512
    seed: int | None = None

    def to_json(self) -> dict:
        return asdict(self)


class Backend(Protocol):
    name: str
    n_ctx: int

    def stream(self, messages: list[Message], params: GenerationParams) -> Iterator[str]:
        """Yield the reply's text piece by piece; it ends on the model's end token."""

    def count_tokens(self, messages: list[Message]) -> int:
        """Tokens the conversation takes once rendered with the chat template."""

    def close(self) -> None: ...
