"""The base of tuitune's screens: a Textual ``Screen`` whose ``app`` is typed as tuitune's app.

Screens call the app's own actions (``open_run``, ``open_chat``, ``processes``...), which
Textual's ``Widget.app`` (a plain ``App``) does not know. ``textual.getters.app`` is Textual's
way to narrow it; declared for the type checker only, because the app module imports the screens.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.screen import Screen

if TYPE_CHECKING:
    from textual import getters

    from tuitune.tui.app import TuituneApp


class AppScreen(Screen[None]):
    if TYPE_CHECKING:
        app = getters.app(TuituneApp)
