"""A model's shape from a local description of it: a folder's config.json (or the file itself), a
.gguf file's header, a ``bundled:`` model, or a hub id's config.json already in the local Hugging
Face cache. Nothing is downloaded and no weights are read: config.json is parsed with
:mod:`json`, a GGUF header with :mod:`tuitune.models.gguf_header` (plain Python, no numpy, no torch).

A ``run:<id>`` reference is the run layer's to resolve (:func:`tuitune.runs.refs.readable_ref`
gives the reference its shape is read from); the planner refuses an unresolved one.
"""

from __future__ import annotations

import json
from pathlib import Path

from tuitune.hardware.errors import PlannerError
from tuitune.hardware.reference import hub_config
from tuitune.hardware.shapes import ModelShape, shape_from_config
from tuitune.models.bundled import BundledNotFound
from tuitune.models.gguf_header import read_header
from tuitune.models.hub_cache import hub_cache_config, hub_cache_dir
from tuitune.models.ref import ModelRef, ModelRefError, parse_model_ref, unbundle

SHIPPED = "tuitune's copy of its config.json"
"""Where a shape came from when tuitune ships the model's config (the fronts say so)."""
DOWNLOAD_HINT = ("not downloaded yet; training fetches it, or beforehand while online: `hf download {}` "
                 "(gated models need `hf auth login` and the licence accepted on huggingface.co)")

# GGUF `general.architecture` -> transformers `model_type`. llama.cpp writes Mistral as "llama".
GGUF_ARCHITECTURES = {"llama": "llama", "qwen2": "qwen2", "qwen3": "qwen3", "gemma": "gemma",
                      "gemma2": "gemma2", "phi3": "phi3"}


def load_shape(ref: str | ModelRef) -> ModelShape:
    """The :class:`ModelShape` of ``ref``; a :class:`PlannerError` says why when there is none."""
    try:
        model = unbundle(parse_model_ref(ref))
    except (ModelRefError, BundledNotFound) as e:
        raise PlannerError(str(e)) from None
    text = model.text
    if model.kind == "run":
        raise PlannerError(f"model {text}: the planner reads a run's shape from what the run started from; "
                           "resolve the run first (tuitune.runs.refs.readable_ref)")
    if model.kind == "hub":
        cached = hub_cache_config(model.value)
        if cached is not None:
            return shape_from_config(_read_json(cached), f"{text} ({cached})")
        known = hub_config(model.value)
        if known is not None:
            return shape_from_config(known, f"{text} ({SHIPPED}: {DOWNLOAD_HINT.format(text)})")
        raise PlannerError(
            f"model {text}: not a local path and not in the Hugging Face cache ({hub_cache_dir()}). "
            f"Fetch just its config once while online: `hf download {text} config.json`"
        )
    path = model.path
    assert path is not None  # local kinds carry their path
    if model.kind == "gguf":
        if not path.is_file():
            raise PlannerError(f"model {text}: GGUF file not found")
        return shape_from_gguf(path)
    if path.is_dir():
        config = path / "config.json"
        if not config.is_file():
            raise PlannerError(f"model {text}: the folder has no config.json; point --model at a Hugging Face "
                               "model folder, a config.json or a .gguf file")
        return shape_from_config(_read_json(config), str(config))
    if path.is_file():
        if path.suffix != ".json":
            raise PlannerError(f"model {text}: expected a folder, a config.json or a .gguf file")
        return shape_from_config(_read_json(path), str(path))
    raise PlannerError(f"model {text}: no such file or folder")


def model_params(ref: str | ModelRef) -> int | None:
    """The model's parameter count from its config or GGUF header, read without torch (None when
    unknown, e.g. a hub id not downloaded yet, or a ``run:`` reference the caller did not resolve
    with :func:`tuitune.runs.refs.readable_ref`). The guided defaults scale with it."""
    try:
        return load_shape(ref).total_params
    except (PlannerError, OSError, ValueError, KeyError):
        return None


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise PlannerError(f"{path}: cannot read it as JSON ({e})") from None
    if not isinstance(data, dict):
        raise PlannerError(f"{path}: expected a JSON object")
    return data


def shape_from_gguf(path: Path) -> ModelShape:
    """A shape from GGUF metadata; tying and biases are read off the tensor list."""
    config, _tensors = gguf_config(path)
    return shape_from_config(config, str(path))


def gguf_config(path: Path) -> tuple[dict, dict[str, int]]:
    """A config.json-like dict from a GGUF file, and its tensors' element counts by name."""
    try:
        meta, tensors = read_header(path)
    except (OSError, ValueError) as e:
        raise PlannerError(f"{path}: cannot read GGUF metadata ({e})") from None
    arch = meta.get("general.architecture")
    if arch not in GGUF_ARCHITECTURES:
        raise PlannerError(f"{path}: unknown GGUF architecture {arch!r}; the planner knows "
                           f"{', '.join(sorted(GGUF_ARCHITECTURES))}")
    hidden = meta.get(f"{arch}.embedding_length")
    vocab = meta.get(f"{arch}.vocab_size") or meta.get("tokenizer.ggml.tokens")
    if not vocab and hidden:
        vocab = tensors.get("token_embd.weight", 0) // hidden
    heads = meta.get(f"{arch}.attention.head_count")
    config = {
        "model_type": GGUF_ARCHITECTURES[arch],
        "vocab_size": vocab,
        "hidden_size": hidden,
        "intermediate_size": meta.get(f"{arch}.feed_forward_length"),
        "num_hidden_layers": meta.get(f"{arch}.block_count"),
        "num_attention_heads": heads,
        "num_key_value_heads": meta.get(f"{arch}.attention.head_count_kv", heads),
        "head_dim": meta.get(f"{arch}.attention.key_length"),
        # llama.cpp writes no `output.weight` when the head shares the embedding matrix.
        "tie_word_embeddings": "output.weight" not in tensors,
        "attention_bias": "blk.0.attn_q.bias" in tensors,
    }
    return {k: v for k, v in config.items() if v is not None}, tensors
