"""Time to the TUI's first frame, next to a bare Textual app and to importing torch, measured
side by side.

    python benchmarks/tui_startup.py [--runs 5]

Each sample is a fresh process (headless, 120x40) timed from just before it is spawned to its
``Ready`` event (Textual sends it once the first frame is displayed), and then to the moment the
home screen's recent-runs table holds the runs (read in a thread after the first frame); the
torch sample is `python -c "import torch"` timed to its exit. The three are interleaved so that
they see the same machine load. Prints the best and median of each, the ratio to the bare app
(what tuitune adds to Textual) and the ratio to importing torch (under 1 while the TUI process
stays light). Measures, never fails. TUITUNE_HOME is honoured (use a temporary one to time an
empty home).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

CHILD = """
import sys, time
t0 = float(sys.argv[1])
kind = sys.argv[2]
if kind == "bare":
    from textual.app import App
    from textual.widgets import Footer, Header, Static

    class Bare(App):
        def compose(self):
            yield Header(); yield Static("hello"); yield Footer()

        def on_ready(self):
            print(f"{time.time() - t0:.4f} {time.time() - t0:.4f}", flush=True)
            self.exit()

    Bare().run(headless=True, size=(120, 40))
else:
    from tuitune.tui.app import TuituneApp

    class Timed(TuituneApp):
        def on_ready(self):
            self.first = time.time() - t0
            self.set_interval(0.005, self.check_runs)

        def check_runs(self):
            if self.screen.query_one("#recent").all_rows is not None:
                print(f"{self.first:.4f} {time.time() - t0:.4f}", flush=True)
                self.exit()

    Timed().run(headless=True, size=(120, 40))
"""


def sample_torch() -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import torch"], capture_output=True, check=True, timeout=120)
    return time.perf_counter() - t0


def sample(kind: str) -> tuple[float, float]:
    t0 = time.time()
    out = subprocess.run([sys.executable, "-c", CHILD, repr(t0), kind], capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise SystemExit(f"{kind} app failed:\n{out.stderr[-2000:]}")
    first, ready = (float(x) for x in out.stdout.split()[-2:])
    return first, ready


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    bare, tui, torch = [], [], []
    for _ in range(args.runs):  # interleaved, so all three see the same machine load
        bare.append(sample("bare"))
        tui.append(sample("tui"))
        torch.append(sample_torch())
    bare_first = [b[0] for b in bare]
    tui_first, tui_runs = [t[0] for t in tui], [t[1] for t in tui]
    print(f"{'':28}{'best':>8}{'median':>9}   ({args.runs} fresh processes each)")
    print(f"{'bare Textual app: frame 1':28}{min(bare_first):8.3f}{statistics.median(bare_first):9.3f} s")
    print(f"{'tuitune TUI: frame 1':28}{min(tui_first):8.3f}{statistics.median(tui_first):9.3f} s")
    print(f"{'tuitune TUI: runs listed':28}{min(tui_runs):8.3f}{statistics.median(tui_runs):9.3f} s")
    print(f"{'python -c import torch':28}{min(torch):8.3f}{statistics.median(torch):9.3f} s")
    print(f"ratio TUI / bare (first frame, median): {statistics.median(tui_first) / statistics.median(bare_first):.2f}")
    print(f"ratio TUI first frame / import torch (median): {statistics.median(tui_first) / statistics.median(torch):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
