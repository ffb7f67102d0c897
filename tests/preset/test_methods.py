"""The method keys (docs/methods.md): each wrong combination is one clear message, the guided
learning rate follows the method, and the fronts offer every method."""

import pytest

from tests.helpers import tuitune
from tuitune.preset import PresetError, parse_preset
from tuitune.preset.guidance import DataFacts, learning_rate, resolve
from tuitune.preset.keys import choices

MINIMAL = '[model]\npath = "bundled:smollm2-135m-instruct"\n[data]\npath = "bundled:pirate"\n'


@pytest.mark.parametrize("snippet,words", [
    ('[train]\nmethod = "prompt_tuning"\n[lora]\nuse_dora = true', ["lora.use_dora", "'prompt_tuning'"]),
    ('[train]\nmethod = "full"\n[lora]\nuse_dora = true\nuse_rslora = true',
     ["lora.use_dora, lora.use_rslora are LoRA variants", "'full'"]),
    ('[train]\nmethod = "ia3"\n[lora]\nlora_plus_ratio = 16', ["lora.lora_plus_ratio", "'ia3'"]),
    ('[lora]\nlora_plus_ratio = 0', ["'lora.lora_plus_ratio'", "greater than 0"]),
    ('[lora]\nlora_plus_ratio = -2', ["'lora.lora_plus_ratio'", "greater than 0"]),
    ('[train]\nmethod = "qlora"\n[lora]\ninit = "pissa"', ["4-bit base cannot hold", "method \"lora\""]),
    ('[train]\nmethod = "lora"\n[lora]\ninit = "olora"\nuse_dora = true', ["cannot convert a DoRA adapter"]),
    ('[train]\nmethod = "lora"\n[lora]\ninit = "loftq"', ["'qlora' only"]),
    ('[train]\nmethod = "qlora"\n[lora]\ninit = "loftq"', ["GGUF model", ".safetensors"]),
    ('[train]\nmethod = "lora"\nfreeze_trainable_layers = 2', ["train.freeze_trainable_layers", "method = \"freeze\""]),
    ('[train]\nstage = "dpo"\nmethod = "prompt_tuning"', ["stage 'sft' only"]),
    ('[train]\nmethod = "freeze"\nfreeze_trainable_layers = 0', ["'train.freeze_trainable_layers'"]),
])
def test_wrong_combinations_are_refused_with_one_message(snippet, words):
    with pytest.raises(PresetError) as info:
        parse_preset(MINIMAL + snippet, source="mine.toml")
    problems = info.value.problems
    assert len(problems) == 1, problems
    for word in words:
        assert word in problems[0], problems[0]


def test_valid_combinations_pass():
    for snippet in ('[train]\nmethod = "lora"\n[lora]\nuse_rslora = true\nlora_plus_ratio = 16\ninit = "pissa"',
                    '[train]\nmethod = "qlora"\n[lora]\nuse_dora = true\nuse_rslora = true',
                    '[train]\nmethod = "freeze"\nfreeze_trainable_modules = ["lm_head"]',
                    '[train]\nmethod = "prefix_tuning"\n[lora]\nvirtual_tokens = 8',
                    '[train]\nmethod = "ia3"\nstage = "dpo"'):
        parse_preset(MINIMAL + snippet)


def _facts() -> DataFacts:
    return DataFacts(300, 15, 300 * 200, 200.0, 600)


@pytest.mark.parametrize("method,rate", [("ia3", 3e-3), ("prompt_tuning", 3e-2), ("prefix_tuning", 1e-2)])
def test_each_method_gets_its_usual_rate_with_the_reason(method, rate):
    from tuitune.preset import Preset
    from tuitune.preset.load import tomllib

    preset = Preset.model_validate(tomllib.loads(MINIMAL + f'[train]\nmethod = "{method}"'))
    guided = resolve(preset, _facts(), params=int(7e9), device="cuda", method=method)
    choice = guided.choices["train.learning_rate"]
    assert choice.value == rate and choice.auto
    assert method.split("_")[0].upper()[:3] in choice.reason.upper()
    assert "lora.r" not in guided.choices  # no rank for a method without one


@pytest.mark.parametrize("lora,dropout,auto,says", [
    ("", 0.05, True, "usual"),
    ('init = "pissa"', 0.0, True, "principal part"),
    ('init = "olora"', 0.0, True, "principal part"),
    ('init = "pissa"\ndropout = 0.1', 0.1, False, "set in the preset"),
])
def test_lora_dropout_is_guided_and_off_for_principal_inits(lora, dropout, auto, says):
    """PiSSA and OLoRA adapters hold the weights' principal part: dropout on their input perturbs
    the model itself (on the demo, PiSSA's first loss was 4.16 against LoRA's 3.65 with 0.05)."""
    from tuitune.hardware.plan import setup_from_preset
    from tuitune.preset import Preset
    from tuitune.preset.load import tomllib

    preset = Preset.model_validate(tomllib.loads(MINIMAL + f'[train]\nmethod = "lora"\n[lora]\n{lora}'))
    guided = resolve(preset, _facts(), params=int(7e9), device="cuda", method="lora")
    choice = guided.choices["lora.dropout"]
    assert (choice.value, choice.auto) == (dropout, auto) and says in choice.reason
    assert guided.apply(preset).lora.dropout == dropout
    assert setup_from_preset(preset).lora_dropout == dropout  # the planner reads the same rule


def test_freeze_follows_full_and_lora_variants_follow_lora():
    assert learning_rate("freeze", int(7e9)) == (2e-5, learning_rate("full", int(7e9))[1])
    assert learning_rate("lora", int(7e9))[0] == 2e-4


def test_keys_and_plan_offer_every_method():
    methods = choices("train.method")
    for method in ("ia3", "prompt_tuning", "prefix_tuning", "freeze"):
        assert method in methods
    keys = tuitune("keys")
    assert keys.returncode == 0, keys.stderr
    for key in ("lora.use_dora", "lora.use_rslora", "lora.init", "lora.lora_plus_ratio", "lora.virtual_tokens",
                "train.freeze_trainable_layers", "train.freeze_trainable_modules"):
        assert key in keys.stdout, key


def test_auto_keeps_to_lora_when_the_preset_asks_for_a_lora_variant():
    from tuitune.preset.methods import auto_within_lora

    dora = parse_preset(MINIMAL + "[lora]\nuse_dora = true\n")
    method, reason = auto_within_lora(dora, "full", "the 16-bit model fits with room to spare")
    assert method == "lora" and "lora.use_dora" in reason and "pick was full" in reason
    assert auto_within_lora(dora, "qlora", "only 4-bit fits") == ("qlora", "only 4-bit fits")
    plain = parse_preset(MINIMAL)
    assert auto_within_lora(plain, "full", "fits") == ("full", "fits")  # no variant asked for: the planner's pick
