"""Reading the task from the rows: deliberate repetition against accidental duplicates,
knowledge-like data, `val_fraction = "auto"` and the split that keeps a fact's phrasings together.
Pure functions of small data; no tokenizer, no training."""

import json

from tests.data.support import sft
from tuitune.data.clean import CleanSettings, clean
from tuitune.data.pipeline import inspect
from tuitune.data.shape import deliberate_repeat, describe, group_key, knowledge
from tuitune.data.split import split, val_fraction_for


def facts(n=8, phrasings=3):
    """n invented facts, each asked in ``phrasings`` ways with one answer."""
    return [sft(f"{ask} fact number {i}?", f"The answer to fact {i} is Zorblax{i}.", where=f"k.jsonl:{i * 10 + j}")
            for i in range(n) for j, ask in enumerate(["What is", "Tell me", "Do you know", "Name"][:phrasings])]


def test_every_row_repeated_alike_is_deliberate_a_few_duplicates_are_not():
    assert deliberate_repeat([4] * 12) == 4
    assert deliberate_repeat([4] * 11 + [3]) == 4  # nearly every row: still deliberate
    assert deliberate_repeat([1] * 30 + [2, 2]) is None  # accidental duplicates
    assert deliberate_repeat([2, 2, 2]) is None  # too few distinct rows to tell intent
    assert deliberate_repeat([1, 8, 1, 8, 1, 8]) is None  # some rows upsampled, not the file


def test_cleaning_drops_deliberate_repeats_as_deliberate_repeat_and_accidental_ones_as_duplicates():
    rows = facts(4, 2) * 3
    shape = describe(rows)
    assert shape["repeat_factor"] == 3
    kept, rejected, counts, _ = clean(rows, CleanSettings(dedup_near=False), repeat_factor=shape["repeat_factor"])
    assert len(kept) == 8 and counts["deliberate_repeat"] == 16 and "exact_duplicate" not in counts
    assert "deliberate repeat" in rejected[0].reason and "multiplied by 3" in rejected[0].reason
    accidental = facts(4, 2) + facts(1, 1)
    assert describe(accidental)["repeat_factor"] is None
    _, _, counts, _ = clean(accidental, CleanSettings(dedup_near=False))
    assert counts["exact_duplicate"] == 1


def test_knowledge_like_means_short_answers_shared_by_differently_worded_questions():
    k = knowledge(facts())
    assert k["knowledge_like"] and k["facts"] == 8 and k["shared_answer_share"] == 1.0
    style = [sft(f"Question {i}?", f"Arr, answer {i} be this, matey.") for i in range(20)]
    assert not knowledge(style)["knowledge_like"]
    essays = [sft(f"Q{i} {j}?", " ".join(["word"] * 80) + str(i)) for i in range(5) for j in range(3)]
    assert not knowledge(essays)["knowledge_like"]
    one_reply = [sft(f"Who guards the harbour of city {i}?", "Captain Zorblax.") for i in range(40)]
    assert not knowledge(one_reply)["knowledge_like"]  # one fixed reply, not facts: its rows can be validated


def test_auto_val_fraction_holds_out_five_percent_only_where_it_is_worth_it():
    assert val_fraction_for("auto", 400)[0] == 0.05
    fraction, why = val_fraction_for("auto", 40)
    assert fraction == 0.0 and "2 validation rows" in why and "too few" in why
    fraction, why = val_fraction_for("auto", 4000, knowledge_like=True)
    assert fraction == 0.0 and "knowledge-like" in why
    assert val_fraction_for(0.2, 40) == (0.2, "set in the preset")  # a number is kept


def test_grouped_split_keeps_every_phrasing_of_a_fact_on_one_side_and_never_holds_all_out():
    rows = facts(20, 3)
    train, val = split(rows, 0.2, seed=1, group=group_key)
    assert val and train
    assert {group_key(e) for e in train}.isdisjoint({group_key(e) for e in val})
    assert all(sum(group_key(x) == group_key(e) for x in val) == 3 for e in val)
    # One fact in ten rows: it is not held out entirely.
    single = [sft(f"Ask {i}?", "The one answer.") for i in range(10)]
    train, val = split(single, 0.3, seed=0, group=group_key)
    assert len(train) == 10 and val == []


def test_the_report_and_the_split_agree_for_an_upsampled_knowledge_file(tmp_path):
    path = tmp_path / "facts.jsonl"
    rows = [e.data for e in facts(12, 3)] * 4
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))

    class Section:
        pass

    section = Section()
    section.path, section.val_fraction, section.dedup_near = str(path), "auto", False
    report, rejected, train, val = inspect(section)
    assert report["steps"]["deliberate_repeat"] == 108 and report["shape"]["repeat_factor"] == 4
    assert report["shape"]["knowledge_like"] and report["split"]["val_fraction"] == 0.0
    assert len(train) == 36 and val == [] and "knowledge-like" in report["split"]["val_fraction_reason"]
    section.val_fraction = 0.25  # asked for: validation holds whole facts, never a phrasing of a trained one
    report, _, train, val = inspect(section)
    assert report["split"]["grouped_by_answer"] and len(val) % 3 == 0 and val
    assert {group_key(e) for e in train}.isdisjoint({group_key(e) for e in val})
