"""Model shapes from real config.json files (tests/data/configs) and the bundled GGUF.

Published totals are the model cards' parameter counts; the meta-device check builds each
model with transformers (no memory, no weights) and compares the count exactly.
"""

from __future__ import annotations

import json

import pytest

from tests.helpers import CONFIGS
from tuitune.hardware import PlannerError
from tuitune.hardware.model_shape import gguf_config, load_shape
from tuitune.hardware.reference import HUB_CONFIGS
from tuitune.hardware.shapes import shape_from_config

# (published figure as printed on the model card / paper, exact count of the released weights)
PUBLISHED = {
    "Llama-3.2-1B": (1.24e9, 1_235_814_400),
    "Llama-3.2-3B": (3.21e9, 3_212_749_824),
    "Llama-3.1-8B": (8.03e9, 8_030_261_248),
    "Qwen2.5-0.5B": (0.49e9, 494_032_768),
    "Qwen2.5-1.5B": (1.54e9, 1_543_714_304),
    "Qwen2.5-7B": (7.61e9, 7_615_616_512),
    "Qwen3-8B": (8.2e9, 8_190_735_360),
    "Mistral-7B-v0.3": (7.25e9, 7_248_023_552),
    "gemma-2-2b": (2.61e9, 2_614_341_888),
    "gemma-7b": (8.54e9, 8_537_680_896),
    "Phi-3-mini-4k-instruct": (3.82e9, 3_821_079_552),
    "SmolLM2-135M": (134.5e6, 134_515_008),
}


def _config(name: str) -> dict:
    return json.loads((CONFIGS / name / "config.json").read_text())


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_parameter_count_matches_the_published_total(name):
    shape = load_shape(str(CONFIGS / name))
    rounded, exact = PUBLISHED[name]
    assert shape.total_params == exact
    assert abs(shape.total_params - rounded) / rounded < 0.01  # within the card's rounding


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_parameter_count_matches_transformers_on_the_meta_device(name):
    torch = pytest.importorskip("torch")
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.for_model(**_config(name))
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config)
    # parameters() deduplicates a tied lm_head, as our count does
    assert sum(p.numel() for p in model.parameters()) == load_shape(str(CONFIGS / name)).total_params


def test_components_split_embeddings_head_and_layers():
    llama8 = load_shape(str(CONFIGS / "Llama-3.1-8B")).components()
    assert llama8["embeddings"] == llama8["lm_head"] == 128256 * 4096
    assert llama8["norms"] == (2 * 32 + 1) * 4096
    assert llama8["attention"] == 32 * (4096 * 4096 * 2 + 4096 * 1024 * 2)
    assert llama8["mlp"] == 32 * 3 * 4096 * 14336
    tied = load_shape(str(CONFIGS / "Llama-3.2-1B")).components()
    assert tied["lm_head"] == 0
    qwen = load_shape(str(CONFIGS / "Qwen2.5-0.5B"))
    assert qwen.qkv_bias
    assert qwen.components()["attention"] == 24 * (896 * 896 + 896 + 2 * (896 * 128 + 128) + 896 * 896)
    gemma2 = load_shape(str(CONFIGS / "gemma-2-2b"))
    assert gemma2.norms_per_layer == 4 and gemma2.head_dim == 256 and gemma2.tie_word_embeddings
    phi3 = load_shape(str(CONFIGS / "Phi-3-mini-4k-instruct"))
    assert [lin.name for lin in phi3.linears()] == ["qkv_proj", "o_proj", "gate_up_proj", "down_proj"]
    assert load_shape(str(CONFIGS / "Qwen3-8B")).qk_norm


def test_a_config_file_path_works_too():
    assert load_shape(str(CONFIGS / "SmolLM2-135M" / "config.json")).total_params == 134_515_008


def test_bundled_gguf_metadata_gives_the_same_shape(smollm2_gguf):
    shape = load_shape(str(smollm2_gguf))
    expected = shape_from_config(_config("SmolLM2-135M"))
    assert shape == expected  # source differs; it is not compared
    config, tensors = gguf_config(smollm2_gguf)
    assert sum(tensors.values()) == shape.total_params  # every tensor in the file is accounted for
    assert load_shape("bundled:smollm2-135m-instruct") == expected


def test_our_gguf_header_reader_agrees_with_the_gguf_package(smollm2_gguf):
    gguf = pytest.importorskip("gguf")
    from tuitune.models.gguf_header import read_header

    meta, tensors = read_header(smollm2_gguf)
    reader = gguf.GGUFReader(str(smollm2_gguf))
    assert tensors == {t.name: int(t.n_elements) for t in reader.tensors}
    for key in ("general.architecture", "llama.block_count", "llama.embedding_length",
                "llama.attention.head_count_kv", "llama.vocab_size", "llama.rope.freq_base"):
        assert meta[key] == pytest.approx(reader.fields[key].contents())
    assert meta["tokenizer.ggml.tokens"] == len(reader.fields["tokenizer.ggml.tokens"].data)


@pytest.mark.parametrize("content", [b"", b"GGML0000", b"GGUF\x03\x00\x00\x00\x01"])
def test_truncated_or_foreign_gguf_fails_clearly(tmp_path, content):
    path = tmp_path / "bad.gguf"
    path.write_bytes(content)
    with pytest.raises(PlannerError, match="cannot read GGUF metadata"):
        load_shape(str(path))


def test_gguf_reading_stays_light(smollm2_gguf):
    import subprocess
    import sys

    code = (f"import sys\nfrom tuitune.hardware.model_shape import load_shape\nload_shape({str(smollm2_gguf)!r})\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'transformers'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_unknown_architecture_fails_clearly(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "mamba", "architectures": ["MambaForCausalLM"]}))
    with pytest.raises(PlannerError, match="unknown architecture model_type='mamba'.*MambaForCausalLM.*llama"):
        load_shape(str(tmp_path))


def test_missing_size_key_fails_clearly(tmp_path):
    cfg = _config("Llama-3.2-1B")
    del cfg["intermediate_size"]
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(PlannerError, match="lacks 'intermediate_size'"):
        load_shape(str(tmp_path))


@pytest.mark.parametrize("ref, message", [
    ("{tmp}", "has no config.json"),
    ("{tmp}/missing.gguf", "GGUF file not found"),
    ("{tmp}/nowhere", "no such file or folder"),
    ("{tmp}/broken/config.json", "cannot read it as JSON"),
])
def test_bad_model_references(tmp_path, ref, message):
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "config.json").write_text("{not json")
    with pytest.raises(PlannerError, match=message):
        load_shape(ref.format(tmp=tmp_path))


def test_hub_id_is_read_from_the_local_cache_only(tmp_path, monkeypatch):
    # huggingface_hub reads HF_HUB_CACHE once, at import: move the cache where it looks now.
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(PlannerError, match="not in the Hugging Face cache.*hf download Qwen/Qwen2.5-0.5B config.json"):
        load_shape("Qwen/Qwen2.5-0.5B")  # not one tuitune ships the config of
    assert "tuitune's copy of its config.json" in load_shape("Qwen/Qwen2.5-7B").source
    repo = tmp_path / "models--Qwen--Qwen2.5-7B"
    snapshot = repo / "snapshots" / "a09a3545"
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("a09a3545")
    (snapshot / "config.json").write_text((CONFIGS / "Qwen2.5-7B" / "config.json").read_text())
    assert load_shape("Qwen/Qwen2.5-7B").total_params == 7_615_616_512
    assert str(snapshot) in load_shape("Qwen/Qwen2.5-7B").source  # the cached config comes first


@pytest.mark.parametrize("model_id", sorted(HUB_CONFIGS))
def test_the_shipped_configs_give_the_shapes_of_the_released_config_files(model_id, tmp_path, monkeypatch):
    """The presets' models plan offline from tuitune's copy of their config.json, which must size
    every tensor as the released file does (an -Instruct release has its base's shape)."""
    import dataclasses

    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path))  # an empty cache
    shipped = load_shape(model_id)
    assert "not downloaded yet" in shipped.source and f"hf download {model_id}" in shipped.source
    released = CONFIGS / model_id.split("/")[1].removesuffix("-Instruct") / "config.json"
    expected = load_shape(str(released))
    assert dataclasses.replace(shipped, source="") == dataclasses.replace(expected, source="")
