"""The loader: ``import_file`` with the on_error policy, and the SFT call ``load_conversations``."""

import json

import pytest

from tests.helpers import BAD_DATA
from tuitune.data.loader import DataError, import_file, load_conversations, split


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


def test_system_prompt_does_not_replace_a_rows_own(tmp_path):
    f = write_jsonl(tmp_path / "d.jsonl", [{"instruction": "Add", "output": "4", "system": "Mine."}])
    assert load_conversations(str(f), system_prompt="Default.").conversations[0][0]["content"] == "Mine."


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
        ('{"question": "q", "answer": "a"}\n', "cannot tell the format"),
        ("", "no rows"),
        ('{"prompt": 1, "completion": "x"}\n', "`prompt` must be text or a list of messages, got 1"),
        ('{"text": "just text"}\n', "holds raw text (continued pre-training) in the 'text' format, but this needs conversations (SFT)"),
    ],
)
def test_bad_rows_name_file_and_line(tmp_path, content, message):
    f = tmp_path / "bad.jsonl"
    f.write_text(content, encoding="utf-8")
    with pytest.raises(DataError) as info:
        load_conversations(str(f))
    assert str(f) in str(info.value)
    assert message in str(info.value)


def test_fail_policy_reports_every_bad_row_at_once():
    with pytest.raises(DataError) as info:
        import_file(BAD_DATA / "mixed_rows.jsonl")
    msg = str(info.value)
    assert msg.startswith("3 of 5 rows are not usable:")
    for line, reason in ((2, "not a valid messages row: `messages` has no assistant turn"), (3, "invalid JSON"),
                         (4, "not a valid messages row: messages[0]: unknown role 'robot'")):
        assert f"mixed_rows.jsonl:{line}: {reason}" in msg
    assert "data.on_error = 'skip'" in msg


def test_fail_message_caps_the_list_and_counts_the_rest(tmp_path):
    f = tmp_path / "d.jsonl"
    f.write_text('{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]}\n' + "{bad\n" * 9)
    msg = str(pytest.raises(DataError, import_file, f).value)
    assert msg.count("invalid JSON") == 5 and "… and 4 more" in msg


def test_skip_policy_sets_bad_rows_aside_with_reasons():
    data = import_file(BAD_DATA / "mixed_rows.jsonl", on_error="skip")
    assert [e.where.rsplit(":", 1)[1] for e in data.examples] == ["1", "5"]
    assert [(r.where.rsplit(":", 1)[1], r.step) for r in data.rejected] == [("2", "validate"), ("3", "validate"), ("4", "validate")]
    assert data.rejected[1].row == "{oops"  # the raw line, for rejected.jsonl


def test_skip_policy_still_fails_when_nothing_is_usable(tmp_path):
    f = tmp_path / "d.jsonl"
    f.write_text("{bad\n{worse\n")
    with pytest.raises(DataError, match="none of the first 2 rows is readable; first problem: .*d.jsonl:1: invalid JSON"):
        import_file(f, on_error="skip")


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
    no_val_train, no_val = split(rows, 0.0, seed=1)
    assert no_val == [] and sorted(map(str, no_val_train)) == sorted(map(str, rows))


def test_split_matches_the_earlier_release():
    """Runs started before the importer existed resume with the same split."""
    import random

    rows = list(range(50))
    order = list(range(50))
    random.Random(9).shuffle(order)
    assert split(rows, 0.1, seed=9) == ([rows[i] for i in order[5:]], [rows[i] for i in order[:5]])
