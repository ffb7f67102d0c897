"""The per-row viewer of an evaluation: one row at a time — its prompt, the reference, and the
base and tuned answers side by side with each side's metrics. UI state only: the rows come
from tuitune.runs.evals.per_row."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from tuitune.runs.evals import fmt

SHOWN = ("contains", "exact", "rouge_l", "ref_ppl", "choice_acc", "text_ppl")


class EvalRows(Static):
    """Row ``index`` of ``rows``; :meth:`move` steps through them."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.rows: list[dict[str, Any]] = []
        self.index = 0

    def show(self, rows: list[dict[str, Any]]) -> None:
        self.rows, self.index = rows, min(self.index, max(len(rows) - 1, 0))
        self.update(self._render())

    def move(self, by: int) -> None:
        if self.rows:
            self.index = (self.index + by) % len(self.rows)
            self.update(self._render())

    def _render(self) -> Any:
        if not self.rows:
            return Text("no rows were scored (the run has no validation split; `tuitune eval RUN --data FILE`)", style="dim")
        row = self.rows[self.index]
        head = Text.assemble((f"row {self.index + 1} of {len(self.rows)}", "bold"), f"  {row.get('where', '')}",
                             ("   n/p: next/previous row", "dim"))
        prompt = row.get("text") or "\n".join(f"{m['role']}: {m['content']}" for m in row.get("prompt", [])[-2:])
        reference = row.get("reference")
        if row.get("kind") == "choice":
            reference = f"{row['choices'][row['answer']]}  (of: {', '.join(row['choices'])})"
        table = Table(expand=True, show_lines=True)
        table.add_column("base", ratio=1)
        table.add_column("tuned", ratio=1)
        sides = [row.get("base") or {}, row.get("tuned") or {}]
        table.add_row(*(Text(s.get("answer", "—" if not s else "")) for s in sides))
        table.add_row(*(Text("  ".join(f"{k} {fmt(s[k])}" for k in SHOWN if k in s), style="dim") for s in sides))
        parts: list[Any] = [head, Text.assemble(("prompt: ", "bold"), prompt)]
        if reference is not None:
            parts.append(Text.assemble(("reference: ", "bold green"), reference))
        parts.append(table)
        return Group(*parts)
