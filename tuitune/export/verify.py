"""Check an export before calling it done:

1. the chat template gives the same token ids through the HF tokenizer and through llama.cpp
   (llama-cpp-python's own sandboxed template renderer, on the template stored in the GGUF);
2. greedy answers to fixed prompts end on an end token within a sane length;
3. the 16-bit GGUF agrees with the merged HF model (top-1 next-token agreement), and each
   file's perplexity on held-out rows shows what its quantization costs.

Heavy: runs in the export worker.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tuitune.data.loader import Conversation

PROMPTS = ["Hello! Who are you?", "Name three colours.", "What is 2 + 2?"]
MAX_ANSWER_TOKENS = 200
MIN_AGREEMENT = 0.9


@dataclass
class Verification:
    passed: bool = True
    reasons: list[str] = field(default_factory=list)
    template_match: bool | None = None
    stops: list[dict[str, Any]] = field(default_factory=list)
    agreement: float | None = None
    perplexity: dict[str, float] = field(default_factory=dict)

    def fail(self, reason: str) -> None:
        self.passed = False
        self.reasons.append(reason)


def open_gguf(path: Path, n_ctx: int = 1024, logits_all: bool = False) -> Any:
    from llama_cpp import Llama

    from tuitune.hardware.cpu import threads

    return Llama(str(path), n_ctx=n_ctx, logits_all=logits_all, verbose=False, seed=0, n_threads=threads(),
                 n_threads_batch=threads())


def check_template(result: Verification, tokenizer: Any, llm: Any, conversations: list[Conversation]) -> None:
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    template = llm.metadata.get("tokenizer.chat_template")
    if not template:
        result.fail("the GGUF has no chat template in its metadata")
        return
    vocab = llm._model
    formatter = Jinja2ChatFormatter(
        template=template,
        eos_token=vocab.token_get_text(vocab.token_eos()),
        bos_token=vocab.token_get_text(vocab.token_bos()),
        add_generation_prompt=False,
    )
    for conversation in conversations:
        hf_ids = tokenizer(
            tokenizer.apply_chat_template(conversation, tokenize=False), add_special_tokens=False
        )["input_ids"]
        prompt = formatter(messages=conversation).prompt
        llama_ids = llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
        if list(hf_ids) != list(llama_ids):
            pairs = enumerate(zip(hf_ids, llama_ids, strict=False))
            at = next((i for i, (a, b) in pairs if a != b), min(len(hf_ids), len(llama_ids)))
            result.template_match = False
            result.fail(
                f"chat template mismatch: HF and llama.cpp token ids differ at position {at} "
                f"(HF {tokenizer.decode(hf_ids[at:at + 5])!r} vs llama.cpp {tokenizer.decode(llama_ids[at:at + 5])!r})"
            )
            return
    result.template_match = True


def check_stops(result: Verification, llm: Any, system_prompt: str | None, label: str = "") -> None:
    for prompt in PROMPTS:
        messages = ([{"role": "system", "content": system_prompt}] if system_prompt else []) + [
            {"role": "user", "content": prompt}
        ]
        reply = llm.create_chat_completion(messages, temperature=0.0, max_tokens=MAX_ANSWER_TOKENS, seed=0)
        choice = reply["choices"][0]
        tokens = reply["usage"]["completion_tokens"]
        result.stops.append({"file": label, "prompt": prompt, "finish_reason": choice["finish_reason"], "tokens": tokens,
                             "answer": choice["message"]["content"][:200]})
    runaway = [s for s in result.stops if s["file"] == label and s["finish_reason"] != "stop"]
    if runaway:
        result.fail(
            f"{label}: {len(runaway)} of {len(PROMPTS)} greedy answers did not stop within {MAX_ANSWER_TOKENS} tokens: "
            "the model never emits its end token (train on data that ends each answer, check the template's end token)"
        )


def check_agreement(result: Verification, hf_model: Any, llm: Any, sequences: list[list[int]]) -> None:
    import torch

    same = total = 0
    for ids in sequences:
        with torch.no_grad():
            hf_top = hf_model(torch.tensor([ids])).logits[0].argmax(-1).tolist()
        gguf_top = np.argmax(_scores(llm, ids), axis=-1).tolist()
        same += sum(a == b for a, b in zip(hf_top, gguf_top, strict=False))
        total += len(ids)
    result.agreement = same / max(1, total)
    if result.agreement < MIN_AGREEMENT:
        result.fail(f"the GGUF disagrees with the merged model: top-1 agreement {result.agreement:.0%} < {MIN_AGREEMENT:.0%}")


def perplexity(llm: Any, sequences: list[list[int]]) -> float:
    nll, count = 0.0, 0
    for ids in sequences:
        logits = _scores(llm, ids)[:-1].astype(np.float64)
        logits -= logits.max(axis=-1, keepdims=True)
        log_probs = logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))
        nll -= log_probs[np.arange(len(ids) - 1), ids[1:]].sum()
        count += len(ids) - 1
    return math.exp(nll / max(1, count))


def _scores(llm: Any, ids: list[int]) -> np.ndarray:
    llm.reset()
    llm.eval(ids)
    return np.array(llm.scores[: len(ids)], dtype=np.float32)


