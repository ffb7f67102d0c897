"""The PEFT variants and methods beyond LoRA (docs/methods.md), through the real worker.

Each method trains once, a few steps (SIGKILLed while saving the last checkpoint, then resumed:
every method resumes), and that run serves every test of it: the loss falls, what
should train changed and what should not did not, the result reloads, and (for the mergeable ones)
the export writes a verified GGUF that llama.cpp loads. The base is the session's `terse_export`
model (a tiny model that answers "Aye." and stops), so a short run on the pirate set lowers the
loss a lot and still leaves a model whose answers stop, which the export's verification demands.
"""

from __future__ import annotations

import json

import pytest

from tests.helpers import exported_gguf, read_state, step_losses, tuitune, write_preset
from tests.train.support import killed_then_resumed

pytestmark = pytest.mark.slow  # every method SIGKILLed and resumed through the real worker


STEPS = 6
QUICK = ("-s", "data.val_fraction=0")  # no validation split: each run is only its steps
CASES = {
    # DoRA, rsLoRA and LoRA+ in one run: three switches of one LoraConfig and its optimizer.
    "dora": {"train": {"method": "lora", "learning_rate": 2e-3},
             "lora": {"use_dora": True, "use_rslora": True, "lora_plus_ratio": 4.0}},
    "pissa": {"train": {"method": "lora", "learning_rate": 2e-3}, "lora": {"init": "pissa"}},
    "ia3": {"train": {"method": "ia3", "learning_rate": 3e-2}},
    "prompt": {"train": {"method": "prompt_tuning", "learning_rate": 3e-2}, "lora": {"virtual_tokens": 4},
               "export": {"gguf": ["q8_0"]}},
    "prefix": {"train": {"method": "prefix_tuning", "learning_rate": 1e-2}, "lora": {"virtual_tokens": 4}},
    "freeze": {"train": {"method": "freeze", "freeze_trainable_layers": 1, "learning_rate": 1e-3}},
}


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return tmp_path_factory.mktemp("methods-home")


@pytest.fixture(scope="module")
def base(terse_export):
    run, result = terse_export
    assert result.returncode == 0, result.stderr
    return run / "model"


@pytest.fixture(scope="module")
def trained(tmp_path_factory, home, base, small_data):
    """name -> run directory, each trained the first time a test asks for it: killed while
    writing its last checkpoint, then resumed from the one before."""
    runs: dict = {}

    def get(name: str):
        if name not in runs:
            folder = tmp_path_factory.mktemp(name)
            case = CASES[name]
            preset = write_preset(folder / "p.toml", base, small_data,
                                  train={"max_steps": STEPS, "save_steps": STEPS // 2, **case["train"]},
                                  eval={"probe_count": 0, "general": False},
                                  **{k: v for k, v in case.items() if k != "train"})
            runs[name] = killed_then_resumed(preset, home, STEPS, STEPS // 2, *QUICK)
        return runs[name]

    return get


def _falls(losses: list[float]) -> bool:
    return sum(losses[-2:]) / 2 < sum(losses[:2]) / 2


def _load(run, base):
    import torch
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    if (run / "model" / "config.json").exists():
        return AutoModelForCausalLM.from_pretrained(run / "model")
    from peft import PeftModel

    return PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base), run / "adapter")


@pytest.mark.parametrize("name", list(CASES))
def test_method_trains_and_its_result_reloads(name, trained, base):
    run = trained(name)
    losses = step_losses(run)
    assert len(losses) >= STEPS and _falls(losses), losses
    assert read_state(run)["status"] == "done"
    model = _load(run, base)
    from safetensors.torch import load_file

    if name == "freeze":
        original = load_file(base / "model.safetensors")
        tuned = model.state_dict()
        changed = {k for k, v in original.items() if not v.equal(tuned[k])}
        assert changed and all(k.startswith("model.layers.1.") for k in changed), sorted(changed)
        return
    config = json.loads((run / "adapter" / "adapter_config.json").read_text())
    weights = load_file(run / "adapter" / "adapter_model.safetensors")
    if name == "dora":
        assert config["use_dora"] and config["use_rslora"] and any("magnitude" in k for k in weights)
    if name == "pissa":
        # Saved as a plain LoRA delta on the original base: rank doubled, no PiSSA init left to redo.
        assert config["init_lora_weights"] is True and config["r"] == 16
    if name == "ia3":
        assert config["peft_type"] == "IA3" and all(not v.eq(1).all() for v in weights.values())
    if name in ("prompt", "prefix"):
        assert config["peft_type"] == CASES[name]["train"]["method"].upper()
        assert weights["prompt_embeddings"].shape[0] == 4
    # The adapter changes what the model says about a prompt.
    import torch

    ids = torch.tensor([[1, 200, 300, 400, 500]])
    with torch.no_grad():
        tuned = model(input_ids=ids).logits[0, -1]
        with model.disable_adapter():
            plain = model(input_ids=ids).logits[0, -1]
    assert not torch.allclose(tuned, plain, atol=1e-4)


@pytest.mark.parametrize("name", list(CASES))
def test_every_method_resumed_from_its_checkpoint(name, trained):
    run = trained(name)
    from tuitune.events import read_events

    events = list(read_events(run / "events.jsonl"))
    resuming = [e for e in events if e["type"] == "status" and e["status"] == "resuming"]
    assert resuming and resuming[-1]["step"] == 3
    steps = [e["step"] for e in events if e["type"] == "step"]
    assert steps[-3:] == [4, 5, 6] and read_state(run)["attempts"] == 2
    if name == "pissa":  # the adapter as it started, which the conversion back to plain LoRA needs
        assert (run / "checkpoints" / "adapter-initial" / "adapter_model.safetensors").exists()


@pytest.mark.parametrize("name", ["dora", "pissa", "ia3", "freeze"])
def test_mergeable_method_exports_a_verified_gguf(name, trained, home):
    run = trained(name)
    tuitune("export", str(run), "--quant", "q8_0", "--no-ollama", env_home=home)
    gguf = exported_gguf(run)
    report = json.loads((run / "gguf" / "report.json").read_text())
    assert report["merge"]["from"] == ("model" if name == "freeze" else "adapter")

    from llama_cpp import Llama

    llm = Llama(str(gguf), n_ctx=256, verbose=False)
    try:
        reply = llm.create_chat_completion([{"role": "user", "content": "Hi there"}], temperature=0, max_tokens=20)
        assert reply["choices"][0]["message"]["content"].strip()
    finally:
        llm.close()


def test_prompt_tuning_export_is_refused_and_skipped_after_training(trained, home):
    run = trained("prompt")
    from tuitune.events import read_events

    notes = [e["message"] for e in read_events(run / "events.jsonl") if e["type"] == "note"]
    assert any("no GGUF export after training" in n for n in notes), notes
    assert not (run / "gguf").exists()
    result = tuitune("export", str(run), "--quant", "q8_0", env_home=home)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "cannot be exported to GGUF" in result.stderr and "virtual tokens" in result.stderr
    assert "Traceback" not in result.stderr


def test_prompt_tuning_chats_through_its_adapter(trained, home, monkeypatch):
    """`tuitune chat RUN` on a run without a GGUF loads the adapter in the transformers worker."""
    run = trained("prompt")
    monkeypatch.setenv("TUITUNE_HOME", str(home))
    from tuitune.chat.serve import load
    from tuitune.chat.targets import resolve

    target = resolve(str(run))
    assert target.gguf is None and target.worker == run
    model, tokenizer, name = load(run, base_only=False)
    assert name.endswith("(adapter)") and type(model).__name__ == "PeftModelForCausalLM"
    ids = tokenizer.apply_chat_template([{"role": "user", "content": "Hi"}], add_generation_prompt=True,
                                        return_tensors="pt", return_dict=True)
    out = model.generate(**ids, max_new_tokens=4, do_sample=False, pad_token_id=tokenizer.pad_token_id)
    assert out.shape[1] > ids["input_ids"].shape[1]
