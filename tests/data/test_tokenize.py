"""The loss mask: only assistant turns (with their end-of-turn token) are trained."""

from tuitune.data.tokenize import encode
from tuitune.weights.loading import DEFAULT_CHAT_TEMPLATE

CONVERSATION = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Capital of France?"},
    {"role": "assistant", "content": "Paris."},
    {"role": "user", "content": "And of Italy?"},
    {"role": "assistant", "content": "Rome."},
]


def trained_text(tokenizer, row):
    return tokenizer.decode([t for t, label in zip(row["input_ids"], row["labels"], strict=False) if label != -100])


def test_only_assistant_turns_and_their_end_token_are_trained(tokenizer):
    row = encode(tokenizer, CONVERSATION)
    assert len(row["input_ids"]) == len(row["labels"])
    assert trained_text(tokenizer, row) == "Paris.<|im_end|>\nRome.<|im_end|>\n"
    assert tokenizer.decode(row["input_ids"]).count("You are terse.") == 1


def test_full_sequence_loss_when_asked(tokenizer):
    row = encode(tokenizer, CONVERSATION, assistant_only=False)
    assert row["labels"] == row["input_ids"]


def test_default_template_for_tokenizers_without_one(tokenizer):
    import copy

    bare = copy.deepcopy(tokenizer)
    bare.chat_template = DEFAULT_CHAT_TEMPLATE
    row = encode(bare, CONVERSATION)
    text = bare.decode(row["input_ids"])
    assert "### User:\nCapital of France?" in text
    assert trained_text(bare, row) == f"Paris.{bare.eos_token}\n\nRome.{bare.eos_token}\n\n"
