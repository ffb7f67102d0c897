"""The probe's measuring half: ``python -m tuitune.train.probe_worker SPEC.json OUT.json``.

Runs a few real SFT steps of one setup on the longest batch (every row ``seq_len`` tokens) with
the worker's own loading code and the trainer a run builds (train/sft.py ``sft_trainer``: the
same attention, padding-free, length-grouping and Liger choices), then writes what it measured. Heavy: torch,
transformers, peft and trl are imported inside :func:`measure`, and only ever in this throwaway
process — a crash or an out-of-memory here cannot hurt the caller. Never import it from a front.
"""

from __future__ import annotations

import json
import sys
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tuitune.preset import Preset


def probe_preset(spec: dict[str, Any]) -> Preset:
    """The preset a run of the probed setup would have: what the planner chose, every speed
    switch left at ``auto`` (as a run leaves it), and nothing a few steps cannot use."""
    from tuitune.preset import Preset

    targets = spec["lora_targets"]
    return Preset.model_validate({
        "model": {"path": spec["model"]},
        "data": {"path": "probe"},  # never read: the rows are made up below
        "train": {
            "method": spec["method"], "device": spec.get("device", "cuda"), "precision": spec.get("precision", "bf16"),
            "batch_size": spec["batch"], "grad_accum": 1, "max_seq_len": spec["seq_len"],
            "epochs": 1, "max_steps": spec.get("steps", 3), "learning_rate": 1e-5, "warmup_ratio": 0.0,
            "gradient_checkpointing": bool(spec["grad_checkpointing"]), "optimizer": spec["optimizer"],
            "activation_offloading": bool(spec.get("activation_offloading", False)),
            "lr_scheduler": "constant", "save_steps": 1_000_000, "eval_steps": 1_000_000,
            **spec.get("train", {}),  # more [train] keys (the GPU suite's attention, offloading, ...)
        },
        "lora": {"r": spec["lora_r"], "alpha": 2 * spec["lora_r"], "dropout": spec["lora_dropout"],
                 "target_modules": targets},
        "eval": {"early_stopping": False, "probe_count": 0},
    })


def measure(spec: dict[str, Any]) -> dict[str, Any]:
    """Train ``spec["steps"]`` steps; return peak memory, step times, whether it fit, and the
    speed plan it ran with."""
    import torch
    from datasets import Dataset
    from transformers import TrainerCallback

    from tuitune.events import EventWriter, read_events
    from tuitune.runs.store import RunDir
    from tuitune.train.sft import sft_trainer
    from tuitune.train.speed import Available, choose_attention
    from tuitune.weights.loading import Hardware, load_model, load_tokenizer, model_source

    preset = probe_preset(spec)
    device = preset.train.device
    cuda = device == "cuda"
    if cuda and spec.get("memory_fraction"):
        # A smaller card on a bigger one: the allocator refuses past this share, as a real
        # card of that size would (the GPU suite's longest context under 24 GiB).
        torch.cuda.set_per_process_memory_fraction(spec["memory_fraction"])
    hw = Hardware(device, preset.train.precision if cuda else "fp32", spec["method"],
                  bool(spec["grad_checkpointing"]), "probe")
    available = Available.detect()
    attention = choose_attention(preset.train, device=device, precision=hw.precision, available=available)
    source = model_source(spec["model"])
    tokenizer = load_tokenizer(source, False)
    model = load_model(source, hw, False, attn_implementation=attention[0])
    vocab = model.config.vocab_size
    g = torch.Generator().manual_seed(0)
    rows = [torch.randint(0, vocab, (spec["seq_len"],), generator=g).tolist() for _ in range(spec["batch"])]
    # Pre-tokenized, every token trained: TRL skips its tokenization, and each batch is the longest.
    data = Dataset.from_dict({"input_ids": rows, "labels": rows})

    step_times: list[float] = []

    class Timer(TrainerCallback):
        def on_step_begin(self, *args, **kwargs):
            if cuda:
                torch.cuda.synchronize()
            self.start = time.perf_counter()

        def on_step_end(self, *args, **kwargs):
            if cuda:
                torch.cuda.synchronize()
            step_times.append(time.perf_counter() - self.start)

    run = RunDir(spec["output_dir"])
    run.path.mkdir(parents=True, exist_ok=True)
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    result: dict[str, Any] = {"fits": True, "batch": spec["batch"], "seq_len": spec["seq_len"]}
    try:
        with EventWriter(run.events) as events:
            trainer = sft_trainer(run, preset, hw, model, tokenizer, data, None, events, [Timer()],
                                  available=available, attention=attention)
            trainer.train()
    except torch.OutOfMemoryError as e:
        result.update(fits=False, error=f"out of memory: {str(e).splitlines()[0]}")
    speed = [e for e in read_events(run.events) if e["type"] == "speed"]
    if speed:
        result["speed"] = {k: v for k, v in speed[-1].items() if k not in ("v", "type", "ts", "seq")}
    if cuda:
        result["torch_max_reserved"] = torch.cuda.max_memory_reserved()
        result["torch_max_allocated"] = torch.cuda.max_memory_allocated()
    else:
        import resource

        result["max_rss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    result["step_seconds"] = step_times
    steady = sorted(step_times[1:] or step_times)
    if steady:
        result["tokens_per_second"] = spec["batch"] * spec["seq_len"] / steady[len(steady) // 2]
    return result


def main(argv: list[str]) -> int:
    spec_path, out_path = argv
    with open(spec_path, encoding="utf-8") as f:
        spec = json.load(f)
    result = measure(spec)
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(result, f)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
