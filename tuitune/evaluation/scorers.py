"""Two ways to ask a model the same three questions — a greedy answer, the log-likelihood of a
continuation, and several continuations of one prompt — so base and tuned are measured alike
whether a side is a GGUF file (llama.cpp) or a model that needs torch (an adapter, a folder).

The continuation's tokens are those the chat template puts after the prompt: the answer and its
end-of-turn token, exactly what SFT trains, so ``ref_ppl`` is the validation loss made readable.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Protocol

Message = dict[str, str]


class Scorer(Protocol):
    name: str

    def answer(self, prompt: list[Message], max_tokens: int) -> str: ...

    def continuations(self, prompt: list[Message], answers: list[str]) -> list[tuple[float, int]]:
        """For each answer: (sum of its tokens' log-probabilities, its token count) after ``prompt``."""

    def text_loglik(self, text: str) -> tuple[float, int]:
        """(log-likelihood, tokens scored) of raw text, each token given the ones before it."""

    def close(self) -> None: ...


def split_ids(prompt_ids: list[int], full_ids: list[int], tail_ids: Any) -> list[int]:
    """The continuation's ids: what ``full`` adds after ``prompt`` when the prompt is a prefix
    of it (templates render that way), else the answer tokenized alone."""
    if full_ids[:len(prompt_ids)] == prompt_ids and len(full_ids) > len(prompt_ids):
        return full_ids[len(prompt_ids):]
    return list(tail_ids())


class LlamaScorer:
    """A GGUF through llama.cpp, reusing the chat backend's loading and sandboxed template."""

    def __init__(self, path: Path, n_ctx: int = 1024):
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        from tuitune.chat.llama_backend import LlamaCppBackend

        self.backend = LlamaCppBackend(path, n_ctx=n_ctx, logits_all=True)
        self.llm = self.backend.llm
        self.name = self.backend.name
        chat = self.backend.formatter
        self._whole = Jinja2ChatFormatter(template=chat.template, eos_token=chat.eos_token, bos_token=chat.bos_token,
                                          add_generation_prompt=False)

    def _ids(self, text: str) -> list[int]:
        return self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)

    def _prompt_ids(self, prompt: list[Message]) -> list[int]:
        return self._ids(self.backend.formatter(messages=prompt).prompt)

    def answer(self, prompt: list[Message], max_tokens: int) -> str:
        from tuitune.chat.backend import GenerationParams

        keep = self.backend.n_ctx - max_tokens - 1
        while len(self._prompt_ids(prompt)) > keep and len(prompt) > 1:
            prompt = prompt[1:]  # the oldest turns go first when a prompt is too long for the context
        params = GenerationParams(temperature=0.0, top_p=1.0, max_tokens=max_tokens, seed=0)
        return "".join(self.backend.stream(prompt, params)).strip()

    def continuations(self, prompt: list[Message], answers: list[str]) -> list[tuple[float, int]]:
        import numpy as np

        prompt_ids = self._prompt_ids(prompt)
        pieces = []
        for a in answers:
            full = self._ids(self._whole(messages=[*prompt, {"role": "assistant", "content": a}]).prompt)
            pieces.append(split_ids(prompt_ids, full, lambda a=a: self._ids(a)))
        room = self.backend.n_ctx - max(len(p) for p in pieces)
        prompt_ids = prompt_ids[-max(room, 1):]
        self.llm.reset()
        self.llm.eval(prompt_ids)
        out = []
        for ids in pieces:
            self.llm.n_tokens = len(prompt_ids)  # rewind to the prompt: its cache is reused
            self.llm.eval(ids)
            logits = np.asarray(self.llm.scores[len(prompt_ids) - 1:len(prompt_ids) + len(ids) - 1], dtype=np.float64)
            out.append((_loglik(logits, ids), len(ids)))
        return out

    def text_loglik(self, text: str) -> tuple[float, int]:
        import numpy as np

        ids = self.llm.tokenize(text.encode("utf-8"), add_bos=True, special=False)[:self.backend.n_ctx]
        self.llm.reset()
        self.llm.eval(ids)
        logits = np.asarray(self.llm.scores[:len(ids) - 1], dtype=np.float64)
        return _loglik(logits, ids[1:]), len(ids) - 1

    def close(self) -> None:
        self.backend.close()


def _loglik(logits: Any, ids: list[int]) -> float:
    """Sum of log softmax(logits[i])[ids[i]], in float64 (numpy)."""
    import numpy as np

    top = logits.max(axis=1, keepdims=True)
    log_z = np.log(np.exp(logits - top).sum(axis=1)) + top[:, 0]
    return float(sum(logits[i, t] - log_z[i] for i, t in enumerate(ids)))


class TorchScorer:
    """A run's adapter or full model, its base, or a model folder, loaded as the chat worker loads it."""

    def __init__(self, target: Path, base: bool = False):
        import torch

        from tuitune.chat.serve import load
        from tuitune.weights.merge import end_token_ids

        torch.set_grad_enabled(False)
        self.model, self.tokenizer, self.name = load(target, base)
        self.model.eval()
        self.end_ids = end_token_ids(self.tokenizer)
        self.n_ctx = int(getattr(self.model.config, "max_position_embeddings", 2048) or 2048)

    def _render(self, messages: list[Message], generation_prompt: bool) -> list[int]:
        text = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=generation_prompt)
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def answer(self, prompt: list[Message], max_tokens: int) -> str:
        import torch

        ids = self._render(prompt, True)[-(self.n_ctx - max_tokens - 1):]
        inputs = torch.tensor([ids])
        out = self.model.generate(input_ids=inputs, attention_mask=torch.ones_like(inputs), max_new_tokens=max_tokens,
                                  do_sample=False, eos_token_id=self.end_ids, pad_token_id=self.tokenizer.pad_token_id)
        return self.tokenizer.decode(out[0, len(ids):], skip_special_tokens=True).strip()

    def continuations(self, prompt: list[Message], answers: list[str]) -> list[tuple[float, int]]:
        prompt_ids = self._render(prompt, True)
        out = []
        for a in answers:
            full = self._render([*prompt, {"role": "assistant", "content": a}], False)
            ids = split_ids(prompt_ids, full, lambda a=a: self.tokenizer(a, add_special_tokens=False)["input_ids"])
            head = prompt_ids[-max(self.n_ctx - len(ids), 1):]
            out.append((self._loglik(head, ids), len(ids)))
        return out

    def text_loglik(self, text: str) -> tuple[float, int]:
        ids = self.tokenizer(text, add_special_tokens=True)["input_ids"][:self.n_ctx]
        return self._loglik(ids[:1], ids[1:]), len(ids) - 1

    def _loglik(self, head: list[int], ids: list[int]) -> float:
        import torch

        logits = self.model(input_ids=torch.tensor([head + ids])).logits[0, len(head) - 1:-1].double()
        logp = torch.log_softmax(logits, dim=-1)
        return float(logp[torch.arange(len(ids)), torch.tensor(ids)].sum())

    def close(self) -> None:
        del self.model


def perplexity(loglik: float, tokens: int) -> float | None:
    return math.exp(-loglik / tokens) if tokens else None
