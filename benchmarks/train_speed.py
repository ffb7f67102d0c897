"""Training speed: tuitune's worker against plain TRL, same model, data, method, batch and steps.

    python benchmarks/train_speed.py                  # CPU: SmolLM2-135M, LoRA, mixed lengths
    python benchmarks/train_speed.py --gpu            # CUDA: Llama-3.1-8B shape, LoRA and QLoRA, 2048 tokens
    python benchmarks/train_speed.py --gpu --shape llama-1b --methods lora,qlora,full

Arm (a) is TRL's SFTTrainer as its documentation shows it — the model path, a `messages`
dataset, an SFTConfig with the shared batch/steps/length/learning rate, a LoraConfig — with
only what a careful user must change for the hardware (bf16 off on the CPU). Arm (b) is
tuitune's own worker (`python -m tuitune.train RUN_DIR`) on a preset with the same settings and
every speed switch at its default. Each arm runs in its own process, one after the other
(alternating when --repeats > 1), so the ratio is fair even on a busy machine.

Reported per arm: real (non-padding) tokens/s and median step time over the steps after the
warm-up, tokens per step, peak memory (the process's peak RSS on the CPU; torch's peak reserved
CUDA memory on a GPU) and the last loss; then the ratio b/a.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tuitune.hardware.reference import CONFIGS

REPO = Path(__file__).resolve().parent.parent
ALPACA = REPO.parent / "shared" / "conformance" / "llama-factory" / "alpaca_en_demo.json"
PIRATE = REPO / "tuitune" / "demo" / "pirate.jsonl"
SHAPES = sorted(name for name in CONFIGS if name != "toy")  # released Llama 3.x configs, random weights


# ---------------------------------------------------------------- data and model


def conversations(n: int, turns: list[int], seed: int = 0) -> list[dict]:
    """``n`` chat rows of varied length: each joins k consecutive alpaca examples as a multi-turn
    conversation, k drawn from ``turns`` (the pirate demo set when the alpaca file is absent)."""
    if ALPACA.exists():
        pairs = [((r["instruction"] + "\n" + r["input"]).strip(), r["output"]) for r in json.loads(ALPACA.read_text())]
    else:
        rows = [json.loads(line)["messages"] for line in PIRATE.read_text().splitlines() if line.strip()]
        pairs = [(m[-2]["content"], m[-1]["content"]) for m in rows]
    rng = random.Random(seed)
    out, i = [], 0
    for _ in range(n):
        messages = []
        for _ in range(rng.choice(turns)):
            question, answer = pairs[i % len(pairs)]
            i += 1
            messages += [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]
        out.append({"messages": messages})
    return out


def prepare_model(args: argparse.Namespace, folder: Path) -> None:
    """CPU: the bundled SmolLM2-135M dequantized to safetensors. GPU: a random model of the
    chosen Llama shape in bf16, with the SmolLM2 tokenizer (tuitune/weights/random_model.py, what
    `tuitune doctor --train` trains too)."""
    if args.gpu:
        from tuitune.weights.random_model import build

        build(args.shape, folder, "cuda")
        return
    from tuitune.models.bundled import resolve_model
    from tuitune.weights.gguf_compat import save_dequantized

    save_dequantized(resolve_model("bundled:smollm2-135m-instruct"), folder)


# ---------------------------------------------------------------- arm (a): plain TRL


def run_trl(spec: dict) -> dict:
    """Plain TRL as documented; timing and token counts come from its own logs."""
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import TrainerCallback
    from trl import SFTConfig, SFTTrainer

    cuda = spec["gpu"]
    model_init_kwargs = {}
    if cuda and spec["method"] == "lora":
        # TRL loads a model path in fp32 unless told; its PEFT examples ask for bf16, as tuitune does.
        model_init_kwargs = {"dtype": torch.bfloat16}
    if spec["method"] == "qlora":
        from transformers import BitsAndBytesConfig

        compute = torch.bfloat16 if cuda else torch.float32
        model_init_kwargs = {"quantization_config": BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=compute), "dtype": compute}
    rows = [json.loads(line) for line in Path(spec["data"]).read_text().splitlines()]
    log_times: list[float] = []

    progress = open(spec["progress"], "a")

    class LogTimes(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "loss" in logs:
                log_times.append(time.time())
                progress.write(f'{{"type": "step", "step": {state.global_step}}}\n')
                progress.flush()

    config = SFTConfig(
        output_dir=spec["output_dir"], max_steps=spec["steps"], per_device_train_batch_size=spec["batch"],
        gradient_accumulation_steps=spec["grad_accum"], max_length=spec["max_len"],
        learning_rate=spec["learning_rate"], logging_steps=1, save_strategy="no", report_to="none",
        model_init_kwargs=model_init_kwargs or None,
        **({} if cuda else {"bf16": False}),  # the one change the CPU needs (TRL defaults to bf16)
    )
    peft_config = None
    if spec["method"] != "full":
        peft_config = LoraConfig(r=16, lora_alpha=32, lora_dropout=0.05, target_modules="all-linear", task_type="CAUSAL_LM")
    trainer = SFTTrainer(model=spec["model"], args=config, train_dataset=Dataset.from_list(rows), peft_config=peft_config,
                         callbacks=[LogTimes()])
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    trainer.train()
    logs = [h for h in trainer.state.log_history if "loss" in h]
    result = {"times": log_times, "tokens": [h["num_tokens"] for h in logs], "losses": [h["loss"] for h in logs],
              "settings": {"attention": trainer.model.config._attn_implementation, "batches": "padded",
                           "gradient_checkpointing": config.gradient_checkpointing}}
    if cuda:
        result["peak_bytes"] = torch.cuda.max_memory_reserved()
    return result


# ---------------------------------------------------------------- arm (b): tuitune's worker


def run_tuitune(spec: dict, overrides: list[str]) -> tuple[dict, float]:
    """Create a run from a preset and start the real worker on it; read its events."""
    import tomli_w

    from tuitune.events import read_events
    from tuitune.preset import load_preset
    from tuitune.runs.store import create_run

    preset_file = Path(spec["output_dir"]) / "preset.toml"
    preset_file.parent.mkdir(parents=True, exist_ok=True)
    preset_file.write_text(tomli_w.dumps({
        "name": f"speed-{spec['method']}",
        "model": {"path": spec["model"]},
        # The rows are already clean and distinct: keep them exactly as arm (a) sees them.
        "data": {"path": spec["data"], "val_fraction": 0.0, "dedup_exact": False, "dedup_near": False,
                 "normalize_whitespace": False},
        "train": {"method": spec["method"], "max_steps": spec["steps"], "batch_size": spec["batch"],
                  "grad_accum": spec["grad_accum"], "max_seq_len": spec["max_len"],
                  "learning_rate": spec["learning_rate"], "save_steps": spec["steps"] + 1,
                  "device": "auto" if spec["gpu"] else "cpu"},
        "export": {"gguf": []},
    }))
    run = create_run(load_preset(preset_file, overrides))
    rss, cpu = _run_child([sys.executable, "-m", "tuitune.train", str(run.path)], run.path / "worker.log", run.events)
    events = read_events(run.events)
    steps = [e for e in events if e["type"] == "step"]
    failed = [e for e in events if e["type"] == "error"]
    if failed or not steps:
        raise SystemExit(f"tuitune worker failed: {failed[-1]['message'] if failed else 'no steps'} (see {run.path})")
    tokens, total = [], 0.0
    for e in steps:  # the worker reports tokens/s and step time; their product is the step's tokens
        total += e.get("tokens_per_s", 0.0) * e.get("step_time", 0.0)
        tokens.append(total)
    speed = next((e for e in events if e["type"] == "speed"), {})
    memory = next((e for e in events if e["type"] == "memory"), {})
    result = {"times": [e["ts"] for e in steps], "cpu": cpu, "tokens": tokens, "losses": [e["loss"] for e in steps],
              "settings": {"attention": speed.get("attention"),
                           "batches": "packed" if speed.get("packing") else "padding-free" if speed.get("padding_free")
                           else "padded, grouped by length" if speed.get("group_by_length") else "padded",
                           "liger": speed.get("liger"), "liger_reason": speed.get("reasons", {}).get("liger"),
                           "gradient_checkpointing": next((e.get("gradient_checkpointing") for e in events
                                                           if e.get("status") == "loading_model"), None)}}
    if "cuda_max_reserved_bytes" in memory:
        result["peak_bytes"] = memory["cuda_max_reserved_bytes"]
    return result, rss


def _run_child(cmd: list[str], log: Path, progress: Path) -> tuple[float, list[float]]:
    """Run a process to its end. Returns its peak resident set in bytes (from wait4) and the CPU
    seconds it had used when each step was logged: read from /proc as each `"type": "step"` line
    appears in ``progress`` (polled every 0.1 s). On a machine shared with other jobs, CPU time
    per step is steadier than wall time, for both arms alike."""
    tick = os.sysconf("SC_CLK_TCK")
    cpu_at_step: list[float] = []
    with open(log, "a") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=dict(os.environ, PYTHONPATH=str(REPO)))
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            try:
                fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
                cpu = (int(fields[11]) + int(fields[12])) / tick  # utime + stime
                steps = progress.read_text().count('"type": "step"') if progress.exists() else 0
            except (OSError, IndexError, ValueError):
                continue
            cpu_at_step += [cpu] * (steps - len(cpu_at_step))
            time.sleep(0.1)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:4])} exited {proc.returncode}; see {log}")
    return usage.ru_maxrss * 1024, cpu_at_step


# ---------------------------------------------------------------- measuring


def summarize(raw: dict, warmup: int) -> dict:
    """Throughput over the steps after ``warmup``: real tokens / wall time between their ends."""
    times, tokens = raw["times"], raw["tokens"]
    w = min(warmup, len(times) - 2)
    elapsed = times[-1] - times[w]
    step_times = [b - a for a, b in zip(times[w:], times[w + 1:], strict=False)]
    cpu = raw.get("cpu") or []
    cpu_rate = (tokens[-1] - tokens[w]) / (cpu[-1] - cpu[w]) if len(cpu) == len(times) and cpu[-1] > cpu[w] else None
    return {"tokens_per_s": (tokens[-1] - tokens[w]) / elapsed, "tokens_per_cpu_s": cpu_rate,
            "step_s": statistics.median(step_times),
            "tokens_per_step": (tokens[-1] - tokens[w]) / (len(times) - 1 - w), "peak_bytes": raw["peak_bytes"],
            "last_loss": raw["losses"][-1], "settings": raw["settings"]}


def run_arm(arm: str, spec: dict, overrides: list[str], work: Path) -> dict:
    spec = dict(spec, output_dir=str(work / f"{arm}-{spec['method']}-{time.monotonic_ns()}"))
    started = time.monotonic()
    if arm == "trl":
        Path(spec["output_dir"]).mkdir(parents=True)
        spec_file, out_file = Path(spec["output_dir"]) / "spec.json", Path(spec["output_dir"]) / "result.json"
        progress = Path(spec["output_dir"]) / "progress.jsonl"
        spec_file.write_text(json.dumps(dict(spec, progress=str(progress))))
        rss, cpu = _run_child([sys.executable, __file__, "--arm-trl", str(spec_file), str(out_file)],
                              Path(spec["output_dir"]) / "trl.log", progress)
        raw = dict(json.loads(out_file.read_text()), cpu=cpu)
    else:
        raw, rss = run_tuitune(spec, overrides)
    raw.setdefault("peak_bytes", rss)
    print(f"  {arm:8s} {spec['method']:6s} done in {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
    return summarize(raw, spec["warmup"])


def print_table(results: dict[str, dict[str, list[dict]]], spec: dict, memory_kind: str) -> None:
    threads = f", {os.environ['OMP_NUM_THREADS']} CPU threads" if os.environ.get("OMP_NUM_THREADS") else ""
    print(f"\nmodel {spec['label']}{threads}, {spec['rows_note']}, batch {spec['batch']} x grad_accum {spec['grad_accum']}, "
          f"max length {spec['max_len']}, {spec['steps']} steps (first {spec['warmup']} not timed)")
    head = (f"{'method':6s} {'arm':11s} {'real tok/s':>10s} {'tok/CPU-s':>9s} {'step s':>7s} {'tok/step':>8s} "
            f"{memory_kind:>11s} {'last loss':>9s}  settings")
    print(head)
    print("-" * len(head))
    keys = ("tokens_per_s", "tokens_per_cpu_s", "step_s", "tokens_per_step", "peak_bytes", "last_loss")
    for method, arms in results.items():
        med = {arm: {k: _median([r[k] for r in runs]) for k in keys} for arm, runs in arms.items()}
        for arm, runs in arms.items():
            m, s = med[arm], runs[-1]["settings"]
            desc = f"attention {s['attention']}, {s['batches']}, checkpointing {'on' if s['gradient_checkpointing'] else 'off'}"
            if arm == "tuitune":
                desc += f", Liger {'on' if s.get('liger') else 'off (' + str(s.get('liger_reason')) + ')'}"
            print(f"{method:6s} {('(a) TRL' if arm == 'trl' else '(b) tuitune'):11s} {m['tokens_per_s']:10.1f} "
                  f"{_fmt(m['tokens_per_cpu_s'], '9.1f')} {m['step_s']:7.2f} {m['tokens_per_step']:8.0f} "
                  f"{m['peak_bytes'] / 2**30:7.2f} GiB {m['last_loss']:9.3f}  {desc}")
        a, b = med["trl"], med["tuitune"]
        cpu_ratio = b["tokens_per_cpu_s"] / a["tokens_per_cpu_s"] if a["tokens_per_cpu_s"] and b["tokens_per_cpu_s"] else None
        per_rep = [round(rb["tokens_per_s"] / ra["tokens_per_s"], 2)
                   for ra, rb in zip(arms["trl"], arms["tuitune"], strict=False)]
        print(f"{method:6s} {'b/a':11s} {b['tokens_per_s'] / a['tokens_per_s']:9.2f}x {_fmt(cpu_ratio, '8.2f')}x "
              f"{b['step_s'] / a['step_s']:6.2f}x {b['tokens_per_step'] / a['tokens_per_step']:7.2f}x "
              f"{b['peak_bytes'] / a['peak_bytes']:10.2f}x" + (f"   per repeat: {per_rep}" if len(per_rep) > 1 else ""))


def _median(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def _fmt(value: float | None, spec: str) -> str:
    width = int(spec.split(".")[0])
    return format(value, spec) if value is not None else "-".rjust(width)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--gpu", action="store_true", help="CUDA mode: a random model of --shape, 2048 tokens")
    p.add_argument("--shape", choices=SHAPES, default="llama-8b")
    p.add_argument("--methods", help="comma-separated: lora, qlora, full (default: lora on CPU, lora,qlora on GPU)")
    p.add_argument("--steps", type=int, help="optimizer steps per arm (default 10 CPU, 20 GPU)")
    p.add_argument("--warmup", type=int, default=2, help="first steps left out of the timing")
    p.add_argument("--batch", type=int, help="examples per micro-batch (default 8 CPU, 4 GPU)")
    p.add_argument("--grad-accum", type=int, default=1)
    p.add_argument("--max-len", type=int, help="max tokens per example (default 512 CPU, 2048 GPU)")
    p.add_argument("--repeats", type=int, default=1, help="alternate a, b this many times; medians are shown")
    p.add_argument("-s", "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="preset override for arm (b) only, e.g. -s train.padding_free=false (ablations)")
    p.add_argument("--threads", type=int, help="CPU threads for both arms (OMP_NUM_THREADS); on a machine shared "
                   "with other jobs, 1 avoids threads spinning against each other")
    p.add_argument("--json", type=Path, help="also write every measurement here")
    p.add_argument("--workdir", type=Path, help="keep models, data and runs here (default: a temporary folder)")
    p.add_argument("--arm-trl", nargs=2, metavar=("SPEC", "OUT"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.arm_trl:
        spec = json.loads(Path(args.arm_trl[0]).read_text())
        Path(args.arm_trl[1]).write_text(json.dumps(run_trl(spec)))
        return 0

    gpu = args.gpu
    if gpu:
        import torch

        if not torch.cuda.is_available():
            print("--gpu: PyTorch sees no CUDA GPU on this machine", file=sys.stderr)
            return 2
    methods = (args.methods or ("lora,qlora" if gpu else "lora")).split(",")
    work = args.workdir or Path(tempfile.mkdtemp(prefix="tuitune-speed-"))
    work.mkdir(parents=True, exist_ok=True)
    os.environ["TUITUNE_HOME"] = str(work / "home")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.threads:
        os.environ["OMP_NUM_THREADS"] = str(args.threads)
    spec = {"gpu": gpu, "steps": args.steps or (20 if gpu else 10), "warmup": args.warmup,
            "batch": args.batch or (4 if gpu else 8), "grad_accum": args.grad_accum,
            "max_len": args.max_len or (2048 if gpu else 512), "learning_rate": 2e-4}
    turns = list(range(1, 17)) if gpu else [1, 1, 1, 2, 2, 3]
    rows = conversations(spec["steps"] * spec["batch"] * spec["grad_accum"] + 64, turns)
    data = work / "rows.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    model_dir = work / ("model-" + (args.shape if gpu else "smollm2-135m"))
    if not (model_dir / "config.json").exists():
        print(f"preparing the model in {model_dir} …", file=sys.stderr, flush=True)
        prepare_model(args, model_dir)
    spec.update(model=str(model_dir), data=str(data),
                label=f"{args.shape} (random weights, bf16)" if gpu else "SmolLM2-135M-Instruct (fp32)",
                rows_note=f"{len(rows)} {'alpaca' if ALPACA.exists() else 'pirate'} chats of 1-{max(turns)} turns")

    results: dict[str, dict[str, list[dict]]] = {}
    for method in methods:
        results[method] = {"trl": [], "tuitune": []}
        for _ in range(args.repeats):
            for arm in ("trl", "tuitune"):
                results[method][arm].append(run_arm(arm, dict(spec, method=method), args.overrides, work))
    print_table(results, spec, "peak CUDA" if gpu else "peak RSS")
    if args.overrides:
        print(f"arm (b) overrides: {' '.join(args.overrides)}")
    if args.json:
        args.json.write_text(json.dumps({"spec": spec, "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
