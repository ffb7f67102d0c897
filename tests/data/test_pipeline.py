"""prepare(): import + clean + split into the run's data/ folder, a report for every row, a cache,
and the user's file never touched."""

import hashlib
import json
from types import SimpleNamespace

import pytest

from tuitune.data.pipeline import prepare
from tuitune.data.schema import DataError


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def rows(n, dupes=0):
    out = [{"instruction": f"Question number {i}?", "input": "", "output": f"Answer {i}. " * 3} for i in range(n)]
    return out + out[:dupes]


def section(path, **kw):
    return SimpleNamespace(path=str(path), format="auto", val_fraction=0.1, system_prompt=None, **kw)


@pytest.fixture
def source(tmp_path):
    f = tmp_path / "in" / "data.json"
    f.parent.mkdir()
    data = rows(40, dupes=3)
    data.insert(5, {"instruction": "", "input": "", "output": ""})  # empty
    f.write_text("\ufeff" + json.dumps(data, indent=1), encoding="utf-8")
    return f


def test_prepare_writes_the_split_the_report_and_the_rejected_rows(source, tmp_path):
    before = digest(source)
    out = tmp_path / "run" / "data"
    train, val, report = prepare(section(source), out, seed=1)
    assert digest(source) == before  # never modified
    assert len(train) + len(val) == 40 and len(val) == 4
    assert [json.loads(line) for line in (out / "train.jsonl").read_text().splitlines()] == train
    assert [json.loads(line) for line in (out / "val.jsonl").read_text().splitlines()] == val
    assert {"messages": [{"role": "user", "content": "Question number 0?"},
                         {"role": "assistant", "content": "Answer 0. Answer 0. Answer 0."}]} in train + val
    rejected = [json.loads(line) for line in (out / "rejected.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rejected] == ["empty", "exact_duplicate", "exact_duplicate", "exact_duplicate"]
    assert rejected[1]["reason"].startswith("an exact duplicate of line")
    on_disk = json.loads((out / "report.json").read_text())
    assert on_disk == report
    assert report["format"] == "alpaca" and report["rows_read"] == 44 and report["rejected"] == 4
    assert report["steps"]["exact_duplicate"] == 3 and report["split"] == {
        "seed": 1, "val_fraction": 0.1, "val_fraction_reason": "set in the preset", "grouped_by_answer": False,
        "train": 36, "val": 4, "leaked_moved_to_train": 0}
    assert not list(out.glob("*.tmp"))


def test_prepare_is_deterministic_and_cached(source, tmp_path):
    a = prepare(section(source), tmp_path / "a", seed=7)
    b = prepare(section(source), tmp_path / "b", seed=7)
    assert a[:2] == b[:2]
    stamp = (tmp_path / "a" / "train.jsonl").stat().st_mtime_ns
    assert prepare(section(source), tmp_path / "a", seed=7)[:2] == a[:2]
    assert (tmp_path / "a" / "train.jsonl").stat().st_mtime_ns == stamp  # reused, not rewritten
    assert prepare(section(source), tmp_path / "a", seed=8)[1] != a[1]  # a new setting: prepared afresh
    report = json.loads((tmp_path / "a" / "report.json").read_text())
    (tmp_path / "a" / "val.jsonl").write_text("damaged")  # a damaged cache is rebuilt, not trusted
    assert prepare(section(source), tmp_path / "a", seed=8)[2]["cache_key"] == report["cache_key"]
    source.write_text(json.dumps(rows(20)), encoding="utf-8")
    assert len(prepare(section(source), tmp_path / "a", seed=8)[0]) == 18  # a changed file: afresh


def test_prepare_refuses_the_wrong_kind_for_the_stage(tmp_path):
    f = tmp_path / "pairs.jsonl"
    f.write_text(json.dumps({"prompt": "q", "chosen": "a", "rejected": "b"}) + "\n")
    with pytest.raises(DataError, match="holds preference pairs .* but this needs conversations"):
        prepare(section(f), tmp_path / "out")
    train, _, _ = prepare(section(f), tmp_path / "out", stage="dpo")
    assert train[0]["chosen"] == [{"role": "assistant", "content": "a"}]


def test_prepare_never_overwrites_its_input(tmp_path):
    f = tmp_path / "train.jsonl"
    f.write_text(json.dumps({"prompt": "q", "completion": "a"}) + "\n")
    before = digest(f)
    with pytest.raises(DataError, match="would overwrite the input file"):
        prepare(section(f), tmp_path)
    assert digest(f) == before


def test_nothing_left_after_cleaning_is_an_error_and_rejected_jsonl_explains(tmp_path):
    f = tmp_path / "d.jsonl"
    f.write_text(json.dumps({"prompt": "q", "completion": "  "}) + "\n")
    with pytest.raises(DataError, match="no rows left after cleaning"):
        prepare(section(f), tmp_path / "out")
    assert "empty assistant turn" in (tmp_path / "out" / "rejected.jsonl").read_text()


def test_settings_come_from_the_section_and_on_error_skip_is_reported(tmp_path):
    f = tmp_path / "d.jsonl"
    f.write_text("".join(json.dumps({"prompt": "same", "completion": "same"}) + "\n" for _ in range(3)) + "{bad\n")
    with pytest.raises(DataError, match="d.jsonl:4: invalid JSON"):
        prepare(section(f), tmp_path / "a")
    train, _, report = prepare(section(f, on_error="skip", dedup_exact=False, dedup_near=False), tmp_path / "b")
    assert len(train) == 3 and report["invalid"] == 1 and "exact_duplicate" not in report["steps"]
    assert report["settings"]["dedup_exact"] is False


def test_token_statistics_with_a_tokenizer(source, tmp_path, tokenizer):
    _, _, report = prepare(section(source), tmp_path / "out", tokenizer, max_seq_len=24)
    tokens = report["stats"]["tokens"]
    assert tokens["count"] == 40 and tokens["p50"] <= tokens["p90"] <= tokens["p99"] <= tokens["max"]
    assert tokens["max_seq_len"] == 24 and 0 < tokens["truncated_fraction"] <= 1
    bound = tokens["max"] - 1  # the rows numbered 10 and up are a token longer
    train, val, report = prepare(section(source, max_tokens=bound), tmp_path / "bounded", tokenizer)
    assert 0 < report["steps"]["token_bounds"] < 40 and len(train) + len(val) == 40 - report["steps"]["token_bounds"]
    assert report["stats"]["tokens"]["max"] <= bound
    rejected = (tmp_path / "bounded" / "rejected.jsonl").read_text()
    assert f"outside the bounds [0, {bound}]" in rejected


def test_check_is_the_light_preflight(tmp_path):
    from tuitune.data.pipeline import check

    f = tmp_path / "d.jsonl"
    f.write_text(json.dumps({"prompt": "q", "completion": "a"}) + "\n{bad\n")
    with pytest.raises(DataError, match="d.jsonl:2: invalid JSON"):
        check(section(f))
    data = check(section(f, on_error="skip", columns={}))
    assert len(data.examples) == 1 and len(data.rejected) == 1
    with pytest.raises(DataError, match="but this needs preference pairs"):
        check(section(f, on_error="skip"), stage="dpo")


def test_a_shared_cache_serves_a_second_run(source, tmp_path, monkeypatch):
    import tuitune.data.cache as cache_module
    import tuitune.data.pipeline as pipeline

    cache = tmp_path / "cache"
    first = prepare(section(source), tmp_path / "run1", seed=5, cache_dir=cache)
    assert [p.name for p in cache.iterdir()] == [first[2]["cache_key"]]

    def no_cleaning(*args, **kwargs):
        raise AssertionError("the cache should have answered")

    monkeypatch.setattr(pipeline, "inspect", no_cleaning)
    second = prepare(section(source), tmp_path / "run2", seed=5, cache_dir=cache)
    assert second == first and (tmp_path / "run2" / "rejected.jsonl").read_text() == (
        tmp_path / "run1" / "rejected.jsonl").read_text()
    monkeypatch.undo()
    for seed in range(cache_module.CACHE_ENTRIES + 2):  # entries beyond the limit are pruned
        prepare(section(source), tmp_path / f"more{seed}", seed=100 + seed, cache_dir=cache)
    assert len([p for p in cache.iterdir()]) == cache_module.CACHE_ENTRIES
