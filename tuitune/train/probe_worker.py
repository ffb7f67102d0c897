"""The probe's measuring half: ``python -m tuitune.train.probe_worker SPEC.json OUT.json``.

Runs a few real SFT steps of one setup on the longest batch (every row ``seq_len`` tokens) with
the worker's own loading code and TRL's SFTTrainer, then writes what it measured. Heavy: torch,
transformers, peft and trl are imported inside :func:`measure`, and only ever in this throwaway
process — a crash or an out-of-memory here cannot hurt the caller. Never import it from a front.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any


def measure(spec: dict[str, Any]) -> dict[str, Any]:
    """Train ``spec["steps"]`` steps; return peak memory, step times and whether it fit."""
    import torch
    from datasets import Dataset
    from transformers import TrainerCallback
    from trl import SFTConfig, SFTTrainer

    from tuitune.train.sft import OPTIMIZERS
    from tuitune.weights.loading import Hardware, load_model, load_tokenizer, model_source

    device = spec.get("device", "cuda")
    cuda = device == "cuda"
    hw = Hardware(device, spec.get("precision", "bf16") if cuda else "fp32", spec["method"],
                  bool(spec["grad_checkpointing"]), "probe")
    source = model_source(spec["model"])
    tokenizer = load_tokenizer(source, False)
    model = load_model(source, hw, False)
    vocab = model.config.vocab_size
    g = torch.Generator().manual_seed(0)
    rows = [torch.randint(0, vocab, (spec["seq_len"],), generator=g).tolist() for _ in range(spec["batch"])]
    data = Dataset.from_dict({"input_ids": rows})  # pre-tokenized: TRL skips its tokenization

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

    config = SFTConfig(
        output_dir=spec["output_dir"], max_steps=spec.get("steps", 3), per_device_train_batch_size=spec["batch"],
        gradient_accumulation_steps=1, max_length=spec["seq_len"], gradient_checkpointing=hw.gradient_checkpointing,
        bf16=hw.precision == "bf16", fp16=hw.precision == "fp16", use_cpu=not cuda,
        optim=OPTIMIZERS.get(spec["optimizer"], spec["optimizer"]), learning_rate=1e-5, save_strategy="no",
        report_to="none", disable_tqdm=True, logging_steps=1, dataloader_num_workers=0, packing=False,
        completion_only_loss=False,
    )
    peft_config = None
    if hw.method != "full":
        from peft import LoraConfig

        peft_config = LoraConfig(r=spec["lora_r"], lora_alpha=2 * spec["lora_r"], lora_dropout=spec["lora_dropout"],
                                 target_modules=spec["lora_targets"], task_type="CAUSAL_LM")
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    result: dict[str, Any] = {"fits": True, "batch": spec["batch"], "seq_len": spec["seq_len"]}
    try:
        trainer = SFTTrainer(model=model, args=config, train_dataset=data, processing_class=tokenizer,
                             peft_config=peft_config, callbacks=[Timer()])
        trainer.train()
    except torch.OutOfMemoryError as e:
        result.update(fits=False, error=f"out of memory: {str(e).splitlines()[0]}")
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
