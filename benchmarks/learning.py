"""Does "give a model and a file" produce a model that learned the file? Three arms per task, in one run:

    python benchmarks/learning.py                       # knowledge, style, format; base, tuitune, reference
    python benchmarks/learning.py --tasks knowledge --arms tuitune
    python benchmarks/learning.py --quick               # knowledge only, base and tuitune
    python benchmarks/learning.py --model DIR           # another HF model folder (a GPU runs it the same way)

Tasks (benchmarks/learning_tasks.py, written by us): ``knowledge`` (12 invented facts, each trained
in three phrasings and asked in a fourth), ``style`` (a persona, scored on unseen prompts by its
markers), ``format`` (JSON with given keys, scored by parsing), ``cpt`` (continued pretraining on
tuitune's own docs, scored by the perplexity of three held-out documents: benchmarks/cpt.py).

Arms:
- ``base``: the model untouched (the base side of the tuitune arm's evaluation when it runs).
- ``tuitune``: a preset with only ``[model] path`` and ``[data] path`` through the real
  ``tuitune run`` (GGUF export and the general set skipped: they change nothing that is trained).
- ``reference``: plain TRL + PEFT, tuned by hand once: LoRA r32 (alpha 64) on all linear layers,
  3 epochs over every row of the file, lr 1e-3, batch 4, the answers trained (TRL's
  prompt/completion rows).

Every arm is scored through the same code path, ``tuitune eval TARGET --data HELDOUT --no-general
--json`` (torch on the adapter, the merged folder or the base folder), and each held-out answer
judged by ``learning_tasks.correct``. Prints task, arm, score, steps and wall time; writes JSON.
The default model is SmolLM2-135M-Instruct, the bundled GGUF dequantized to an HF folder.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import cpt  # noqa: E402
import learning_tasks  # noqa: E402
from trl_reference import train_merged  # noqa: E402
from tuitune_cli import eval_answers, events, only_run, tuitune  # noqa: E402

TASKS = ("knowledge", "style", "format", "cpt")
ARMS = ("base", "tuitune", "reference")
REFERENCE = {"r": 32, "alpha": 64, "epochs": 3, "learning_rate": 1e-3, "batch": 4, "max_length": 256}


def prepare_model(folder: Path) -> Path:
    """SmolLM2-135M-Instruct from the bundled GGUF, dequantized to safetensors (once)."""
    if (folder / "config.json").exists():
        return folder
    from tuitune.models.bundled import resolve_model
    from tuitune.weights.gguf_compat import save_dequantized

    save_dequantized(resolve_model("bundled:smollm2-135m-instruct"), folder)
    return folder


def evaluate(target: str, heldout: Path, home: Path, log: Path) -> dict[str, Any]:
    return eval_answers(target, home, log, data=heldout)


def score(task: str, answers: list[dict[str, Any]], heldout: list[dict[str, Any]]) -> int:
    return sum(learning_tasks.correct(task, a["answer"], h["completion"], a["contains"])
               for a, h in zip(answers, heldout, strict=True))


def run_tuitune(task: str, model: Path, train: Path, work: Path, log: Path) -> dict[str, Any]:
    home = work / f"home-{task}"
    preset = work / f"{task}.toml"
    preset.write_text(f'name = "learn-{task}"\n\n[model]\npath = "{model}"\n\n[data]\npath = "{train}"\n')
    start = time.monotonic()
    tuitune("run", str(preset), "--json", "-s", "export.gguf=[]", "-s", "eval.general=false", home=home, log=log)
    wall = time.monotonic() - start
    run = only_run(home)
    logged = events(run)
    steps = [e["step"] for e in logged if e["type"] == "step"]
    guidance = json.loads((run / "guidance.json").read_text())
    return {"run": run, "home": home, "steps": max(steps, default=0), "wall_s": wall, "guidance": guidance["summary"],
            "warnings": [e.get("code") for e in logged if e["type"] == "warning"],
            "losses": [e["loss"] for e in logged if e["type"] == "step"][-1:]}


def run_reference(task: str, model: Path, train: Path, out: Path) -> dict[str, Any]:
    """Plain TRL + PEFT with the hand-picked settings, the answers trained (TRL's prompt/completion
    rows); the merged model saved to ``out``."""
    rows = [json.loads(line) for line in train.read_text().splitlines()]
    return train_merged(model, [{"prompt": r["messages"][:-1], "completion": r["messages"][-1:]} for r in rows],
                        out, REFERENCE, logging_steps=5)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tasks", default=",".join(TASKS), help="comma-separated: " + ", ".join(TASKS)
                    + " (cpt: held-out perplexity, lower is better)")
    ap.add_argument("--arms", default=",".join(ARMS), help="comma-separated: " + ", ".join(ARMS))
    ap.add_argument("--quick", action="store_true", help="knowledge only, base and tuitune arms")
    ap.add_argument("--model", type=Path, help="an HF model folder (default: SmolLM2-135M-Instruct, prepared once)")
    ap.add_argument("--work", type=Path, default=Path("/tmp/tuitune-learning"), help="where runs and models go")
    ap.add_argument("--out", type=Path, help="the JSON results (default: WORK/results.json)")
    args = ap.parse_args(argv)
    tasks, arms = args.tasks.split(","), args.arms.split(",")
    if args.quick:
        tasks, arms = ["knowledge"], ["base", "tuitune"]
    args.work.mkdir(parents=True, exist_ok=True)
    log = args.work / "log.txt"
    model = args.model or prepare_model(args.work / "smollm2-135m")
    results: list[dict[str, Any]] = []
    out = args.out or args.work / "results.json"
    for task in tasks:
        if task == "cpt":  # a perplexity, not a count of right answers
            for name, r in cpt.arms(model, args.work / "cpt", log, tuple(arms)).items():
                results.append({"task": task, "arm": name, **r})
                print(_row(results[-1]) + (f" {r['guidance']}" if r.get("guidance") else ""), flush=True)
            out.write_text(json.dumps(results, indent=2, default=str) + "\n")
            continue
        train, heldout = learning_tasks.write(task, args.work / "data")
        held = [json.loads(line) for line in heldout.read_text().splitlines()]
        done: dict[str, dict[str, Any]] = {}
        if "tuitune" in arms:
            arm = run_tuitune(task, model, train, args.work, log)
            start = time.monotonic()
            answers = evaluate(f"run:{arm['run'].name}", heldout, arm["home"], log)
            arm["eval_s"] = time.monotonic() - start
            done["tuitune"] = {**arm, "answers": answers["tuned"]}
            if "base" in arms:
                done["base"] = {"steps": 0, "wall_s": 0.0, "answers": answers["base"]}
        if "base" in arms and "base" not in done:
            start = time.monotonic()
            answers = evaluate(str(model), heldout, args.work / "home-eval", log)
            done["base"] = {"steps": 0, "wall_s": 0.0, "eval_s": time.monotonic() - start, "answers": answers["tuned"]}
        if "reference" in arms:
            folder = args.work / f"reference-{task}"
            arm = run_reference(task, model, train, folder)
            start = time.monotonic()
            answers = evaluate(str(folder), heldout, args.work / "home-eval", log)
            done["reference"] = {**arm, "eval_s": time.monotonic() - start, "answers": answers["tuned"]}
        for name in ARMS:
            if name in done:
                r = done[name]
                r.pop("run", None), r.pop("home", None)
                results.append({"task": task, "arm": name, "score": score(task, r["answers"], held),
                                "of": len(held), **r})
                print(_row(results[-1]) + (f" {r['guidance']}" if r.get("guidance") else ""), flush=True)
        out.write_text(json.dumps(results, indent=2, default=str) + "\n")
    print("\n" + table(results))
    print(f"\nresults: {out}")
    return 0


def _row(r: dict[str, Any]) -> str:
    score = f"ppl {r['ppl']:.2f}" if "ppl" in r else f"{r['score']}/{r['of']}"
    return f"| {r['task']} | {r['arm']} | {score} | {r['steps']} | {r['wall_s']:.0f} s |"


def table(results: list[dict[str, Any]]) -> str:
    head = "| task | arm | score | steps | train wall |\n|---|---|---|---|---|"
    return "\n".join([head, *(_row(r) for r in results)])


if __name__ == "__main__":
    raise SystemExit(main())
