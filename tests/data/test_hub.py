"""Hub datasets (`hf:ORG/NAME[:SPLIT]`): read from the Hugging Face cache through the real
huggingface_hub and datasets code. No download can happen here, so each test lays out a cache
the way huggingface_hub writes it (refs/main → snapshots/<commit>) and runs offline."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.helpers import REPO, tuitune

COMMIT = "0123456789abcdef0123456789abcdef01234567"
PIRATE = REPO / "tuitune" / "demo" / "pirate.jsonl"


@pytest.fixture
def hub_env(tmp_path: Path, monkeypatch) -> dict[str, str]:
    repo = tmp_path / "hub" / "datasets--tuitune-test--pirate-chat"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(COMMIT)
    data = repo / "snapshots" / COMMIT / "data"
    data.mkdir(parents=True)
    lines = PIRATE.read_text().splitlines(keepends=True)
    (data / "train.jsonl").write_text("".join(lines[:30]))
    (data / "test.jsonl").write_text("".join(lines[30:35]))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "datasets"))
    return dict(os.environ)


def test_a_hub_dataset_is_read_from_the_cache_with_its_splits(hub_env, tmp_path):
    train = tuitune("data", "inspect", "hf:tuitune-test/pirate-chat", "--json")
    assert train.returncode == 0, train.stderr
    report = json.loads(train.stdout)
    assert report["format"] == "messages" and report["rows_read"] == 30
    assert report["source"].startswith("hf:tuitune-test/pirate-chat (commit 0123456789")

    test = tuitune("data", "inspect", "hf:tuitune-test/pirate-chat:test", "--json")
    assert test.returncode == 0, test.stderr
    assert json.loads(test.stdout)["rows_read"] == 5

    out = tmp_path / "clean"
    cleaned = tuitune("data", "clean", "hf:tuitune-test/pirate-chat:test", "--out", str(out))
    assert cleaned.returncode == 0, cleaned.stderr
    rows = [json.loads(line) for line in (out / "train.jsonl").read_text().splitlines()]
    rows += [json.loads(line) for line in (out / "val.jsonl").read_text().splitlines()]
    assert sorted(r["messages"][-1]["content"] for r in rows) == sorted(
        json.loads(line)["messages"][-1]["content"] for line in PIRATE.read_text().splitlines()[30:35])


@pytest.mark.parametrize(
    "ref, says",
    [
        ("hf:tuitune-test/pirate-chat:valid", "no split 'valid'; it has test, train"),
        ("hf:nobody/nothing", "not in the local Hugging Face cache and the hub cannot be reached"),
        ("hf:no-slash", "not a hub dataset id; write hf:ORG/NAME"),
    ],
)
def test_a_bad_hub_reference_is_one_clear_message(hub_env, ref, says):
    result = tuitune("data", "inspect", ref)
    assert result.returncode == 2
    assert says in result.stderr and ref.split(":")[0] in result.stderr
    assert "Traceback" not in result.stderr


def test_prepared_hub_data_is_cached_per_split(hub_env, monkeypatch):
    """The cache key of a hub dataset is its commit plus the split: no file is hashed, and two
    splits of one snapshot never share cleaned results."""
    import huggingface_hub.constants

    from tuitune.data.pipeline import prepare
    from tuitune.preset import DataSection

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", hub_env["HF_HUB_CACHE"])
    run = Path(hub_env["HF_HUB_CACHE"]).parent / "run-data"
    train, _, first = prepare(DataSection(path="hf:tuitune-test/pirate-chat"), run / "a")
    again = prepare(DataSection(path="hf:tuitune-test/pirate-chat"), run / "a")[2]
    other = prepare(DataSection(path="hf:tuitune-test/pirate-chat:test"), run / "b")[2]
    assert again["cache_key"] == first["cache_key"] != other["cache_key"]
    assert first["rows_read"] == 30 and other["rows_read"] == 5
