"""The per-row viewer of an evaluation: one row at a time — its prompt, the reference, and the
base and tuned answers side by side with each side's metrics. UI state only: the rows come
from tuitune.runs.evals.per_row."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from tuitune.runs.evals import fmt

SHOWN = ("contains", "exact", "rouge_l", "ref_ppl", "choice_acc", "text_ppl")


class EvalRows(Vertical):
    """Row ``index`` of ``rows``; :meth:`move` steps through them."""

    DEFAULT_CSS = """
    EvalRows { height: auto; }
    EvalRows Static { height: auto; }
    EvalRows Horizontal { height: auto; margin-top: 1; }
    EvalRows .answer { width: 1fr; border: round $panel; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows: list[dict[str, Any]] = []
        self.index = 0

    def compose(self) -> ComposeResult:
        yield Static("", id="row-head")
        yield Static("", id="row-prompt")
        yield Static("", id="row-reference")
        with Horizontal():
            yield Static("", id="row-base", classes="answer")
            yield Static("", id="row-tuned", classes="answer")

    def show(self, rows: list[dict[str, Any]]) -> None:
        self.rows, self.index = rows, min(self.index, max(len(rows) - 1, 0))
        self._draw()

    def move(self, by: int) -> None:
        if self.rows:
            self.index = (self.index + by) % len(self.rows)
            self._draw()

    def texts(self) -> str:
        """Everything the viewer shows now, as plain text."""
        return "\n".join(str(self.query_one(f"#{name}", Static).render())
                         for name in ("row-head", "row-prompt", "row-reference", "row-base", "row-tuned"))

    def _draw(self) -> None:
        parts = self._parts()
        for name, value in parts.items():
            self.query_one(f"#{name}", Static).update(value)

    def _parts(self) -> dict[str, Text]:
        if not self.rows:
            empty = Text("no rows were scored (the run has no validation split; `tuitune eval RUN --data FILE`)", style="dim")
            return {"row-head": empty, "row-prompt": Text(), "row-reference": Text(), "row-base": Text(), "row-tuned": Text()}
        row = self.rows[self.index]
        prompt = row.get("text") or "\n".join(f"{m['role']}: {m['content']}" for m in row.get("prompt", [])[-2:])
        reference = row.get("reference")
        if row.get("kind") == "choice":
            reference = f"{row['choices'][row['answer']]}  (of: {', '.join(row['choices'])})"
        out = {
            "row-head": Text.assemble((f"row {self.index + 1} of {len(self.rows)}", "bold"), f"  {row.get('where', '')}",
                                      ("   n/p: next/previous row", "dim")),
            "row-prompt": Text.assemble(("prompt: ", "bold"), prompt),
            "row-reference": Text.assemble(("reference: ", "bold green"), reference) if reference is not None else Text(),
        }
        for side in ("base", "tuned"):
            scored = row.get(side) or {}
            metrics = "  ".join(f"{k} {fmt(scored[k])}" for k in SHOWN if k in scored)
            out[f"row-{side}"] = Text.assemble((f"{side}\n", "bold"), scored.get("answer", "—" if not scored else ""),
                                               ("\n" + metrics, "dim") if metrics else "")
        return out
