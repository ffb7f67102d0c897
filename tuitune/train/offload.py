"""Activation offloading (`train.activation_offloading`): on CUDA it is TRL's own manager
(``SFTConfig(activation_offloading=True)``, trl/models/activation_offloading.py). That manager
asks ``torch.accelerator`` for the device and fails on a CPU-only torch, so on the CPU the same
switch installs :class:`HostOffload` in the slot TRL's ``training_step`` enters around every
step (``maybe_activation_offload_context``): saved-tensor hooks with TRL's selection rules and
no streams. On the CPU nothing moves — the activations already live in CPU memory — but a run
takes the same code path as on a GPU, and the hooks count what they handle, which is what a GPU
run would hold in CPU RAM.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.autograd.graph import saved_tensors_hooks

# TRL's `min_offload_size`: smaller tensors are not worth a copy and stay where they are.
MIN_OFFLOAD_BYTES = 1024


class HostOffload(saved_tensors_hooks):
    """Saved tensors of at least 1 KiB that are not parameters go to host memory in the forward
    and come back in the backward, as TRL selects them; storages saved twice count once (TRL's
    streams mode shares them too). ``peak_bytes``: the most offloaded bytes alive at once."""

    def __init__(self, model: Any) -> None:
        params = {p.untyped_storage().data_ptr() for p in model.parameters()}
        self.live: dict[tuple[int, torch.dtype], int] = {}  # storage -> bytes
        self.users: dict[tuple[int, torch.dtype], int] = {}  # storage -> saved tensors holding it
        self.live_bytes = self.peak_bytes = 0

        def pack(tensor: torch.Tensor) -> tuple[Any, Any, torch.Tensor]:
            nbytes = tensor.element_size() * tensor.nelement()
            storage = tensor.untyped_storage().data_ptr()
            if nbytes < MIN_OFFLOAD_BYTES or storage in params or isinstance(tensor, torch.nn.Parameter):
                return None, None, tensor
            key = (storage + tensor.storage_offset(), tensor.dtype)
            if key not in self.live:
                self.live[key] = nbytes
                self.live_bytes += nbytes
                self.peak_bytes = max(self.peak_bytes, self.live_bytes)
            self.users[key] = self.users.get(key, 0) + 1
            return key, tensor.device, tensor.to("cpu")

        def unpack(packed: tuple[Any, Any, torch.Tensor]) -> torch.Tensor:
            key, device, tensor = packed
            if key is None:
                return tensor
            self.users[key] -= 1
            if not self.users[key]:
                del self.users[key]
                self.live_bytes -= self.live.pop(key)
            return tensor.to(device)

        super().__init__(pack, unpack)

    def __enter__(self) -> Any:
        # A step that saved tensors it never unpacked (an exception, a no-grad branch) leaves
        # nothing to carry into the next one.
        self.live.clear()
        self.users.clear()
        self.live_bytes = 0
        return super().__enter__()


def install_host_offload(trainer: Any, events: Any) -> HostOffload:
    """Put :class:`HostOffload` where TRL's SFTTrainer looks for its offloading context, and
    report at the end of training what it handled (an ``offload`` event)."""
    if not hasattr(trainer, "maybe_activation_offload_context"):
        raise RuntimeError("this TRL version's SFTTrainer has no maybe_activation_offload_context: "
                           "tuitune's CPU activation offloading needs updating")
    hooks = HostOffload(trainer.model)
    trainer.maybe_activation_offload_context = hooks
    from transformers import TrainerCallback

    class Report(TrainerCallback):
        def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            events.emit("offload", step=state.global_step, by="saved_tensor_hooks", peak_bytes=hooks.peak_bytes)

    trainer.add_callback(Report())
    return hooks
