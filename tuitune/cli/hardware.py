"""`tuitune gpus` and `tuitune plan`: what GPU is here, and what training fits on it.

Wired into tuitune/cli/main.py through :func:`add_commands` and :data:`COMMANDS`; :func:`main` runs
the two commands on their own the same way (tests use it). Light: no torch on these paths.
Output contract for scripts: `--json` prints one JSON object (docs/planner.md).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from tuitune.cli.schema_args import SchemaChoices, SchemaDefault, resolve
from tuitune.hardware.errors import PlannerError

GiB = 2**30


def add_commands(sub: argparse._SubParsersAction) -> None:
    gpus = sub.add_parser("gpus", help="list NVIDIA GPUs through NVML (memory, driver, bf16, processes)")
    gpus.add_argument("--json", action="store_true", help="print one JSON object")
    gpus.add_argument("--record", metavar="FILE", help="save NVML's raw answers to FILE (for bug reports)")

    plan = sub.add_parser("plan", help="estimate GPU memory and recommend full, LoRA or QLoRA")
    plan.add_argument("--model", required=True, metavar="M",
                      help="a model folder (a config.json is enough), a .gguf file, a hub id in the local cache, "
                           "bundled:NAME or run:<id>")
    # "auto" is what leaving --method out means: the recommendation.
    plan.add_argument("--method", choices=SchemaChoices("train.method", without=("auto",)), metavar="METHOD",
                      help="estimate this method only: %(choices)s (default: recommend one)")
    plan.add_argument("--seq-len", type=int, metavar="N", default=SchemaDefault("train.max_seq_len"),
                      help="tokens per sequence (default %(default)s)")
    plan.add_argument("--batch", type=int, metavar="N", help="micro-batch (default: 4 with --method, else searched)")
    plan.add_argument("--target-batch", type=int, default=16, metavar="N",
                      help="effective batch the recommendation reaches with accumulation (default 16)")
    plan.add_argument("--lora-r", type=int, default=16, metavar="N", help="adapter rank (default 16)")
    plan.add_argument("--dora", action="store_true", help="LoRA/QLoRA with DoRA (lora.use_dora): its magnitudes and activations")
    plan.add_argument("--virtual-tokens", type=int, metavar="N", default=SchemaDefault("lora.virtual_tokens"),
                      help="prompt/prefix tuning: the learned tokens (lora.virtual_tokens, default %(default)s)")
    plan.add_argument("--freeze-layers", type=int, metavar="N",
                      help="method freeze: the last N decoder layers train (train.freeze_trainable_layers; "
                           "default: that key's)")
    plan.add_argument("--lora-targets", default=SchemaDefault("lora.target_modules"), metavar="all-linear|q,v|...",
                      help="modules that get an adapter (default %(default)s)")
    plan.add_argument("--grad-checkpointing", action=argparse.BooleanOptionalAction, default=None,
                      help="recompute activations in the backward pass (default: on with --method, else chosen)")
    plan.add_argument("--activation-offloading", action=argparse.BooleanOptionalAction, default=None,
                      help="keep the saved activations in CPU RAM (default: off with --method, else chosen "
                           "when a long context does not fit without)")
    plan.add_argument("--attention", choices=SchemaChoices("train.attn_implementation"),
                      default=SchemaDefault("train.attn_implementation"), metavar="ATTENTION",
                      help="%(choices)s (default %(default)s: sdpa; eager for Gemma 2)")
    plan.add_argument("--optimizer", choices=SchemaChoices("train.optimizer"), metavar="OPTIMIZER",
                      help="%(choices)s (default: a preset's default with --method; the recommendation may pick 8-bit)")
    plan.add_argument("--stage", choices=SchemaChoices("train.stage"), default=SchemaDefault("train.stage"),
                      metavar="STAGE", help="%(choices)s; dpo: two sequences per row and a reference forward pass; "
                                            "kto: one sequence, a KL batch and the reference pass; orpo, simpo: "
                                            "two sequences, no reference (default %(default)s)")
    plan.add_argument("--precompute-ref", action="store_true",
                      help="dpo, kto: reference log-probs computed before training (no reference copy or pass)")
    plan.add_argument("--gpu-gb", type=float, metavar="G", help="plan for a GPU with G GiB instead of the detected one")
    plan.add_argument("--data", metavar="FILE",
                      help="plan at this data's real lengths (cleaned, tokenized with --model's tokenizer) "
                           "instead of --seq-len for every row")
    plan.add_argument("--no-calibration", action="store_true",
                      help="the formulas alone, without the correction learned from past runs on this card")
    plan.add_argument("--json", action="store_true", help="print one JSON object")
    plan.add_argument("--probe", action="store_true", help="then measure: a few real steps on the GPU")


def cmd_gpus(args: argparse.Namespace) -> int:
    from tuitune.hardware.nvml import nvml_source, read_gpus

    if args.record:
        from tuitune.hardware.nvml_replay import record

        with open(args.record, "w", encoding="utf-8") as f:
            json.dump(record(nvml_source()), f, indent=2)
    report = read_gpus(nvml_source())
    from tuitune.cli.plan_gpus import gpus_json, visibility_line
    from tuitune.hardware.visible import visible_gpus

    if args.json:
        print(json.dumps(gpus_json(report)))
        return 0
    if report.cpu_only:
        print(f"No GPU: {report.cpu_only_reason}.")
        print("tuitune will train on the CPU: fine for the demo and tiny models, slow for anything else.")
        return 0
    visible = visible_gpus(report)
    for gpu in report.gpus:
        cc = ".".join(map(str, gpu.compute_capability)) if gpu.compute_capability else "?"
        print(f"GPU {gpu.index}  {gpu.name}  (compute {cc}, bf16 {'yes' if gpu.bf16 else 'no'})")
        print(f"  uuid         {gpu.uuid or '?'} ({visibility_line(visible, gpu)})")
        print(f"  memory       {_gib(gpu.memory_free)} free of {_gib(gpu.memory_total)} ({_gib(gpu.memory_used)} used)")
        power = f"{gpu.power_draw_w:.0f} W of {gpu.power_limit_w:.0f} W" if gpu.power_draw_w is not None else "n/a"
        temp = f"{gpu.temperature_c} °C" if gpu.temperature_c is not None else "n/a"
        print(f"  power        {power}, temperature {temp}, throttle: {', '.join(gpu.throttle_reasons) or 'none'}")
        for p in gpu.processes:
            used = _gib(p.used_bytes) if p.used_bytes is not None else "? GiB"
            print(f"  process      {p.pid} {p.name or '?'} holds {used}")
    for note in visible.notes:
        print(f"note: {note}")
    print(f"driver {report.driver_version or '?'}, CUDA driver {report.cuda_driver_version or '?'}")
    return 0


def cmd_plan(args: argparse.Namespace) -> int:
    from tuitune.hardware.calibration import Calibration, for_report
    from tuitune.hardware.estimate import estimate
    from tuitune.hardware.model_shape import load_shape
    from tuitune.hardware.nvml import gpu_report
    from tuitune.hardware.plan import at_data_length, detect_gpu, parse_targets
    from tuitune.hardware.recommend import recommend
    from tuitune.hardware.setup import Setup
    from tuitune.preset.keys import default
    from tuitune.preset.methods import DEFAULT_FREEZE_LAYERS

    resolve(args)
    if args.probe:  # say it before any work: the probe cannot run without a GPU
        from tuitune.hardware.probe import require_gpu

        require_gpu(gpu_report())
    shape = load_shape(_readable(args.model))
    targets = parse_targets(args.lora_targets)
    calibration: Calibration | None = None
    if args.gpu_gb is not None:
        if args.gpu_gb <= 0:
            raise PlannerError(f"--gpu-gb must be positive (got {args.gpu_gb:g})")
        gpu_bytes: int | None = int(args.gpu_gb * GiB)
        bf16, gpu_text = True, f"given: {args.gpu_gb:g} GiB"
    else:
        report = gpu_report()
        gpu_bytes, bf16, gpu_text = detect_gpu(report)
        if not args.no_calibration:  # past runs on this card; --gpu-gb plans for another one
            calibration = for_report(report)
    compute = "bf16" if bf16 else "fp16"
    seq_len = args.seq_len
    tokens = _data_tokens(args) if args.data else None
    note, p99 = None, None
    if args.dora and args.method not in ("lora", "qlora"):
        raise PlannerError("--dora is a LoRA variant: give --method lora or --method qlora with it")
    if args.method:
        setup = Setup(args.method, seq_len=seq_len, batch=4 if args.batch is None else args.batch,
                      lora_r=args.lora_r, lora_targets=targets, compute=compute,
                      grad_checkpointing=True if args.grad_checkpointing is None else args.grad_checkpointing,
                      optimizer=args.optimizer or default("train.optimizer"), stage=args.stage,
                      precompute_ref=args.precompute_ref, attention=args.attention,
                      activation_offloading=bool(args.activation_offloading), dora=args.dora,
                      virtual_tokens=args.virtual_tokens,
                      trainable_layers=args.freeze_layers or DEFAULT_FREEZE_LAYERS)
        setup, note = at_data_length(setup, tokens, max_seq_len=seq_len)
        result: Any = estimate(shape, setup, gpu_bytes, calibration=calibration)
        chosen: Any = result
        data, show = result.to_dict(), _print_estimate
    else:
        planned, note = at_data_length(Setup("lora", seq_len=seq_len), tokens, max_seq_len=seq_len)
        if tokens and tokens.get("p99"):
            p99 = min(int(tokens["p99"]), planned.seq_len)
        result = recommend(shape, gpu_bytes, seq_len=planned.seq_len, seq_len_p99=p99, target_batch=args.target_batch,
                           batch=args.batch, lora_r=args.lora_r, lora_targets=targets, optimizer=args.optimizer,
                           grad_checkpointing=args.grad_checkpointing, compute=compute, attention=args.attention,
                           activation_offloading=args.activation_offloading,
                           stage=args.stage, precompute_ref=args.precompute_ref, calibration=calibration)
        chosen, data, show = result.chosen, result.to_dict(), _print_recommendation  # type: ignore[assignment]
        if args.gpu_gb is None:  # several visible cards: how to spread the run over them
            from tuitune.cli.plan_gpus import layout

            spread = layout(report, shape, seq_len=planned.seq_len, target_batch=args.target_batch, compute=compute,
                            stage=args.stage)
            if spread is not None:
                data["layout"] = spread.to_dict()
    if args.data:
        data["data"] = {"path": args.data, "tokens_p99": (tokens or {}).get("p99"), "tokens_max": (tokens or {}).get("max"),
                        "planned_seq_len": chosen.setup.seq_len if chosen is not None else None, "note": note}
    if not args.json:
        show(args.model, shape, gpu_text, result)
        if "layout" in data:
            from tuitune.cli.plan_gpus import print_layout

            print_layout(spread)
        if note:
            print(f"data    {note}")
    if args.probe:
        if chosen is None:
            raise PlannerError("nothing fits this GPU, so there is no setup to probe")
        from tuitune.hardware.probe import run_probe

        if not args.json:
            print("\nprobing: a few real training steps in a throwaway worker…", flush=True)
        probe = run_probe(args.model, chosen)
        data["probe"] = probe.to_dict()
        if not args.json:
            _print_probe(probe)
    if args.json:
        print(json.dumps(data))
    return 0


def _data_tokens(args: argparse.Namespace) -> dict[str, Any] | None:
    """The token statistics of ``--data`` after tuitune's cleaning, as a run would see them."""
    from types import SimpleNamespace

    from tuitune.cli.data import load_tokenizer
    from tuitune.data.pipeline import inspect

    tokenizer = load_tokenizer(args.model)
    report, _, _, _ = inspect(SimpleNamespace(path=args.data), tokenizer, max_seq_len=args.seq_len)
    return report["stats"].get("tokens")


def _readable(model: str):
    """``--model`` as the planner reads it (a ``run:<id>`` as what the run started from); a run
    that cannot be used is the planner's error here, as the other bad references are."""
    from tuitune.models.files import ModelFileError
    from tuitune.runs.refs import readable_ref
    from tuitune.runs.store import RunStoreError

    try:
        return readable_ref(model)
    except (RunStoreError, ModelFileError) as e:
        raise PlannerError(str(e)) from None


def _print_probe(probe) -> None:
    m = probe.measured
    if m.get("fits") is None:
        print(f"the probe failed: {m.get('error', 'unknown error')}")
        return
    if not m.get("fits"):
        print(f"measured: it does NOT fit ({m.get('error', 'unknown error')}); "
              f"the estimate was {_gib(probe.estimate.torch_reserved_bytes)}")
        return
    est = probe.estimate.torch_reserved_bytes
    got = m.get("torch_max_reserved") or m.get("max_rss") or 0
    print(f"measured peak  {_gib(got)} reserved by torch (estimate {_gib(est)}, {got / est - 1:+.0%})")
    if probe.nvml_used is not None:
        print(f"NVML used      {_gib(probe.nvml_used)} on the device after the probe")
    print(f"largest micro-batch that fits: {probe.largest_batch} (of the sizes tried: "
          f"{', '.join(str(t['batch']) for t in probe.tries)})")
    tps = m.get("tokens_per_second")
    if tps:
        s = probe.estimate.setup
        per_step = s.batch * s.seq_len * s.grad_accum / tps
        print(f"throughput     {tps:,.0f} tokens/s on the longest batch; ~{per_step:.1f} s per optimizer step, "
              f"ETA ~{per_step * 1000 / 3600:.1f} h per 1,000 steps")
    speed = m.get("speed")
    if speed:
        switches = ("padding_free", "packing", "group_by_length", "liger", "activation_offloading")
        on = [name for name in switches if speed.get(name)]
        print(f"trained as a run would: {speed.get('attention')} attention"
              + "".join(f", {name.replace('_', '-')}" for name in on))
    print("stored in the calibration log ($TUITUNE_HOME/calibration/probes.jsonl)")


def _print_header(ref: str, shape, gpu_text: str) -> None:
    print(f"model   {ref}: {shape.family}, {shape.total_params / 1e9:.2f}B parameters, {shape.num_layers} layers, "
          f"hidden {shape.hidden_size}, {shape.num_heads}/{shape.num_kv_heads} heads, vocab {shape.vocab_size}"
          f"{', tied embeddings' if shape.tie_word_embeddings else ''}")
    from tuitune.hardware.model_shape import SHIPPED

    if SHIPPED in shape.source:  # planned before the download: say so, and how to download
        print(f"shape   from {shape.source.removeprefix(f'{ref} (').removesuffix(')')}")
    print(f"gpu     {gpu_text}")


def _print_estimate(ref: str, shape, gpu_text: str, est) -> None:
    _print_header(ref, shape, gpu_text)
    fits = {True: "fits", False: "does NOT fit", None: "no GPU size to compare with (--gpu-gb)"}[est.fits]
    print(f"\n{est.setup.method}: peak {_gib(est.peak_bytes)} during the {est.phase.replace('_', ' ')} — {fits}")
    for term, value in est.breakdown.items():
        print(f"  {term.replace('_', ' '):18} {_gib(value):>10}")
    print(f"  settings: {_settings(est.setup.settings())}")
    for note in est.notes:
        print(f"  note: {note}")


def _print_recommendation(ref: str, shape, gpu_text: str, rec) -> None:
    _print_header(ref, shape, gpu_text)
    print()
    if rec.chosen is not None:
        print(f"recommended: {_settings(rec.settings())}")
    print(rec.explanation)
    for line in rec.advice:
        print(f"  try {line}")
    print()
    for est in rec.options:
        fits = {True: "fits", False: "too big", None: "?"}[est.fits]
        print(f"  {est.setup.method:6} {_gib(est.peak_bytes):>10}  {fits:8} {_settings(est.setup.settings())}")


def _settings(settings: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in settings.items())


def _gib(b: float) -> str:
    return f"{b / GiB:.1f} GiB"


COMMANDS = {"gpus": cmd_gpus, "plan": cmd_plan}


def main(argv: list[str] | None = None) -> int:
    """The two commands alone, wired as tuitune/cli/main.py wires them (exit 2 on a user error)."""
    parser = argparse.ArgumentParser(prog="tuitune")
    add_commands(parser.add_subparsers(dest="command", metavar="COMMAND", required=True))
    from tuitune.errors import user_errors

    try:
        args = parser.parse_args(argv)
        with user_errors():
            return COMMANDS[args.command](args)
    except SystemExit as e:
        return int(e.code or 0)


if __name__ == "__main__":
    sys.exit(main())
