"""Read a GGUF file's metadata and tensor list without the tensors (and without numpy).

The ``gguf`` package's GGUFReader parses every tokenizer string into numpy objects (2+ s for
SmolLM2); the planner needs a dozen numbers, so it walks the header itself. Format:
https://github.com/ggml-org/ggml/blob/master/docs/gguf.md (little-endian, versions 2 and 3).
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any, BinaryIO

# value type -> struct format of one scalar
SCALARS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
STRING, ARRAY = 8, 9


class GGUFFormatError(ValueError):
    """Not a GGUF file, or a truncated one."""


# ggml type -> (bytes per block, elements per block), for the types exports use
TYPE_SIZES = {0: (4, 1), 1: (2, 1), 2: (18, 32), 3: (20, 32), 6: (22, 32), 7: (24, 32), 8: (34, 32),
              10: (84, 256), 11: (110, 256), 12: (144, 256), 13: (176, 256), 14: (210, 256), 30: (2, 1)}


def read_header(path: str | Path) -> tuple[dict[str, Any], dict[str, int]]:
    """(metadata, tensor element counts by name). Arrays come back as their length, except
    arrays of scalars shorter than 64 items, which come back as lists."""
    metadata, tensors, _ = _read(path)
    return metadata, tensors


def check_complete(path: str | Path) -> None:
    """Raise :class:`GGUFFormatError` unless the header parses and the file holds every tensor's
    data (a download cut short passes the header and fails here)."""
    _metadata, _tensors, needed = _read(path)
    size = Path(path).stat().st_size
    if size < needed:
        raise GGUFFormatError(
            f"the file is truncated: {size:,} bytes, but its tensors need {needed:,} (an interrupted download or copy?)"
        )


def _read(path: str | Path) -> tuple[dict[str, Any], dict[str, int], int]:
    """Metadata, element counts, and the least file size that holds all tensor data."""
    with open(path, "rb") as f:
        if f.read(4) != b"GGUF":
            raise GGUFFormatError("not a GGUF file (bad magic)")
        version, = _unpack(f, "I")
        if version not in (2, 3):
            raise GGUFFormatError(f"unsupported GGUF version {version}")
        n_tensors, n_kv = _unpack(f, "QQ")
        metadata = {}
        for _ in range(n_kv):
            key = _string(f)
            vtype, = _unpack(f, "I")
            metadata[key] = _value(f, vtype)
        tensors = {}
        data_end = 0
        for _ in range(n_tensors):
            name = _string(f)
            n_dims, = _unpack(f, "I")
            dims = _unpack(f, "Q" * n_dims)
            ggml_type, offset = _unpack(f, "IQ")
            count = 1
            for d in dims:
                count *= d
            tensors[name] = count
            block_bytes, block_elems = TYPE_SIZES.get(ggml_type, (0, 1))
            data_end = max(data_end, offset + count * block_bytes // block_elems)
        alignment = metadata.get("general.alignment", 32)
        data_start = -(-f.tell() // alignment) * alignment
    return metadata, tensors, data_start + data_end


def _unpack(f: BinaryIO, fmt: str) -> tuple:
    size = struct.calcsize("<" + fmt)
    data = f.read(size)
    if len(data) != size:
        raise GGUFFormatError("file ends inside the header (truncated?)")
    return struct.unpack("<" + fmt, data)


def _string(f: BinaryIO) -> str:
    length, = _unpack(f, "Q")
    if length > 1 << 24:
        raise GGUFFormatError("implausible string length in the header")
    data = f.read(length)
    if len(data) != length:
        raise GGUFFormatError("file ends inside the header (truncated?)")
    return data.decode("utf-8", errors="replace")


def _value(f: BinaryIO, vtype: int) -> Any:
    if vtype in SCALARS:
        return _unpack(f, SCALARS[vtype])[0]
    if vtype == STRING:
        return _string(f)
    if vtype == ARRAY:
        item_type, count = _unpack(f, "IQ")
        if item_type in SCALARS:
            size = struct.calcsize("<" + SCALARS[item_type])
            if count < 64:
                return list(_unpack(f, SCALARS[item_type] * count))
            f.seek(size * count, 1)
            return count
        for _ in range(count):  # strings (tokens, merges) or nested arrays: walk past them
            _value(f, item_type)
        return count
    raise GGUFFormatError(f"unknown GGUF value type {vtype}")
