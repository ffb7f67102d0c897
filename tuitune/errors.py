"""User mistakes: one class, :class:`TuituneError`, for every error a person can cause and fix
(a bad preset, bad data, a model file that cannot be used, a run that cannot be found, an
action that makes no sense now, ...). Its message says what was wrong, where, and what to do.

Every front and worker catches that one class — the CLI through :func:`user_errors` (exit 2,
never a traceback), the TUI as a notification, a worker through :func:`explain` into the
run's record — so a new kind of user error needs no list updated anywhere.

The bottom layer: every package imports this module, and it imports none of them.
"""

from __future__ import annotations

import errno
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeGuard

EXIT_USER_ERROR = 2


class TuituneError(Exception):
    """An error a person caused and can fix; the message says what was wrong, where, and what to do."""

    def lines(self) -> list[str]:
        """The message as one line per problem (a preset reports all its problems at once)."""
        return [str(self)]


@contextmanager
def user_errors() -> Iterator[None]:
    """The CLI's handler: a :class:`TuituneError` becomes ``error: …`` lines on stderr and exit
    code 2; so does a full disk, which a person fixes too (any other OSError stays a traceback)."""
    try:
        yield
    except TuituneError as e:
        for line in e.lines():
            print(f"error: {line}", file=sys.stderr)
        raise SystemExit(EXIT_USER_ERROR) from None
    except OSError as e:
        if not is_disk_full(e):
            raise
        print(f"error: {disk_message(e)}", file=sys.stderr)
        raise SystemExit(EXIT_USER_ERROR) from None


def is_disk_full(error: BaseException) -> TypeGuard[OSError]:
    return isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT)


def disk_message(error: OSError) -> str:
    """An OSError in the words a person acts on; a full disk says so."""
    if is_disk_full(error):
        return f"no space left on the disk holding {error.filename or 'the file being written'}; free some space, then try again"
    return f"{error.strerror or error}{f' ({error.filename})' if error.filename else ''}"


def is_oom(error: BaseException) -> bool:
    """Out of memory: CUDA's OutOfMemoryError (a RuntimeError), older "CUDA out of memory"
    RuntimeErrors, and a MemoryError on the CPU. Here, beside :func:`explain`, because every
    worker (training, export, chat) can run out of memory; recognised by name so that this
    module never imports torch."""
    if isinstance(error, MemoryError) or type(error).__name__ == "OutOfMemoryError":
        return True
    return isinstance(error, RuntimeError) and "out of memory" in str(error).lower()


def explain(error: BaseException) -> str:
    """What a worker records when it fails: one message a person can act on."""
    if isinstance(error, TuituneError):
        return str(error)
    if isinstance(error, KeyboardInterrupt):
        return "interrupted"
    if type(error).__name__ == "SecurityError":  # jinja2's sandbox refused a chat template
        return (f"refused: the model's chat template tries to reach outside its sandbox ({error}). "
                "Templates render in a sandboxed Jinja environment; use a model whose template is plain Jinja.")
    if is_oom(error):
        return f"out of memory ({error}); see `tuitune plan` for settings that fit"
    if is_disk_full(error):
        return disk_message(error)
    return f"{type(error).__name__}: {error} (details in worker.log)"
