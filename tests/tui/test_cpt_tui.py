"""Continued pretraining in the TUI: the new-run wizard offers the stage where it offers SFT and
DPO and reads a folder of documents for it; the run view shows the held-out perplexity with the
validation loss."""

from __future__ import annotations

from textual.widgets import Input, Select

from tests.documents import corpus
from tests.tui.support import canned_run, go_to, open_form, pilot_test, text_of, toml_shown
from tests.waits import until
from tuitune.events import EventWriter
from tuitune.preset import load_preset
from tuitune.tui.app import TuituneApp


@pilot_test
async def test_a_cpt_run_is_set_up_from_the_stage_field_on_a_documents_folder(tuitune_home, tmp_path):
    docs = corpus(tmp_path / "docs")
    app = TuituneApp()
    async with app.run_test(size=(140, 45)) as pilot:
        screen = await open_form(app, pilot)
        await go_to(pilot, screen, "step-method")
        stage = screen.query_one("#f-train-stage", Select)
        assert "cpt" in [str(value) for _, value in stage._options]
        stage.value = "cpt"
        screen.query_one("#f-data-path", Input).value = str(docs)
        await until(pilot, lambda: 'stage = "cpt"' in toml_shown(screen), what="a CPT preset")
        await until(pilot, lambda: "documents — raw text (continued pre-training)" in text_of(screen, "#data-info"),
                    what="the folder read as documents")
        assert "13 rows read, 12 usable" in text_of(screen, "#data-info")  # the scanned PDF is not
        screen.query_one("#save-name", Input).value = "docs-cpt"
        await pilot.press("ctrl+s")
        saved = load_preset(tuitune_home / "presets" / "docs-cpt.toml")
        assert (saved.train.stage, saved.data.path) == ("cpt", str(docs))


@pilot_test
async def test_the_run_view_shows_held_out_perplexity_beside_the_validation_loss():
    from tuitune.tui.widgets.run_stats import RunStats

    run = canned_run(status="stopped", steps=6, total=12, evals_every=0)
    with EventWriter(run.events) as ev:  # what a CPT run's evaluation writes
        ev.emit("eval", step=6, loss=2.5, perplexity=12.1825, runtime=1.0)
    app = TuituneApp()
    async with app.run_test(size=(120, 40)) as pilot:
        app.open_run(run.id)
        await until(pilot, lambda: type(app.screen).__name__ == "RunScreen" and app.screen.query("#chart"),
                    what="run view")
        stats = app.screen.query_one(RunStats)
        await until(pilot, lambda: stats.values.get("val ppl") == "12.18", what="the perplexity")
        assert stats.values["val loss"] == "2.5000"
        assert "step 6: validation loss 2.5000, perplexity 12.18" in "\n".join(app.screen.events)
