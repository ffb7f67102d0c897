"""Headless display of a run's events: a rich progress bar with loss, learning rate, tokens/s and
ETA, and one line per notable event. ``--json`` prints the raw events instead."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


def print_json_events(events: Iterable[dict[str, Any]]) -> dict[str, Any] | None:
    last = None
    for event in events:
        sys.stdout.write(json.dumps(event) + "\n")
        sys.stdout.flush()
        last = event
    return last


class RunDisplay:
    """Renders events as they come; ``show`` returns the final status seen (or None)."""

    def __init__(self, console: Console | None = None):
        self.console = console or Console(stderr=False, highlight=False)
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[metrics]}"),
            TimeElapsedColumn(),
            console=self.console,
            transient=False,
        )
        self.task = self.progress.add_task("starting", total=None, metrics="")
        self.final_status: str | None = None
        self.last_loss: float | None = None
        self.first_loss: float | None = None

    def __enter__(self) -> RunDisplay:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def note(self, text: str) -> None:
        self.progress.console.print(text)

    def handle(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        handler = getattr(self, f"_on_{kind}", None)
        if handler is not None:
            handler(event)

    def _on_started(self, e: dict[str, Any]) -> None:
        self.note(f"worker started (pid {e.get('pid')}, attempt {e.get('attempt')})")

    def _on_data(self, e: dict[str, Any]) -> None:
        self.note(f"data: {e['path']} ({e['format']}): {e['train_rows']} train / {e['val_rows']} validation rows")

    def _on_status(self, e: dict[str, Any]) -> None:
        status = e.get("status")
        if status == "loading_model":
            self.note(
                f"model: {e['model']} on {e['device']} ({e['precision']}), method {e['method']}"
                f" — {e['method_reason']}"
            )
            self.progress.update(self.task, description="loading model")
        elif status == "training":
            self.progress.update(self.task, description="training", total=e.get("total_steps"), completed=e.get("step", 0))
        elif status == "resuming":
            self.note(f"resuming from {e['checkpoint']} (step {e['step']})")
        elif status == "stopping":
            self.note("[yellow]stopping after this step; a checkpoint is being saved…")
            self.progress.update(self.task, description="stopping")

    def _on_speed(self, e: dict[str, Any]) -> None:
        batches = "packed" if e.get("packing") else "padding-free" if e.get("padding_free") else (
            "padded, grouped by length" if e.get("group_by_length") else "padded")
        self.note(f"speed: attention {e.get('attention')}, batches {batches}, "
                  f"Liger {'on' if e.get('liger') else 'off'} ({e.get('reasons', {}).get('liger', '')})")

    def _on_step(self, e: dict[str, Any]) -> None:
        loss = e.get("loss")
        if loss is not None:
            self.first_loss = loss if self.first_loss is None else self.first_loss
            self.last_loss = loss
        parts = [f"loss {loss:.4f}" if loss is not None else ""]
        parts += _preference(e)
        if "lr" in e:
            parts.append(f"lr {e['lr']:.2e}")
        if "tokens_per_s" in e:
            parts.append(f"{e['tokens_per_s']:.0f} tok/s")
        if "eta_s" in e:
            parts.append(f"ETA {_duration(e['eta_s'])}")
        self.progress.update(
            self.task, completed=e["step"], total=e.get("total_steps"), metrics="  ".join(p for p in parts if p)
        )

    def _on_eval(self, e: dict[str, Any]) -> None:
        extra = "  ".join(_preference(e))
        self.note(f"step {e['step']}: validation loss {e.get('loss', float('nan')):.4f}" + (f"  {extra}" if extra else ""))

    def _on_checkpoint(self, e: dict[str, Any]) -> None:
        self.note(f"step {e['step']}: checkpoint saved")

    def _on_saved(self, e: dict[str, Any]) -> None:
        weights = e.get("weights")
        self.note(f"{e['kind']} written to {e['path']}" + (f" — {weights['text']}" if weights else ""))

    def _on_note(self, e: dict[str, Any]) -> None:
        self.note(str(e.get("message")))

    def _on_guidance(self, e: dict[str, Any]) -> None:
        self.note(f"guided: {e['summary']}")
        for key, c in e.get("choices", {}).items():
            if c.get("auto"):
                self.note(f"  {key} = {c['value']}  ({c['reason']})")

    def _on_probe(self, e: dict[str, Any]) -> None:
        for a in e.get("answers", []):
            self.note(f"[dim]probe ({e['label']}, step {e['step']}): {a['prompt']!r} → {a['answer']!r}")

    def _on_export(self, e: dict[str, Any]) -> None:
        if e.get("state") == "started":
            self.progress.update(self.task, description=f"export: {e['stage']}")
        else:
            self.note(f"export: {e['stage']} ({e.get('seconds', 0):.1f} s)")

    def _on_warning(self, e: dict[str, Any]) -> None:
        who = "coach" if e.get("source") == "coach" else "warning"
        self.note(f"[yellow]{who}: {e.get('message')}")

    def _on_error(self, e: dict[str, Any]) -> None:
        self.note(f"[red bold]error:[/] {e.get('message')}")

    def _on_oom(self, e: dict[str, Any]) -> None:
        self.note(f"[red bold]out of memory[/] at step {e.get('step')} (batch {e.get('batch_size')} x "
                  f"{e.get('grad_accum')}). Lower: " + "; ".join(e.get("advice", [])))

    def _on_retry(self, e: dict[str, Any]) -> None:
        start = f"from {e['resume_from']}" if e.get("resume_from") else "from the start (no checkpoint yet)"
        self.note(f"[yellow]retry {e.get('attempt')}/{e.get('of')}: batch {e.get('batch_size')} x grad_accum "
                  f"{e.get('grad_accum')} (effective {e.get('effective_batch')}), {start}")

    def _on_finished(self, e: dict[str, Any]) -> None:
        if "export" in e:
            self.note(f"export {e['export']}")
        self.final_status = e.get("status")
        self.progress.update(self.task, description=str(self.final_status))


def _preference(e: dict[str, Any]) -> list[str]:
    """DPO's live signal: how far chosen answers out-score rejected ones, and how often they do."""
    parts = []
    if "reward_margin" in e:
        parts.append(f"margin {e['reward_margin']:+.3f}")
    if "reward_accuracy" in e:
        parts.append(f"acc {e['reward_accuracy']:.0%}")
    return parts


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s"
