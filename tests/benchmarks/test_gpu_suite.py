"""benchmarks/gpu_suite.py: its dry run lists the GPU steps and the Python needs, its bisection
finds the longest length, and its CPU mode runs the measuring steps at toy size, writing the
JSON and the table after each step."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest

from tests.helpers import REPO, python_env

SUITE = REPO / "benchmarks" / "gpu_suite.py"


def load_suite():
    spec = importlib.util.spec_from_file_location("gpu_suite", SUITE)
    module = importlib.util.module_from_spec(spec)
    sys.modules["gpu_suite"] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def suite(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SUITE), *args], capture_output=True, text=True, timeout=timeout,
                          env=python_env(), cwd=REPO)


def test_the_dry_run_lists_the_gpu_steps_in_order_and_what_is_missing():
    result = suite("--dry-run")
    assert result.returncode == 0, result.stderr
    steps = [line.split()[1] for line in result.stdout.splitlines() if line[:1].isdigit()]
    assert steps == ["gpu-tests", "doctor", "self-test", "planner", "speed", "context"]
    assert "Llama-3.1-8B qlora 1x2048" in result.stdout and "24 GiB" in result.stdout
    assert "Python needs (benchmarks/gpu_suite.requirements.txt): all installed here" in result.stdout
    bad = suite("--dry-run", "--only", "planner,warp")
    assert bad.returncode == 2 and "unknown step(s) warp; the steps are gpu-tests, doctor" in bad.stderr


@pytest.mark.parametrize("limit", [1024, 5000, 30_000, 81_920, 200_000])
def test_the_bisection_finds_the_longest_fitting_length_from_the_prediction(limit):
    suite_module = load_suite()
    tried = []

    def fits(length):
        tried.append(length)
        return length <= limit

    found = suite_module.fits_longest(fits, predicted=40_000, tries=20)
    assert found == limit // 1024 * 1024  # the longest multiple of 1024 that fits
    assert len(tried) <= 15 and all(n % 1024 == 0 for n in tried)
    assert suite_module.fits_longest(lambda n: False, predicted=4096, tries=4) is None
    cut_short = suite_module.fits_longest(lambda n: n <= limit, predicted=40_000, tries=2)
    assert cut_short is None or cut_short <= limit  # never a length that was not seen to fit


def test_the_cpu_mode_measures_at_toy_size_and_keeps_each_steps_result(tmp_path):
    result = suite("--cpu", "--only", "planner,context", "--out", str(tmp_path), timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((tmp_path / "gpu_suite.json").read_text())
    assert report["mode"] == "cpu (toy sizes)" and list(report["steps"]) == ["planner", "context"]
    planner = report["steps"]["planner"]
    assert planner["status"] == "ok", planner
    rows = planner["result"]["rows"]
    assert [(r["method"], r["seq_len"]) for r in rows] == [("lora", 64), ("lora", 256), ("full", 64), ("full", 256)]
    assert all(r["status"] == "ok" and r["tokens_per_s"] > 0 and r["rss_gib"] > 0 for r in rows)
    context = report["steps"]["context"]
    assert context["status"] == "ok", context
    defaults = context["result"]["variants"]["tuitune defaults"]
    assert defaults["predicted"] > 0 and defaults["probes"][0]["fits"] is True  # the planner's answer trains
    table = (tmp_path / "gpu_suite.md").read_text()
    assert "## planner: estimate vs measured peak" in table and "| toy Llama | lora | 2 x 64 |" in table
    assert "## longest context under the cap" in table
