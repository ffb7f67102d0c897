"""The bad-input corpus (tests/bad_inputs/): every malformed dataset, preset and model file,
given to the real command line, gives exit code 2, a clear message naming the file (and the
line or key), no traceback — and leaves the file exactly as it was."""

import hashlib
import json

import pytest

from tests.helpers import BAD_INPUTS, tuitune

CORPUS = BAD_INPUTS
DATA, PRESETS = CORPUS / "data", CORPUS / "presets"


def inspect(name):
    return ["data", "inspect", str(DATA / name), "--on-error", "fail"], DATA / name


def dry_run(name):
    return ["run", "--dry-run", str(PRESETS / name)], PRESETS / name


# (case, (argv, the file that must stay unchanged), what the message must say)
CASES = [
    ("broken JSON line", inspect("broken-json-line.jsonl"), ["broken-json-line.jsonl:3: invalid JSON"]),
    ("empty file", inspect("empty.jsonl"), ["empty.jsonl: no rows"]),
    ("only blank lines", inspect("only-blank-lines.jsonl"), ["only-blank-lines.jsonl: no rows"]),
    ("binary garbage", inspect("binary-garbage.jsonl"), ["binary-garbage.jsonl:2: not UTF-8", "save the file as UTF-8"]),
    ("latin-1 encoding", inspect("latin1.jsonl"), ["latin1.jsonl:2: not UTF-8 text (byte 0xe9"]),
    ("UTF-16 encoding", inspect("utf16.jsonl"), ["utf16.jsonl: the file is UTF-16; save it as UTF-8"]),
    ("unknown columns", inspect("unknown-columns.jsonl"), ["unknown-columns.jsonl: cannot tell the format", "'question'"]),
    ("wrong type", inspect("wrong-types.jsonl"), ["wrong-types.jsonl:2:", "must be a list of messages, got str"]),
    ("content not text", inspect("content-not-text.jsonl"), ["content-not-text.jsonl:2:", "content must be text"]),
    ("missing field", inspect("missing-field.jsonl"), ["missing-field.jsonl:2:", "missing `output`"]),
    ("unknown role", inspect("unknown-role.jsonl"), ["unknown-role.jsonl:2:", "unknown role 'wizard'"]),
    ("JSON of non-objects", inspect("not-objects.json"), ["not-objects.json: the rows are int values, not objects"]),
    ("truncated JSON", inspect("truncated.json"), ["truncated.json:1: invalid JSON"]),
    ("ragged CSV", inspect("ragged.csv"), ["ragged.csv:3: 1 cell, but the header has 2 columns"]),
    ("not Parquet", inspect("fake.parquet"), ["fake.parquet: not a readable Parquet file"]),
    ("missing data file", (["data", "inspect", str(DATA / "no-such.jsonl")], None), ["no-such.jsonl"]),
    ("invalid TOML", dry_run("invalid-toml.toml"), ["invalid-toml.toml: invalid TOML", "line 10"]),
    ("unknown key", dry_run("unknown-key.toml"), ["unknown-key.toml: key 'train.epoch': unknown key", "'train.epochs'"]),
    ("unknown section", dry_run("unknown-section.toml"), ["unknown-section.toml: key 'training': unknown key"]),
    ("misspelt model key", dry_run("unknown-model-path-key.toml"), ["key 'model.trust_remote'", "'model.trust_remote_code'"]),
    ("out of range", dry_run("out-of-range.toml"), ["out-of-range.toml: key 'train.learning_rate'", "5.0"]),
    ("wrong type in preset", dry_run("wrong-type.toml"), ["wrong-type.toml: key 'train.batch_size'", "'four'"]),
    ("unknown value", dry_run("unknown-value.toml"), ["unknown-value.toml: key 'train.method'", "'dora'"]),
    ("missing section", dry_run("missing-section.toml"), ["missing-section.toml: key 'data': required"]),
    ("empty preset", dry_run("empty.toml"), ["empty.toml: key 'model': required", "empty.toml: key 'data': required"]),
    ("preset not UTF-8", dry_run("not-utf8.toml"), ["not-utf8.toml: line 7: not UTF-8 text (byte 0xe9)"]),
    ("missing data file in preset", dry_run("missing-data-file.toml"), ["key 'data.path': file not found", "no-such-file.jsonl"]),
    ("missing model folder", dry_run("missing-model.toml"), ["key 'model.path': no such file or folder", "no-such-model-folder"]),
    ("preset pointing at broken data", dry_run("broken-data.toml"), ["broken-json-line.jsonl:3: invalid JSON"]),
    ("data of the wrong stage", dry_run("wrong-stage-data.toml"), ["preference.jsonl: holds preference pairs"]),
    ("bad override", (["check", str(PRESETS / "good.toml"), "-s", "train.max_steps=many"], PRESETS / "good.toml"),
     ["good.toml: key 'train.max_steps'", "'many'"]),
]


@pytest.fixture(scope="module")
def model_files(tmp_path_factory, smollm2_gguf):
    """Model files too big or too odd for the repository: truncated GGUFs, pickled weights."""
    folder = tmp_path_factory.mktemp("bad-models")
    whole = smollm2_gguf.read_bytes()
    (folder / "cut-in-data.gguf").write_bytes(whole[: len(whole) // 2])
    (folder / "cut-in-header.gguf").write_bytes(whole[:4096])
    pickled = folder / "pickled-model"
    pickled.mkdir()
    (pickled / "config.json").write_text(json.dumps({"model_type": "llama"}))
    (pickled / "pytorch_model.bin").write_bytes(b"\x80\x04 not really a pickle")
    for name, model in (("truncated-gguf", "cut-in-data.gguf"), ("pickled", "pickled-model")):
        (folder / f"{name}.toml").write_text(f'[model]\npath = "{model}"\n\n[data]\npath = "{DATA / "good.jsonl"}"\n')
    return folder


GENERATED = [
    ("chat on a GGUF cut in its data", ["chat", "{}/cut-in-data.gguf", "--prompt", "hi"], "cut-in-data.gguf",
     ["cut-in-data.gguf: not a usable GGUF file: the file is truncated", "Download or export it again"]),
    ("chat on a GGUF cut in its header", ["chat", "{}/cut-in-header.gguf", "--prompt", "hi"], "cut-in-header.gguf",
     ["cut-in-header.gguf: not a usable GGUF file: file ends inside the header"]),
    ("preset with a truncated GGUF", ["run", "--dry-run", "{}/truncated-gguf.toml"], "cut-in-data.gguf",
     ["cut-in-data.gguf: not a usable GGUF file"]),
    ("preset with pickled weights", ["run", "--dry-run", "{}/pickled.toml"], "pickled-model/pytorch_model.bin",
     ["pickled-model: the weights are pickled (pytorch_model.bin)", "model.allow_pickle = true"]),
    ("chat on pickled weights", ["chat", "{}/pickled-model", "--prompt", "hi"], "pickled-model/pytorch_model.bin",
     ["the weights are pickled"]),
]


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest() if path is not None else None


def check(argv, path, expected):
    before = digest(path)
    result = tuitune(*argv)
    assert result.returncode == 2, (argv, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert errors, result.stderr
    for fragment in expected:
        assert fragment in result.stderr, (fragment, result.stderr)
    assert digest(path) == before, f"{path} was changed"


@pytest.mark.parametrize("case,command,expected", CASES, ids=[c[0] for c in CASES])
def test_bad_input_exits_2_with_one_clear_message(case, command, expected):
    argv, path = command
    check(argv, path, expected)


@pytest.mark.parametrize("case,argv,path,expected", GENERATED, ids=[c[0] for c in GENERATED])
def test_bad_model_file_exits_2_with_one_clear_message(case, argv, path, expected, model_files):
    check([a.format(model_files) for a in argv], model_files / path, expected)


def test_corpus_is_big_enough():
    assert len(CASES) + len(GENERATED) >= 20
    assert {p.name for p in DATA.iterdir()} >= {"broken-json-line.jsonl", "empty.jsonl", "binary-garbage.jsonl"}


def test_a_closed_pipe_on_stdout_ends_quietly(tmp_path):
    """`tuitune keys | head -1`: the reader goes away; the command stops without a traceback."""
    import os
    import subprocess
    import sys

    read, write = os.pipe()
    os.close(read)  # every write now fails with EPIPE, however fast the reader would have been
    try:
        proc = subprocess.run([sys.executable, "-m", "tuitune", "keys"], stdout=write, stderr=subprocess.PIPE,
                              text=True, env=dict(os.environ, TUITUNE_HOME=str(tmp_path)), timeout=120)
    finally:
        os.close(write)
    assert proc.returncode == 141 and proc.stderr == "", proc.stderr
