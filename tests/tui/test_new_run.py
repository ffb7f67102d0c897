"""The new-run screen: pick a preset, see it resolved with each key's help, edit a few keys,
save a preset file `tuitune run` accepts, and launch it."""

from __future__ import annotations

import re

from textual.widgets import Input, Select, TabbedContent

from tests.tui.support import go_to, open_form, pilot_test, text_of, toml_shown
from tests.waits import until, wait_for
from tuitune.models.bundled import presets_dir
from tuitune.preset import load_preset
from tuitune.tui.app import TuituneApp


def pick_preset(screen, name: str) -> None:
    picker = screen.query_one("#preset", Select)
    picker.value = next(v for _, v in picker._options if str(v).endswith(name))






@pilot_test
async def test_the_wizard_walks_model_data_method_review_with_each_fields_help():
    app = TuituneApp()
    async with app.run_test(size=(140, 45)) as pilot:
        screen = await open_form(app, pilot)
        assert screen.query_one("#steps", TabbedContent).active == "step-model"
        assert screen.query_one("#preset", Select).value.endswith("demo-cpu.toml")
        await until(pilot, lambda: "llama · 134.5M parameters · 30 layers" in text_of(screen, "#model-info"),
                    what="what the planner read from the model")
        assert not isinstance(screen.focused, Input)  # the step tabs: keys typed while it opened are the app's
        await go_to(pilot, screen, "step-data")
        await until(pilot, lambda: screen.query_one("#f-data-path", Input).has_focus, what="data path focused")
        await until(pilot, lambda: "messages — conversations (SFT)" in text_of(screen, "#data-info"),
                    what="the data summary")
        await go_to(pilot, screen, "step-method")
        demo = load_preset(presets_dir() / "demo-cpu.toml")
        assert screen.query_one("#f-train-max_steps", Input).value == str(demo.train.max_steps)
        assert screen.query_one("#f-train-method", Select).value == "lora"
        assert screen.query_one("#f-train-stage", Select).value == "sft"
        assert not screen.query_one("#f-dpo-beta", Input).parent.display  # an SFT run has no beta: not shown
        assert "The preset sets the method" in text_of(screen, "#plan-note")
        assert "Peak learning rate" in str(screen.query_one("#f-train-learning_rate").tooltip)
        screen.query_one("#f-train-batch_size", Input).focus()
        await until(pilot, lambda: "Examples per forward pass" in text_of(screen, "#field-help"),
                    what="the focused field's help")
        await go_to(pilot, screen, "step-review")
        assert 'path = "bundled:smollm2-135m-instruct"' in toml_shown(screen) and "[train]" in toml_shown(screen)
        await until(pilot, lambda: screen.query_one("#launch").has_focus, what="launch focused")
        await go_to(pilot, screen, "step-model")


@pilot_test
async def test_edits_revalidate_and_bad_values_are_named():
    app = TuituneApp()
    async with app.run_test(size=(140, 45)) as pilot:
        screen = await open_form(app, pilot)
        await go_to(pilot, screen, "step-method")
        steps = screen.query_one("#f-train-max_steps", Input)
        steps.focus()
        await pilot.press("end", *["backspace"] * 4, "1", "2")
        await until(pilot, lambda: "max_steps = 12" in toml_shown(screen), what="max_steps 12")
        screen.query_one("#f-train-method", Select).value = "full"
        await until(pilot, lambda: 'method = "full"' in toml_shown(screen), what="method full")
        screen.query_one("#f-train-learning_rate", Input).value = "2"
        await until(pilot, lambda: "not valid" in toml_shown(screen), what="an error")
        assert "train.learning_rate" in toml_shown(screen) and screen.preset is None
        await pilot.press("ctrl+s")
        assert any("fix the preset first" in str(n.message) for n in app._notifications)


@pilot_test
async def test_save_writes_a_preset_file_and_launch_starts_it(worker_starts, tuitune_home):
    app = TuituneApp()
    async with app.run_test(size=(140, 45)) as pilot:
        screen = await open_form(app, pilot)
        screen.query_one("#f-train-max_steps", Input).value = "3"
        screen.query_one("#f-train-batch_size", Input).value = "2"
        screen.query_one("#save-name", Input).value = "tiny demo"
        await until(pilot, lambda: "batch_size = 2" in toml_shown(screen), what="edits applied")
        await pilot.press("ctrl+s")
        saved = tuitune_home / "presets" / "tiny-demo.toml"
        assert saved.exists()
        preset = load_preset(saved)
        assert (preset.name, preset.train.max_steps, preset.train.batch_size) == ("tiny-demo", 3, 2)
        await pilot.press("ctrl+l")
        await until(pilot, lambda: type(app.screen).__name__ == "RunScreen", timeout=15, what="run view")
        run = app.screen.run
        assert worker_starts == [{"run": run.id, "module": "tuitune.train", "args": []}]
        assert run.preset().train.max_steps == 3 and "tiny-demo" in run.id


@pilot_test
async def test_picking_another_preset_reloads_the_form():
    app = TuituneApp()
    async with app.run_test(size=(140, 45)) as pilot:
        screen = await open_form(app, pilot)
        picker = screen.query_one("#preset", Select)
        other = next(v for _, v in picker._options if v is not Select.NULL and not str(v).endswith("demo-cpu.toml"))
        picker.value = other
        await until(pilot, lambda: screen.source is not None and str(screen.source) == other, what="reload")
        assert screen.query_one("#save-name", Input).value.endswith("-custom")
        await until(pilot, lambda: "demo-cpu" not in toml_shown(screen), what="other preset shown")


@pilot_test
async def test_memory_bar_follows_edits_and_the_plan_fills_the_form(tmp_path):
    app = TuituneApp()
    async with app.run_test(size=(150, 50)) as pilot:
        screen = await open_form(app, pilot)
        await until(pilot, lambda: screen.memory_view is not None, timeout=10, what="memory estimate")
        first = screen.memory_view.peak_bytes
        panel = screen.query_one("#memory")
        # which figure is the form's and which the planner's, each with what it needs
        assert "your settings: lora r16 · batch 4 · seq 256" in str(panel.render()), str(panel.render())
        assert re.search(r"planner's plan: \S.*, about \d+\.\d GiB \(ctrl\+r", str(panel.render()))
        screen.query_one("#f-train-batch_size", Input).value = "64"
        await until(pilot, lambda: screen.memory_view.peak_bytes > first, timeout=10, what="a bigger estimate")
        await until(pilot, lambda: "your settings: lora r16 · batch 64" in str(panel.render()), what="the form's batch")
        assert screen.memory_view.breakdown["activations"] > 0
        await pilot.press("ctrl+r")
        planned = dict(item.split("=", 1) for item in screen.memory_view.overrides)
        await until(pilot, lambda: f'batch_size = {planned["train.batch_size"]}' in toml_shown(screen),
                    what="the planner's batch size in the preset")
        assert screen.query_one("#f-train-method", Select).value == planned["train.method"].strip('"')
        # keys the form has no field for go into the preset too: the plan fits only as a whole
        assert f'gradient_checkpointing = {planned["train.gradient_checkpointing"]}' in toml_shown(screen)
        await until(pilot, lambda: "messages — conversations (SFT)" in str(screen.query_one("#data-info").render()),
                    what="data summary")
        bad = tmp_path / "broken.jsonl"
        bad.write_text('{"messages": [{"role": "user", "content": "hi"}]}\n{not json\n')
        screen.query_one("#f-data-path", Input).value = str(bad)
        await until(pilot, lambda: "invalid JSON" in str(screen.query_one("#data-info").render()), timeout=10,
                    what="data error")
        assert "broken.jsonl:2" in str(screen.query_one("#data-info").render())


@pilot_test
async def test_with_a_gpu_the_plan_is_filled_in_where_the_preset_leaves_the_method_open(monkeypatch, tuitune_home):
    import json

    from tests.helpers import NVML_RECORDINGS
    from tuitune.hardware.nvml import read_gpus
    from tuitune.hardware.nvml_replay import RecordedNvml
    from tuitune.hardware.plan import detect_gpu

    recorded = RecordedNvml(json.loads((NVML_RECORDINGS / "rtx4090.json").read_text()))  # a real RTX 4090, recorded
    monkeypatch.setattr("tuitune.tui.wizard.MemoryPlanner.gpu", lambda self: detect_gpu(read_gpus(recorded)))
    app = TuituneApp()
    async with app.run_test(size=(140, 45)) as pilot:
        screen = await open_form(app, pilot)
        pick_preset(screen, "demo-auto.toml")
        await until(pilot, lambda: "Filled in from the planner" in text_of(screen, "#plan-note"), what="the plan")
        assert "NVIDIA GeForce RTX 4090" in text_of(screen, "#memory")
        planned = dict(item.split("=", 1) for item in screen.memory_view.overrides)
        assert screen.query_one("#f-train-method", Select).value == planned["train.method"].strip('"') != "auto"
        assert screen.query_one("#f-train-batch_size", Input).value == planned["train.batch_size"]
        await until(pilot, lambda: f'method = {planned["train.method"]}' in toml_shown(screen), what="in the preset")
        # once per model: editing a planned field afterwards sticks
        assert planned["train.batch_size"] != "3"
        screen.query_one("#f-train-batch_size", Input).value = "3"
        await until(pilot, lambda: "batch_size = 3" in toml_shown(screen), what="the edit")
        # The planner's answer to the edited preset lands, and the plan is decided on again in the
        # same handler: once the panel shows it, a refill would already have happened.
        await until(pilot, lambda: screen.preset is not None and screen.memory_view == screen.planner.plan(screen.preset),
                    what="the plan of the edited preset")
        assert screen.query_one("#f-train-batch_size", Input).value == "3"


@pilot_test
async def test_without_a_gpu_the_plan_is_offered_not_filled_in(tuitune_home):
    app = TuituneApp()
    async with app.run_test(size=(140, 45)) as pilot:
        screen = await open_form(app, pilot)
        pick_preset(screen, "demo-auto.toml")
        await until(pilot, lambda: "No GPU here" in text_of(screen, "#plan-note"), what="the note")
        assert screen.query_one("#f-train-method", Select).value == "auto"


@pilot_test
async def test_the_data_step_shows_the_token_histogram_and_a_loss_mask_preview(tuitune_home):
    app = TuituneApp()
    async with app.run_test(size=(140, 60)) as pilot:
        screen = await open_form(app, pilot)
        await go_to(pilot, screen, "step-data")
        await until(pilot, lambda: "loss mask" in text_of(screen, "#data-details"), timeout=90,
                    what="the tokenizer's report")
        details = text_of(screen, "#data-details")
        assert "tokens per row: p50" in details and "█" in details and "split: 190 train / 10 validation" in details
        assert "⟦" in details  # the trained part of the preview
        screen.query_one("#f-data-path", Input).value = "bundled:pirate-pairs"
        await until(pilot, lambda: "preference" in text_of(screen, "#data-info"), what="pairs detected")


@pilot_test
async def test_a_dpo_run_is_set_up_from_the_stage_field(tuitune_home):
    app = TuituneApp()
    async with app.run_test(size=(140, 45)) as pilot:
        screen = await open_form(app, pilot)
        screen.query_one("#f-data-path", Input).value = "bundled:pirate-pairs"
        await go_to(pilot, screen, "step-method")
        screen.query_one("#f-train-stage", Select).value = "dpo"
        await until(pilot, lambda: screen.query_one("#f-dpo-beta", Input).parent.display, what="beta shown")
        screen.query_one("#f-dpo-beta", Input).value = "0.2"
        await until(pilot, lambda: 'stage = "dpo"' in toml_shown(screen) and "beta = 0.2" in toml_shown(screen),
                    what="a DPO preset")
        screen.query_one("#save-name", Input).value = "pirate-dpo"
        await pilot.press("ctrl+s")
        saved = load_preset(tuitune_home / "presets" / "pirate-dpo.toml")
        assert (saved.train.stage, saved.dpo.beta, saved.data.path) == ("dpo", 0.2, "bundled:pirate-pairs")


def test_model_choices_and_data_report_lines(tmp_path, monkeypatch):
    from tuitune.tui.wizard import data_choices, model_choices, report_lines

    cache = tmp_path / "hub" / "models--Org--Tiny" / "snapshots" / "abc"
    cache.mkdir(parents=True)
    (cache / "config.json").write_text("{}")
    local = tmp_path / "work" / "my-model"
    local.mkdir(parents=True)
    (local / "config.json").write_text("{}")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "hub"))  # read at its import
    refs = [ref for _, ref in model_choices(cwd=tmp_path / "work")]
    assert refs == ["bundled:smollm2-135m-instruct", "Org/Tiny", str(local)]
    (tmp_path / "work" / "chats.jsonl").write_text("{}\n")
    (tmp_path / "work" / "sub").mkdir()
    (tmp_path / "work" / "sub" / "pairs.csv").write_text("a\n")
    (tmp_path / "work" / ".hidden").mkdir()
    (tmp_path / "work" / ".hidden" / "x.jsonl").write_text("{}\n")
    data_refs = [ref for _, ref in data_choices(cwd=tmp_path / "work")]
    assert data_refs == ["bundled:pirate", "bundled:pirate-pairs", "bundled:general", str(tmp_path / "work" / "chats.jsonl"),
                         str(tmp_path / "work" / "sub" / "pairs.csv")]
    report = {"steps": {"empty": 1, "exact_duplicate": 2}, "split": {"train": 9, "val": 1}, "rejected": 3,
              "rejected_summary": {"by_step": {"empty": 1, "exact_duplicate": 2}},
              "stats": {"tokens": {"count": 10, "p50": 50, "p90": 90, "p99": 120, "max": 300, "max_seq_len": 256,
                                   "truncated_fraction": 0.1, "answer_cut_rows": 1,
                                   "histogram": {"width": 100, "counts": [6, 3, 0, 1]}}}}
    lines = report_lines(report)
    assert lines[0] == "cleaning: empty 1 · exact_duplicate 2" and lines[1] == "split: 9 train / 1 validation"
    assert "tokens per row: p50 50 · p90 90 · p99 120 · max 300" in lines
    assert "    0–99  " + "█" * 30 + " 6" in lines and any(line.endswith("1 (cut)") for line in lines)
    assert "  10.0% of rows are cut at max_seq_len" in lines and any("cuts before the answer" in line for line in lines)


def test_data_details_stop_when_cancelled(tuitune_home):
    """Leaving the wizard kills the tokenizer subprocess rather than letting it finish."""
    import threading

    from tuitune.tui.wizard import DataDetails

    job = DataDetails(load_preset(presets_dir() / "demo-cpu.toml"))
    result: list = []
    thread = threading.Thread(target=lambda: result.append(job.run()))
    thread.start()
    wait_for(lambda: job._process is not None, timeout=10, what="the tokenizer subprocess")
    job.cancel()
    thread.join(timeout=10)  # a guard against a hang, not a speed limit: the signal below is the proof
    assert not thread.is_alive()
    # Killed by a signal (a negative return code), so it did not run to its end.
    assert result == [[]] and job._process.returncode is not None and job._process.returncode < 0


def test_the_plan_is_filled_in_once_per_model_only_for_an_open_method_on_a_real_gpu():
    from types import SimpleNamespace

    from tuitune.tui.wizard import MemoryView, PlanFill

    def preset(method):
        return SimpleNamespace(train=SimpleNamespace(method=method))

    gpu = MemoryView(overrides=['train.method="lora"'])
    fill = PlanFill()
    fill.start(preset("lora"))
    assert fill.decide(gpu, "m1") == ("preset", False)
    fill.start(preset("auto"))
    assert fill.decide(MemoryView(overrides=gpu.overrides, reference_gpu=True), "m1") == ("no-gpu", False)
    assert fill.decide(MemoryView(), "m1") == ("unchanged", False)  # no plan (nothing fits)
    assert fill.decide(gpu, "m1") == ("filled", True)
    assert fill.decide(gpu, "m1") == ("unchanged", False)  # the user's edits after it stick
    assert fill.decide(gpu, "m2") == ("filled", True)  # another model, another plan
    fill.start(preset("auto"))
    assert fill.decide(gpu, "m2") == ("filled", True)  # a preset loaded again starts over


@pilot_test
async def test_the_tui_warns_when_a_preset_turns_trust_remote_code_on(tuitune_home):
    saved = tuitune_home / "presets" / "remote.toml"
    saved.parent.mkdir(parents=True)
    saved.write_text('[model]\npath = "org/model"\ntrust_remote_code = true\n[data]\npath = "bundled:pirate"\n')
    app = TuituneApp()
    async with app.run_test(size=(140, 45)) as pilot:
        screen = await open_form(app, pilot)
        assert "warning" not in toml_shown(screen)  # the demo preset trusts no code
        screen.query_one("#preset", Select).value = str(saved)
        await until(pilot, lambda: "trust_remote_code is on" in toml_shown(screen), what="the warning")
        assert toml_shown(screen).startswith("warning: model.trust_remote_code is on")


@pilot_test
async def test_the_memory_panel_uses_this_cards_past_runs_and_the_datas_lengths(monkeypatch, tuitune_home):
    import json

    from tests.helpers import NVML_RECORDINGS
    from tuitune.hardware.calibration import append
    from tuitune.hardware.nvml import read_gpus
    from tuitune.hardware.nvml_replay import RecordedNvml

    recorded = read_gpus(RecordedNvml(json.loads((NVML_RECORDINGS / "rtx4090.json").read_text())))
    monkeypatch.setattr("tuitune.tui.wizard.MemoryPlanner.report", lambda self: recorded)
    for measured in (9 * 2**30, 9.4 * 2**30):  # two past LoRA runs on this card, at 90 and 94 % of the estimate
        append({"gpu": "NVIDIA GeForce RTX 4090", "method": "lora", "predicted_reserved_bytes": 10 * 2**30,
                "measured_reserved_bytes": int(measured)})
    app = TuituneApp()
    async with app.run_test(size=(140, 60)) as pilot:
        screen = await open_form(app, pilot)
        await until(pilot, lambda: "past LoRA runs peaked at 92 % of the estimate (2 runs)" in text_of(screen, "#memory"),
                    what="the calibration in the memory panel")
        assert "Calibration: on this card (NVIDIA GeForce RTX 4090)" in text_of(screen, "#plan-note")
        before = screen.memory_view.peak_bytes
        await go_to(pilot, screen, "step-data")  # the tokenizer's report measures the data
        await until(pilot, lambda: "the data's longest row" in text_of(screen, "#memory"), timeout=90,
                    what="the plan at the data's lengths")
        assert screen.memory_view.peak_bytes < before  # demo rows are far shorter than max_seq_len
        assert f"(max_seq_len {screen.preset.train.max_seq_len})" in screen.memory_view.data_note


@pilot_test
async def test_a_4090_preset_is_planned_before_its_model_is_downloaded(tmp_path, monkeypatch):
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path))  # nothing downloaded
    app = TuituneApp()
    async with app.run_test(size=(150, 50)) as pilot:
        screen = await open_form(app, pilot)
        pick_preset(screen, "llama3.1-8b-qlora-4090.toml")
        await until(pilot, lambda: screen.preset is not None and "Llama-3.1-8B" in screen.preset.model.path
                    and screen.memory_view is not None and "8.03B" in screen.memory_view.model_text,
                    timeout=20, what="the 8B preset planned")
        assert not screen.memory_view.problem and screen.memory_view.peak_bytes > 4 * 2**30
        info = str(screen.query_one("#model-info").render())
        assert "not downloaded yet" in info and "hf download meta-llama/Llama-3.1-8B-Instruct" in info


@pilot_test
async def test_fewer_steps_re_derive_the_evaluation_and_checkpoint_cadence():
    app = TuituneApp()
    async with app.run_test(size=(140, 45)) as pilot:
        screen = await open_form(app, pilot)
        await go_to(pilot, screen, "step-method")
        cadence = screen.query_one("#cadence")
        await until(pilot, lambda: "evaluates every 35 steps (the preset's)" in str(cadence.render()),
                    timeout=20, what="the demo's cadence")
        screen.query_one("#f-train-max_steps", Input).value = "30"  # the demo evaluates every 35 of its 70
        await until(pilot, lambda: screen.preset is not None and screen.preset.train.max_steps == 30
                    and "tuitune's choice" in str(cadence.render()), timeout=20, what="a cadence for 30 steps")
        assert screen.preset.train.eval_steps is None and screen.preset.train.save_steps is None
        every = screen.guidance.choices["train.eval_steps"].value
        assert every < 30 and 30 // every >= 3  # several evaluations: overfitting can be seen
        assert f"evaluates every {every} steps (tuitune's choice)" in str(cadence.render())
        assert "eval_steps = 35" not in toml_shown(screen)
        screen.query_one("#f-train-max_steps", Input).value = "70"  # back to the preset's own length
        await until(pilot, lambda: "evaluates every 35 steps (the preset's)" in str(cadence.render()),
                    timeout=20, what="the preset's cadence back")


@pilot_test
async def test_ctrl_g_browses_the_datas_rows_as_the_run_would_clean_them(tmp_path, tuitune_home):
    import json

    rows = [{"messages": [{"role": "user", "content": f"Question {i}?"}, {"role": "assistant", "content": f"Arr {i}."}]}
            for i in range(12)]
    data = tmp_path / "mine.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows + rows[:1]) + "{not json\n")
    app = TuituneApp()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_form(app, pilot)
        screen.query_one("#f-data-path", Input).value = str(data)
        await until(pilot, lambda: screen.preset is not None and str(screen.preset.data.path) == str(data),
                    timeout=10, what="the form on the new data")
        await pilot.press("ctrl+g")
        await until(pilot, lambda: type(app.screen).__name__ == "RowsScreen" and app.screen.rows is not None,
                    timeout=90, what="the rows, cleaned with the model's tokenizer")
        browser = app.screen
        reasons = {r.where.rsplit("/", 1)[-1]: r.reason for r in browser.rows if r.split == "rejected"}
        assert "mine.jsonl:13" in reasons and "duplicate of" in reasons["mine.jsonl:13"]
        assert "mine.jsonl:14" in reasons and "JSON" in reasons["mine.jsonl:14"]
        assert sum(r.split != "rejected" for r in browser.rows) == 12


@pilot_test
async def test_f2_edits_the_preset_as_toml_validated_live_with_tuitune_checks_errors(tmp_path, tuitune_home):
    from textual.widgets import TextArea

    from tests.helpers import tuitune

    app = TuituneApp()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_form(app, pilot)
        await pilot.press("f2")
        area = screen.query_one("#toml-text", TextArea)
        await until(pilot, lambda: area.has_focus and "[train]" in area.text, what="the TOML editor")
        assert screen.query_one("#steps", TabbedContent).active == "step-review"
        original = area.text
        area.load_text(re.sub(r"\nlearning_rate = \S+", "\nlearning_rate = -1",
                              original.replace("[train]\n", "[train]\nmax_stepz = 7\n", 1)))
        problems = screen.query_one("#toml-problems")
        await until(pilot, lambda: "not valid" in str(problems.render()), what="the problems")
        assert screen.preset is None
        edited = tmp_path / "edited.toml"
        edited.write_text(area.text)
        check = tuitune("check", str(edited))
        assert check.returncode == 2
        said = [line.split(f"{edited}: ", 1)[1] for line in check.stderr.strip().splitlines() if f"{edited}: " in line]
        shown = str(problems.render())
        assert said and all(problem in shown for problem in said)  # the same words, key by key
        assert len(said) == 2 and "did you mean 'train.max_steps'" in shown
        await pilot.press("f2")  # not valid: stays in the editor, says why
        assert screen.editing and any("not valid yet" in str(n.message) for n in app._notifications)
        area.load_text(original.replace("[train]\n", "[train]\nmax_steps = 7\n", 1) if "max_steps" not in original
                       else re.sub(r"max_steps = \d+", "max_steps = 7", original))
        await until(pilot, lambda: screen.preset is not None and screen.preset.train.max_steps == 7, what="valid")
        await pilot.press("f2")
        await until(pilot, lambda: not screen.editing and screen.query_one("#f-train-max_steps", Input).value == "7",
                    what="the edit in the form")
        assert "max_steps = 7" in toml_shown(screen)


@pilot_test
async def test_the_method_step_offers_every_method_and_says_what_it_exports():
    app = TuituneApp()
    async with app.run_test(size=(140, 45)) as pilot:
        screen = await open_form(app, pilot)
        await go_to(pilot, screen, "step-method")
        method = screen.query_one("#f-train-method", Select)
        offered = [value for _, value in method._options]
        for name in ("ia3", "prompt_tuning", "prefix_tuning", "freeze"):
            assert name in offered
        screen.query_one("#f-train-learning_rate", Input).value = "auto"  # the demo sets LoRA's rate
        method.value = "prompt_tuning"
        await until(pilot, lambda: "no GGUF export" in text_of(screen, "#method-note"), what="the method's note")
        assert "learning rate 0.03" in text_of(screen, "#method-note")
        assert 'method = "prompt_tuning"' in toml_shown(screen)
        method.value = "ia3"
        await until(pilot, lambda: "learning rate 0.003" in text_of(screen, "#method-note"), what="IA3's rate")
        assert "no GGUF export" not in text_of(screen, "#method-note")
