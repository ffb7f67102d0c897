"""Continued pretraining on documents of our own: held-out perplexity, base vs tuitune vs plain TRL.

    python benchmarks/cpt.py                      # the three arms (as `learning.py --tasks cpt`)
    python benchmarks/cpt.py --arms tuitune -s train.method=full -s train.max_steps=40

The corpus is tuitune's own documentation (README.md and some of docs/*.md, copied as they are
now: ``TRAINED``, about 75 KB, so an arm trains in minutes on a CPU): real prose about a tool that
did not exist when SmolLM2 was trained. Three other documents are held out (``HELD_OUT``): no
arm trains on them, and every arm is
scored by the perplexity of their text (``tuitune eval --data heldout.jsonl``, raw-text rows of
at most ``CHUNK_CHARS`` characters, so no row is cut by the scorer's context).

Arms:
- ``base``: the model untouched (the base side of the tuitune arm's evaluation).
- ``tuitune``: a preset with ``[model] path``, ``[data] path`` (the folder of the other documents)
  and ``[train] stage = "cpt"``, nothing else, through the real ``tuitune run``: its own split,
  windows, rank, rate and epochs.
- ``reference``: plain TRL + PEFT, set by hand once (``REFERENCE``): LoRA r32 on all linear layers,
  lr 5e-4, 3 epochs, TRL's packing into 1024-token windows, loss on every token.

Lower perplexity is better. Used by ``learning.py`` as its ``cpt`` task.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from trl_reference import train_merged  # noqa: E402
from tuitune_cli import eval_summary, events, only_run, tuitune  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
TRAINED = ("README.md", "distributed.md", "dpo.md", "eval.md", "experiments.md", "methods.md", "speed.md")
HELD_OUT = ("cpt.md", "faults.md", "tui.md")
CHUNK_CHARS = 2000
REFERENCE = {"r": 32, "alpha": 64, "epochs": 3, "learning_rate": 5e-4, "batch": 4, "max_length": 1024}
ARMS = ("base", "tuitune", "reference")


def corpus(work: Path) -> tuple[Path, Path]:
    """A snapshot of the documents (the repo's files may change later): the folder to train on,
    and the held-out documents as raw-text eval rows."""
    train = work / "docs"
    if train.exists():
        shutil.rmtree(train)
    train.mkdir(parents=True)
    rows = []
    for doc in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        if doc.name in HELD_OUT:
            rows += [{"text": chunk} for chunk in chunks(doc.read_text(encoding="utf-8"))]
        elif doc.name in TRAINED:
            shutil.copy(doc, train / doc.name)
    heldout = work / "heldout.jsonl"
    heldout.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return train, heldout


def chunks(text: str) -> list[str]:
    """Paragraphs joined up to ``CHUNK_CHARS`` (a longer paragraph is its own chunk, cut there)."""
    out, current = [], ""
    for para in (p.strip() for p in text.split("\n\n")):
        if not para:
            continue
        if current and len(current) + 2 + len(para) > CHUNK_CHARS:
            out.append(current)
            current = ""
        current = f"{current}\n\n{para}" if current else para[:CHUNK_CHARS]
    return [*out, current] if current else out


def perplexities(target: str, heldout: Path, home: Path, log: Path) -> dict[str, float]:
    """The held-out perplexity of each side ``tuitune eval`` scored (``base``, ``tuned``)."""
    summary = eval_summary(target, home, log, data=heldout)
    return {side: summary[side]["text_ppl"] for side in ("base", "tuned") if summary.get(side)}


def run_tuitune(model: Path | str, train: Path, work: Path, log: Path, sets: list[str]) -> dict[str, Any]:
    home = work / "home-cpt"
    if home.exists():
        shutil.rmtree(home)
    preset = work / "cpt.toml"
    preset.write_text(f'name = "learn-cpt"\n\n[model]\npath = "{model}"\n\n[data]\npath = "{train}"\n\n'
                      '[train]\nstage = "cpt"\n')
    sets = ["export.gguf=[]", "eval.general=false", *sets]
    start = time.monotonic()
    tuitune("run", str(preset), "--json", *(a for s in sets for a in ("-s", s)), home=home, log=log)
    wall = time.monotonic() - start
    run = only_run(home)
    logged = events(run)
    steps = [e for e in logged if e["type"] == "step"]
    guidance = json.loads((run / "guidance.json").read_text())
    return {"run": run, "home": home, "steps": steps[-1]["step"] if steps else 0, "wall_s": wall,
            "guidance": guidance["summary"], "losses": [e["loss"] for e in steps][-1:],
            "evals": [{"step": e["step"], "perplexity": e["perplexity"]} for e in logged
                      if e["type"] == "eval" and "perplexity" in e]}


def run_reference(model: Path, train: Path, out: Path) -> dict[str, Any]:
    """Plain TRL + PEFT on the training documents, packed; the merged model saved to ``out``."""
    docs = [{"text": doc.read_text(encoding="utf-8")} for doc in sorted(train.iterdir())]
    return train_merged(model, docs, out, REFERENCE, packing=True, packing_strategy="wrapped")


def arms(model: Path, work: Path, log: Path, which: tuple[str, ...] = ARMS, sets: list[str] | None = None
         ) -> dict[str, dict[str, Any]]:
    """Each arm's ``{"ppl", "steps", "wall_s", ...}``, every one scored on the same held-out rows."""
    work.mkdir(parents=True, exist_ok=True)
    train, heldout = corpus(work)
    done: dict[str, dict[str, Any]] = {}
    if "tuitune" in which:
        arm = run_tuitune(model, train, work, log, sets or [])
        ppl = perplexities(f"run:{arm['run'].name}", heldout, arm.pop("home"), log)
        arm.pop("run")
        done["tuitune"] = {**arm, "ppl": ppl["tuned"]}
        if "base" in which:
            done["base"] = {"steps": 0, "wall_s": 0.0, "ppl": ppl["base"]}
    if "base" in which and "base" not in done:
        done["base"] = {"steps": 0, "wall_s": 0.0, "ppl": perplexities(str(model), heldout, work / "home-eval", log)["tuned"]}
    if "reference" in which:
        folder = work / "reference-cpt"
        arm = run_reference(model, train, folder)
        done["reference"] = {**arm, "ppl": perplexities(str(folder), heldout, work / "home-eval", log)["tuned"]}
    return {name: done[name] for name in ARMS if name in done}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--arms", default=",".join(ARMS), help="comma-separated: " + ", ".join(ARMS))
    ap.add_argument("-s", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                    help="a preset override for the tuitune arm")
    ap.add_argument("--model", type=Path, help="an HF model folder (default: SmolLM2-135M-Instruct, prepared once)")
    ap.add_argument("--work", type=Path, default=Path("/tmp/tuitune-cpt"), help="where the corpus and the runs go")
    args = ap.parse_args(argv)
    from learning import prepare_model

    args.work.mkdir(parents=True, exist_ok=True)
    model = args.model or prepare_model(args.work / "smollm2-135m")
    results = arms(model, args.work, args.work / "log.txt", tuple(args.arms.split(",")), args.sets)
    print("| arm | held-out perplexity | steps | train wall |\n|---|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {r['ppl']:.2f} | {r['steps']} | {r['wall_s']:.0f} s |")
    if "tuitune" in results:
        t = results["tuitune"]
        print(f"\ntuitune chose: {t['guidance']}")
        for e in t["evals"]:
            print(f"  its own validation at step {e['step']}: perplexity {e['perplexity']:.2f}")
    (args.work / "results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
