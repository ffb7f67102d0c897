from pathlib import Path

import pytest

from tests.helpers import tuitune
from tuitune.models.bundled import presets_dir
from tuitune.preset import Preset, PresetError, apply_overrides, field_help, load_preset, parse_preset

MINIMAL = """
[model]
path = "bundled:smollm2-135m-instruct"
[data]
path = "bundled:pirate"
"""


def test_minimal_preset_gets_defaults():
    preset = parse_preset(MINIMAL)
    assert preset.train.stage == "sft"
    assert preset.train.method == "auto"
    assert preset.lora.target_modules == "all-linear"
    assert preset.export.gguf == ["q4_k_m"]
    assert preset.model.trust_remote_code is False


def test_every_problem_is_reported_at_once_with_key_and_value():
    text = MINIMAL + """
[train]
learning_rate = "fast"
batch_size = 0
method = "magic"
surprise = true
"""
    with pytest.raises(PresetError) as info:
        parse_preset(text, source="mine.toml")
    problems = info.value.problems
    assert len(problems) == 4
    joined = "\n".join(problems)
    assert "'train.learning_rate'" in joined and "'fast'" in joined
    assert "'train.batch_size'" in joined and "got 0" in joined
    assert "'train.method'" in joined and "'magic'" in joined
    assert "'train.surprise'" in joined and "unknown key" in joined
    assert str(info.value).startswith("mine.toml: ")


@pytest.mark.parametrize(
    "snippet, key",
    [
        ("[train]\nval = 1", "train.val"),
        ("[data]\npath='bundled:pirate'\nval_fraction = 0.9", "data.val_fraction"),
        ("[lora]\nr = -1", "lora.r"),
        ("[export]\ngguf = ['q3_fancy']", "export.gguf.0"),
        ("[train]\ndevice = 'tpu'", "train.device"),
        ("[train]\nwarmup_ratio = 1.5", "train.warmup_ratio"),
        ("[train]\nstage = 'ppo'", "train.stage"),
        ("[dpo]\nbeta = 0", "dpo.beta"),
        ("[dpo]\nloss_type = 'magic'", "dpo.loss_type"),
        ("[dpo]\nmax_prompt_len = 0", "dpo.max_prompt_len"),
    ],
)
def test_invalid_values_name_their_key(snippet, key):
    base = MINIMAL if "[data]" not in snippet else '[model]\npath = "bundled:smollm2-135m-instruct"\n'
    with pytest.raises(PresetError) as info:
        parse_preset(base + snippet)
    assert any(f"'{key}'" in p for p in info.value.problems), info.value.problems


def test_missing_sections_are_named():
    with pytest.raises(PresetError) as info:
        parse_preset("[train]\nmax_steps = 3\n")
    assert {"key 'model': required but missing", "key 'data': required but missing"} <= set(info.value.problems)


def test_invalid_toml_names_the_line():
    with pytest.raises(PresetError) as info:
        parse_preset("[model]\npath = \n", source="bad.toml")
    assert "invalid TOML" in info.value.problems[0] and "line 2" in info.value.problems[0]


def test_overrides_are_typed_and_dotted():
    raw = {"train": {"max_steps": 5}}
    assert apply_overrides(raw, ["train.learning_rate=1e-4", "train.max_steps=20", "data.path=x.jsonl", "lora.target_modules=['q_proj']"]) == []
    assert raw == {
        "train": {"learning_rate": 1e-4, "max_steps": 20},
        "data": {"path": "x.jsonl"},
        "lora": {"target_modules": ["q_proj"]},
    }
    assert apply_overrides(raw, ["nonsense"])[0].startswith("override 'nonsense'")


def test_relative_paths_resolve_against_the_preset_folder(tmp_path):
    folder = tmp_path / "presets"
    folder.mkdir()
    (tmp_path / "data.jsonl").write_text('{"prompt": "a", "completion": "b"}\n')
    (tmp_path / "model.gguf").write_bytes(b"GGUF")
    preset_file = folder / "p.toml"
    preset_file.write_text('[model]\npath = "../model.gguf"\n[data]\npath = "../data.jsonl"\n')
    preset = load_preset(preset_file)
    assert preset.data.path == str(tmp_path / "data.jsonl")
    assert preset.model.path == str(tmp_path / "model.gguf")
    assert preset.name == "p"


def test_missing_files_are_errors_naming_the_key(tmp_path):
    preset_file = tmp_path / "p.toml"
    preset_file.write_text('[model]\npath = "./nowhere"\n[data]\npath = "missing.jsonl"\n')
    with pytest.raises(PresetError) as info:
        load_preset(preset_file)
    keys = [p.split(":")[0] for p in info.value.problems]
    assert keys == ["key 'data.path'", "key 'model.path'"]


def test_hub_ids_stay_hub_ids(tmp_path):
    preset = parse_preset('[model]\npath = "Qwen/Qwen2.5-7B-Instruct"\n[data]\npath="bundled:pirate"\n', base_dir=tmp_path)
    assert preset.model.path == "Qwen/Qwen2.5-7B-Instruct"


def test_key_types_and_defaults_are_in_peoples_words():
    """`tuitune keys` and the wizard's help say "one of: sft, dpo", not ``Literal['sft', 'dpo']``."""
    from tuitune.preset import key_summary

    rows = {key: key_summary(kind, default) for key, kind, default, _ in field_help()}
    assert rows["train.stage"].startswith("one of: sft, dpo, ") and rows["train.stage"].endswith("; default sft")
    assert rows["train.max_steps"] == "a whole number, or auto; default auto"
    assert rows["train.gradient_checkpointing"] == "auto, true or false; default auto"
    assert rows["model.path"] == "text; required"
    assert rows["data.max_tokens"] == "a whole number, or none; default none"
    assert rows["export.gguf"].endswith("default q4_k_m") and rows["eval.probes"] == "a list of texts; default empty"
    assert not [key for key, text in rows.items() if any(t in text for t in ("Literal", "None", "|", "'"))]


def test_every_field_has_help():
    rows = field_help()
    assert len(rows) > 30
    missing = [key for key, _, _, text in rows if not text.strip()]
    assert missing == []


SHIPPED = sorted(presets_dir().glob("*.toml"))


@pytest.mark.parametrize("path", SHIPPED, ids=[p.name for p in SHIPPED])
def test_shipped_presets_validate_and_say_how_to_run(path: Path):
    preset = load_preset(path)
    assert isinstance(preset, Preset)
    first_lines = path.read_text().splitlines()[:4]
    assert any("tuitune run" in line or "tuitune demo" in line for line in first_lines if line.startswith("#"))


def test_at_least_three_gpu_presets_and_the_demo():
    names = {p.name for p in SHIPPED}
    assert "demo-cpu.toml" in names
    assert len([n for n in names if "4090" in n]) >= 3


def test_cli_check_reports_all_problems_without_traceback(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(MINIMAL + "[train]\nbatch_size = 0\nlearning_rate = -1\ncolour = 'red'\n")
    before = bad.read_bytes()
    result = tuitune("check", str(bad))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 3
    assert all(str(bad) in line for line in lines)
    assert bad.read_bytes() == before


def test_cli_check_bad_override_and_missing_file(tmp_path):
    good = tmp_path / "good.toml"
    good.write_text(MINIMAL)
    result = tuitune("check", str(good), "-s", "train.max_steps=zero")
    assert result.returncode == 2 and "'train.max_steps'" in result.stderr
    result = tuitune("check", str(tmp_path / "absent.toml"))
    assert result.returncode == 2 and "file not found" in result.stderr and "Traceback" not in result.stderr


def test_dry_run_prints_resolved_preset_and_plan():
    result = tuitune("run", str(presets_dir() / "demo-cpu.toml"), "--dry-run", "-s", "train.max_steps=7")
    assert result.returncode == 0, result.stderr
    assert "max_steps = 7" in result.stdout
    assert "190 train / 10 validation rows" in result.stdout
    assert "SmolLM2-135M-Instruct" in result.stdout
