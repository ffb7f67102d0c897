"""What every chat backend offers, and the settings of one reply."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
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

    def describe(self) -> str:
        """The settings in one line, as the chat shows them and ``/set`` names them."""
        seed = "random" if self.seed is None else str(self.seed)
        return (f"temperature {self.temperature:g} · top_p {self.top_p:g} · max_tokens {self.max_tokens} · "
                f"seed {seed}")

    def changed(self, key: str, value: str) -> GenerationParams:
        """A copy with ``key`` set from the text ``value`` (``/set temperature 0``); a ChatError
        that names the range for a key or value that is not one."""
        key = key.lower().replace("-", "_")
        limits = {"temperature": (0.0, 2.0), "top_p": (0.0, 1.0), "max_tokens": (1, 32768)}
        if key == "seed":
            if value.lower() in ("random", "none", "off"):
                return replace(self, seed=None)
            if not value.lstrip("-").isdigit():
                raise ChatError(f"/set seed {value}: give a whole number, or random")
            return replace(self, seed=int(value))
        if key not in limits:
            raise ChatError(f"/set {key}: one of temperature, top_p, max_tokens, seed (e.g. /set temperature 0)")
        low, high = limits[key]
        try:
            number = int(value) if key == "max_tokens" else float(value)
        except ValueError:
            number = float("nan")
        if not low <= number <= high:
            kind = "a whole number" if key == "max_tokens" else "a number"
            raise ChatError(f"/set {key} {value}: give {kind} from {low:g} to {high:g}")
        if key == "top_p" and number == 0:
            raise ChatError("/set top_p 0 keeps no token at all: give more than 0 (up to 1); "
                            "/set temperature 0 is the way to always take the likeliest token")
        if key == "max_tokens":
            return replace(self, max_tokens=int(number))
        if key == "top_p":
            return replace(self, top_p=float(number))
        return replace(self, temperature=float(number))


class Backend(Protocol):
    name: str
    n_ctx: int

    def stream(self, messages: list[Message], params: GenerationParams) -> Iterator[str]:
        """Yield the reply's text piece by piece; it ends on the model's end token."""

    def count_tokens(self, messages: list[Message]) -> int:
        """Tokens the conversation takes once rendered with the chat template."""

    def close(self) -> None: ...
