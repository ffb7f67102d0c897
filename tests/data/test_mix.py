"""`[data] mix` and `paths`: several sources, each read, cleaned and split on its own, the training
rows drawn to the weights; a bad mix is refused naming the key."""

import json

import pytest

from tests.helpers import tuitune
from tuitune.data.pipeline import prepare
from tuitune.preset import load_preset
from tuitune.preset.load import PresetError


def source(path, prefix, n):
    rows = [{"messages": [{"role": "user", "content": f"{prefix} question {i} about item {i * 7919 % 1000}?"},
                          {"role": "assistant", "content": f"{prefix} answer {i}: {'x' * (i % 13)}"}]} for i in range(n)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def write_preset(path, model, data_path, data):
    import tomli_w

    path.write_text(tomli_w.dumps({"model": {"path": model}, "data": {"path": str(data_path), **data}}))
    return path


def test_two_sources_are_drawn_to_their_weights_and_validation_covers_each(tmp_path):
    task, other = source(tmp_path / "task.jsonl", "task", 300), source(tmp_path / "other.jsonl", "other", 100)
    preset = load_preset(write_preset(tmp_path / "p.toml", "bundled:smollm2-135m-instruct", task,
                                      data={"mix": [{"path": str(other), "weight": 0.3}], "val_fraction": 0.1,
                                            "dedup_near": False}))
    train, val, report = prepare(preset.data, tmp_path / "run-data")
    from_other = sum(r["messages"][0]["content"].startswith("other") for r in train)
    assert abs(from_other / len(train) - 0.3) < 0.02, from_other
    assert {r["messages"][0]["content"].split()[0] for r in val} == {"task", "other"}
    assert [m["source"].rsplit("/", 1)[-1] for m in report["mix"]] == ["task.jsonl", "other.jsonl"]
    assert report["mix"][1]["val"] == 10 and report["mix"][1]["report"]["rows_read"] == 100
    written = (tmp_path / "run-data" / "train.jsonl").read_text().splitlines()
    assert len(written) == len(train) == report["split"]["train"]


def test_a_small_source_is_repeated_rather_than_shrinking_the_others(tmp_path):
    task = source(tmp_path / "task.jsonl", "task", 200)
    preset = load_preset(write_preset(tmp_path / "p.toml", "bundled:smollm2-135m-instruct", task,
                                      data={"mix": [{"path": "bundled:general", "weight": 0.5}], "dedup_near": False}))
    train, _, report = prepare(preset.data, tmp_path / "run-data")
    general = report["mix"][1]
    assert general["repeated"] and general["train_used"] > general["train_available"]
    assert abs(general["train_used"] / len(train) - 0.5) < 0.01


def test_paths_gives_equal_weights(tmp_path):
    a, b = source(tmp_path / "a.jsonl", "a", 60), source(tmp_path / "b.jsonl", "b", 180)
    preset = load_preset(write_preset(tmp_path / "p.toml", "bundled:smollm2-135m-instruct", a,
                                      data={"paths": [str(b)], "dedup_near": False}))
    train, _, report = prepare(preset.data, tmp_path / "run-data")
    assert [m["weight"] for m in report["mix"]] == [0.5, 0.5]
    assert abs(sum(r["messages"][0]["content"].startswith("a ") for r in train) - len(train) / 2) <= 1


@pytest.mark.parametrize("data, says", [
    ({"mix": [{"path": "x.jsonl", "weight": 0.6}, {"path": "y.jsonl", "weight": 0.5}]}, "add up to 1.1"),
    ({"mix": [{"path": "x.jsonl", "weight": 0}]}, "data.mix.0.weight"),
    ({"mix": [{"path": "no-such.jsonl", "weight": 0.2}]}, "key 'data.mix[0].path': file not found"),
    ({"mix": [{"path": "x.jsonl", "weight": 0.2}], "paths": ["x.jsonl"]}, "use one"),
])
def test_a_bad_mix_is_refused_naming_the_key(tmp_path, data, says):
    task = source(tmp_path / "task.jsonl", "task", 20)
    source(tmp_path / "x.jsonl", "x", 20)
    source(tmp_path / "y.jsonl", "y", 20)
    path = write_preset(tmp_path / "p.toml", "bundled:smollm2-135m-instruct", task, data=data)
    with pytest.raises(PresetError) as e:
        load_preset(path)
    assert says in str(e.value).replace("'data.mix.0.weight'", "data.mix.0.weight")


def test_a_mixed_source_with_bad_rows_gets_the_importers_message(tmp_path):
    task = source(tmp_path / "task.jsonl", "task", 20)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}\n{broken\n')
    preset = write_preset(tmp_path / "p.toml", "bundled:smollm2-135m-instruct", task,
                          data={"mix": [{"path": str(bad), "weight": 0.2}]})
    result = tuitune("check", str(preset))
    assert result.returncode == 2 and "bad.jsonl:2: invalid JSON" in result.stderr
