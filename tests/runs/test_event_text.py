"""One description of each event for both fronts (tuitune.runs.event_text): what each event
says, and that `tuitune run`'s display and the TUI's event log show the same words."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from tuitune.cli.display import RunDisplay
from tuitune.runs.event_text import describe, dpo_numbers, format_duration, level, step_numbers
from tuitune.tui.screens.run import log_lines

# One event of every type the worker and the export worker write, as they write them.
EVENTS = [
    {"type": "started", "pid": 7, "attempt": 2},
    {"type": "data", "path": "/d/pirate.jsonl", "format": "messages", "train_rows": 190, "val_rows": 10},
    {"type": "guidance", "summary": "190 examples, LoRA on a 135M model", "choices": {
        "train.learning_rate": {"value": 0.0005, "reason": "LoRA on a 135M model", "auto": True},
        "train.batch_size": {"value": 4, "reason": "from the preset", "auto": False}}},
    {"type": "status", "status": "loading_model", "model": "m", "device": "cpu", "precision": "fp32",
     "method": "lora", "method_reason": "the preset says so"},
    {"type": "speed", "attention": "sdpa", "padding_free": True, "liger": False, "reasons": {"liger": "CUDA only"}},
    {"type": "status", "status": "resuming", "checkpoint": "/r/checkpoints/checkpoint-4", "step": 4},
    {"type": "status", "status": "training", "step": 4, "total_steps": 24},
    {"type": "step", "step": 5, "total_steps": 24, "loss": 2.5, "lr": 5e-4, "tokens_per_s": 117.2, "eta_s": 190},
    {"type": "eval", "step": 6, "loss": 2.3, "reward_margin": -0.25, "reward_accuracy": 0.4},
    {"type": "checkpoint", "step": 6, "path": "/r/checkpoints/checkpoint-6"},
    {"type": "probe", "label": "eval", "step": 6, "answers": [{"prompt": "Hi", "answer": "Arr"},
                                                              {"prompt": "Bye", "answer": "Yo ho"}]},
    {"type": "warning", "source": "coach", "code": "overfitting", "message": "validation loss rises"},
    {"type": "warning", "message": "max_seq_len cuts [train] rows [/b]"},  # brackets are not markup
    {"type": "oom", "step": 7, "batch_size": 4, "grad_accum": 2, "advice": ["train.batch_size 4 → 2", "qlora"]},
    {"type": "retry", "reason": "out of memory", "attempt": 1, "of": 3, "batch_size": 2, "grad_accum": 4,
     "effective_batch": 8, "resume_from": None},
    {"type": "status", "status": "stopping"},
    {"type": "memory", "step": 24, "max_rss_bytes": 3 * 2**30},
    {"type": "saved", "kind": "adapter", "path": "/r/adapter", "weights": {"text": "best checkpoint: step 18"}},
    {"type": "samples", "path": "/r/samples.json"},
    {"type": "status", "status": "exporting", "quants": ["q8_0"]},
    {"type": "export", "stage": "merge", "state": "started"},
    {"type": "export", "stage": "merge", "state": "done", "seconds": 2.54},
    {"type": "error", "message": "export failed: no room"},
    {"type": "finished", "stage": "export", "status": "failed", "report": "/r/gguf/report.json"},
    {"type": "finished", "status": "done", "export": "passed"},
    {"type": "brand_new_kind", "detail": 42},
    {"type": "speed", "attention": "flash_attention_2", "padding_free": False, "liger": True,
     "activation_offloading": True, "reasons": {"activation_offloading": "the run needs 34.0 GiB without it"}},
    {"type": "offload", "step": 6, "by": "saved_tensor_hooks", "peak_bytes": 3 * 2**20},
    {"type": "gauge", "step": 13, "max_rss_bytes": 2587414528, "wait_s": 75, "cache_bytes": 512},
]


@pytest.mark.parametrize("event, text", [
    (EVENTS[0], "worker started (pid 7, attempt 2)"),
    (EVENTS[1], "data: /d/pirate.jsonl (messages): 190 train / 10 validation rows"),
    (EVENTS[2], "guided: 190 examples, LoRA on a 135M model\n  train.learning_rate = 0.0005  (LoRA on a 135M model)"),
    (EVENTS[3], "loading m on cpu (fp32), method lora: the preset says so"),
    (EVENTS[4], "speed: attention sdpa, batches padding-free, Liger off (CUDA only)"),
    (EVENTS[6], "training: step 4 of 24"),
    (EVENTS[8], "step 6: validation loss 2.3000  margin -0.250  reward acc 40%"),
    (EVENTS[10], "probe answers (eval, step 6):\n  'Hi' → 'Arr'\n  'Bye' → 'Yo ho'"),
    (EVENTS[11], "coach: validation loss rises"),
    (EVENTS[13], "OUT OF MEMORY at step 7 (batch 4 x 2); lower: train.batch_size 4 → 2; qlora"),
    (EVENTS[14], "retry 1/3 after out of memory: batch 2 x grad_accum 4 (effective 8), "
                 "from the start (no checkpoint yet)"),
    (EVENTS[15], "stopping after this step; saving a checkpoint"),
    (EVENTS[16], "peak memory: 3.00 GiB resident in RAM"),
    (EVENTS[17], "adapter written to /r/adapter (best checkpoint: step 18)"),
    (EVENTS[21], "export: merge done (2.5 s)"),
    (EVENTS[22], "ERROR: export failed: no room"),
    (EVENTS[23], "export finished: failed; report: /r/gguf/report.json"),
    (EVENTS[24], "run finished: done (export passed)"),
    (EVENTS[25], "brand_new_kind: detail 42"),  # a newer worker's event: shown, never dropped
    (EVENTS[28], "gauge: step 13, max rss 2.41 GiB, wait 1m15s, cache 512 bytes"),  # in people's units
    (EVENTS[26], "speed: attention flash_attention_2, batches padded, Liger on, "
                 "activation offloading on (the run needs 34.0 GiB without it)"),
    (EVENTS[27], "activation offloading: at most 3.0 MiB of saved activations went through the offload hooks at once"),
])
def test_each_event_in_words(event, text):
    assert describe({"v": 1, "seq": 3, "ts": 0, **event}) == text


def test_numbers_are_not_news():
    assert describe(EVENTS[7]) is None and describe({"type": "vram", "allocated": 1}) is None
    assert level(EVENTS[13]) == level(EVENTS[22]) == "error" and level(EVENTS[11]) == "warning"
    assert level(EVENTS[10]) == "quiet" and level(EVENTS[0]) == "info"


def test_step_figures():
    assert step_numbers(EVENTS[7]) == {"step": "5/24", "epoch": "–", "loss": "2.5000", "lr": "5.00e-04",
                                       "tokens/s": "117", "ETA": "3m10s"}
    # The margin keeps its sign: below zero the model prefers the rejected answers.
    assert dpo_numbers({"type": "step", "reward_margin": 0.2, "reward_accuracy": 0.5}) == {
        "margin": "+0.200", "reward acc": "50%"}
    assert dpo_numbers({"type": "step", "rewards/margins": -0.1}) == {"margin": "-0.100"}
    assert dpo_numbers(EVENTS[7]) == {}
    assert [format_duration(s) for s in (5, 75, 3725)] == ["5s", "1m15s", "1h02m"]


def shown_by_the_cli(events):
    out = io.StringIO()
    display = RunDisplay(Console(file=out, width=200, highlight=False, force_terminal=False))
    with display:
        for event in events:
            display.handle(event)
    return display, out.getvalue()


def test_the_cli_and_the_tui_say_the_same():
    _, printed = shown_by_the_cli(EVENTS)
    logged = [line[len("HH:MM:SS  "):] for event in EVENTS for line in log_lines({"ts": 0, **event})]
    lines = [line.rstrip() for line in printed.splitlines() if line.strip()]
    assert [line for line in lines if line in logged] == logged  # every log line, in order, word for word
    assert "max_seq_len cuts [train] rows [/b]" in printed


def test_the_cli_bar_shows_the_step_figures():
    display, _ = shown_by_the_cli([EVENTS[6], EVENTS[7], {"type": "step", "step": 6, "loss": 1.0,
                                                          "reward_margin": 0.5, "reward_accuracy": 1.0}])
    task = display.progress.tasks[0]
    assert (task.description, task.completed, task.total) == ("training", 6, 24)
    assert task.fields["metrics"] == "loss 1.0000  margin +0.500  reward acc 100%"
    display, _ = shown_by_the_cli([EVENTS[7]])
    assert display.progress.tasks[0].fields["metrics"] == "loss 2.5000  lr 5.00e-04  tokens/s 117  ETA 3m10s"
    display, _ = shown_by_the_cli([EVENTS[24]])
    assert display.final_status == "done"


def test_the_tui_log_puts_details_under_the_first_line():
    assert log_lines({"ts": 0, **EVENTS[10]})[1:] == ["            'Hi' → 'Arr'", "            'Bye' → 'Yo ho'"]
    assert log_lines(EVENTS[7]) == []
