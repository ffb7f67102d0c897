"""`tuitune data inspect | clean | preview` through main(argv): exit 0 when usable, 2 with one
clear message (and no traceback) when not."""

import hashlib
import json

from tests.helpers import BAD_DATA
from tuitune.cli.data import main


def test_inspect_shows_format_evidence_problems_and_split(chat, capsys):
    assert main(["data", "inspect", str(chat)]) == 0
    out = capsys.readouterr().out
    assert "format:    messages — conversations (SFT)" in out
    assert "`messages` of `role` / `content` turns in 22 of the first 22 rows → messages" in out
    assert "invalid:   1 rows" in out and "exact_duplicate 2" in out
    # 20 rows: 5% is one validation row, too few to trust, so `auto` holds none out.
    assert "split:     20 train / 0 validation (seed 42)" in out
    assert f"{chat}:23: invalid JSON" in out


def test_inspect_json_with_token_statistics(chat, capsys, tokenizer_dir):
    assert main(["data", "inspect", str(chat), "--json", "--model", str(tokenizer_dir), "--max-seq-len", "16"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["format"] == "messages" and report["rows_read"] == 23 and report["invalid"] == 1
    tokens = report["stats"]["tokens"]
    assert tokens["count"] == 20 and tokens["max_seq_len"] == 16
    assert tokens["answer_cut_rows"] == 20  # SmolLM2's template adds a long default system prompt
    assert main(["data", "inspect", str(chat), "--model", str(tokenizer_dir), "--max-seq-len", "16"]) == 0
    assert "warning:   in 20 rows max_seq_len cuts before the answer starts" in capsys.readouterr().out


def test_inspect_fail_policy_and_unusable_files_exit_2_with_one_message(chat, capsys):
    assert main(["data", "inspect", str(chat), "--on-error", "fail"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {chat}:23: invalid JSON") and "Traceback" not in err
    for name in ("latin1.jsonl", "utf16.json", "unclosed_array.json", "unknown_keys.jsonl", "data.xlsx", "image_parts.jsonl",
                 "compressed.jsonl", "strings.json", "missing_comma.json"):
        assert main(["data", "inspect", str(BAD_DATA / name)]) == 2, name
        captured = capsys.readouterr()
        assert captured.err.startswith("error: ") and name in captured.err and "Traceback" not in captured.err
    assert main(["data", "inspect", str(BAD_DATA / "ragged.csv")]) == 0  # skip (the default): usable
    assert "ragged.csv:3: 3 cells, but the header has 2 columns" in capsys.readouterr().out
    assert main(["data", "inspect", str(BAD_DATA / "ragged.csv"), "--on-error", "fail"]) == 2
    assert "ragged.csv:3:" in capsys.readouterr().err


def test_clean_writes_the_folder_and_leaves_the_input_alone(chat, tmp_path, capsys):
    before = hashlib.sha256(chat.read_bytes()).hexdigest()
    out = tmp_path / "clean"
    assert main(["data", "clean", str(chat), "--out", str(out), "--seed", "3", "--no-near-dedup"]) == 0
    assert "wrote:" in capsys.readouterr().out
    assert hashlib.sha256(chat.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in out.iterdir()) == [".tuitune-data-clean", "rejected.jsonl", "report.json", "train.jsonl",
                                                     "val.jsonl"]
    report = json.loads((out / "report.json").read_text())
    assert report["settings"]["dedup_near"] is False and report["split"]["seed"] == 3
    assert len((out / "rejected.jsonl").read_text().splitlines()) == 3


def test_clean_with_a_stage_refuses_the_wrong_kind(tmp_path, capsys):
    f = tmp_path / "t.txt"
    f.write_text("a document\nanother one\n")
    assert main(["data", "clean", str(f), "--out", str(tmp_path / "o"), "--stage", "sft"]) == 2
    assert "holds raw text (continued pre-training)" in capsys.readouterr().err
    assert main(["data", "clean", str(f), "--out", str(tmp_path / "o"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["kind"] == "text"


def test_bad_arguments_are_user_errors(chat, capsys):
    assert main(["data", "inspect", str(chat), "--column", "nonsense"]) == 2
    assert "expected OURS=THEIRS" in capsys.readouterr().err
    assert main(["data", "inspect", str(chat), "--max-tokens", "10"]) == 2
    assert "need --model" in capsys.readouterr().err
    assert main(["data", "inspect", str(chat), "--model", str(chat.parent / "no-such-model")]) == 2
    assert "cannot load its tokenizer" in capsys.readouterr().err


def test_preview_colours_trained_and_masked_tokens(chat, capsys, tokenizer_dir):
    assert main(["data", "preview", str(chat), "--model", str(tokenizer_dir), "-n", "2", "--plain"]) == 0
    out = capsys.readouterr().out
    assert out.count("# ") == 2 and "⟦Answer 0.<|im_end|>" in out and "⟦Question" not in out
    assert main(["data", "preview", str(chat), "--model", str(tokenizer_dir), "-n", "1"]) == 0
    assert "tokens trained" in capsys.readouterr().out
