"""The shapes every reader and format converges on, and the two data errors.

A file is read into ``Row``s (where it came from + the parsed value); a format turns each row
into an ``Example`` of one of four kinds:

- ``sft``: ``{"messages": [...]}`` — a conversation whose last message is the assistant's;
- ``preference``: ``{"prompt": [...], "chosen": [...], "rejected": [...]}`` — TRL's
  conversational preference form (the prompt ends with a user turn, each side is the answer);
- ``unpaired``: ``{"messages": [...], "label": bool}`` — one answer marked good or bad (KTO);
- ``text``: ``{"text": "..."}`` — raw text for continued pre-training;
- ``choice``: ``{"prompt": [...], "choices": [...], "answer": i}`` — a multiple-choice question
  (scored by ``tuitune eval``, never trained on).

Light core: pure Python, imported by the fronts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tuitune.errors import TuituneError

Message = dict[str, str]
Conversation = list[Message]

KINDS = ("sft", "preference", "unpaired", "text", "choice")


class DataError(TuituneError):
    """A data file that cannot be used; the message names the file, the row and the fix."""


class RowError(ValueError):
    """One row that cannot be used; the message says what is wrong with it (not where)."""


@dataclass(slots=True)
class Row:
    """One record as read: ``where`` is ``file:line`` or ``file[index]``; ``data`` the parsed value.

    A reader that can recover from a broken record (a bad JSON line, a ragged CSV row) keeps
    it as a row with ``problem`` set, so the ``on_error`` policy decides, not the reader.
    """

    where: str
    data: Any
    problem: str | None = None


@dataclass(slots=True)
class Example:
    """One normalized example; ``data`` is JSON-ready and is what train.jsonl holds."""

    where: str
    kind: str
    data: dict[str, Any]

    def texts(self) -> list[str]:
        """Every piece of text in the example, in reading order (for hashing and shingling)."""
        if self.kind == "text":
            return [self.data["text"]]
        out = []
        for key in ("prompt", "messages", "chosen", "rejected"):
            for m in self.data.get(key, ()):
                out.append(f"{m['role']}: {m['content']}")
        if self.kind == "choice":
            out += [f"choice: {c}" for c in self.data["choices"]]
        if self.kind == "unpaired":  # the same answer marked good and bad is two rows, not one
            out.append(f"label: {self.data['label']}")
        return out

    def prompt_text(self) -> str:
        """What the model is asked (everything before the last answer), for leakage checks."""
        if self.kind == "text":
            return self.data["text"]
        if self.kind in ("preference", "choice"):
            msgs = self.data["prompt"]
        else:
            msgs = self.data["messages"]
            last = max(i for i, m in enumerate(msgs) if m["role"] == "assistant")
            msgs = msgs[:last]
        return "\n".join(f"{m['role']}: {m['content']}" for m in msgs)


@dataclass(slots=True)
class Rejected:
    """A row left out, with the reason; rejected.jsonl holds one of these per line.

    ``row`` is the raw row for rows that failed validation, and the normalized example for rows
    a cleaning step removed (that is the form the duplicate or the bound was judged on).
    """

    where: str
    reason: str
    step: str
    row: Any = None

    def to_json(self) -> dict[str, Any]:
        return {"where": self.where, "step": self.step, "reason": self.reason, "row": self.row}
