"""The loss-mask preview: an example as the model sees it, trained tokens told apart from masked
ones, and the tokens ``max_seq_len`` would cut off shown as cut.

It reuses ``encode()`` from the worker's tokenization, so what it shows is what will be trained
(including the end-of-turn token the model must learn to stop with).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tuitune.data.schema import Conversation, Example


@dataclass
class Mask:
    """``segments``: (text, state) runs in order, state one of trained / masked / cut."""

    segments: list[tuple[str, str]]
    trained: int
    total: int
    cut: int = 0

    def plain(self) -> str:
        """Without colour: trained text inside ⟦ ⟧, cut text inside ✂[ ] (for logs and tests)."""
        marks = {"trained": "⟦{}⟧", "masked": "{}", "cut": "✂[{}]"}
        return "".join(marks[state].format(text) for text, state in self.segments)


def conversation_of(example: Example) -> Conversation | None:
    """The conversation to preview; a pair shows its chosen side, raw text has none."""
    if example.kind == "preference":
        return example.data["prompt"] + example.data["chosen"]
    return example.data.get("messages")


def mask_preview(tokenizer: Any, example: Example, assistant_only: bool = True,
                 max_seq_len: int | None = None) -> Mask:
    conv = conversation_of(example)
    if conv is None:  # raw text: every token is trained
        ids = tokenizer(example.data["text"], add_special_tokens=False)["input_ids"]
        labels = list(ids)
    else:
        from tuitune.data.tokenize import encode

        enc = encode(tokenizer, conv, assistant_only)
        ids, labels = enc["input_ids"], enc["labels"]
    states = ["trained" if label != -100 else "masked" for label in labels]
    if max_seq_len is not None:
        states[max_seq_len:] = ["cut"] * len(states[max_seq_len:])
    segments: list[tuple[str, str]] = []
    start = 0
    for i in range(1, len(ids) + 1):
        # Consecutive tokens in one state are decoded together: per-token decoding would split
        # multi-byte characters and is slower.
        if i == len(ids) or states[i] != states[start]:
            segments.append((tokenizer.decode(ids[start:i]), states[start]))
            start = i
    return Mask(segments, trained=states.count("trained"), total=len(ids), cut=states.count("cut"))
