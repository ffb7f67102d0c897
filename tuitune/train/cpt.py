"""Continued pretraining (``[train] stage = "cpt"``): plain documents, loss on every token.

Reads top to bottom: documents (data/corpus.py: read, cleaned, whole documents held out) →
token windows of ``max_seq_len`` with the end-of-text token between documents → the SFT
trainer (train/sft.py: the same speed plan, LoRA/QLoRA/full, checkpoints) on those windows,
with no chat template and no masking → save. The result keeps the base's tokenizer and chat
template, so an instruct model stays a chat model and `run:<id>` trains SFT on top.

Added to what SFT reports: ``perplexity`` (exp of the held-out loss) in every ``eval`` event,
the base's own at step 0 (an evaluation before the first step), and probes that are plain
completions of the held-out documents' sentence starts.
"""

from __future__ import annotations

import math
import re
from typing import Any

from transformers import TrainerCallback

from tuitune.data.corpus import encode_documents
from tuitune.events import EventWriter
from tuitune.preset import Preset
from tuitune.runs.store import RunDir
from tuitune.train import session as stage
from tuitune.train.probes import ProbeCallback, complete, prompt_text
from tuitune.train.sft import sft_trainer

PROBE_WORDS = 8  # a probe gives this many words of a held-out sentence and asks for the rest
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def train_cpt(run: RunDir, preset: Preset, events: EventWriter) -> str:
    """Train (or resume) the run; returns the final status: ``done`` or ``stopped``."""
    length = preset.train.max_seq_len

    def encode(tokenizer: Any, train: list[dict], val: list[dict]) -> tuple[Any, Any]:
        from datasets import Dataset

        train_w = encode_documents(tokenizer, [r["text"] for r in train], length)
        val_w = encode_documents(tokenizer, [r["text"] for r in val], length)
        # Labels are the ids themselves: every token trains (the collator masks only padding).
        return (Dataset.from_dict({"input_ids": train_w, "labels": train_w}),
                Dataset.from_dict({"input_ids": val_w, "labels": val_w}) if val_w else None)

    session = stage.start(run, preset, events, encode, make_probes=completion_probes)
    trainer = sft_trainer(session.run, session.preset, session.hw, session.model, session.tokenizer,
                          session.train_ds, session.val_ds, session.events,
                          [PerplexityCallback(), *session.callbacks()], available=session.available,
                          attention=session.attention)
    # The base's held-out perplexity, the number every later one is read against.
    trainer.args.eval_on_start = session.val_ds is not None and session.resume_from is None
    return stage.finish(session, trainer)


class PerplexityCallback(TrainerCallback):
    """Adds ``eval_perplexity`` = exp(eval_loss) to the evaluation's logs. It runs before the
    event callback, which then writes it into the ``eval`` event as ``perplexity``."""

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        if logs is not None and "eval_loss" in logs:
            logs["eval_perplexity"] = round(math.exp(min(float(logs["eval_loss"]), 50.0)), 4)


def sentence_starts(texts: list[str], count: int, words: int = PROBE_WORDS) -> list[str]:
    """The first ``words`` words of up to ``count`` sentences long enough to be worth finishing,
    one per document in turn (the first sentence of each, then the second …)."""
    sentences = [[s for s in _SENTENCE_END.split(" ".join(t.split())) if len(s.split()) >= words + 3] for t in texts]
    out: list[str] = []
    for depth in range(max((len(s) for s in sentences), default=0)):
        for doc in sentences:
            if len(out) < count and depth < len(doc):
                out.append(" ".join(doc[depth].split()[:words]))
    return out


def completion_probes(run: RunDir, events: EventWriter, tokenizer: Any, preset: Preset, train: list[dict],
                      val: list[dict]) -> ProbeCallback:
    starts = preset.eval.probes or sentence_starts([r["text"] for r in (val or train)], preset.eval.probe_count or 0)
    prompts = [[{"role": "user", "content": s}] for s in starts]  # the form ProbeCallback keeps and reports
    return CompletionProbes(run, events, tokenizer, prompts, preset.eval.probe_tokens)


class CompletionProbes(ProbeCallback):
    """Probes as plain text continuations: no chat template, the document's words go on."""

    def ask(self, model: Any, step: int, label: str) -> list[str]:
        starts = [prompt_text(p) for p in self.prompts]
        answers = complete(model, self.tokenizer, starts, self.max_new_tokens)
        self.events.emit("probe", step=step, label=label, completion=True,
                         answers=[{"prompt": s, "answer": a} for s, a in zip(starts, answers, strict=False)])
        return answers
