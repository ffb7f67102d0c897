"""Statistics (characters always, tokens with a tokenizer) and the loss-mask preview."""

import io

from tuitune.cli.data import render_preview
from tuitune.data.preview import mask_preview
from tuitune.data.schema import Example
from tuitune.data.stats import char_stats, percentiles, token_lengths, token_stats


def sft(q, a):
    return Example("f:1", "sft", {"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}]})


def test_percentiles_are_nearest_rank():
    assert percentiles(list(range(1, 101))) == {"count": 100, "mean": 50.5, "p50": 50, "p90": 90, "p99": 99, "max": 100}
    assert percentiles([7]) == {"count": 1, "mean": 7.0, "p50": 7, "p90": 7, "p99": 7, "max": 7}
    assert percentiles([]) == {"count": 0}


def test_token_stats_count_truncation():
    stats = token_stats([10, 20, 30, 40], max_seq_len=25)
    assert stats["truncated_rows"] == 2 and stats["truncated_fraction"] == 0.5 and stats["total"] == 100


def test_rows_whose_answer_is_cut_are_counted(tokenizer):
    from tuitune.data.stats import prompt_text

    examples = [sft("short?", "yes"), sft("a very long question " * 20, "yes")]
    prompts = token_lengths(examples, tokenizer, prompt_text)
    lengths = token_lengths(examples, tokenizer)
    assert all(p < n for p, n in zip(prompts, lengths, strict=False))
    stats = token_stats(lengths, max_seq_len=prompts[1] - 1, prompt_lengths=prompts)
    assert stats["answer_cut_rows"] == 1 and stats["truncated_rows"] == 1


def test_char_stats():
    stats = char_stats([sft("ab", "cde"), Example("t:1", "text", {"text": "xyz"})])
    assert stats["chars"]["max"] == len("user: ab") + len("assistant: cde")
    assert stats["turns"]["max"] == 2


def test_token_lengths_follow_the_chat_template(tokenizer):
    examples = [sft("Hi", "Hello"), sft("Tell me a long story " * 20, "Once."), Example("t:1", "text", {"text": "one two"})]
    lengths = token_lengths(examples, tokenizer)
    rendered = tokenizer.apply_chat_template(examples[0].data["messages"], tokenize=False)
    assert lengths[0] == len(tokenizer(rendered, add_special_tokens=False)["input_ids"])
    assert lengths[1] > 80 and lengths[2] == len(tokenizer("one two", add_special_tokens=False)["input_ids"])
    pair = Example("p:1", "preference", {"prompt": [{"role": "user", "content": "Q"}],
                                          "chosen": [{"role": "assistant", "content": "short"}],
                                          "rejected": [{"role": "assistant", "content": "a much longer answer " * 10}]})
    assert token_lengths([pair], tokenizer)[0] > 40  # the longer side counts


def test_preview_trains_the_answer_and_masks_the_prompt(tokenizer):
    example = Example("f:1", "sft", {"messages": [
        {"role": "system", "content": "Be a pirate."}, {"role": "user", "content": "Where is the gold?"},
        {"role": "assistant", "content": "Arr, buried deep."}, {"role": "user", "content": "And the map?"},
        {"role": "assistant", "content": "Lost at sea."}]})
    mask = mask_preview(tokenizer, example)
    trained = "".join(t for t, state in mask.segments if state == "trained")
    masked = "".join(t for t, state in mask.segments if state == "masked")
    assert "Arr, buried deep." in trained and "Lost at sea." in trained
    assert "<|im_end|>" in trained  # the model must learn to stop
    assert "Where is the gold?" in masked and "Be a pirate." in masked and "And the map?" in masked
    assert mask.plain().count("⟦") == 2 and mask.cut == 0
    from tuitune.data.tokenize import encode

    labels = encode(tokenizer, example.data["messages"])["labels"]
    assert (mask.trained, mask.total) == (sum(x != -100 for x in labels), len(labels))

    from rich.console import Console

    out = io.StringIO()
    Console(file=out, force_terminal=True, width=100).print(render_preview(example, mask))
    text = out.getvalue()
    assert "\x1b[1;32m" in text and "\x1b[2m" in text  # bold green trained, dim masked
    assert f"{mask.trained} of {mask.total} tokens trained" in text


def test_preview_shows_what_max_seq_len_cuts(tokenizer):
    example = sft("Short question?", "A long answer " * 30)
    mask = mask_preview(tokenizer, example, max_seq_len=20)
    assert mask.total > 20 and mask.cut == mask.total - 20
    assert mask.segments[-1][1] == "cut" and "A long answer" in mask.segments[-1][0]
    assert "✂[" in mask.plain()


def test_preview_of_a_pair_shows_the_chosen_side_and_raw_text_is_all_trained(tokenizer):
    pair = Example("p:1", "preference", {"prompt": [{"role": "user", "content": "Q?"}],
                                          "chosen": [{"role": "assistant", "content": "Good."}],
                                          "rejected": [{"role": "assistant", "content": "Bad."}]})
    trained = "".join(t for t, state in mask_preview(tokenizer, pair).segments if state == "trained")
    assert "Good." in trained and "Bad." not in trained
    text = mask_preview(tokenizer, Example("t:1", "text", {"text": "plain words"}))
    assert text.segments == [("plain words", "trained")] and text.trained == text.total == 2


def test_histogram_has_round_bins_and_marks_what_max_seq_len_cuts():
    from tuitune.data.stats import histogram, histogram_lines

    hist = histogram([3, 65, 75, 85, 99, 130, 131])
    assert hist == {"width": 20, "counts": [1, 0, 0, 2, 2, 0, 2]}
    assert sum(histogram(list(range(2048)))["counts"]) == 2048
    assert len(histogram(list(range(2048)))["counts"]) <= 12
    lines = histogram_lines(hist, max_seq_len=90, width=10)
    assert lines[0] == "  0–19  █████      1"
    assert lines[3] == " 60–79  ██████████ 2"
    assert lines[4] == " 80–99  ██████████ 2 (over 90: cut)"
    assert lines[5].startswith("100–119") and lines[5].endswith(" 0")
    assert lines[6] == "120–139 ░░░░░░░░░░ 2 (cut)"
    assert histogram_lines(histogram([])) == []
