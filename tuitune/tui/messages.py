"""Messages that thread workers post to screens (workers never touch widgets).

High-frequency ones override ``can_replace`` so that a fast producer cannot flood the queue:
a newer :class:`StepLogged` supersedes an older one still waiting (the chart gets every point
through :class:`LossPointsRead`, which carries a whole batch and is posted once per poll).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.message import Message

if TYPE_CHECKING:
    from tuitune.chat.controller import ChatControl
    from tuitune.runs.series import Point
    from tuitune.runs.store import RunState
    from tuitune.tui.run_compare import RunCurves
    from tuitune.tui.run_rows import RunRow
    from tuitune.tui.wizard import MemoryView


class StepLogged(Message):
    """The latest training step of the run being watched."""

    def __init__(self, event: dict[str, Any]) -> None:
        super().__init__()
        self.event = event

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, StepLogged)


class LossPointsRead(Message):
    """New (step, loss) points: training steps and evaluations, read in one poll."""

    def __init__(self, train: list[Point], eval: list[Point]) -> None:
        super().__init__()
        self.train = train
        self.eval = eval


class SeriesPointsRead(Message):
    """New points for the small charts (learning rate, VRAM in GiB, DPO rewards), by series."""

    def __init__(self, points: dict[str, list[Point]]) -> None:
        super().__init__()
        self.points = points


class RunEventsRead(Message):
    """New events other than steps, in order."""

    def __init__(self, events: list[dict[str, Any]]) -> None:
        super().__init__()
        self.events = events


class RunStateRead(Message):
    """The run's state.json changed; ``status`` is ``RunDir.status()`` (it knows ``crashed``)."""

    def __init__(self, state: RunState, status: str) -> None:
        super().__init__()
        self.state = state
        self.status = status

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, RunStateRead)


class WorkerLogRead(Message):
    """The last lines of worker.log (it grew)."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__()
        self.lines = lines

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, WorkerLogRead)


class RunsListed(Message):
    """Fresh rows for a runs table, newest first."""

    def __init__(self, rows: list[RunRow]) -> None:
        super().__init__()
        self.rows = rows

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, RunsListed)


class DoctorRead(Message):
    """The doctor's checks (tuitune.doctor.report.Check), quick or full."""

    def __init__(self, checks: list) -> None:
        super().__init__()
        self.checks = checks


class HardwareRead(Message):
    """The hardware summary, one line per item."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__()
        self.lines = lines


class RunLaunched(Message):
    """A worker was started for a new run; ``warnings`` are the launch's, to show."""

    def __init__(self, run_id: str, warnings: list[str] | None = None) -> None:
        super().__init__()
        self.run_id = run_id
        self.warnings = list(warnings or [])


class ActionFailed(Message):
    """A user error from a thread worker, to show as a notification."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text


class ChatOpened(Message):
    """The chat's model(s) loaded (``chat``), or could not be (``error`` says why)."""

    def __init__(self, chat: ChatControl | None, error: str) -> None:
        super().__init__()
        self.chat = chat
        self.error = error


class ChatPieces(Message):
    """More text of the answer on ``side`` (0: the only or the A pane, 1: B). Never replaced:
    every piece counts."""

    def __init__(self, side: int, text: str) -> None:
        super().__init__()
        self.side = side
        self.text = text


class ChatReplyDone(Message):
    """The answer on ``side`` is complete; ``note`` is anything to tell (a trimmed context)."""

    def __init__(self, side: int, note: str) -> None:
        super().__init__()
        self.side = side
        self.note = note


class CompareRead(Message):
    """Both runs' loss curves and the rows of what differs, read again."""

    def __init__(self, curves: list[RunCurves], rows: list[tuple[str, str, str]]) -> None:
        super().__init__()
        self.curves = curves
        self.rows = rows

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, CompareRead)


class ModelsFound(Message):
    """(label, model reference) of the models on this machine, for the new-run form."""

    def __init__(self, choices: list[tuple[str, str]]) -> None:
        super().__init__()
        self.choices = choices


class DataFilesFound(Message):
    """(label, data reference) of the data files near the user, for the new-run form."""

    def __init__(self, choices: list[tuple[str, str]]) -> None:
        super().__init__()
        self.choices = choices


class MemoryPlanned(Message):
    """The planner's estimate of the form's preset (a newer one supersedes a waiting one)."""

    def __init__(self, view: MemoryView) -> None:
        super().__init__()
        self.view = view

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, MemoryPlanned)


class DataMeasured(Message):
    """The data step tokenized the cleaned data: its token statistics, for the memory planner."""

    def __init__(self, preset: Any, tokens: dict[str, Any]) -> None:
        super().__init__()
        self.preset = preset
        self.tokens = tokens


class DataInspected(Message):
    """What the data step found in the form's data file (``ok`` False: why it cannot be used);
    ``details``: the tokenizer's part (cleaning report, token histogram, loss-mask preview)."""

    def __init__(self, lines: list[str], ok: bool, details: bool = False) -> None:
        super().__init__()
        self.lines = lines
        self.ok = ok
        self.details = details
