"""What a person reads about a run's events, in the same words on both fronts: the TUI's
event log and run numbers, and ``tuitune run``'s lines and progress bar. UI-free: the fronts
add only layout (a timestamp, a column) and styling (by :func:`level`).

- :func:`describe`: the text of one event (a first line, then indented detail lines), or None
  for events that are numbers rather than news (steps, memory readings between steps);
- :func:`level`: how loud the event is, for the fronts' colours;
- :func:`step_numbers` and :func:`dpo_numbers`: a step's figures as labelled strings;
- :func:`format_duration`: ``5s``, ``1m15s``, ``1h02m``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from tuitune.runs.series import value_of

Level = Literal["error", "warning", "quiet", "info"]
MISSING = "–"  # a figure the step does not have (yet)

# Stream bookkeeping every event carries: not worth showing for an event this version does not know.
_ENVELOPE = ("v", "seq", "ts", "type")


def describe(event: dict[str, Any]) -> str | None:
    """The text of an event: one line, or a first line and detail lines indented by two
    spaces (the guided choices, the probe answers). None for events no log shows."""
    kind = str(event.get("type"))
    return _TEXT.get(kind, _other)(event)


def level(event: dict[str, Any]) -> Level:
    """``error`` (the run failed or ran out of memory), ``warning`` (also the coach's advice and
    an out-of-memory retry), ``quiet`` (details: probe answers) or ``info``."""
    kind = event.get("type")
    if kind in ("error", "oom"):
        return "error"
    if kind in ("warning", "retry") or (kind == "status" and event.get("status") == "stopping"):
        return "warning"
    if kind in ("probe", "speed", "memory", "offload"):
        return "quiet"
    return "info"


def step_numbers(e: dict[str, Any]) -> dict[str, str]:
    """The latest step's numbers as display strings, keyed by label (missing ones are '–')."""
    def fmt(key: str, spec: str) -> str:
        value = e.get(key)
        return MISSING if value is None else format(value, spec)

    total = e.get("total_steps")
    return {
        "step": f"{e.get('step', 0)}/{total}" if total else str(e.get("step", 0)),
        "epoch": fmt("epoch", ".2f"),
        "loss": fmt("loss", ".4f"),
        "lr": fmt("lr", ".2e"),
        "tokens/s": fmt("tokens_per_s", ".0f"),
        "ETA": MISSING if e.get("eta_s") is None else format_duration(e["eta_s"]),
    }


def rank_numbers(e: dict[str, Any]) -> dict[str, str]:
    """A run on several processes: how many, and each GPU's reserved memory (rank 0 first), as
    the step event carries them (train/callbacks.py); nothing for a run on one process."""
    ranks = e.get("world_size")
    if not isinstance(ranks, int) or ranks < 2:
        return {}
    out = {"ranks": str(ranks)}
    memory = e.get("vram_per_rank")
    if isinstance(memory, list) and memory:
        out["GiB/rank"] = " · ".join(f"{m.get('reserved', 0) / 2**30:.1f}" for m in memory)
    return out


def dpo_numbers(e: dict[str, Any]) -> dict[str, str]:
    """DPO's live signal, when a step or evaluation has it: how far chosen answers out-score
    rejected ones (signed: below zero the model prefers the rejected answers), and how often."""
    out = {}
    margin, accuracy = value_of(e, "margin", as_type="step"), value_of(e, "reward acc", as_type="step")
    if margin is not None:
        out["margin"] = f"{margin:+.3f}"
    if accuracy is not None:
        out["reward acc"] = f"{accuracy:.0%}"
    return out


def format_duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


def _labelled(numbers: dict[str, str]) -> str:
    return "  ".join(f"{label} {value}" for label, value in numbers.items())


def _status(e: dict[str, Any]) -> str:
    status = e.get("status")
    if status == "loading_model":
        return (f"loading {e.get('model')} on {e.get('device')} ({e.get('precision')}), "
                f"method {e.get('method')}: {e.get('method_reason')}")
    if status == "training":
        return f"training: step {e.get('step', 0)} of {e.get('total_steps')}"
    if status == "resuming":
        return f"resuming from {e.get('checkpoint')} (step {e.get('step')})"
    if status == "exporting":
        return f"exporting GGUF: {', '.join(e.get('quants') or [])}"
    if status == "stopping":
        return "stopping after this step; saving a checkpoint"
    return f"status: {status}"


def _speed(e: dict[str, Any]) -> str:
    batches = ("packed" if e.get("packing") else "padding-free" if e.get("padding_free")
               else "padded, grouped by length" if e.get("group_by_length") else "padded")
    reasons = e.get("reasons") or {}
    why = reasons.get("liger")
    text = (f"speed: attention {e.get('attention')}, batches {batches}, Liger {'on' if e.get('liger') else 'off'}"
            + (f" ({why})" if why else ""))
    if "activation_offloading" in e:  # workers before it did not report the switch
        why = reasons.get("activation_offloading")
        text += (f", activation offloading {'on' if e['activation_offloading'] else 'off'}" + (f" ({why})" if why else ""))
    return text


def _offload(e: dict[str, Any]) -> str:
    return (f"activation offloading: at most {e.get('peak_bytes', 0) / 2**20:.1f} MiB of saved activations "
            "went through the offload hooks at once")


def _eval(e: dict[str, Any]) -> str:
    extra = _labelled(dpo_numbers(e))
    ppl = f", perplexity {e['perplexity']:.4g}" if isinstance(e.get("perplexity"), (int, float)) else ""
    return f"step {e.get('step')}: validation loss {e.get('loss', float('nan')):.4f}{ppl}" + (f"  {extra}" if extra else "")


def _guidance(e: dict[str, Any]) -> str:
    lines = [f"guided: {e.get('summary')}"]
    for key, c in (e.get("choices") or {}).items():
        if isinstance(c, dict) and c.get("auto"):
            lines.append(f"  {key} = {c.get('value')}  ({c.get('reason')})")
    return "\n".join(lines)


def _probe(e: dict[str, Any]) -> str:
    head = f"probe answers ({e.get('label')}, step {e.get('step')}):"
    return "\n".join([head, *(f"  {a.get('prompt')!r} → {a.get('answer')!r}" for a in e.get("answers") or [])])


def _memory(e: dict[str, Any]) -> str:
    parts = []
    if e.get("cuda_max_allocated_bytes") is not None:
        parts.append(f"{e['cuda_max_allocated_bytes'] / 2**30:.2f} GiB allocated on the GPU")
    if e.get("cuda_max_reserved_bytes") is not None:
        parts.append(f"{e['cuda_max_reserved_bytes'] / 2**30:.2f} GiB reserved")
    if e.get("max_rss_bytes") is not None:
        parts.append(f"{e['max_rss_bytes'] / 2**30:.2f} GiB resident in RAM")
    return "peak memory: " + (", ".join(parts) or "not measured")


def _export(e: dict[str, Any]) -> str:
    state = e.get("state")
    if state == "started":
        return f"export: {e.get('stage')} …"
    if state == "reused":
        return f"export: {e.get('stage')} not needed: {e.get('why')}"
    return f"export: {e.get('stage')} done ({e.get('seconds', 0):.1f} s)"


def _finished(e: dict[str, Any]) -> str:
    stage = "export" if e.get("stage") == "export" else "run"
    extra = f" (export {e['export']})" if "export" in e else ""
    report = f"; report: {e['report']}" if e.get("report") else ""
    return f"{stage} finished: {e.get('status')}{extra}{report}"


def _evaluation(e: dict[str, Any]) -> str:
    if e.get("status") != "done":
        return f"evaluation {e.get('status')}: {e.get('message')}; `tuitune eval RUN` runs it without a time limit"
    general = e.get("general") or {}
    parts = []
    if e.get("base") and e.get("tuned"):
        for name in ("contains", "rouge_l", "ref_ppl", "choice_acc"):
            if name in e["base"] and name in e["tuned"]:
                parts.append(f"{name} {e['base'][name]:.3f} → {e['tuned'][name]:.3f}")
    score_b, score_t = (general.get("base") or {}).get("score"), (general.get("tuned") or {}).get("score")
    if score_b is not None and score_t is not None:
        parts.append(f"general {score_b:.3f} → {score_t:.3f}")
    return f"evaluation, base → tuned: {', '.join(parts) or 'no scores'}; {e.get('path')}"


def _other(e: dict[str, Any]) -> str:
    """An event this version does not know (a newer worker's): shown whole, never dropped, its
    sizes and durations in people's units (``max_rss_bytes=2587414528`` is "max rss 2.41 GiB")."""
    return f"{e.get('type')}: " + ", ".join(_field_words(k, v) for k, v in e.items() if k not in _ENVELOPE)


def _field_words(key: str, value: Any) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if key.endswith("_bytes"):
            return f"{key.removesuffix('_bytes').replace('_', ' ')} {format_size(value)}"
        if key.endswith("_s") or key.endswith("_seconds"):
            return f"{key.rsplit('_', 1)[0].replace('_', ' ')} {format_duration(value)}"
    return f"{key.replace('_', ' ')} {value}"


def format_size(n: float) -> str:
    """Bytes as a person reads them: 2.41 GiB, 512.0 MiB, 12.0 KiB."""
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(n) >= size:
            return f"{n / size:.2f} {unit}" if unit == "GiB" else f"{n / size:.1f} {unit}"
    return f"{n:.0f} bytes"


_TEXT: dict[str, Callable[[dict[str, Any]], str | None]] = {
    "started": lambda e: f"worker started (pid {e.get('pid')}, attempt {e.get('attempt')})",
    "data": lambda e: (f"data: {e.get('path')} ({e.get('format')}): {e.get('train_rows')} train / "
                       f"{e.get('val_rows')} validation rows"),
    "status": _status,
    "speed": _speed,
    "step": lambda e: None,  # numbers: the progress bar, the run view's figures and charts
    "vram": lambda e: None,  # a memory reading between steps: the memory chart
    "power": lambda e: None,  # an NVML sample: the run view's power and temperature figures
    "energy": lambda e: f"energy: {e.get('message')}",
    "pruned": lambda e: str(e.get("message")),
    "extend": lambda e: (f"extending: steps {e.get('from_step')} → {e.get('to_step')} (+{e.get('added')}), "
                         f"a fresh schedule with {e.get('warmup_steps')} warmup steps"),
    "memory": _memory,
    "offload": _offload,
    "eval": _eval,
    "checkpoint": lambda e: f"step {e.get('step')}: checkpoint saved",
    "saved": lambda e: f"{e.get('kind')} written to {e.get('path')}" + (
        f" ({e['weights']['text']})" if isinstance(e.get("weights"), dict) else ""),
    "note": lambda e: str(e.get("message")),
    "guidance": _guidance,
    "probe": _probe,
    "samples": lambda e: f"base and tuned answers side by side: {e.get('path')}",
    "export": lambda e: _export(e),
    "verify": lambda e: f"export: verify {e.get('index')}/{e.get('total')}: {e.get('check')} …",
    "warning": lambda e: f"{'coach' if e.get('source') == 'coach' else 'warning'}: {e.get('message')}",
    "error": lambda e: f"ERROR: {e.get('message')}",
    "finished": _finished,
    "evaluation": _evaluation,
    "oom": lambda e: (f"OUT OF MEMORY at step {e.get('step')} (batch {e.get('batch_size')} x {e.get('grad_accum')}); "
                      "lower: " + "; ".join(e.get("advice") or [])),
    "retry": lambda e: (f"retry {e.get('attempt')}/{e.get('of')} after {e.get('reason')}: batch {e.get('batch_size')} "
                        f"x grad_accum {e.get('grad_accum')} (effective {e.get('effective_batch')}), from "
                        + (str(e["resume_from"]) if e.get("resume_from") else "the start (no checkpoint yet)")),
}
