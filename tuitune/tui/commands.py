"""Command palette entries (ctrl+p): the app's actions, and "open run …" for every run."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from functools import partial
from typing import TYPE_CHECKING

from textual.app import SystemCommand
from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from tuitune.tui.app import TuituneApp


def app_commands(app: TuituneApp) -> Iterator[SystemCommand]:
    yield SystemCommand("Home", "Hardware, recent runs and the demo (1)", partial(app.switch_mode, "home"))
    yield SystemCommand("Runs", "Every run: open, stop, resume, export, delete (2)", partial(app.switch_mode, "runs"))
    yield SystemCommand("New run", "Pick a preset, change a few keys, save and launch (3)", partial(app.switch_mode, "new"))
    yield SystemCommand("Start the CPU demo", "Train SmolLM2-135M on the pirate data, on the CPU", app.action_start_demo)
    yield SystemCommand("Toggle light/dark", "Switch between the light and the dark theme (ctrl+t)", app.action_toggle_dark)
    yield SystemCommand("Keys", "Every key on this screen, with ids and tooltips (?)", app.action_help)


class RunCommands(Provider):
    """``open run <id>`` for each run, newest first."""

    async def _runs(self) -> list[tuple[str, str]]:
        from tuitune.tui.run_rows import list_rows

        rows = await asyncio.to_thread(list_rows)
        return [(f"open run {r.id}", f"{r.status}  {r.method}  step {r.step}  loss {r.loss}") for r in rows]

    async def discover(self) -> Hits:
        for text, help in (await self._runs())[:5]:
            yield DiscoveryHit(text, partial(self.app.open_run, text.removeprefix("open run ")), help=help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, help in await self._runs():
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), partial(self.app.open_run, text.removeprefix("open run ")),
                          help=help)
