"""Command-line flags whose allowed values and defaults are the preset schema's.

The parser of every command is built when ``tuitune`` starts, but the schema is pydantic
(0.1 s to import), and ``tuitune --help`` shows none of these flags. So the values are read
from :mod:`tuitune.preset.schema` only when argparse needs them: to check a flag that was
given, or to print its command's ``--help``. A flag left out holds a :class:`SchemaDefault`
until :func:`resolve` puts the value in its place (the command's handler calls it first).
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator, Sequence
from typing import Any


class SchemaChoices(Sequence[Any]):
    """``choices=`` for argparse: the values of a preset key, less ``without``."""

    def __init__(self, key: str, *, without: tuple[Any, ...] = ()) -> None:
        self.key, self.without = key, without
        self._values: tuple[Any, ...] | None = None

    @property
    def values(self) -> tuple[Any, ...]:
        if self._values is None:
            from tuitune.preset.keys import choices

            self._values = tuple(v for v in choices(self.key) if v not in self.without)
        return self._values

    def __getitem__(self, index: Any) -> Any:
        return self.values[index]

    def __len__(self) -> int:
        return len(self.values)

    def __contains__(self, value: object) -> bool:
        return value in self.values

    def __iter__(self) -> Iterator[Any]:
        return iter(self.values)

    def __repr__(self) -> str:
        return f"SchemaChoices({self.key!r})"


class SchemaDefault:
    """``default=`` for argparse: a preset key's default; ``%(default)s`` in a help text shows it."""

    def __init__(self, key: str) -> None:
        self.key = key

    @property
    def value(self) -> Any:
        from tuitune.preset.keys import default

        return default(self.key)

    def __str__(self) -> str:
        return str(self.value)

    def __repr__(self) -> str:
        return f"SchemaDefault({self.key!r})"


def resolve(args: argparse.Namespace) -> argparse.Namespace:
    """The schema's values in place of the flags left at a :class:`SchemaDefault`."""
    for name, value in vars(args).items():
        if isinstance(value, SchemaDefault):
            setattr(args, name, value.value)
    return args
