"""What one rank of a multi-process run needs (train/distributed.py launches them): which rank
it is, a view of the run that writes nothing unless it is rank 0, and the few points where the
ranks must agree — the data prepared once, a stop at the same step, a checkpoint renamed into
place only after every rank wrote its part.

Single-process runs go through the same calls; each is then a no-op, so the stages need no
second code path. The process group is whatever accelerate's launcher set up (``RANK``,
``WORLD_SIZE``, ``MASTER_ADDR``/``PORT`` in the environment; gloo on the CPU, NCCL on GPUs).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tuitune.runs.store import RunDir, RunState

RANK_ENV = "TUITUNE_RANK_OF"
"""Set by the supervisor for the processes it launches: the run directory they belong to."""


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1")) if os.environ.get(RANK_ENV) else 1


def rank() -> int:
    return int(os.environ.get("RANK", "0")) if os.environ.get(RANK_ENV) else 0


def is_main() -> bool:
    return rank() == 0


def local_rank() -> int:
    return int(os.environ.get("LOCAL_RANK", "0")) if os.environ.get(RANK_ENV) else 0


def sharded() -> bool:
    """FSDP or DeepSpeed (accelerate's launcher says so in the environment): every forward
    needs every rank, so nothing may run the model on one rank alone."""
    return world_size() > 1 and any(os.environ.get(k, "").lower() == "true"
                                    for k in ("ACCELERATE_USE_FSDP", "ACCELERATE_USE_DEEPSPEED"))


def probes_here() -> bool:
    """Whether this rank answers the probe prompts: rank 0 alone (its replica is the model) —
    and no rank when the model is sharded (a generation on one rank would wait for the others)."""
    return is_main() and not sharded()


def prepare_final_save(trainer: Any) -> None:
    """Before the adapter or model is saved at the end: FSDP's checkpoints are sharded (each rank
    writes its part, fast, and resume reads them back), but the saved result must be a full state
    dict gathered on rank 0, in the plain format the export's merge reads."""
    plugin = getattr(getattr(getattr(trainer, "accelerator", None), "state", None), "fsdp_plugin", None)
    if plugin is not None and world_size() > 1:
        plugin.set_state_dict_type("FULL_STATE_DICT")


class RankView(RunDir):
    """The run as a rank other than 0 sees it: it reads everything, writes no state (rank 0
    keeps state.json), and keeps what it must write (its copy of the cleaned data) in its own
    folder under ``launch/``."""

    def write_state(self, state: RunState) -> None:
        pass

    def update_state(self, **changes: Any) -> RunState:
        return self.read_state()

    data_dir = property(lambda self: self.path / "launch" / f"rank-{rank()}" / "data")


class SilentEvents:
    """The event stream of a rank other than 0: rank 0 speaks for the run."""

    seq = 0

    def emit(self, type: str, *, sync: bool = False, **fields: Any) -> dict[str, Any]:
        return {"type": type, **fields}

    def continue_sequence(self) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> SilentEvents:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def _group() -> Any:
    """torch.distributed once initialized, else None (a single process, or before the Trainer)."""
    if world_size() == 1:
        return None
    import torch.distributed as dist

    if not dist.is_initialized():
        from accelerate import PartialState

        PartialState()  # joins the process group accelerate's launcher prepared
    return dist


def barrier() -> None:
    dist = _group()
    if dist is not None:
        dist.barrier()


def others_wait() -> None:
    """With :func:`main_done`, around what rank 0 must do first (clean the data, write
    guidance.json): the other ranks wait here, then do the same and find its results (the data
    cache hits, the guidance is read, not chosen again)."""
    if not is_main():
        barrier()


def main_done() -> None:
    if is_main():
        barrier()


def any_rank(flag: bool, device: Any = None) -> bool:
    """True on every rank when ``flag`` is true on any: one tiny all-reduce (an optimizer step's
    end is the only caller, so the cost is one sync per step, only with several processes)."""
    dist = _group()
    if dist is None:
        return flag
    import torch

    on = torch.device(device) if device is not None else torch.device("cpu")
    if dist.get_backend() == "nccl" and on.type != "cuda":
        on = torch.device("cuda", torch.cuda.current_device())
    t = torch.tensor([1 if flag else 0], dtype=torch.int32, device=on)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


def memory_per_rank() -> list[dict[str, int]] | None:
    """Each rank's CUDA allocator counters, gathered on every rank (None on the CPU, where there
    are none; RSS would count the shared libraries once per process)."""
    import torch

    if not torch.cuda.is_available():
        return None
    mine = torch.tensor([torch.cuda.memory_allocated(), torch.cuda.memory_reserved()], dtype=torch.int64,
                        device=torch.device("cuda", torch.cuda.current_device()))
    dist = _group()
    if dist is None:
        return [{"allocated": int(mine[0]), "reserved": int(mine[1])}]
    out = [torch.zeros_like(mine) for _ in range(world_size())]
    dist.all_gather(out, mine)
    return [{"allocated": int(t[0]), "reserved": int(t[1])} for t in out]


def outcome_file(run: RunDir, which: int | None = None) -> Path:
    """Where a rank leaves how it ended (read by the supervisor, which records the run's end)."""
    return run.path / "launch" / f"outcome-{rank() if which is None else which}.json"
