"""`tuitune runs extend` through the real CLI and worker on the tiny model: exactly N more steps
of the same run, its events and loss curve continuing, with a fresh schedule; and TensorBoard's
event files (`report_to`) inside the run directory, readable by TensorBoard."""

from __future__ import annotations

import json

import pytest

from tests.helpers import run_dir_from, tuitune, write_preset


@pytest.fixture(scope="module")
def extended(tmp_path_factory, tiny_model_dir, small_data):
    folder = tmp_path_factory.mktemp("extend")
    home = folder / "home"
    preset = write_preset(folder / "p.toml", tiny_model_dir, small_data,
                          train={"max_steps": 6, "save_steps": 3, "eval_steps": 3, "lr_scheduler": "cosine",
                                 "report_to": ["tensorboard"]})
    first = tuitune("run", str(preset), "--json", env_home=home)
    assert first.returncode == 0, first.stderr[-3000:]
    run = run_dir_from(first.stderr)
    before = (run / "events.jsonl").read_text().splitlines()
    more = tuitune("runs", "extend", run.name, "--steps", "4", "--json", env_home=home)
    return run, home, before, more


def _events(run):
    return [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()]


def test_extend_adds_exactly_n_steps_and_the_curve_continues(extended):
    run, home, before, more = extended
    assert more.returncode == 0, more.stderr[-3000:]
    events = _events(run)
    assert [json.loads(x) for x in before] == events[:len(before)]  # nothing rewritten
    assert [e["seq"] for e in events] == sorted({e["seq"] for e in events})  # numbered on
    steps = [e for e in events if e["type"] == "step"]
    assert [e["step"] for e in steps] == list(range(1, 11))
    assert all(e["total_steps"] == 10 for e in steps[6:])
    state = json.loads((run / "state.json").read_text())
    assert state["status"] == "done" and state["step"] == 10
    [ext] = [e for e in events if e["type"] == "extend"]
    assert (ext["from_step"], ext["to_step"], ext["added"]) == (6, 10, 4)
    # The first cosine ended near zero; the extension's own schedule starts again at the peak and decays.
    rates = {e["step"]: e["lr"] for e in steps}
    assert rates[7] > 10 * rates[6] and rates[7] > rates[8] > rates[9]
    # Still learning from the first run's weights: the losses after step 6 go on from where it was.
    losses = [e["loss"] for e in steps]
    assert max(losses[6:]) < losses[0]
    assert (run / "checkpoints" / "checkpoint-10").is_dir() and (run / "adapter" / "adapter_model.safetensors").exists()
    shown = tuitune("runs", "show", run.name, env_home=home)
    assert "steps 6 → 10 (+4" in shown.stdout


def test_tensorboard_event_files_appear_and_parse(extended):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run, home, _, _ = extended
    folder = run / "tensorboard"
    files = list(folder.rglob("events.out.tfevents.*"))
    assert files, f"no TensorBoard event files under {folder}"
    losses = {}
    for f in files:
        acc = EventAccumulator(str(f))
        acc.Reload()
        if "train/loss" in acc.Tags()["scalars"]:
            losses.update({s.step: s.value for s in acc.Scalars("train/loss")})
    assert sorted(losses) == list(range(1, 11))  # both trainings, one folder
    shown = tuitune("runs", "show", run.name, env_home=home)
    assert f"tensorboard --logdir {folder}" in shown.stdout


def test_extend_refuses_what_it_cannot_continue(extended, tmp_path):
    run, home, _, _ = extended
    both = tuitune("runs", "extend", run.name, "--steps", "2", "--epochs", "1", env_home=home)
    assert both.returncode == 2 and "not allowed with" in both.stderr
    zero = tuitune("runs", "extend", run.name, "--steps", "0", env_home=home)
    assert zero.returncode == 2 and "must be above 0" in zero.stderr and "Traceback" not in zero.stderr
