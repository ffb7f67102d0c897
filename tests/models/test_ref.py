"""What a model reference means, decided once (tuitune/models/ref.py), and the callers that
used to decide it themselves: preset validation, the planner, chat targets, the run layer's
``run:`` resolution (the planner and the core never import the run layer), the HF cache."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tuitune.hardware.errors import PlannerError
from tuitune.hardware.model_shape import load_shape
from tuitune.models.bundled import BundledNotFound
from tuitune.models.ref import ModelRef, ModelRefError, parse_model_ref, unbundle
from tuitune.preset import PresetError, parse_preset
from tuitune.runs.refs import readable_ref
from tuitune.runs.store import RunStoreError, create_run

SMOLLM2 = {  # SmolLM2-135M's config.json, the part the planner reads
    "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 576, "intermediate_size": 1536,
    "num_attention_heads": 9, "num_hidden_layers": 30, "num_key_value_heads": 3, "vocab_size": 49152,
    "tie_word_embeddings": True, "max_position_embeddings": 8192,
}


@pytest.mark.parametrize("text, kind, value", [
    ("bundled:smollm2-135m-instruct", "bundled", "smollm2-135m-instruct"),
    ("run:20250101-120000-sft-ab12", "run", "20250101-120000-sft-ab12"),
    ("run: ab12 ", "run", "ab12"),
    ("Qwen/Qwen2.5-7B-Instruct", "hub", "Qwen/Qwen2.5-7B-Instruct"),
    ("gpt2", "hub", "gpt2"),
    ("./my-model", "folder", "my-model"),
    ("/models/llama", "folder", "/models/llama"),
    ("weights/model.gguf", "gguf", "weights/model.gguf"),
    ("MODEL.GGUF", "gguf", "MODEL.GGUF"),
    ("a/b/c", "folder", "a/b/c"),  # two slashes: no repository id can look like that
    ("my model", "folder", "my model"),
])
def test_each_form_means_one_kind(text, kind, value):
    ref = parse_model_ref(text)
    assert (ref.kind, ref.value, ref.text) == (kind, value, text)
    assert ref.is_local == (kind in ("gguf", "folder"))
    assert (ref.path is not None) == ref.is_local


def test_home_is_expanded_and_a_path_object_is_a_local_path(tmp_path):
    assert parse_model_ref("~/m").path == Path.home() / "m"
    ref = parse_model_ref(tmp_path / "m.gguf")
    assert (ref.kind, ref.path) == ("gguf", tmp_path / "m.gguf")


def test_relative_paths_resolve_against_the_base_folder_and_an_existing_folder_beats_a_hub_id(tmp_path):
    (tmp_path / "org" / "name").mkdir(parents=True)
    local = parse_model_ref("org/name", tmp_path)
    assert (local.kind, local.path, str(local)) == ("folder", tmp_path / "org" / "name", str(tmp_path / "org" / "name"))
    assert parse_model_ref("org/other", tmp_path).kind == "hub"
    assert parse_model_ref("m.gguf", tmp_path).path == tmp_path / "m.gguf"
    assert str(parse_model_ref("run:ab12", tmp_path)) == "run:ab12"
    assert str(parse_model_ref("bundled:x", tmp_path)) == "bundled:x"


@pytest.mark.parametrize("text, message", [
    ("", "the model reference is empty"),
    ("   ", "the model reference is empty"),
    ("run:", "'run:': name a run after the colon, e.g. run:"),
    ("run:  ", "name a run after the colon"),
    ("bundled:", "name a bundled model after the colon, e.g. bundled:smollm2-135m-instruct"),
])
def test_references_that_mean_nothing_are_refused(text, message):
    with pytest.raises(ModelRefError, match=message):
        parse_model_ref(text)


def test_the_preset_refuses_them_naming_the_key(tmp_path):
    with pytest.raises(PresetError) as caught:
        parse_preset('[model]\npath = "run:"\n[data]\npath = "bundled:pirate"\n', source="p.toml", base_dir=tmp_path)
    assert caught.value.problems == [
        "key 'model.path': 'run:': name a run after the colon, e.g. run:20250101-120000-sft-ab12 "
        "(`tuitune runs list` shows them) (got 'run:')"]


def test_the_preset_resolves_local_paths_only(tmp_path):
    (tmp_path / "m").mkdir()
    def model_path(text: str) -> str:
        return parse_preset(f'[model]\npath = "{text}"\n[data]\npath = "bundled:pirate"\n', base_dir=tmp_path).model.path
    assert model_path("m") == str(tmp_path / "m")
    assert model_path("Qwen/Qwen2.5-7B") == "Qwen/Qwen2.5-7B"
    assert model_path("run:ab12") == "run:ab12"
    assert model_path("bundled:smollm2-135m-instruct") == "bundled:smollm2-135m-instruct"
    with pytest.raises(PresetError, match=r"key 'model.path': no such file or folder: .*/a/b/c"):
        model_path("a/b/c")


def test_unbundle_finds_the_installed_file(smollm2_gguf):
    ref = unbundle(parse_model_ref("bundled:smollm2-135m-instruct"))
    assert (ref.kind, ref.path, ref.text) == ("gguf", smollm2_gguf, "bundled:smollm2-135m-instruct")
    hub = parse_model_ref("org/name")
    assert unbundle(hub) is hub
    with pytest.raises(BundledNotFound, match="unknown bundled model 'bundled:nope'; known: bundled:smollm2-135m-instruct"):
        unbundle(parse_model_ref("bundled:nope"))


# --- run: references, resolved by the run layer --------------------------------------------------

def _run(model_path: str, result: str | None, tmp_path: Path):
    """A run of ``model_path`` with a trained result: ``model`` (full), ``adapter`` (LoRA) or none."""
    preset = parse_preset(f'name = "t"\n[model]\npath = "{model_path}"\n[data]\npath = "bundled:pirate"\n',
                          base_dir=tmp_path)
    run = create_run(preset)
    if result == "model":
        run.model.mkdir(parents=True)
        (run.model / "config.json").write_text(json.dumps(SMOLLM2))
    elif result == "adapter":
        run.adapter.mkdir(parents=True)
        (run.adapter / "adapter_config.json").write_text("{}")
    return run


def test_a_full_fine_tune_reads_as_its_model_folder_and_an_adapter_run_as_its_start(tmp_path):
    base = tmp_path / "base"
    base.mkdir()
    (base / "config.json").write_text(json.dumps(SMOLLM2))
    full = _run(str(base), "model", tmp_path)
    assert readable_ref(f"run:{full.id}") == parse_model_ref(str(full.model))
    lora = _run(str(base), "adapter", tmp_path)
    assert readable_ref(f"run:{lora.id}") == parse_model_ref(str(base))
    on_top = _run(f"run:{full.id}", "adapter", tmp_path)  # DPO with LoRA on top of an SFT full fine-tune
    assert readable_ref(f"run:{on_top.id}").path == full.model
    assert readable_ref("org/name") == ModelRef("hub", "org/name", "org/name")
    assert load_shape(readable_ref(f"run:{on_top.id}")).total_params == 134_515_008


def test_the_planner_refuses_a_run_nobody_resolved_and_the_run_layer_says_what_is_wrong(tmp_path):
    with pytest.raises(PlannerError, match="model run:ab12: the planner reads a run's shape .* resolve the run first"):
        load_shape("run:ab12")
    with pytest.raises(RunStoreError, match="model.path 'run:ab12': no run 'ab12'"):
        readable_ref("run:ab12")
    unfinished = _run(str(tmp_path), None, tmp_path)
    with pytest.raises(RunStoreError, match=f"run {unfinished.id} has no trained result yet"):
        readable_ref(f"run:{unfinished.id}")


def test_plan_takes_a_run_and_reports_a_missing_one_as_a_planner_error(tmp_path, capsys):
    from tuitune.cli.hardware import main

    base = tmp_path / "base"
    base.mkdir()
    (base / "config.json").write_text(json.dumps(SMOLLM2))
    lora = _run(str(base), "adapter", tmp_path)
    assert main(["plan", "--model", f"run:{lora.id}", "--gpu-gb", "24", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["options"][0]["parameters"] == 134_515_008
    assert main(["plan", "--model", "run:nope", "--gpu-gb", "24"]) == 2
    assert "error: model.path 'run:nope': no run 'nope'" in capsys.readouterr().err


def test_chat_opens_bundled_models_and_run_references(smollm2_gguf, tmp_path):
    from tuitune.chat.backend import ChatError
    from tuitune.chat.targets import resolve

    assert resolve("bundled:smollm2-135m-instruct").gguf == smollm2_gguf
    run = _run(str(smollm2_gguf), "model", tmp_path)
    assert resolve(f"run:{run.id}").run.path == run.path == resolve(run.id).run.path
    with pytest.raises(ChatError, match="unknown bundled model 'bundled:nope'"):
        resolve("bundled:nope")
    with pytest.raises(ChatError, match=r"missing.gguf: no such GGUF file"):
        resolve(str(tmp_path / "missing.gguf"))


# --- the Hugging Face cache ----------------------------------------------------------------------

def test_the_cache_is_read_through_huggingface_hub(tmp_path, monkeypatch):
    from tuitune.models.hub_cache import cached_file, cached_models, hub_cache_dir

    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path))  # read at its import
    assert hub_cache_dir() == tmp_path
    assert cached_models() == [] and cached_file("org/a", "config.json") is None
    repo = tmp_path / "models--org--a"
    for commit in ("old", "new"):
        (repo / "snapshots" / commit).mkdir(parents=True)
        (repo / "snapshots" / commit / "config.json").write_text(commit)
        os.utime(repo / "snapshots" / commit / "config.json", (1, 1 if commit == "old" else 2))
    # Fetched by commit hash (no refs/main): the newest snapshot; with refs/main: the one it names.
    assert cached_file("org/a", "config.json").read_text() == "new"
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("old")
    assert cached_file("org/a", "config.json").read_text() == "old"
    (tmp_path / "models--org--b" / "snapshots" / "x" / "sub").mkdir(parents=True)
    (tmp_path / "models--org--b" / "snapshots" / "x" / "sub" / "config.json").write_text("{}")  # not a model's own
    (tmp_path / "datasets--org--c" / "snapshots" / "x").mkdir(parents=True)
    (tmp_path / "datasets--org--c" / "snapshots" / "x" / "config.json").write_text("{}")
    assert cached_models() == ["org/a"]
