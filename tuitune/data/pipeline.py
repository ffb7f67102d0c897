"""The whole data step in one call: import → validate → clean → split → statistics → files.

``prepare`` is what the worker runs before training; it writes, inside the run directory only,

    data/train.jsonl      normalized examples ({"messages": [...]} for SFT)
    data/val.jsonl        the validation split (possibly empty)
    data/rejected.jsonl   every row left out, with where it was and why
    data/report.json      counts per step, the format evidence, statistics and the cache key

and reuses those files when the source file and every setting are unchanged (a resumed run).
``inspect`` runs the same steps without writing anything.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from tuitune.data.clean import CleanSettings, clean, fix_leakage
from tuitune.data.loader import import_file, require_kind, resolve_path
from tuitune.data.schema import Example
from tuitune.data.split import split
from tuitune.data.stats import char_stats, token_lengths, token_stats
from tuitune.data.validate import summarize_rejected

REPORT_VERSION = 1
STAGE_KIND = {"sft": "sft", "dpo": "preference", "kto": "unpaired", "pretrain": "text"}


def settings_from(section: Any) -> CleanSettings:
    """Cleaning settings from a ``[data]`` preset section; keys it lacks keep their defaults."""
    defaults = CleanSettings()
    return CleanSettings(**{k: getattr(section, k, v) for k, v in defaults.to_json().items()})


def inspect(section: Any, tokenizer: Any = None, *, seed: int = 42, max_seq_len: int | None = None,
            on_error: str | None = None) -> tuple[dict[str, Any], list, list[Example], list[Example]]:
    """(report, rejected, train, val) for a data section, writing nothing."""
    settings = settings_from(section)
    data = import_file(
        section.path, getattr(section, "format", "auto"), columns=getattr(section, "columns", None) or None,
        on_error=on_error or getattr(section, "on_error", "fail"),
        system_prompt=getattr(section, "system_prompt", None),
    )
    examples = data.examples
    lengths = token_lengths(examples, tokenizer) if tokenizer is not None else None
    kept, dropped, counts = clean(examples, settings, lengths)
    val_fraction = getattr(section, "val_fraction", 0.05)
    train, val = split(kept, val_fraction, seed)
    moved = 0
    if settings.fix_leakage:
        train, val, moved = fix_leakage(train, val)
    rejected = data.rejected + dropped
    report: dict[str, Any] = {
        "version": REPORT_VERSION,
        "source": str(data.path),
        "container": data.container,
        "format": data.format,
        "kind": data.detection.kind,
        "evidence": data.detection.evidence,
        "rows_read": data.rows_read,
        "invalid": len(data.rejected),
        "steps": counts,
        "split": {"seed": seed, "val_fraction": val_fraction, "train": len(train), "val": len(val),
                  "leaked_moved_to_train": moved},
        "rejected": len(rejected),
        "rejected_summary": summarize_rejected(rejected),
        "settings": settings.to_json(),
        "stats": char_stats(kept),
    }
    if lengths is not None:
        index = {id(e): i for i, e in enumerate(examples)}
        report["stats"]["tokens"] = token_stats([lengths[index[id(e)]] for e in kept], max_seq_len)
    return report, rejected, train, val


def prepare(section: Any, run_data_dir: str | Path, tokenizer: Any = None, *, seed: int = 42,
            max_seq_len: int | None = None, stage: str = "sft") -> tuple[list[dict], list[dict], dict]:
    """Import, clean and split ``section.path`` into ``run_data_dir``; returns (train, val, report).

    ``train`` and ``val`` are the normalized rows as written (``{"messages": [...]}`` for SFT).
    Raises ``DataError`` when the file is unusable or holds the wrong kind of data for ``stage``.
    """
    out = Path(run_data_dir)
    key = cache_key(section, seed, max_seq_len, stage, tokenizer)
    cached = _cached(out, key)
    if cached is not None:
        return cached
    report, rejected, train, val = inspect(section, tokenizer, seed=seed, max_seq_len=max_seq_len)
    require_kind(report["source"], report["format"], report["kind"], STAGE_KIND[stage])
    report["cache_key"] = key
    out.mkdir(parents=True, exist_ok=True)
    _write_jsonl(out / "train.jsonl", (e.data for e in train))
    _write_jsonl(out / "val.jsonl", (e.data for e in val))
    _write_jsonl(out / "rejected.jsonl", (r.to_json() for r in rejected))
    _write_atomic(out / "report.json", json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    return [e.data for e in train], [e.data for e in val], report


def source_hash(path: Path) -> str:
    """A content hash of the file (or every file of a saved dataset folder)."""
    h = hashlib.blake2b(digest_size=16)
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for f in files:
        h.update(str(f.relative_to(path) if path.is_dir() else f.name).encode())
        with open(f, "rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def cache_key(section: Any, seed: int, max_seq_len: int | None, stage: str, tokenizer: Any) -> str:
    path = resolve_path(section.path)
    fields = {k: getattr(section, k, None) for k in ("format", "columns", "on_error", "system_prompt", "val_fraction")}
    settings = {"report": REPORT_VERSION, "source": source_hash(path) if path.exists() else str(path),
                "fields": fields, "clean": settings_from(section).to_json(), "seed": seed,
                "max_seq_len": max_seq_len, "stage": stage,
                "tokenizer": getattr(tokenizer, "name_or_path", None) if tokenizer is not None else None}
    return hashlib.blake2b(json.dumps(settings, sort_keys=True, default=str).encode(), digest_size=16).hexdigest()


def _cached(out: Path, key: str) -> tuple[list[dict], list[dict], dict] | None:
    try:
        report = json.loads((out / "report.json").read_text(encoding="utf-8"))
        if report.get("cache_key") != key:
            return None
        return _read_jsonl(out / "train.jsonl"), _read_jsonl(out / "val.jsonl"), report
    except (OSError, ValueError):
        return None  # missing or damaged: prepare afresh


def _read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _write_jsonl(path: Path, rows) -> None:
    _write_atomic(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def _write_atomic(path: Path, text: str) -> None:
    """Write to a temporary file and rename: a crash never leaves a half-written file behind."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
