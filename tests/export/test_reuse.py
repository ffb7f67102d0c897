"""Export only what is new: one more GGUF type reuses the merged model, the 16-bit GGUF and the
types verified before, each checked against a marker of the weights it came from."""

from __future__ import annotations

import json
import os
import shutil

from tests.helpers import tuitune
from tuitune.events import read_events
from tuitune.export import reuse
from tuitune.runs.store import RunDir


def stages(run_path, since_seq: int) -> dict[str, str]:
    return {e["stage"]: e["state"] for e in read_events(run_path / "events.jsonl")
            if e["type"] == "export" and e["seq"] > since_seq and e["state"] != "started"}


def last_seq(run_path) -> int:
    return read_events(run_path / "events.jsonl")[-1]["seq"]


def test_one_more_type_builds_only_that_type_and_shows_verification_progress(terse_export, tmp_path):
    original, _ = terse_export
    home = tmp_path / "home"
    run = home / "runs" / original.name
    shutil.copytree(original, run, ignore=shutil.ignore_patterns("*.lock"))  # times kept: still the same weights
    q8 = run / "gguf" / "test-q8_0.gguf"
    q8_time, merged_time = q8.stat().st_mtime_ns, (run / "merged" / "model.safetensors").stat().st_mtime_ns
    before = last_seq(run)

    result = tuitune("export", run.name, "--quant", "q8_0,q4_0,q5_0", env_home=home)
    assert result.returncode == 0, result.stdout + result.stderr
    assert stages(run, before) == {"merge": "reused", "convert": "reused", "quantize q8_0": "reused",
                                   "quantize q4_0": "reused", "quantize q5_0": "done", "verify": "done"}
    checks = [(e["index"], e["total"], e["check"]) for e in read_events(run / "events.jsonl")
              if e["type"] == "verify" and e["seq"] > before]
    assert checks == [(1, 2, "perplexity q5_0"), (2, 2, "greedy answers of q5_0 stop")]
    assert "export: merge not needed: merged/ holds this result's weights already" in result.stdout
    assert "export: verify 1/2: perplexity q5_0 …" in result.stdout
    assert q8.stat().st_mtime_ns == q8_time and (run / "merged" / "model.safetensors").stat().st_mtime_ns == merged_time
    report = json.loads((run / "gguf" / "report.json").read_text())
    assert report["status"] == "passed" and [f["quant"] for f in report["files"]] == ["q8_0", "q4_0", "q5_0"]
    assert report["files"][0]["path"] == str(q8)  # the kept entry names the file where it is now
    assert set(report["verification"]["perplexity"]) == {"f16", "q8_0", "q4_0", "q5_0"}
    assert {s["file"] for s in report["verification"]["stops"]} == {"q8_0", "q4_0", "q5_0"}
    assert report["verification"]["agreement"] >= 0.9 and report["verification"]["template_match"] is True
    assert not (run / "gguf" / "report.previous.json").exists()

    # Other weights (as after training again): the marker no longer matches, everything is rebuilt.
    weights = run / "model" / "model.safetensors"
    os.utime(weights, ns=(weights.stat().st_atime_ns, weights.stat().st_mtime_ns + 10**9))
    before = last_seq(run)
    result = tuitune("export", run.name, "--quant", "q8_0", "--no-ollama", env_home=home)
    assert result.returncode == 0, result.stdout + result.stderr
    assert stages(run, before) == {"merge": "done", "convert": "done", "quantize q8_0": "done", "verify": "done"}
    assert q8.stat().st_mtime_ns != q8_time


def test_markers_refuse_what_changed_or_was_left_half_written(tmp_path, tuitune_home):
    from tuitune.models.bundled import presets_dir
    from tuitune.preset import load_preset
    from tuitune.runs.store import create_run

    run = create_run(load_preset(presets_dir() / "demo-cpu.toml"))
    run.adapter.mkdir()
    (run.adapter / "adapter_model.safetensors").write_bytes(b"x" * 100)
    source = reuse.source_of(run)
    merged = run.path / "merged"
    merged.mkdir()
    (merged / "model.safetensors").write_bytes(b"y" * 200)
    assert not reuse.intact(merged, source)  # never marked: a merge killed before its end
    reuse.mark(merged, source)
    (merged / "model-f16.gguf").write_bytes(b"g" * 10)  # the 16-bit GGUF beside it is its own thing
    assert reuse.intact(merged, source)
    with open(merged / "model.safetensors", "ab") as f:
        f.write(b"more")
    assert not reuse.intact(merged, source)
    reuse.mark(merged, source)
    run.update_state(step=7)  # resumed and trained further
    assert not reuse.intact(merged, reuse.source_of(RunDir(run.path)))

    previous = {"status": "passed", "source": source, "verification": {"stops": []},
                "files": [{"quant": "q8_0", "path": "/elsewhere/m-q8_0.gguf", "bytes": 5},
                          {"quant": "q4_0", "path": "/elsewhere/m-q4_0.gguf", "bytes": 5}]}
    gguf = run.path / "gguf"
    gguf.mkdir()
    (gguf / "m-q8_0.gguf").write_bytes(b"12345")
    (gguf / "m-q4_0.gguf").write_bytes(b"123")  # not what was verified
    assert list(reuse.kept_types(previous, source, ["q8_0", "q4_0"], gguf)) == ["q8_0"]
    assert reuse.kept_types({**previous, "status": "failed"}, source, ["q8_0"], gguf) == {}
    assert reuse.kept_types(previous, {**source, "step": 99}, ["q8_0"], gguf) == {}
