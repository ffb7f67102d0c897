"""Time the CPU demo preset end to end and print its loss curve.

    python benchmarks/demo_cpu.py [-s train.max_steps=20 ...]

Runs the real `tuitune demo --json` (a new run in $TUITUNE_HOME, default: a temporary folder)
and reports wall time, time to the first step, median step time, tokens/s, and the training and
validation losses.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time


def main(overrides: list[str]) -> int:
    env = dict(os.environ)
    env.setdefault("TUITUNE_HOME", tempfile.mkdtemp(prefix="tuitune-bench-"))
    start = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tuitune", "demo", "--json", *overrides],
        stdout=subprocess.PIPE, text=True, env=env,
    )
    first_step = None
    events = []
    for line in proc.stdout:
        event = json.loads(line)
        events.append(event)
        if event["type"] == "step" and first_step is None:
            first_step = time.monotonic() - start
    proc.wait()
    wall = time.monotonic() - start
    steps = [e for e in events if e["type"] == "step"]
    evals = [e for e in events if e["type"] == "eval"]
    print(f"exit code           {proc.returncode}")
    print(f"wall time           {wall:.1f} s")
    print(f"first step after    {first_step:.1f} s" if first_step else "no step")
    if steps:
        print(f"median step time    {statistics.median(e['step_time'] for e in steps if 'step_time' in e):.2f} s")
        tps = [e["tokens_per_s"] for e in steps if "tokens_per_s" in e]
        if tps:
            print(f"median tokens/s     {statistics.median(tps):.0f}")
        print("loss curve (step: train loss)")
        for e in steps[:: max(1, len(steps) // 16)] + ([steps[-1]] if len(steps) % 16 else []):
            print(f"  {e['step']:4d}: {e['loss']:.3f}")
    for e in evals:
        print(f"validation loss at step {e['step']}: {e['loss']:.3f}")
    return proc.returncode


if __name__ == "__main__":
    args = sys.argv[1:]
    overrides = [a for pair in zip(["-s"] * len(args), args, strict=False) for a in pair] if args and args[0] != "-s" else args
    raise SystemExit(main(overrides))
