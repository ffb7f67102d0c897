"""Command palette entries (ctrl+p): the app's actions, and open / export / chat / compare for every run."""

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
    yield SystemCommand("Compare two runs", "On the runs screen: x marks a run, x on another compares them",
                        partial(app.switch_mode, "runs"))
    yield SystemCommand("Start the CPU demo", "Train SmolLM2-135M on the pirate data, on the CPU", app.action_start_demo)
    yield SystemCommand("Toggle light/dark", "Switch between the light and the dark theme (ctrl+t)", app.action_toggle_dark)
    yield SystemCommand("Keys", "Every key on this screen, with ids and tooltips (?)", app.action_help)


class RunCommands(Provider):
    """``open run <id>`` for each run, newest first; finished runs also export, chat and compare."""

    if TYPE_CHECKING:  # narrowed for the type checker: the provider calls tuitune's own actions

        @property
        def app(self) -> TuituneApp: ...

    async def _runs(self) -> list[tuple[str, str]]:
        from tuitune.tui.run_rows import list_rows

        rows = await asyncio.to_thread(list_rows)
        return [(r.id, f"{r.status}  {r.method}  step {r.step}  loss {r.loss}") for r in rows]

    def _actions(self, run_id: str, status: str):
        yield f"open run {run_id}", partial(self.app.open_run, run_id)
        state = status.split()[0] if status else ""
        if state == "done":
            yield f"export run {run_id}", partial(self.app.open_export, run_id)
            yield f"chat with run {run_id}", partial(self.app.open_chat, run_id)
            yield f"compare run {run_id} with its base", partial(self.app.open_chat, run_id, True)
        if state in ("running", "stopping", "queued"):
            yield f"stop run {run_id}", partial(self.app.act_on_run, "stop", run_id)
        if state in ("stopped", "failed", "crashed"):
            yield f"resume run {run_id}", partial(self.app.act_on_run, "resume", run_id)
        if state not in ("running", "stopping"):
            yield f"delete run {run_id}", partial(self.app.act_on_run, "delete", run_id)

    async def discover(self) -> Hits:
        for run_id, help in (await self._runs())[:5]:
            text, action = next(self._actions(run_id, help))
            yield DiscoveryHit(text, action, help=help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for run_id, help in await self._runs():
            for text, action in self._actions(run_id, help):
                score = matcher.match(text)
                if score > 0:
                    yield Hit(score, matcher.highlight(text), action, help=help)
