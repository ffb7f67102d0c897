"""Navigation that never traps (issue 21, item 1): app keys never land in a field the user did
not choose, escape leaves every screen, help lists only keys that work, a launched run opens
under Runs and the next 3 is a fresh wizard, a screen whose run is deleted closes, and the
command palette keeps what is typed while it opens."""

from __future__ import annotations

import shutil

from textual import events
from textual.widgets import Input, TabbedContent

from tests.tui.support import canned_run, notes, open_runs, pilot_test, select
from tests.waits import until
from tuitune.tui.app import TuituneApp
from tuitune.tui.screens.help import HelpScreen


def on(app, name: str) -> bool:
    return type(app.screen).__name__ == name


async def open_wizard(app, pilot):
    await pilot.press("3")
    await until(pilot, lambda: on(app, "NewRunScreen") and app.screen.preset is not None, timeout=15,
                what="the wizard with its preset")
    return app.screen


def help_ids(app) -> list[str]:
    table = app.screen.query_one("#help-keys")
    return [str(table.get_row_at(i)[2]) for i in range(table.row_count)]


@pilot_test
async def test_keys_typed_while_the_wizard_opens_act_as_app_keys_not_as_typing():
    app = TuituneApp()
    async with app.run_test(size=(120, 40)) as pilot:
        # All at once, as an impatient user types while the wizard is still being built.
        for key in ("3", "3", "1"):
            app.post_message(events.Key(key, key))
        await until(pilot, lambda: on(app, "HomeScreen") and app.current_mode == "home", timeout=15,
                    what="home, from the 1 typed while the wizard opened")
        screen = await open_wizard(app, pilot)
        assert screen.query_one("#f-model-path", Input).value == "bundled:smollm2-135m-instruct"
        assert not isinstance(screen.focused, Input)


@pilot_test
async def test_escape_leaves_the_field_then_the_wizard_and_help_lists_only_working_keys():
    app = TuituneApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("2")
        await until(pilot, lambda: on(app, "RunsScreen"), what="runs")
        screen = await open_wizard(app, pilot)
        screen.query_one("#f-model-path", Input).focus()
        await until(pilot, lambda: screen.query_one("#f-model-path", Input).has_focus, what="typing in model.path")
        await pilot.press("f1")  # ? would be typed: f1 is the key that works while typing
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        ids = help_ids(app)
        assert "new.back_out" in ids and "app.help" in ids
        assert not {"app.home", "app.runs", "app.new", "app.quit"} & set(ids), "digits and q are typed here"
        await pilot.press("escape")
        await until(pilot, lambda: on(app, "NewRunScreen"), what="help closed")
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(screen.focused, Input), what="out of the field")
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        assert {"app.home", "app.runs", "app.quit"} <= set(help_ids(app))
        await pilot.press("escape")
        await until(pilot, lambda: on(app, "NewRunScreen"), what="help closed")
        await pilot.press("escape")
        await until(pilot, lambda: on(app, "RunsScreen"), what="back where the wizard was opened from")


@pilot_test
async def test_a_launched_run_opens_under_runs_and_3_gives_a_fresh_wizard(worker_starts):
    app = TuituneApp()
    async with app.run_test(size=(120, 40)) as pilot:
        wizard = await open_wizard(app, pilot)
        wizard.query_one("#f-train-max_steps", Input).value = "3"
        wizard.query_one("#steps", TabbedContent).active = "step-review"
        await until(pilot, lambda: wizard.preset is not None and wizard.preset.train.max_steps == 3, what="the edit")
        await pilot.press("ctrl+l")
        await until(pilot, lambda: on(app, "RunScreen"), timeout=15, what="the run view")
        assert app.current_mode == "runs"
        run = app.screen.run
        await pilot.press("escape")
        await until(pilot, lambda: on(app, "RunsScreen"), what="the runs table under the run view")
        await pilot.press("3")
        await until(pilot, lambda: on(app, "NewRunScreen") and app.screen.preset is not None, timeout=15,
                    what="a wizard")
        fresh = app.screen
        assert fresh is not wizard and fresh.query_one("#steps", TabbedContent).active == "step-model"
        assert fresh.preset.train.max_steps != 3
        assert run.id  # the run itself lives on, under Runs


@pilot_test
async def test_3_asks_before_dropping_a_wizard_left_unfinished():
    app = TuituneApp()
    async with app.run_test(size=(120, 40)) as pilot:
        wizard = await open_wizard(app, pilot)
        wizard.query_one("#f-train-max_steps", Input).value = "7"
        await pilot.press("escape")  # the tabs have the focus: escape leaves the wizard
        await until(pilot, lambda: on(app, "HomeScreen"), what="home")
        await pilot.press("3")
        await until(pilot, lambda: on(app, "ConfirmDialog"), what="the question")
        await pilot.press("y")
        await until(pilot, lambda: app.screen is wizard, what="the same wizard")
        assert wizard.query_one("#f-train-max_steps", Input).value == "7"
        await pilot.press("escape")
        await until(pilot, lambda: on(app, "HomeScreen"), what="home")
        await pilot.press("3")
        await until(pilot, lambda: on(app, "ConfirmDialog"), what="the question")
        await pilot.press("n")
        await until(pilot, lambda: on(app, "NewRunScreen") and app.screen is not wizard and app.screen.preset is not None,
                    timeout=15, what="a fresh wizard")
        assert app.screen.query_one("#f-train-max_steps", Input).value != "7"


@pilot_test
async def test_a_run_view_whose_run_is_deleted_closes_with_a_notice():
    shown, hidden = canned_run(), canned_run(status="stopped")
    app = TuituneApp()
    async with app.run_test(size=(120, 40)) as pilot:
        app.open_run(shown.id)
        await until(pilot, lambda: on(app, "RunScreen"), what="run view")
        view = app.screen
        shutil.rmtree(shown.path)
        await until(pilot, lambda: on(app, "HomeScreen"), what="the view closed")
        assert view.gone
        await until(pilot, lambda: any("the run was deleted" in n for n in notes(app)), what="the notice")
        # A view left in another mode's stack closes too, when its mode comes back.
        app.open_run(hidden.id)
        await until(pilot, lambda: on(app, "RunScreen") and app.screen.run.id == hidden.id, what="run view")
        table = await open_runs(app, pilot, 1)
        await select(pilot, table, hidden.id)
        await pilot.press("d")
        await until(pilot, lambda: on(app, "ConfirmDialog"), what="delete asks")
        await pilot.press("y")
        await until(pilot, lambda: not hidden.path.exists(), what="deleted")
        await pilot.press("1")
        await until(pilot, lambda: on(app, "HomeScreen"), what="home, not the deleted run's view")


@pilot_test
async def test_keys_typed_while_the_palette_opens_are_kept_and_enter_waits_for_their_search():
    run = canned_run()
    app = TuituneApp()
    async with app.run_test(size=(120, 40)) as pilot:
        app.action_command_palette()
        for ch in "open run":  # at once, before the palette's input has the focus
            app.post_message(events.Key("space" if ch == " " else ch, ch))
        app.post_message(events.Key("enter", "\r"))
        await until(pilot, lambda: on(app, "RunScreen"), timeout=10, what="the run opened from what was typed")
        assert app.screen.run.id == run.id
        # Its tabs mounted before the app closes: closing mid-mount is Textual's "No Tab with id" error.
        await until(pilot, lambda: app.screen.query_one("#run-tabs Tabs").active, what="the run view's tabs")
