"""The accelerate config of a multi-process run, written to ``RUN_DIR/launch/accelerate.yaml``
(and only read by ``accelerate launch``): one place that says what DDP, FSDP and DeepSpeed mean
for tuitune. Light: plain data, no torch.

What each strategy sets, and why:

- every one: ``num_processes`` ranks on this machine, a free local port for the rendezvous,
  the preset's precision as accelerate's ``mixed_precision`` (the Trainer reads it too); on
  the CPU the ranks talk over gloo (see ``use_cpu`` below for how).
- ``ddp``: accelerate's MULTI_GPU: a full replica per process, gradients all-reduced each step.
- ``fsdp``: FSDP full sharding, each decoder layer its own unit (the model's
  ``_no_split_modules``), the original parameters kept (PEFT trains a few of them), loading on
  rank 0's CPU and broadcasting (CPU-efficient loading, so N ranks don't read N copies), and
  sharded checkpoints (each rank writes its shard; the final save gathers a full state dict for
  the export, see train/distributed_save.py). QLoRA on FSDP needs the 4-bit storage dtype to be
  the compute dtype, which the model loading already does (weights/loading.py).
- ``deepspeed``: ZeRO-3 (or 2), its buckets sized by the Trainer (``auto``).
"""

from __future__ import annotations

import json
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STRATEGIES = ("ddp", "fsdp", "deepspeed")
MIXED = {"bf16": "bf16", "fp16": "fp16", "fp32": "no", "auto": "no"}


@dataclass(frozen=True)
class Launch:
    """How a run is spread over processes (from ``[train] distributed`` and ``num_processes``)."""

    strategy: str  # ddp | fsdp | deepspeed
    num_processes: int
    device: str  # cuda | cpu
    reason: str  # why this layout (for the event and `runs show`)
    precision: str = "auto"
    zero_stage: int = 3

    def to_event(self) -> dict[str, Any]:
        return {"strategy": self.strategy, "num_processes": self.num_processes, "device": self.device,
                "reason": self.reason}


def rank_env(launch: Launch) -> dict[str, str]:
    """What the ranks need in their environment beyond the config (see ``use_cpu``)."""
    return {"ACCELERATE_USE_CPU": "true"} if launch.device == "cpu" else {}


def free_port() -> int:
    """A port nobody listens on now (the rendezvous binds it a moment later; two runs started
    in the same instant could collide, and the second then fails with a clear 'address in use')."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def accelerate_config(launch: Launch, port: int, deepspeed_file: Path | None = None) -> dict[str, Any]:
    cpu = launch.device == "cpu"
    config: dict[str, Any] = {
        "compute_environment": "LOCAL_MACHINE",
        "num_machines": 1,
        "machine_rank": 0,
        "num_processes": launch.num_processes,
        "main_process_ip": "127.0.0.1",
        "main_process_port": port,
        "rdzv_backend": "static",
        "same_network": True,
        "mixed_precision": "no" if cpu else MIXED[launch.precision],
        # accelerate's launcher starts one process per rank only through torch's elastic agent
        # (its MULTI_GPU / FSDP path); with `use_cpu` it would start one process in all. So the
        # config says no, and the ranks get ACCELERATE_USE_CPU (rank_env): gloo on the CPU.
        "use_cpu": False,
        "debug": False,
        "downcast_bf16": "no",
    }
    if launch.strategy == "ddp":
        config["distributed_type"] = "MULTI_GPU"  # MULTI_CPU would start one process (see use_cpu)
        config["gpu_ids"] = "all"
    elif launch.strategy == "fsdp":
        config["distributed_type"] = "FSDP"
        config["fsdp_config"] = {
            "fsdp_version": 1,
            "fsdp_sharding_strategy": "FULL_SHARD",
            "fsdp_auto_wrap_policy": "TRANSFORMER_BASED_WRAP",
            "fsdp_backward_prefetch": "BACKWARD_PRE",
            "fsdp_forward_prefetch": False,
            "fsdp_state_dict_type": "SHARDED_STATE_DICT",
            # Rank 0 loads, the others receive by broadcast: accelerate implements it for
            # accelerator devices only (on the CPU it refuses: "no available devices").
            "fsdp_cpu_ram_efficient_loading": not cpu,
            "fsdp_sync_module_states": not cpu,
            "fsdp_use_orig_params": True,
            "fsdp_offload_params": False,
        }
    else:
        config["distributed_type"] = "DEEPSPEED"
        config["deepspeed_config"] = {"deepspeed_config_file": str(deepspeed_file), "zero3_init_flag": launch.zero_stage == 3}
    return config


def deepspeed_config(launch: Launch) -> dict[str, Any]:
    """ZeRO-2/3 with every size left to the Trainer (``auto`` is filled from TrainingArguments)."""
    zero: dict[str, Any] = {"stage": launch.zero_stage, "overlap_comm": True, "contiguous_gradients": True,
                            "reduce_bucket_size": "auto"}
    if launch.zero_stage == 3:
        zero.update({"stage3_prefetch_bucket_size": "auto", "stage3_param_persistence_threshold": "auto",
                     "stage3_gather_16bit_weights_on_model_save": True})
    return {
        "zero_optimization": zero,
        "bf16": {"enabled": "auto"}, "fp16": {"enabled": "auto"},
        "train_micro_batch_size_per_gpu": "auto", "gradient_accumulation_steps": "auto",
        "train_batch_size": "auto", "gradient_clipping": "auto",
    }


def write_config(folder: Path, launch: Launch) -> Path:
    """Write the config (and a DeepSpeed JSON beside it) into ``folder``; returns the YAML's path.
    YAML is a superset of JSON, so the file is written as JSON: no YAML writer needed."""
    from tuitune.paths import atomic_write_text

    folder.mkdir(parents=True, exist_ok=True)
    ds_file = None
    if launch.strategy == "deepspeed":
        ds_file = folder / "deepspeed.json"
        atomic_write_text(ds_file, json.dumps(deepspeed_config(launch), indent=2) + "\n")
    path = folder / "accelerate.yaml"
    atomic_write_text(path, json.dumps(accelerate_config(launch, free_port(), ds_file), indent=2) + "\n")
    return path
