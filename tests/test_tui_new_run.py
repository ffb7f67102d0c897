"""The new-run screen: pick a preset, see it resolved with each key's help, edit a few keys,
save a preset file `tuitune run` accepts, and launch it."""

from __future__ import annotations

from textual.widgets import DataTable, Input, Select

from tests.test_tui_support import pilot_test, record_start_worker, wait_for
from tuitune.bundled import presets_dir
from tuitune.preset import load_preset
from tuitune.tui.app import TuituneApp


async def open_form(app, pilot):
    await pilot.press("3")
    await wait_for(pilot, lambda: type(app.screen).__name__ == "NewRunScreen" and app.screen.query("#preset-toml"),
                   what="new run screen")
    screen = app.screen
    await wait_for(pilot, lambda: screen.preset is not None, what="the demo preset loaded")
    return screen


def toml_shown(screen) -> str:
    return str(screen.query_one("#preset-toml").render())


@pilot_test
async def test_the_demo_preset_is_shown_resolved_with_every_keys_help():
    app = TuituneApp()
    async with app.run_test(size=(140, 45)) as pilot:
        screen = await open_form(app, pilot)
        assert screen.query_one("#preset", Select).value.endswith("demo-cpu.toml")
        assert 'path = "bundled:smollm2-135m-instruct"' in toml_shown(screen) and "[train]" in toml_shown(screen)
        demo = load_preset(presets_dir() / "demo-cpu.toml")
        assert screen.query_one("#f-train-max_steps", Input).value == str(demo.train.max_steps)
        assert screen.query_one("#f-train-method", Select).value == "lora"
        help_table = screen.query_one("#key-help", DataTable)
        keys = [help_table.get_row_at(i)[0] for i in range(help_table.row_count)]
        assert "train.learning_rate" in keys and "export.gguf" in keys
        assert '["q_proj", "v_proj"]' in str(help_table.get_row_at(keys.index("lora.target_modules"))[2])
        assert "Peak learning rate" in str(screen.query_one("#f-train-learning_rate").tooltip)
        screen.query_one("#f-train-batch_size", Input).focus()
        await wait_for(pilot, lambda: "Examples per forward pass" in str(screen.query_one("#field-help").render()),
                       what="the focused field's help")


@pilot_test
async def test_edits_revalidate_and_bad_values_are_named():
    app = TuituneApp()
    async with app.run_test(size=(140, 45)) as pilot:
        screen = await open_form(app, pilot)
        steps = screen.query_one("#f-train-max_steps", Input)
        steps.focus()
        await pilot.press("end", *["backspace"] * 4, "1", "2")
        await wait_for(pilot, lambda: "max_steps = 12" in toml_shown(screen), what="max_steps 12")
        screen.query_one("#f-train-method", Select).value = "full"
        await wait_for(pilot, lambda: 'method = "full"' in toml_shown(screen), what="method full")
        screen.query_one("#f-train-learning_rate", Input).value = "2"
        await wait_for(pilot, lambda: "not valid" in toml_shown(screen), what="an error")
        assert "train.learning_rate" in toml_shown(screen) and screen.preset is None
        await pilot.press("ctrl+s")
        assert any("fix the preset first" in str(n.message) for n in app._notifications)


@pilot_test
async def test_save_writes_a_preset_file_and_launch_starts_it(monkeypatch, tuitune_home):
    calls = record_start_worker(monkeypatch)
    app = TuituneApp()
    async with app.run_test(size=(140, 45)) as pilot:
        screen = await open_form(app, pilot)
        screen.query_one("#f-train-max_steps", Input).value = "3"
        screen.query_one("#f-train-batch_size", Input).value = "2"
        screen.query_one("#save-name", Input).value = "tiny demo"
        await wait_for(pilot, lambda: "batch_size = 2" in toml_shown(screen), what="edits applied")
        await pilot.press("ctrl+s")
        saved = tuitune_home / "presets" / "tiny-demo.toml"
        assert saved.exists()
        preset = load_preset(saved)
        assert (preset.name, preset.train.max_steps, preset.train.batch_size) == ("tiny-demo", 3, 2)
        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "RunScreen", timeout=15, what="run view")
        run = app.screen.run
        assert calls == [{"run": run.id, "module": "tuitune.train", "args": []}]
        assert run.preset().train.max_steps == 3 and "tiny-demo" in run.id


@pilot_test
async def test_picking_another_preset_reloads_the_form():
    app = TuituneApp()
    async with app.run_test(size=(140, 45)) as pilot:
        screen = await open_form(app, pilot)
        picker = screen.query_one("#preset", Select)
        other = next(v for _, v in picker._options if v is not Select.NULL and not str(v).endswith("demo-cpu.toml"))
        picker.value = other
        await wait_for(pilot, lambda: screen.source is not None and str(screen.source) == other, what="reload")
        assert screen.query_one("#save-name", Input).value.endswith("-custom")
        await wait_for(pilot, lambda: "demo-cpu" not in toml_shown(screen), what="other preset shown")


@pilot_test
async def test_memory_bar_follows_edits_and_the_plan_fills_the_form(tmp_path):
    app = TuituneApp()
    async with app.run_test(size=(150, 50)) as pilot:
        screen = await open_form(app, pilot)
        await wait_for(pilot, lambda: screen.memory_view is not None, timeout=10, what="memory estimate")
        first = screen.memory_view.peak_bytes
        assert "GiB" in str(screen.query_one("#memory").render()) and "planner:" in str(screen.query_one("#memory").render())
        screen.query_one("#f-train-batch_size", Input).value = "64"
        await wait_for(pilot, lambda: screen.memory_view.peak_bytes > first, timeout=10, what="a bigger estimate")
        assert screen.memory_view.breakdown["activations"] > 0
        await pilot.press("ctrl+r")
        planned = dict(item.split("=", 1) for item in screen.memory_view.overrides)
        await wait_for(pilot, lambda: f'batch_size = {planned["train.batch_size"]}' in toml_shown(screen),
                       what="the planner's batch size in the preset")
        assert screen.query_one("#f-train-method", Select).value == planned["train.method"].strip('"')
        await wait_for(pilot, lambda: "messages (sft), 200 rows read" in str(screen.query_one("#data-info").render()),
                       what="data summary")
        bad = tmp_path / "broken.jsonl"
        bad.write_text('{"messages": [{"role": "user", "content": "hi"}]}\n{not json\n')
        screen.query_one("#f-data-path", Input).value = str(bad)
        await wait_for(pilot, lambda: "invalid JSON" in str(screen.query_one("#data-info").render()), timeout=10,
                       what="data error")
        assert "broken.jsonl:2" in str(screen.query_one("#data-info").render())


def test_model_choices_and_data_report_lines(tmp_path, monkeypatch):
    from tuitune.tui.wizard import model_choices, report_lines

    cache = tmp_path / "hub" / "models--Org--Tiny" / "snapshots" / "abc"
    cache.mkdir(parents=True)
    (cache / "config.json").write_text("{}")
    local = tmp_path / "work" / "my-model"
    local.mkdir(parents=True)
    (local / "config.json").write_text("{}")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    refs = [ref for _, ref in model_choices(cwd=tmp_path / "work")]
    assert refs == ["bundled:smollm2-135m-instruct", "Org/Tiny", str(local)]
    report = {"steps": {"empty": 1, "exact_duplicate": 2}, "split": {"train": 9, "val": 1}, "rejected": 3,
              "rejected_summary": {"by_step": {"empty": 1, "exact_duplicate": 2}},
              "stats": {"tokens": {"count": 10, "p50": 50, "p90": 90, "p99": 120, "max": 300, "max_seq_len": 256,
                                   "truncated_fraction": 0.1, "answer_cut_rows": 1,
                                   "histogram": {"width": 100, "counts": [6, 3, 0, 1]}}}}
    lines = report_lines(report)
    assert lines[0] == "cleaning: empty 1 · exact_duplicate 2" and lines[1] == "split: 9 train / 1 validation"
    assert "tokens per row: p50 50 · p90 90 · p99 120 · max 300" in lines
    assert "    0–99  " + "█" * 30 + " 6" in lines and any(line.endswith("1 (cut)") for line in lines)
    assert "  10.0% of rows are cut at max_seq_len" in lines and any("cut before the answer" in line for line in lines)
