"""The planner's calibration loop: recorded runs' memory events go into
$TUITUNE_HOME/calibration/runs.jsonl, and the planner (`tuitune plan`, the recommendation behind
`method = "auto"`, a preset's check) corrects its estimate by them, with the reason.

The recorded runs (tests/hardware/calibration/qlora-8b-rtx4090.json) are hand-written events
with plausible numbers, not measurements: no GPU has run them yet (the file says so)."""

from __future__ import annotations

import json

import pytest

from tests.helpers import CONFIGS, NVML_RECORDINGS, TESTS, shape_only_model, tuitune
from tuitune.hardware import calibration
from tuitune.hardware.calibration import FACTOR_RANGE, KEEP, for_gpu, for_report, read_samples, record_run
from tuitune.hardware.estimate import GiB, estimate
from tuitune.hardware.model_shape import load_shape
from tuitune.hardware.nvml import read_gpus
from tuitune.hardware.nvml_replay import RecordedNvml
from tuitune.hardware.plan import check_preset, setup_from_preset
from tuitune.hardware.recommend import recommend
from tuitune.preset import load_preset

RTX4090 = "NVIDIA GeForce RTX 4090"
RECORDED = json.loads((TESTS / "hardware" / "calibration" / "qlora-8b-rtx4090.json").read_text())["runs"]


@pytest.fixture
def qlora_preset(tmp_path):
    """The shipped 8B QLoRA preset on a model folder holding only its config.json."""
    data = tmp_path / "d.jsonl"
    data.write_text('{"prompt": "a", "completion": "b"}\n')
    preset = load_preset("presets/llama3.1-8b-qlora-4090.toml", [f"data.path={data}"])
    preset.model.path = str(shape_only_model("Llama-3.1-8B", tmp_path))
    return preset


def _shape():
    return load_shape(str(CONFIGS / "Llama-3.1-8B"))


def _record_all(preset, runs=RECORDED):
    return [record_run(preset, r["memory"], r["gpu"], _shape(), run_id=r["run_id"], speed=r["speed"]) for r in runs]


def _report(name: str):
    return read_gpus(RecordedNvml(json.loads((NVML_RECORDINGS / name).read_text())))


def test_a_recorded_run_is_compared_with_the_estimate_of_its_largest_micro_batch(qlora_preset, tuitune_home):
    first = RECORDED[0]
    record = record_run(qlora_preset, first["memory"], first["gpu"], _shape(), run_id=first["run_id"],
                        speed=first["speed"])
    # batch 4 x 612 tokens was the largest micro-batch: the estimate is made there, not at max_seq_len 2048
    expected = estimate(_shape(), setup_from_preset(qlora_preset).with_(seq_len=612)).torch_reserved_bytes
    assert record["predicted_reserved_bytes"] == expected
    assert record["measured_reserved_bytes"] == first["memory"]["cuda_max_reserved_bytes"]
    assert record["ratio"] == pytest.approx(0.899, abs=0.002)
    assert (record["gpu"], record["method"], record["run_id"]) == (RTX4090, "qlora", first["run_id"])
    assert record["settings"]["seq_len"] == 612 and record["settings"]["batch"] == 4
    lines = (tuitune_home / "calibration" / "runs.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == [record]


def test_a_cpu_run_or_one_without_a_step_records_nothing(qlora_preset, tuitune_home):
    cpu_event = {"type": "memory", "step": 8, "max_rss_bytes": 1_600_000_000, "max_batch_tokens": 512}
    assert record_run(qlora_preset, cpu_event, None, _shape(), run_id="r") is None
    assert record_run(qlora_preset, cpu_event, RTX4090, _shape(), run_id="r") is None  # no CUDA counters
    no_step = {**RECORDED[0]["memory"], "step": 0}
    assert record_run(qlora_preset, no_step, RTX4090, _shape(), run_id="r") is None
    assert not (tuitune_home / "calibration" / "runs.jsonl").exists()


def test_the_correction_is_the_median_of_this_cards_runs_with_its_reason(qlora_preset):
    _record_all(qlora_preset)
    correction = for_gpu(RTX4090).for_method("qlora")
    assert correction.runs == 3 and correction.ratio == pytest.approx(0.899, abs=0.002)
    assert correction.factor == correction.ratio and correction.applied
    assert correction.reason.startswith(
        "on this card (NVIDIA GeForce RTX 4090) past QLoRA runs peaked at 90 % of the estimate (3 runs)")
    # LoRA has no runs of its own here: it is corrected by the card's runs of every method
    assert for_gpu(RTX4090).for_method("lora").reason.startswith("on this card (NVIDIA GeForce RTX 4090) past runs")
    # another card learns nothing from these
    assert for_report(_report("t4.json")).for_method("qlora") is None
    assert for_report(_report("no_driver.json")) is None


def test_one_run_is_shown_but_not_used_and_corrections_stay_in_range(qlora_preset):
    _record_all(qlora_preset, RECORDED[:1])
    one = for_gpu(RTX4090).for_method("qlora")
    assert (one.runs, one.factor, one.applied) == (1, 1.0, False)
    assert "past QLoRA run peaked at 90 %" in one.reason and "not corrected until 2 runs agree" in one.reason
    halved = [{**r, "memory": {**r["memory"], "cuda_max_reserved_bytes": r["memory"]["cuda_max_reserved_bytes"] // 2}}
              for r in RECORDED]
    _record_all(qlora_preset, halved)
    low = for_gpu(RTX4090).for_method("qlora")  # 4 runs: 0.90 and three near 0.47, median ~0.47
    assert low.ratio < 0.5 and low.factor == FACTOR_RANGE[0]
    assert "the most a correction may move it" in low.reason


def test_corrupt_and_partial_lines_are_skipped(qlora_preset, tuitune_home):
    good = _record_all(qlora_preset)
    path = tuitune_home / "calibration" / "runs.jsonl"
    text = path.read_text()
    bad = ['{"gpu": "NVIDIA GeForce RTX 4090", "method": "qlora"}',  # fields missing
           '[1, 2, 3]', 'not json at all', '{"gpu": "NVIDIA GeForce RTX 4090", "method": "qlora", '
           '"predicted_reserved_bytes": 0, "measured_reserved_bytes": 5}',  # nothing to divide by
           '{"gpu": "NVIDIA GeForce RTX 4090", "method": "qlora", "predicted_reserved_bytes": "x", '
           '"measured_reserved_bytes": 5}', '\x00\xff garbage']
    path.write_text("\n".join(bad) + "\n" + text + '{"gpu": "NVIDIA GeForce RTX 40')  # cut by a crash
    samples = read_samples()
    assert [s.ratio for s in samples] == pytest.approx([g["ratio"] for g in good], abs=1e-4)
    # the planner answers, and a new record still lands after the torn line
    assert for_gpu(RTX4090).for_method("qlora").runs == 3
    _record_all(qlora_preset, RECORDED[:1])
    assert len(read_samples()) == 4


def test_the_file_stays_bounded(tuitune_home):
    record = {"gpu": RTX4090, "method": "lora", "predicted_reserved_bytes": 10 * GiB, "measured_reserved_bytes": 9 * GiB}
    for i in range(2 * KEEP + 1):
        calibration.append({**record, "run_id": str(i)})
    lines = (tuitune_home / "calibration" / "runs.jsonl").read_text().splitlines()
    assert len(lines) == KEEP and json.loads(lines[-1])["run_id"] == str(2 * KEEP)
    assert len(read_samples()) == KEEP


def test_probes_that_name_their_card_count_too(tuitune_home):
    folder = tuitune_home / "calibration"
    folder.mkdir(parents=True)
    probe = {"time": 1.0, "model": "m", "settings": {"method": "lora"}, "estimate_peak_bytes": 10 * GiB,
             "measured": {"fits": True, "torch_max_reserved": int(11 * GiB)}}
    rows = [probe, {**probe, "gpu": RTX4090}, {**probe, "gpu": RTX4090, "measured": {"fits": False}}]
    (folder / "probes.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    samples = read_samples()
    assert [(s.gpu, s.source, round(s.ratio, 2)) for s in samples] == [(RTX4090, "probe", 1.1)]


def test_the_correction_changes_what_fits_and_says_so(qlora_preset):
    shape, gpu = _shape(), 24 * GiB
    plain = recommend(shape, gpu, seq_len=2048)
    _record_all(qlora_preset)
    cal = for_gpu(RTX4090)
    corrected = recommend(shape, gpu, seq_len=2048, calibration=cal)
    assert corrected.chosen.correction.applied
    assert "Calibration: on this card (NVIDIA GeForce RTX 4090)" in corrected.explanation
    assert corrected.to_dict()["calibration"]["runs"] == 3
    # the corrected choice is one the formulas alone would refuse: the runs made room
    assert estimate(shape, corrected.chosen.setup, gpu).fits is False
    assert corrected.settings() != plain.settings()
    # the estimate's breakdown still adds up, its calibration term being the change
    est = estimate(shape, setup_from_preset(qlora_preset), gpu, calibration=cal)
    plain_est = estimate(shape, setup_from_preset(qlora_preset), gpu)
    assert est.peak_bytes == sum(est.breakdown.values()) < plain_est.peak_bytes
    assert est.breakdown["calibration"] == pytest.approx((cal.for_method("qlora").factor - 1)
                                                         * plain_est.torch_reserved_bytes, abs=1)
    assert est.uncorrected_reserved_bytes == plain_est.torch_reserved_bytes
    assert est.to_dict()["calibration"]["uncorrected_peak_gb"] == plain_est.to_dict()["peak_gb"]
    assert any(n.startswith("on this card") for n in est.notes)
    # a preset's check before a run names the correction when it refuses
    with pytest.raises(Exception, match="past QLoRA runs peaked at 90 %"):
        check_preset(qlora_preset, 6 * GiB, shape=shape, calibration=cal)


def test_tuitune_plan_applies_the_cards_calibration(qlora_preset, tuitune_home, monkeypatch):
    _record_all(qlora_preset)
    model = str(CONFIGS / "Llama-3.1-8B")
    monkeypatch.setenv("TUITUNE_NVML_REPLAY", str(NVML_RECORDINGS / "rtx4090.json"))
    args = ("plan", "--model", model, "--method", "qlora", "--seq-len", "2048")
    corrected = json.loads(tuitune(*args, "--json", env_home=tuitune_home).stdout)
    plain = json.loads(tuitune(*args, "--json", "--no-calibration", env_home=tuitune_home).stdout)
    text = tuitune(*args, env_home=tuitune_home).stdout
    recommended = json.loads(tuitune("plan", "--model", model, "--json", env_home=tuitune_home).stdout)
    assert plain["calibration"] is None and "calibration" not in plain["breakdown"]
    assert corrected["calibration"]["runs"] == 3 and corrected["calibration"]["applied"] is True
    assert corrected["calibration"]["uncorrected_peak_gb"] == plain["peak_gb"] > corrected["peak_gb"]
    assert set(plain) <= set(corrected)  # the JSON contract keeps its fields
    assert "note: on this card (NVIDIA GeForce RTX 4090) past QLoRA runs peaked at 90 % of the estimate" in text
    assert recommended["calibration"] is not None and "Calibration: on this card" in recommended["explanation"]


def test_a_corrupt_calibration_file_never_stops_tuitune_plan(tuitune_home, monkeypatch):
    folder = tuitune_home / "calibration"
    folder.mkdir(parents=True)
    (folder / "runs.jsonl").write_bytes(b'\x00\x01{"gpu": \n[]\n{"a": 1}\n')
    (folder / "probes.jsonl").write_text('{"gpu": "NVIDIA GeForce RTX 4090", "measured": 3}\n')
    monkeypatch.setenv("TUITUNE_NVML_REPLAY", str(NVML_RECORDINGS / "rtx4090.json"))
    result = tuitune("plan", "--model", str(CONFIGS / "Qwen2.5-0.5B"), "--json", env_home=tuitune_home)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["calibration"] is None

