"""What the app remembers between sessions, in ``$TUITUNE_HOME/tui.json``: for now the theme
(light or dark) last chosen with ctrl+t or the palette. A missing or unreadable file is the
defaults; the app never fails to open over it. Light: read before the first frame."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tuitune.paths import atomic_write_text, tuitune_home


def settings_file() -> Path:
    return tuitune_home() / "tui.json"


def load_settings() -> dict[str, Any]:
    try:
        data = json.loads(settings_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def save_setting(key: str, value: Any) -> None:
    """Remember one setting; a home that cannot be written is no reason to interrupt anyone."""
    settings = {**load_settings(), key: value}
    try:
        settings_file().parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(settings_file(), json.dumps(settings, indent=2) + "\n")
    except OSError:
        pass
