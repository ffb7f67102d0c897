"""Probe prompts: a few fixed prompts the model answers before training, at each evaluation and
at the end, so a person can read how the answers change. Written as ``probe`` events and, base
against tuned, in the run's ``samples.json`` (shown by ``tuitune runs show``).

Greedy and short on purpose: on the CPU every generated token costs a forward pass.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from tuitune.events import EventWriter
from tuitune.paths import atomic_write_text
from tuitune.runs.store import RunDir


def probe_prompts(probes: list[str], system_prompt: str | None, val: list[list[dict]], train: list[list[dict]],
                  count: int) -> list[list[dict]]:
    """Conversations ending where the model should answer: the preset's probes, else the first
    rows of the validation split (of the training split when there is none), cut before their
    last answer."""
    if probes:
        head = [{"role": "system", "content": system_prompt}] if system_prompt else []
        return [head + [{"role": "user", "content": p}] for p in probes]
    out = []
    for conversation in (val or train)[:count]:
        last = max((i for i, m in enumerate(conversation) if m["role"] == "assistant"), default=None)
        if last:
            out.append(conversation[:last])
    return out


def prompt_text(conversation: list[dict]) -> str:
    return next((m["content"] for m in reversed(conversation) if m["role"] == "user"), conversation[-1]["content"])


def answer(model: Any, tokenizer: Any, prompts: list[list[dict]], max_new_tokens: int) -> list[str]:
    """Greedy answers to conversations, through the chat template."""
    texts = [tokenizer.apply_chat_template(c, tokenize=False, add_generation_prompt=True) for c in prompts]
    return complete(model, tokenizer, texts, max_new_tokens)


def complete(model: Any, tokenizer: Any, texts: list[str], max_new_tokens: int) -> list[str]:
    """Greedy continuations of plain texts, the model put back in training mode after."""
    import torch

    was_training = model.training
    model.eval()
    out = []
    try:
        for text in texts:
            inputs = tokenizer(text, return_tensors="pt", add_special_tokens=False).to(model.device)
            with torch.no_grad():
                ids = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False, use_cache=True,
                                     pad_token_id=tokenizer.pad_token_id)
            out.append(tokenizer.decode(ids[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True).strip())
    finally:
        if was_training:
            model.train()
    return out


class ProbeCallback(TrainerCallback):
    """Answers the probes with the base model (step 0) and after every evaluation."""

    def __init__(self, run: RunDir, events: EventWriter, tokenizer: Any, prompts: list[list[dict]], max_new_tokens: int):
        self.run, self.events, self.tokenizer = run, events, tokenizer
        self.prompts, self.max_new_tokens = prompts, max_new_tokens

    @property
    def samples_file(self) -> Path:
        return self.run.path / "samples.json"

    def ask(self, model: Any, step: int, label: str) -> list[str]:
        answers = answer(model, self.tokenizer, self.prompts, self.max_new_tokens)
        self.events.emit("probe", step=step, label=label,
                         answers=[{"prompt": prompt_text(p), "answer": a} for p, a in zip(self.prompts, answers, strict=False)])
        return answers

    def on_train_begin(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        # At step 0 a LoRA adapter is still the identity (B = 0), so this is the base model.
        if self.prompts and state.global_step == 0 and not self.samples_file.exists():
            base = self.ask(model, 0, "base")
            self._write({"prompts": [prompt_text(p) for p in self.prompts], "base": base})

    def on_evaluate(self, args: Any, state: Any, control: Any, model: Any = None, **kwargs: Any) -> None:
        if self.prompts:
            self.ask(model, state.global_step, "eval")

    def finish(self, model: Any, step: int, weights: str) -> None:
        """The tuned model's answers next to the base model's, in samples.json."""
        if not self.prompts:
            return
        tuned = self.ask(model, step, "tuned")
        data = self._read() or {"prompts": [prompt_text(p) for p in self.prompts], "base": None}
        data |= {"tuned": tuned, "tuned_step": step, "weights": weights}
        self._write(data)
        self.events.emit("samples", path=str(self.samples_file), step=step)

    def samples(self) -> dict | None:
        """samples.json as written: prompts, base and tuned answers."""
        return self._read()

    def _read(self) -> dict | None:
        try:
            return json.loads(self.samples_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def _write(self, data: dict) -> None:
        atomic_write_text(self.samples_file, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
