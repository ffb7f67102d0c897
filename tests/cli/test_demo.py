"""End to end on the real SmolLM2-135M-Instruct weights (the bundled GGUF): the demo preset."""

import json

import pytest

from tests.helpers import read_state, run_dir_from, step_losses, tuitune

pytestmark = pytest.mark.slow


def test_demo_preset_trains_the_real_model(smollm2_gguf):
    result = tuitune(
        "demo", "--json", "-s", "eval.general=false",  # tests/evaluation covers the end-of-run evaluation
        "-s", "train.max_steps=12", "-s", "train.save_steps=6", "-s", "train.eval_steps=6",
    )
    assert result.returncode == 0, result.stderr
    run = run_dir_from(result.stderr)
    events = [json.loads(line) for line in result.stdout.splitlines()]
    evals = [e["loss"] for e in events if e["type"] == "eval"]
    losses = step_losses(run)
    assert len(losses) == 12
    assert sum(losses[-3:]) / 3 < sum(losses[:3]) / 3 - 0.3, losses
    assert evals[-1] < evals[0]
    assert read_state(run)["status"] == "done"
    adapter = run / "adapter"
    assert (adapter / "adapter_model.safetensors").exists()
    assert "<|im_start|>" in (adapter / "chat_template.jinja").read_text()
    # The preset's [export] ran after training: a verified q8_0 GGUF of the real model.
    assert events[-1]["type"] == "finished" and events[-1]["export"] == "passed", (run / "gguf" / "report.json").read_text()
    report = json.loads((run / "gguf" / "report.json").read_text())
    assert report["files"][0]["quant"] == "q8_0" and report["verification"]["agreement"] >= 0.9
