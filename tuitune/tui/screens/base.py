"""The base of tuitune's screens: a Textual ``Screen`` whose ``app`` is typed as tuitune's app,
and what a screen of one run does when that run is deleted under it.

Screens call the app's own actions (``open_run``, ``open_chat``, ``processes``...), which
Textual's ``Widget.app`` (a plain ``App``) does not know. ``textual.getters.app`` is Textual's
way to narrow it; declared for the type checker only, because the app module imports the screens.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on
from textual.events import ScreenResume
from textual.message import Message
from textual.screen import Screen

if TYPE_CHECKING:
    from textual import getters

    from tuitune.tui.app import TuituneApp


class RunGone(Message):
    """The folder of the run a screen shows is gone (deleted from another screen, or by hand)."""


class AppScreen(Screen[None]):
    if TYPE_CHECKING:
        app = getters.app(TuituneApp)

    gone = False
    """The run this screen shows was deleted: it closes when it is (or next becomes) the one shown."""

    @on(RunGone)
    def _run_gone(self, message: RunGone) -> None:
        if self.gone:
            return
        self.gone = True
        self.notify(f"{self.sub_title}: the run was deleted, so this screen closed", markup=False,
                    severity="warning", timeout=8)
        if self.app.screen is self:
            self.dismiss()

    @on(ScreenResume)
    def _resumed(self) -> None:
        # A screen left in another mode's stack must not show a deleted run when that mode returns.
        if self.gone:
            self.app.call_later(self.dismiss)  # from the app: a screen cannot await its own dismissal
