"""A check's result, and the whole report: what both fronts and the probe worker share."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

Status = Literal["ok", "warn", "fail", "skip"]
STATUSES: tuple[Status, ...] = ("ok", "warn", "fail", "skip")


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    message: str
    fix: str = ""
    """What to do about it (empty when there is nothing to do)."""

    def to_json(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Check:
        status = data.get("status")
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        return cls(str(data["name"]), status, str(data.get("message", "")), str(data.get("fix", "")))


def counts(checks: list[Check]) -> dict[str, int]:
    return {status: sum(c.status == status for c in checks) for status in STATUSES}


def summary(checks: list[Check]) -> str:
    """One line: ``9 ok · 1 warn · 0 fail · 4 skip``, and the first failure's name."""
    n = counts(checks)
    line = " · ".join(f"{n[s]} {s}" for s in STATUSES)
    failed = [c.name for c in checks if c.status == "fail"]
    return line + (f" — fix first: {failed[0]}" if failed else "")


def report_lines(checks: list[Check]) -> list[tuple[str, str]]:
    """The report as (status, rest of the line) pairs, names aligned, with the fix on a line of
    its own (status "") under a warning or a failure: each front lays them out in its way."""
    width = max((len(c.name) for c in checks), default=0)
    lines: list[tuple[str, str]] = []
    for c in checks:
        lines.append((c.status, f"{c.name:{width}}  {c.message}"))
        if c.fix and c.status in ("warn", "fail"):
            lines.append(("", f"{'':{width}}  → {c.fix}"))
    return lines
