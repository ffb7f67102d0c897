"""The app shell: modes on keys, the help screen, the theme toggle, the command palette, and
the layering rule (the TUI process never imports the training stack)."""

from __future__ import annotations

from tests.helpers import heavy_loaded_by
from tests.tui.support import REPORT, canned_run, notes, open_runs, pilot_test, write_export
from tests.waits import until
from tuitune.tui.app import TuituneApp
from tuitune.tui.screens.help import HelpScreen
from tuitune.tui.screens.home import HomeScreen


@pilot_test
async def test_keys_switch_screens_and_back():
    app = TuituneApp()
    async with app.run_test(size=(120, 40)) as pilot:
        assert isinstance(app.screen, HomeScreen)
        await pilot.press("2")
        await until(pilot, lambda: type(app.screen).__name__ == "RunsScreen", what="runs screen")
        await pilot.press("3")
        await until(pilot, lambda: type(app.screen).__name__ == "NewRunScreen", what="new run screen")
        app.screen.set_focus(None)  # the form's inputs take digits; the app keys work elsewhere
        await pilot.press("1")
        await until(pilot, lambda: isinstance(app.screen, HomeScreen), what="home")
        assert app.current_mode == "home"


@pilot_test
async def test_help_lists_the_screens_and_the_apps_keys_with_ids():
    app = TuituneApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("2")
        await until(pilot, lambda: type(app.screen).__name__ == "RunsScreen")
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        table = app.screen.query_one("#help-keys")
        rows = [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]
        ids = [r[2] for r in rows]
        for binding_id in ("runs.open", "runs.stop", "runs.resume", "runs.export", "runs.chat", "runs.delete", "runs.filter",
                           "app.home", "app.runs", "app.new", "app.help", "app.theme", "app.quit"):
            assert binding_id in ids
        assert all(r[3] for r in rows), "every key has a tooltip"
        assert ["/", "Filter"] == rows[ids.index("runs.filter")][:2]
        assert "[export] gguf" in rows[ids.index("runs.export")][3]  # shown as written, not as markup
        await pilot.press("escape")
        await until(pilot, lambda: type(app.screen).__name__ == "RunsScreen", what="help closed")


@pilot_test
async def test_theme_toggles_light_and_dark():
    app = TuituneApp()
    async with app.run_test() as pilot:
        dark = app.current_theme.dark
        await pilot.press("ctrl+t")
        assert app.current_theme.dark is not dark
        await pilot.press("ctrl+t")
        assert app.current_theme.dark is dark


@pilot_test
async def test_the_light_or_dark_choice_is_remembered_in_tuitune_home(tuitune_home):
    app = TuituneApp()
    async with app.run_test() as pilot:
        assert app.current_theme.dark
        await pilot.press("ctrl+t")
        await until(pilot, lambda: (tuitune_home / "tui.json").exists(), what="the choice saved")
    app = TuituneApp()
    async with app.run_test() as pilot:
        await until(pilot, lambda: not app.current_theme.dark, what="light again when reopened")
        await pilot.press("ctrl+t")
        await until(pilot, lambda: '"textual-dark"' in (tuitune_home / "tui.json").read_text(), what="dark saved")
    (tuitune_home / "tui.json").write_text("{not json")
    app = TuituneApp()
    async with app.run_test() as pilot:  # an unreadable file: the defaults, no error
        await until(pilot, lambda: app.current_theme.dark, what="the default theme")


@pilot_test
async def test_command_palette_offers_the_actions_and_the_runs():
    run = canned_run()
    app = TuituneApp()
    async with app.run_test(size=(120, 40)) as pilot:
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for title in ("Home", "Runs", "New run", "Start the CPU demo", "Toggle light/dark", "Keys"):
            assert title in titles
        await pilot.press("ctrl+p")
        await until(pilot, lambda: type(app.screen).__name__ == "CommandPalette", what="palette")
        await pilot.press(*"open run")
        await until(pilot, lambda: palette_offers(app, "open run"), what="palette search")
        await pilot.press("enter")
        await until(pilot, lambda: type(app.screen).__name__ == "RunScreen", what="run opened from the palette")
        assert app.screen.run.id == run.id
        await pilot.press("escape")
        await until(pilot, lambda: type(app.screen).__name__ == "HomeScreen", what="home")
        await pilot.press("ctrl+p")
        await until(pilot, lambda: type(app.screen).__name__ == "CommandPalette", what="palette")
        await pilot.press(*"delete run")
        await until(pilot, lambda: palette_offers(app, "delete run"), what="palette search")
        await pilot.press("enter")
        await until(pilot, lambda: type(app.screen).__name__ == "ConfirmDialog", what="confirmation")
        await pilot.press("y")
        await until(pilot, lambda: not run.path.exists(), what="run deleted from the palette")


def palette_offers(app, text: str) -> bool:
    """The command palette has finished its search and highlights a command starting with `text`."""
    from textual.command import CommandList

    options = app.screen.query(CommandList)
    if not options or options.first().highlighted is None:
        return False
    highlighted = options.first().get_option_at_index(options.first().highlighted)
    return str(highlighted.prompt).startswith(text)


def test_the_tui_process_never_imports_the_training_stack(tuitune_home):
    """Mount the app headless, visit every screen, watch a (canned) run and its export report, then look."""
    write_export(canned_run(), REPORT)
    code = """
import asyncio
from tests.waits import until
from tuitune.tui.app import TuituneApp

async def main():
    app = TuituneApp()
    async with app.run_test(size=(120, 40)) as pilot:
        for key, screen in (("2", "RunsScreen"), ("3", "NewRunScreen"), ("1", "HomeScreen")):
            app.screen.set_focus(None)
            await pilot.press(key)
            await until(pilot, lambda: type(app.screen).__name__ == screen, what=screen)
        await until(pilot, lambda: app.screen.query_one("#recent").rows_shown, what="the recent runs")
        app.open_run(app.screen.query_one("#recent").rows_shown[0].id)
        await until(pilot, lambda: type(app.screen).__name__ == "RunScreen" and app.screen.query("#chart")
                    and app.screen.query_one("#chart").train and app.screen.query_one("#worker-log").lines,
                    what="the run view with its chart and log read")
        await pilot.press("question_mark")
        await until(pilot, lambda: type(app.screen).__name__ == "HelpScreen", what="help")
        run_id = app.screen_stack[-2].run.id
        app.pop_screen()
        app.open_export(run_id)
        await until(pilot, lambda: type(app.screen).__name__ == "ExportScreen" and app.screen.report is not None,
                    what="the export report read")
        app.pop_screen()
        app.open_chat(run_id)  # its export failed verification and it has no adapter: nothing to load
        await until(pilot, lambda: type(app.screen).__name__ == "ChatScreen" and app.screen.query("#chat-title")
                    and "cannot chat" in str(app.screen.query_one("#chat-title").render()), what="the chat's answer")

asyncio.run(main())
"""
    assert heavy_loaded_by(code) == []


@pilot_test
async def test_keys_toml_remaps_a_binding_by_id_and_names_unknown_ids(tuitune_home):
    tuitune_home.mkdir(parents=True, exist_ok=True)
    (tuitune_home / "keys.toml").write_text('[keys]\n"runs.delete" = "ctrl+x"\n"no.such" = "z"\n')
    run = canned_run(status="stopped")
    app = TuituneApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: any("unknown binding id 'no.such'" in n for n in notes(app)),
                    what="the keys.toml problem")
        await open_runs(app, pilot, 1)
        # d no longer deletes: keys are handled in order, so once ? has opened the help, d has been
        # handled too, and a confirmation it asked for would be under the help.
        await pilot.press("d", "question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        assert type(app.screen_stack[-2]).__name__ == "RunsScreen"
        table = app.screen.query_one("#help-keys")
        rows = {str(table.get_row_at(i)[2]): str(table.get_row_at(i)[0]) for i in range(table.row_count)}
        assert rows["runs.delete"] == "^x"
        await pilot.press("escape")
        await until(pilot, lambda: type(app.screen).__name__ == "RunsScreen", what="help closed")
        await pilot.press("ctrl+x")
        await until(pilot, lambda: type(app.screen).__name__ == "ConfirmDialog", what="delete asks")
        assert run.id in str(app.screen.query_one("#question").render())
