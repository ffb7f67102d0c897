"""A corpus for continued pretraining: documents (documents.py) cleaned, split into training and
validation documents, and cut into token windows.

- Cleaning is the same as for rows (clean.py: whitespace, empty, exact and near duplicates,
  token bounds), with the document as the unit: one duplicate page of a PDF does not drop it.
- The validation split holds out whole documents, so no window of a held-out document is ever
  trained on: held-out perplexity then measures what was learned, not what was seen.
- Windows: every document's tokens, then the end-of-text token, one stream; the stream cut into
  ``max_seq_len`` pieces (packing), so every window is full but the last. Loss on every token.

``prepare_documents`` writes the run's data/ files as pipeline.prepare does for rows (train.jsonl
and val.jsonl hold the cleaned documents as ``{"text": ...}``); ``inspect_documents`` writes
nothing. Light core: the tokenizer is whatever the caller passes (the worker's or the torch-free one).
"""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any

from tuitune.data.cache import cache_key, load_cached
from tuitune.data.clean import CleanSettings, clean
from tuitune.data.documents import Document, Unreadable, read_documents
from tuitune.data.formats import Detection
from tuitune.data.schema import DataError, Example, Rejected
from tuitune.data.stats import char_stats, token_lengths, token_stats
from tuitune.data.validate import summarize_rejected

REPORT_VERSION = 1
MIN_DOCUMENTS_FOR_VAL = 4  # fewer: every document is worth more trained on than held out
AUTO_DOCUMENT_FRACTION = 0.05
# The token that ends a document in pretraining, most specific first. An instruct model's
# eos_token is often its end-of-turn token (<|im_end|>, <|eot_id|>), which would teach it to
# end turns between documents; its pretraining separator is the end-of-text token.
END_OF_TEXT = ("<|endoftext|>", "<|end_of_text|>", "</s>", "<eos>", "<|end|>")


def examples_of(documents: list[Document]) -> list[Example]:
    return [Example(d.where, "text", {"text": d.text}) for d in documents]


def split_documents(docs: list[Example], val_fraction: float | None, seed: int) -> tuple[list[Example], list[Example]]:
    """Whole documents held out: a seeded shuffle, the first ``val_fraction`` of it (at least one
    document, and never all of them) for validation; none below MIN_DOCUMENTS_FOR_VAL."""
    order = list(range(len(docs)))
    random.Random(seed).shuffle(order)
    if val_fraction is None:  # data.val_fraction = "auto": 5% of the documents, at least one
        val_fraction = AUTO_DOCUMENT_FRACTION
    if val_fraction <= 0 or len(docs) < MIN_DOCUMENTS_FOR_VAL:
        return [docs[i] for i in order], []
    n_val = min(len(docs) - 1, max(1, round(len(docs) * val_fraction)))
    return [docs[i] for i in order[n_val:]], [docs[i] for i in order[:n_val]]


def separator(tokenizer: Any) -> tuple[int, str]:
    """(id, text) of the end-of-text token put between documents."""
    for text in END_OF_TEXT:
        token_id = tokenizer.convert_tokens_to_ids(text)
        # An unknown token maps to the unk id: not in the vocabulary, unless it is the unk token
        # itself (SmolLM2's unk_token is <|endoftext|>).
        unknown = token_id == getattr(tokenizer, "unk_token_id", None) and text != getattr(tokenizer, "unk_token", None)
        if isinstance(token_id, int) and not unknown:
            return token_id, text
    if tokenizer.eos_token_id is None:
        raise DataError("the model's tokenizer has no end-of-text or eos token to put between documents")
    return tokenizer.eos_token_id, tokenizer.eos_token


def windows(token_ids: list[list[int]], sep: int, length: int) -> list[list[int]]:
    """Documents' token ids, each followed by ``sep``, as one stream cut into ``length`` windows;
    the last may be shorter (a one-token remainder is dropped: it has nothing to predict)."""
    stream: list[int] = []
    for ids in token_ids:
        stream += ids
        stream.append(sep)
    out = [stream[i:i + length] for i in range(0, len(stream), length)]
    return out if not out or len(out[-1]) > 1 else out[:-1]


def encode_documents(tokenizer: Any, texts: list[str], length: int) -> list[list[int]]:
    """The training windows of ``texts`` (no special tokens inside a document but the separator)."""
    sep, _ = separator(tokenizer)
    ids = tokenizer(texts, add_special_tokens=False)["input_ids"] if texts else []
    return windows(ids, sep, length)


def inspect_documents(section: Any, tokenizer: Any = None, *, seed: int = 42,
                      max_seq_len: int | None = None) -> tuple[dict[str, Any], list[Rejected], list[Example], list[Example]]:
    """(report, rejected, train documents, validation documents), writing nothing."""
    from tuitune.data.pipeline import settings_from

    documents, unreadable, files = read_documents(section.path)
    settings = settings_from(section)
    settings = CleanSettings(**{**settings.to_json(), "drop_degenerate_pairs": False, "fix_leakage": False})
    measure = (lambda examples: token_lengths(examples, tokenizer)) if tokenizer is not None else None
    kept, dropped, counts, lengths = clean(examples_of(documents), settings, measure)
    rejected = [*(_as_rejected(u) for u in unreadable), *dropped]
    val_fraction = getattr(section, "val_fraction", None)
    train, val = split_documents(kept, val_fraction, seed)
    report: dict[str, Any] = {
        "version": REPORT_VERSION,
        "source": str(Path(str(section.path)).expanduser()),
        "container": "documents folder" if Path(str(section.path)).expanduser().is_dir() else "document file",
        "format": "documents",
        "kind": "text",
        "evidence": [f"{files} file(s) read as documents ({len(documents)} documents, {len(unreadable)} unreadable)"],
        "rows_read": len(documents) + len(unreadable),  # as rows: unreadable ones are read and not usable
        "documents_read": len(documents),
        "files": files,
        "invalid": len(unreadable),
        "unreadable": [u.to_json() for u in unreadable],
        "steps": counts,
        "split": {"seed": seed, "val_fraction": val_fraction, "unit": "documents", "train": len(train),
                  "val": len(val), "train_documents": len(train), "val_documents": len(val)},
        "rejected": len(rejected),
        "rejected_summary": summarize_rejected(rejected),
        "settings": settings.to_json(),
        "stats": char_stats(kept),
    }
    if lengths is not None:
        report["documents"] = {"tokens": token_stats(lengths, None), "total_tokens": sum(lengths)}
        if max_seq_len:
            _add_windows(report, tokenizer, train, val, max_seq_len)
    return report, rejected, train, val


def _add_windows(report: dict[str, Any], tokenizer: Any, train: list[Example], val: list[Example], length: int) -> None:
    """The trainer's rows are windows: the split counts them (the documents stay beside), and
    the token statistics are theirs, so the planner and the guidance see full-length rows."""
    sep, sep_text = separator(tokenizer)
    train_w = encode_documents(tokenizer, [e.data["text"] for e in train], length)
    val_w = encode_documents(tokenizer, [e.data["text"] for e in val], length)
    report["windows"] = {"length": length, "separator": sep_text, "separator_id": sep, "train": len(train_w),
                         "val": len(val_w), "train_tokens": sum(map(len, train_w)), "val_tokens": sum(map(len, val_w))}
    report["split"].update(unit="windows", train=len(train_w), val=len(val_w))
    report["stats"]["tokens"] = token_stats([len(w) for w in train_w], length)


def prepare_documents(section: Any, run_data_dir: str | Path, tokenizer: Any = None, *, seed: int = 42,
                      max_seq_len: int | None = None) -> tuple[list[dict], list[dict], dict]:
    """Read, clean, split and measure the documents into ``run_data_dir`` (pipeline.prepare's
    files); reused when the documents and every setting are unchanged (a resumed run)."""
    from tuitune.data.pipeline import settings_from, write_outputs

    out = Path(run_data_dir)
    source = Path(str(section.path)).expanduser().resolve()
    if source.is_dir() and out.resolve().is_relative_to(source):
        raise DataError(f"{source}: the run's data folder {out} is inside the documents folder; move one of them")
    fields = {k: getattr(section, k, None) for k in ("val_fraction",)}
    key = cache_key(source, fields, settings_from(section).to_json(), report=REPORT_VERSION, seed=seed,
                    max_seq_len=max_seq_len, stage="cpt", tokenizer=getattr(tokenizer, "name_or_path", None))
    cached = load_cached(out, key)
    if cached is not None:
        return cached
    report, rejected, train, val = inspect_documents(section, tokenizer, seed=seed, max_seq_len=max_seq_len)
    write_outputs(out, key, report, rejected, train, val, unit="documents")
    return [e.data for e in train], [e.data for e in val], report


def check_documents(section: Any) -> Any:
    """The fronts' fast preflight for a CPT run: read the documents (no cleaning, no tokenizer)
    into the shape pipeline.check returns, unreadable files as its rejected rows."""
    from tuitune.data.loader import Imported

    documents, unreadable, files = read_documents(section.path)
    detection = Detection("documents", "text", [f"{files} file(s) read as documents; {len(unreadable)} unreadable"])
    # Unreadable files count as read and not usable, as invalid rows do.
    return Imported(Path(str(section.path)).expanduser(), "documents", detection, len(documents) + len(unreadable),
                    examples_of(documents), [_as_rejected(u) for u in unreadable])


def _as_rejected(u: Unreadable) -> Rejected:
    return Rejected(u.path, u.reason, "unreadable")


def windows_estimate(tokens: int, documents: int, length: int) -> int:
    """Windows a corpus of ``tokens`` in ``documents`` makes (one separator each)."""
    return max(1, math.ceil((tokens + documents) / length))


def report_lines(report: dict[str, Any]) -> list[tuple[str, str]]:
    """`tuitune data inspect FOLDER`: (label, text) rows, as report_text.report_rows gives for rows."""
    split, steps = report["split"], report["steps"]
    rows = [("source", f"{report['source']} ({report['container']}: {report['files']} files)"),
            ("documents", f"{report['documents_read']} read, {len(report['unreadable'])} unreadable")]
    for u in report["unreadable"]:
        rows.append(("", f"unreadable: {u['path']}: {u['reason']}"))
    dropped = {k: v for k, v in steps.items() if v and k not in ("whitespace_normalized", "empty_system_turns_removed")}
    rows.append(("cleaning", ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in dropped.items()) or "nothing dropped"))
    rows.append(("split", f"{split['train_documents']} training / {split['val_documents']} validation documents "
                          f"(whole documents held out, seed {split['seed']})"))
    docs = report.get("documents")
    if docs:
        t = docs["tokens"]
        rows.append(("tokens", f"{docs['total_tokens']} in all; per document mean {t.get('mean')}, p50 {t.get('p50')}, "
                               f"max {t.get('max')}"))
    w = report.get("windows")
    if w:
        rows.append(("windows", f"{w['train']} training / {w['val']} validation windows of {w['length']} tokens, "
                                f"documents joined by {w['separator']}"))
    elif not docs:
        rows.append(("tokens", "pass --model to count tokens and windows"))
    return rows
