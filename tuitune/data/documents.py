"""Documents for continued pretraining (``[train] stage = "cpt"``): a folder of them, or one file.

Each ``.txt`` / ``.md`` file is one document; a ``.pdf`` is one document of its pages' text
(pypdf, imported only for PDFs); each row of a ``.jsonl`` / ``.parquet`` file with a ``text``
column is one document. What cannot be read is not an error while something else can be: it is
listed as :class:`Unreadable`, with the reason (a scanned PDF without a text layer says so
instead of reading as empty). Only when nothing is readable is it a :class:`DataError`.

Cleaning, the split and the token windows are corpus.py. Light core: pure Python.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from tuitune.data import hub
from tuitune.data.readers import read_text
from tuitune.data.schema import DataError

TEXT_FILES = {".txt", ".text", ".md", ".markdown"}
ROW_FILES = {".jsonl", ".ndjson", ".parquet"}
DOCUMENT_FILES = TEXT_FILES | ROW_FILES | {".pdf"}
KINDS_TEXT = ".txt, .md, .pdf, or .jsonl / .parquet with a `text` column"
MAX_FILES = 100_000  # a folder with more is most likely the wrong folder (a home directory)


@dataclass(slots=True)
class Document:
    where: str  # the file, or file:line / file[row] for a row of a .jsonl / .parquet file
    text: str


@dataclass(slots=True)
class Unreadable:
    path: str
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"path": self.path, "reason": self.reason}


def is_document_source(path: str | Path) -> bool:
    """Whether ``path`` reads as documents rather than rows: a folder that is no saved
    ``datasets`` folder or hub snapshot, or a PDF."""
    text = str(path)
    if hub.is_hub_ref(text) or text.startswith("bundled:"):
        return False
    p = Path(text).expanduser()
    if p.is_dir():
        return not (hub.is_snapshot(p) or (p / "dataset_info.json").exists() or (p / "dataset_dict.json").exists())
    return p.suffix.lower() == ".pdf"


def read_documents(path: str | Path) -> tuple[list[Document], list[Unreadable], int]:
    """(documents, unreadable files, files looked at) of a folder (recursively, in name order,
    hidden files aside) or of one file. Raises :class:`DataError` when there is nothing to read."""
    root = Path(str(path)).expanduser()
    if not root.exists():
        raise DataError(f"{root}: no such file or folder")
    if root.is_dir():
        files = sorted(p for p in root.rglob("*") if p.is_file() and not _hidden(p.relative_to(root)))
        if not files:
            raise DataError(f"{root}: the folder holds no files; put documents in it ({KINDS_TEXT})")
        if len(files) > MAX_FILES:
            raise DataError(f"{root}: over {MAX_FILES} files; point data.path at the folder of documents itself")
    else:
        if root.suffix.lower() not in DOCUMENT_FILES:
            raise DataError(f"{root}: {root.suffix or 'no suffix'} is not a document type; continued pretraining "
                            f"reads {KINDS_TEXT}")
        files = [root]
    documents: list[Document] = []
    unreadable: list[Unreadable] = []
    for file in files:
        try:
            documents += read_file(file)
        except DataError as e:
            unreadable.append(Unreadable(str(file), str(e).removeprefix(f"{file}: ")))
    if not documents:
        first = unreadable[0] if unreadable else None
        why = f"; {first.path}: {first.reason}" if first else ""
        more = f" (and {len(unreadable) - 1} more unreadable)" if len(unreadable) > 1 else ""
        raise DataError(f"{root}: no readable documents{why}{more}")
    return documents, unreadable, len(files)


def read_file(file: Path) -> list[Document]:
    """The documents of one file; a :class:`DataError` says why a file gives none."""
    suffix = file.suffix.lower()
    if suffix not in DOCUMENT_FILES:
        raise DataError(f"{file}: not a document type ({KINDS_TEXT}); left out")
    if suffix in TEXT_FILES:
        return [Document(str(file), read_text(file))]
    if suffix == ".pdf":
        return [Document(str(file), read_pdf(file))]
    rows = _parquet_rows(file) if suffix == ".parquet" else _jsonl_rows(file)
    if not rows:
        raise DataError(f"{file}: no rows; the file is empty")
    with_text = [(where, row) for where, row in rows if isinstance(row, dict) and "text" in row]
    if not with_text:
        keys = sorted(rows[0][1]) if isinstance(rows[0][1], dict) else []
        found = f"its columns are {', '.join(keys)}" if keys else "its rows are not objects"
        raise DataError(f"{file}: no `text` column ({found}); continued pretraining reads each row's `text`; "
                        "rename the column (or give the text as .txt files)")
    return [Document(where, row["text"] if isinstance(row["text"], str) else "") for where, row in with_text]


def read_pdf(file: Path) -> str:
    """The text layer of every page, pages apart by a blank line."""
    try:
        from pypdf import PdfReader
        from pypdf.errors import PyPdfError
    except ImportError:  # pragma: no cover - pypdf is a dependency
        raise DataError(f"{file}: reading PDFs needs pypdf: pip install pypdf") from None
    try:
        reader = PdfReader(file)
        if reader.is_encrypted and not reader.decrypt(""):
            raise DataError(f"{file}: the PDF is encrypted with a password; save an unlocked copy")
        pages = [page.extract_text() or "" for page in reader.pages]
    except DataError:
        raise
    except (PyPdfError, OSError, ValueError, KeyError, TypeError) as e:
        raise DataError(f"{file}: not a readable PDF ({type(e).__name__}: {e})") from None
    text = "\n\n".join(p.strip() for p in pages if p.strip())
    if not text:
        raise DataError(f"{file}: no text layer in its {len(pages)} page(s) (a scanned PDF?); "
                        "run OCR on it first (e.g. ocrmypdf) or give the text as a .txt file")
    return text


def _jsonl_rows(file: Path) -> list[tuple[str, object]]:
    rows = []
    for number, line in enumerate(read_text(file).split("\n"), start=1):
        if not line.strip():
            continue
        try:
            rows.append((f"{file}:{number}", json.loads(line)))
        except (json.JSONDecodeError, RecursionError) as e:
            raise DataError(f"{file}:{number}: invalid JSON ({getattr(e, 'msg', 'nested too deeply')})") from None
    return rows


def _parquet_rows(file: Path) -> list[tuple[str, object]]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(file)
    except Exception as e:  # noqa: BLE001 - pyarrow raises many types for a bad file
        raise DataError(f"{file}: not a readable Parquet file ({type(e).__name__}: {e})") from None
    return [(f"{file}[{i}]", row) for i, row in enumerate(table.to_pylist())]


def _hidden(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts)
