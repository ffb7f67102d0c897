"""Real training through the real command line, on a tiny random Llama on the CPU."""

import json
import os
import signal
import subprocess
import sys

import pytest

from tests.helpers import read_state, run_dir_from, step_losses, tuitune, write_preset
from tests.waits import wait_for
from tuitune.events import read_events
from tuitune.runs.checkpoints import complete_checkpoints
from tuitune.weights.loading import DEFAULT_CHAT_TEMPLATE


def falls(losses, n=3):
    assert len(losses) >= 2 * n, losses
    return sum(losses[-n:]) / n < sum(losses[:n]) / n


def generate(model, tokenizer):
    import torch

    prompt = tokenizer.apply_chat_template([{"role": "user", "content": "Hello"}], tokenize=False, add_generation_prompt=True)
    inputs = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=5, do_sample=False, pad_token_id=tokenizer.pad_token_id)
    return out[0, inputs["input_ids"].shape[1]:]


def test_lora_sft_loss_falls_and_adapter_reloads(tmp_path, tiny_model_dir, small_data):
    preset = write_preset(tmp_path / "p.toml", tiny_model_dir, small_data, train={"max_steps": 16})
    result = tuitune("run", str(preset), "--json")
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert events[-1] == {**events[-1], "type": "finished", "status": "done"}
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    run = run_dir_from(result.stderr)
    assert falls(step_losses(run))
    assert any(e["type"] == "eval" for e in events)
    assert read_state(run)["status"] == "done"

    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    model = PeftModel.from_pretrained(base, run / "adapter")
    tokenizer = AutoTokenizer.from_pretrained(run / "adapter")
    assert tokenizer.chat_template == AutoTokenizer.from_pretrained(tiny_model_dir).chat_template
    assert len(generate(model, tokenizer)) > 0
    # The adapter changed the model: LoRA B matrices are no longer zero.
    assert any(p.abs().sum() > 0 for n, p in model.named_parameters() if "lora_B" in n)


def test_full_sft_writes_a_model_that_loads(tmp_path, tiny_model_no_template, small_data):
    preset = write_preset(
        tmp_path / "p.toml", tiny_model_no_template, small_data,
        train={"method": "full", "learning_rate": 1e-3, "max_steps": 12, "packing": True},
    )
    result = tuitune("run", str(preset))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "done: run" in result.stdout
    run = run_dir_from(result.stdout)
    assert falls(step_losses(run))

    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(run / "model")
    tokenizer = AutoTokenizer.from_pretrained(run / "model")
    # The base had no chat template: tuitune's default one was used and saved with the model.
    assert tokenizer.chat_template == DEFAULT_CHAT_TEMPLATE
    assert len(generate(model, tokenizer)) > 0
    assert not (run / "adapter").exists()


def test_uncached_hub_model_offline_fails_clearly(tmp_path, small_data, tuitune_home):
    """Refused before a run exists (it used to fail inside the worker, after creating one)."""
    preset = write_preset(tmp_path / "p.toml", "no-such-org/no-such-model", small_data)
    result = tuitune("run", str(preset), env_home=tuitune_home)
    assert result.returncode == 2
    assert "Traceback" not in result.stdout + result.stderr
    assert "no-such-org/no-such-model: not in the Hugging Face cache" in result.stderr and "HF_HUB_OFFLINE" in result.stderr
    assert not (tuitune_home / "runs").exists() or not any((tuitune_home / "runs").iterdir())


def test_qlora_sft_on_cpu(tmp_path, tiny_model_dir, small_data):
    pytest.importorskip("bitsandbytes")
    preset = write_preset(tmp_path / "p.toml", tiny_model_dir, small_data, train={"method": "qlora", "max_steps": 10})
    result = tuitune("run", str(preset), "--json")
    assert result.returncode == 0, result.stderr
    run = run_dir_from(result.stderr)
    loading = next(e for e in read_events(run / "events.jsonl") if e.get("status") == "loading_model")
    assert loading["method"] == "qlora"
    assert falls(step_losses(run))
    assert (run / "adapter" / "adapter_model.safetensors").exists()


def events_of(run, type_):
    return [e for e in read_events(run / "events.jsonl") if e["type"] == type_]


def test_sigkill_then_resume_continues_from_checkpoint(tmp_path, tiny_model_dir, small_data):
    preset = write_preset(tmp_path / "p.toml", tiny_model_dir, small_data, train={"max_steps": 40, "save_steps": 4})
    front = subprocess.Popen(
        [sys.executable, "-m", "tuitune", "run", str(preset), "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    run = wait_for(lambda: next(iter((tmp_path / "home" / "runs").glob("*")), None), what="run dir")
    wait_for(lambda: events_of(run, "checkpoint"), what="first checkpoint")
    os.kill(read_state(run)["pid"], signal.SIGKILL)
    _, stderr = front.communicate(timeout=60)
    assert front.returncode == 1
    assert "crashed" in stderr

    listed = tuitune("runs", "list", "--json")
    assert json.loads(listed.stdout.splitlines()[0])["status"] == "crashed"
    checkpoint_step = int(complete_checkpoints(run / "checkpoints")[-1].name.split("-")[1])
    steps_before = [e["step"] for e in events_of(run, "step")]

    result = tuitune("runs", "resume", run.name, "--json")
    assert result.returncode == 0, result.stderr
    resumed = [e for e in read_events(run / "events.jsonl") if e["type"] == "status" and e["status"] == "resuming"]
    assert resumed[-1]["step"] == checkpoint_step > 0
    steps_after = [e["step"] for e in events_of(run, "step")][len(steps_before):]
    assert steps_after[0] == checkpoint_step + 1
    assert steps_after[-1] == 40
    state = read_state(run)
    assert state["status"] == "done" and state["step"] == 40 and state["attempts"] == 2


def test_ctrl_c_stops_with_checkpoint_and_resume_finishes(tmp_path, tiny_model_dir, small_data):
    preset = write_preset(tmp_path / "p.toml", tiny_model_dir, small_data, train={"max_steps": 60, "save_steps": 100})
    front = subprocess.Popen(
        [sys.executable, "-m", "tuitune", "run", str(preset)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    run = wait_for(lambda: next(iter((tmp_path / "home" / "runs").glob("*")), None), what="run dir")
    wait_for(lambda: events_of(run, "step"), what="first step")

    # One worker per run: a second resume while it trains is refused.
    refused = tuitune("runs", "resume", run.name)
    assert refused.returncode == 2 and "already running" in refused.stderr

    front.send_signal(signal.SIGINT)
    output, _ = front.communicate(timeout=120)
    assert front.returncode == 130, output
    assert "tuitune runs resume" in output
    state = read_state(run)
    assert state["status"] == "stopped"
    stopped_at = state["step"]
    assert stopped_at < 60
    assert complete_checkpoints(run / "checkpoints")[-1].name == f"checkpoint-{stopped_at}"

    result = tuitune("runs", "resume", run.name, "--json")
    assert result.returncode == 0, result.stderr
    state = read_state(run)
    assert state["status"] == "done" and state["step"] == 60
    shown = json.loads(tuitune("runs", "show", run.name, "--json").stdout)
    assert shown["status"] == "done"
