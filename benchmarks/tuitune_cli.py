"""The benchmarks' one way to drive tuitune: its real command line in a subprocess, with a
TUITUNE_HOME of the benchmark's own, and the events and records of the run it made."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any


def tuitune(*args: str, home: Path, log: Path) -> str:
    """Run the tuitune command line; its stdout (stderr goes to ``log``)."""
    env = dict(os.environ, TUITUNE_HOME=str(home), HF_HUB_OFFLINE="1")
    with open(log, "a") as err:
        proc = subprocess.run([sys.executable, "-m", "tuitune", *args], stdout=subprocess.PIPE, stderr=err,
                              text=True, env=env)
    if proc.returncode:
        raise SystemExit(f"tuitune {' '.join(args[:2])} failed (exit {proc.returncode}); see {log}")
    return proc.stdout


def only_run(home: Path) -> Path:
    """The one run directory a benchmark's home holds."""
    [run] = sorted((home / "runs").iterdir())
    return run


def events(run: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines() if line.strip()]


def eval_summary(target: str, home: Path, log: Path, data: Path | None = None, *flags: str) -> dict[str, Any]:
    """`tuitune eval --no-general --json [FLAGS]` on ``data`` (default: the run's validation rows): its summary."""
    more = ["--data", str(data)] if data is not None else []
    return json.loads(tuitune("eval", target, *more, "--no-general", "--json", *flags, home=home, log=log))


def eval_answers(target: str, home: Path, log: Path, data: Path | None = None, *flags: str
                 ) -> dict[str, list[dict[str, Any]]]:
    """The answers of :func:`eval_summary`'s rows: ``{"base": [{"answer", "contains"}...], "tuned": [...]}``
    for the sides present (``--no-base``: the tuned side only)."""
    summary = eval_summary(target, home, log, data, *flags)
    rows = [json.loads(line) for line in Path(summary["per_row"]).read_text().splitlines()]
    return {side: [{"answer": r[side]["answer"], "contains": r[side].get("contains")} for r in rows]
            for side in ("base", "tuned") if rows and side in rows[0]}
