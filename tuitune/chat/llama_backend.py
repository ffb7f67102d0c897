"""Chat on a .gguf file through llama-cpp-python, with the chat template from the file's
metadata rendered in llama-cpp-python's sandboxed Jinja environment. A template that tries to
reach outside the sandbox is refused when the model is opened, before anyone types."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from tuitune.chat.backend import ChatError, GenerationParams, Message
from tuitune.hardware.cpu import threads as cpu_threads

END_TOKENS = ("<|im_end|>", "<|eot_id|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "</s>")
_PROBE = [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}, {"role": "assistant", "content": "a"},
          {"role": "user", "content": "u"}]


DEFAULT_CTX = 2048
"""Tokens of context a GGUF chat opens with (`tuitune chat --ctx` changes it)."""

class LlamaCppBackend:
    def __init__(self, path: str | Path, n_ctx: int = DEFAULT_CTX, chat_template: str | None = None,
                 threads: int | None = None, logits_all: bool = False):
        """``logits_all``: keep every position's logits (what scoring a continuation needs)."""
        from jinja2.exceptions import SecurityError, TemplateError
        from llama_cpp import Llama
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        path = Path(path)
        if not path.is_file():
            raise ChatError(f"{path}: no such GGUF file")
        try:
            n = threads or cpu_threads()
            self.llm = Llama(str(path), n_ctx=n_ctx, verbose=False, n_threads=n, n_threads_batch=n,
                             logits_all=logits_all)
        except (ValueError, RuntimeError) as e:
            raise ChatError(f"{path}: llama.cpp cannot load this file ({e}); is it a complete .gguf?") from None
        self.name = path.name
        self.n_ctx = self.llm.n_ctx()
        template = chat_template or self.llm.metadata.get("tokenizer.chat_template")
        if not template:
            self.close()
            raise ChatError(f"{path}: the file has no chat template in its metadata; export it again with tuitune")
        vocab = self.llm._model
        end_ids = [vocab.token_eos()] + [t for t in (self._token_id(s) for s in END_TOKENS) if t is not None]
        try:
            self.formatter = Jinja2ChatFormatter(
                template=template,
                eos_token=vocab.token_get_text(vocab.token_eos()),
                bos_token=vocab.token_get_text(vocab.token_bos()),
                stop_token_ids=end_ids,
            )
            self.formatter(messages=_PROBE)
        except SecurityError as e:
            self.close()
            raise ChatError(f"{path}: refused: the chat template tries to escape its sandbox ({e})") from None
        except (TemplateError, ValueError, TypeError) as e:
            self.close()
            raise ChatError(f"{path}: the chat template does not render ({e})") from None
        self.llm.chat_handler = self.formatter.to_chat_handler()

    def _token_id(self, text: str) -> int | None:
        ids = self.llm.tokenize(text.encode(), add_bos=False, special=True)
        return ids[0] if len(ids) == 1 and self.llm._model.token_get_text(ids[0]) == text else None

    def stream(self, messages: list[Message], params: GenerationParams) -> Iterator[str]:
        chunks = self.llm.create_chat_completion(
            messages, stream=True, temperature=params.temperature, top_p=params.top_p,
            max_tokens=params.max_tokens, seed=params.seed,
        )
        for chunk in chunks:
            text = chunk["choices"][0]["delta"].get("content")
            if text:
                yield text

    def count_tokens(self, messages: list[Message]) -> int:
        prompt = self.formatter(messages=messages).prompt
        return len(self.llm.tokenize(prompt.encode("utf-8"), add_bos=False, special=True))

    def close(self) -> None:
        # Close explicitly: a Llama left to the garbage collector at exit prints a traceback.
        llm = getattr(self, "llm", None)
        if llm is not None:
            llm.close()
            self.llm = None
