"""Continued pretraining on documents of our own: held-out perplexity before and after.

    python benchmarks/cpt.py                      # SmolLM2-135M-Instruct, LoRA, tuitune's choices
    python benchmarks/cpt.py -s train.method=full -s train.max_steps=40

The corpus is tuitune's own documentation (README.md, CHANGELOG.md and docs/*.md, copied as they
are now): real prose about a tool that did not exist when SmolLM2 was trained. One real
`tuitune run` with `train.stage = "cpt"` and only the model, the folder and a validation share of
a fifth (whole documents held out, never trained on) set; everything else is tuitune's choice.
The first evaluation runs before the first step, so its perplexity is the base's. Prints the
held-out perplexity at every evaluation, the steps, the wall time and the run's CPT choices.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from tuitune_cli import events, only_run, tuitune  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def corpus(folder: Path) -> Path:
    """A snapshot of the documents (the run reads the folder; the repo's files may change later)."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for doc in [REPO / "README.md", REPO / "CHANGELOG.md", *sorted((REPO / "docs").glob("*.md"))]:
        shutil.copy(doc, folder / doc.name)
    return folder


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-s", dest="sets", action="append", default=[], metavar="KEY=VALUE", help="a preset override")
    ap.add_argument("--work", type=Path, default=Path("/tmp/tuitune-cpt"), help="where the corpus and the run go")
    args = ap.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    docs = corpus(args.work / "docs")
    home, log = args.work / "home", args.work / "log.txt"
    if home.exists():
        shutil.rmtree(home)
    preset = args.work / "cpt.toml"
    preset.write_text(f'name = "cpt-docs"\n\n[model]\npath = "bundled:smollm2-135m-instruct"\n\n'
                      f'[data]\npath = "{docs}"\nval_fraction = 0.2\n\n[train]\nstage = "cpt"\n')
    sets = ["export.gguf=[]", "eval.general=false", *args.sets]
    start = time.monotonic()
    tuitune("run", str(preset), "--json", *(a for s in sets for a in ("-s", s)), home=home, log=log)
    wall = time.monotonic() - start
    run = only_run(home)
    logged = events(run)
    evals = [e for e in logged if e["type"] == "eval" and "perplexity" in e]
    steps = [e for e in logged if e["type"] == "step"]
    data = next((e for e in logged if e["type"] == "data"), {})
    guidance = json.loads((run / "guidance.json").read_text())
    print(f"corpus     {len(list(docs.iterdir()))} documents; {data.get('train_rows')} training windows, "
          f"{data.get('val_rows')} held-out windows")
    print(f"choices    {guidance['summary']}")
    for e in evals:
        print(f"step {e['step']:4d}  held-out perplexity {e['perplexity']:.2f}  (loss {e['loss']:.3f})")
    if len(evals) >= 2:
        print(f"perplexity {evals[0]['perplexity']:.2f} → {evals[-1]['perplexity']:.2f} "
              f"(x{evals[0]['perplexity'] / evals[-1]['perplexity']:.2f} lower)")
    print(f"steps      {steps[-1]['step'] if steps else 0}, wall {wall:.0f} s, run {run}")
    (args.work / "results.json").write_text(json.dumps(
        {"evals": evals, "steps": steps[-1]["step"] if steps else 0, "wall_s": wall, "choices": guidance["summary"],
         "data": data}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
