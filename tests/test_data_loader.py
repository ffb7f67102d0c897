import json

import pytest

from tuitune.data.loader import DataError, load_conversations, split


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_messages_format(tmp_path):
    f = write_jsonl(tmp_path / "d.jsonl", [
        {"messages": [{"role": "system", "content": "S"}, {"role": "user", "content": "Q"},
                      {"role": "assistant", "content": [{"type": "text", "text": "A"}]}]},
    ])
    data = load_conversations(str(f))
    assert data.format == "messages"
    assert data.conversations == [[{"role": "system", "content": "S"}, {"role": "user", "content": "Q"},
                                   {"role": "assistant", "content": "A"}]]


def test_alpaca_format_with_input_and_system_prompt(tmp_path):
    f = write_jsonl(tmp_path / "d.jsonl", [{"instruction": "Add", "input": "2+2", "output": "4"}])
    data = load_conversations(str(f), system_prompt="Be brief.")
    assert data.format == "alpaca"
    assert data.conversations[0] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Add\n\n2+2"},
        {"role": "assistant", "content": "4"},
    ]


def test_prompt_completion_in_a_json_array(tmp_path):
    f = tmp_path / "d.json"
    f.write_text(json.dumps({"data": [{"prompt": "P", "completion": "C"}]}))
    data = load_conversations(str(f))
    assert data.format == "prompt_completion"
    assert data.conversations[0][-1] == {"role": "assistant", "content": "C"}


def test_bundled_demo_data():
    data = load_conversations("bundled:pirate")
    assert len(data.conversations) == 200
    assert all(c[-1]["content"].startswith("Arr!") for c in data.conversations)


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"messages": []}\n{"messages": [1]}\n', ":1: not a valid messages row"),
        ('{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}\n{oops\n', ":2: invalid JSON"),
        ('{"messages": [{"role": "robot", "content": "q"}, {"role": "assistant", "content": "a"}]}\n', "unknown role 'robot'"),
        ('{"text": "just text"}\n', "cannot tell the format"),
        ("", "no rows"),
        ('{"prompt": 1, "completion": "x"}\n', "`prompt` must be text"),
    ],
)
def test_bad_rows_name_file_and_line(tmp_path, content, message):
    f = tmp_path / "bad.jsonl"
    f.write_text(content, encoding="utf-8")
    with pytest.raises(DataError) as info:
        load_conversations(str(f))
    assert str(f) in str(info.value)
    assert message in str(info.value)


def test_non_utf8_file_is_a_clear_error(tmp_path):
    f = tmp_path / "latin1.jsonl"
    f.write_bytes('{"prompt": "café", "completion": "x"}\n'.encode("latin-1"))
    with pytest.raises(DataError, match="not UTF-8"):
        load_conversations(str(f))


def test_split_is_deterministic_and_disjoint():
    rows = [[{"role": "assistant", "content": str(i)}] for i in range(100)]
    train, val = split(rows, 0.1, seed=3)
    assert len(val) == 10 and len(train) == 90
    assert split(rows, 0.1, seed=3) == (train, val)
    assert split(rows, 0.1, seed=4) != (train, val)
    assert not {r[0]["content"] for r in train} & {r[0]["content"] for r in val}
    small_train, small_val = split(rows[:5], 0.2, seed=1)  # too few rows to hold any out
    assert small_val == [] and sorted(map(str, small_train)) == sorted(map(str, rows[:5]))
