"""Sweeps: one preset, a few values for a few keys, one ordinary queued run per trial, the best
by validation loss. Optuna chooses each trial's values (grid, random, or TPE) and prunes: a trial
whose validation loss at an evaluation is worse than the median of the finished trials at the
same step stops there.

    $TUITUNE_HOME/sweeps/<sweep-id>/
      sweep.json   what was asked: the preset, the keys and values, the search, the trials' runs
      study.log    Optuna's journal (several processes append to it under its own lock)
    <run>/sweep.json   the trial's tag: its sweep, Optuna's trial, the values it trains with

A trial asks for its values when it starts from the queue (:func:`prepare_trial`), not when the
sweep is made, so TPE learns from every trial that finished before; its worker reports each
validation loss and stops when pruned (tuitune/train/sweep_trial.py), and tells the study how it
ended (:func:`record_trial`). Light core: Optuna (no torch) is imported only inside functions.
"""

from __future__ import annotations

import itertools
import json
import math
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tuitune.errors import TuituneError
from tuitune.paths import atomic_write_text, safe_name, tuitune_home
from tuitune.runs.store import RunDir, RunStoreError, runs_root

MODES = ("grid", "random", "tpe")
TAG = "sweep.json"


class SweepError(TuituneError):
    """A sweep that cannot be made or read; the message names the option or file."""


@dataclass
class Param:
    key: str
    values: list[Any]
    """The values to try; for random and TPE, two values written ``LOW..HIGH`` are a range."""
    span: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "values": self.values, "span": self.span}


def parse_param(text: str) -> Param:
    """``KEY=V1,V2,...`` or ``KEY=LOW..HIGH``, as ``--param`` takes it."""
    key, eq, values = text.partition("=")
    key = key.strip()
    if not eq or not key or not values.strip():
        raise SweepError(f"--param {text!r}: write KEY=V1,V2 (e.g. train.learning_rate=1e-4,3e-4) or KEY=LOW..HIGH")
    if ".." in values and "," not in values:
        low, _, high = values.partition("..")
        lo, hi = _value(low), _value(high)
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (lo, hi)) or lo >= hi:
            raise SweepError(f"--param {text!r}: a range needs two numbers, LOW below HIGH")
        return Param(key, [lo, hi], span=True)
    items = [_value(v) for v in values.split(",") if v.strip()]
    if len(items) < 1:
        raise SweepError(f"--param {text!r}: no values")
    return Param(key, list(dict.fromkeys(items)))


def _value(text: str) -> Any:
    text = text.strip()
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


def _override(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return f"{key}={'true' if value else 'false'}"
    if isinstance(value, str):
        return f"{key}={json.dumps(value)}"
    return f"{key}={value!r}"


def sweeps_root() -> Path:
    return tuitune_home() / "sweeps"


class Sweep:
    """One sweep's folder."""

    def __init__(self, path: Path):
        self.path = path
        self.id = path.name

    spec_file = property(lambda self: self.path / "sweep.json")
    journal = property(lambda self: self.path / "study.log")

    def spec(self) -> dict[str, Any]:
        try:
            return dict(json.loads(self.spec_file.read_text(encoding="utf-8")))
        except (OSError, ValueError) as e:
            raise SweepError(f"{self.spec_file}: unreadable ({e})") from None

    def runs(self) -> list[RunDir]:
        return [RunDir(runs_root() / r) for r in self.spec().get("runs", []) if (runs_root() / r).is_dir()]

    def params(self) -> list[Param]:
        return [Param(p["key"], p["values"], p.get("span", False)) for p in self.spec()["params"]]


def create_sweep(preset_file: Path, params: list[Param], overrides: list[str], mode: str, trials: int | None,
                 name: str | None) -> Sweep:
    """Validate every value against the preset (all problems at once, as a preset error names
    them), then make the sweep's folder; the trials' runs are added by :func:`add_trials`."""
    from tuitune.preset import load_preset

    if mode not in MODES:
        raise SweepError(f"unknown search {mode!r}; one of {', '.join(MODES)}")
    if not params:
        raise SweepError("a sweep needs at least one --param KEY=V1,V2")
    keys = [p.key for p in params]
    if len(set(keys)) != len(keys):
        raise SweepError("--param: each key once")
    for p in params:
        for v in p.values:  # a bad key or value fails now, naming it, not in a trial's worker
            load_preset(preset_file, [*overrides, _override(p.key, v)])
    count = grid_size(params) if mode == "grid" else trials
    if mode == "grid" and any(p.span for p in params):
        raise SweepError("a grid needs listed values (KEY=V1,V2); a LOW..HIGH range needs --trials N")
    if not count or count < 1:
        raise SweepError("--trials N: at least one trial")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = sweeps_root() / f"{stamp}-{safe_name((name or 'sweep').lower()).replace('.', '-')}-{secrets.token_hex(2)}"
    path.mkdir(parents=True)
    sweep = Sweep(path)
    spec = {"id": sweep.id, "preset": str(Path(preset_file).resolve()), "overrides": overrides, "mode": mode,
            "trials": count, "params": [p.to_json() for p in params], "created_at": time.time(), "runs": []}
    atomic_write_text(sweep.spec_file, json.dumps(spec, indent=2) + "\n")
    made = study(sweep)  # made now, so every trial's worker finds it
    if mode == "grid":  # every combination, in the order given (the first value of each key first)
        for combo in itertools.product(*(p.values for p in params)):
            made.enqueue_trial(dict(zip(keys, combo, strict=True)))
    return sweep


def grid_size(params: list[Param]) -> int:
    return math.prod(len(p.values) for p in params)


def add_trial(sweep: Sweep, run: RunDir) -> None:
    spec = sweep.spec()
    spec["runs"] = [*spec["runs"], run.id]
    atomic_write_text(sweep.spec_file, json.dumps(spec, indent=2) + "\n")
    write_tag(run, {"sweep": sweep.id, "trial": None, "params": None, "pruned": None})


def find_sweep(ref: str) -> Sweep:
    root = sweeps_root()
    if (root / ref / "sweep.json").is_file():
        return Sweep(root / ref)
    matches = [p for p in root.iterdir() if p.name.startswith(ref) or p.name.endswith(ref)] if root.is_dir() else []
    if len(matches) == 1:
        return Sweep(matches[0])
    raise SweepError(f"no sweep {ref!r} in {root}" if not matches else f"{ref!r} matches {len(matches)} sweeps")


def list_sweeps() -> list[Sweep]:
    root = sweeps_root()
    return [Sweep(p) for p in sorted(root.iterdir()) if (p / "sweep.json").is_file()] if root.is_dir() else []


def read_tag(run: RunDir) -> dict[str, Any] | None:
    try:
        data = json.loads((run.path / TAG).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_tag(run: RunDir, tag: dict[str, Any]) -> None:
    atomic_write_text(run.path / TAG, json.dumps(tag, indent=2) + "\n")


# --- Optuna ---------------------------------------------------------------------------------

def study(sweep: Sweep) -> Any:
    """The sweep's study (created on first use), with its sampler and the median pruner."""
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    # A grid's trials are enqueued in order as the sweep is made. No fixed seed: each trial asks
    # from a fresh process, and a fixed seed would draw the same values every time.
    if sweep.spec()["mode"] in ("grid", "random"):
        sampler: Any = optuna.samplers.RandomSampler()
    else:
        sampler = optuna.samplers.TPESampler()
    # Compared with the finished trials from the first one on: a hobbyist's sweep has a handful.
    pruner = optuna.pruners.MedianPruner(n_startup_trials=1, n_warmup_steps=0)
    storage = JournalStorage(JournalFileBackend(str(sweep.journal)))
    return optuna.create_study(study_name=sweep.id, storage=storage, sampler=sampler, pruner=pruner,
                               direction="minimize", load_if_exists=True)


def _suggest(trial: Any, p: Param) -> Any:
    if not p.span:
        return trial.suggest_categorical(p.key, p.values)
    lo, hi = p.values
    if isinstance(lo, int) and isinstance(hi, int):
        return trial.suggest_int(p.key, lo, hi)
    return trial.suggest_float(p.key, float(lo), float(hi), log=lo > 0 and hi / lo >= 10)


def prepare_trial(run: RunDir) -> None:
    """Called as a queued run starts: a sweep trial without values asks the study for them now
    and writes them into its config.toml (the guided defaults fill every key the sweep leaves out)."""
    tag = read_tag(run)
    if tag is None or tag.get("params") is not None:
        return
    from tuitune.preset import load_preset
    from tuitune.runs.store import write_config

    sweep = find_sweep(tag["sweep"])
    trial = study(sweep).ask()
    values = {p.key: _suggest(trial, p) for p in sweep.params()}
    preset = load_preset(run.config, [_override(k, v) for k, v in values.items()])
    write_config(run, preset)
    write_tag(run, {**tag, "trial": trial.number, "trial_id": trial._trial_id, "params": values})


def record_trial(run: RunDir) -> None:
    """Tell the study how a trial ended (after its worker let the run go): its best validation
    loss when done, pruned, or failed. Nothing for a stopped run, which may yet be resumed."""
    tag = read_tag(run)
    if tag is None or tag.get("trial") is None:
        return
    import optuna

    status = run.status()
    s = study(find_sweep(tag["sweep"]))
    frozen = s.trials[tag["trial"]]
    if frozen.state.is_finished():
        return
    if tag.get("pruned"):
        s.tell(tag["trial"], state=optuna.trial.TrialState.PRUNED)
    elif status == "done" and (loss := best_eval_loss(run)) is not None:
        s.tell(tag["trial"], loss)
    elif status in ("done", "failed", "crashed"):
        s.tell(tag["trial"], state=optuna.trial.TrialState.FAIL)


# --- results --------------------------------------------------------------------------------

def best_eval_loss(run: RunDir) -> float | None:
    from tuitune.events import iter_type, read_events

    losses = [e["loss"] for e in iter_type(read_events(run.events), "eval") if isinstance(e.get("loss"), (int, float))]
    return min(losses) if losses else None


def trial_rows(sweep: Sweep) -> list[dict[str, Any]]:
    """The trials, best first: ``{"run", "params", "eval_loss", "status"}`` (and ``"eval"``, the
    tuned model's scores, when `tuitune eval` has results for it). ``status`` is the run's, or
    ``pruned``. Unfinished and lossless trials sort last."""
    from tuitune.runs.evals import eval_dir, latest

    rows = []
    for run in sweep.runs():
        tag = read_tag(run) or {}
        try:
            status = run.status()
        except RunStoreError:
            status = "unreadable"
        row: dict[str, Any] = {"run": run.id, "params": tag.get("params") or {}, "eval_loss": best_eval_loss(run),
                               "status": "pruned" if tag.get("pruned") and status == "done" else status}
        summary = latest(eval_dir(run))
        if summary and summary.get("tuned"):
            row["eval"] = summary["tuned"]
        rows.append(row)
    order = {"done": 0, "pruned": 1}
    return sorted(rows, key=lambda r: (r["eval_loss"] is None, order.get(r["status"], 2), r["eval_loss"] or 0.0))


def result(sweep: Sweep) -> dict[str, Any]:
    """What ``tuitune sweep --json`` prints: ``{"sweep", "trials", "best"}``; best is the finished,
    unpruned trial with the lowest validation loss (None before one finishes)."""
    rows = trial_rows(sweep)
    best = next((r["run"] for r in rows if r["status"] == "done" and r["eval_loss"] is not None), None)
    return {"sweep": sweep.id, "trials": rows, "best": best}


def finished(sweep: Sweep) -> bool:
    """True once no trial waits or trains."""
    return all(r["status"] not in ("queued", "running", "stopping") for r in trial_rows(sweep))
