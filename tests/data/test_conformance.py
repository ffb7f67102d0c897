"""Real files from LLaMA-Factory (../shared/conformance): each imports with the right format and
row count, or fails with one clear message saying what is unsupported."""


import pytest

from tests.helpers import CONFORMANCE
from tuitune.data.loader import import_file, load_conversations
from tuitune.data.preview import mask_preview
from tuitune.data.schema import DataError

FOLDER = CONFORMANCE / "llama-factory"
pytestmark = pytest.mark.skipif(not FOLDER.is_dir(), reason=f"conformance data not found at {FOLDER}")

# file: (format, rows) for files that import, or the message for those that can't
EXPECTED = {
    "alpaca_en_demo.json": ("alpaca", 999),
    "identity.json": ("alpaca", 91),
    "dpo_en_demo.json": ("preference", 300),
    "kto_en_demo.json": ("unpaired_preference", 300),
    "glaive_toolcall_en_demo.json": ("sharegpt", 300),
    "c4_demo.jsonl": ("text", 300),
    "wiki_demo.txt": ("text", 30),
    "v1_sft_demo.jsonl": ("messages", 500),
    "v1_dpo_demo.jsonl": ("preference", 10),
    "dataset_info.json": "this is a LLaMA-Factory dataset registry (dataset_info.json), not data",
}
NOT_SFT = {"preference": "preference pairs", "unpaired_preference": "unpaired preferences", "text": "raw text"}


def test_every_conformance_file_has_an_expectation():
    assert {p.name for p in FOLDER.iterdir() if p.name != "LICENSE"} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_conformance_file(name):
    expected = EXPECTED[name]
    if isinstance(expected, str):
        with pytest.raises(DataError) as info:
            import_file(FOLDER / name)
        assert str(info.value).count("\n") == 0 and expected in str(info.value) and name in str(info.value)
        return
    fmt, count = expected
    data = import_file(FOLDER / name)  # on_error = fail: every row must be valid
    assert (data.format, len(data.examples), data.rejected) == (fmt, count, [])
    if fmt in NOT_SFT:  # SFT training refuses it in one sentence that says what the file holds
        with pytest.raises(DataError, match=f"holds {NOT_SFT[fmt]}"):
            load_conversations(str(FOLDER / name))
    else:
        conversations = load_conversations(str(FOLDER / name)).conversations
        assert len(conversations) == count and all(c[-1]["role"] == "assistant" for c in conversations)


@pytest.mark.parametrize("name", ["identity.json", "glaive_toolcall_en_demo.json", "v1_sft_demo.jsonl",
                                  "dpo_en_demo.json", "kto_en_demo.json"])
def test_conformance_preview_trains_the_answers_only(name, tokenizer):
    example = import_file(FOLDER / name).examples[0]
    trained = "".join(t for t, state in mask_preview(tokenizer, example).segments if state == "trained")
    messages = example.data.get("messages") or example.data["prompt"] + example.data["chosen"]
    for m in messages:
        if m["role"] == "assistant":
            assert m["content"].strip() in trained
        elif m["content"].strip():
            assert m["content"].strip()[:40] not in trained
