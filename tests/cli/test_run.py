"""`tuitune run` refuses bad input before it starts a worker: exit 2, no run directory."""

import hashlib
import subprocess

from tests.helpers import NVML_RECORDINGS, shape_only_model, tuitune, write_preset


def test_bad_data_fails_before_any_run_is_created(tmp_path, tuitune_home):
    data = tmp_path / "broken.jsonl"
    data.write_text('{"prompt": "a", "completion": "b"}\n{"prompt": "c", "completion": \n', encoding="utf-8")
    digest = hashlib.sha256(data.read_bytes()).hexdigest()
    preset = write_preset(tmp_path / "p.toml", "bundled:smollm2-135m-instruct", data)
    result = tuitune("run", str(preset))
    assert result.returncode == 2
    assert f"{data}:2: invalid JSON" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tuitune_home / "runs").exists() or not any((tuitune_home / "runs").iterdir())
    assert hashlib.sha256(data.read_bytes()).hexdigest() == digest


def test_runs_commands_on_unknown_ids_are_clear(tuitune_home):
    for args in (["runs", "show", "nope"], ["runs", "resume", "nope"], ["runs", "stop", "nope"]):
        result = tuitune(*args)
        assert result.returncode == 2, args
        assert "no run 'nope'" in result.stderr and "Traceback" not in result.stderr


def test_runs_list_empty_and_no_args_prints_help(tuitune_home):
    assert "no runs yet" in tuitune("runs", "list").stdout
    result = tuitune()
    assert result.returncode == 0 and "tuitune demo" in result.stdout


def test_run_refuses_a_preset_that_cannot_fit_the_gpu(tmp_path, tuitune_home, small_data, monkeypatch):
    """On a (recorded) RTX 4090, full fine-tuning of an 8B model is refused with the planner's advice."""
    monkeypatch.setenv("TUITUNE_NVML_REPLAY", str(NVML_RECORDINGS / "rtx4090.json"))
    preset = write_preset(tmp_path / "p.toml", shape_only_model("Llama-3.1-8B", tmp_path), small_data,
                          train={"method": "full", "device": "auto", "max_seq_len": 2048})
    result = tuitune("run", str(preset))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "GiB" in result.stderr and "--force" in result.stderr and "Traceback" not in result.stderr
    assert not (tuitune_home / "runs").exists() or not any((tuitune_home / "runs").iterdir())


def test_runs_delete_asks_for_yes_without_a_terminal(tuitune_home):
    from tuitune.preset import parse_preset
    from tuitune.runs.store import create_run

    run = create_run(parse_preset('[model]\npath = "bundled:smollm2-135m-instruct"\n[data]\npath = "bundled:pirate"\n'))
    refused = tuitune("runs", "delete", run.id, stdin=subprocess.DEVNULL)
    assert refused.returncode == 2 and "add --yes" in refused.stderr and run.id in refused.stderr
    assert run.path.exists()
    done = tuitune("runs", "delete", run.id[-4:], "--yes")
    assert done.returncode == 0, done.stderr
    assert f"deleted run {run.id}" in done.stdout and not run.path.exists()
