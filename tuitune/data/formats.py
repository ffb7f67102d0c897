"""Row formats: detect which one a file uses (and say why), and normalize rows to ``Example``s.

Detection looks at the keys of the first rows and shows its evidence, because a wrong guess
silently trains on the wrong thing. ``columns`` (our name → the file's column) renames columns
before detection, the way LLaMA-Factory's ``dataset_info.json`` does.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tuitune.data.messages import as_answer, as_prompt, check_conversation, parse_messages, with_system
from tuitune.data.schema import Conversation, DataError, RowError

SAMPLE = 200  # rows looked at by detection: enough to outvote a stray row, cheap on any file


@dataclass
class Detection:
    format: str
    kind: str
    evidence: list[str] = field(default_factory=list)


def _alpaca_prompt(row: dict[str, Any]) -> str:
    """The instruction, then the input (if any) after a blank line, as LLaMA-Factory joins them."""
    prompt = _str(row, "instruction")
    if row.get("input"):
        prompt = f"{prompt}\n\n{_str(row, 'input')}"
    return prompt


def _alpaca(row: dict[str, Any]) -> dict[str, Any]:
    prompt = _alpaca_prompt(row)
    conv: Conversation = []
    for i, turn in enumerate(row.get("history") or []):
        if not (isinstance(turn, list) and len(turn) == 2 and all(isinstance(t, str) for t in turn)):
            raise RowError(f"`history[{i}]` must be a [instruction, response] pair of strings")
        conv += [{"role": "user", "content": turn[0]}, {"role": "assistant", "content": turn[1]}]
    conv += [{"role": "user", "content": prompt}, {"role": "assistant", "content": _str(row, "output")}]
    return {"messages": with_system(conv, row.get("system"), row.get("tools"))}


def _sharegpt(row: dict[str, Any]) -> dict[str, Any]:
    key = "conversations" if "conversations" in row else "messages"
    conv = with_system(parse_messages(row.get(key), key), row.get("system"), row.get("tools"))
    return {"messages": check_conversation(conv, key)}


def _messages(row: dict[str, Any]) -> dict[str, Any]:
    conv = with_system(parse_messages(row.get("messages"), "messages"), row.get("system"), row.get("tools"))
    return {"messages": check_conversation(conv)}


def _prompt_completion(row: dict[str, Any]) -> dict[str, Any]:
    prompt = as_prompt(_need(row, "prompt"), "prompt")
    conv = with_system(prompt + as_answer(_need(row, "completion"), "completion"), row.get("system"), None)
    return {"messages": check_conversation(conv)}


def _preference(row: dict[str, Any]) -> dict[str, Any]:
    if "chosen_messages" in row:  # LLaMA-Factory v1: two whole conversations sharing a prompt
        return _implicit_prompt(row, "chosen_messages", "rejected_messages")
    prompt_key = next((k for k in ("prompt", "conversations", "messages") if k in row), None)
    if prompt_key is None and "instruction" in row:
        prompt = [{"role": "user", "content": _alpaca_prompt(row)}]
    elif prompt_key is None:  # TRL's implicit prompt: chosen and rejected are whole conversations
        return _implicit_prompt(row, "chosen", "rejected")
    else:
        prompt = as_prompt(row[prompt_key], prompt_key)
    return {
        "prompt": with_system(prompt, row.get("system"), row.get("tools")),
        "chosen": as_answer(_need(row, "chosen"), "chosen"),
        "rejected": as_answer(_need(row, "rejected"), "rejected"),
    }


def _implicit_prompt(row: dict[str, Any], chosen_key: str, rejected_key: str) -> dict[str, Any]:
    chosen = parse_messages(_need(row, chosen_key), chosen_key)
    rejected = parse_messages(_need(row, rejected_key), rejected_key)
    k = 0
    while k < min(len(chosen), len(rejected)) and chosen[k] == rejected[k]:
        k += 1
    while k and chosen[k - 1]["role"] == "assistant":
        k -= 1  # the shared prefix must end on the user's turn
    if k == 0:
        raise RowError(f"`{chosen_key}` and `{rejected_key}` share no prompt (their first turns differ)")
    return {
        "prompt": chosen[:k],
        "chosen": as_answer(chosen[k:], chosen_key) if chosen[k:] else _empty(chosen_key),
        "rejected": as_answer(rejected[k:], rejected_key) if rejected[k:] else _empty(rejected_key),
    }


def _unpaired(row: dict[str, Any]) -> dict[str, Any]:
    if "prompt" in row:
        conv = as_prompt(row["prompt"], "prompt") + as_answer(_need(row, "completion"), "completion")
    else:
        key = "messages" if "messages" in row else "conversations"
        conv = check_conversation(parse_messages(row.get(key), key), key)
    label = row.get("label")
    if isinstance(label, str) and label.strip().lower() in ("true", "false", "1", "0"):
        label = label.strip().lower() in ("true", "1")
    if isinstance(label, int) and not isinstance(label, bool) and label in (0, 1):
        label = bool(label)
    if not isinstance(label, bool):
        raise RowError(f"`label` must be true or false, got {label!r}")
    return {"messages": with_system(conv, row.get("system"), row.get("tools")), "label": label}


def _choice(row: dict[str, Any]) -> dict[str, Any]:
    """A multiple-choice question: scored (by `tuitune eval`), never trained on."""
    key = next((k for k in ("prompt", "question", "messages") if k in row), None)
    if key is None:
        raise RowError("missing `question` (or `prompt`): the text the choices answer")
    choices = _need(row, "choices")
    if not (isinstance(choices, list) and len(choices) >= 2 and all(isinstance(c, str) and c.strip() for c in choices)):
        raise RowError(f"`choices` must be a list of at least two non-empty texts, got {choices!r}")
    answer = _need(row, "answer")
    if isinstance(answer, str) and answer in choices:
        index = choices.index(answer)
    elif isinstance(answer, str) and len(answer.strip()) == 1 and answer.strip().upper().isalpha():
        index = ord(answer.strip().upper()) - ord("A")
    elif isinstance(answer, int) and not isinstance(answer, bool):
        index = answer
    else:
        raise RowError(f"`answer` must be the index of the right choice (0 for the first), its letter (A, B, …) "
                       f"or its text, got {answer!r}")
    if not 0 <= index < len(choices):
        raise RowError(f"`answer` {answer!r} points past the {len(choices)} choices")
    prompt = with_system(as_prompt(row[key], key), row.get("system"), None)
    return {"prompt": prompt, "choices": choices, "answer": index}


def _text(row: dict[str, Any]) -> dict[str, Any]:
    if "text" not in row and len(row) == 1:
        row = {"text": next(iter(row.values()))}
    return {"text": _str(row, "text")}


def _str(row: dict[str, Any], key: str) -> str:
    value = _need(row, key)
    if not isinstance(value, str):
        raise RowError(f"`{key}` must be text, got {type(value).__name__}")
    return value


def _need(row: dict[str, Any], key: str) -> Any:
    if key not in row or row[key] is None:
        raise RowError(f"missing `{key}`")
    return row[key]


def _empty(key: str) -> Conversation:
    raise RowError(f"`{key}` has no answer after the shared prompt")


CONVERTERS: dict[str, tuple[str, Callable[[dict[str, Any]], dict[str, Any]], str]] = {
    "alpaca": ("sft", _alpaca, "`instruction` / `input` / `output` (optional `system`, `history`)"),
    "sharegpt": ("sft", _sharegpt, "`conversations` of `from` / `value` turns"),
    "messages": ("sft", _messages, "OpenAI-style `messages` of `role` / `content`"),
    "prompt_completion": ("sft", _prompt_completion, "`prompt` / `completion`"),
    "preference": ("preference", _preference, "`chosen` / `rejected` with a prompt (or `chosen_messages` / `rejected_messages`)"),
    "unpaired_preference": ("unpaired", _unpaired, "`messages` (or `prompt` / `completion`) with a boolean `label`"),
    "text": ("text", _text, "raw `text`"),
    "choice": ("choice", _choice, "`question` (or `prompt`) / `choices` / `answer` (multiple choice, for `tuitune eval`)"),
}
FORMATS = ("auto", *CONVERTERS)


def guess(row: Any) -> tuple[str, str] | None:
    """The format one row looks like, and the keys that said so."""
    if not isinstance(row, dict):
        return None
    keys = set(row)
    if {"chosen", "rejected"} <= keys:
        return "preference", "`chosen` and `rejected`"
    if {"chosen_messages", "rejected_messages"} <= keys:
        return "preference", "`chosen_messages` and `rejected_messages`"
    if "label" in keys and (keys & {"messages", "conversations"} or {"prompt", "completion"} <= keys):
        return "unpaired_preference", "a `label` beside the conversation"
    if {"choices", "answer"} <= keys:
        return "choice", "`choices` and `answer`"
    if "conversations" in keys:
        return "sharegpt", "`conversations`"
    if "messages" in keys:
        first = row["messages"][0] if isinstance(row["messages"], list) and row["messages"] else {}
        if isinstance(first, dict) and "from" in first:
            return "sharegpt", "`messages` of `from` / `value` turns"
        return "messages", "`messages` of `role` / `content` turns"
    if {"instruction", "output"} <= keys:
        return "alpaca", "`instruction` and `output`"
    if {"prompt", "completion"} <= keys:
        return "prompt_completion", "`prompt` and `completion`"
    if "text" in keys:
        return "text", "`text`"
    if len(keys) == 1 and isinstance(next(iter(row.values())), str):
        return "text", f"a single text column `{next(iter(keys))}`"
    return None


def detect(rows: list[Any], source: str) -> Detection:
    """Vote over the first rows; the evidence says how many agreed and on which keys."""
    sample = [r for r in rows[:SAMPLE] if isinstance(r, dict)]
    votes = Counter(g for r in sample if (g := guess(r)) is not None)
    if not sample:
        kind = type(rows[0]).__name__ if rows else "no"
        raise DataError(f"{source}: the rows are {kind} values, not objects with named fields "
                        "(like {\"messages\": [...]} or {\"text\": \"...\"})")
    if not votes:
        keys = sorted(sample[0])
        wanted = "; ".join(f"{n}: {d}" for n, (_, _, d) in CONVERTERS.items())
        raise DataError(f"{source}: cannot tell the format from the keys {keys}. Known formats — {wanted}. "
                        "Set data.format (or map columns with data.columns) to say which.")
    (fmt, why), n = votes.most_common(1)[0]
    evidence = [f"{why} in {n} of the first {len(sample)} rows → {fmt}"]
    for (other, other_why), m in votes.most_common()[1:3]:
        evidence.append(f"({m} rows look like {other}: {other_why})")
    return Detection(fmt, CONVERTERS[fmt][0], evidence)


def rename_columns(row: Any, columns: dict[str, str]) -> Any:
    """Apply a column mapping (our name → the file's name); a mapped column must exist."""
    if not columns or not isinstance(row, dict):
        return row
    out = {k: v for k, v in row.items() if k not in columns.values()}
    for ours, theirs in columns.items():
        if theirs not in row:
            raise RowError(f"no column `{theirs}` (data.columns maps `{ours}` to it); the row has {sorted(row)}")
        out[ours] = row[theirs]
    return out


def convert(row: Any, fmt: str) -> dict[str, Any]:
    """One row in format ``fmt`` as the normalized data of its kind."""
    if not isinstance(row, dict):
        raise RowError(f"expected an object with named fields, got {type(row).__name__}")
    try:
        return CONVERTERS[fmt][1](row)
    except (KeyError, TypeError, AttributeError) as e:
        raise RowError(f"malformed {fmt} row ({type(e).__name__}: {e})") from None
