"""How fast the command line answers, next to importing torch, measured side by side.

    python benchmarks/cli_startup.py [--runs 5]

Each sample is a fresh process, timed from spawn to exit: `tuitune --help`, `tuitune --version`,
a bare interpreter (`python -c pass`) and `python -c "import torch"`, interleaved so that all
four see the same machine load. Prints the best and median of each and the ratios to importing
torch: well under 1 while the command line stays light (DESIGN.md, "Layers"); near 1 or above
means something on the way to --help imports the training stack. Measures, never fails.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "tuitune --help": [sys.executable, "-m", "tuitune", "--help"],
    "tuitune --version": [sys.executable, "-m", "tuitune", "--version"],
    "python -c 'import torch'": [sys.executable, "-c", "import torch"],
}


def sample(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, capture_output=True, check=True, timeout=120)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(args.runs):  # interleaved, so every command sees the same machine load
        for name, argv in COMMANDS.items():
            times[name].append(sample(argv))
    print(f"{'':28}{'best':>8}{'median':>9}   ({args.runs} fresh processes each)")
    for name, values in times.items():
        print(f"{name:28}{min(values):8.3f}{statistics.median(values):9.3f} s")
    torch = statistics.median(times["python -c 'import torch'"])
    for name in ("tuitune --help", "tuitune --version"):
        print(f"ratio {name} / import torch (median): {statistics.median(times[name]) / torch:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
