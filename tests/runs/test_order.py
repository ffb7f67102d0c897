"""`list_runs` keeps its promise, oldest first, also for runs created within one second."""

import time

from tuitune.preset import parse_preset
from tuitune.runs.store import create_run, list_runs

PRESET = parse_preset('[model]\npath = "bundled:smollm2-135m-instruct"\n[data]\npath = "bundled:pirate"\n')


def test_runs_created_in_the_same_second_list_oldest_first(tuitune_home, monkeypatch):
    # Every id gets the same second, so only the creation order can sort them; names sort the
    # other way round, so an order by id would reverse them.
    monkeypatch.setattr(time, "strftime", lambda fmt, *args: "20260101-120000")
    made = [create_run(PRESET.model_copy(update={"name": name})) for name in ("zz", "mm", "aa", "bb")]
    assert len({r.id[:15] for r in made}) == 1
    assert [r.id for r in list_runs()] == [r.id for r in made]
