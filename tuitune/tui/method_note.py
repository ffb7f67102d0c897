"""The new-run form's note under the method fields: what the chosen `train.method` trains, the
learning rate the run will use and why, and whether it exports a GGUF (tuitune.preset.methods)."""

from __future__ import annotations

from typing import Any

from rich.text import Text

from tuitune.preset.methods import export_refusal, summary


def method_note(preset: Any, guidance: Any | None) -> Text:
    method = preset.train.method
    note = Text.assemble((f"{method}: ", "bold"), summary(method))
    choice = guidance.choices.get("train.learning_rate") if guidance is not None else None
    if choice is not None:
        note.append(f"\nlearning rate {choice.value:g}: {choice.reason}", style="dim")
    if export_refusal(method, "RUN"):
        note.append("\nno GGUF export for this method (tuitune export refuses; [export] gguf is skipped)",
                    style="yellow")
    return note
