"""The GPU suite: tuitune's CUDA path measured in one command, as one JSON and a markdown table.

    python benchmarks/gpu_suite.py --dry-run            # the steps it would run, and what this machine lacks
    python benchmarks/gpu_suite.py --out results/       # on an NVIDIA GPU: sized for 10 minutes on one H100/H200
    python benchmarks/gpu_suite.py --cpu --out /tmp/s   # every step at toy size on the CPU (catches breakage here)
    python benchmarks/gpu_suite.py --prepare .suite     # here: save what a bare GPU machine lacks (the tokenizer)

Steps, most valuable first, so that a run cut short still reports the first ones; each step's
result is written to ``OUT/gpu_suite.json`` and ``OUT/gpu_suite.md`` as soon as it ends, and a
step that fails or runs out of time is recorded as such while the next ones still run:

1. ``gpu-tests``   ``pytest -m gpu``: the tests that need a CUDA GPU.
2. ``doctor``      ``tuitune doctor --json``: the install, as a user's first command sees it.
3. ``self-test``   ``tuitune doctor --train --json``: LoRA and QLoRA through the real worker.
4. ``planner``     the planner's estimate against torch's measured peak (max reserved) for full,
                   LoRA and QLoRA at two sequence lengths on Llama-3.2-1B and Llama-3.1-8B shapes
                   (random weights), each a few real steps in a throwaway probe worker.
5. ``speed``       ``train_speed.py --gpu``: plain TRL against tuitune, LoRA and QLoRA, 8B shape, 2048 tokens.
6. ``context``     the longest trainable context for Llama-3.1-8B QLoRA (r32, batch 1) under a
                   24 GiB cap (``torch.cuda.set_per_process_memory_fraction``), by bisection
                   from the planner's prediction, with and without activation offloading.

Targets (issue 16): the planner within 10 % of the measured peak (median), 25 % at worst;
tuitune at least 2x plain TRL's real tokens/s; the longest 8B QLoRA context in 24 GiB above
80k tokens. The suite reports them; it never fails on a number.

Python needs: benchmarks/gpu_suite.requirements.txt (the one place). GGUF conversion and
llama.cpp are not used.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # run from a checkout without installing it (the GPU machine's case)

from tuitune.hardware.estimate import GiB, estimate  # noqa: E402 - after the path is set
from tuitune.hardware.plan import as_engaged  # noqa: E402
from tuitune.hardware.reference import LABELS, reference_shape  # noqa: E402
from tuitune.hardware.setup import Setup  # noqa: E402
from tuitune.weights.random_model import TOKENIZER_ENV  # noqa: E402 - light: torch loads only to build

REQUIREMENTS = REPO / "benchmarks" / "gpu_suite.requirements.txt"
CAP_BYTES = 24 * GiB
CONTEXT_TARGET = 80_000
CPU_RSS = " (CPU: the process's RSS)"


@dataclass
class Context:
    cpu: bool
    out: Path
    work: Path
    deadline: float
    env: dict[str, str]

    @property
    def left(self) -> float:
        return self.deadline - time.monotonic()

    def run(self, name: str, command: list[str], timeout: float | None = None) -> subprocess.CompletedProcess[str]:
        """A child process, its output kept in OUT/logs/NAME.log; killed when the time is up."""
        log = self.out / "logs" / f"{name}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        limit = max(1.0, min(timeout or self.left, self.left))
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=limit, env=self.env,
                                  cwd=REPO, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as e:
            log.write_text(_text(e.stdout) + _text(e.stderr))
            raise StepTimeout(f"{' '.join(command[:4])} ran past {limit:.0f} s") from None
        log.write_text(done.stdout + done.stderr)
        return done


class StepTimeout(Exception):
    pass


def _text(data: bytes | str | None) -> str:
    return data.decode(errors="replace") if isinstance(data, bytes) else (data or "")


def python() -> list[str]:
    return [sys.executable]


# ---------------------------------------------------------------- the models


def model_folder(ctx: Context, shape: str) -> Path:
    """A random model of ``shape`` (made once, shared by the steps), in bf16 on the GPU."""
    folder = ctx.work / f"model-{shape}"
    if not (folder / "config.json").is_file():
        device = "cpu" if ctx.cpu else "cuda"
        done = ctx.run(f"model-{shape}", [*python(), "-m", "tuitune.weights.random_model", shape, str(folder),
                                          "--device", device])
        if done.returncode != 0:
            raise RuntimeError(f"could not make the random {LABELS[shape]}: {_last_line(done.stderr)}")
    return folder


def _last_line(text: str) -> str:
    return (text.strip().splitlines() or ["no output"])[-1]


# ---------------------------------------------------------------- steps


def step_gpu_tests(ctx: Context) -> dict[str, Any]:
    done = ctx.run("gpu-tests", [*python(), "-m", "pytest", "-m", "gpu", "-q", "-p", "no:cacheprovider", "-o",
                                 "addopts=-ra", "tests"])
    tail = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    counts = {kind: int(n) for n, kind in re.findall(r"(\d+) (passed|failed|skipped|errors?|deselected)", tail)}
    failed = [line.split(" ", 1)[1] for line in done.stdout.splitlines() if line.startswith(("FAILED ", "ERROR "))]
    return {"exit": done.returncode, "counts": counts, "failed": failed[:20], "summary": tail}


def step_doctor(ctx: Context) -> dict[str, Any]:
    done = ctx.run("doctor", [*python(), "-m", "tuitune", "doctor", "--json"])
    checks = json.loads(done.stdout)["checks"]
    return {"exit": done.returncode, "checks": {c["name"]: f"{c['status']}: {c['message']}" for c in checks}}


def step_self_test(ctx: Context) -> dict[str, Any]:
    done = ctx.run("self-test", [*python(), "-m", "tuitune", "doctor", "--train", "--json"])
    if not done.stdout.strip():
        raise RuntimeError(f"tuitune doctor --train printed nothing: {_last_line(done.stderr)}")
    report = json.loads(done.stdout)
    return {"exit": done.returncode, "checks": {c["name"]: f"{c['status']}: {c['message']}" for c in report["checks"]},
            "runs": [{k: r[k] for k in ("method", "model", "status", "tokens_per_s", "measured_peak_bytes",
                                        "estimate_peak_bytes", "measured_over_estimate")} for r in report["runs"]]}


def planner_settings(cpu: bool) -> list[tuple[str, str, int, int]]:
    """(shape, method, seq_len, batch): two lengths per method, 1B first (fast), then 8B."""
    if cpu:
        return [("toy", method, seq, 2) for method in ("lora", "full") for seq in (64, 256)]
    return [(shape, method, seq, batch) for shape, batch in (("llama-1b", 4), ("llama-8b", 1))
            for method in ("qlora", "lora", "full") for seq in (512, 2048)]


def step_planner(ctx: Context) -> dict[str, Any]:
    from tuitune.hardware.probe import run_worker

    gpu_bytes = None if ctx.cpu else _gpu_total_bytes()
    rows = []
    for shape_name, method, seq, batch in planner_settings(ctx.cpu):
        if ctx.left < 30:
            rows.append({"shape": LABELS[shape_name], "method": method, "seq_len": seq, "status": "out of time"})
            continue
        shape = reference_shape(shape_name)
        setup = Setup(method, seq_len=seq, batch=batch, device="cpu" if ctx.cpu else "cuda",
                      compute="fp32" if ctx.cpu else "bf16", optimizer="adamw")
        est = estimate(shape, setup, gpu_bytes)
        row: dict[str, Any] = {"shape": LABELS[shape_name], "method": method, "seq_len": seq, "batch": batch,
                               "estimate_gib": round(est.torch_reserved_bytes / GiB, 2)}
        if est.fits is False:
            rows.append({**row, "status": "not run: the planner says it does not fit this GPU"})
            continue
        spec = _probe_spec(str(model_folder(ctx, shape_name)), setup, steps=3)
        measured = run_worker(spec, timeout=max(30.0, ctx.left))
        row.update(_measured(measured, shape, setup, ctx.cpu))
        rows.append(row)
        _save_partial(ctx, "planner", {"rows": rows})
    ratios = [r["ratio"] for r in rows if r.get("ratio")]
    errors = [abs(x - 1) for x in ratios]
    return {"rows": rows, "median_error": round(statistics.median(errors), 3) if errors else None,
            "worst_error": round(max(errors), 3) if errors else None,
            "target": "median within 10 %, worst within 25 %"}


def _probe_spec(model: str, setup: Setup, *, steps: int, **extra: Any) -> dict[str, Any]:
    targets = setup.lora_targets
    return {"model": model, "method": setup.method, "seq_len": setup.seq_len, "batch": setup.batch,
            "grad_checkpointing": setup.grad_checkpointing, "optimizer": setup.optimizer, "lora_r": setup.lora_r,
            "lora_dropout": setup.lora_dropout, "lora_targets": targets if isinstance(targets, str) else list(targets),
            "precision": setup.compute, "device": setup.device, "steps": steps, **extra}


def _measured(measured: dict[str, Any], shape: Any, setup: Setup, cpu: bool) -> dict[str, Any]:
    """The probe's figures, and the estimate redone for the switches it really ran with."""
    if not measured.get("fits"):
        return {"status": "out of memory" if measured.get("fits") is False else "failed",
                "error": measured.get("error")}
    engaged = (measured.get("speed") or {}).get("engaged")
    planned = estimate(shape, as_engaged(setup, engaged)).torch_reserved_bytes
    peak = measured.get("max_rss" if cpu else "torch_max_reserved")
    row = {"status": "ok", "estimate_gib": round(planned / GiB, 2), "tokens_per_s": round(measured.get("tokens_per_second") or 0),
           "engaged": engaged}
    if cpu:
        row["rss_gib"] = round(peak / GiB, 2)  # the whole process: not comparable, shown as it is
    else:
        row.update(measured_gib=round(peak / GiB, 2), ratio=round(peak / planned, 3),
                   allocated_gib=round(measured["torch_max_allocated"] / GiB, 2))
    return row


def step_speed(ctx: Context) -> dict[str, Any]:
    out = ctx.work / "speed.json"
    if ctx.cpu:
        args = ["--methods", "lora", "--steps", "4", "--batch", "2", "--max-len", "128", "--warmup", "1"]
    else:
        model_folder(ctx, "llama-8b")  # train_speed reuses it from the work folder
        args = ["--gpu", "--shape", "llama-8b", "--methods", "lora,qlora"]
    done = ctx.run("speed", [*python(), str(REPO / "benchmarks" / "train_speed.py"), *args, "--workdir", str(ctx.work),
                             "--json", str(out)])
    if done.returncode != 0 or not out.is_file():
        raise RuntimeError(f"train_speed.py exited {done.returncode}: {_last_line(done.stderr)}")
    results = json.loads(out.read_text())["results"]
    rows = []
    for method, arms in results.items():
        trl, ours = arms["trl"][-1], arms["tuitune"][-1]
        rows.append({"method": method, "trl_tokens_per_s": round(trl["tokens_per_s"]),
                     "tuitune_tokens_per_s": round(ours["tokens_per_s"]),
                     "ratio": round(ours["tokens_per_s"] / trl["tokens_per_s"], 2),
                     "trl_peak_gib": round(trl["peak_bytes"] / GiB, 2), "tuitune_peak_gib": round(ours["peak_bytes"] / GiB, 2),
                     "tuitune_settings": ours["settings"]})
    return {"rows": rows, "target": "tuitune >= 2x plain TRL (GPU, 8B shape, 2048 tokens)", "table": done.stdout[-3000:]}


def step_context(ctx: Context) -> dict[str, Any]:
    """Longest context that trains under the cap: the planner's prediction first (free), then
    real steps around it. On the CPU the cap cannot be enforced: the planner's answer for a toy
    cap is checked by one real step there instead."""
    shape_name = "toy" if ctx.cpu else "llama-8b"
    shape = reference_shape(shape_name)
    cap = GiB // 16 if ctx.cpu else CAP_BYTES
    device = "cpu" if ctx.cpu else "cuda"
    base = Setup("lora" if ctx.cpu else "qlora", seq_len=1024, batch=1, lora_r=32, device=device,
                 compute="fp32" if ctx.cpu else "bf16", attention="auto" if ctx.cpu else _attention())
    variants: dict[str, dict[str, Any]] = {"tuitune defaults": {"activation_offloading": False},
                                           "activation offloading": {"activation_offloading": True}}
    results: dict[str, Any] = {}
    fraction = None if ctx.cpu else cap / _gpu_total_bytes()
    model = str(model_folder(ctx, shape_name))
    for label, train in variants.items():
        setup = base.with_(activation_offloading=train["activation_offloading"])
        results[label] = {"predicted": _longest_by_planner(shape, setup, cap), "probes": []}
        _bisect_context(ctx, model, setup, train, fraction, results, label)
    return {"shape": LABELS[shape_name], "cap_gib": round(cap / GiB, 2), "variants": results,
            "target": f"> {CONTEXT_TARGET:,} tokens (Unsloth: 78,475; plain HF + FA2: 5,789)"}


def _bisect_context(ctx: Context, model: str, setup: Setup, train: dict[str, Any], fraction: float | None,
                    results: dict[str, Any], label: str) -> None:
    """Real steps around the planner's prediction; each probe is saved as it ends."""
    from tuitune.hardware.probe import run_worker

    entry = results[label]

    def fits(length: int) -> bool | None:
        if ctx.left < 60:
            raise StepTimeout("out of time for another probe")
        spec = _probe_spec(model, setup.with_(seq_len=length), steps=1, train=train, memory_fraction=fraction)
        result = run_worker(spec, timeout=max(60.0, ctx.left))
        peak = result.get("torch_max_reserved") or result.get("max_rss") or 0
        entry["probes"].append({"seq_len": length, "fits": result.get("fits"), "peak_gib": round(peak / GiB, 2),
                                "error": result.get("error")})
        _save_partial(ctx, "context", results)
        return result.get("fits")

    try:
        entry["longest"] = fits_longest(fits, entry["predicted"], tries=1 if ctx.cpu else 6,
                                        step=256 if ctx.cpu else 1024)
    except StepTimeout as e:
        entry["stopped"] = str(e)
        known = [p["seq_len"] for p in entry["probes"] if p["fits"]]
        entry["longest"] = max(known) if known else None


def fits_longest(fits: Callable[[int], bool | None], predicted: int, tries: int, step: int = 1024) -> int | None:
    """The longest length (a multiple of ``step``) for which ``fits`` holds, searched from the
    planner's ``predicted`` within ``tries`` calls: up by a quarter while it fits, then halving
    the bracket. With one try it only checks the prediction."""
    lo: int | None = None
    hi: int | None = None
    length = max(step, predicted // step * step)
    for _ in range(tries):
        ok = fits(length)
        if ok:
            lo = length
        else:
            hi = length
        if hi is None:
            length = (int(length * 1.25) // step) * step
        elif lo is None:
            length = max(step, (length // 2) // step * step)
            if length >= hi:
                break
        else:
            if hi - lo <= step:
                break
            length = (lo + hi) // 2 // step * step
    return lo


def _longest_by_planner(shape: Any, setup: Setup, cap: int) -> int:
    """Bisection on the estimate: the longest multiple of 256 tokens whose peak stays under ``cap``."""
    lo, hi = 256, 1 << 20
    if estimate(shape, setup.with_(seq_len=lo)).peak_bytes > cap:
        return 0
    while hi - lo > 256:
        mid = (lo + hi) // 2 // 256 * 256
        if estimate(shape, setup.with_(seq_len=mid)).peak_bytes <= cap:
            lo = mid
        else:
            hi = mid
    return lo


def _attention() -> str:
    import importlib.util

    return "flash_attention_2" if importlib.util.find_spec("flash_attn") else "sdpa"


def _gpu_total_bytes() -> int:
    from tuitune.hardware.nvml import read_gpus

    report = read_gpus()
    if report.cpu_only:
        raise RuntimeError(f"no NVIDIA GPU ({report.cpu_only_reason}); use --cpu")
    return report.gpus[0].memory_total


STEPS: list[tuple[str, str, Callable[[Context], dict[str, Any]]]] = [
    ("gpu-tests", "pytest -m gpu: the tests that need a CUDA GPU", step_gpu_tests),
    ("doctor", "tuitune doctor --json: the install's checks", step_doctor),
    ("self-test", "tuitune doctor --train --json: LoRA (+ QLoRA) through the real worker", step_self_test),
    ("planner", "planner estimate vs torch's max reserved: full/LoRA/QLoRA x 512/2048 tokens, 1B and 8B shapes",
     step_planner),
    ("speed", "train_speed.py --gpu: plain TRL vs tuitune, LoRA and QLoRA, 8B shape, 2048 tokens", step_speed),
    ("context", "longest 8B QLoRA (r32, batch 1) context under a 24 GiB cap, by bisection", step_context),
]


# ---------------------------------------------------------------- output


def _save_partial(ctx: Context, name: str, result: dict[str, Any]) -> None:
    report = _read_report(ctx)
    report["steps"].setdefault(name, {})["partial"] = result
    _write_report(ctx, report)


def _read_report(ctx: Context) -> dict[str, Any]:
    path = ctx.out / "gpu_suite.json"
    return json.loads(path.read_text()) if path.is_file() else {"steps": {}}


def _write_report(ctx: Context, report: dict[str, Any]) -> None:
    (ctx.out / "gpu_suite.json").write_text(json.dumps(report, indent=1, default=str))
    (ctx.out / "gpu_suite.md").write_text(markdown(report))


def markdown(report: dict[str, Any]) -> str:
    lines = [f"# tuitune GPU suite ({report.get('mode')})", "", f"machine: {report.get('machine')}", "",
             "| step | status | seconds | result |", "|---|---|---|---|"]
    for name, step in report["steps"].items():
        lines.append(f"| {name} | {step.get('status', 'running')} | {step.get('seconds', '')} | "
                     f"{_headline(name, step).replace('|', '/')} |")
    planner = report["steps"].get("planner", {})
    rows = (planner.get("result") or planner.get("partial") or {}).get("rows", [])
    if rows:
        lines += ["", "## planner: estimate vs measured peak", "",
                  "| shape | method | tokens | estimate GiB | measured GiB" + (CPU_RSS if rows[0].get("rss_gib") else "")
                  + " | measured/estimate | tokens/s | status |",
                  "|---|---|---|---|---|---|---|---|"]
        for r in rows:
            lines.append(f"| {r['shape']} | {r['method']} | {r.get('batch', '')} x {r['seq_len']} | "
                         f"{r.get('estimate_gib', '')} | {r.get('measured_gib', r.get('rss_gib', ''))} | "
                         f"{r.get('ratio', '')} | {r.get('tokens_per_s', '')} | {r['status']} |")
    speed = report["steps"].get("speed", {}).get("result") or {}
    if speed.get("rows"):
        lines += ["", "## speed: real tokens/s", "", "| method | plain TRL | tuitune | ratio | peak GiB TRL / tuitune |",
                  "|---|---|---|---|---|"]
        for r in speed["rows"]:
            lines.append(f"| {r['method']} | {r['trl_tokens_per_s']} | {r['tuitune_tokens_per_s']} | {r['ratio']}x | "
                         f"{r['trl_peak_gib']} / {r['tuitune_peak_gib']} |")
    context = report["steps"].get("context", {})
    variants = (context.get("result") or {}).get("variants") or (context.get("partial") or {})
    if variants:
        lines += ["", "## longest context under the cap", "", "| variant | planner predicts | longest measured | probes |",
                  "|---|---|---|---|"]
        for label, v in variants.items():
            probes = ", ".join(f"{p['seq_len']}:{'fits' if p['fits'] else 'OOM' if p['fits'] is False else '?'}"
                               for p in v.get("probes", []))
            lines.append(f"| {label} | {v.get('predicted')} | {v.get('longest')} | {probes} |")
    return "\n".join(lines) + "\n"


def _headline(name: str, step: dict[str, Any]) -> str:
    if step.get("error"):
        return str(step["error"])[:200]
    result = step.get("result") or {}
    if name == "gpu-tests":
        return str(result.get("summary", ""))
    if name in ("doctor", "self-test"):
        statuses = [v.split(":", 1)[0] for v in result.get("checks", {}).values()]
        return ", ".join(f"{statuses.count(s)} {s}" for s in ("ok", "warn", "fail", "skip") if statuses.count(s))
    if name == "planner":
        return f"median error {result.get('median_error')}, worst {result.get('worst_error')}"
    if name == "speed":
        return ", ".join(f"{r['method']} {r['ratio']}x" for r in result.get("rows", []))
    if name == "context":
        return ", ".join(f"{k}: {v.get('longest')}" for k, v in result.get("variants", {}).items())
    return ""


def machine() -> str:
    try:
        import torch

        gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no CUDA GPU"
        return f"{gpu}; torch {torch.__version__}; Python {platform.python_version()}"
    except ImportError:
        return f"torch not installed; Python {platform.python_version()}"


# ---------------------------------------------------------------- main


def missing_needs() -> list[str]:
    from importlib.metadata import PackageNotFoundError, version

    missing = []
    for line in REQUIREMENTS.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name, _, wanted = line.partition("==")
        try:
            version(name)
        except PackageNotFoundError:
            missing.append(line)
    return missing


def prepare(folder: Path) -> None:
    """Save the SmolLM2 tokenizer from the demo's GGUF (which is too big to carry) to ``folder``."""
    from transformers import AutoTokenizer

    from tuitune.models.bundled import resolve_model
    from tuitune.weights.gguf_compat import enable_transformers_gguf

    enable_transformers_gguf()
    gguf = resolve_model("bundled:smollm2-135m-instruct")
    AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name).save_pretrained(folder / "tokenizer")
    print(f"saved the tokenizer to {folder / 'tokenizer'}; run the suite with --tokenizer {folder / 'tokenizer'}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cpu", action="store_true", help="every step at toy size on the CPU")
    p.add_argument("--dry-run", action="store_true", help="list the steps and the missing Python packages; run nothing")
    p.add_argument("--out", type=Path, default=Path("gpu-suite-results"), help="where gpu_suite.json and .md go")
    p.add_argument("--only", help="comma-separated step names (default: all, in order)")
    p.add_argument("--budget-s", type=float, default=600.0, help="stop starting work after this many seconds")
    p.add_argument("--tokenizer", type=Path, help="a saved SmolLM2 tokenizer folder (see --prepare)")
    p.add_argument("--prepare", type=Path, metavar="DIR", help="save what a bare GPU machine lacks into DIR, and exit")
    p.add_argument("--keep", action="store_true", help="keep the work folder (models, runs)")
    args = p.parse_args(argv)

    if args.prepare:
        prepare(args.prepare)
        return 0
    names = [s[0] for s in STEPS]
    chosen = args.only.split(",") if args.only else names
    unknown = [n for n in chosen if n not in names]
    if unknown:
        p.error(f"unknown step(s) {', '.join(unknown)}; the steps are {', '.join(names)}")
    if args.dry_run:
        print(f"mode: {'CPU, toy sizes' if args.cpu else 'GPU'}; budget {args.budget_s:.0f} s; results in {args.out}/")
        for i, (name, what, _) in enumerate(s for s in STEPS if s[0] in chosen):
            print(f"{i + 1}. {name:10s} {what}")
        if not args.cpu:
            print("   planner settings: " + "; ".join(f"{LABELS[s]} {m} {b}x{n}" for s, m, n, b in planner_settings(False)))
        missing = missing_needs()
        print("Python needs (benchmarks/gpu_suite.requirements.txt): "
              + (f"missing here: {', '.join(missing)}" if missing else "all installed here"))
        return 0

    args.out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="tuitune-gpu-suite-"))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])]),
               TUITUNE_HOME=str(work / "home"), HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
    if args.tokenizer:
        env[TOKENIZER_ENV] = str(args.tokenizer.resolve())
    os.environ.update({k: env[k] for k in ("TUITUNE_HOME", "HF_HUB_OFFLINE", "PYTHONPATH")} |
                      ({TOKENIZER_ENV: env[TOKENIZER_ENV]} if args.tokenizer else {}))
    ctx = Context(args.cpu, args.out, work, time.monotonic() + args.budget_s, env)
    report = {"mode": "cpu (toy sizes)" if args.cpu else "gpu", "machine": machine(), "started": time.time(), "steps": {}}
    _write_report(ctx, report)
    try:
        for name, what, run in STEPS:
            if name not in chosen:
                continue
            report = _read_report(ctx)
            if ctx.left < 5:
                report["steps"][name] = {"status": "not run: out of time"}
                _write_report(ctx, report)
                continue
            print(f"[{name}] {what}", file=sys.stderr, flush=True)
            started = time.monotonic()
            entry: dict[str, Any] = {}
            try:
                entry = {"status": "ok", "result": run(ctx)}
            except StepTimeout as e:
                entry = {"status": "timeout", "error": str(e)}
            except Exception as e:  # noqa: BLE001 - one step's failure must not lose the others
                entry = {"status": "failed", "error": f"{type(e).__name__}: {e}"}
            report = _read_report(ctx)
            entry["seconds"] = round(time.monotonic() - started, 1)
            report["steps"][name] = {**report["steps"].get(name, {}), **entry}
            _write_report(ctx, report)
            print(f"[{name}] {entry['status']} in {entry['seconds']} s: {_headline(name, entry)}", file=sys.stderr, flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print((ctx.out / "gpu_suite.md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
