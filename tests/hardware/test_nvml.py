"""NVML logic on recordings shaped like real cards (tests/data/nvml), the no-driver path on
this machine, and a real card where there is one (`gpu` marker)."""

from __future__ import annotations

import json

import pytest

from tests.helpers import NVML_RECORDINGS
from tuitune.hardware.nvml import read_gpus
from tuitune.hardware.nvml_replay import RecordedNvml, record


def _replay(name: str) -> RecordedNvml:
    return RecordedNvml(json.loads((NVML_RECORDINGS / name).read_text()))


def test_rtx_4090_with_a_display_and_a_training_process():
    report = read_gpus(_replay("rtx4090.json"))
    assert not report.cpu_only and report.cpu_only_reason is None
    assert (report.driver_version, report.cuda_driver_version) == ("550.107.02", "12.4")
    (gpu,) = report.gpus
    assert gpu.name == "NVIDIA GeForce RTX 4090" and gpu.uuid.startswith("GPU-")
    assert gpu.memory_total == 25757220864 and gpu.memory_free + gpu.memory_used == gpu.memory_total
    assert gpu.compute_capability == (8, 9) and gpu.bf16
    assert gpu.power_draw_w == pytest.approx(287.412) and gpu.power_limit_w == 450
    assert gpu.temperature_c == 67 and gpu.throttle_reasons == ["sw_power_cap"]
    assert [(p.pid, p.name) for p in gpu.processes] == [
        (48213, "python3"), (1873, "/usr/lib/xorg/Xorg"), (2410, "/usr/bin/gnome-shell")]
    assert gpu.processes[0].used_bytes == 4362076160


def test_h100_process_without_attributable_memory_or_name():
    (gpu,) = read_gpus(_replay("h100_80gb.json")).gpus
    assert gpu.compute_capability == (9, 0) and gpu.bf16 and gpu.throttle_reasons == []
    assert gpu.power_limit_w == 700
    unknown = gpu.processes[1]
    assert (unknown.pid, unknown.name, unknown.used_bytes) == (24002, None, None)


def test_turing_card_has_no_bf16_and_unsupported_queries_read_none():
    (gpu,) = read_gpus(_replay("t4.json")).gpus
    assert gpu.compute_capability == (7, 5) and not gpu.bf16
    assert gpu.power_draw_w is None and gpu.power_limit_w is None
    assert gpu.throttle_reasons == ["gpu_idle"]


def test_no_driver_is_a_cpu_only_report_that_says_why():
    report = read_gpus(_replay("no_driver.json"))
    assert report.cpu_only and report.gpus == []
    assert "NVML Shared Library Not Found" in report.cpu_only_reason
    assert "no NVIDIA driver" in report.cpu_only_reason
    assert report.to_dict()["cpu_only"] is True


def test_this_machine_never_raises():
    report = read_gpus()
    assert report.cpu_only == (report.cpu_only_reason is not None)


def test_missing_nvidia_ml_py_is_explained(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "pynvml", None)  # import pynvml -> ImportError
    report = read_gpus()
    assert report.cpu_only and "nvidia-ml-py is not installed" in report.cpu_only_reason


def test_a_failure_while_reading_devices_is_a_cpu_only_report():
    nvml = _replay("rtx4090.json")

    def broken(index):
        raise RuntimeError("GPU is lost")

    nvml.nvmlDeviceGetHandleByIndex = broken
    report = read_gpus(nvml)
    assert report.cpu_only and "GPU is lost" in report.cpu_only_reason


def test_driver_without_gpus():
    report = read_gpus(RecordedNvml({"driver_version": "550.1", "cuda_driver_version": 12040, "devices": []}))
    assert report.cpu_only and "reports no GPU" in report.cpu_only_reason


@pytest.mark.parametrize("name", ["rtx4090.json", "h100_80gb.json", "t4.json"])
def test_record_replays_to_the_same_recording(name):
    original = json.loads((NVML_RECORDINGS / name).read_text())
    original.pop("_note")
    assert record(RecordedNvml(original)) == original


def test_to_dict_is_json_ready():
    data = read_gpus(_replay("rtx4090.json")).to_dict()
    assert json.loads(json.dumps(data))["gpus"][0]["compute_capability"] == "8.9"
    assert data["gpus"][0]["bf16"] is True


@pytest.mark.gpu
def test_real_card_reads_and_replays():
    report = read_gpus()
    assert not report.cpu_only, report.cpu_only_reason
    gpu = report.gpus[0]
    assert gpu.name and gpu.memory_total > 2**30 and gpu.memory_free <= gpu.memory_total
    assert gpu.compute_capability is not None and report.driver_version
    replayed = read_gpus(RecordedNvml(record()))
    assert [g.name for g in replayed.gpus] == [g.name for g in report.gpus]
    assert replayed.gpus[0].memory_total == gpu.memory_total
