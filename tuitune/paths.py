"""Where tuitune keeps things on disk, and how it writes them: ``TUITUNE_HOME`` and its cache
folders, harmless path components, atomic replacement. Shared by every layer; pure Python."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path


def tuitune_home() -> Path:
    env = os.environ.get("TUITUNE_HOME")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("tuitune", appauthor=False))


def cache_dir(*parts: str) -> Path:
    """``$TUITUNE_HOME/cache/<parts>``: what tuitune can rebuild (merges, converted tokenizers)."""
    return tuitune_home().joinpath("cache", *parts)


def safe_name(name: str, default: str = "run", limit: int = 40) -> str:
    """``name`` as one harmless path component: letters, digits, dots, dashes and underscores,
    never ``..``, never a path separator (so no name can reach outside its folder)."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", name).replace("..", "-").strip(".-_")[:limit].strip(".-_")
    return slug or default


def atomic_write_text(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` so that readers see the old or the new file, never half."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
