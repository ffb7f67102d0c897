"""The new-run form's logic, UI-free: which presets there are, the few keys the form edits,
and the edited preset validated, rendered and saved in the format ``tuitune run`` reads."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import tomli_w

from tuitune.preset import Preset, PresetError, apply_overrides, field_help, parse_preset
from tuitune.preset.keys import choices

if TYPE_CHECKING:
    from tuitune.runs.preflight import Preflight

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

EDITABLE = ("model.path", "data.path", "data.format", "train.stage", "train.method", "train.max_steps",
            "train.learning_rate", "train.batch_size", "train.max_seq_len", "lora.r", "dpo.beta")
PATH_KEYS = ("model.path", "data.path")
SELECT_KEYS = ("train.method", "train.stage", "data.format")
"""Keys the form offers as a list of the schema's values rather than a text field."""


def select_options(key: str) -> tuple[str, ...]:
    """The values the form's select for ``key`` offers, in the schema's order."""
    return tuple(str(v) for v in choices(key))


def saved_dir() -> Path:
    from tuitune.paths import tuitune_home

    return tuitune_home() / "presets"


def preset_files() -> list[Path]:
    """The shipped presets (demo first), then the ones saved from this form."""
    from tuitune.models.bundled import BundledNotFound, presets_dir

    try:
        shipped = sorted(presets_dir().glob("*.toml"), key=lambda p: (p.stem != "demo-cpu", p.name))
    except BundledNotFound:
        shipped = []
    saved = sorted(saved_dir().glob("*.toml")) if saved_dir().is_dir() else []
    return shipped + saved


def key_help() -> dict[str, tuple[str, str, str]]:
    """key -> (type, default, help), from the preset schema's docstrings."""
    return {key: (type_name, default, " ".join(text.split())) for key, type_name, default, text in field_help()}


CADENCES = ("train.eval_steps", "train.save_steps")
"""Derived from the run's length: re-derived when the form changes what the length comes from."""
LENGTH_KEYS = ("train.max_steps", "data.path")


def rederived(edits: dict[str, str], loaded: dict[str, str]) -> dict[str, str]:
    """The form's edits, with the preset's evaluation and checkpoint cadence left to tuitune once
    the run's length changed (max steps or data edited): 35 of a 70-step preset, kept for a
    30-step run, evaluates once, at the end, and nothing can warn of overfitting. The form has
    no field for the cadences, so the user did not set them here."""
    if all(edits.get(k, "") == loaded.get(k, "") for k in LENGTH_KEYS):
        return edits
    return {**edits, **dict.fromkeys(CADENCES, "")}


def cadence_text(preset: Preset, guidance: object | None) -> str:
    """How often the run evaluates and saves, and who chose it, in one line."""
    choices = getattr(guidance, "choices", None) or {}
    total = getattr(guidance, "total_steps", None) or preset.train.max_steps
    parts = [f"{total} steps"] if total else []
    for key, verb in (("train.eval_steps", "evaluates"), ("train.save_steps", "saves a checkpoint")):
        choice = choices.get(key)
        value = choice.value if choice is not None else getattr(preset.train, key.split(".")[1])
        if value is None:
            parts.append(f"{verb}: never")
            continue
        who = "tuitune's choice" if choice is None or choice.auto else "the preset's"
        late = " — not before the end of the run" if total and value >= total else ""
        parts.append(f"{verb} every {value} steps ({who}){late}")
    return "; ".join(parts)


def values_of(preset: Preset) -> dict[str, str]:
    """The form's fields as text (an unset value is empty)."""
    out = {}
    for key in EDITABLE:
        section, name = key.split(".")
        value = getattr(getattr(preset, section), name)
        out[key] = "" if value is None else f"{value:g}" if isinstance(value, float) else str(value)
    return out


def build(path: Path, edits: dict[str, str]) -> Preset:
    """The preset file with the form's values applied and validated; raises PresetError
    listing every problem (the source named is the file, the keys are the preset's)."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise PresetError(str(path), [f"cannot read the preset ({e})"]) from None
    overrides = []
    for key, text in edits.items():
        section, name = key.split(".")
        text = _absolute(text) if key in PATH_KEYS else text
        if text.strip():
            overrides.append(f"{key}={text.strip()}")
        else:
            raw.get(section, {}).pop(name, None)  # empty field: the schema's default
    problems = apply_overrides(raw, overrides)
    if problems:
        raise PresetError(str(path), problems)
    return parse_preset(tomli_w.dumps(raw), source=str(path), base_dir=path.resolve().parent)


def _absolute(text: str) -> str:
    """A path typed in the form means from where tuitune runs, not from the preset's folder."""
    path = Path(text.strip()).expanduser()
    if text.strip() and ":" not in text and not path.is_absolute() and path.exists():
        return json.dumps(str(path.resolve()))  # a JSON string is a TOML string
    return text


def render(preset: Preset) -> str:
    return tomli_w.dumps(preset.to_toml_dict())


def save(preset: Preset, name: str, origin: Path) -> Path:
    """Write the resolved preset to the saved-presets folder as ``<name>.toml``."""
    stem = "".join(c if c.isalnum() or c in "-_." else "-" for c in name.strip()).strip("-.") or "preset"
    folder = saved_dir()
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"{stem}.toml"
    preset = preset.model_copy(deep=True)
    preset.name = stem
    header = (f"# Written by tuitune from {origin}.\n"
              f"# Run it: tuitune run {out}      (`tuitune keys` explains every key)\n")
    out.write_text(header + render(preset), encoding="utf-8")
    return out


def write_draft(preset: Preset, name: str) -> Path:
    """The TOML edited on the review step as a file the form can load (resolved paths: it
    means the same wherever it lies), in the saved-presets folder's drafts/."""
    stem = "".join(c if c.isalnum() or c in "-_." else "-" for c in name.strip()).strip("-.") or "preset"
    folder = saved_dir() / "drafts"
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"{stem}.toml"
    out.write_text(render(preset), encoding="utf-8")
    return out


_checked: dict[tuple, Preflight] = {}


def guidance(preset: Preset):
    """What tuitune would choose for the keys this preset leaves to it (None when the data or
    model cannot be read yet). The data is read once per file version."""
    from tuitune.errors import TuituneError
    from tuitune.runs.preflight import guidance_for, preflight

    path = Path(preset.data.path)
    key = (preset.data.model_dump_json(), preset.model.path, preset.train.stage,
           path.stat().st_mtime if path.exists() else None)
    try:
        if key not in _checked:
            _checked.clear()
            _checked[key] = preflight(preset)
        return guidance_for(preset, _checked[key])[0]
    except TuituneError:
        return None
