"""Read a training file into conversations.

Every supported row format becomes one internal form: a list of ``{"role", "content"}``
messages whose last message is the assistant's. This is the one function the worker calls for
data; the full importer (more formats, cleaning, reports) replaces it behind the same name.

Light core: pure Python.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tuitune.bundled import resolve_data

Message = dict[str, str]
Conversation = list[Message]

ROLES = ("system", "user", "assistant")


class DataError(Exception):
    """A data file that cannot be used; the message names the file, the row and the fix."""


@dataclass
class LoadedData:
    conversations: list[Conversation]
    format: str
    path: Path


def load_conversations(path: str, format: str = "auto", system_prompt: str | None = None) -> LoadedData:
    """Read ``path`` (JSONL or JSON) and normalize every row to a conversation."""
    file = resolve_data(path) if path.startswith("bundled:") else Path(path)
    rows = _read_rows(file)
    if not rows:
        raise DataError(f"{file}: no rows; the file is empty")
    if format == "auto":
        format = detect_format(rows[0][1], file, rows[0][0])
    convert = _CONVERTERS[format]
    conversations = []
    for line, row in rows:
        if not isinstance(row, dict):
            raise DataError(f"{file}:{line}: expected a JSON object, got {type(row).__name__}")
        try:
            conv = convert(row)
        except (KeyError, TypeError, ValueError) as e:
            raise DataError(f"{file}:{line}: not a valid {format} row: {e}") from None
        if system_prompt and conv[0]["role"] != "system":
            conv.insert(0, {"role": "system", "content": system_prompt})
        conversations.append(conv)
    return LoadedData(conversations, format, file)


def detect_format(row: Any, file: Path, line: int) -> str:
    keys = set(row) if isinstance(row, dict) else set()
    if "messages" in keys:
        return "messages"
    if {"instruction", "output"} <= keys:
        return "alpaca"
    if {"prompt", "completion"} <= keys:
        return "prompt_completion"
    raise DataError(
        f"{file}:{line}: cannot tell the format from the keys {sorted(keys)}; expected `messages`, "
        "`instruction`/`output` (alpaca) or `prompt`/`completion`. Set data.format to say which."
    )


def _read_rows(file: Path) -> list[tuple[int, Any]]:
    try:
        text = file.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DataError(f"{file}: file not found") from None
    except UnicodeDecodeError as e:
        raise DataError(f"{file}: not UTF-8 text (byte {e.start}); save it as UTF-8") from None
    except OSError as e:
        raise DataError(f"{file}: cannot read ({e})") from None
    if file.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise DataError(f"{file}:{e.lineno}: invalid JSON: {e.msg}") from None
        if isinstance(data, dict):
            lists = [v for v in data.values() if isinstance(v, list)]
            if len(lists) != 1:
                raise DataError(f"{file}: expected an array of rows, or an object holding one array")
            data = lists[0]
        if not isinstance(data, list):
            raise DataError(f"{file}: expected an array of rows")
        return [(i + 1, row) for i, row in enumerate(data)]
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append((number, json.loads(line)))
        except json.JSONDecodeError as e:
            raise DataError(f"{file}:{number}: invalid JSON ({e.msg} at column {e.colno})") from None
    return rows


def _from_messages(row: dict[str, Any]) -> Conversation:
    messages = row["messages"]
    if not isinstance(messages, list) or not messages:
        raise ValueError("`messages` must be a non-empty list")
    conv = []
    for i, m in enumerate(messages):
        role, content = m["role"], m["content"]
        if role not in ROLES:
            raise ValueError(f"message {i}: unknown role {role!r} (expected one of {', '.join(ROLES)})")
        if isinstance(content, list):  # typed parts: keep the text ones
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
        if not isinstance(content, str):
            raise ValueError(f"message {i}: content must be text")
        conv.append({"role": role, "content": content})
    if conv[-1]["role"] != "assistant":
        raise ValueError("the last message must be the assistant's")
    return conv


def _from_alpaca(row: dict[str, Any]) -> Conversation:
    prompt = str(row["instruction"])
    if row.get("input"):
        prompt = f"{prompt}\n\n{row['input']}"
    conv = [{"role": "user", "content": prompt}, {"role": "assistant", "content": str(row["output"])}]
    if row.get("system"):
        conv.insert(0, {"role": "system", "content": str(row["system"])})
    return conv


def _from_prompt_completion(row: dict[str, Any]) -> Conversation:
    return [
        {"role": "user", "content": _text(row["prompt"], "prompt")},
        {"role": "assistant", "content": _text(row["completion"], "completion")},
    ]


def _text(value: Any, key: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"`{key}` must be text, got {type(value).__name__}")
    return value


_CONVERTERS = {
    "messages": _from_messages,
    "alpaca": _from_alpaca,
    "prompt_completion": _from_prompt_completion,
}


def split(conversations: list[Conversation], val_fraction: float, seed: int) -> tuple[list, list]:
    """A deterministic train/validation split (the same seed gives the same split)."""
    import random

    order = list(range(len(conversations)))
    random.Random(seed).shuffle(order)
    n_val = int(round(len(order) * val_fraction)) if len(order) >= 10 else 0
    if val_fraction > 0 and len(order) >= 10:
        n_val = max(1, n_val)
    val = [conversations[i] for i in order[:n_val]]
    train = [conversations[i] for i in order[n_val:]]
    return train, val
