"""Guided defaults: the rules give sane values with reasons for every size of data, model and
method; what a preset sets is kept; the fronts show the choices."""

import pytest

from tests.helpers import tuitune
from tests.preset.support import (
    preset,
)
from tuitune.models.bundled import presets_dir
from tuitune.preset import GUIDED
from tuitune.preset.guidance import CPU_BUDGET_S, DataFacts, Guidance, cpu_step_cap, dpo_beta, resolve


def facts(rows: int, mean_tokens: float = 300, val_fraction: float = 0.05, truncated: float = 0.0) -> DataFacts:
    val = int(rows * val_fraction)
    return DataFacts(rows - val, val, round((rows - val) * mean_tokens), mean_tokens, int(mean_tokens * 3), truncated)


SIZES = [("135M", 135e6), ("8B", 8e9), ("70B", 70e9)]


@pytest.mark.parametrize("rows", [12, 60, 312, 2_000, 30_000, 300_000])
@pytest.mark.parametrize("method", ["lora", "qlora", "full"])
@pytest.mark.parametrize("size,params", SIZES)
@pytest.mark.parametrize("device", ["cuda", "cpu"])
def test_choices_are_sane_and_explained(rows, method, size, params, device):
    g = resolve(preset(), facts(rows), params=int(params), device=device, method=method)
    lr = g.value("train.learning_rate")
    assert (1e-4 <= lr <= 5e-4) if method != "full" else (1e-5 <= lr <= 5e-5)
    assert 1 <= g.value("train.epochs") <= 10
    assert g.total_steps == g.value("train.max_steps") >= 1
    assert 0 <= g.value("train.warmup_ratio") <= 0.1
    assert g.value("train.lr_scheduler") == "cosine"
    effective = 4 * g.value("train.grad_accum")
    assert effective == 4 if device == "cpu" else 8 <= effective <= 32
    if method != "full":
        assert g.value("lora.r") in (8, 16, 32, 64) and g.value("lora.alpha") == 2 * g.value("lora.r")
    else:
        assert "lora.r" not in g.choices
    has_val = g.facts["val_rows"] >= 10  # fewer are too few to trust (task_rules.trust_validation)
    assert g.value("eval.early_stopping") is has_val
    assert g.value("eval.plateau_stop") is (not has_val and g.total_steps >= 40)
    if has_val:
        every = g.value("train.eval_steps")
        assert 1 <= every <= g.total_steps and g.value("train.save_steps") % every == 0
    if device == "cpu":
        assert g.total_steps <= max(10, cpu_step_cap(int(params), effective, 300)[0])
    # Every choice says why; the summary names the data and the size.
    assert all(c.auto and len(c.reason) > 10 for c in g.choices.values())
    assert f"{g.facts['train_rows']} examples" in g.summary and "usual range" in g.summary
    assert set(g.choices) <= set(GUIDED)


def test_more_data_means_fewer_epochs_and_a_larger_rank():
    small, large = (resolve(preset(), facts(n), params=int(8e9), device="cuda", method="lora") for n in (300, 300_000))
    assert small.value("train.epochs") > large.value("train.epochs")
    assert small.value("lora.r") < large.value("lora.r")
    assert large.value("train.grad_accum") > small.value("train.grad_accum")


def test_larger_models_get_lower_rates():
    rates = [resolve(preset(), facts(1000), params=int(p), device="cuda", method="lora").value("train.learning_rate")
             for _, p in SIZES]
    assert rates == sorted(rates, reverse=True) and rates[0] > rates[-1]


def test_no_validation_split_says_why():
    """3 rows with val_fraction 0.49 hold out nothing: said as it is, not as 'val_fraction = 0'."""
    asked = preset()
    asked.data.val_fraction = 0.49
    few = resolve(asked, facts(3, val_fraction=0), params=int(135e6), device="cpu", method="lora")
    assert few.choices["eval.early_stopping"].reason == ("off: no validation split: 3 rows are too few to hold any out "
                                                         "(a split needs 10; data.val_fraction = 0.49 applies from there)")
    off = preset()
    off.data.val_fraction = 0
    none = resolve(off, facts(300, val_fraction=0), params=int(135e6), device="cpu", method="lora")
    assert none.choices["eval.early_stopping"].reason == "off: no validation split (data.val_fraction = 0)"


def test_tiny_datasets_get_enough_steps_and_a_warning():
    g = resolve(preset(), facts(12, val_fraction=0), params=int(135e6), device="cuda", method="lora")
    assert g.total_steps >= 10 and g.value("train.epochs") > 3
    assert [w["code"] for w in g.warnings] == ["too_few_examples"]
    assert g.value("eval.early_stopping") is False and g.value("train.eval_steps") is None


def test_cpu_runs_are_capped_to_minutes_with_the_reason():
    g = resolve(preset(), facts(5_000, mean_tokens=200), params=int(135e6), device="cpu", method="lora")
    cap, _ = cpu_step_cap(int(135e6), 4, 200)
    assert g.total_steps == cap < 3 * 5_000 / 4
    assert "on the CPU" in g.choices["train.max_steps"].reason and "instead of" in g.choices["train.max_steps"].reason
    # An explicit epoch count is the user's call: no cap.
    explicit = resolve(preset("[train]\nepochs = 1\n"), facts(5_000, mean_tokens=200), params=int(135e6),
                       device="cpu", method="lora")
    assert explicit.total_steps > cap
    assert CPU_BUDGET_S <= 600


def test_values_from_the_preset_are_kept_and_marked():
    p = preset('[train]\nlearning_rate = 1e-4\nmax_steps = 50\nlr_scheduler = "linear"\n[lora]\nr = 8\n'
               '[eval]\nearly_stopping = false\n')
    g = resolve(p, facts(300), params=int(8e9), device="cuda", method="lora")
    assert g.choices["train.learning_rate"].value == 1e-4 and not g.choices["train.learning_rate"].auto
    assert g.total_steps == 50 and g.value("train.lr_scheduler") == "linear"
    assert g.value("lora.r") == 8 and g.value("lora.alpha") == 16  # alpha follows the preset's r
    assert g.value("eval.early_stopping") is False
    resolved = g.apply(p)
    assert resolved.train.max_steps == 50 and resolved.lora.alpha == 16 and p.lora.alpha is None


def test_auto_in_a_preset_means_left_out():
    explicit = preset('[train]\nlearning_rate = "auto"\nepochs = "auto"\ngrad_accum = "AUTO"\n[lora]\nr = "auto"\n')
    assert explicit == preset()


def test_warnings_for_truncation_a_wild_rate_and_too_many_epochs():
    g = resolve(preset("[train]\nlearning_rate = 0.05\nepochs = 20\n"), facts(200, truncated=0.3),
                params=int(8e9), device="cuda", method="lora")
    codes = {w["code"]: w["message"] for w in g.warnings}
    assert set(codes) == {"truncated", "lr_high", "too_few_examples"}
    assert "train.max_seq_len" in codes["truncated"] and "30%" in codes["truncated"]
    assert "train.learning_rate" in codes["lr_high"]


def test_dpo_rules():
    beta, reason = dpo_beta(500, "lora")
    assert 0.01 <= beta <= 0.5 and "DPO" in reason
    g = resolve(preset(), facts(500), params=int(8e9), device="cuda", method="lora")
    from tuitune.preset.guidance import learning_rate

    assert learning_rate("lora", int(8e9), "dpo")[0] < g.value("train.learning_rate") / 10
    assert "dpo.beta" not in g.choices  # an SFT run has no beta to choose
    dpo = resolve(preset('[train]\nstage = "dpo"\n'), facts(500), params=int(8e9), device="cuda", method="lora")
    assert dpo.choices["dpo.beta"].value == beta and dpo.choices["dpo.beta"].auto
    assert dpo.apply(preset('[train]\nstage = "dpo"\n')).dpo.beta == beta
    kept = resolve(preset('[train]\nstage = "dpo"\n[dpo]\nbeta = 0.3\n'), facts(500), params=None, device="cpu",
                   method="lora")
    assert kept.choices["dpo.beta"].value == 0.3 and not kept.choices["dpo.beta"].auto


def test_guidance_round_trips_through_json():
    g = resolve(preset(), facts(300), params=None, device="cuda", method="qlora")
    assert Guidance.from_json(g.to_json()) == g
    assert "unknown size" in g.summary


def test_facts_from_the_data_report_and_estimated_from_characters(small_data):
    from tuitune.data.pipeline import check

    report = {"split": {"train": 90, "val": 10},
              "stats": {"tokens": {"mean": 120.0, "p99": 400, "truncated_fraction": 0.02}}}
    f = DataFacts.from_report(report)
    assert (f.train_rows, f.val_rows, f.tokens, f.p99_tokens, f.estimated) == (90, 10, 10_800, 400, False)
    data = check(preset().data.model_copy(update={"path": str(small_data)}))
    est = DataFacts.estimate(data.examples, 43, 5, max_seq_len=1024)
    assert est.estimated and 40 < est.mean_tokens < 200 and est.tokens == pytest.approx(43 * est.mean_tokens, rel=0.01)


def test_check_and_dry_run_show_the_choices_with_reasons():
    result = tuitune("check", str(presets_dir() / "demo-auto.toml"))
    assert result.returncode == 0, result.stderr
    assert "guided: 190 examples" in result.stdout
    assert "train.learning_rate = 0.0005  (auto: LoRA on a 135M model" in result.stdout
    dry = tuitune("run", str(presets_dir() / "demo-auto.toml"), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "learning_rate = 0.0005" in dry.stdout and "(auto: " in dry.stdout and "early_stopping = true" in dry.stdout


def test_tui_shows_reasons_and_coach_lines():
    from tuitune.preset import load_preset
    from tuitune.runs.event_text import describe
    from tuitune.tui import preset_form

    g = preset_form.guidance(load_preset(presets_dir() / "demo-auto.toml"))
    assert g.choices["train.learning_rate"].auto and "135M" in g.choices["train.learning_rate"].reason
    line = describe({"type": "warning", "source": "coach", "code": "overfitting", "ts": 0, "message": "val up"})
    assert line.endswith("coach: val up")
    probe = describe({"type": "probe", "ts": 0, "step": 4, "label": "eval", "answers": [{"prompt": "Hi", "answer": "Arr"}]})
    assert "'Hi' → 'Arr'" in probe and "step 4" in probe
