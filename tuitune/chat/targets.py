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

    def open(self, n_ctx: int | None = None) -> Backend:
        """The loaded model; ``n_ctx``: the context window of a GGUF (a worker's is the model's own)."""
        if self.gguf is not None:
            from tuitune.chat.llama_backend import DEFAULT_CTX, LlamaCppBackend

            return LlamaCppBackend(self.gguf, n_ctx=n_ctx or DEFAULT_CTX)
        if self.worker is None:
            raise ChatError(f"{self.label}: neither a GGUF file nor a model to load")
        from tuitune.chat.remote import WorkerBackend

        return WorkerBackend(self.worker, base=self.base)


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


def base_of(target: Target) -> Target:
    if target.run is None:
        raise ChatError("--compare needs a run as TARGET (its base model is the other side)")
    model = _local(target.run.preset().model.path)
    if model.kind == "gguf" and model.path is not None:
        return Target(f"base ({model.path.name})", gguf=model.path, run=target.run)
    return Target(f"base ({model.text})", worker=target.run.path, base=True, run=target.run)


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
