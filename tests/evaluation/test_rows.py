"""What `tuitune eval` scores, read by the data importer: answer rows, multiple choice, raw text;
the checks of the general set; the table and the forgetting rule both fronts show. Light."""

import json

import pytest

from tuitune.data.schema import DataError
from tuitune.runs import evals


def write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_every_kind_of_eval_row(tmp_path):
    conv = write(tmp_path / "conv.jsonl", [{"messages": [
        {"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello"}, {"role": "user", "content": "Capital of France?"},
        {"role": "assistant", "content": "Paris"}]}])
    [row] = evals.eval_rows(conv)
    assert row["kind"] == "answer" and row["reference"] == "Paris" and row["prompt"][-1]["content"] == "Capital of France?"
    assert len(row["prompt"]) == 4  # the earlier turns stay in the prompt

    pc = write(tmp_path / "pc.jsonl", [{"prompt": "2+2?", "completion": "4"}])
    assert evals.eval_rows(pc)[0]["reference"] == "4"

    mc = write(tmp_path / "mc.jsonl", [
        {"question": "Sky?", "choices": ["green", "blue"], "answer": 1},
        {"question": "Grass?", "choices": ["green", "blue"], "answer": "A"},
        {"prompt": "Snow?", "choices": ["white", "black"], "answer": "white"},
    ])
    rows = evals.eval_rows(mc)
    assert [r["kind"] for r in rows] == ["choice"] * 3 and [r["answer"] for r in rows] == [1, 0, 0]

    text = write(tmp_path / "text.jsonl", [{"text": "Once upon a time."}])
    assert evals.eval_rows(text) == [{"where": f"{text}:1", "kind": "text", "text": "Once upon a time."}]


@pytest.mark.parametrize("row, message", [
    ({"question": "Q?", "choices": ["only one"], "answer": 0}, "`choices` must be a list of at least two"),
    ({"question": "Q?", "choices": ["a", "b"], "answer": 5}, "`answer` 5 points past the 2 choices"),
    ({"question": "Q?", "choices": ["a", "b"], "answer": "c?"}, "`answer` must be the index of the right choice"),
    ({"choices": ["a", "b"], "answer": 0}, "missing `question`"),
])
def test_a_bad_multiple_choice_row_names_its_line_and_the_fix(tmp_path, row, message):
    f = write(tmp_path / "mc.jsonl", [{"question": "Fine?", "choices": ["yes", "no"], "answer": 0}, row])
    with pytest.raises(DataError) as e:
        evals.eval_rows(f)
    assert f"mc.jsonl:2: not a valid choice row: {message}" in str(e.value)


def test_unpaired_preferences_are_no_eval_rows(tmp_path):
    f = write(tmp_path / "kto.jsonl", [{"prompt": "Q", "completion": "A", "label": True}])
    with pytest.raises(DataError, match="kto.jsonl: holds unpaired preferences"):
        evals.eval_rows(f)


def test_multiple_choice_rows_are_never_trained_on(tmp_path):
    from tuitune.data.loader import load_conversations

    f = write(tmp_path / "mc.jsonl", [{"question": "Sky?", "choices": ["green", "blue"], "answer": 1}])
    with pytest.raises(DataError, match="holds multiple-choice questions"):
        load_conversations(str(f))


@pytest.mark.parametrize("item, answer, ok", [
    ({"part": "arithmetic", "answer": "5"}, "2 + 3 = 5", True),
    ({"part": "arithmetic", "answer": "5"}, "The answer is 6.", False),
    ({"part": "arithmetic", "answer": "1000"}, "1,000", True),
    ({"part": "instruct", "check": "contains", "value": "HELLO"}, "hello", False),
    ({"part": "instruct", "check": "contains", "value": "HELLO"}, "HELLO!", True),
    ({"part": "instruct", "check": "contains", "value": "Paris"}, "paris.", True),
    ({"part": "instruct", "check": "one_of", "value": "red|blue"}, "Blue!", True),
    ({"part": "instruct", "check": "one_of", "value": "red|blue"}, "bluebird", False),
    ({"part": "instruct", "check": "all_of", "value": "one|two"}, "one, two", True),
    ({"part": "instruct", "check": "min_commas", "value": "2"}, "red, green, blue", True),
])
def test_general_set_checks(item, answer, ok):
    from tuitune.evaluation.metrics import check

    assert check(item, answer) is ok


def test_the_general_set_is_big_enough_and_its_training_half_is_separate():
    from tuitune.data.loader import load_conversations
    from tuitune.evaluation.metrics import general_items

    items = general_items()
    parts = {p: sum(i["part"] == p for i in items) for p in ("knowledge", "arithmetic", "instruct", "text")}
    assert len(items) >= 150 and min(parts.values()) >= 10, parts
    train = load_conversations(evals.GENERAL_DATA).conversations
    asked = {i.get("question") or i.get("prompt") for i in items}
    assert train and not asked & {c[0]["content"] for c in train}  # nothing scored is taught
    assert len(general_items(3)) == 12


def summary(base_score, tuned_score):
    return {"rows": 2, "base": {"contains": 0.0, "ref_ppl": 9.0}, "tuned": {"contains": 1.0, "ref_ppl": 2.0},
            "general": {"items": 4, "base": {"score": base_score}, "tuned": {"score": tuned_score}}, "margin": 0.05}


def test_the_table_says_which_way_is_better():
    rows = {r[0]: r for r in evals.table(summary(0.5, 0.5))}
    assert rows["contains"][1:] == ("0.000", "1.000", "+1.000 better")
    assert rows["ref_ppl"][3] == "-7.000 better"  # perplexity: lower is better
    assert rows["general score"][3] == "+0.000 same"


def test_forgetting_is_a_fall_beyond_the_margin_with_advice():
    assert evals.forgetting(summary(0.5, 0.47)) is None
    warning = evals.forgetting(summary(0.5, 0.3))
    assert warning and "fell from 0.500 to 0.300" in warning
    for advice in ("fewer epochs", "learning_rate", "lora.r", 'path = "bundled:general"'):
        assert advice in warning
    assert "warning: the general score fell" in "\n".join(evals.summary_lines(summary(0.5, 0.3)))
