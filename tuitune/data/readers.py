"""Read a data file (or a saved ``datasets`` folder) into ``Row``s, naming where each came from.

Supported: JSON Lines, JSON (an array, or an object holding exactly one array), CSV/TSV,
Parquet, plain text (one document per line, or blank-line separated paragraphs) and a folder
written by ``datasets.Dataset.save_to_disk``; a hub dataset's snapshot (``hub.py``). Text must be UTF-8 (a BOM is fine).

Light core: ``pyarrow`` and ``datasets`` are imported only for Parquet and dataset folders.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from tuitune.data import hub
from tuitune.data.schema import DataError, Row

JSONL = {".jsonl", ".ndjson", ".jsonlines"}
TEXT = {".txt", ".text", ".md"}
# Binary files under a text suffix: say what they are instead of "not UTF-8".
MAGIC = {b"\x1f\x8b": "a gzip-compressed file", b"PK\x03\x04": "a zip archive (or an Excel workbook)",
         b"PAR1": "a Parquet file"}
MAGIC_FIX = {"a gzip-compressed file": "decompress it first (gunzip)",
             "a zip archive (or an Excel workbook)": "extract it, or export the sheet as CSV",
             "a Parquet file": "rename it to end in .parquet"}
SUFFIXES = ", ".join(sorted(JSONL | TEXT | {".json", ".csv", ".tsv", ".parquet"}))


# Nesting this deep is no dataset: Python's JSON parser would recurse past its limit on it.
TOO_DEEP = "JSON nested too deeply to be a dataset row (thousands of levels of [ or {); check how the file was made"


def read_rows(path: Path, split: str | None = None) -> tuple[list[Row], str]:
    """All rows of ``path`` and the container read (``jsonl``, ``json``, ``csv`` …); ``split``
    names the split of a hub dataset's snapshot."""
    if hub.is_snapshot(path):
        return hub.read_snapshot(path, split), "hub dataset"
    if path.is_dir():
        return _read_dataset_folder(path), "datasets folder"
    if not path.exists():
        if path.is_symlink():
            raise DataError(f"{path}: a symbolic link whose target is missing or loops back on itself; "
                            "point data.path at the file itself")
        raise DataError(f"{path}: file not found")
    if not path.is_file():  # a FIFO or a device would block the read forever, or never end
        raise DataError(f"{path}: not a regular file (a pipe, socket or device); give a data file or a folder of them")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return _read_parquet(path), "parquet"
    if suffix not in JSONL | TEXT | {".json", ".csv", ".tsv"}:
        raise DataError(f"{path}: unsupported file type {suffix or '(no suffix)'!r}; expected one of {SUFFIXES}")
    text = read_text(path)
    if suffix == ".json":
        stripped = text.lstrip()
        if stripped.startswith("{") and "\n{" in stripped and _first_value_ends_line(stripped):
            return _read_jsonl(path, text), "jsonl"  # JSON Lines saved as .json: common, harmless
        return _read_json(path, text), "json"
    if suffix in JSONL:
        return _read_jsonl(path, text), "jsonl"
    if suffix in {".csv", ".tsv"}:
        return _read_csv(path, text, "\t" if suffix == ".tsv" else ","), suffix[1:]
    return _read_text(path, text)


def read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror or e})") from None
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DataError(f"{path}: the file is UTF-16; save it as UTF-8")
    for magic, what in MAGIC.items():
        if raw.startswith(magic):
            raise DataError(f"{path}: this is {what}, not {path.suffix[1:].upper()} text; {MAGIC_FIX[what]}")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        raise DataError(
            f"{path}:{line}: not UTF-8 text (byte 0x{raw[e.start]:02x} at offset {e.start}); "
            "save the file as UTF-8"
        ) from None


def _first_value_ends_line(text: str) -> bool:
    try:
        _, end = json.JSONDecoder().raw_decode(text)
    except json.JSONDecodeError:
        return False
    rest = text[end:].lstrip(" \t\r")
    return rest.startswith("\n") and rest.strip() != ""


def _read_jsonl(path: Path, text: str) -> list[Row]:
    rows = []
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            rows.append(Row(f"{path}:{number}", json.loads(line)))
        except json.JSONDecodeError as e:
            # Kept as a broken row: one bad line need not sink a 100k-line file if on_error = skip.
            rows.append(Row(f"{path}:{number}", line, f"invalid JSON ({e.msg} at column {e.colno})"))
        except RecursionError:
            rows.append(Row(f"{path}:{number}", line[:200], TOO_DEEP))
    return rows


def _read_json(path: Path, text: str) -> list[Row]:
    """Elements of the top-level array, each with the line it starts on (raw_decode gives offsets)."""
    decoder = json.JSONDecoder()
    start = len(text) - len(text.lstrip())
    if not text[start:].startswith("["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise DataError(f"{path}:{e.lineno}: invalid JSON: {e.msg} (column {e.colno})") from None
        except RecursionError:
            raise DataError(f"{path}: {TOO_DEEP}") from None
        return _rows_in_object(path, data)
    rows: list[Row] = []
    pos, line, counted = start + 1, 1, 0
    ws = " \t\r\n"
    while True:
        while pos < len(text) and text[pos] in ws:
            pos += 1
        if pos < len(text) and text[pos] == "]" and not rows:
            pos += 1
            break  # an empty array
        line += text.count("\n", counted, pos)
        counted = pos
        try:
            value, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as e:
            raise DataError(f"{path}:{e.lineno}: invalid JSON: {e.msg} (column {e.colno})") from None
        except RecursionError:
            raise DataError(f"{path}:{line}: {TOO_DEEP}") from None
        rows.append(Row(f"{path}:{line}", value))
        while pos < len(text) and text[pos] in ws:
            pos += 1
        if pos < len(text) and text[pos] == ",":
            pos += 1
        elif pos < len(text) and text[pos] == "]":
            pos += 1
            break
        else:
            where = text.count("\n", 0, pos) + 1
            found = f"found {text[pos]!r}" if pos < len(text) else "the file ends"
            raise DataError(f"{path}:{where}: invalid JSON: expected ',' or ']' after an element; {found}")
    if text[pos:].strip():
        raise DataError(f"{path}:{text.count(chr(10), 0, pos) + 1}: invalid JSON: extra data after the closing ]")
    return rows


def _rows_in_object(path: Path, data: object) -> list[Row]:
    if isinstance(data, dict):
        arrays = {k: v for k, v in data.items() if isinstance(v, list)}
        if len(arrays) == 1:
            key, items = next(iter(arrays.items()))
            return [Row(f"{path}[{key}][{i}]", v) for i, v in enumerate(items)]
        if data and all(isinstance(v, dict) for v in data.values()) and any(
            "file_name" in v or "hf_hub_url" in v for v in data.values()
        ):
            raise DataError(
                f"{path}: this is a LLaMA-Factory dataset registry (dataset_info.json), not data; "
                "point tuitune at one of the files it lists (its `file_name` values)"
            )
        found = f"{len(arrays)} arrays ({', '.join(arrays)})" if arrays else "no array"
        raise DataError(f"{path}: expected an array of rows, or an object holding one array; found {found}")
    raise DataError(f"{path}: expected an array of rows, got a single {type(data).__name__}")


def _read_csv(path: Path, text: str, delimiter: str) -> list[Row]:
    csv.field_size_limit(2**31 - 1)  # the default (128 KiB a cell) is too small for long answers
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        return []
    except csv.Error as e:
        raise DataError(f"{path}:1: cannot read the header row ({e})") from None
    if len(set(header)) != len(header) or any(not h.strip() for h in header):
        raise DataError(f"{path}:1: the header row needs unique, non-empty column names; got {header}")
    rows: list[Row] = []
    line = reader.line_num + 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return rows
        except csv.Error as e:
            raise DataError(f"{path}:{reader.line_num}: malformed {path.suffix[1:].upper()} ({e})") from None
        where = f"{path}:{line}"
        line = reader.line_num + 1
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            rows.append(Row(where, cells, f"{_count(len(cells), 'cell')}, but the header has {_count(len(header), 'column')}"))
            continue
        rows.append(Row(where, {h: _cell(c) for h, c in zip(header, cells, strict=False)}))


def _cell(value: str):
    """A cell holding a JSON array or object (a `messages` column, say) is decoded; text stays text."""
    if value[:1] in "[{":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            pass
    return value


def _read_text(path: Path, text: str) -> tuple[list[Row], str]:
    """Blank-line separated documents when most blocks span lines, else one document per line."""
    lines = text.replace("\r\n", "\n").split("\n")
    blocks, start = [], None
    for i, line in enumerate(lines + [""]):
        if line.strip() and start is None:
            start = i
        elif not line.strip() and start is not None:
            blocks.append((start, i))
            start = None
    if len(blocks) > 1 and sum(end - begin > 1 for begin, end in blocks) * 2 > len(blocks):
        rows = [Row(f"{path}:{b + 1}", {"text": "\n".join(lines[b:e])}) for b, e in blocks]
        return rows, "text, blank-line separated documents"
    rows = [Row(f"{path}:{i + 1}", {"text": line}) for i, line in enumerate(lines) if line.strip()]
    return rows, "text, one document per line"


def _read_parquet(path: Path) -> list[Row]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as e:  # noqa: BLE001 - pyarrow raises many types for a bad file
        raise DataError(f"{path}: not a readable Parquet file ({type(e).__name__}: {e})") from None
    return [Row(f"{path}[{i}]", row) for i, row in enumerate(table.to_pylist())]


def _read_dataset_folder(path: Path) -> list[Row]:
    if not ((path / "dataset_info.json").exists() or (path / "dataset_dict.json").exists()):
        raise DataError(f"{path}: a folder, but not one written by datasets' save_to_disk (no dataset_info.json)")
    from datasets import DatasetDict, load_from_disk

    try:
        data = load_from_disk(str(path))
    except Exception as e:  # noqa: BLE001 - datasets raises many types for a damaged folder
        raise DataError(f"{path}: cannot load the saved dataset ({type(e).__name__}: {e})") from None
    where = str(path)
    if isinstance(data, DatasetDict):
        if "train" not in data and len(data) != 1:
            raise DataError(f"{path}: holds the splits {sorted(data)}; none is called 'train'")
        split = "train" if "train" in data else next(iter(data))
        data, where = data[split], f"{path}/{split}"
    return [Row(f"{where}[{i}]", row) for i, row in enumerate(data.to_list())]


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"
