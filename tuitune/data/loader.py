"""Read a training file into normalized examples — the one entry point the rest of tuitune uses.

``import_file`` reads any supported container, detects (or is told) the row format, and
validates every row under the ``on_error`` policy. ``load_conversations`` is the narrower call
the SFT worker has always used: it insists on conversations and fails on any bad row.

Light core: pure Python (see readers.py for the lazy Parquet / datasets imports).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tuitune.data import hub
from tuitune.data.formats import CONVERTERS, FORMATS, SAMPLE, Detection, detect, rename_columns
from tuitune.data.readers import read_rows
from tuitune.data.schema import Conversation, DataError, Example, Message, Rejected, RowError
from tuitune.data.split import split
from tuitune.data.validate import OnError, validate_rows
from tuitune.models.bundled import BUNDLED_PREFIX, resolve_data

__all__ = [
    "KIND_NAMES", "Conversation", "DataError", "Imported", "LoadedData", "Message", "import_file",
    "load_conversations", "require_kind", "resolve_path", "split",
]


@dataclass
class Imported:
    """A file read and validated: its examples, the rows set aside, and how the format was found."""

    path: Path
    container: str
    detection: Detection
    rows_read: int
    examples: list[Example]
    rejected: list[Rejected] = field(default_factory=list)

    @property
    def format(self) -> str:
        return self.detection.format


@dataclass
class LoadedData:
    conversations: list[Conversation]
    format: str
    path: Path


def resolve_path(path: str | Path) -> Path:
    """A local path for ``path``: bundled data, a hub dataset's snapshot (fetched), or a file."""
    text = str(path)
    if text.startswith(BUNDLED_PREFIX):
        return resolve_data(text)
    if hub.is_hub_ref(text):
        return hub.fetch(text)
    return Path(text).expanduser()


def import_file(
    path: str | Path,
    format: str = "auto",
    *,
    columns: dict[str, str] | None = None,
    on_error: OnError = "fail",
    system_prompt: str | None = None,
) -> Imported:
    file = resolve_path(path)
    if format not in FORMATS:
        raise DataError(f"{file}: unknown data format {format!r}; expected one of {', '.join(FORMATS)}")
    rows, container = read_rows(file, split=hub.parse(str(path)).split if hub.is_hub_ref(path) else None)
    if not rows:
        raise DataError(f"{file}: no rows; the file is empty")
    readable = [r for r in rows[:SAMPLE * 5] if r.problem is None]
    if not readable:
        bad = rows[0]
        raise DataError(f"{file}: none of the first {min(len(rows), SAMPLE * 5)} rows is readable; "
                        f"first problem: {bad.where}: {bad.problem}")
    if format == "auto":
        renamed = []
        for r in readable[:SAMPLE]:
            try:
                renamed.append(rename_columns(r.data, columns or {}))
            except RowError:
                pass  # reported per row by validation
        detection = detect(renamed or [r.data for r in readable[:SAMPLE]], str(file))
    else:
        detection = Detection(format, CONVERTERS[format][0], [f"format {format!r} was given (not detected)"])
    if columns:
        detection.evidence.append("columns mapped: " + ", ".join(f"{k} ← {v}" for k, v in columns.items()))
    examples, rejected = validate_rows(rows, detection, on_error, columns, system_prompt)
    if not examples:
        raise DataError(f"{file}: none of the {len(rows)} rows is usable; first problem: "
                        f"{rejected[0].where}: {rejected[0].reason}")
    return Imported(file, container, detection, len(rows), examples, rejected)


def load_conversations(
    path: str,
    format: str = "auto",
    system_prompt: str | None = None,
    *,
    columns: dict[str, str] | None = None,
    on_error: OnError = "fail",
) -> LoadedData:
    """Read ``path`` for SFT: the rows must be conversations (else a ``DataError``); bad rows
    fail or are skipped by ``on_error``. No cleaning: ``pipeline.prepare`` does that."""
    data = import_file(path, format, columns=columns, on_error=on_error, system_prompt=system_prompt)
    require_kind(data.path, data.format, data.detection.kind, "sft")
    return LoadedData([e.data["messages"] for e in data.examples], data.format, data.path)


KIND_NAMES = {
    "sft": "conversations (SFT)",
    "preference": "preference pairs (prompt / chosen / rejected; trained with DPO, ORPO, SimPO or KTO)",
    "unpaired": "unpaired preferences (one answer marked good or bad; trained with KTO)",
    "text": "raw text (continued pre-training)",
    "choice": "multiple-choice questions (scored by `tuitune eval`)",
}


def require_kind(path: Path | str, format: str, have: str, want: str | tuple[str, ...], stage: str | None = None) -> None:
    """A clear refusal when the file holds another kind of data than the stage trains on
    (``want``: the kind, or the kinds, it takes; ``stage``: named in the message when given)."""
    wanted = (want,) if isinstance(want, str) else want
    if have not in wanted:
        needs = " or ".join(KIND_NAMES[w] for w in wanted)
        who = f' (train.stage = "{stage}")' if stage else ""
        raise DataError(
            f"{path}: holds {KIND_NAMES[have]} in the {format!r} format, but this needs {needs}; "
            f"{KIND_NAMES[have].split(' (')[0]} cannot be trained with this stage{who}"
        )
