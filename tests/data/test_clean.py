"""Cleaning: each step switchable, counted, and every dropped row has a reason."""

import pytest

from tests.data.support import sft
from tuitune.data.clean import CleanSettings, clean, fix_leakage, tidy
from tuitune.data.schema import Example

OFF = dict(normalize_whitespace=False, drop_empty=False, dedup_exact=False, dedup_near=False,
           drop_degenerate_pairs=False, fix_leakage=False)




def pair(prompt, chosen, rejected):
    return Example(f"p.jsonl:{prompt}", "preference", {
        "prompt": [{"role": "user", "content": prompt}],
        "chosen": [{"role": "assistant", "content": chosen}],
        "rejected": [{"role": "assistant", "content": rejected}]})


def only(**on):
    return CleanSettings(**(OFF | on))


def test_tidy():
    assert tidy("\ufeff  a  \r\nb\t\n\n\n\nc  ") == "a\nb\n\nc"


def test_whitespace_is_normalized_and_counted():
    rows = [sft("  q ", "a\r\n\n\n\nb  "), sft("fine", "fine")]
    kept, rejected, counts, _ = clean(rows, only(normalize_whitespace=True))
    assert counts == {"whitespace_normalized": 1} and not rejected
    assert kept[0].data["messages"] == [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a\n\nb"}]


def test_empty_rows_are_dropped_with_the_turn_named_and_empty_system_turns_removed():
    rows = [sft("q", "   "), sft("", "a"), sft("q", "a", system=""), Example("t.txt:1", "text", {"text": " "})]
    kept, rejected, counts, _ = clean(rows, only(drop_empty=True))
    assert counts == {"empty_system_turns_removed": 1, "empty": 3}
    assert [r.reason for r in rejected] == ["an empty assistant turn (messages[1])", "an empty user turn (messages[0])",
                                            "the text is empty"]
    assert kept[0].data["messages"] == [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]


def test_exact_duplicates_ignore_case_and_spacing_and_name_the_first():
    rows = [sft("Hello there", "Hi!", "f:1"), sft("hello  THERE", "hi!", "f:2"), sft("Hello there", "Other", "f:3")]
    kept, rejected, counts, _ = clean(rows, only(dedup_exact=True))
    assert counts == {"exact_duplicate": 1} and [e.where for e in kept] == ["f:1", "f:3"]
    assert rejected[0].where == "f:2" and rejected[0].reason == "an exact duplicate of line 1"
    assert rejected[0].step == "exact_duplicate" and rejected[0].row == rows[1].data


def test_near_duplicates_by_minhash_keep_the_first():
    pytest.importorskip("datasketch")
    base = [f"word{i}" for i in range(200)]
    half = base[:100] + [f"new{i}" for i in range(100)]  # Jaccard about 0.3: a different row
    rows = [sft("Summarize this text please", " ".join(base), "f:1"),
            sft("Summarize this text please", " ".join(base) + " one more", "f:2"),  # Jaccard about 0.98
            sft("Summarize this text please", " ".join(half), "f:3"),
            sft("Something else entirely", " ".join(f"other{i}" for i in range(80)), "f:4")]
    kept, rejected, counts, _ = clean(rows, only(dedup_near=True))
    assert [e.where for e in kept] == ["f:1", "f:3", "f:4"] and counts == {"near_duplicate": 1}
    assert rejected[0].where == "f:2" and rejected[0].reason.startswith("a near duplicate (similarity ")
    assert rejected[0].reason.endswith(") of line 1")
    assert clean(rows, only(dedup_near=True, near_threshold=0.2))[2] == {"near_duplicate": 2}


def test_near_dedup_is_deterministic():
    pytest.importorskip("datasketch")
    rows = [sft(f"question {i % 7}", f"answer number {i % 7} with some shared words here", f"f:{i}") for i in range(30)]
    first = [e.where for e in clean(rows, only(dedup_near=True))[0]]
    assert first == [e.where for e in clean(rows, only(dedup_near=True))[0]]
    assert first == [f"f:{i}" for i in range(7)]


def test_degenerate_pairs():
    rows = [pair("q1", "good", "bad"), pair("q2", "Same", "same "), pair("q3", "", "bad")]
    kept, rejected, counts, _ = clean(rows, only(drop_degenerate_pairs=True))
    assert len(kept) == 1 and counts == {"degenerate_pair": 2}
    assert rejected[0].reason == "a preference pair whose chosen and rejected answers are the same"
    assert rejected[1].reason == "a preference pair with an empty chosen answer"


def test_token_bounds_use_the_given_lengths_and_only_run_with_them():
    rows = [sft("a", "1"), sft("b", "2"), sft("c", "3")]
    sizes = {"a": 4, "b": 7, "c": 11}

    def measure(examples):
        return [sizes[e.data["messages"][0]["content"]] for e in examples]

    kept, rejected, counts, lengths = clean(rows, only(min_tokens=5, max_tokens=10), measure)
    assert [e.data["messages"][0]["content"] for e in kept] == ["b"] and counts == {"token_bounds": 2}
    assert rejected[0].reason == "4 tokens, outside the bounds [5, 10]" and lengths == [7]
    assert clean(rows, only(min_tokens=5))[2] == {}  # no tokenizer, no lengths: the step cannot run


def test_lengths_are_measured_after_tidying_and_only_for_surviving_rows():
    rows = [sft("  padded  ", "x"), sft("", "dropped as empty")]
    seen = []
    clean(rows, only(normalize_whitespace=True, drop_empty=True), lambda exs: seen.extend(exs) or [1] * len(exs))
    assert [e.data["messages"][0]["content"] for e in seen] == ["padded"]


def test_every_step_off_keeps_everything():
    rows = [sft("q", "a"), sft("q", "a"), sft(" ", "")]
    kept, rejected, counts, _ = clean(rows, only())
    assert len(kept) == 3 and not rejected and counts == {}


def test_leaked_validation_rows_move_to_train():
    train = [sft("What is 2+2?", "4", "f:1")]
    val = [sft("what is  2+2?", "Four.", "f:2"), sft("Other?", "x", "f:3")]
    new_train, new_val, moved = fix_leakage(train, val)
    assert moved == 1 and [e.where for e in new_train] == ["f:1", "f:2"] and [e.where for e in new_val] == ["f:3"]
