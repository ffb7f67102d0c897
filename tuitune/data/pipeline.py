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

import json
import os
from pathlib import Path
from typing import Any

from tuitune.data import hub, mix
from tuitune.data.cache import OUTPUTS, cache_key, copy_outputs, load_cached, source_hash, store
from tuitune.data.clean import CleanSettings, clean, fix_leakage
from tuitune.data.loader import Imported, import_file, require_kind, resolve_path
from tuitune.data.schema import DataError, Example
from tuitune.data.shape import describe, group_key
from tuitune.data.split import split, val_fraction_for
from tuitune.data.stats import char_stats, prompt_text, token_lengths, token_stats
from tuitune.data.validate import OnError, summarize_rejected

REPORT_VERSION = 1
# The kinds of data each stage trains on; KTO takes pairs too (each split into a good and a bad answer).
STAGE_KIND: dict[str, str | tuple[str, ...]] = {"sft": "sft", "dpo": "preference", "kto": ("unpaired", "preference"),
                                               "orpo": "preference", "simpo": "preference", "cpt": "text"}


def settings_from(section: Any) -> CleanSettings:
    """Cleaning settings from a ``[data]`` preset section; keys it lacks keep their defaults."""
    defaults = CleanSettings()
    return CleanSettings(**{k: getattr(section, k, v) for k, v in defaults.to_json().items()})


def check(section: Any, stage: str | None = "sft") -> Imported:
    """Read and validate only (no cleaning, no tokenizer): the fast preflight a front runs before
    it starts a worker. Honours the section's format, columns, on_error and system_prompt, and
    refuses data of the wrong kind for ``stage``. Continued pretraining reads documents (corpus.py)."""
    if stage == "cpt":
        from tuitune.data.corpus import check_documents

        return check_documents(section)
    data = import_file(
        section.path, getattr(section, "format", "auto"), columns=getattr(section, "columns", None) or None,
        on_error=getattr(section, "on_error", "fail"), system_prompt=getattr(section, "system_prompt", None),
    )
    if stage is not None:
        require_kind(data.path, data.format, data.detection.kind, STAGE_KIND[stage], stage)
    for path, _ in mix.sources(section)[1:]:  # every mixed source is read and checked the same way
        check(mix.source_section(section, path), stage)
    return data


def inspect(section: Any, tokenizer: Any = None, *, seed: int = 42, max_seq_len: int | None = None,
            on_error: OnError | None = None) -> tuple[dict[str, Any], list, list[Example], list[Example]]:
    """(report, rejected, train, val) for a data section, writing nothing. With several sources
    (``mix``, ``paths``) each is inspected on its own and the training rows drawn to the weights."""
    sources = mix.sources(section)
    if len(sources) == 1:
        return _inspect_one(section, tokenizer, seed=seed, max_seq_len=max_seq_len, on_error=on_error)
    parts = [_inspect_one(mix.source_section(section, path), tokenizer, seed=seed, max_seq_len=max_seq_len,
                          on_error=on_error) for path, _ in sources]
    kinds = {report["kind"] for report, *_ in parts}
    if len(kinds) > 1:
        described = ", ".join(f"{report['source']}: {report['kind']}" for report, *_ in parts)
        raise DataError(f"data.mix: the sources hold different kinds of data ({described}); mix sources of one kind")
    train, counts = mix.draw([t for _, _, t, _ in parts], [w for _, w in sources], seed)
    val = [row for *_, v in parts for row in v]
    report = dict(parts[0][0])
    report["split"] = {**report["split"], "train": len(train), "val": len(val)}
    report["rejected"] = sum(r["rejected"] for r, *_ in parts)
    report["stats"] = char_stats(train)
    report["mix"] = [{"source": r["source"], "weight": round(w, 4), "train_available": len(t), "train_used": n,
                      "repeated": n > len(t), "val": len(v), "report": r}
                     for (r, _, t, v), (_, w), n in zip(parts, sources, counts, strict=True)]
    return report, [row for _, rej, *_ in parts for row in rej], train, val


def _inspect_one(section: Any, tokenizer: Any = None, *, seed: int = 42, max_seq_len: int | None = None,
                 on_error: OnError | None = None) -> tuple[dict[str, Any], list, list[Example], list[Example]]:
    mode: OnError = on_error if on_error is not None else getattr(section, "on_error", "fail")
    settings = settings_from(section)
    data = import_file(
        section.path, getattr(section, "format", "auto"), columns=getattr(section, "columns", None) or None,
        on_error=mode,
        system_prompt=getattr(section, "system_prompt", None),
    )
    measure = (lambda examples: token_lengths(examples, tokenizer)) if tokenizer is not None else None
    shape = describe(data.examples)
    kept, dropped, counts, lengths = clean(data.examples, settings, measure,
                                           repeat_factor=shape["repeat_factor"] if settings.dedup_exact else None)
    if not settings.dedup_exact:  # the repeats stay in the rows: every pass already repeats them
        shape["repeat_factor"] = None
    val_fraction, val_reason = val_fraction_for(getattr(section, "val_fraction", None), len(kept),
                                                shape["knowledge_like"])
    grouped = shape["knowledge_like"] and val_fraction > 0
    train, val = split(kept, val_fraction, seed, group=group_key if grouped else None)
    moved = 0
    if settings.fix_leakage:
        train, val, moved = fix_leakage(train, val)
    rejected = data.rejected + dropped
    report: dict[str, Any] = {
        "version": REPORT_VERSION,
        "source": hub.describe(section.path, data.path) if hub.is_hub_ref(section.path) else str(data.path),
        "container": data.container,
        "format": data.format,
        "kind": data.detection.kind,
        "evidence": data.detection.evidence,
        "rows_read": data.rows_read,
        "invalid": len(data.rejected),
        "steps": counts,
        "split": {"seed": seed, "val_fraction": val_fraction, "val_fraction_reason": val_reason,
                  "grouped_by_answer": grouped, "train": len(train), "val": len(val), "leaked_moved_to_train": moved},
        "shape": shape,
        "rejected": len(rejected),
        "rejected_summary": summarize_rejected(rejected),
        "settings": settings.to_json(),
        "stats": char_stats(kept),
    }
    if data.detection.kind == "unpaired":  # KTO weighs its two classes by these counts (preset/guidance)
        good = sum(1 for e in train if e.data["label"])
        report["labels"] = {"desirable": good, "undesirable": len(train) - good}
    if lengths is not None:
        prompts = token_lengths(kept, tokenizer, prompt_text) if max_seq_len else None
        report["stats"]["tokens"] = token_stats(lengths, max_seq_len, prompts)
    return report, rejected, train, val


OUTPUT_MARK = ".tuitune-data-clean"
"""Left in a folder `tuitune data clean` wrote: only such a folder is ever written into again."""


def claim_output_folder(out: Path, force: bool = False) -> None:
    """Make ``out`` the output folder of `tuitune data clean`, or refuse (a :class:`DataError`)
    when that could overwrite anything a person made: a file, a folder that is not empty (unless
    ``force``), and, even with ``force``, outputs not written by an earlier clean (no mark)."""
    if out.exists() and not out.is_dir():
        raise DataError(f"--out {out}: a file, not a folder; give a new or empty folder to write train.jsonl, "
                        "val.jsonl, rejected.jsonl and report.json into")
    held = sorted(p.name for p in out.iterdir()) if out.is_dir() else []
    if held and held != [OUTPUT_MARK]:  # only the mark: an earlier clean that failed before writing
        if not force:
            raise DataError(f"--out {out}: the folder is not empty ({', '.join(held[:4])}{' …' if len(held) > 4 else ''}); "
                            "give a new or empty folder, or add --force to replace an earlier `tuitune data clean` output there")
        ours = OUTPUT_MARK in held
        clash = [name for name in OUTPUTS if name in held]
        if clash and not ours:
            raise DataError(f"--out {out}: {', '.join(clash)} not written by `tuitune data clean` (the folder has no "
                            f"{OUTPUT_MARK} mark), so nothing there is overwritten, even with --force; give another folder")
    out.mkdir(parents=True, exist_ok=True)
    (out / OUTPUT_MARK).write_text("written by `tuitune data clean`; its outputs here may be replaced with --force\n",
                                   encoding="utf-8")


def prepare(section: Any, run_data_dir: str | Path, tokenizer: Any = None, *, seed: int = 42,
            max_seq_len: int | None = None, stage: str | None = "sft",
            cache_dir: str | Path | None = None) -> tuple[list[dict], list[dict], dict]:
    """Import, clean and split ``section.path`` into ``run_data_dir``; returns (train, val, report).

    ``train`` and ``val`` are the normalized rows as written (``{"messages": [...]}`` for SFT).
    Raises ``DataError`` when the file is unusable or holds the wrong kind of data for ``stage``
    (``stage=None`` takes any kind). With ``cache_dir``, results are shared between runs: a new
    run of the same file with the same settings copies them instead of cleaning again.
    """
    if stage == "cpt":  # documents, cut into windows: corpus.py
        from tuitune.data.corpus import prepare_documents

        return prepare_documents(section, run_data_dir, tokenizer, seed=seed, max_seq_len=max_seq_len)
    out = Path(run_data_dir)
    source = resolve_path(section.path).resolve()
    for name in OUTPUTS:
        if (out / name).resolve() == source:
            raise DataError(f"{source}: the output folder {out} would overwrite the input file; choose another")
    fields = {k: getattr(section, k, None) for k in ("format", "columns", "on_error", "system_prompt", "val_fraction")}
    # Every source's content is in the key: a changed mixed-in file must not reuse old rows.
    fields["sources"] = [(str(p), w, source_hash(resolve_path(p)) if resolve_path(p).exists() else None)
                         for p, w in mix.sources(section)[1:]]
    key = cache_key(source, fields, settings_from(section).to_json(), report=REPORT_VERSION, seed=seed,
                    max_seq_len=max_seq_len, stage=stage, tokenizer=getattr(tokenizer, "name_or_path", None),
                    hub_split=hub.parse(section.path).split if hub.is_hub_ref(section.path) else None)
    cached = load_cached(out, key)
    if cached is None and cache_dir is not None and load_cached(Path(cache_dir) / key, key) is not None:
        copy_outputs(Path(cache_dir) / key, out)
        cached = load_cached(out, key)
    if cached is not None:
        return cached
    report, rejected, train, val = inspect(section, tokenizer, seed=seed, max_seq_len=max_seq_len)
    if stage is not None:
        require_kind(report["source"], report["format"], report["kind"], STAGE_KIND[stage], stage)
    write_outputs(out, key, report, rejected, train, val)
    if cache_dir is not None:
        store(out, Path(cache_dir), key)
    return [e.data for e in train], [e.data for e in val], report


def write_outputs(out: Path, key: str, report: dict, rejected: list, train: list, val: list,
                  unit: str = "rows") -> None:
    """The prepared files, in the order that keeps the cache honest; raises when nothing trains."""
    out.mkdir(parents=True, exist_ok=True)
    # The old report goes first: its cache key must never vouch for files half replaced.
    (out / "report.json").unlink(missing_ok=True)
    # rejected.jsonl first: when nothing survives cleaning, it is the file that explains why.
    _write_jsonl(out / "rejected.jsonl", (r.to_json() for r in rejected))
    if not train:
        raise DataError(f"{report['source']}: no {unit} left after cleaning; {out / 'rejected.jsonl'} says why")
    report["cache_key"] = key
    _write_jsonl(out / "train.jsonl", (e.data for e in train))
    _write_jsonl(out / "val.jsonl", (e.data for e in val))
    _write_atomic(out / "report.json", json.dumps(report, indent=2, ensure_ascii=False) + "\n")


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
