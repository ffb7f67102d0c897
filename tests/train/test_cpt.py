"""Continued pretraining through the real worker on the tiny Llama: documents in (one a real PDF),
loss falling, held-out perplexity in every evaluation (the base's at step 0) and falling, probes
as plain completions, a GGUF llama.cpp loads, and SFT on top through `run:<id>`."""

import json
from pathlib import Path

import pytest

from tests.documents import corpus
from tests.helpers import exported_gguf, run_dir_from, tuitune, write_preset
from tests.train.support import killed_then_resumed
from tuitune.events import read_events

pytestmark = pytest.mark.slow  # a CPT run SIGKILLed and resumed, then exported

# Full: a random model's unigram statistics are in its embeddings, which LoRA does not train.
CPT = {"stage": "cpt", "method": "full", "max_steps": 24, "learning_rate": 3e-3, "batch_size": 2, "max_seq_len": 64,
       "save_steps": 8, "eval_steps": 8}


@pytest.fixture(scope="module")
def cpt_run(tmp_path_factory, tiny_model_dir) -> Path:
    """One CPT run (full) on the invented-facts corpus, exported to q8_0 after training; SIGKILLed
    while saving its last checkpoint and resumed from the one before."""
    folder = tmp_path_factory.mktemp("cpt")
    docs = corpus(folder / "docs")
    preset = write_preset(folder / "p.toml", tiny_model_dir, docs, train=CPT,
                          eval={"general": False, "probe_count": 1, "probe_tokens": 8},
                          export={"gguf": ["q8_0"], "ollama": False})
    preset.write_text(preset.read_text().replace("val_fraction = 0.1", "val_fraction = 0.25"))
    dry = tuitune("run", str(preset), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "(documents)" in dry.stdout and "train:  cpt" in dry.stdout
    return killed_then_resumed(preset, folder / "home", CPT["max_steps"], CPT["max_steps"] - CPT["save_steps"])


def events(run: Path, kind: str) -> list[dict]:
    return [e for e in read_events(run / "events.jsonl") if e["type"] == kind]


def test_cpt_lowers_loss_and_held_out_perplexity_and_probes_complete_text(cpt_run):
    data = events(cpt_run, "data")[0]
    assert data["format"] == "documents" and data["train_rows"] + data["val_rows"] == 12
    report = json.loads((cpt_run / "data" / "report.json").read_text())
    assert report["unreadable"][0]["path"].endswith("scan.pdf")
    assert any(json.loads(line)["text"].startswith("The town of Vellmor")  # the PDF's text, trained or held out
               for name in ("train.jsonl", "val.jsonl") for line in (cpt_run / "data" / name).read_text().splitlines())
    losses = [e["loss"] for e in events(cpt_run, "step")]
    assert sum(losses[-4:]) / 4 < sum(losses[:4]) / 4 - 1.0, losses
    evals = list({e["step"]: e for e in events(cpt_run, "eval")}.values())  # the resumed attempt's, where two
    assert evals[0]["step"] == 0 and [e["step"] for e in evals[1:]] == [8, 16, 24]
    ppl = [e["perplexity"] for e in evals]
    assert all(abs(e["perplexity"] - 2.718281828 ** e["loss"]) < 1e-3 * e["perplexity"] for e in evals)
    assert ppl == sorted(ppl, reverse=True) and ppl[-1] < ppl[0] / 50, ppl  # measured: 49430 → 119
    probes = events(cpt_run, "probe")
    assert probes[0]["label"] == "base" and probes[0]["completion"] is True
    assert len(probes[0]["answers"][0]["prompt"].split()) == 8  # a held-out sentence start
    guidance = json.loads((cpt_run / "guidance.json").read_text())
    assert " windows, " in guidance["summary"]  # the rows the guidance counted
    # Every window is max_seq_len tokens (the last aside): the planner's rows.
    assert report["stats"]["tokens"]["max"] == 64 and report["windows"]["separator"] == "<|endoftext|>"


def test_cpt_result_keeps_the_chat_template_and_exports_a_gguf_llama_cpp_loads(cpt_run):
    template = (cpt_run / "model" / "chat_template.jinja")
    assert template.exists() and "<|im_start|>" in template.read_text()
    finished = events(cpt_run, "finished")[-1]
    assert finished["status"] == "done" and finished["export"] in ("passed", "failed")
    from llama_cpp import Llama

    gguf = exported_gguf(cpt_run)
    llm = Llama(str(gguf), n_ctx=128, verbose=False)
    try:
        assert llm.metadata.get("tokenizer.chat_template")
        out = llm("The town of", max_tokens=4, temperature=0)
        assert out["choices"][0]["text"] is not None
    finally:
        llm.close()


def test_sft_on_top_of_a_cpt_run_starts_from_its_weights(tmp_path, cpt_run, tiny_model_dir, small_data):
    from safetensors.torch import load_file

    preset = write_preset(tmp_path / "sft.toml", f"run:{cpt_run}", small_data,
                          train={"max_steps": 2, "save_steps": 100})
    result = tuitune("run", str(preset))
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    sft = run_dir_from(result.stdout)
    adapter = json.loads((sft / "adapter" / "adapter_config.json").read_text())
    # SFT's adapter sits on the CPT model
    assert Path(adapter["base_model_name_or_path"]).resolve() == (cpt_run / "model").resolve()
    start, base = load_file(cpt_run / "model" / "model.safetensors"), load_file(tiny_model_dir / "model.safetensors")
    name = "model.layers.0.self_attn.q_proj.weight"
    assert (start[name] - base[name]).abs().max() > 1e-3  # CPT's weights, not the original base's


def test_cpt_refuses_bad_inputs_before_starting(tmp_path, tiny_model_dir):
    empty = tmp_path / "empty"
    empty.mkdir()
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text(json.dumps({"prompt": "p", "chosen": "a", "rejected": "b"}) + "\n")
    for data, message in ((empty, "the folder holds no files"), (pairs, "no `text` column")):
        preset = write_preset(tmp_path / "p.toml", tiny_model_dir, data, train={"stage": "cpt"})
        result = tuitune("run", str(preset))
        assert result.returncode == 2, result.stdout + result.stderr
        assert message in result.stderr and "Traceback" not in result.stderr
