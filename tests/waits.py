"""Every wait of the test suite, in one place: poll a condition until it holds, in a plain test
or while a Textual app runs under the pilot.

A fixed sleep is too short on a loaded machine and too long everywhere else; these return as
soon as the condition holds, and fail naming what was awaited when it never does. Nothing else
in tests/ sleeps or pauses for a time (tests/house/test_suite_rules.py checks it).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

POLL_S = 0.05
"""How often a condition is read again: short against the timeouts, long against a read."""


def wait_for(predicate: Callable[[], T], timeout: float = 180, what: str = "condition") -> T:
    """Poll ``predicate`` until it returns something true, and return that; fail after ``timeout`` s.
    For real processes (workers, stand-ins) whose files or state a test waits on."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(POLL_S)


async def until(pilot: Any, predicate: Callable[[], T], timeout: float = 5.0, what: str = "condition") -> T:
    """Let the app run (its workers, timers and messages) until ``predicate()`` is true, and return it."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        await pilot.pause(POLL_S)


async def steady(pilot: Any, read: Callable[[], T], polls: int = 5, timeout: float = 10.0, what: str = "the screen") -> T:
    """``read()`` once it has returned the same value ``polls`` times in a row while the app ran:
    for recording what a screen settles on (its repaints land asynchronously, the footer last)."""
    deadline = time.monotonic() + timeout
    last, same = read(), 1
    while same < polls:
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} kept changing for {timeout:g} s")
        await pilot.pause(POLL_S)
        value = read()
        same = same + 1 if value == last else 1
        last = value
    return last
