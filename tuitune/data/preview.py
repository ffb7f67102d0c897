"""The loss-mask preview: an example as the model sees it, trained tokens told apart from masked.

It reuses ``encode()`` from the worker's tokenization, so what it shows is what will be trained
(including the end-of-turn token the model must learn to stop with).
"""

from __future__ import annotations

from typing import Any

from tuitune.data.schema import Conversation, Example

TRAINED_STYLE = "bold green"
MASKED_STYLE = "dim"


def conversation_of(example: Example) -> Conversation | None:
    """The conversation to preview; a pair shows its chosen side, raw text has none."""
    if example.kind == "preference":
        return example.data["prompt"] + example.data["chosen"]
    return example.data.get("messages")


def mask_segments(tokenizer: Any, example: Example, assistant_only: bool = True) -> list[tuple[str, bool]]:
    """(text, trained) runs in order; consecutive tokens with the same flag are decoded together."""
    conv = conversation_of(example)
    if conv is None:  # raw text: every token is trained
        ids = tokenizer(example.data["text"], add_special_tokens=False)["input_ids"]
        return [(tokenizer.decode(ids), True)] if ids else []
    from tuitune.train.tokenize import encode

    enc = encode(tokenizer, conv, assistant_only)
    segments: list[tuple[str, bool]] = []
    run: list[int] = []
    flag = None
    for token, label in zip(enc["input_ids"], enc["labels"]):
        trained = label != -100
        if flag is not None and trained != flag:
            segments.append((tokenizer.decode(run), flag))
            run = []
        run.append(token)
        flag = trained
    if run:
        segments.append((tokenizer.decode(run), bool(flag)))
    return segments


def render_preview(example: Example, segments: list[tuple[str, bool]], tokenizer: Any) -> Any:
    """A rich renderable: a header with the counts, then the text coloured by the mask."""
    from rich.console import Group
    from rich.text import Text

    trained = sum(len(tokenizer(t, add_special_tokens=False)["input_ids"]) for t, f in segments if f)
    total = sum(len(tokenizer(t, add_special_tokens=False)["input_ids"]) for t, _ in segments)
    header = Text.assemble((f"{example.where}", "bold"), f"  ~{trained} of ~{total} tokens trained  ",
                           ("trained", TRAINED_STYLE), " / ", ("masked", MASKED_STYLE))
    body = Text()
    for text, flag in segments:
        body.append(text, style=TRAINED_STYLE if flag else MASKED_STYLE)
    return Group(header, body, Text(""))


def plain_preview(segments: list[tuple[str, bool]]) -> str:
    """The same without colour: trained text inside ⟦ ⟧ (for logs, tests and --no-color)."""
    return "".join(f"⟦{t}⟧" if f else t for t, f in segments)
