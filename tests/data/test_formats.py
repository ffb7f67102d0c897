"""Format detection (with its evidence) and normalization of every supported row shape."""

import json

import pytest

from tests.helpers import BAD_DATA
from tuitune.data.formats import convert, detect, rename_columns
from tuitune.data.loader import import_file
from tuitune.data.messages import TOOLS_HEADER
from tuitune.data.schema import DataError, RowError

U = {"role": "user", "content": "Q"}
A = {"role": "assistant", "content": "A"}


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "row, fmt, kind",
    [
        ({"instruction": "i", "input": "", "output": "o"}, "alpaca", "sft"),
        ({"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}]}, "sharegpt", "sft"),
        ({"messages": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}]}, "sharegpt", "sft"),
        ({"messages": [U, A]}, "messages", "sft"),
        ({"prompt": "p", "completion": "c"}, "prompt_completion", "sft"),
        ({"prompt": "p", "chosen": "c", "rejected": "r"}, "preference", "preference"),
        ({"chosen_messages": [U, A], "rejected_messages": [U, A]}, "preference", "preference"),
        ({"messages": [U, A], "label": True}, "unpaired_preference", "unpaired"),
        ({"prompt": "p", "completion": "c", "label": False}, "unpaired_preference", "unpaired"),
        ({"text": "t"}, "text", "text"),
        ({"body": "just one text column"}, "text", "text"),
    ],
)
def test_detection_names_the_format_and_its_evidence(row, fmt, kind):
    detection = detect([row] * 3, "f.jsonl")
    assert (detection.format, detection.kind) == (fmt, kind)
    assert "in 3 of the first 3 rows" in detection.evidence[0]


def test_detection_votes_and_mentions_the_minority():
    rows = [{"prompt": "p", "completion": "c"}] * 4 + [{"text": "t"}]
    detection = detect(rows, "f.jsonl")
    assert detection.format == "prompt_completion"
    assert any("1 rows look like text" in e for e in detection.evidence)


def test_unknown_keys_are_a_clear_error_listing_the_formats():
    with pytest.raises(DataError) as info:
        import_file(BAD_DATA / "unknown_keys.jsonl")
    msg = str(info.value)
    assert "unknown_keys.jsonl: cannot tell the format from the keys ['answer', 'question']" in msg
    assert "alpaca" in msg and "data.columns" in msg


def test_rows_that_are_not_objects_are_a_clear_error():
    with pytest.raises(DataError, match="strings.json: the rows are str values, not objects with named fields"):
        import_file(BAD_DATA / "strings.json")


def test_column_mapping_overrides_detection(tmp_path):
    f = write_jsonl(tmp_path / "d.jsonl", [{"question": "q", "answer": "a"}])
    data = import_file(f, columns={"prompt": "question", "completion": "answer"})
    assert data.format == "prompt_completion"
    assert data.examples[0].data == {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}
    assert any("prompt ← question" in e for e in data.detection.evidence)
    with pytest.raises(RowError, match="no column `ask`"):
        rename_columns({"question": "q"}, {"prompt": "ask"})


def test_alpaca_with_system_and_history():
    row = {"instruction": "Add", "input": "2+2", "output": "4", "system": "Be brief.", "history": [["hi", "hello"]]}
    assert convert(row, "alpaca")["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"},
        {"role": "user", "content": "Add\n\n2+2"}, {"role": "assistant", "content": "4"},
    ]


def test_sharegpt_tool_turns_and_tools_column():
    row = {"conversations": [{"from": "human", "value": "weather?"}, {"from": "function_call", "value": '{"name": "w"}'},
                             {"from": "observation", "value": "sunny"}, {"from": "gpt", "value": "It is sunny."}],
           "tools": '[{"name": "w"}]'}
    messages = convert(row, "sharegpt")["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "tool", "assistant"]
    assert messages[0]["content"] == TOOLS_HEADER + '[{"name": "w"}]'
    assert messages[2]["content"] == '{"name": "w"}'


def test_typed_content_parts_text_or_value():
    row = {"messages": [{"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "value": "b"}]},
                        {"role": "assistant", "content": [{"type": "text", "value": "c"}], "loss_weight": 1.0}]}
    assert convert(row, "messages")["messages"] == [{"role": "user", "content": "ab"}, {"role": "assistant", "content": "c"}]


@pytest.mark.parametrize(
    "row, fmt, message",
    [
        ({"messages": [{"role": "robot", "content": "q"}, A]}, "messages", "messages[0]: unknown role 'robot'"),
        ({"messages": [U]}, "messages", "`messages` has no assistant turn"),
        ({"messages": [U, A, U]}, "messages", "ends with a user turn"),
        ({"messages": [U, A, {"role": "system", "content": "s"}, A]}, "messages", "system message after the start"),
        ({"messages": []}, "messages", "`messages` is an empty list"),
        ({"messages": "hi"}, "messages", "must be a list of messages, got str"),
        ({"messages": [{"content": "q"}, A]}, "messages", "no `role` (OpenAI style) or `from`"),
        ({"messages": [U, {"role": "assistant", "content": 3}]}, "messages", "content must be text"),
        ({"messages": [U, {"role": "assistant", "content": "a", "loss_weight": 0.0}]}, "messages", "loss_weight 0.0"),
        ({"messages": [U, {"role": "assistant", "content": "a", "weight": 0}]}, "messages", "weight 0 on this assistant turn is not supported"),
        ({"messages": [{"role": "user", "content": [{"type": "image_url"}]}, A]}, "messages", "a part of type 'image_url'; only text"),
        ({"instruction": 5, "output": "o"}, "alpaca", "`instruction` must be text, got int"),
        ({"instruction": "i"}, "alpaca", "missing `output`"),
        ({"prompt": "p", "chosen": [U], "rejected": "r"}, "preference", "`chosen` ends with a user turn"),
        ({"chosen_messages": [U, A], "rejected_messages": [{"role": "user", "content": "other"}, A]}, "preference", "share no prompt"),
        ({"chosen_messages": [U, A], "rejected_messages": [U]}, "preference", "`rejected_messages` has no answer"),
        ({"messages": [U, A], "label": "maybe"}, "unpaired_preference", "`label` must be true or false"),
        ({"text": ["a"]}, "text", "`text` must be text, got list"),
        ([1, 2], "messages", "expected an object with named fields, got list"),
    ],
)
def test_bad_rows_say_what_is_wrong(row, fmt, message):
    with pytest.raises(RowError) as info:
        convert(row, fmt)
    assert message in str(info.value)


@pytest.mark.parametrize(
    "row",
    [
        {"prompt": "Q", "chosen": "good", "rejected": "bad"},
        {"prompt": [U], "chosen": [{"role": "assistant", "content": "good"}], "rejected": [{"role": "assistant", "content": "bad"}]},
        {"conversations": [{"from": "human", "value": "Q"}], "chosen": {"from": "gpt", "value": "good"},
         "rejected": {"from": "gpt", "value": "bad"}},
        {"chosen_messages": [U, {"role": "assistant", "content": "good"}], "rejected_messages": [U, {"role": "assistant", "content": "bad"}]},
        {"chosen": [U, {"role": "assistant", "content": "good"}], "rejected": [U, {"role": "assistant", "content": "bad"}]},
        {"instruction": "Q", "input": "", "chosen": "good", "rejected": "bad"},
    ],
)
def test_every_preference_shape_normalizes_to_prompt_chosen_rejected(row):
    assert convert(row, "preference") == {
        "prompt": [{"role": "user", "content": "Q"}],
        "chosen": [{"role": "assistant", "content": "good"}],
        "rejected": [{"role": "assistant", "content": "bad"}],
    }


def test_unpaired_rows_differing_only_in_label_are_not_duplicates():
    from tuitune.data.dedup import exact_key
    from tuitune.data.schema import Example

    good = Example("f:1", "unpaired", convert({"messages": [U, A], "label": True}, "unpaired_preference"))
    bad = Example("f:2", "unpaired", convert({"messages": [U, A], "label": False}, "unpaired_preference"))
    assert exact_key(good) != exact_key(bad)


def test_unpaired_labels_from_csv_strings_and_ints():
    assert convert({"messages": [U, A], "label": "false"}, "unpaired_preference")["label"] is False
    assert convert({"prompt": "Q", "completion": "A", "label": 1}, "unpaired_preference") == {"messages": [U, A], "label": True}


def test_explicit_format_is_not_detected(tmp_path):
    f = write_jsonl(tmp_path / "d.jsonl", [{"text": "t", "prompt": "p", "completion": "c"}])
    assert import_file(f).format == "prompt_completion"
    data = import_file(f, "text")
    assert data.format == "text" and data.examples[0].data == {"text": "t"}
    assert "was given" in data.detection.evidence[0]
    with pytest.raises(DataError, match="unknown data format 'yaml'"):
        import_file(f, "yaml")
