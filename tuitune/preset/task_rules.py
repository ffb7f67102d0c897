"""The guidance rules that read the task, not only its size (docs/guidance.md, "Reading the task"):
deliberate repetition, knowledge-like data, validation that can be trusted, and the CPU budget.
Each returns a value and its reason, as the rules in guidance.py do. Light core: no torch.
"""

from __future__ import annotations

import math
from typing import Any

# A fact is answered from a new phrasing only after many passes over it: knowledge-injection
# studies train 10+ epochs over paraphrased facts (Ovadia et al. 2023; Allen-Zhu & Li 2023), and
# our benchmark (benchmarks/learning.py) answers the held-out phrasings after ~12 passes.
KNOWLEDGE_EPOCHS = 10
# LoRA learns new knowledge less readily than full fine-tuning and a low rank widens the gap
# (Biderman et al. 2024, "LoRA Learns Less and Forgets Less"); r32 costs little on a small set.
KNOWLEDGE_RANK = 32
MIN_VAL_ROWS = 10  # tuitune.data.split.MIN_VAL_ROWS: fewer validation rows measure noise
PLATEAU_MIN_STEPS = 40  # tuitune.train.plateau.MIN_STEPS: a shorter run has too few losses to judge


def repeat_epochs(value: float, why: str, repeat_factor: int | None, dropped: int) -> tuple[float, str]:
    """Epochs multiplied by a deliberate upsampling factor: the repeats were dropped (a held-out
    row must have no copy in training), the passes the user asked for are kept."""
    if not repeat_factor:
        return value, why
    return value * repeat_factor, (f"{why}, x{repeat_factor}: the file repeats every row about {repeat_factor} "
                                   f"times on purpose; the {dropped} repeats were dropped (cleaning report: "
                                   f"deliberate_repeat) and the passes kept")


def knowledge_epochs(value: float, why: str, knowledge_like: bool, facts: int) -> tuple[float, str]:
    if not knowledge_like or value >= KNOWLEDGE_EPOCHS:
        return value, why + ("; knowledge-like data: at least 10 passes over each fact" if knowledge_like else "")
    return float(KNOWLEDGE_EPOCHS), (f"knowledge-like data ({facts} facts, each asked in several phrasings): "
                                     f"{KNOWLEDGE_EPOCHS} passes over each fact, as knowledge injection needs "
                                     "(Ovadia et al. 2023; a style needs far fewer)")


def knowledge_rank(rank: int, why: str, knowledge_like: bool) -> tuple[int, str]:
    if not knowledge_like or rank >= KNOWLEDGE_RANK:
        return rank, why
    return KNOWLEDGE_RANK, (f"knowledge-like data: r{KNOWLEDGE_RANK}, since LoRA learns new facts less readily "
                            "than full fine-tuning and a low rank widens the gap (Biderman et al. 2024)")


def trust_validation(val_rows: int, patience: int) -> tuple[bool, str]:
    """Early stopping's `auto`: on only with enough validation rows to mean something."""
    if val_rows >= MIN_VAL_ROWS:
        return True, (f"on: {val_rows} validation rows; stops after {patience} evaluations without a new best "
                      "and keeps the best checkpoint")
    return False, (f"off: {val_rows} validation rows are too few to trust (under {MIN_VAL_ROWS}); the run "
                   "stops on the training-loss plateau instead (eval.plateau_stop)")


def plateau_stop(early_stopping: bool, total_steps: int) -> tuple[bool, str]:
    if early_stopping:
        return False, "off: early stopping on the validation loss ends the run instead"
    if total_steps < PLATEAU_MIN_STEPS:
        return False, f"off: {total_steps} steps are too few to judge a plateau (it needs {PLATEAU_MIN_STEPS})"
    return True, ("on: without a validation split to trust, the run ends when the training loss stops falling "
                  "(no 2% gain over the last quarter of the run, checked from half way)")


def cpu_budget_warning(capped: int, full: int, per_step: float, chosen_epochs: float) -> dict[str, str] | None:
    """Before a CPU run whose step cap stops it short of its schedule: say so, with the time the
    full schedule would take, instead of silently training less."""
    if capped >= full:
        return None
    minutes = full * per_step / 60
    return {"code": "cpu_budget", "message": (
        f"the CPU budget stops this run at {capped} of the {full} steps of {chosen_epochs:g} epochs (~"
        f"{capped * per_step / 60:.0f} min); the full schedule would take ~{math.ceil(minutes)} min at ~{per_step:.1f} "
        f"s/step (estimated). Set train.epochs = {chosen_epochs:g} to train it all, or expect less to be learned")}


def summary_notes(facts: Any) -> list[str]:
    """What the summary line adds about the task, in the cleaning report's words."""
    notes = []
    if facts.repeat_factor:
        notes.append(f"deliberate_repeat x{facts.repeat_factor} (repeats dropped, epochs x{facts.repeat_factor})")
    if facts.knowledge_like:
        notes.append(f"knowledge-like ({facts.facts} facts)")
    return notes
