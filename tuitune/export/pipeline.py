"""The export pipeline: merge → GGUF (16-bit) → quantize → verify → Modelfile → report.

Everything lands in the run directory (``merged/``, ``gguf/``); ``gguf/report.json`` says what
was written, how long it took, what each file really holds, and whether verification passed.
A failed verification keeps the files for inspection and says why.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from tuitune.data.loader import load_conversations, split
from tuitune.events import EventWriter
from tuitune.export import gguf as gguf_files
from tuitune.export import reuse
from tuitune.export.modelfile import write_modelfile
from tuitune.export.verify import Verification, check_agreement, check_stops, check_template, open_gguf, perplexity
from tuitune.paths import atomic_write_text
from tuitune.preset.schema import PREFERENCE_STAGES
from tuitune.runs import faults
from tuitune.runs.store import RunDir
from tuitune.weights.merge import ExportError, end_token_ids, merge

VALIDATION_ROWS = 8
VALIDATION_TOKENS = 256
PREVIOUS_REPORT = "report.previous.json"


def export_run(run: RunDir, quants: list[str], ollama: bool, events: EventWriter) -> dict[str, Any]:
    preset = run.preset()
    name = (preset.name or "model").replace(" ", "-")
    out = run.path / "gguf"
    out.mkdir(exist_ok=True)
    # An export killed halfway must not leave an earlier report vouching for half-written files;
    # kept aside, it still says which files were verified (what this export may keep).
    previous = _set_aside(out / "report.json", out / PREVIOUS_REPORT)
    source = reuse.source_of(run)
    report: dict[str, Any] = {"files": [], "started_at": time.time(), "source": source}

    weights = run.read_state().weights
    if weights:
        # Early stopping saved the best checkpoint's weights, not the last step's: say so.
        report["weights"] = weights
        events.emit("note", message=f"exporting the weights of the {weights['text']}", weights=weights)
    step = _Stepper(events, report)
    merged_dir = run.path / "merged"
    f16 = merged_dir / f"{name}-f16.gguf"
    kept = reuse.kept_types(previous, source, quants, out)
    if reuse.intact(merged_dir, source):
        step.reused("merge", "merged/ holds this result's weights already")
        marker = json.loads((merged_dir / "tuitune-merge.json").read_text(encoding="utf-8"))
        report["merge"] = {"dtype": marker.get("dtype"), "from": marker.get("from"), "reused": True}
    else:
        estimate = _estimated_bytes(run, preset.model.path)
        if estimate:  # before merging, which alone writes the whole model once
            _check_disk(run.path, estimate * (2 + len(quants) - len(kept)))
        with step("merge"):
            merged = merge(run, merged_dir)
            reuse.mark(merged_dir, source)
            report["merge"] = {"dtype": merged.dtype, "from": merged.source}
    f16_reused = reuse.intact(f16, source)
    _check_disk(run.path, _size(merged_dir) * ((0 if f16_reused else 1) + len(quants) - len(kept)))

    if f16_reused:
        step.reused("convert", f"the 16-bit GGUF beside merged/ ({f16.name}) is intact")
    else:
        with step("convert"):
            partial = f16.with_suffix(".partial")
            gguf_files.convert(merged_dir, partial, run.path / "export.log")
            partial.replace(f16)
            reuse.mark(f16, source)
    paths = {}
    for quant in quants:
        path = out / f"{name}-{quant}.gguf"
        if quant in kept:
            step.reused(f"quantize {quant}", f"{path.name} passed verification before")
            report["files"].append(kept[quant])
            paths[quant] = path
            continue
        with step(f"quantize {quant}"):
            if quant == "f16":
                gguf_files.copy(f16, path)
            else:
                gguf_files.quantize(f16, path, quant)
            types = gguf_files.tensor_types(path)
            entry = {"quant": quant, "path": str(path), "bytes": path.stat().st_size, "tensor_types": types}
            note = gguf_files.describe_types(quant, types)
            if note:
                entry["note"] = note
                events.emit("warning", message=note)
            report["files"].append(entry)
            paths[quant] = path

    with step("verify"):
        old = reuse.previous_verification(previous, source) if f16_reused else None
        verification = _verify(run, preset, merged_dir, f16, {q: p for q, p in paths.items() if q not in kept},
                               Progress(events), old, list(kept))
        report["verification"] = asdict(verification)

    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(merged_dir)
    if ollama and quants:
        stops = [tokenizer.convert_ids_to_tokens(i) for i in end_token_ids(tokenizer)]
        note = write_modelfile(
            out / "Modelfile", paths[quants[0]].name, tokenizer.chat_template or "", tokenizer.eos_token,
            stops, preset.data.system_prompt,
        )
        report["modelfile"] = {"path": str(out / "Modelfile"), "for": quants[0], **({"note": note} if note else {})}

    report["status"] = "passed" if verification.passed else "failed"
    report["finished_at"] = time.time()
    atomic_write_text(out / "report.json", json.dumps(report, indent=2, default=str) + "\n")
    (out / PREVIOUS_REPORT).unlink(missing_ok=True)
    return report


def _set_aside(report: Path, aside: Path) -> dict[str, Any] | None:
    """Move the last export's report out of the way and return it (or the one set aside by an
    export that did not finish)."""
    if report.exists():
        report.replace(aside)
    try:
        data = json.loads(aside.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


class Progress:
    """Verification's steps as events (``verify``: the check, its number and the count), so
    that minutes of checking show where they are."""

    def __init__(self, events: EventWriter):
        self.events, self.done = events, 0
        self.checks: list[str] = []

    def plan(self, checks: list[str]) -> None:
        self.checks = checks

    def __call__(self, check: str) -> None:
        self.done += 1
        self.events.emit("verify", check=check, index=self.done, total=len(self.checks))


def _verify(run: RunDir, preset: Any, merged: Path, f16: Path, paths: dict[str, Path], progress: Progress,
            old: dict[str, Any] | None, kept: list[str]) -> Verification:
    """Check the new files; with ``old`` (the previous verification, of the same 16-bit file),
    the checks of the 16-bit file and those of the ``kept`` types are taken from it."""
    from transformers import AutoTokenizer

    result = Verification()
    tokenizer = AutoTokenizer.from_pretrained(merged)
    rows = _held_out(run, preset)[:VALIDATION_ROWS]
    sequences = [
        tokenizer(tokenizer.apply_chat_template(c, tokenize=False), add_special_tokens=False)["input_ids"][:VALIDATION_TOKENS]
        for c in rows
    ]
    checks = [] if old else ["chat template", "agreement with the merged model", "perplexity f16"]
    for quant in paths:
        checks += ([] if quant == "f16" else [f"perplexity {quant}"]) + [f"greedy answers of {quant} stop"]
    progress.plan(checks)
    if old:
        result.template_match, result.agreement = old.get("template_match"), old.get("agreement")
        result.perplexity = {q: v for q, v in (old.get("perplexity") or {}).items() if q == "f16" or q in kept}
        result.stops = [s for s in old.get("stops") or [] if s.get("file") in kept]
    else:
        _verify_f16(result, tokenizer, merged, f16, rows, sequences, progress)
    for quant, path in paths.items():
        llm = open_gguf(path, logits_all=True)
        try:
            if quant != "f16":
                progress(f"perplexity {quant}")
                result.perplexity[quant] = round(_perplexity(llm, sequences), 4)
            progress(f"greedy answers of {quant} stop")
            check_stops(result, llm, preset.data.system_prompt, quant)
        finally:
            llm.close()
    return result


def _verify_f16(result: Verification, tokenizer: Any, merged: Path, f16: Path, rows: list[Any],
                sequences: list[list[int]], progress: Progress) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    reference = open_gguf(f16, logits_all=True)
    try:
        progress("chat template")
        check_template(result, tokenizer, reference, rows[:3])
        progress("agreement with the merged model")
        hf_model = AutoModelForCausalLM.from_pretrained(merged, dtype=torch.float32).eval()
        check_agreement(result, hf_model, reference, sequences[:4])
        del hf_model
        progress("perplexity f16")
        result.perplexity["f16"] = round(_perplexity(reference, sequences), 4)
    finally:
        reference.close()


def _held_out(run: RunDir, preset: Any) -> list[Any]:
    """The run's validation rows as the worker wrote them (its training rows when it had none)."""
    for name in ("val.jsonl", "train.jsonl"):
        path = run.data_dir / name
        if path.exists():
            rows = [_conversation(json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines()
                    if line.strip()]
            if rows:
                return rows
    if preset.train.stage in PREFERENCE_STAGES or preset.train.stage == "cpt":
        from tuitune.data.pipeline import check

        examples = [_conversation(e.data) for e in check(preset.data, preset.train.stage).examples]
        train, val = split(examples, preset.data.val_fraction, preset.train.seed)
        return val or train
    data = load_conversations(preset.data.path, preset.data.format, preset.data.system_prompt)
    train, val = split(data.conversations, preset.data.val_fraction, preset.train.seed)
    return val or train


def _conversation(row: dict[str, Any]) -> list[Any]:
    """A conversation to verify with: SFT's as is; a preference pair's prompt and chosen answer;
    a document (continued pretraining) as its first words asked and the rest of it answered."""
    if "messages" in row:
        return row["messages"]
    if "text" in row:
        words = row["text"][:2000].split(" ")
        return [{"role": "user", "content": " ".join(words[:12])}, {"role": "assistant", "content": " ".join(words[12:])}]
    return row["prompt"] + row["chosen"]


def _perplexity(llm: Any, sequences: list[list[int]]) -> float:
    return perplexity(llm, [s for s in sequences if len(s) > 1])


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _estimated_bytes(run: RunDir, base: str) -> int | None:
    """16-bit size of the merged model from its shape, or None when the shape is unknown."""
    from tuitune.hardware.errors import PlannerError
    from tuitune.hardware.model_shape import load_shape
    from tuitune.runs.refs import readable_ref
    from tuitune.runs.store import RunStoreError

    try:
        return 2 * load_shape(str(run.model) if (run.model / "config.json").exists() else readable_ref(base)).total_params
    except (PlannerError, RunStoreError, OSError, ValueError):
        return None


def _check_disk(where: Path, needed: int) -> None:
    free = shutil.disk_usage(where).free
    if free < needed * 1.1:
        raise ExportError(
            f"not enough free disk space in {where}: the export needs about {_mib(needed)}, "
            f"{_mib(free)} are free. Free some space or export fewer quant types."
        )


def _mib(n: float) -> str:
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{n / 2**20:.1f} MiB"


class _Stepper:
    """Times each stage, emits it as an event, and records it in the report."""

    def __init__(self, events: EventWriter, report: dict[str, Any]):
        self.events, self.report = events, report
        report["timings_s"] = {}

    def __call__(self, stage: str) -> _Stepper:
        self.stage = stage
        return self

    def __enter__(self) -> None:
        faults.export_stage(self.stage)
        self.start = time.monotonic()
        self.events.emit("export", stage=self.stage, state="started")

    def reused(self, stage: str, why: str) -> None:
        """A stage this export did not need: what it would build is there, intact."""
        self.report["timings_s"][stage] = 0.0
        self.report.setdefault("reused", {})[stage] = why
        self.events.emit("export", stage=stage, state="reused", why=why)

    def __exit__(self, exc_type: object, *rest: object) -> None:
        elapsed = round(time.monotonic() - self.start, 2)
        if exc_type is None:
            self.report["timings_s"][self.stage] = elapsed
            self.events.emit("export", stage=self.stage, state="done", seconds=elapsed)


__all__ = ["export_run", "ExportError"]
