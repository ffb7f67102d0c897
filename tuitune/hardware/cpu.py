"""How many CPU threads tuitune's own compute may use: llama.cpp's (chat, scoring, export
verification, requantizing) and the chat's share beside a CPU run.

One rule: ``OMP_NUM_THREADS`` when it is set (the usual way to cap a process's threads, which
torch already obeys), else the cores this process may run on (its affinity mask: a container or
`taskset` may grant fewer than the machine has). llama.cpp's workers spin while they wait for
each other, so more threads than free cores does not just fail to help: a batched evaluation
on 2 cores shared with another process took 27x as long with 2 threads as with 1.
"""

from __future__ import annotations

import os


def cores() -> int:
    """The cores this process may use (at least 1)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not on Linux
        return max(1, os.cpu_count() or 1)


def threads() -> int:
    """Threads for tuitune's CPU compute: ``OMP_NUM_THREADS`` when set to a number, else :func:`cores`."""
    limit = os.environ.get("OMP_NUM_THREADS", "").strip()
    if limit.isdigit() and int(limit) > 0:
        return min(int(limit), cores())
    return cores()
