"""Export on the tiny model: merge, convert, quantize, load in llama.cpp, verify."""

import json

import pytest

from tests.helpers import read_state, run_dir_from, tuitune, write_preset


def test_trained_run_exports_verified_gguf(terse_export):
    run, result = terse_export
    assert result.returncode == 0, result.stderr
    assert read_state(run)["status"] == "done"
    finished = json.loads(result.stdout.splitlines()[-1])
    report = json.loads((run / "gguf" / "report.json").read_text())
    assert finished["export"] == "passed", report["verification"]
    assert report["merge"]["from"] == "model"
    assert [f["quant"] for f in report["files"]] == ["q8_0", "q4_0"]
    assert report["verification"]["template_match"] is True
    assert report["verification"]["agreement"] >= 0.9
    assert set(report["verification"]["perplexity"]) == {"f16", "q8_0", "q4_0"}
    assert not (run / "gguf" / "test-f16.gguf").exists()  # the intermediate is removed

    from llama_cpp import Llama

    llm = Llama(str(run / "gguf" / "test-q8_0.gguf"), n_ctx=256, verbose=False)
    try:
        assert "<|im_start|>" in llm.metadata["tokenizer.chat_template"]
        reply = llm.create_chat_completion([{"role": "user", "content": "Hi there"}], temperature=0, max_tokens=20)
        assert reply["choices"][0]["finish_reason"] == "stop"
        assert reply["choices"][0]["message"]["content"].strip() == "Aye."
    finally:
        llm.close()
    modelfile = (run / "gguf" / "Modelfile").read_text()
    assert modelfile.startswith("FROM ./test-q8_0.gguf")
    assert 'PARAMETER stop "<|im_end|>"' in modelfile
    assert "<|im_start|>{{ .Role }}" in modelfile


def test_model_that_never_stops_fails_verification(tmp_path, tiny_model_dir, small_data):
    preset = write_preset(tmp_path / "p.toml", tiny_model_dir, small_data, train={"max_steps": 1})
    run = run_dir_from(tuitune("run", str(preset)).stdout)
    result = tuitune("export", run.name, "--quant", "q8_0", "--no-ollama")
    assert result.returncode == 1
    assert "export failed" in result.stdout and "Traceback" not in result.stdout + result.stderr
    report = json.loads((run / "gguf" / "report.json").read_text())
    assert report["status"] == "failed"
    assert "q8_0: 3 of 3 greedy answers did not stop within 200 tokens" in report["verification"]["reasons"][0]
    assert (run / "gguf" / "test-q8_0.gguf").exists()  # kept for inspection
    assert not (run / "gguf" / "Modelfile").exists()


def test_export_refuses_unknown_quant_and_unfinished_runs(tmp_path, tiny_model_dir, small_data):
    result = tuitune("export", "nope")
    assert result.returncode == 2 and "no run 'nope'" in result.stderr
    preset = write_preset(tmp_path / "p.toml", tiny_model_dir, small_data, train={"max_steps": 1})
    run = run_dir_from(tuitune("run", str(preset)).stdout)
    result = tuitune("export", run.name, "--quant", "q3_fancy")
    assert result.returncode == 2 and "unknown type(s) q3_fancy" in result.stderr


def test_template_mismatch_is_caught(terse_export):
    """A tokenizer whose template differs from the one in the GGUF fails verification, saying where."""
    from transformers import AutoTokenizer

    from tuitune.export.verify import Verification, check_template, open_gguf

    run, _ = terse_export
    tokenizer = AutoTokenizer.from_pretrained(run / "merged")
    tokenizer.chat_template = tokenizer.chat_template.replace("<|im_end|>", "")  # forgets the end token
    llm = open_gguf(run / "gguf" / "test-q8_0.gguf")
    try:
        result = Verification()
        check_template(result, tokenizer, llm, [[{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Aye."}]])
    finally:
        llm.close()
    assert result.passed is False and result.template_match is False
    assert "chat template mismatch" in result.reasons[0] and "position" in result.reasons[0]


def test_export_refuses_before_writing_when_the_disk_is_short(terse_export, tmp_path):
    """A real small filesystem (tmpfs) holding a finished run: the export is refused before the
    merge writes anything, with the sizes in the message, and the run is left as it was."""
    import shutil
    import subprocess

    from tests.helpers import tuitune
    from tuitune.events import read_events

    run, _ = terse_export
    disk = tmp_path / "small-disk"
    disk.mkdir()
    used = sum(f.stat().st_size for d in ("model", "data") for f in (run / d).rglob("*") if f.is_file())
    size_kib = used // 1024 + 1024  # the run plus 1 MiB; the export needs far more
    if subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kib}k", "tmpfs", str(disk)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        home = disk / "home"
        copy = home / "runs" / run.name
        shutil.copytree(run, copy, ignore=shutil.ignore_patterns("gguf", "merged", "checkpoints", "*.lock"))
        before = sorted(p.relative_to(copy) for p in copy.rglob("*") if p.suffix not in (".jsonl", ".log", ".lock"))
        result = tuitune("export", run.name, "--quant", "q8_0", env_home=home)
        assert result.returncode == 1
        errors = [e["message"] for e in read_events(copy / "events.jsonl") if e["type"] == "error"]
        assert len(errors) == 1 and "not enough free disk space" in errors[0] and "MiB are free" in errors[0]
        assert not (copy / "merged").exists()
        after = sorted(p.relative_to(copy) for p in copy.rglob("*") if p.suffix not in (".jsonl", ".log", ".lock"))
        assert [p for p in after if not str(p).startswith("gguf")] == before
    finally:
        subprocess.run(["umount", str(disk)], check=False)


@pytest.mark.gpu
def test_a_qlora_run_merges_into_a_16_bit_base_and_exports(tmp_path, tiny_model_dir, small_data):
    """QLoRA trains on a 4-bit base; the export must reload the base in 16 bits before merging
    (merging into the 4-bit copy and quantizing again is the classic quality loss)."""
    preset = write_preset(tmp_path / "p.toml", tiny_model_dir, small_data,
                          train={"method": "qlora", "device": "cuda", "max_steps": 6},
                          export={"gguf": ["q8_0"], "ollama": False})
    result = tuitune("run", str(preset), "--json", env_home=tmp_path / "home")
    assert result.returncode == 0, result.stderr[-2000:]
    run = run_dir_from(result.stderr)
    report = json.loads((run / "gguf" / "report.json").read_text())
    assert report["status"] == "passed", report["verification"]["reasons"]
    assert report["merge"]["from"] == "adapter" and report["merge"]["dtype"] in ("bfloat16", "float16")
    merged_config = json.loads((run / "merged" / "config.json").read_text())
    assert "quantization_config" not in merged_config
    assert read_state(run)["method"] == "qlora"
