"""The new-run screen's stage field for the preference stages beyond DPO: the `[dpo]` beta shows,
and the guidance the review shows is the stage's own (ORPO: no reference model, lambda 0.1)."""

from __future__ import annotations

from textual.widgets import Input, Select

from tests.tui.support import go_to, open_form, pilot_test, toml_shown
from tests.waits import until
from tuitune.preset import load_preset
from tuitune.tui.app import TuituneApp


@pilot_test
async def test_an_orpo_run_is_set_up_from_the_stage_field(tuitune_home):
    app = TuituneApp()
    async with app.run_test(size=(140, 45)) as pilot:
        screen = await open_form(app, pilot)
        screen.query_one("#f-data-path", Input).value = "bundled:pirate-pairs"
        await go_to(pilot, screen, "step-method")
        stage = screen.query_one("#f-train-stage", Select)
        assert {"kto", "orpo", "simpo"} <= {value for _, value in stage._options}
        stage.value = "orpo"
        await until(pilot, lambda: screen.query_one("#f-dpo-beta", Input).parent.display, what="beta shown")
        await until(pilot, lambda: 'stage = "orpo"' in toml_shown(screen), what="an ORPO preset")
        await until(pilot, lambda: screen.guidance is not None and "dpo.beta" in screen.guidance.choices,
                    what="the stage's guidance")
        assert screen.guidance.choices["dpo.beta"].reason.startswith("ORPO: 0.1")
        screen.query_one("#save-name", Input).value = "pirate-orpo"
        await pilot.press("ctrl+s")
        saved = load_preset(tuitune_home / "presets" / "pirate-orpo.toml")
        assert (saved.train.stage, saved.data.path) == ("orpo", "bundled:pirate-pairs")
