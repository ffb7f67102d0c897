"""Turn conversations into token ids and labels, with the loss on the assistant's turns only.

The chat template is rendered as text; each assistant turn's character span is found by
rendering the conversation up to that turn, and tokens starting inside a span are trained.
The span runs to the end of the turn, so the end-of-turn token is learned too — a model that
never learned it never stops. This works with any template that renders a conversation's
prefix as a prefix of the whole; for one that doesn't, only the last answer is trained.
"""

from __future__ import annotations

from typing import Any

from tuitune.data.loader import Conversation
from tuitune.models.tokenizer import Tokenizer  # transformers' or the light one (no import of transformers here)


def encode(tokenizer: Tokenizer, conversation: Conversation, assistant_only: bool = True) -> dict[str, list[int]]:
    text = render(tokenizer, conversation)
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    input_ids: list[int] = enc["input_ids"]
    if not assistant_only:
        return {"input_ids": input_ids, "labels": list(input_ids)}
    spans = assistant_spans(tokenizer, conversation, text)
    labels = [
        token if any(start <= begin < end for start, end in spans) else -100
        for token, (begin, _) in zip(input_ids, enc["offset_mapping"], strict=False)
    ]
    return {"input_ids": input_ids, "labels": labels}


def render(tokenizer: Tokenizer, messages: Conversation, generation_prompt: bool = False) -> str:
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=generation_prompt)


def assistant_spans(tokenizer: Tokenizer, conversation: Conversation, text: str) -> list[tuple[int, int]]:
    spans = []
    for i, message in enumerate(conversation):
        if message["role"] != "assistant":
            continue
        before = render(tokenizer, conversation[:i], generation_prompt=True)
        through = render(tokenizer, conversation[: i + 1])
        if text.startswith(through) and through.startswith(before):
            spans.append((len(before), len(through)))
    if not spans:
        # Not prefix-stable (e.g. a template that rewrites earlier turns): train the last answer.
        before = render(tokenizer, conversation[:-1], generation_prompt=True)
        if text.startswith(before):
            spans.append((len(before), len(text)))
    return spans


def encode_all(tokenizer: Tokenizer, conversations: list[Conversation], assistant_only: bool) -> Any:
    """A ``datasets.Dataset`` of input_ids and labels, ready for TRL's SFTTrainer."""
    from datasets import Dataset

    rows = [encode(tokenizer, c, assistant_only) for c in conversations]
    return Dataset.from_list(rows)


def encode_pair(tokenizer: Tokenizer, row: dict[str, Conversation], max_prompt: int | None = None,
                max_completion: int | None = None) -> dict[str, list[int]]:
    """A preference row as TRL's DPO collator takes it: prompt, chosen and rejected token ids.

    The answers are cut where the tokenized prompt and each full conversation stop agreeing, as
    TRL does itself, so a template that renders the prompt alone a little differently still
    trains only the answers. The prompt keeps its end (the part next to the answer, with the
    assistant header); each answer keeps its start.
    """
    prompt = _ids(tokenizer, render(tokenizer, row["prompt"], generation_prompt=True))
    chosen = _ids(tokenizer, render(tokenizer, row["prompt"] + row["chosen"]))
    rejected = _ids(tokenizer, render(tokenizer, row["prompt"] + row["rejected"]))
    cut = min(_common_prefix(prompt, chosen), _common_prefix(prompt, rejected))
    prompt_ids, chosen_ids, rejected_ids = prompt[:cut], chosen[cut:], rejected[cut:]
    if max_prompt is not None:
        prompt_ids = prompt_ids[-max_prompt:]
    if max_completion is not None:
        chosen_ids, rejected_ids = chosen_ids[:max_completion], rejected_ids[:max_completion]
    return {"prompt_ids": prompt_ids, "chosen_ids": chosen_ids, "rejected_ids": rejected_ids}


def _ids(tokenizer: Tokenizer, text: str) -> list[int]:
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def _common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n
