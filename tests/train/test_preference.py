"""KTO, ORPO and SimPO: real TRL training on the tiny Llama (CPU) through the worker, with their
reward metrics in the events and in the series the charts read; the planner's terms; the
guided defaults; the wrong data refused before a worker starts; one result exported to a GGUF.

What "it learned" means per stage, over a few steps on a random model:
- ORPO and SimPO: the loss falls (ORPO's holds the SFT loss on the chosen answers; SimPO's is
  -log sigmoid(margin - gamma), which falls as the margin grows) and the reward margin rises;
- KTO: the margin between the chosen and rejected rewards rises. Its loss need not fall over
  six steps: the KL estimate in it moves with the policy, so the loss can stand still while the
  two rewards part.
"""

import json
from pathlib import Path

import pytest

from tests.helpers import exported_gguf, run_dir_from, tuitune
from tests.train.support import TOPICS, killed_then_resumed, mean, preset_with, steps
from tuitune.events import read_events
from tuitune.runs.series import series_points

pytestmark = pytest.mark.slow  # preference runs SIGKILLed and resumed through the real worker


FEW = {"max_steps": 6, "save_steps": 100, "learning_rate": 5e-3}
REWARDS = {"reward_chosen", "reward_rejected", "reward_margin", "logp_chosen", "logp_rejected"}


@pytest.fixture(scope="module")
def unpaired(tmp_path_factory) -> Path:
    """Answers marked good (a pirate's) and bad (a refusal), two good for every bad one."""
    rows = []
    for i, topic in enumerate(TOPICS):
        rows.append({"prompt": f"Tell me about {topic}.", "completion": f"Arr, {topic} be a fine thing, matey!",
                     "label": True})
        if i % 2 == 0:
            rows.append({"prompt": f"Tell me about {topic}.", "completion": f"I cannot say anything about {topic}.",
                         "label": False})
    path = tmp_path_factory.mktemp("unpaired") / "unpaired.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def train(folder: Path, model, data: Path, stage: str, killed: bool = False, **sections) -> Path:
    """A few steps of ``stage``; ``killed``: SIGKILLed while saving its last checkpoint, then resumed."""
    keys = {**FEW, "stage": stage, **({"save_steps": FEW["max_steps"] // 2} if killed else {}), **sections.pop("train", {})}
    preset = preset_with(folder / "p.toml", model, data, {"dedup_near": False}, train=keys, **sections)
    if killed:
        return killed_then_resumed(preset, folder / "home", keys["max_steps"], keys["max_steps"] // 2)
    result = tuitune("run", str(preset), "--json", env_home=folder / "home")
    assert result.returncode == 0, result.stdout + result.stderr
    return run_dir_from(result.stderr)


@pytest.fixture(scope="module")
def kto_run(tmp_path_factory, tiny_model_dir, unpaired) -> Path:
    return train(tmp_path_factory.mktemp("kto"), tiny_model_dir, unpaired, "kto", killed=True)


def rising(values: list[float]) -> bool:
    return mean(values[-2:]) > mean(values[:2])


def test_kto_on_unpaired_rows_parts_the_rewards_and_weighs_the_rarer_class(kto_run):
    logged = steps(kto_run)
    assert [e["step"] for e in logged] == [1, 2, 3, 4, 5, 6, 4, 5, 6]  # killed at 6, resumed from checkpoint-3
    # Every batch holds good and bad answers (interleaved by kind): every step has its margin.
    assert all(REWARDS | {"kl"} <= set(e) for e in logged)
    margins = [e["reward_margin"] for e in logged]
    assert rising(margins), margins
    charted = series_points(list(read_events(kto_run / "events.jsonl")))
    assert len(charted["margin"]) == len(margins)
    data = next(e for e in read_events(kto_run / "events.jsonl") if e["type"] == "data")
    assert data["format"] == "unpaired_preference"
    # 2 good answers for every bad one: the bad ones weigh 2 (TRL's 1-to-4/3 rule, at 1).
    guidance = json.loads((kto_run / "guidance.json").read_text())["choices"]
    report = json.loads((kto_run / "data" / "report.json").read_text())["labels"]
    assert guidance["dpo.desirable_weight"]["value"] == 1.0
    assert guidance["dpo.undesirable_weight"]["value"] == round(report["desirable"] / report["undesirable"], 2)
    assert guidance["train.learning_rate"]["value"] == 5e-3  # set in the preset
    assert (kto_run / "adapter" / "adapter_model.safetensors").exists()


def test_kto_on_pairs_splits_each_pair_into_a_good_and_a_bad_answer(tmp_path, tiny_model_dir, pairs):  # noqa: F811 - the fixture
    run = train(tmp_path, tiny_model_dir, pairs, "kto")
    data = next(e for e in read_events(run / "events.jsonl") if e["type"] == "data")
    assert data["format"] == "preference"
    logged = steps(run)
    assert all(REWARDS <= set(e) for e in logged)
    assert rising([e["reward_margin"] for e in logged])


@pytest.mark.parametrize("stage,extra", [("orpo", {"nll_loss", "log_odds_ratio"}), ("simpo", set())])
def test_orpo_and_simpo_lower_the_loss_and_raise_the_margin(tmp_path, tiny_model_dir, pairs, stage, extra):  # noqa: F811
    run = train(tmp_path, tiny_model_dir, pairs, stage, killed=True)
    logged = steps(run)
    assert all(REWARDS | {"reward_accuracy"} | extra <= set(e) for e in logged)
    losses, margins = [e["loss"] for e in logged], [e["reward_margin"] for e in logged]
    assert mean(losses[-2:]) < mean(losses[:2]), losses
    assert rising(margins), margins
    evals = [e for e in read_events(run / "events.jsonl") if e["type"] == "eval"]
    assert evals and "reward_margin" in evals[-1]
    assert len(series_points(list(read_events(run / "events.jsonl")))["reward acc"]) == len(logged)
    dry = tuitune("run", str(tmp_path / "p.toml"), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "no reference model" in dry.stdout
    if stage == "simpo":  # beta 2.0 and gamma half of it, each with its reason
        assert "dpo.beta = 2  (auto: SimPO" in dry.stdout and "dpo.simpo_gamma = 1  (auto: half of beta" in dry.stdout


def test_a_kto_run_exports_a_gguf_that_loads(kto_run):
    tuitune("export", kto_run.name, "--quant", "q8_0", "--no-ollama", env_home=kto_run.parent.parent)
    gguf = exported_gguf(kto_run)
    report = json.loads((kto_run / "gguf" / "report.json").read_text())
    from llama_cpp import Llama

    model = Llama(str(gguf), n_ctx=64, verbose=False)
    try:
        assert model.n_vocab() > 1000
    finally:
        model.close()
    assert report["merge"]["from"] == "adapter"


def test_wrong_data_for_the_stage_is_refused_naming_the_file(tmp_path, tiny_model_dir, small_data, unpaired):
    kto = preset_with(tmp_path / "k.toml", tiny_model_dir, small_data, {}, train={"stage": "kto"})
    result = tuitune("run", str(kto), "--dry-run")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert str(small_data) in result.stderr and "but this needs unpaired preferences" in result.stderr
    assert "or preference pairs" in result.stderr and 'train.stage = "kto"' in result.stderr
    orpo = preset_with(tmp_path / "o.toml", tiny_model_dir, unpaired, {}, train={"stage": "orpo"})
    result = tuitune("run", str(orpo), "--dry-run")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert str(unpaired) in result.stderr and "holds unpaired preferences" in result.stderr
    assert "but this needs preference pairs" in result.stderr and 'train.stage = "orpo"' in result.stderr
    one = preset_with(tmp_path / "b.toml", tiny_model_dir, unpaired, {}, train={"stage": "kto", "batch_size": 1})
    result = tuitune("run", str(one), "--dry-run")
    assert result.returncode == 2 and "KTO estimates its KL term" in result.stderr


def _shape():
    from tuitune.hardware.shapes import shape_from_config

    return shape_from_config({"model_type": "llama", "vocab_size": 32000, "hidden_size": 4096,
                              "intermediate_size": 11008, "num_hidden_layers": 32, "num_attention_heads": 32,
                              "num_key_value_heads": 32}, "llama-7b")


@pytest.mark.parametrize("method", ["full", "lora", "qlora"])
def test_planner_orpo_and_simpo_have_no_reference_kto_has_dpos(method):
    from tuitune.hardware.activations import loss_bytes
    from tuitune.hardware.estimate import estimate
    from tuitune.hardware.setup import Setup

    shape = _shape()
    sft = estimate(shape, Setup(method, seq_len=1024, batch=2))
    dpo = estimate(shape, Setup(method, seq_len=1024, batch=2, stage="dpo"))
    pre_dpo = estimate(shape, Setup(method, seq_len=1024, batch=2, stage="dpo", precompute_ref=True))
    for stage in ("orpo", "simpo"):
        est = estimate(shape, Setup(method, seq_len=1024, batch=2, stage=stage))
        assert "reference_forward" not in est.phases and "reference_weights" not in est.breakdown
        # Two sequences per row, with the full logits these trainers compute: SFT at twice the
        # batch with the model's own loss.
        twice = estimate(shape, Setup(method, seq_len=1024, batch=4, loss="full_logits"))
        assert est.phases["forward"] == twice.phases["forward"]
        # Against DPO without its reference pass (also two sequences per row): the only change is
        # the loss, bf16 logits + their fp32 log-softmax kept + the fp32 upcast (10 bytes per token
        # and vocabulary entry) instead of the fused head's tile.
        n, v = 4 * 1024, shape.vocab_size
        fused = loss_bytes(shape, Setup(method, seq_len=1024, batch=4), lm_head_trains=method == "full")["forward"]
        assert est.phases["forward"] - pre_dpo.phases["forward"] == pytest.approx(10 * n * v - fused)
    kto = estimate(shape, Setup(method, seq_len=1024, batch=2, stage="kto"))
    assert "reference_forward" in kto.phases
    # One sequence per row: SFT's activations (and, for full, the reference's copy beside them).
    assert kto.phases["forward"] == sft.phases["forward"] + kto.breakdown.get("reference_weights", 0)
    assert kto.phases["reference_forward"] < dpo.phases["reference_forward"]  # half the rows of DPO's pass
    pre = estimate(shape, Setup(method, seq_len=1024, batch=2, stage="kto", precompute_ref=True))
    assert "reference_forward" not in pre.phases
    if method == "full":
        assert kto.breakdown["reference_weights"] == shape.total_params * 2  # DPO's bf16 copy
        assert "reference_weights" not in pre.breakdown
    else:
        assert "reference_weights" not in kto.breakdown


def test_guided_rates_betas_and_kto_weights():
    from tuitune.preset.guidance import learning_rate
    from tuitune.preset.preference_guidance import kto_weights, simpo_gamma

    assert learning_rate("full", 135_000_000, "orpo")[0] == 8e-6
    assert learning_rate("lora", 135_000_000, "orpo")[0] == pytest.approx(8e-5)
    assert learning_rate("full", None, "kto")[0] == 5e-7 and learning_rate("full", None, "simpo")[0] == 1e-6
    assert learning_rate("lora", None, "dpo")[0] == 5e-6  # DPO's rule unchanged
    assert kto_weights(100, 100)[:2] == (1.0, 1.0)
    assert kto_weights(120, 100)[:2] == (1.0, 1.0)  # 1.2: inside TRL's 1 to 4/3
    assert kto_weights(50, 100)[:2] == (2.0, 1.0)  # good answers rarer: weighed up
    assert kto_weights(300, 100)[:2] == (1.0, 3.0)
    for good, bad in ((50, 100), (300, 100), (7, 3)):
        dw, uw, _ = kto_weights(good, bad)
        assert 1 <= dw * good / (uw * bad) <= 4 / 3 + 1e-9
    assert simpo_gamma(2.0)[0] == 1.0
