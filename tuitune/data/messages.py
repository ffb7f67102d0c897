"""Turn the many ways people write a chat turn into ``{"role", "content"}`` with text content.

Handles OpenAI style (``role``/``content``, content as a string or a list of typed parts, where
a text part holds ``text`` — or ``value`` in LLaMA-Factory's v1 files) and ShareGPT style
(``from``/``value``, roles ``human``/``gpt``/``system``/``function_call``/``observation``).
Every problem is a ``RowError`` saying which message and what is wrong.
"""

from __future__ import annotations

import json
from typing import Any

from tuitune.data.schema import Conversation, Message, RowError

ROLE_NAMES = {
    "system": "system", "developer": "system",
    "user": "user", "human": "user",
    "assistant": "assistant", "gpt": "assistant", "model": "assistant", "bot": "assistant",
    # A tool call is something the model must learn to write, so it is an assistant turn;
    # the tool's answer comes back as a `tool` turn, as in OpenAI's format.
    "function_call": "assistant",
    "tool": "tool", "function": "tool", "observation": "tool", "ipython": "tool",
}

TOOLS_HEADER = "You can call these tools (JSON schema):\n"


def parse_messages(value: Any, key: str) -> Conversation:
    """A list of messages (or one message object) under ``key``, normalized."""
    if isinstance(value, dict):
        value = [value]  # LLaMA-Factory's sharegpt pairs hold a single message per side
    if not isinstance(value, list):
        raise RowError(f"`{key}` must be a list of messages, got {type(value).__name__}")
    if not value:
        raise RowError(f"`{key}` is an empty list")
    return [parse_message(m, f"{key}[{i}]") for i, m in enumerate(value)]


def parse_message(m: Any, where: str) -> Message:
    if not isinstance(m, dict):
        raise RowError(f"{where}: expected a message object, got {type(m).__name__}")
    if "role" in m:
        role, content = m["role"], m.get("content")
        if content is None and m.get("tool_calls"):
            content = json.dumps([c.get("function", c) for c in m["tool_calls"]], ensure_ascii=False)
    elif "from" in m:
        role, content = m["from"], m.get("value")
    else:
        raise RowError(f"{where}: no `role` (OpenAI style) or `from` (ShareGPT style) key; keys are {sorted(m)}")
    if not isinstance(role, str) or role.lower() not in ROLE_NAMES:
        raise RowError(f"{where}: unknown role {role!r} (known: {', '.join(sorted(set(ROLE_NAMES)))})")
    norm = ROLE_NAMES[role.lower()]
    for key in ("loss_weight", "weight"):  # LLaMA-Factory v1, and OpenAI's fine-tuning format
        weight = m.get(key)
        if weight is not None and float(weight) != (1.0 if norm == "assistant" else 0.0):
            # encode() trains every assistant turn and nothing else; another weight would be
            # silently ignored, so it is refused instead.
            raise RowError(f"{where}: {key} {weight} on this {role} turn is not supported "
                           "(tuitune trains on all assistant turns and nothing else)")
    return {"role": norm, "content": content_text(content, where)}


def content_text(content: Any, where: str) -> str:
    if isinstance(content, str):
        return content
    if content is None:
        raise RowError(f"{where}: the message has no content")
    if isinstance(content, list):
        texts = []
        for j, part in enumerate(content):
            if isinstance(part, str):
                texts.append(part)
                continue
            kind = part.get("type", "text") if isinstance(part, dict) else None
            if kind != "text":
                raise RowError(f"{where}.content[{j}]: a part of type {kind or type(part).__name__!r}; "
                               "only text is supported (no images, audio or files)")
            text = part.get("text", part.get("value"))
            if not isinstance(text, str):
                raise RowError(f"{where}.content[{j}]: a text part without a `text` string")
            texts.append(text)
        return "".join(texts)
    raise RowError(f"{where}: content must be text or a list of text parts, got {type(content).__name__}")


def with_system(conv: Conversation, system: Any, tools: Any) -> Conversation:
    """Put a `system` column and a `tools` column (JSON text or list) in front of ``conv``."""
    parts = []
    if conv and conv[0]["role"] == "system":
        parts.append(conv[0]["content"])
        conv = conv[1:]
    if isinstance(system, str) and system.strip():
        parts.insert(0, system)
    if tools not in (None, "", [], "[]"):
        if isinstance(tools, str):
            try:
                tools = json.loads(tools)
            except json.JSONDecodeError as e:
                raise RowError(f"`tools` is not valid JSON ({e.msg})") from None
        parts.append(TOOLS_HEADER + json.dumps(tools, ensure_ascii=False))
    if parts:
        conv = [{"role": "system", "content": "\n\n".join(parts)}, *conv]
    return conv


def check_conversation(conv: Conversation, key: str = "messages") -> Conversation:
    """A trainable conversation: ends with an assistant turn; system only at the start."""
    if not any(m["role"] == "assistant" for m in conv):
        raise RowError(f"`{key}` has no assistant turn to learn from")
    if conv[-1]["role"] != "assistant":
        raise RowError(f"`{key}` ends with a {conv[-1]['role']} turn; the last message must be the assistant's")
    for i, m in enumerate(conv[1:], start=1):
        if m["role"] == "system":
            raise RowError(f"`{key}[{i}]`: a system message after the start of the conversation")
    return conv


def as_prompt(value: Any, key: str) -> Conversation:
    """A prompt: a string (one user turn) or messages ending with a user or tool turn."""
    if isinstance(value, str):
        return [{"role": "user", "content": value}]
    _text_or_messages(value, key)
    conv = parse_messages(value, key)
    if conv[-1]["role"] not in ("user", "tool"):
        raise RowError(f"`{key}` ends with a {conv[-1]['role']} turn; a prompt must end with the user's")
    return conv


def as_answer(value: Any, key: str) -> Conversation:
    """An answer: a string (one assistant turn) or assistant messages."""
    if isinstance(value, str):
        return [{"role": "assistant", "content": value}]
    _text_or_messages(value, key)
    conv = parse_messages(value, key)
    if conv[-1]["role"] != "assistant":
        raise RowError(f"`{key}` ends with a {conv[-1]['role']} turn; an answer must be the assistant's")
    return conv


def _text_or_messages(value: Any, key: str) -> None:
    """Where text is as good as messages, a value that is neither says both are allowed."""
    if not isinstance(value, (list, dict)):
        shown = repr(value) if isinstance(value, (int, float, bool)) or value is None else type(value).__name__
        raise RowError(f"`{key}` must be text or a list of messages, got {shown}")
