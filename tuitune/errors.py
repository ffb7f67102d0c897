"""User mistakes become one clear message and exit code 2 — never a traceback."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from tuitune.chat.backend import ChatError
from tuitune.data.loader import DataError
from tuitune.hardware.errors import PlannerError
from tuitune.models.bundled import BundledNotFound
from tuitune.models.files import ModelFileError
from tuitune.preset import PresetError
from tuitune.runs.store import RunStoreError

USER_ERRORS = (PresetError, DataError, RunStoreError, BundledNotFound, ChatError, PlannerError, ModelFileError)


@contextmanager
def user_errors() -> Iterator[None]:
    try:
        yield
    except PresetError as e:
        for problem in e.problems:
            print(f"error: {e.source}: {problem}", file=sys.stderr)
        raise SystemExit(2) from None
    except USER_ERRORS as e:
        print(f"error: {e}", file=sys.stderr)
        raise SystemExit(2) from None
