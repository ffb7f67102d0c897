"""Every training method on the demo: seconds per step, peak memory, and whether the persona was learned.

    python benchmarks/methods.py                         # every method, SFT and preference
    python benchmarks/methods.py --methods lora,dora,ia3 --steps 40
    python benchmarks/methods.py --list

Each method is one real `tuitune run` of the demo (`presets/demo-auto.toml`: SmolLM2-135M-Instruct
on the bundled pirate conversations, every key tuitune's choice but the method and the step count,
so the learning rate is the method's guided one); the preference methods run on the bundled
pirate pairs (`presets/demo-cpu-dpo.toml` with the stage changed and the learning rate guided).
GGUF export and the general set are skipped: they measure nothing about the method.

Reported per method: optimizer steps, median seconds per step (the worker's own `step_time`),
the worker's peak resident memory (its `memory` event; on a GPU the allocator's peak), the
training loss at the first and last step, and the persona: of the run's held-out validation
prompts, how many answers carry a pirate marker ("arr", "matey", "ahoy", "ye", "yo-ho"), scored
through `tuitune eval RUN --no-general`, base model beside it. Writes JSON after every method.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tuitune_cli import eval_answers, events, only_run, tuitune  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SFT = REPO / "presets" / "demo-auto.toml"
PREFERENCE = REPO / "presets" / "demo-cpu-dpo.toml"
# name → (preset, overrides): the demo with one method changed.
METHODS: dict[str, tuple[Path, list[str]]] = {
    "lora": (SFT, ["train.method=lora"]),
    "dora": (SFT, ["train.method=lora", "lora.use_dora=true"]),
    "rslora": (SFT, ["train.method=lora", "lora.use_rslora=true"]),
    "pissa": (SFT, ["train.method=lora", "lora.init=pissa"]),
    "olora": (SFT, ["train.method=lora", "lora.init=olora"]),
    "lora_plus": (SFT, ["train.method=lora", "lora.lora_plus_ratio=16"]),
    "ia3": (SFT, ["train.method=ia3"]),
    "prompt_tuning": (SFT, ["train.method=prompt_tuning"]),
    "prefix_tuning": (SFT, ["train.method=prefix_tuning"]),
    "freeze": (SFT, ["train.method=freeze"]),
    "full": (SFT, ["train.method=full"]),
    "kto": (PREFERENCE, ["train.stage=kto", "train.learning_rate=auto"]),
    "orpo": (PREFERENCE, ["train.stage=orpo", "train.learning_rate=auto"]),
    "simpo": (PREFERENCE, ["train.stage=simpo", "train.learning_rate=auto"]),
}
PREFERENCE_STEPS = 30
PIRATE = re.compile(r"\b(arr+|matey|ahoy|ye|yo-ho)\b", re.IGNORECASE)


def pirate(answers: list[dict[str, Any]]) -> int:
    return sum(bool(PIRATE.search(a["answer"] or "")) for a in answers)


def run_method(name: str, steps: int, work: Path, log: Path, base_persona: int | None = None,
               extra: list[str] | None = None) -> dict[str, Any]:
    """One method's row; the base is scored only when ``base_persona`` (its preset's) is not known yet."""
    preset, overrides = METHODS[name]
    if preset == PREFERENCE:  # a pair costs two sequences (KTO: and the reference's): the DPO demo's length
        steps = min(steps, PREFERENCE_STEPS)
    home = work / f"home-{name}"
    sets = [*overrides, "train.device=cpu", f"train.max_steps={steps}", "export.gguf=[]", "eval.general=false",
            "eval.probe_count=0", *(extra or [])]
    start = time.monotonic()
    tuitune("run", str(preset), "--json", *(a for s in sets for a in ("-s", s)), home=home, log=log)
    wall = time.monotonic() - start
    run = only_run(home)
    logged = events(run)
    step_events = [e for e in logged if e["type"] == "step"]
    times = [e["step_time"] for e in step_events[1:] if "step_time" in e]  # the first step pays for warm-up
    memory = next((e for e in logged if e["type"] == "memory"), {})
    peak = memory.get("cuda_max_reserved_bytes") or memory.get("max_rss_bytes")
    answers = eval_answers(f"run:{run.name}", home, log, None, *(["--no-base"] if base_persona is not None else []))
    if base_persona is None:
        base_persona = pirate(answers.get("base", []))
    guidance = json.loads((run / "guidance.json").read_text())
    return {"method": name, "steps": step_events[-1]["step"] if step_events else 0,
            "s_per_step": statistics.median(times) if times else None, "peak_bytes": peak, "wall_s": wall,
            "loss_first": step_events[0]["loss"] if step_events else None,
            "loss_last": step_events[-1]["loss"] if step_events else None,
            "learning_rate": guidance["choices"].get("train.learning_rate", {}).get("value"),
            "persona": pirate(answers.get("tuned", [])), "base_persona": base_persona, "preset": preset.name,
            "of": len(answers.get("tuned", [])), "answers": answers.get("tuned", [])}


def row(r: dict[str, Any]) -> str:
    sps = f"{r['s_per_step']:.2f}" if r["s_per_step"] is not None else "—"
    peak = f"{r['peak_bytes'] / 2**30:.2f} GiB" if r["peak_bytes"] else "—"
    loss = f"{r['loss_first']:.2f} → {r['loss_last']:.2f}" if r["loss_last"] is not None else "—"
    rate = f"{r['learning_rate']:g}" if isinstance(r["learning_rate"], (int, float)) else "—"
    return (f"| {r['method']} | {rate} | {r['steps']} | {sps} | {peak} | {loss} | "
            f"{r['persona']}/{r['of']} (base {r['base_persona']}) |")


def table(results: list[dict[str, Any]]) -> str:
    head = ("| method | learning rate | steps | s/step | peak memory | train loss | persona |\n"
            "|---|---|---|---|---|---|---|")
    return "\n".join([head, *(row(r) for r in results)])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--methods", default=",".join(METHODS), help="comma-separated (see --list)")
    ap.add_argument("--steps", type=int, default=70,
                    help=f"optimizer steps per method (the demo's 70; preference methods at most {PREFERENCE_STEPS})")
    ap.add_argument("--work", type=Path, default=Path("/tmp/tuitune-methods"), help="where runs go")
    ap.add_argument("--list", action="store_true", help="print the methods and their overrides")
    ap.add_argument("-s", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                    help="a preset override for every method (e.g. -s train.learning_rate=1e-4)")
    ap.add_argument("--keep", action="store_true", help="keep the methods WORK/results.json already holds; run the rest")
    args = ap.parse_args(argv)
    if args.list:
        for name, (preset, overrides) in METHODS.items():
            print(f"{name:14} {preset.name:18} {' '.join(overrides)}")
        return 0
    names = args.methods.split(",")
    unknown = [n for n in names if n not in METHODS]
    if unknown:
        ap.error(f"unknown method(s) {', '.join(unknown)}; --list shows them")
    args.work.mkdir(parents=True, exist_ok=True)
    log, out = args.work / "log.txt", args.work / "results.json"
    results = json.loads(out.read_text()) if args.keep and out.exists() else []
    bases = {r["preset"]: r["base_persona"] for r in results if "preset" in r}  # each preset's base, scored once
    for name in names:
        if any(r["method"] == name for r in results):
            continue
        results.append(run_method(name, args.steps, args.work, log, bases.get(METHODS[name][0].name), args.sets))
        bases.setdefault(results[-1]["preset"], results[-1]["base_persona"])
        print(row(results[-1]), flush=True)
        out.write_text(json.dumps(results, indent=2) + "\n")
    print("\n" + table(results) + f"\n\nresults: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
