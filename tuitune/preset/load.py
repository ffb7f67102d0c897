"""Reading a preset file, applying dotted overrides and reporting every problem at once, each
naming the file, the key and the bad value. The schema itself is :mod:`tuitune.preset.schema`.

This module is part of the light core: it must not import torch or the training stack.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from tuitune.data.hub import PREFIX as HUB_PREFIX
from tuitune.errors import TuituneError
from tuitune.models.bundled import BUNDLED_PREFIX
from tuitune.models.ref import parse_model_ref
from tuitune.preset.schema import GUIDED, Preset

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib


class PresetError(TuituneError):
    """A preset that cannot be used; ``problems`` lists every reason, one line each."""

    def __init__(self, source: str, problems: list[str]):
        self.source = source
        self.problems = problems
        super().__init__("\n".join(self.lines()))

    def lines(self) -> list[str]:
        return [f"{self.source}: {p}" for p in self.problems]


def load_preset(path: str | Path, overrides: list[str] | tuple[str, ...] = ()) -> Preset:
    """Read, override and validate a preset file, resolving relative paths against its folder."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise PresetError(str(path), ["file not found; check the path"]) from None
    except UnicodeDecodeError as e:
        line = path.read_bytes()[: e.start].count(b"\n") + 1
        byte = e.object[e.start]
        raise PresetError(str(path), [f"line {line}: not UTF-8 text (byte 0x{byte:02x}); save the file as UTF-8"]) from None
    except IsADirectoryError:
        raise PresetError(str(path), ["is a folder, not a preset file"]) from None
    except OSError as e:
        raise PresetError(str(path), [f"cannot read the file ({e.strerror or e})"]) from None
    return parse_preset(text, source=str(path), base_dir=path.resolve().parent, overrides=overrides)


def parse_preset(
    text: str,
    *,
    source: str = "<preset>",
    base_dir: Path | None = None,
    overrides: list[str] | tuple[str, ...] = (),
) -> Preset:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise PresetError(source, [f"invalid TOML: {e}"]) from None
    except RecursionError:
        raise PresetError(source, ["invalid TOML: arrays or tables nested thousands deep; no preset key takes that"]) from None
    problems = apply_overrides(raw, overrides)
    try:
        preset = Preset.model_validate(raw)
    except ValidationError as e:
        problems += [_describe(err) for err in e.errors()]
        raise PresetError(source, problems) from None
    if problems:
        raise PresetError(source, problems)
    problems += _resolve_paths(preset, base_dir or Path.cwd())
    if problems:
        raise PresetError(source, problems)
    if preset.name is None and source.endswith(".toml"):
        preset.name = Path(source).stem
    return preset


def apply_overrides(raw: dict[str, Any], overrides: list[str] | tuple[str, ...]) -> list[str]:
    """Apply ``section.key=value`` overrides in place; values are read as TOML, else as strings."""
    problems = []
    for item in overrides:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            problems.append(f"override {item!r}: expected KEY=VALUE, e.g. train.max_steps=20")
            continue
        try:
            parsed = tomllib.loads(f"v = {value.strip()}")["v"]
        except (tomllib.TOMLDecodeError, RecursionError):
            parsed = value.strip()
        *parents, leaf = key.split(".")
        if not all(part.strip() for part in key.split(".")):
            problems.append(f"override {item!r}: {key!r} has an empty part; keys are SECTION.KEY, e.g. train.max_steps")
            continue
        node = raw
        for part in parents:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                problems.append(f"override {item!r}: {part!r} is not a section")
                break
            node = child
        else:
            node[leaf] = parsed
    return problems


def _describe(err: Mapping[str, Any]) -> str:
    key = ".".join(str(p) for p in err["loc"]) or "(top level)"
    msg = err["msg"]
    if err["type"] == "extra_forbidden":
        guess = _closest_key(err["loc"])
        hint = f"did you mean {guess!r}? " if guess else ""
        return f"key {key!r}: unknown key ({hint}`tuitune keys` lists the valid ones)"
    if err["type"] == "missing":
        return f"key {key!r}: required but missing"
    msg = msg.removeprefix("Value error, ")
    if isinstance(err.get("input"), dict):  # a check across keys, which its message names: no dump of the table
        return f"key {key!r}: {msg}" if err["loc"] else msg
    return f"key {key!r}: {msg} (got {err.get('input')!r})"


def _closest_key(loc: tuple[Any, ...]) -> str | None:
    """The valid key nearest to a misspelt one, e.g. train.epoch → train.epochs."""
    import difflib

    model: Any = Preset
    for part in loc[:-1]:
        field = model.model_fields.get(str(part))
        if field is None or not (isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)):
            return None
        model = field.annotation
    match = difflib.get_close_matches(str(loc[-1]), list(model.model_fields), n=1, cutoff=0.6)
    return ".".join([*map(str, loc[:-1]), match[0]]) if match else None


def _resolve_paths(preset: Preset, base_dir: Path) -> list[str]:
    problems: list[str] = []
    preset.data.path = _data_path(preset.data.path, "data.path", base_dir, problems)
    for i, source in enumerate(preset.data.mix):
        source.path = _data_path(source.path, f"data.mix[{i}].path", base_dir, problems)
    preset.data.paths = [_data_path(p, f"data.paths[{i}]", base_dir, problems) for i, p in enumerate(preset.data.paths)]
    model = parse_model_ref(preset.model.path, base_dir)  # the schema accepted its form
    if model.path is not None:  # a local file or folder
        if not model.path.exists():
            problems.append(f"key 'model.path': no such file or folder: {model.path}")
        preset.model.path = str(model)
    return problems


def _data_path(data_path: str, key: str, base_dir: Path, problems: list[str]) -> str:
    """A data reference resolved against the preset's folder; a problem with it added to ``problems``."""
    if data_path.startswith(HUB_PREFIX):
        from tuitune.data import hub
        from tuitune.data.schema import DataError

        try:
            hub.parse(data_path)
        except DataError as e:
            problems.append(f"key '{key}': {e}")
        return data_path
    if data_path.startswith(BUNDLED_PREFIX):  # a hub id is fetched when the data is read
        return data_path
    resolved = (base_dir / Path(data_path).expanduser()).resolve()
    if not resolved.exists():
        problems.append(f"key '{key}': file not found: {resolved}")
    return str(resolved)


def field_help() -> list[tuple[str, str, str, str]]:
    """(key, type, default, help) for every preset key, in schema order, in people's words:
    "one of: sft, dpo", "a whole number, or auto", default "sft" or "required"."""
    rows = []
    for section_name, section_field in Preset.model_fields.items():
        ann = section_field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            for name, f in ann.model_fields.items():
                guided = f"{section_name}.{name}" in GUIDED
                value = None if f.is_required() else f.get_default(call_default_factory=True)
                default = "required" if f.is_required() else _value_words(value, guided)
                rows.append((f"{section_name}.{name}", type_words(f.annotation, guided), default, f.description or ""))
        else:
            rows.append((section_name, type_words(ann), _value_words(section_field.default), section_field.description or ""))
    return rows


def key_summary(type_text: str, default: str) -> str:
    """What a key takes and its default, as the key's help line shows them."""
    return f"{type_text}; {'required' if default == 'required' else 'default ' + default}"


_WORDS = {bool: "true or false", int: "a whole number", float: "a number", str: "text"}


def type_words(annotation: Any, guided: bool = False) -> str:
    """An annotation as a person reads it: ``Literal['sft', 'dpo']`` is "one of: sft, dpo",
    ``int | None`` is "a whole number, or auto" for a key tuitune chooses (else ", or none")."""
    parts = [a for a in get_args(annotation)] if get_origin(annotation) in (Union, types.UnionType) else [annotation]
    unset = type(None) in parts
    words = [_one_type_words(p) for p in parts if p is not type(None)]
    text = words[-1]
    if len(words) > 1:  # "auto, true or false"; "all-linear, or a list of texts"
        text = ", ".join(words[:-1]) + (", " if " or " in words[-1] else ", or ") + words[-1]
    if unset:
        text += ", or auto" if guided else ", or none"
    return text


def _one_type_words(annotation: Any) -> str:
    if get_origin(annotation) is Literal:
        values = [_value_words(v) for v in get_args(annotation)]
        return values[0] if len(values) == 1 else "one of: " + ", ".join(values)
    if get_origin(annotation) is list:
        item = get_args(annotation)[0]
        if get_origin(item) is Literal:
            return "a list of: " + ", ".join(_value_words(v) for v in get_args(item))
        return "a list of " + {str: "texts", int: "whole numbers", float: "numbers"}.get(item, "values")
    if get_origin(annotation) is dict:
        return "a table of names"
    return _WORDS.get(annotation, str(annotation).replace("typing.", ""))


def _value_words(value: Any, guided: bool = False) -> str:
    if value is None or (guided and value == "auto"):
        return "auto" if guided else "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)) and not value:
        return "empty"
    if isinstance(value, list):
        return ", ".join(_value_words(v) for v in value)
    return str(value)
