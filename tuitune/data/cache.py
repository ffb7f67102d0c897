"""Reuse of prepared data: keyed by the source file's content hash and every setting that
changes the result, kept in the run's data/ folder (a resumed run) and, optionally, in a
shared folder (a new run of the same data)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from tuitune.data import hub

OUTPUTS = ("train.jsonl", "val.jsonl", "rejected.jsonl", "report.json")
CACHE_ENTRIES = 8  # cleaned datasets kept in a shared cache; the oldest go first


def source_hash(path: Path) -> str:
    """A content hash of the file (or every file of a saved dataset folder); a hub snapshot is
    already named by its commit."""
    if hub.is_snapshot(path):
        return hub.snapshot_id(path)
    h = hashlib.blake2b(digest_size=16)
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for f in files:
        h.update(str(f.relative_to(path) if path.is_dir() else f.name).encode())
        with open(f, "rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def cache_key(path: Path, fields: dict[str, Any], clean: dict[str, Any], **context: Any) -> str:
    """A hash of the source's content, the section's fields, the cleaning settings and the context
    (seed, max_seq_len, stage, tokenizer, report version)."""
    settings = {"source": source_hash(path) if path.exists() else str(path), "fields": fields,
                "clean": clean, **context}
    return hashlib.blake2b(json.dumps(settings, sort_keys=True, default=str).encode(), digest_size=16).hexdigest()


def load_cached(out: Path, key: str) -> tuple[list[dict], list[dict], dict] | None:
    try:
        report = json.loads((out / "report.json").read_text(encoding="utf-8"))
        if report.get("cache_key") != key:
            return None
        return read_jsonl(out / "train.jsonl"), read_jsonl(out / "val.jsonl"), report
    except (OSError, ValueError):
        return None  # missing or damaged: prepare afresh


def store(out: Path, cache_dir: Path, key: str) -> None:
    """Copy a fresh result into the shared cache (via a temporary folder and a rename, so a
    reader never sees half an entry), then prune the oldest entries."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    if (cache_dir / key).exists():
        return
    tmp = Path(tempfile.mkdtemp(dir=cache_dir, prefix=".tmp-"))
    copy_outputs(out, tmp)
    try:
        os.replace(tmp, cache_dir / key)
    except OSError:  # another process stored the same key first: theirs is as good
        shutil.rmtree(tmp, ignore_errors=True)
    entries = sorted((p for p in cache_dir.iterdir() if not p.name.startswith(".")), key=lambda p: p.stat().st_mtime)
    for old in entries[:-CACHE_ENTRIES]:
        shutil.rmtree(old, ignore_errors=True)


def copy_outputs(src: Path, dst: Path) -> None:
    dst.mkdir(parents=True, exist_ok=True)
    for name in OUTPUTS:  # report.json last: its cache key marks the folder complete
        shutil.copyfile(src / name, dst / (name + ".tmp"))
        os.replace(dst / (name + ".tmp"), dst / name)


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
