"""The training coach, early stopping and probes, on real tiny runs through the command line."""

import json

import pytest

from tests.helpers import read_state, run_dir_from, tuitune, write_preset
from tuitune.events import read_events


def warnings_of(run_dir, code):
    return [e for e in read_events(run_dir / "events.jsonl") if e["type"] == "warning" and e.get("code") == code]


def test_absurd_learning_rate_warns_that_the_loss_explodes(tmp_path, tiny_model_dir, small_data):
    preset = write_preset(tmp_path / "p.toml", tiny_model_dir, small_data,
                          train={"method": "full", "learning_rate": 0.5, "max_steps": 6, "save_steps": 100})
    result = tuitune("run", str(preset), "-s", "data.val_fraction=0.0")
    run = run_dir_from(result.stdout)
    warned = warnings_of(run, "loss_exploding") + warnings_of(run, "loss_nan")
    assert warned, result.stdout + result.stderr
    assert "train.learning_rate" in warned[0]["message"] and "0.5" in warned[0]["message"]
    # The guidance saw it coming, before the first step.
    assert warnings_of(run, "lr_high")
    # And at the end the coach says nothing was learned, with the numbers and what to do.
    [late] = warnings_of(run, "not_learned")
    assert late["message"].startswith("not learned yet: the training loss on the answers is still")
    assert "tuitune runs extend" in late["message"] and "(now 0.5; usual" in late["message"]


def test_all_labels_masked_warns_and_fails_with_what_to_change(tmp_path, tiny_model_dir, small_data):
    # SmolLM2's template puts a default system prompt first: 16 tokens never reach an answer.
    preset = write_preset(tmp_path / "p.toml", tiny_model_dir, small_data, train={"max_seq_len": 16})
    result = tuitune("run", str(preset))
    assert result.returncode == 1
    run = run_dir_from(result.stdout)
    warned = warnings_of(run, "labels_masked")
    assert warned and "train.max_seq_len" in warned[0]["message"]
    assert read_state(run)["status"] == "failed" and "nothing to learn" in read_state(run)["message"]


def test_early_stopping_stops_when_validation_loss_turns_up_and_keeps_the_best(tmp_path, tiny_model_dir, small_data):
    # A rate this high first helps, then makes the validation loss turn up within a few evaluations.
    preset = write_preset(
        tmp_path / "p.toml", tiny_model_dir, small_data,
        train={"method": "full", "max_steps": 40, "learning_rate": 3e-2, "eval_steps": 2, "save_steps": 2},
        eval={"patience": 2, "probe_count": 1, "probe_tokens": 4},
    )
    result = tuitune("run", str(preset), "-s", "data.val_fraction=0.2")
    assert result.returncode == 0, result.stdout + result.stderr
    run = run_dir_from(result.stdout)
    events = read_events(run / "events.jsonl")
    evals = [e["loss"] for e in events if e["type"] == "eval"]
    state = read_state(run)
    assert state["step"] < 40 and evals[-1] > min(evals), evals  # stopped early, after the turn
    weights = state["weights"]
    assert weights["used"] == "best" and weights["step"] < weights["last_step"] == state["step"]
    assert weights["eval_loss"] == pytest.approx(min(evals))
    assert "best checkpoint: step" in result.stdout
    # The ETA counts the evaluations still to come (each with its probe and checkpoint) beyond the steps.
    first_eval = next(e["step"] for e in events if e["type"] == "eval")
    later = [e for e in events if e["type"] == "step" and e["step"] > first_eval and (40 - e["step"]) >= 2]
    assert later and all(e["eta_s"] > (40 - e["step"]) * e["step_time"] + 0.1 for e in later), later
    # The saved weights are the best checkpoint's, not the last step's (checkpoints are staged
    # and renamed, so the Trainer's record of the best one must follow the rename).
    import torch
    from safetensors.torch import load_file

    best = run / "checkpoints" / f"checkpoint-{weights['step']}"
    saved, kept = load_file(run / "model" / "model.safetensors"), load_file(best / "model.safetensors")
    assert kept.keys() & saved.keys() and all(torch.equal(saved[k], kept[k]) for k in kept.keys() & saved.keys())
    trainer_state = json.loads((run / "checkpoints" / f"checkpoint-{state['step']}" / "trainer_state.json").read_text())
    assert trainer_state["best_model_checkpoint"] == str(best)
    # Probes: the base model's answer at step 0, one per evaluation, and base vs tuned at the end.
    probes = [e for e in events if e["type"] == "probe"]
    assert probes[0]["label"] == "base" and probes[-1]["label"] == "tuned"
    assert len([p for p in probes if p["label"] == "eval"]) == len(evals)
    samples = json.loads((run / "samples.json").read_text())
    assert len(samples["prompts"]) == len(samples["base"]) == len(samples["tuned"]) == 1
    assert samples["tuned_step"] == weights["step"]
    shown = tuitune("runs", "show", run.name)
    assert "best checkpoint: step" in shown.stdout and samples["prompts"][0] in shown.stdout


# The coach's rules on logged values, through a real callback and event file (no trainer needed).

def coach_events(tmp_path, losses, evals=(), lr=5e-4, max_steps=20):
    from transformers import TrainerState

    from tuitune.events import EventWriter
    from tuitune.train.coach import CoachCallback

    path = tmp_path / "events.jsonl"
    with EventWriter(path) as events:
        coach = CoachCallback(events, learning_rate=lr, usual_lr=5e-4, early_stopping=True)
        state = TrainerState(max_steps=max_steps)
        evals = dict(evals)
        for step, loss in enumerate(losses, start=1):
            state.global_step = step
            coach.on_log(None, state, None, logs={"loss": loss, "grad_norm": 1.0})
            if step in evals:
                coach.on_log(None, state, None, logs={"eval_loss": evals[step]})
    return {e["code"]: e for e in read_events(path) if e["type"] == "warning"}


def test_coach_is_quiet_on_a_healthy_run(tmp_path):
    losses = [3.0 - 0.1 * i for i in range(20)]
    assert coach_events(tmp_path, losses, {5: 2.8, 10: 2.4, 15: 2.2, 20: 2.1}) == {}


def test_coach_names_overfitting_and_the_best_step(tmp_path):
    losses = [3.0 - 0.1 * i for i in range(20)]
    warned = coach_events(tmp_path, losses, {5: 2.8, 10: 2.5, 15: 2.7, 20: 2.9})
    assert list(warned) == ["overfitting"]  # once, though the loss rose twice
    assert "step 10" in warned["overfitting"]["message"] and warned["overfitting"]["step"] == 15


def test_coach_flat_loss_at_a_low_rate_says_raise_it(tmp_path):
    warned = coach_events(tmp_path, [5.0, 5.1, 4.9, 5.0] * 4, lr=1e-6)
    assert "loss_flat" in warned and "raise train.learning_rate" in warned["loss_flat"]["message"]


def test_coach_nan_loss_says_lower_the_rate(tmp_path):
    warned = coach_events(tmp_path, [3.0, 2.9, float("nan")], lr=0.5)
    assert "lower train.learning_rate" in warned["loss_nan"]["message"] and "0.5" in warned["loss_nan"]["message"]
