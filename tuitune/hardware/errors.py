"""The one error the hardware package raises for bad input: a model reference without a
config, an architecture it does not know, an impossible setting. Fronts print it as one line
and exit with code 2."""

from __future__ import annotations

from tuitune.errors import TuituneError


class PlannerError(TuituneError):
    """Bad input to the planner or the probe; the message says what was wrong and what to do."""
