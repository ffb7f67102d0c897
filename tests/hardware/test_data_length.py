"""Planning at the data's real lengths: the cleaned data's token statistics, from the real data
pipeline and tokenizer, decide the length the planner plans at (capped by max_seq_len)."""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import pytest

from tests.helpers import tuitune
from tuitune.data.pipeline import inspect
from tuitune.hardware.plan import at_data_length
from tuitune.hardware.setup import Setup


@pytest.fixture
def varied(tmp_path):
    """220 conversations from a few words to a few hundred: a long tail, one row far past the rest,
    and a duplicate that cleaning drops."""
    rows = [{"messages": [{"role": "user", "content": f"Question {i}: " + "why " * (3 + (i % 20) * 4)},
                          {"role": "assistant", "content": "Because " + "so " * (5 + (i % 10) * 6)}]} for i in range(219)]
    rows.append({"messages": [{"role": "user", "content": "Tell me everything. " * 150},
                              {"role": "assistant", "content": "Fine."}]})
    path = tmp_path / "varied.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows + rows[:1]))
    return path


def test_padded_and_padding_free_batches_plan_at_the_datas_lengths(varied, tokenizer):
    report, _, train, val = inspect(SimpleNamespace(path=str(varied)), tokenizer, max_seq_len=2048)
    tokens = report["stats"]["tokens"]
    assert report["rejected"] == 1 and tokens["count"] == 220  # the duplicate is gone before counting
    assert tokens["p99"] < tokens["max"] < 2048

    padded, note = at_data_length(Setup("lora", seq_len=2048, batch=4), tokens, max_seq_len=2048)
    assert padded.seq_len == tokens["max"]  # the micro-batch holding the longest row is padded to it
    assert note == f"planned at {tokens['max']} tokens, the data's longest row (max_seq_len 2048)"

    free, note = at_data_length(Setup("lora", seq_len=2048, batch=4, padding_free=True), tokens, max_seq_len=2048)
    per_batch = tokens["max"] + 3 * tokens["p99"]
    assert free.tokens >= per_batch and free.seq_len == math.ceil(per_batch / 4) < padded.seq_len
    assert f"planned at {per_batch} tokens per micro-batch" in note and f"p99 length ({tokens['p99']})" in note


def test_max_seq_len_caps_the_data_and_packing_ignores_it(varied, tokenizer):
    report, _, _, _ = inspect(SimpleNamespace(path=str(varied)), tokenizer, max_seq_len=64)
    tokens = report["stats"]["tokens"]
    assert tokens["max"] > 64
    same, note = at_data_length(Setup("lora", seq_len=64, batch=4), tokens, max_seq_len=64)
    assert same.seq_len == 64 and note is None  # the longest rows are cut at max_seq_len: planned there
    packed, note = at_data_length(Setup("lora", seq_len=2048, batch=4, padding_free=True), tokens,
                                  max_seq_len=2048, packing=True)
    assert packed.seq_len == 2048 and note is None  # packing fills every row to max_seq_len
    unknown, note = at_data_length(Setup("lora", seq_len=2048), None, max_seq_len=2048)
    assert unknown.seq_len == 2048 and note is None


def test_tuitune_plan_with_data_plans_at_its_lengths(varied, tiny_model_dir, tokenizer, tuitune_home):
    report, _, _, _ = inspect(SimpleNamespace(path=str(varied)), tokenizer, max_seq_len=2048)
    longest = report["stats"]["tokens"]["max"]
    args = ("plan", "--model", str(tiny_model_dir), "--method", "lora", "--batch", "1", "--seq-len", "2048",
            "--gpu-gb", "24")
    result = tuitune(*args, "--data", str(varied), "--json", env_home=tuitune_home)
    assert result.returncode == 0, result.stderr
    planned = json.loads(result.stdout)
    assert planned["settings"]["seq_len"] == longest == planned["data"]["planned_seq_len"]
    assert planned["data"]["note"] == f"planned at {longest} tokens, the data's longest row (max_seq_len 2048)"
    whole = json.loads(tuitune(*args, "--json", env_home=tuitune_home).stdout)
    assert whole["settings"]["seq_len"] == 2048 and whole["peak_gb"] >= planned["peak_gb"]
    text = tuitune(*args, "--data", str(varied), env_home=tuitune_home).stdout
    assert f"data    planned at {longest} tokens" in text
    missing = tuitune(*args, "--data", str(varied.parent / "nope.jsonl"), env_home=tuitune_home)
    assert missing.returncode == 2 and "nope.jsonl" in missing.stderr
