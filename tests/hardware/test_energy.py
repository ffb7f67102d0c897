"""Energy and heat per run from recorded NVML replays (no GPU here): the worker's sampler reads
power, temperature, throttle reasons and its own memory, matched by UUID, and integrates."""

from __future__ import annotations

import json

import pytest

from tests.helpers import NVML_RECORDINGS
from tuitune.events import EventWriter, read_events
from tuitune.hardware.energy import EnergyMeter, Sample, describe
from tuitune.hardware.nvml_replay import RecordedNvmlSeries

UUID = "GPU-5b1e8c3a-2f4d-7e91-a0c6-3d9b2e4f8a17"
TRAINER_PID = 48213


def _replay(name, tmp_path, uuids=(UUID,)):
    """Sample a 60 s recording every 5 s through the worker's sampler; its events and summary."""
    from tuitune.train.energy import Sampler

    now = [0.0]
    nvml = RecordedNvmlSeries(json.loads((NVML_RECORDINGS / name).read_text()), clock=lambda: now[0])
    with EventWriter(tmp_path / "events.jsonl") as events:
        sampler = Sampler(nvml, list(uuids), events, pid=TRAINER_PID, clock=lambda: now[0])
        for t in range(0, 61, 5):
            now[0] = float(t)
            sampler.sample()
        summary = sampler.finish()
    return read_events(tmp_path / "events.jsonl"), summary


def test_a_steady_300_w_for_60_s_is_5_wh(tmp_path):
    events, summary = _replay("rtx4090_steady_300w.json", tmp_path)
    assert summary["energy_wh"] == pytest.approx(5.0)
    assert summary["mean_power_w"] == pytest.approx(300.0) and summary["peak_power_w"] == 300.0
    assert summary["peak_temp_c"] == 76 and summary["throttled_s"] == 0 and summary["gpus"] == [UUID]
    power = [e for e in events if e["type"] == "power"]
    assert len(power) == 13 and power[0]["gpu"] == UUID
    assert power[0]["process_vram"] == 4362076160  # this process's memory, not the card's
    assert not [e for e in events if e["type"] == "warning"]
    [energy] = [e for e in events if e["type"] == "energy"]
    assert energy["message"] == describe(summary) and energy["message"].startswith("5.00 Wh")


def test_throttling_is_timed_and_warned_once(tmp_path):
    events, summary = _replay("rtx4090_throttling.json", tmp_path)
    # 450 W for 0-30 s (the power cap), 380 W after; the step at 30 s is a trapezoid.
    expected = (450 * 25 + (450 + 380) / 2 * 5 + 380 * 30) / 3600
    assert summary["energy_wh"] == pytest.approx(expected, abs=1e-3)
    assert summary["peak_power_w"] == 450.0 and summary["peak_temp_c"] == 84
    assert summary["throttled_s"] == 50 and summary["thermal_throttled_s"] == 20
    [warning] = [e for e in events if e["type"] == "warning"]
    assert warning["code"] == "throttling" and "power-throttled" in warning["message"]


def test_devices_are_matched_by_uuid_not_index(tmp_path):
    events, summary = _replay("rtx4090_steady_300w.json", tmp_path, uuids=("GPU-of-another-card",))
    assert summary is None and not [e for e in events if e["type"] == "power"]


def test_meter_sums_two_gpus():
    meter = EnergyMeter()
    for t in (0.0, 3600.0):
        meter.add(Sample(t, "GPU-a", 100.0, 50, [], None))
        meter.add(Sample(t, "GPU-b", 200.0, 60, [], None))
    summary = meter.summary()
    assert summary["energy_wh"] == pytest.approx(300.0) and summary["mean_power_w"] == pytest.approx(300.0)
