"""Helpers for tests that drive the real command line and read run directories."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

# Where the tests' own files live, named once: the areas share some of them (the NVML recordings
# serve the hardware, CLI and TUI tests), and a test moved to another folder keeps working.
TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
CONFIGS = TESTS / "hardware" / "configs"
"""config.json files of released models (the parameter counts the planner must reproduce)."""
NVML_RECORDINGS = TESTS / "hardware" / "nvml"
"""NVML readings of real cards, replayed through ``TUITUNE_NVML_REPLAY``."""
BAD_INPUTS = TESTS / "cli" / "bad_inputs"
"""The bad-input corpus: datasets, presets and model files tuitune must refuse with a clear message."""
BAD_DATA = TESTS / "data" / "bad"
"""Malformed datasets for the readers, the loader and `tuitune data`."""
CONFORMANCE = REPO.parent / "shared" / "conformance"
"""Real third-party files beside the repository (optional: the tests that read them skip without)."""

HEAVY = ("torch", "transformers", "trl", "peft", "datasets", "accelerate", "bitsandbytes")
"""The training stack: only worker processes load it (DESIGN.md, "Layers")."""


def write_preset(path: Path, model: Path | str, data: Path, **sections: dict) -> Path:
    """A preset file for tests; ``sections`` add or replace keys per section."""
    import tomli_w

    preset = {
        "name": "test",
        "model": {"path": str(model)},
        "data": {"path": str(data), "val_fraction": 0.1},
        "train": {
            "method": "lora", "device": "cpu", "max_steps": 8, "learning_rate": 5e-3,
            "batch_size": 4, "max_seq_len": 128, "save_steps": 4, "warmup_ratio": 0.0,
            "lr_scheduler": "constant",
        },
        "lora": {"r": 8, "alpha": 16, "dropout": 0.0},
        "export": {"gguf": []},
        # The end-of-run evaluation is tested in tests/evaluation; elsewhere it would only cost time.
        "eval": {"general": False},
    }
    for section, values in sections.items():
        preset.setdefault(section, {}).update(values)
    path.write_text(tomli_w.dumps(preset), encoding="utf-8")
    return path


def shape_only_model(name: str, folder: Path) -> Path:
    """A model folder holding a released model's config.json (CONFIGS), with empty weights and
    tokenizer files: what the planner and the pre-run checks read, for models too big to have."""
    import shutil

    model = folder / name
    model.mkdir(parents=True, exist_ok=True)
    shutil.copy(CONFIGS / name / "config.json", model / "config.json")
    (model / "model.safetensors").write_bytes(b"")
    (model / "tokenizer.json").write_text("{}")
    return model


def tuitune(*args: str, timeout: float = 600, env_home: Path | None = None, **kwargs) -> subprocess.CompletedProcess:
    """Run the real `tuitune` command line in a subprocess (with its own TUITUNE_HOME if given)."""
    env = dict(os.environ)
    if env_home is not None:
        env["TUITUNE_HOME"] = str(env_home)
    return subprocess.run(
        [sys.executable, "-m", "tuitune", *args],
        capture_output=True, text=True, timeout=timeout, env=env, **kwargs,
    )


def run_dir_from(output: str) -> Path:
    for line in output.splitlines():
        if line.strip().startswith("directory:"):
            return Path(line.split("directory:", 1)[1].strip())
    raise AssertionError(f"no run directory in output:\n{output}")


def step_losses(run_dir: Path) -> list[float]:
    from tuitune.events import read_events

    return [e["loss"] for e in read_events(run_dir / "events.jsonl") if e["type"] == "step"]


def read_state(run_dir: Path) -> dict:
    return json.loads((run_dir / "state.json").read_text())


def idle_process(code: str = "", **popen) -> subprocess.Popen:
    """A Python process that runs ``code`` and then idles until it is signalled or the test lets go
    of it (its stdin closes): a stand-in worker that needs no timed sleep to stay alive, and that
    cannot outlive the test session."""
    return subprocess.Popen([sys.executable, "-c", f"{code}\nimport sys\nsys.stdin.read()\n"],
                            stdin=subprocess.PIPE, **popen)


def python_env(**extra: str) -> dict[str, str]:
    """The environment for a fresh interpreter started by a test: this checkout first on the path,
    so the child imports this checkout's ``tuitune`` and ``tests`` from wherever pytest was started."""
    env = dict(os.environ, **extra)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [env.get("PYTHONPATH")])])
    return env


def heavy_loaded_by(code: str, heavy: tuple[str, ...] = HEAVY, timeout: float = 120) -> list[str]:
    """Run ``code`` in a fresh interpreter and return which of the ``heavy`` top-level packages it
    left in ``sys.modules``. Only a fresh process shows it: in the test process torch is loaded anyway."""
    probe = f"{code}\nimport sys\nprint('HEAVY', sorted({{m.split('.')[0] for m in sys.modules}} & {set(heavy)!r}))\n"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=timeout, env=python_env())
    assert out.returncode == 0, f"the probe failed:\n{out.stderr[-3000:]}"
    last = out.stdout.strip().splitlines()[-1]
    assert last.startswith("HEAVY "), out.stdout[-3000:]
    return json.loads(last[len("HEAVY "):].replace("'", '"'))


NEVER_STOPS = "did not stop within"


def exported_gguf(run_dir: Path, quant: str = "q8_0") -> Path:
    """The run's exported GGUF of ``quant``, after checking its verification: every check passed,
    or only the one that the greedy answers stop — a model trained a few steps from random weights
    (or on documents) need not emit its end token, which says nothing about the method or stage
    that trained it. Merge, conversion, quantization, the template and the agreement with the
    merged model must hold either way; the caller then loads the file in llama.cpp."""
    report = json.loads((run_dir / "gguf" / "report.json").read_text())
    verification = report["verification"]
    assert all(NEVER_STOPS in reason for reason in verification["reasons"]), verification["reasons"]
    assert verification["template_match"] and verification["agreement"] >= 0.9, verification
    return next((run_dir / "gguf").glob(f"*{quant}*.gguf"))
