"""Export on the tiny model: merge, convert, quantize, load in llama.cpp, verify."""

import json

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
