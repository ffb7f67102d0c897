"""`tuitune sweep` through the real CLI, Optuna and workers on the tiny model: a grid of two
learning rates is two queued runs, ranked by validation loss; the hopeless one is pruned early."""

from __future__ import annotations

import json

import pytest

from tests.helpers import tuitune, write_preset


def test_grid_sweep_ranks_two_learning_rates_and_prunes_the_bad_one(tmp_path, tiny_model_dir, small_data):
    home = tmp_path / "home"
    preset = write_preset(tmp_path / "p.toml", tiny_model_dir, small_data,
                          train={"max_steps": 8, "save_steps": 2, "eval_steps": 2})
    # Grid trials run in the order given: the good rate finishes first, then the one that barely
    # moves is worse than it at the first evaluation and stops there.
    result = tuitune("sweep", str(preset), "--param", "train.learning_rate=5e-3,1e-7", "-s", "train.seed=3",
                     "--json", env_home=home)
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout)
    assert set(out) == {"sweep", "trials", "best"}
    good, bad = out["trials"]
    assert set(good) >= {"run", "params", "eval_loss", "status"}
    assert good["params"] == {"train.learning_rate": 5e-3} and good["status"] == "done"
    assert bad["params"] == {"train.learning_rate": 1e-7} and bad["status"] == "pruned"
    assert out["best"] == good["run"] and good["eval_loss"] < bad["eval_loss"]

    # The pruned trial stopped at its first evaluation, not at step 8; both are ordinary runs.
    from tuitune.events import read_events

    bad_events = read_events(home / "runs" / bad["run"] / "events.jsonl")
    steps = [e["step"] for e in bad_events if e["type"] == "step"]
    assert max(steps) == 2 and [e["step"] for e in bad_events if e["type"] == "pruned"] == [2]
    config = (home / "runs" / bad["run"] / "config.toml").read_text()
    assert "learning_rate = 1e-07" in config and "seed = 3" in config
    listed = tuitune("runs", "list", "--json", env_home=home)
    assert {good["run"], bad["run"]} <= {json.loads(line)["id"] for line in listed.stdout.splitlines()}

    shown = tuitune("sweep", "--show", out["sweep"], env_home=home)
    assert shown.returncode == 0 and f"best: {good['run']}" in shown.stdout
    lines = [line for line in shown.stdout.splitlines() if line.strip().startswith(("1.", "2."))]
    assert good["run"] in lines[0] and "pruned" in lines[1]


@pytest.mark.parametrize("args, words", [
    (["--param", "train.learning_rate"], "write KEY=V1,V2"),
    (["--param", "train.nonesuch=1,2"], "nonesuch"),
    (["--param", "train.learning_rate=1e-5..1e-3"], "needs --trials"),
    (["--param", "train.learning_rate=1e-4", "--random"], "--random needs --trials"),
])
def test_bad_sweep_options_are_one_clear_line(tmp_path, tiny_model_dir, small_data, args, words):
    preset = write_preset(tmp_path / "p.toml", tiny_model_dir, small_data)
    result = tuitune("sweep", str(preset), *args, env_home=tmp_path / "home")
    assert result.returncode == 2 and words in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "home" / "runs").exists()


def test_parse_param_and_random_trials_ask_at_start(tmp_path, tiny_model_dir, small_data):
    """Random search: each trial's values are drawn when it starts (prepare_trial), in range."""
    from tuitune.preset import load_preset
    from tuitune.runs import sweep
    from tuitune.runs.store import create_run

    p = sweep.parse_param("train.learning_rate=1e-5..1e-3")
    assert p.span and p.values == [1e-5, 1e-3]
    assert sweep.parse_param("lora.r=8,16,8").values == [8, 16]
    file = write_preset(tmp_path / "p.toml", tiny_model_dir, small_data)
    made = sweep.create_sweep(file, [p], [], "random", 2, "t")
    drawn = []
    for _ in range(2):
        run = create_run(load_preset(file))
        sweep.add_trial(made, run)
        sweep.prepare_trial(run)
        drawn.append(run.preset().train.learning_rate)
        assert sweep.read_tag(run)["params"] == {"train.learning_rate": drawn[-1]}
    assert all(1e-5 <= v <= 1e-3 for v in drawn) and drawn[0] != drawn[1]
