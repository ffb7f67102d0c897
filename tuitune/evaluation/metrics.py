"""Scoring one side (base or tuned) on the task's rows and on the general set.

Per answer row: ``contains`` (the reference, case-insensitive, inside the answer), ``exact``
(equal after trimming), ``rouge_l`` (rouge-score's ROUGE-L F1) and ``ref_ppl``. Per
multiple-choice row: the choice with the highest log-likelihood per character (length-fair,
as lm-eval's ``acc_norm``). Per text row: perplexity. Overall: the mean of each row metric, and
perplexities over all tokens together (as a loss averages).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tuitune.evaluation.scorers import Scorer, perplexity

GENERAL_FILE = Path(__file__).resolve().parent / "general" / "eval.jsonl"
Tick = Callable[[str], None]


def answer_tokens(reference: str) -> int:
    """Room for a greedy answer: about twice the reference (4 characters a token), 32 to 256."""
    return max(32, min(256, len(reference) // 2 + 16))


def rouge_l(reference: str, answer: str) -> float:
    from rouge_score import rouge_scorer

    global _ROUGE
    if _ROUGE is None:
        _ROUGE = rouge_scorer.RougeScorer(["rougeL"])
    return float(_ROUGE.score(reference, answer)["rougeL"].fmeasure)


_ROUGE: Any = None


def score_row(scorer: Scorer, row: dict[str, Any]) -> dict[str, Any]:
    if row["kind"] == "answer":
        ref = row["reference"]
        answer = scorer.answer(row["prompt"], answer_tokens(ref))
        [(loglik, tokens)] = scorer.continuations(row["prompt"], [ref])
        return {"answer": answer, "contains": float(ref.strip().lower() in answer.lower()) if ref.strip() else None,
                "exact": float(" ".join(answer.split()) == " ".join(ref.split())), "rouge_l": rouge_l(ref, answer),
                "ref_ppl": perplexity(loglik, tokens), "_nll": (-loglik, tokens)}
    if row["kind"] == "choice":
        pick = best_choice(scorer, row["prompt"], row["choices"])
        return {"answer": row["choices"][pick], "choice_acc": float(pick == row["answer"])}
    loglik, tokens = scorer.text_loglik(row["text"])
    return {"text_ppl": perplexity(loglik, tokens), "_text_nll": (-loglik, tokens)}


def best_choice(scorer: Scorer, prompt: list[dict[str, str]], choices: list[str]) -> int:
    scores = scorer.continuations(prompt, choices)
    return max(range(len(choices)), key=lambda i: scores[i][0] / max(len(choices[i]), 1))


def overall(scored: list[dict[str, Any]]) -> dict[str, Any]:
    """Means of the row metrics; perplexities over all tokens at once."""
    out: dict[str, Any] = {}
    for name in ("contains", "exact", "rouge_l", "choice_acc"):
        values = [s[name] for s in scored if s.get(name) is not None]
        if values:
            out[name] = sum(values) / len(values)
    for name, key in (("ref_ppl", "_nll"), ("text_ppl", "_text_nll")):
        pairs = [s[key] for s in scored if key in s]
        if pairs:
            out[name] = perplexity(-sum(n for n, _ in pairs), sum(t for _, t in pairs))
    return out


def public(scored: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in scored.items() if not k.startswith("_")}


# ----- the general set -------------------------------------------------------------------------

def general_items(limit: int | None = None) -> list[dict[str, Any]]:
    """The general set; with ``limit``, the first ``limit`` items of each part."""
    items = [json.loads(line) for line in GENERAL_FILE.read_text(encoding="utf-8").splitlines() if line.strip()]
    if limit is None:
        return items
    seen: dict[str, int] = {}
    out = []
    for item in items:
        seen[item["part"]] = seen.get(item["part"], 0) + 1
        if seen[item["part"]] <= limit:
            out.append(item)
    return out


def check(item: dict[str, Any], answer: str) -> bool:
    """Whether a generated answer passes its item's check (arithmetic: the last number, since
    models often restate the sum first: "2 + 3 = 5")."""
    text = answer.strip()
    if item["part"] == "arithmetic":
        numbers = re.findall(r"-?\d+", text.replace(",", ""))
        return bool(numbers) and numbers[-1] == item["answer"]
    kind, value = item["check"], item["value"]
    low = text.lower()
    if kind == "contains":  # a value in capitals must be written in capitals
        return value in text if value.isupper() and len(value) > 1 else value.lower() in low
    words = value.split("|")
    if kind == "one_of":
        return any(re.search(rf"\b{re.escape(w)}\b", low) for w in words)
    if kind == "all_of":
        return all(re.search(rf"\b{re.escape(w)}\b", low) for w in words)
    if kind == "min_commas":
        return text.count(",") >= int(value)
    raise ValueError(f"unknown check {kind!r}")


GENERAL_TOKENS = {"arithmetic": 12, "instruct": 32}


def score_general_item(scorer: Scorer, item: dict[str, Any]) -> dict[str, Any]:
    part = item["part"]
    if part == "knowledge":
        prompt = [{"role": "user", "content": item["question"]}]
        pick = best_choice(scorer, prompt, item["choices"])
        return {"part": part, "answer": item["choices"][pick], "ok": pick == item["answer"]}
    if part == "text":
        loglik, tokens = scorer.text_loglik(item["text"])
        return {"part": part, "nll": -loglik, "tokens": tokens}
    answer = scorer.answer([{"role": "user", "content": item["prompt"]}], GENERAL_TOKENS[part])
    return {"part": part, "answer": answer, "ok": check(item, answer)}


def general_summary(scored: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for part in ("knowledge", "arithmetic", "instruct"):
        oks = [s["ok"] for s in scored if s["part"] == part]
        if oks:
            out[part] = sum(oks) / len(oks)
    text = [s for s in scored if s["part"] == "text"]
    if text:
        out["text_ppl"] = perplexity(-sum(s["nll"] for s in text), sum(s["tokens"] for s in text))
    accuracies = [out[p] for p in ("knowledge", "arithmetic", "instruct") if p in out]
    if accuracies:
        out["score"] = sum(accuracies) / len(accuracies)
    return out
