"""Find a model's shape from what the user typed: a folder, a config.json, a .gguf file, a hub id
already in the local Hugging Face cache, a ``bundled:`` name, or an earlier run (``run:<id>``). Nothing is downloaded and no
weights are read: config.json is parsed with :mod:`json`, a GGUF file's header with
:mod:`tuitune.models.gguf_header` (plain Python, no numpy, no torch).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from tuitune.hardware.errors import PlannerError
from tuitune.hardware.shapes import ModelShape, shape_from_config

# GGUF `general.architecture` -> transformers `model_type`. llama.cpp writes Mistral as "llama".
GGUF_ARCHITECTURES = {"llama": "llama", "qwen2": "qwen2", "qwen3": "qwen3", "gemma": "gemma",
                      "gemma2": "gemma2", "phi3": "phi3"}


def load_shape(ref: str) -> ModelShape:
    """The :class:`ModelShape` of ``ref``; a :class:`PlannerError` says why when there is none."""
    if ref.startswith("run:"):
        from tuitune.runs.refs import shape_ref
        from tuitune.runs.store import RunStoreError

        try:
            return load_shape(shape_ref(ref))
        except RunStoreError as e:
            raise PlannerError(str(e)) from None
    if ref.startswith("bundled:"):
        from tuitune.models.bundled import BundledNotFound, resolve_model

        try:
            return shape_from_gguf(resolve_model(ref))
        except BundledNotFound as e:
            raise PlannerError(str(e)) from None
    path = Path(ref).expanduser()
    if ref.endswith(".gguf"):
        if not path.is_file():
            raise PlannerError(f"model {ref}: GGUF file not found")
        return shape_from_gguf(path)
    if path.is_dir():
        config = path / "config.json"
        if not config.is_file():
            raise PlannerError(f"model {ref}: the folder has no config.json; point --model at a Hugging Face "
                               "model folder, a config.json or a .gguf file")
        return shape_from_config(_read_json(config), str(config))
    if path.is_file():
        if path.suffix != ".json":
            raise PlannerError(f"model {ref}: expected a folder, a config.json or a .gguf file")
        return shape_from_config(_read_json(path), str(path))
    if ref.startswith((".", "/", "~")) or ref.count("/") != 1:
        raise PlannerError(f"model {ref}: no such file or folder")
    cached = hub_cache_config(ref)
    if cached is None:
        raise PlannerError(
            f"model {ref}: not a local path and not in the Hugging Face cache ({hub_cache_dir()}). "
            f"Fetch just its config once while online: `hf download {ref} config.json`"
        )
    return shape_from_config(_read_json(cached), f"{ref} ({cached})")


def hub_cache_dir() -> Path:
    """Where huggingface_hub keeps downloads: HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    home = os.environ.get("HF_HOME") or os.path.join(os.environ.get("XDG_CACHE_HOME", "~/.cache"), "huggingface")
    return Path(home).expanduser() / "hub"


def hub_cache_config(repo_id: str) -> Path | None:
    """config.json of ``repo_id`` in the local hub cache: the snapshot `refs/main` names, else any."""
    repo = hub_cache_dir() / ("models--" + repo_id.replace("/", "--"))
    snapshots = repo / "snapshots"
    main = repo / "refs" / "main"
    if main.is_file():
        candidate = snapshots / main.read_text().strip() / "config.json"
        if candidate.is_file():
            return candidate
    found = sorted(snapshots.glob("*/config.json")) if snapshots.is_dir() else []
    return found[-1] if found else None


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
    from tuitune.models.gguf_header import read_header

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
