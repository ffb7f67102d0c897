"""`tuitune gpus` and `tuitune plan` through cli_hardware.main (wired like tuitune/cli/main.py):
the JSON contract, one-line errors with exit code 2, and nothing heavy imported."""

from __future__ import annotations

import json

import pytest

from tests.helpers import CONFIGS, NVML_RECORDINGS, heavy_loaded_by
from tuitune.cli.hardware import main


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_gpus_without_a_driver_is_a_clean_cpu_report(capsys, monkeypatch):
    monkeypatch.setenv("TUITUNE_NVML_REPLAY", str(NVML_RECORDINGS / "no_driver.json"))
    code, out, err = _run(capsys, "gpus")
    assert code == 0 and err == ""
    assert out.startswith("No GPU: NVML could not start: NVML Shared Library Not Found")
    code, out, _ = _run(capsys, "gpus", "--json")
    data = json.loads(out)
    assert code == 0 and data["cpu_only"] is True and "Library Not Found" in data["cpu_only_reason"]


def test_gpus_on_this_machine_never_tracebacks(capsys):
    code, out, err = _run(capsys, "gpus")
    assert code == 0 and "Traceback" not in out + err


def test_gpus_on_a_recorded_4090(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("TUITUNE_NVML_REPLAY", str(NVML_RECORDINGS / "rtx4090.json"))
    code, out, _ = _run(capsys, "gpus")
    assert code == 0 and "NVIDIA GeForce RTX 4090" in out and "bf16 yes" in out and "48213 python3" in out
    code, out, _ = _run(capsys, "gpus", "--json", "--record", str(tmp_path / "rec.json"))
    gpu = json.loads(out)["gpus"][0]
    assert (gpu["memory_total"], gpu["compute_capability"], gpu["bf16"]) == (25757220864, "8.9", True)
    assert json.loads((tmp_path / "rec.json").read_text())["devices"][0]["name"] == "NVIDIA GeForce RTX 4090"


def test_plan_estimate_json_contract(capsys):
    code, out, _ = _run(capsys, "plan", "--model", str(CONFIGS / "Llama-3.1-8B"), "--method", "qlora",
                        "--seq-len", "2048", "--batch", "2", "--lora-r", "32", "--lora-targets", "q,v",
                        "--no-grad-checkpointing", "--optimizer", "paged_adamw_8bit", "--gpu-gb", "24", "--json")
    assert code == 0
    data = json.loads(out)
    assert {"method", "peak_gb", "fits", "gpu_gb", "breakdown"} <= data.keys()
    assert data["method"] == "qlora" and data["gpu_gb"] == 24 and isinstance(data["fits"], bool)
    assert sum(data["breakdown"].values()) == pytest.approx(data["peak_gb"], abs=0.06)
    assert data["settings"] == {"method": "qlora", "seq_len": 2048, "batch": 2, "grad_accum": 1,
                                "grad_checkpointing": False, "optimizer": "paged_adamw_8bit",
                                "lora_r": 32, "lora_targets": ["q_proj", "v_proj"]}


def test_plan_flags_for_dora_freeze_and_virtual_tokens_change_the_estimate(capsys):
    def peak(*argv):
        code, out, _ = _run(capsys, "plan", "--model", str(CONFIGS / "Llama-3.2-1B"), "--gpu-gb", "24", "--json", *argv)
        assert code == 0
        return json.loads(out)

    lora, dora = peak("--method", "lora"), peak("--method", "lora", "--dora")
    assert dora["peak_gb"] > lora["peak_gb"] and dora["settings"]["dora"] is True
    two, eight = peak("--method", "freeze"), peak("--method", "freeze", "--freeze-layers", "8")
    assert eight["breakdown"]["optimizer_state"] > two["breakdown"]["optimizer_state"]
    assert eight["settings"]["trainable_layers"] == 8
    short, long = peak("--method", "prompt_tuning"), peak("--method", "prompt_tuning", "--virtual-tokens", "400")
    assert long["peak_gb"] > short["peak_gb"] and long["settings"]["virtual_tokens"] == 400


def test_plan_recommendation_json_contract(capsys):
    code, out, _ = _run(capsys, "plan", "--model", str(CONFIGS / "Qwen2.5-7B"), "--gpu-gb", "24", "--json")
    data = json.loads(out)
    assert code == 0
    assert {"method", "peak_gb"} <= data["recommended"].keys() and data["recommended"]["method"] == "lora"
    assert [o["method"] for o in data["options"]] == ["full", "lora", "qlora"]
    assert all({"method", "peak_gb", "fits", "gpu_gb", "breakdown"} <= o.keys() for o in data["options"])


def test_plan_text_on_a_recorded_gpu(capsys, monkeypatch):
    monkeypatch.setenv("TUITUNE_NVML_REPLAY", str(NVML_RECORDINGS / "h100_80gb.json"))
    code, out, _ = _run(capsys, "plan", "--model", str(CONFIGS / "Llama-3.2-1B"))
    assert code == 0 and "NVIDIA H100 80GB HBM3: 39.1 GiB free" in out and "recommended: method full" in out


def test_plan_without_a_gpu_still_estimates(capsys, monkeypatch):
    monkeypatch.setenv("TUITUNE_NVML_REPLAY", str(NVML_RECORDINGS / "no_driver.json"))
    code, out, _ = _run(capsys, "plan", "--model", str(CONFIGS / "SmolLM2-135M"), "--method", "lora")
    assert code == 0 and "no GPU size to compare with" in out


@pytest.mark.parametrize("argv, message", [
    (["--model", "{tmp}"], "has no config.json"),
    (["--model", "{tmp}/mamba"], "unknown architecture model_type='mamba'"),
    (["--model", "{configs}/Qwen2.5-7B", "--seq-len", "-5"], "seq-len must be a positive integer (got -5)"),
    (["--model", "{configs}/Qwen2.5-7B", "--method", "lora", "--batch", "0"], "batch must be a positive integer"),
    (["--model", "{configs}/Qwen2.5-7B", "--gpu-gb", "-1"], "--gpu-gb must be positive"),
    (["--model", "{configs}/Qwen2.5-7B", "--lora-targets", "q,lm_head"], "unknown module lm_head"),
    (["--model", "{configs}/Qwen2.5-7B", "--method", "full", "--dora"], "--dora is a LoRA variant"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, tmp_path, argv, message):
    (tmp_path / "mamba").mkdir()
    (tmp_path / "mamba" / "config.json").write_text(json.dumps({"model_type": "mamba"}))
    argv = [a.format(tmp=tmp_path, configs=CONFIGS) for a in argv]
    code, out, err = _run(capsys, "plan", *argv)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and message in err and err.count("\n") == 1


def test_probe_on_the_cpu_says_it_needs_a_gpu(capsys, monkeypatch):
    monkeypatch.setenv("TUITUNE_NVML_REPLAY", str(NVML_RECORDINGS / "no_driver.json"))
    code, out, err = _run(capsys, "plan", "--model", str(CONFIGS / "Qwen2.5-7B"), "--probe")
    assert code == 2 and out == "" and "needs an NVIDIA GPU with CUDA" in err


def test_argparse_errors_exit_2(capsys):
    code, _, err = _run(capsys, "plan", "--model", "m", "--method", "dora")
    assert code == 2 and "invalid choice" in err


def test_gpus_and_plan_import_nothing_heavy(smollm2_gguf):
    code = (
        "import contextlib, io\n"
        "import tuitune.hardware, tuitune.hardware.nvml, tuitune.hardware.nvml_replay, tuitune.hardware.shapes\n"
        "import tuitune.hardware.model_shape, tuitune.models.gguf_header, tuitune.hardware.setup\n"
        "import tuitune.hardware.activations, tuitune.hardware.estimate, tuitune.hardware.recommend\n"
        "import tuitune.hardware.plan, tuitune.hardware.probe, tuitune.cli.hardware\n"
        "from tuitune.cli.hardware import main\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):\n"
        "    main(['gpus']); main(['gpus', '--json'])\n"
        f"    main(['plan', '--model', {str(CONFIGS / 'Llama-3.1-8B')!r}])\n"
        f"    main(['plan', '--model', {str(smollm2_gguf)!r}, '--method', 'full', '--json'])\n"
        "    main(['plan', '--model', 'bundled:smollm2-135m-instruct', '--probe'])\n"
    )
    assert heavy_loaded_by(code) == []
