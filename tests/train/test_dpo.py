"""DPO: real TRL preference training on the tiny Llama (CPU), started from presets and from earlier
runs (`run:<id>`), with reward metrics in the events and the display, SIGKILL + resume, export
and chat on the result, and the LLaMA-Factory DPO demo file."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import CONFORMANCE, read_state, run_dir_from, tuitune, write_preset
from tests.train.support import mean, preset_with, steps
from tests.waits import wait_for
from tuitune.events import read_events
from tuitune.runs.checkpoints import complete_checkpoints

LLAMA_FACTORY = CONFORMANCE / "llama-factory"
DPO = {"stage": "dpo", "learning_rate": 5e-3}




@pytest.fixture(scope="module")
def sft_lora_run(tmp_path_factory, tiny_model_dir, small_data) -> Path:
    """A short LoRA SFT run: the starting point of SFT → DPO."""
    folder = tmp_path_factory.mktemp("sft")
    preset = write_preset(folder / "p.toml", tiny_model_dir, small_data, train={"max_steps": 4, "save_steps": 100})
    result = tuitune("run", str(preset), env_home=folder / "home")
    assert result.returncode == 0, result.stdout + result.stderr
    return run_dir_from(result.stdout)








def test_sft_then_dpo_from_the_run_survives_sigkill_and_learns_the_preference(tmp_path, sft_lora_run, pairs):
    preset = write_preset(tmp_path / "dpo.toml", f"run:{sft_lora_run}", pairs,
                          train={**DPO, "max_steps": 12, "save_steps": 4})
    dry = tuitune("run", str(preset), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert f'path = "run:{sft_lora_run}"' in dry.stdout  # pinned: the run's folder, outside this home
    assert "its adapter merged into" in dry.stdout and "dpo:    beta 0.1, loss sigmoid" in dry.stdout

    front = subprocess.Popen([sys.executable, "-m", "tuitune", "run", str(preset), "--json"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    run = wait_for(lambda: next(iter((tmp_path / "home" / "runs").glob("*")), None), 300, "run dir")
    wait_for(lambda: any(e["type"] == "checkpoint" for e in read_events(run / "events.jsonl")), 300, "first checkpoint")
    os.kill(read_state(run)["pid"], signal.SIGKILL)
    front.communicate(timeout=60)
    assert front.returncode == 1
    checkpoint = int(complete_checkpoints(run / "checkpoints")[-1].name.split("-")[1])
    before = len(steps(run))

    result = tuitune("runs", "resume", run.name)  # the human display this time
    assert result.returncode == 0, result.stdout + result.stderr
    assert "margin +" in result.stdout and "acc " in result.stdout
    after = steps(run)[before:]
    assert after[0]["step"] == checkpoint + 1 and after[-1]["step"] == 12
    assert read_state(run)["status"] == "done"

    # Every logged step carries the reward metrics; resumed or not, the margin grew and the
    # chosen answers win.
    history = {e["step"]: e for e in steps(run)}
    keys = {"reward_chosen", "reward_rejected", "reward_margin", "reward_accuracy", "logp_chosen", "logp_rejected"}
    assert all(keys <= set(e) for e in history.values())
    # Step 1 scores the untrained adapter against the reference: zero rewards prove the reference
    # is the starting point (the SFT result), not the SFT run's original base.
    assert abs(history[1]["reward_chosen"]) < 1e-4 and abs(history[1]["reward_rejected"]) < 1e-4
    margins = [history[s]["reward_margin"] for s in sorted(history)]
    assert mean(margins[-4:]) > mean(margins[:4]) + 0.1, margins
    assert mean([history[s]["reward_accuracy"] for s in sorted(history)][-4:]) >= 0.75
    evals = [e for e in read_events(run / "events.jsonl") if e["type"] == "eval"]
    assert evals and "reward_margin" in evals[-1]

    data = next(e for e in read_events(run / "events.jsonl") if e["type"] == "data")
    assert data["format"] == "preference" and data["rejected"] >= 1  # the degenerate pair, counted
    report = json.loads((run / "data" / "report.json").read_text())
    assert report["steps"]["degenerate_pair"] == 1
    # The DPO adapter trains on top of the SFT result: SFT's adapter merged once into a cache.
    assert (tmp_path / "home" / "cache" / "merged" / sft_lora_run.name / "model.safetensors").exists()
    assert (run / "adapter" / "adapter_model.safetensors").exists()


def test_full_dpo_with_precomputed_reference_exports_a_verified_gguf_and_chats(tmp_path, terse_export):
    """Full DPO from a full fine-tune that answers "Aye." (run:<path>), preferring it over "Nay.",
    with the reference log-probs precomputed: the GGUF verifies, and chat answers."""
    terse_run, _ = terse_export
    rows = [{"prompt": f"Question number {i}: what do you say?", "chosen": "Aye.", "rejected": "Nay, never."}
            for i in range(24)]
    data = tmp_path / "aye.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    preset = preset_with(tmp_path / "p.toml", f"run:{terse_run}", data, {"dedup_near": False},
                         train={**DPO, "method": "full", "max_steps": 6, "learning_rate": 1e-4},
                         dpo={"precompute_ref": True},
                         export={"gguf": ["q8_0"], "ollama": False})
    result = tuitune("run", str(preset), "--json")
    assert result.returncode == 0, result.stderr
    run = run_dir_from(result.stderr)
    assert json.loads(result.stdout.splitlines()[-1])["export"] == "passed"
    report = json.loads((run / "gguf" / "report.json").read_text())
    assert report["merge"]["from"] == "model"
    assert "reference log-probs precomputed" in tuitune("run", str(preset), "--dry-run").stdout
    margins = [e["reward_margin"] for e in steps(run)]
    assert margins[-1] > margins[0]

    reply = tuitune("chat", str(run), "--prompt", "Question number 99: what do you say?", "--temperature", "0",
                    "--max-tokens", "8")
    assert reply.returncode == 0, reply.stderr
    assert reply.stdout.strip() == "Aye."


@pytest.mark.skipif(not LLAMA_FACTORY.is_dir(), reason=f"conformance data not found at {LLAMA_FACTORY}")
def test_llama_factory_dpo_demo_trains_full_with_a_reference_copy(tmp_path, tiny_model_dir):
    preset = preset_with(
        tmp_path / "p.toml", tiny_model_dir, LLAMA_FACTORY / "dpo_en_demo.json", {"val_fraction": 0.0},
        train={**DPO, "method": "full", "max_steps": 3, "learning_rate": 1e-4, "batch_size": 2, "max_seq_len": 192},
        dpo={"max_prompt_len": 64, "max_completion_len": 96},
    )
    result = tuitune("run", str(preset), "--json")
    assert result.returncode == 0, result.stderr
    run = run_dir_from(result.stderr)
    events = list(read_events(run / "events.jsonl"))
    data = next(e for e in events if e["type"] == "data")
    assert data["format"] == "preference" and data["train_rows"] > 250
    logged = steps(run)
    assert [e["step"] for e in logged] == [1, 2, 3]
    assert all(e["loss"] == e["loss"] and "reward_margin" in e for e in logged)  # finite, with rewards
    assert (run / "model" / "model.safetensors").exists()


def test_shipped_dpo_preset_dry_run_describes_the_run():
    from tuitune.models.bundled import presets_dir

    result = tuitune("run", str(presets_dir() / "demo-cpu-dpo.toml"), "--dry-run")
    assert result.returncode == 0, result.stderr
    assert 'stage = "dpo"' in result.stdout and "[dpo]" in result.stdout
    assert "pirate-pairs.jsonl (preference): 91 train / 5 validation rows" in result.stdout
    assert "dpo:    beta 0.1, loss sigmoid, prompt <= 96, answers <= 160 tokens; reference: the starting " \
           "model, as the base with the adapter off (no copy)" in result.stdout


def test_encode_pair_keeps_the_prompt_end_and_the_answer_start(tokenizer):
    from tuitune.data.tokenize import encode_pair, render

    row = {"prompt": [{"role": "user", "content": "word " * 50}],
           "chosen": [{"role": "assistant", "content": "yes " * 30}],
           "rejected": [{"role": "assistant", "content": "no"}]}
    full = encode_pair(tokenizer, row)
    prompt_text = render(tokenizer, row["prompt"], generation_prompt=True)
    assert tokenizer.decode(full["prompt_ids"]) == prompt_text
    assert tokenizer.decode(full["rejected_ids"]).startswith("no<|im_end|>")
    cut = encode_pair(tokenizer, row, max_prompt=8, max_completion=5)
    assert cut["prompt_ids"] == full["prompt_ids"][-8:]  # ends with the assistant header
    assert tokenizer.decode(cut["prompt_ids"]).endswith("<|im_start|>assistant\n")
    assert cut["chosen_ids"] == full["chosen_ids"][:5]
    assert cut["rejected_ids"] == full["rejected_ids"][:5]


def test_planner_counts_dpo_memory():
    from tuitune.hardware.estimate import estimate
    from tuitune.hardware.setup import Setup
    from tuitune.hardware.shapes import shape_from_config

    shape = shape_from_config({"model_type": "llama", "vocab_size": 32000, "hidden_size": 4096,
                               "intermediate_size": 11008, "num_hidden_layers": 32, "num_attention_heads": 32,
                               "num_key_value_heads": 32}, "llama-7b")
    for method in ("full", "lora", "qlora"):
        sft = estimate(shape, Setup(method, seq_len=1024, batch=2))
        dpo = estimate(shape, Setup(method, seq_len=1024, batch=2, stage="dpo"))
        pre = estimate(shape, Setup(method, seq_len=1024, batch=2, stage="dpo", precompute_ref=True))
        assert dpo.peak_bytes > pre.peak_bytes >= sft.peak_bytes
        assert pre.phases["forward"] > sft.phases["forward"]
        assert "reference_forward" in dpo.phases and "reference_forward" not in pre.phases
        # Two sequences per row: the same activations as SFT with twice the batch.
        twice = estimate(shape, Setup(method, seq_len=1024, batch=4))
        assert pre.phases["forward"] == twice.phases["forward"]
    full = estimate(shape, Setup("full", seq_len=1024, batch=2, stage="dpo"))
    assert full.breakdown["reference_weights"] == shape.total_params * 2  # a bf16 copy
    assert "reference_weights" not in estimate(shape, Setup("lora", seq_len=1024, batch=2, stage="dpo")).breakdown


def test_bad_run_references_fail_before_a_worker_starts(tmp_path, pairs, tiny_model_dir, small_data):
    preset = write_preset(tmp_path / "p.toml", "run:no-such-run", pairs, train=DPO)
    result = tuitune("run", str(preset))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "model.path 'run:no-such-run': no run 'no-such-run'" in result.stderr
    assert not (tmp_path / "home" / "runs").exists() or not any((tmp_path / "home" / "runs").iterdir())
    # SFT data for a DPO preset: the data check names the file and the kind it needs.
    wrong = write_preset(tmp_path / "w.toml", tiny_model_dir, small_data, train=DPO)
    result = tuitune("run", str(wrong), "--dry-run")
    assert result.returncode == 2 and str(small_data) in result.stderr and "Traceback" not in result.stderr


@pytest.mark.gpu
def test_qlora_dpo_on_cuda(tmp_path, tiny_model_dir, pairs):
    preset = write_preset(tmp_path / "p.toml", tiny_model_dir, pairs,
                          train={**DPO, "method": "qlora", "device": "cuda", "max_steps": 12})
    result = tuitune("run", str(preset), "--json")
    assert result.returncode == 0, result.stderr
    run = run_dir_from(result.stderr)
    loading = next(e for e in read_events(run / "events.jsonl") if e.get("status") == "loading_model")
    assert loading["method"] == "qlora" and loading["device"] == "cuda"
    margins = [e["reward_margin"] for e in steps(run)]
    assert mean(margins[-3:]) > mean(margins[:3])
    assert (run / "adapter" / "adapter_model.safetensors").exists()
