"""The canned runs of tests/tui/support.py are what a worker really writes."""

from __future__ import annotations

from pathlib import Path

from tests.tui.support import canned_run
from tuitune.events import parse_line, read_events


def test_canned_events_parse_like_a_workers(tuitune_home):
    run = canned_run(steps=12)
    events = read_events(run.events)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert all(parse_line(line) for line in run.events.read_text().splitlines())
    assert events[-1]["type"] == "finished"
    assert Path(run.path).parent == tuitune_home / "runs"
    assert run.status() == "done"


def test_canned_running_run_without_worker_reads_crashed():
    assert canned_run(status="running").status() == "crashed"
