"""Lists of allowed values and defaults are read from the preset schema, not spelled again:
the helpers, and each place that offers or checks such a list (the CLI's flags, the TUI's
selects, the planner, the worker's tables) following the schema."""

from __future__ import annotations

import subprocess
import sys
import typing

import pytest

from tuitune.preset import schema
from tuitune.preset.keys import choices, default


def test_choices_read_the_literals_of_a_key_in_schema_order():
    assert choices("train.method") == ("auto", "full", "lora", "qlora", "ia3", "prompt_tuning", "prefix_tuning", "freeze")
    assert choices("train.stage")[:2] == ("sft", "dpo") and {"kto", "orpo", "simpo", "cpt"} <= set(choices("train.stage"))
    assert choices("data.on_error") == ("fail", "skip")
    assert choices("export.gguf") == typing.get_args(schema.GgufType)  # a list of a Literal: its items
    assert choices("train.gradient_checkpointing") == ("auto", True, False)
    assert choices("train.packing") == (True, False)
    assert choices("train.optimizer")[0] == "adamw"


@pytest.mark.parametrize("key", ["train.epochs", "lora.target_modules", "data.columns", "model", "name"])
def test_keys_open_to_other_values_are_not_choices(key):
    with pytest.raises(ValueError, match=f"{key!r} is not a choice"):
        choices(key)


def test_defaults_come_from_the_fields():
    assert default("train.seed") == 42 and default("data.val_fraction") is None  # auto
    assert default("train.learning_rate") is None  # guided: tuitune chooses
    gguf = default("export.gguf")
    assert gguf == ["q4_k_m"]
    gguf.append("q8_0")
    assert default("export.gguf") == ["q4_k_m"]  # a fresh list each time
    with pytest.raises(ValueError, match="'model.path' has no default"):
        default("model.path")
    with pytest.raises(KeyError, match="no preset key 'train.nope'"):
        default("train.nope")
    with pytest.raises(KeyError, match="no preset key 'model.path.deeper'"):
        choices("model.path.deeper")


def test_every_gguf_type_has_its_help_line():
    assert list(schema.GGUF_TYPE_HELP) == list(schema.GGUF_TYPES)


def test_the_data_layer_knows_every_format_and_stage_the_schema_allows():
    from tuitune.data import validate
    from tuitune.data.formats import FORMATS
    from tuitune.data.pipeline import STAGE_KIND

    assert FORMATS == choices("data.format")  # the converters behind each name
    assert set(choices("train.stage")) <= set(STAGE_KIND)  # the kind of rows each stage trains on
    assert typing.get_args(validate.OnError) == choices("data.on_error")


def test_the_planner_compares_the_presets_methods_and_knows_its_optimizers():
    from tuitune.hardware import recommend, setup

    assert setup.METHODS == ("full", "lora", "qlora", "ia3", "prompt_tuning", "prefix_tuning", "freeze")
    assert setup.AUTO_METHODS == ("full", "lora", "qlora")  # what `method = "auto"` chooses among
    assert setup.OPTIMIZERS == choices("train.optimizer")
    assert set(recommend.NAMES) == set(setup.METHODS)
    plain = setup.Setup("lora")
    assert (plain.optimizer, plain.stage, plain.seq_len, plain.lora_targets) == (
        default("train.optimizer"), default("train.stage"), default("train.max_seq_len"), default("lora.target_modules"))
    from tuitune.hardware.errors import PlannerError

    with pytest.raises(PlannerError, match="stage 'rlhf': use one of sft, dpo, "):
        setup.Setup("lora", stage="rlhf")


def test_the_tui_form_offers_the_schema_values():
    from tuitune.tui import preset_form

    for key in preset_form.SELECT_KEYS:
        assert preset_form.select_options(key) == choices(key)
    assert set(preset_form.SELECT_KEYS) <= set(preset_form.EDITABLE)


def test_data_flags_take_the_schema_values_and_defaults(capsys):
    import argparse

    from tuitune.cli.data import add_parser, main
    from tuitune.cli.schema_args import resolve

    parser = argparse.ArgumentParser(prog="tuitune")
    add_parser(parser.add_subparsers(dest="command"))

    args = resolve(parser.parse_args(["data", "clean", "f.jsonl", "--out", "o"]))
    assert (args.format, args.seed, args.val_fraction, args.max_seq_len, args.near_threshold) == (
        default("data.format"), default("train.seed"), default("data.val_fraction"), default("train.max_seq_len"),
        default("data.near_threshold"))
    # The --no-* flags turn off what a preset does by default: the defaults must be on.
    assert all(default(f"data.{k}") is True for k in (
        "normalize_whitespace", "drop_empty", "dedup_exact", "dedup_near", "drop_degenerate_pairs", "fix_leakage"))
    with pytest.raises(SystemExit):
        main(["data", "clean", "f.jsonl", "--out", "o", "--stage", "pretrain"])
    assert "invalid choice: 'pretrain' (choose from 'sft', 'dpo', " in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["data", "inspect", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert "row format: " + ", ".join(choices("data.format")) + " (default: auto" in shown
    assert f"seed of the split (default {default('train.seed')})" in shown


def test_plan_flags_take_the_schema_values(capsys):
    from tuitune.cli.hardware import main

    assert main(["plan", "--model", "x", "--method", "auto"]) == 2
    assert ("invalid choice: 'auto' (choose from 'full', 'lora', 'qlora', 'ia3', 'prompt_tuning', 'prefix_tuning', "
            "'freeze')") in capsys.readouterr().err
    assert main(["plan", "--help"]) == 0
    shown = " ".join(capsys.readouterr().out.split())
    assert ", ".join(choices("train.optimizer")) in shown and "(default sft)" in shown


def test_worker_tables_cover_every_schema_value():
    pytest.importorskip("transformers")
    from tuitune.export.gguf import FTYPES
    from tuitune.train.trainer_args import OPTIMIZERS

    assert list(OPTIMIZERS) == list(choices("train.optimizer")) and OPTIMIZERS["adamw"] == "adamw_torch"
    assert list(FTYPES) == list(schema.GGUF_TYPES) and FTYPES["q4_k_m"] == "LLAMA_FTYPE_MOSTLY_Q4_K_M"


def test_help_reads_no_schema():
    """The flags' values are read when a flag needs them, so `tuitune --help` stays as light as before."""
    code = ("import sys\nfrom tuitune.cli.main import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "print('PYDANTIC', 'pydantic' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("PYDANTIC False")
