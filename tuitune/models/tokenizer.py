"""A torch-free tokenizer: what the data layer needs of a model's tokenizer (token ids, offsets,
the chat template, decoding), built on the Rust ``tokenizers`` library and a sandboxed Jinja2,
so that ``tuitune data inspect --model M`` and the wizard's token statistics never import torch
or transformers (~3 s).

- A folder (or hub snapshot) whose ``tokenizer.json`` transformers would load as it is (the
  generic ``TokenizersBackend`` / ``PreTrainedTokenizerFast`` class) is read directly.
- Any other tokenizer is converted once by transformers in a worker process
  (``python -m tuitune.weights.save_tokenizer``) into ``$TUITUNE_HOME/cache/tokenizers/<key>/``
  and read from there afterwards: one that exists only inside a ``.gguf`` file (the bundled
  SmolLM2), only as a slow/sentencepiece one, or whose class transformers 5 rebuilds from its
  own definition (``Qwen2Tokenizer``, ``LlamaTokenizer``, … — the rebuilt pipeline can split
  text differently from tokenizer.json, and the worker trains with the rebuilt one).

The chat template is rendered the way transformers 5 renders it
(``transformers.utils.chat_template_utils``): an ImmutableSandboxedEnvironment with trim_blocks
and lstrip_blocks, loop controls, a ``{% generation %}`` tag, ``raise_exception``,
``strftime_now``, a ``tojson`` that does not escape HTML, and the special tokens as variables.
A test checks ids, offsets and rendered text against transformers' own tokenizer.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol

from tuitune.models.files import ModelFileError
from tuitune.models.ref import ModelRef, ModelRefError, parse_model_ref, unbundle
from tuitune.paths import cache_dir, safe_name

# For tokenizers that ship without a chat template. It uses only tokens every tokenizer has
# (the EOS token ends each assistant turn), so no embedding has to be added or resized. The
# worker's transformers tokenizer gets the same one (tuitune.weights.loading).
DEFAULT_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if message['role'] == 'system' %}{{ message['content'] + '\n\n' }}"
    "{% elif message['role'] == 'user' %}{{ '### User:\n' + message['content'] + '\n\n' }}"
    "{% elif message['role'] == 'assistant' %}{{ '### Assistant:\n' + message['content'] + eos_token + '\n\n' }}"
    "{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ '### Assistant:\n' }}{% endif %}"
)

# transformers' SPECIAL_TOKENS_ATTRIBUTES: the names a chat template sees as variables.
SPECIAL_TOKENS = ("bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token")
CONVERTED_MARKER = "tuitune-tokenizer.json"  # written last by tuitune.weights.save_tokenizer
# The files a tokenizer is made of: what the converter reads, so their identity keys its cache.
TOKENIZER_FILES = ("tokenizer", "vocab", "merges", "special_tokens", "added_tokens", "spiece", "sentencepiece",
                   "chat_template")
# tokenizer_config.json's `tokenizer_class` values for which transformers 5 loads tokenizer.json
# unchanged (tokenization_utils_tokenizers.TokenizersBackend.convert_to_native_format).
AS_IS_CLASSES = (None, "TokenizersBackend", "PreTrainedTokenizerFast")
# What a hub snapshot needs for the light tokenizer, and for the converter when it must run
# (config.json too: transformers reads the model type from it to choose a tokenizer class).
HUB_FILES = [f"{prefix}*" for prefix in TOKENIZER_FILES] + ["additional_chat_templates/*", "config.json"]
CACHE_FORMAT = 1  # bump when what the converter writes changes


class Tokenizer(Protocol):
    """What the data layer calls on a tokenizer: this module's and transformers' both fit."""

    def __call__(self, text: Any, add_special_tokens: bool = ..., **kwargs: Any) -> Any: ...

    def apply_chat_template(self, conversation: Any, **kwargs: Any) -> Any: ...

    def decode(self, token_ids: Any, **kwargs: Any) -> str: ...


class TokenizerError(ModelFileError):
    """A tokenizer that cannot be loaded; the message says what to do."""


class LightTokenizer:
    """The slice of a transformers tokenizer tuitune uses, on ``tokenizers`` alone."""

    def __init__(self, backend: Any, config: dict[str, Any], chat_template: str | dict[str, str] | None,
                 name_or_path: str) -> None:
        self.backend = backend
        # transformers encodes with padding and truncation off unless asked (a tokenizer.json
        # may carry either): token counts must be the text's own.
        backend.no_padding()
        backend.no_truncation()
        self.name_or_path = name_or_path
        self.chat_template = chat_template or DEFAULT_CHAT_TEMPLATE
        self.special_tokens = {k: v for k in SPECIAL_TOKENS if (v := _token_text(config.get(k))) is not None}
        if "pad_token" not in self.special_tokens and "eos_token" in self.special_tokens:
            self.special_tokens["pad_token"] = self.special_tokens["eos_token"]  # as tuitune's loader does
        # transformers skips this clean-up for BPE models (it would eat spaces before punctuation).
        self.clean_up_spaces = bool(config.get("clean_up_tokenization_spaces")) and type(backend.model).__name__ != "BPE"

    # The special tokens and their ids, as transformers spells them.
    bos_token = property(lambda self: self.special_tokens.get("bos_token"))
    eos_token = property(lambda self: self.special_tokens.get("eos_token"))
    pad_token = property(lambda self: self.special_tokens.get("pad_token"))
    unk_token = property(lambda self: self.special_tokens.get("unk_token"))
    bos_token_id = property(lambda self: self._id(self.bos_token))
    eos_token_id = property(lambda self: self._id(self.eos_token))
    pad_token_id = property(lambda self: self._id(self.pad_token))
    unk_token_id = property(lambda self: self._id(self.unk_token))

    def _id(self, token: str | None) -> int | None:
        return None if token is None else self.backend.token_to_id(token)

    def __len__(self) -> int:
        return self.backend.get_vocab_size(with_added_tokens=True)

    def __call__(self, text: str | list[str], add_special_tokens: bool = True,
                 return_offsets_mapping: bool = False) -> dict[str, Any]:
        if isinstance(text, str):
            one = self.backend.encode(text, add_special_tokens=add_special_tokens)
            out: dict[str, Any] = {"input_ids": one.ids, "attention_mask": one.attention_mask}
            if return_offsets_mapping:
                out["offset_mapping"] = one.offsets
            return out
        many = self.backend.encode_batch(list(text), add_special_tokens=add_special_tokens)
        out = {"input_ids": [e.ids for e in many], "attention_mask": [e.attention_mask for e in many]}
        if return_offsets_mapping:
            out["offset_mapping"] = [e.offsets for e in many]
        return out

    def encode(self, text: str, add_special_tokens: bool = True) -> list[int]:
        return self.backend.encode(text, add_special_tokens=add_special_tokens).ids

    def convert_tokens_to_ids(self, token: str) -> int | None:
        return self.backend.token_to_id(token)

    def decode(self, token_ids: int | list[int], skip_special_tokens: bool = False) -> str:
        ids = [token_ids] if isinstance(token_ids, int) else list(token_ids)
        text = self.backend.decode(ids, skip_special_tokens=skip_special_tokens)
        return _clean_up_spaces(text) if self.clean_up_spaces else text

    def apply_chat_template(self, conversation: list[dict[str, Any]], tokenize: bool = True,
                            add_generation_prompt: bool = False, return_dict: bool = True,
                            **kwargs: Any) -> Any:
        """One conversation rendered by the model's template (text with ``tokenize=False``)."""
        messages = [_aliased({k: v for k, v in m.items() if v is not None}) for m in conversation]
        if not messages:
            raise ValueError("Cannot apply chat template to an empty conversation. Provide at least one message.")
        text = _compile(self._template()).render(messages=messages, tools=None, documents=None,
                                                 add_generation_prompt=add_generation_prompt,
                                                 **{**self.special_tokens, **kwargs})
        if not tokenize:
            return text
        encoded = self(text, add_special_tokens=False)
        return encoded if return_dict else encoded["input_ids"]

    def _template(self) -> str:
        if isinstance(self.chat_template, str):
            return self.chat_template
        if "default" in self.chat_template:
            return self.chat_template["default"]
        raise TokenizerError(f"{self.name_or_path}: the tokenizer has several chat templates and none is the default "
                             f"({', '.join(sorted(self.chat_template))})")


def load_tokenizer(ref: str | ModelRef, notify: Callable[[str], None] | None = None) -> LightTokenizer:
    """The tokenizer of ``ref`` (a folder, a .gguf file, ``bundled:NAME`` or a hub id; a ``run:``
    reference resolved first with :func:`tuitune.runs.refs.readable_ref`). ``notify`` hears about
    the one-time conversion, which takes seconds. Raises :class:`TokenizerError` (or
    :class:`~tuitune.models.bundled.BundledNotFound`)."""
    try:
        model = unbundle(parse_model_ref(ref))
    except ModelRefError as e:
        raise TokenizerError(str(e)) from None
    if model.kind == "run":
        raise TokenizerError(f"{model.text}: a run's tokenizer is its starting model's; resolve the run first "
                             "(tuitune.runs.refs.readable_ref)")
    if model.kind == "gguf":
        assert model.path is not None
        if not model.path.is_file():
            raise TokenizerError(f"{model.text}: GGUF file not found")
        return _from_folder(_converted(model.text, model.path, [model.path], notify), str(model))
    if model.kind == "hub":
        folder = _hub_snapshot(model.value)
    else:
        assert model.path is not None
        if not model.path.is_dir():
            raise TokenizerError(f"{model.text}: no such model folder")
        folder = model.path
    tokenizer_class = _read_json(folder / "tokenizer_config.json").get("tokenizer_class")
    if not (folder / "tokenizer.json").is_file() or tokenizer_class not in AS_IS_CLASSES:
        files = sorted(p for p in folder.iterdir() if p.is_file() and p.name.startswith(TOKENIZER_FILES))
        if not files:
            raise TokenizerError(f"{model.text}: no tokenizer files (tokenizer.json, tokenizer.model, vocab.json …) "
                                 f"in {folder}")
        folder = _converted(model.text, folder, files, notify)
    return _from_folder(folder, str(model))


def _from_folder(folder: Path, name: str) -> LightTokenizer:
    from tokenizers import Tokenizer as Backend

    try:
        backend = Backend.from_file(str(folder / "tokenizer.json"))
    except Exception as e:  # noqa: BLE001 - tokenizers raises plain Exceptions for a bad file
        raise TokenizerError(f"{folder / 'tokenizer.json'}: cannot read it ({e})") from None
    config = _read_json(folder / "special_tokens_map.json") | _read_json(folder / "tokenizer_config.json")
    return LightTokenizer(backend, config, _chat_template(folder, config), name)


def _chat_template(folder: Path, config: dict[str, Any]) -> str | dict[str, str] | None:
    """As transformers 5 finds it: chat_template.jinja and additional_chat_templates/*.jinja
    before tokenizer_config.json's ``chat_template`` (a string or a list of named ones)."""
    templates: dict[str, str] = {}
    if (folder / "chat_template.jinja").is_file():
        templates["default"] = (folder / "chat_template.jinja").read_text(encoding="utf-8")
    extra = folder / "additional_chat_templates"
    for file in sorted(extra.glob("*.jinja")) if extra.is_dir() else []:
        templates[file.stem] = file.read_text(encoding="utf-8")
    if templates:
        return templates["default"] if list(templates) == ["default"] else templates
    template = config.get("chat_template")
    if isinstance(template, list):
        return {t["name"]: t["template"] for t in template}
    return template or None


def _converted(text: str, source: Path, files: list[Path], notify: Callable[[str], None] | None) -> Path:
    """The folder the worker converted the tokenizer of ``source`` (a .gguf file or a folder)
    into, converting it now if needed. The key covers the identity of the source's ``files``
    and the converter's version: an edited or replaced model, or another transformers, converts
    again."""
    stats = [(str(p.resolve()), p.stat().st_size, p.stat().st_mtime_ns) for p in files]
    try:
        converter = metadata.version("transformers")
    except metadata.PackageNotFoundError:
        converter = "missing"
    digest = hashlib.blake2b(json.dumps([CACHE_FORMAT, converter, stats]).encode(), digest_size=8).hexdigest()
    out = cache_dir("tokenizers", f"{safe_name(source.name, 'model', 32)}-{digest}")
    if (out / CONVERTED_MARKER).is_file():
        return out
    if notify is not None:
        notify(f"converting the tokenizer of {text} once (cached in {out})…")
    # The conversion needs transformers (and torch behind it): a worker process does it, so this
    # process stays light. It writes beside `out` and renames, so a reader never sees half.
    done = subprocess.run([sys.executable, "-m", "tuitune.weights.save_tokenizer", str(source.resolve()), str(out)],
                          capture_output=True, text=True, env={**os.environ, "TOKENIZERS_PARALLELISM": "false"})
    if done.returncode != 0 or not (out / CONVERTED_MARKER).is_file():
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        detail = lines[-1].removeprefix("error: ") if lines else f"the converter exited with {done.returncode}"
        raise TokenizerError(f"{text}: cannot read its tokenizer ({detail})")
    return out


def _hub_snapshot(repo_id: str) -> Path:
    """The tokenizer files of ``repo_id``, from the local Hugging Face cache or fetched into it."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    try:
        return Path(snapshot_download(repo_id, allow_patterns=HUB_FILES))
    except LocalEntryNotFoundError:
        hint = ("HF_HUB_OFFLINE=1 and it is not in the local Hugging Face cache" if os.environ.get("HF_HUB_OFFLINE") == "1"
                else "it is not in the local Hugging Face cache and the hub cannot be reached")
        raise TokenizerError(f"{repo_id}: cannot load its tokenizer: {hint}. Download it once while online "
                             f"(`hf download {repo_id}`), or give a local folder or .gguf file.") from None
    except (HfHubHTTPError, OSError, ValueError) as e:
        raise TokenizerError(f"{repo_id}: cannot load its tokenizer from the hub ({e})") from None


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise TokenizerError(f"{path}: cannot read it as JSON ({e})") from None
    return data if isinstance(data, dict) else {}


def _token_text(value: Any) -> str | None:
    """A special token as tokenizer_config.json spells it: a string or an AddedToken dict."""
    if isinstance(value, dict):
        value = value.get("content")
    return value if isinstance(value, str) else None


def _aliased(message: dict[str, Any]) -> dict[str, Any]:
    # transformers fills `reasoning_content` (and `thinking`) from any of the names reasoning
    # goes by, so templates that read one see the others.
    reasoning = next((message[k] for k in ("reasoning_content", "thinking", "reasoning") if message.get(k) is not None),
                     None)
    return message if reasoning is None else {"thinking": reasoning, **message, "reasoning_content": reasoning}


def _clean_up_spaces(text: str) -> str:
    for before, after in ((" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"),
                          (" 'm", "'m"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")):
        text = text.replace(before, after)
    return text


@lru_cache(maxsize=16)
def _compile(template: str) -> Any:
    return _environment().from_string(template)


def _environment() -> Any:
    """The sandbox transformers renders chat templates in (templates come from the hub: untrusted)."""
    import jinja2.ext
    import jinja2.nodes
    import jinja2.utils
    from jinja2.exceptions import SecurityError, TemplateError
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    class Generation(jinja2.ext.Extension):
        """``{% generation %}…{% endgeneration %}`` marks the assistant's text for transformers'
        assistant masks; rendering only needs its body."""

        tags = {"generation"}

        def parse(self, parser: Any) -> Any:
            lineno = next(parser.stream).lineno
            body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
            return jinja2.nodes.CallBlock(self.call_method("_body"), [], [], body).set_lineno(lineno)

        def _body(self, caller: Any) -> str:
            return caller()

    def raise_exception(message: str) -> None:
        raise TemplateError(message)

    def tojson(x: Any, ensure_ascii: bool = False, indent: Any = None, separators: Any = None,
               sort_keys: bool = False) -> str:
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def strftime_now(format: str) -> str:
        return datetime.now().strftime(format)

    class TemplateDict:
        # `dict(...)` without the type itself, so a template cannot reach its attributes.
        def __call__(self, *args: Any, **kwargs: Any) -> dict:
            return dict(*args, **kwargs)

        def fromkeys(self, *args: Any, **kwargs: Any) -> dict:
            return dict.fromkeys(*args, **kwargs)

    class TemplateNamespace(jinja2.utils.Namespace):
        # A namespace that refuses underscore names, which lead to CPython internals.
        def __init__(*args: Any, **kwargs: Any) -> None:
            self, rest = args[0], args[1:]
            attrs = dict(*rest, **kwargs)
            for name in attrs:
                TemplateNamespace._check(name)
            jinja2.utils.Namespace.__init__(self, attrs)

        def __setitem__(self, name: str, value: Any) -> None:
            TemplateNamespace._check(name)
            jinja2.utils.Namespace.__setitem__(self, name, value)

        @staticmethod
        def _check(name: Any) -> None:
            if isinstance(name, str) and name.startswith("_"):
                raise SecurityError(f"Chat templates cannot store underscore-prefixed attributes on a namespace, "
                                    f"but got {name!r}.")

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[Generation, jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals.update(raise_exception=raise_exception, strftime_now=strftime_now, dict=TemplateDict(),
                       namespace=TemplateNamespace)
    return env
