"""What ``tuitune chat TARGET`` opens: a .gguf file (or a ``bundled:`` model), a run (``run:<id>``,
an id or its folder), or a model folder.

A run opens its verified GGUF when it has one (fast, in-process), else its adapter or model
through a worker process. Its base, for comparing, is the base GGUF when the run started from
one, else the base model in a worker.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tuitune.chat.backend import Backend, ChatError
from tuitune.models.bundled import BundledNotFound
from tuitune.models.files import check_model_files
from tuitune.models.ref import ModelRef, ModelRefError, parse_model_ref, unbundle
from tuitune.runs.export_report import read_report, report_path
from tuitune.runs.store import RunDir, RunStoreError, find_run


@dataclass
class Target:
    label: str
    gguf: Path | None = None
    worker: Path | None = None  # a run dir or a model folder for tuitune.chat.serve
    base: bool = False
    run: RunDir | None = None

    def open(self, n_ctx: int | None = None, threads: int | None = None) -> Backend:
        """The loaded model; ``n_ctx``: the context window of a GGUF (a worker's is the model's own);
        ``threads``: CPU threads it may use (None: every core)."""
        if self.gguf is not None:
            from tuitune.chat.llama_backend import DEFAULT_CTX, LlamaCppBackend

            return LlamaCppBackend(self.gguf, n_ctx=n_ctx or DEFAULT_CTX, threads=threads)
        if self.worker is None:
            raise ChatError(f"{self.label}: neither a GGUF file nor a model to load")
        from tuitune.chat.remote import WorkerBackend

        return WorkerBackend(self.worker, base=self.base, threads=threads)


def resolve(ref: str) -> Target:
    model = _local(ref)
    path = model.path
    if model.kind == "gguf" and path is not None:
        if not path.is_file():
            raise ChatError(f"{ref}: no such GGUF file")
        check_model_files(str(path))
        return Target(path.name, gguf=path)
    if model.kind == "folder" and path is not None and path.is_dir() and not (path / "state.json").exists():
        if not (path / "config.json").exists():
            raise ChatError(f"{ref}: not a run, a .gguf file, or a model folder with a config.json")
        check_model_files(str(path))
        return Target(path.name, worker=path)
    try:  # a run: run:<id>, or plainly its id or its folder
        run = find_run(model.value if model.kind == "run" else ref, to_read=True)
    except RunStoreError as e:
        raise ChatError(f"{e}; TARGET may also be a .gguf file or a model folder") from None
    gguf = exported_gguf(run)
    if gguf is not None:
        return Target(f"{run.id} ({gguf.name})", gguf=gguf, run=run)
    if not (run.adapter.exists() or run.model.exists()):
        raise ChatError(f"run {run.id} has no trained result yet (status {run.status()})")
    return Target(f"{run.id}", worker=run.path, run=run)


def base_of(target: Target, threads: int | None = None) -> Target:
    """The run's base model, for compare mode. A base GGUF of another type than the tuned side's
    export (the bundled Q4_1 beside a q8_0) is requantized to that type (cached), so the two
    sides differ by the training and not by the quantization."""
    if target.run is None:
        raise ChatError("--compare needs a run as TARGET (its base model is the other side)")
    model = _local(target.run.preset().model.path)
    if model.kind == "gguf" and model.path is not None:
        tuned, base = exported_type(target.run), gguf_type(model.path)
        if tuned is not None and base is not None and tuned != base:
            from tuitune.chat.requantize import base_as

            path = base_as(model.path, tuned, threads)
            return Target(f"base ({model.path.name} as {tuned}, like the tuned side)", gguf=path, run=target.run)
        return Target(f"base ({model.path.name})", gguf=model.path, run=target.run)
    return Target(f"base ({model.text})", worker=target.run.path, base=True, run=target.run)


def gguf_type(path: Path) -> str | None:
    """A GGUF's type as the export names it (``q4_1``, ``q8_0``, ``q4_k_m``), from its header."""
    from tuitune.models.gguf_header import read_header

    try:
        ftype = read_header(path)[0].get("general.file_type")
    except (OSError, ValueError):
        return None
    return FILE_TYPES.get(ftype) if isinstance(ftype, int) else None


FILE_TYPES = {0: "f32", 1: "f16", 2: "q4_0", 3: "q4_1", 7: "q8_0", 8: "q5_0", 9: "q5_1", 10: "q2_k", 11: "q3_k_s",
              12: "q3_k_m", 13: "q3_k_l", 14: "q4_k_s", 15: "q4_k_m", 16: "q5_k_s", 17: "q5_k_m", 18: "q6_k", 32: "bf16"}
"""llama.cpp's ``general.file_type`` numbers (its llama_ftype enum) of the types tuitune exports."""


def exported_type(run: RunDir) -> str | None:
    """The GGUF type of the run's verified export that the chat opens, if any."""
    data = read_report(report_path(run.path))
    if data is None or data.get("status") != "passed" or not data.get("files"):
        return None
    quant = data["files"][0].get("quant")
    return str(quant) if quant else None


def _local(ref: str) -> ModelRef:
    """What ``ref`` names, a bundled model as its GGUF file; a bad one is a chat error."""
    try:
        return unbundle(parse_model_ref(ref))
    except (BundledNotFound, ModelRefError) as e:
        raise ChatError(str(e)) from None


def exported_gguf(run: RunDir) -> Path | None:
    """The run's first GGUF that passed verification, if any."""
    data = read_report(report_path(run.path))
    if data is None or data.get("status") != "passed" or not data.get("files"):
        return None
    path = Path(data["files"][0]["path"])
    return path if path.exists() else None
