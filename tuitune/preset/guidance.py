"""Guided defaults: the hyperparameters a preset leaves out (or sets to "auto"), chosen from the
method, the model's size, the device and the dataset, each with a one-line reason.

The rules and their sources are written down in docs/guidance.md; keep the two in step. Light
core: no torch. The fronts resolve with token counts estimated from characters (``tuitune run
--dry-run``, ``tuitune check``); the worker resolves again with the tokenizer's exact counts and
stores the result in the run (``guidance.json``), which is what actually ran.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from tuitune.preset import cpt_rules, task_rules
from tuitune.preset.data_facts import DataFacts
from tuitune.preset.methods import lora_dropout, usual_learning_rate
from tuitune.preset.preference_guidance import preference_choices, preference_rate
from tuitune.preset.schema import PREFERENCE_STAGES

MIN_STEPS = 30  # fewer optimizer steps rarely move an adapter far enough to show
MAX_EPOCHS = 10
CPU_BUDGET_S = 180  # a CPU run left to tuitune trains for about three minutes
# Seconds per (token x billion parameters) of a LoRA step on 2 CPU cores in fp32, from the demo
# (SmolLM2-135M, batch 4, ~87-token rows: ~2.3 s/step); see docs/guidance.md, "Measurements".
CPU_S_PER_TOKEN_BPARAM = 0.05
TRUNCATION_WARN = 0.05  # warn when more than this share of rows is cut by max_seq_len


@dataclass
class Choice:
    value: Any
    reason: str
    auto: bool  # chosen by tuitune (False: set in the preset)


@dataclass
class Guidance:
    """Resolved values per preset key (``train.learning_rate`` ...), a summary line and warnings."""

    choices: dict[str, Choice]
    summary: str
    total_steps: int
    warnings: list[dict[str, Any]] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)

    def value(self, key: str) -> Any:
        return self.choices[key].value

    def apply(self, preset: Any) -> Any:
        """A copy of the preset with every choice filled in."""
        resolved = preset.model_copy(deep=True)
        for key, choice in self.choices.items():
            section, name = key.split(".")
            setattr(getattr(resolved, section), name, choice.value)
        return resolved

    def lines(self, only_auto: bool = False) -> list[str]:
        out = [self.summary]
        for key, c in self.choices.items():
            if c.auto or not only_auto:
                out.append(f"{key} = {_fmt(c.value)}  ({'auto: ' + c.reason if c.auto else c.reason})")
        return out

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Guidance:
        choices = {k: Choice(**v) for k, v in data["choices"].items()}
        return cls(choices, data["summary"], data["total_steps"], data.get("warnings", []), data.get("facts", {}))


def resolve(preset: Any, data: DataFacts, *, params: int | None, device: str, method: str) -> Guidance:
    """Every guided key of ``preset`` resolved for this data, model size (parameters; None when
    unknown), device (``cpu``/``cuda``) and method (``full``/``lora``/``qlora``)."""
    t, lora, ev = preset.train, preset.lora, preset.eval
    cpt = t.stage == "cpt"  # continued pretraining: its own rules (cpt_rules.py), rows are token windows
    if cpt:
        data = cpt_rules.as_windows(data, t.max_seq_len)
    size = _size_words(params)
    choices: dict[str, Choice] = {}
    warnings: list[dict[str, str]] = []

    def pick(key: str, current: Any, auto_value: Any, reason: str, preset_reason: str = "set in the preset") -> Any:
        if current is None or current == "auto":
            choices[key] = Choice(auto_value, reason, True)
            return auto_value
        choices[key] = Choice(current, preset_reason, False)
        return current

    lr, lr_reason = learning_rate(method, params, t.stage)
    pick("train.learning_rate", t.learning_rate, lr, lr_reason)

    accum, accum_reason = grad_accum(data.train_rows, t.batch_size, device)
    accum = pick("train.grad_accum", t.grad_accum, accum, accum_reason)
    effective = t.batch_size * accum
    per_epoch = max(1, math.ceil(data.train_rows / effective))

    epochs_value, epochs_reason = (cpt_rules.epochs(data.tokens, per_epoch, MIN_STEPS) if cpt
                                   else epochs(data.train_rows, per_epoch, data))
    if t.max_steps:
        chosen_epochs = t.epochs if t.epochs is not None else epochs_value
        choices["train.epochs"] = Choice(chosen_epochs, "not used: train.max_steps is set", t.epochs is None)
        total = t.max_steps
        choices["train.max_steps"] = Choice(total, "set in the preset", False)
    else:
        chosen_epochs = pick("train.epochs", t.epochs, epochs_value, epochs_reason)
        total = max(1, math.ceil(chosen_epochs * per_epoch))
        steps_reason = f"{_fmt(chosen_epochs)} epochs x {per_epoch} steps of {effective} rows"
        if device == "cpu" and t.epochs is None:
            cap, cap_reason = cpu_step_cap(params, effective, data.mean_tokens)
            if cap < total:
                budget = task_rules.cpu_budget_warning(cap, total, cpu_seconds_per_step(params, effective, data.mean_tokens),
                                                       chosen_epochs)
                if budget:
                    warnings.append(budget)
                total, steps_reason = cap, f"{cap_reason}, instead of {total} for {_fmt(chosen_epochs)} epochs"
        choices["train.max_steps"] = Choice(total, steps_reason, True)

    warm, warm_reason = warmup(total)
    pick("train.warmup_ratio", t.warmup_ratio, warm, warm_reason)
    pick("train.lr_scheduler", t.lr_scheduler, "cosine",
         "cosine decay after warmup, the common choice (Alpaca, Zephyr, TRL examples)")

    if method in ("lora", "qlora"):
        rank, rank_reason = (cpt_rules.lora_rank(data.tokens) if cpt
                             else task_rules.knowledge_rank(*lora_rank(data.tokens), data.knowledge_like))
        rank = pick("lora.r", lora.r, rank, rank_reason)
        pick("lora.alpha", lora.alpha, 2 * rank, "2 x r, so the update's scale alpha/r stays 2 as r changes")
        pick("lora.dropout", lora.dropout, *lora_dropout(lora.init))

    choices["data.val_fraction"] = _val_fraction_choice(preset.data.val_fraction, data)
    has_val = data.val_rows > 0
    if ev.early_stopping == "auto":
        stopping, why = task_rules.trust_validation(data.val_rows, ev.patience)
        if not has_val:
            why = f"off: {_why_no_validation(preset.data.val_fraction, data)}"
        choices["eval.early_stopping"] = Choice(stopping, why, True)
    else:
        stopping = ev.early_stopping
        choices["eval.early_stopping"] = Choice(stopping, "set in the preset", False)
        if stopping and 0 < data.val_rows < task_rules.MIN_VAL_ROWS:
            warnings.append(_warn("few_validation", f"eval.early_stopping is on with only {data.val_rows} validation "
                                  "rows: it may stop on noise; raise data.val_fraction or leave early stopping to tuitune"))
    if stopping and not has_val:
        warnings.append(_warn("no_validation", "eval.early_stopping is on but there is no validation split; "
                              "set data.val_fraction (e.g. 0.05) or turn early stopping off"))
        stopping = False
    pick("eval.plateau_stop", ev.plateau_stop, *task_rules.plateau_stop(bool(stopping), total))

    every, every_reason = eval_cadence(total, device) if has_val else (None, "no validation split")
    if has_val and t.save_steps:
        every, every_reason = t.save_steps, "at every checkpoint (train.save_steps)"
    every = pick("train.eval_steps", t.eval_steps, every, every_reason)
    if stopping and every:
        save, save_reason = every, "at every evaluation, so the best checkpoint can be kept"
        if t.save_steps and t.save_steps % every:
            warnings.append(_warn("save_cadence", f"train.save_steps ({t.save_steps}) is not a multiple of "
                                  f"train.eval_steps ({every}); early stopping saves at every evaluation instead"))
            choices["train.save_steps"] = Choice(save, save_reason + " (the preset's value is not a multiple)", True)
        else:
            pick("train.save_steps", t.save_steps, save, save_reason)
    else:
        pick("train.save_steps", t.save_steps, max(1, math.ceil(total / 5)), "five resumable checkpoints per run")

    default_probes = 2 if device == "cpu" else 4
    probe_pool = data.val_rows or data.train_rows
    count = min(default_probes, probe_pool) if not ev.probes else len(ev.probes)
    probe_reason = (f"{count} prompts from the {'validation' if data.val_rows else 'training'} split, answered at "
                    f"each evaluation{' (few: generation is slow on the CPU)' if device == 'cpu' else ''}")
    if ev.probes:
        probe_reason = "the preset's eval.probes"
    pick("eval.probe_count", ev.probe_count if not ev.probes else len(ev.probes), count, probe_reason)

    if t.stage == "dpo":
        beta, beta_reason = dpo_beta(data.train_rows, method)
        pick("dpo.beta", preset.dpo.beta, beta, beta_reason)
    elif t.stage in PREFERENCE_STAGES:
        preference_choices(preset, data, pick)

    warnings += data_warnings(data, t, total, chosen_epochs, effective)
    if t.learning_rate is not None:
        warnings += lr_warnings(t.learning_rate, lr, method)

    lr_value = choices["train.learning_rate"].value
    rank_text = f"LoRA r{choices['lora.r'].value} at {_fmt(lr_value)}" if "lora.r" in choices else f"lr {_fmt(lr_value)}"
    tokens = f"{'~' if data.estimated else ''}{_count(data.tokens)} tokens"
    full = math.ceil(chosen_epochs * per_epoch)
    shape = (f"{total} steps" if t.max_steps else f"{_fmt(chosen_epochs)} epochs ({total} steps)" if total >= full
             else f"{_fmt(chosen_epochs)} epochs capped to {total} steps on the CPU")
    rows = "windows" if cpt else "examples"
    notes = "".join(f"; {n}" for n in task_rules.summary_notes(data))
    summary = f"{data.train_rows} {rows}, {tokens}{notes}: {shape}; {rank_text} — the usual range for a {size}"
    facts = asdict(data) | {"params": params, "device": device, "method": method}
    return Guidance(choices, summary, total, warnings, facts)



def _val_fraction_choice(value: float | None, data: DataFacts) -> Choice:
    from tuitune.data.split import val_fraction_for

    fraction, why = val_fraction_for(value, data.train_rows + data.val_rows, data.knowledge_like)
    if data.knowledge_like and fraction > 0:
        why += "; split by answer, so all phrasings of a fact stay on one side"
    return Choice(fraction, why, value is None)


def _why_no_validation(val_fraction: float | None, data: DataFacts) -> str:
    from tuitune.data.split import MIN_ROWS_FOR_VAL, val_fraction_for

    rows = data.train_rows + data.val_rows
    if val_fraction is None:
        return "no validation split: data.val_fraction = auto holds " + val_fraction_for("auto", rows, data.knowledge_like)[1]
    if val_fraction <= 0:
        return "no validation split (data.val_fraction = 0)"
    return (f"no validation split: {rows} rows are too few to hold any out (a split needs {MIN_ROWS_FOR_VAL}; "
            f"data.val_fraction = {val_fraction:g} applies from there)")

# --- the rules, one function each (docs/guidance.md gives the sources) ---------------------------

def learning_rate(method: str, params: int | None, stage: str = "sft") -> tuple[float, str]:
    b = (params or 7e9) / 1e9
    other = preference_rate(stage, method)  # kto, orpo, simpo
    if other is not None:
        return other
    special = usual_learning_rate(method)  # IA3, prompt and prefix tuning (preset/methods.py)
    if special and stage == "sft":
        return special
    if method == "freeze":
        method = "full"  # its trained layers are trained in full
    if stage == "cpt":
        return cpt_rules.learning_rate(method, params)
    if stage == "dpo":
        if method == "full":
            return 5e-7, "DPO, full fine-tuning: 5e-7 (Zephyr's recipe); DPO moves far with tiny rates"
        return 5e-6, "DPO with an adapter: 5e-6, ten times the full-model rate as adapters need (TRL's LoRA DPO examples)"
    if method == "full":
        if b < 1:
            return 5e-5, f"full fine-tuning of a {_size_words(params)}: 5e-5 (small models take larger rates)"
        if b < 20:
            return 2e-5, f"full fine-tuning of a {_size_words(params)}: 2e-5 (Alpaca, Vicuna)"
        return 1e-5, f"full fine-tuning of a {_size_words(params)}: 1e-5 (Alpaca's 13B/65B runs)"
    if b < 1:
        return 5e-4, f"LoRA on a {_size_words(params)}: 5e-4 (LoRA paper's small models; measured on SmolLM2-135M)"
    if b < 20:
        return 2e-4, f"LoRA on a {_size_words(params)}: 2e-4 (QLoRA paper, 7B-13B)"
    return 1e-4, f"LoRA on a {_size_words(params)}: 1e-4 (QLoRA paper, 33B-65B)"


def grad_accum(train_rows: int, batch_size: int, device: str) -> tuple[int, str]:
    if device == "cpu":
        return 1, f"1 on the CPU: with a fixed time budget, more smaller steps teach more (batch {batch_size})"
    target = 8 if train_rows < 1000 else 16 if train_rows < 10_000 else 32
    accum = max(1, round(target / batch_size))
    return accum, f"effective batch {batch_size * accum} for {train_rows} examples (8 under 1k, 16 under 10k, else 32)"


def epochs(train_rows: int, steps_per_epoch: int, data: DataFacts | None = None) -> tuple[float, str]:
    value, why = _size_epochs(train_rows)
    if data is not None:
        value, why = task_rules.repeat_epochs(value, why, data.repeat_factor, data.repeats_dropped)
        value, why = task_rules.knowledge_epochs(value, why, data.knowledge_like, data.facts)
    if value * steps_per_epoch < MIN_STEPS:
        raised = float(min(MAX_EPOCHS, math.ceil(MIN_STEPS / steps_per_epoch)))
        if raised > value:
            value = raised
            why = (f"only {train_rows} examples: {raised:g} epochs so training gets ~{MIN_STEPS} steps "
                   "(early stopping guards against overfitting)")
    return value, why


def _size_epochs(train_rows: int) -> tuple[float, str]:
    if train_rows < 1000:
        value, why = 3.0, f"{train_rows} examples: 3 epochs, the usual count for small sets"
    elif train_rows < 10_000:
        value, why = 2.0, f"{train_rows} examples: 2 epochs"
    else:
        value, why = 1.0, f"{train_rows} examples: 1 epoch is enough for a set this size"
    return value, why


def cpu_seconds_per_step(params: int | None, effective_batch: int, mean_tokens: float) -> float:
    b = (params or 7e9) / 1e9
    return max(0.05, CPU_S_PER_TOKEN_BPARAM * b * effective_batch * max(mean_tokens, 16))


def cpu_step_cap(params: int | None, effective_batch: int, mean_tokens: float) -> tuple[int, str]:
    per_step = cpu_seconds_per_step(params, effective_batch, mean_tokens)
    cap = max(10, int(CPU_BUDGET_S / per_step))
    return cap, f"{cap} steps: ~{CPU_BUDGET_S // 60} min on the CPU at ~{per_step:.1f} s/step (estimated)"


def warmup(total_steps: int) -> tuple[float, str]:
    if total_steps * 0.03 >= 5:
        return 0.03, "3% of the steps (QLoRA, Alpaca)"
    ratio = round(min(0.1, 5 / max(total_steps, 1)), 3)
    return ratio, f"{ratio:.0%} of {total_steps} steps: a few steps of warmup even on a short run"


def lora_rank(tokens: int) -> tuple[int, str]:
    if tokens < 1_000_000:
        return 16, f"{_count(tokens)} tokens: r16 has room for a style or a format (LoRA paper: small r suffices)"
    if tokens < 20_000_000:
        return 32, f"{_count(tokens)} tokens: r32 for more to learn"
    return 64, f"{_count(tokens)} tokens: r64, as the QLoRA paper used for large instruction sets"


def eval_cadence(total_steps: int, device: str) -> tuple[int, str]:
    n = 5 if device == "cpu" else 10
    every = max(1, math.ceil(total_steps / n))
    return every, f"every {every} steps: ~{n} evaluations over {total_steps} steps"


def dpo_beta(pairs: int, method: str) -> tuple[float, str]:
    """DPO's beta, for ``[dpo] beta`` left out."""
    if pairs < 1000:
        return 0.1, (f"{pairs} pairs: 0.1, the DPO paper's and TRL's default; a small set gets no "
                     "looser leash from the reference model")
    return 0.1, (f"{pairs} pairs: 0.1 (DPO paper, TRL default); try 0.01-0.05 to move further from the "
                 f"base, 0.2-0.5 to stay closer")


def data_warnings(data: DataFacts, t: Any, total: int, chosen_epochs: float, effective: int) -> list[dict[str, str]]:
    out = []
    if data.train_rows < 20:
        out.append(_warn("too_few_examples", f"only {data.train_rows} training examples: a model learns little "
                         "from so few; add more (a hundred or more shows a style clearly)"))
    elif t.epochs is not None and not t.max_steps and t.epochs > 5 and data.train_rows < 1000:
        out.append(_warn("too_few_examples", f"{_fmt(t.epochs)} epochs over {data.train_rows} examples repeats each "
                         "one so often the model will memorise them; use 2-3 epochs or leave train.epochs out"))
    if t.max_steps and data.train_rows and t.max_steps * effective / data.train_rows > MAX_EPOCHS:
        out.append(_warn("too_few_examples", f"train.max_steps = {t.max_steps} is "
                         f"{t.max_steps * effective / data.train_rows:.0f} passes over {data.train_rows} examples; "
                         "expect overfitting: lower max_steps or add data"))
    if data.truncated_fraction > TRUNCATION_WARN:
        out.append(_warn("truncated", f"{data.truncated_fraction:.0%} of the rows are longer than train.max_seq_len "
                         f"({t.max_seq_len}) and will be cut; raise max_seq_len to {data.p99_tokens} (the 99th "
                         "percentile) or leave long rows out with data.max_tokens"))
    return out


def lr_warnings(chosen: float, usual: float, method: str) -> list[dict[str, str]]:
    if chosen > 10 * usual:
        return [_warn("lr_high", f"train.learning_rate {chosen:g} is over ten times the usual {usual:g} for "
                      f"{method}: the loss may explode; leave it out to let tuitune choose")]
    if chosen < usual / 20:
        return [_warn("lr_low", f"train.learning_rate {chosen:g} is far below the usual {usual:g} for {method}: "
                      "the loss may barely move")]
    return []


def _warn(code: str, message: str) -> dict[str, str]:
    return {"code": code, "message": message}


def _size_words(params: int | None) -> str:
    if not params:
        return "model of unknown size (rules for ~7B)"
    b = params / 1e9
    return f"{params / 1e6:.0f}M model" if b < 1 else f"{b:.1f}B model".replace(".0B", "B")


def _count(n: int) -> str:
    return f"{n / 1e6:.1f}M" if n >= 1e6 else f"{n / 1e3:.0f}k" if n >= 1e4 else f"{n / 1e3:.1f}k" if n >= 1e3 else str(n)


def _fmt(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)
