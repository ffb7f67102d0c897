"""What the data asks of training, read from the rows alone (docs/guidance.md, "Reading the task"):

- *deliberate repetition*: every distinct row (or nearly) occurs a similar number of times, two
  or more — a file upsampled on purpose, not one with accidental duplicates. Cleaning still drops
  the repeats (a held-out row must have no copy in training), reports them as
  ``deliberate_repeat`` with the factor, and the guidance multiplies the epochs to match.
- *knowledge-like data*: short answers that several differently worded questions share — the
  same fact taught in several phrasings. It needs more passes over each fact than a style does,
  and a split that keeps all phrasings of a fact on one side.

Pure functions of the examples; no tokenizer, no torch.
"""

from __future__ import annotations

import statistics
from collections import Counter
from typing import Any

from tuitune.data.dedup import exact_key, normalized
from tuitune.data.schema import Example

DELIBERATE_SHARE = 0.9  # this share of the distinct rows must repeat about the same number of times
MIN_DISTINCT = 4  # a file of two rows each written twice says nothing about intent
SHARED_ANSWER_SHARE = 0.5  # knowledge-like: at least half the rows share their answer with another question
SHORT_ANSWER_WORDS = 40  # ... and the answers are short (a fact, not an essay)
# ... and there are several facts: one answer to every question is a fixed reply (a format or a
# refusal), and grouping its rows by answer would leave nothing to validate on.
MIN_FACTS = 3


def repeat_counts(examples: list[Example]) -> list[int]:
    """How often each distinct row occurs (ignoring case and spacing), in first-seen order."""
    return list(Counter(exact_key(e) for e in examples).values())


def deliberate_repeat(counts: list[int]) -> int | None:
    """The upsampling factor when the repeats look deliberate, else None: at least
    ``MIN_DISTINCT`` distinct rows, the median row occurring twice or more, and
    ``DELIBERATE_SHARE`` of the rows within a quarter (at least one) of that median."""
    if len(counts) < MIN_DISTINCT:
        return None
    median = round(statistics.median(counts))
    if median < 2:
        return None
    near = sum(abs(c - median) <= max(1, median // 4) for c in counts)
    return median if near >= DELIBERATE_SHARE * len(counts) else None


def answer_of(example: Example) -> str | None:
    """The last assistant turn of a conversation (None for other kinds)."""
    if example.kind != "sft":
        return None
    messages = example.data["messages"]
    return next((m["content"] for m in reversed(messages) if m["role"] == "assistant"), None)


def group_key(example: Example) -> str:
    """What keeps rows together in a split of knowledge-like data: the normalized answer."""
    answer = answer_of(example)
    return normalized(answer) if answer is not None else exact_key(example)


def knowledge(examples: list[Example]) -> dict[str, Any]:
    """``{"knowledge_like", "shared_answer_share", "answer_words", "facts"}`` of distinct rows:
    the share of rows whose answer another, differently worded question has too, the mean answer
    length in words, and how many distinct answers (facts) there are."""
    answers = [(normalized(e.prompt_text()), normalized(a)) for e in examples if (a := answer_of(e)) is not None]
    if not answers:
        return {"knowledge_like": False, "shared_answer_share": 0.0, "answer_words": 0.0, "facts": 0}
    prompts_per_answer: dict[str, set[str]] = {}
    for prompt, answer in answers:
        prompts_per_answer.setdefault(answer, set()).add(prompt)
    shared = sum(len(prompts_per_answer[a]) > 1 for _, a in answers) / len(answers)
    words = sum(len(a.split()) for _, a in answers) / len(answers)
    like = shared >= SHARED_ANSWER_SHARE and words <= SHORT_ANSWER_WORDS and len(prompts_per_answer) >= MIN_FACTS
    return {"knowledge_like": like, "shared_answer_share": round(shared, 3), "answer_words": round(words, 1),
            "facts": len(prompts_per_answer)}


def distinct(examples: list[Example]) -> list[Example]:
    """The first occurrence of each row, as exact dedup keeps it."""
    seen: set[str] = set()
    out = []
    for e in examples:
        key = exact_key(e)
        if key not in seen:
            seen.add(key)
            out.append(e)
    return out


def describe(examples: list[Example]) -> dict[str, Any]:
    """The report's ``shape``: the repeat factor (None: not deliberate) and the knowledge facts,
    judged on the distinct rows."""
    return {"repeat_factor": deliberate_repeat(repeat_counts(examples)), **knowledge(distinct(examples))}
