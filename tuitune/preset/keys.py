"""What the preset schema says of one dotted key (``train.method``): its field, the fixed values
it allows and its default, read from the pydantic models in :mod:`tuitune.preset.schema`, so
that no front, planner or worker keeps its own copy of a list of values or a default.
"""

from __future__ import annotations

from typing import Any, Literal, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from tuitune.preset.schema import Preset


def field_info(key: str) -> FieldInfo:
    """The schema's field for a dotted key (``train.method``); KeyError naming the key if none."""
    section, _, name = key.partition(".")
    try:
        info = Preset.model_fields[section]
        if name:
            model = info.annotation
            if not (isinstance(model, type) and issubclass(model, BaseModel)):
                raise KeyError(key)
            info = model.model_fields[name]
    except KeyError:
        raise KeyError(f"no preset key {key!r}") from None
    return info


def choices(key: str) -> tuple[Any, ...]:
    """The values a key allows, in the schema's order, read from the ``Literal`` of its
    annotation: ``choices("train.stage")`` is ``("sft", "dpo")``; a
    ``list[Literal[...]]`` gives its items' values, ``Literal["auto"] | bool`` gives
    ``("auto", True, False)``. Every list of allowed values a front or the worker shows or
    checks comes from here, so a value added to the schema is offered everywhere.
    ValueError for a key whose values are not a fixed set (numbers, paths, free lists)."""
    found = _closed_values(field_info(key).annotation)
    if not found:
        raise ValueError(f"preset key {key!r} is not a choice of fixed values")
    return found


def default(key: str) -> Any:
    """The schema's default for a key (a fresh copy for list and dict defaults); ``None`` for
    the guided keys tuitune chooses itself. ValueError for a required key."""
    info = field_info(key)
    if info.is_required():
        raise ValueError(f"preset key {key!r} has no default: a preset must set it")
    return info.get_default(call_default_factory=True)


def _closed_values(annotation: Any) -> tuple[Any, ...] | None:
    """The fixed values an annotation allows, or None when it also allows others."""
    if get_origin(annotation) is Literal:
        return get_args(annotation)
    if annotation is bool:
        return (True, False)
    if get_origin(annotation) is list:
        return _closed_values(get_args(annotation)[0])
    parts = [a for a in get_args(annotation) if a is not type(None)]  # a union; None means "unset"
    if not parts:
        return None
    out: list[Any] = []
    for part in parts:
        values = _closed_values(part)
        if values is None:
            return None
        out += [v for v in values if v not in out]
    return tuple(out)
