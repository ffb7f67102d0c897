"""tuitune's promises to a hostile user, one case a line: every bad file, preset, id or folder
given to the real command line gets exit code 2 and one clear message naming what was wrong
(no traceback), and every file the case made is left exactly as it was.

A case: its name, the files it makes in its folder (``{tmp}`` in any text is that folder; FIFO
makes a named pipe), the command line, and what stderr must say. docs/faults.md lists the
promises and the cases that check them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers import BAD_INPUTS, tuitune

FIFO, LOOP = object(), object()  # a named pipe; a symbolic link to itself
GOOD = (BAD_INPUTS / "data" / "good.jsonl").read_text(encoding="utf-8")
DEEP = "[" * 200_000 + "\n"


def preset(data: str, extra: str = "", model: str = "bundled:smollm2-135m-instruct") -> str:
    return f'[model]\npath = "{model}"\n[data]\npath = "{data}"\n{extra}'


def model_check(model: str, files: dict | None = None) -> dict:
    """Files for `tuitune check` of a preset whose model is ``model`` (good data)."""
    return {"good.jsonl": GOOD, "p.toml": preset("{tmp}/good.jsonl", model=model), **(files or {})}


CUSTOM = '{"model_type": "my_own_arch", "auto_map": {"AutoModelForCausalLM": "modeling_mine.MyModel"}}'


LOST = '{"status": "stopped", "step": 5, "total_steps": 20}'
OUTSIDE = {"victim/state.json": "not json at all", "victim/src/main.c": "precious"}

# (name, files, argv, what stderr says)
CASES = [
    ("runs delete of a folder outside the runs home", OUTSIDE, ["runs", "delete", "{tmp}/victim", "--yes"],
     ["victim: not a run of", "tuitune acts only on the runs it made"]),
    ("runs delete of an outside folder holding a valid state", {"victim/state.json": '{"status": "done"}'},
     ["runs", "delete", "{tmp}/victim", "--yes"], ["not a run of"]),
    ("runs show of an outside folder", OUTSIDE, ["runs", "show", "{tmp}/victim"], ["victim: not a run of"]),
    ("runs resume of an outside folder", OUTSIDE, ["runs", "resume", "{tmp}/victim"], ["victim: not a run of"]),
    ("a plain name that is a folder here, not a run", OUTSIDE, ["runs", "delete", "victim", "--yes"], ["no run 'victim'"]),
    ("resume of a run whose checkpoints are gone", {"home/runs/20260101-000000-lost-aaaa/state.json": LOST},
     ["runs", "resume", "20260101-000000-lost-aaaa"], ["reached step 5, but no complete checkpoint is left", "--from-scratch"]),
    ("deeply nested JSON Lines", {"deep.jsonl": DEEP}, ["data", "inspect", "{tmp}/deep.jsonl"],
     ["deep.jsonl:1: JSON nested too deeply"]),
    ("deeply nested JSON", {"deep.json": DEEP}, ["data", "inspect", "{tmp}/deep.json"], ["deep.json:1: JSON nested too deeply"]),
    ("deeply nested JSON in check", {"deep.jsonl": DEEP, "p.toml": preset("{tmp}/deep.jsonl")}, ["check", "{tmp}/p.toml"],
     ["JSON nested too deeply"]),
    ("deeply nested JSON in a dry run", {"deep.json": DEEP, "p.toml": preset("{tmp}/deep.json")},
     ["run", "--dry-run", "{tmp}/p.toml"], ["JSON nested too deeply"]),
    ("a preset nested thousands deep", {"deep.toml": "[model]\npath = " + "[" * 5000 + "\n"}, ["check", "{tmp}/deep.toml"],
     ["deep.toml: invalid TOML: arrays or tables nested thousands deep"]),
    ("an override nested thousands deep", model_check("bundled:smollm2-135m-instruct"),
     ["check", "{tmp}/p.toml", "-s", "train.epochs=" + "[" * 5000], ["key 'train.epochs'"]),
    ("infinite epochs", {"good.jsonl": GOOD, "p.toml": preset("{tmp}/good.jsonl", "[train]\nepochs = inf\n")},
     ["check", "{tmp}/p.toml"], ["p.toml: key 'train.epochs': Input should be a finite number"]),
    ("epochs as nan", {"good.jsonl": GOOD, "p.toml": preset("{tmp}/good.jsonl")}, ["check", "{tmp}/p.toml", "-s", "train.epochs=nan"],
     ["key 'train.epochs': Input should be a finite number"]),
    ("absurd max_steps", {"good.jsonl": GOOD, "p.toml": preset("{tmp}/good.jsonl")},
     ["run", "--dry-run", "{tmp}/p.toml", "-s", "train.max_steps=99999999999999999999"],
     ["key 'train.max_steps': Input should be less than or equal to 10000000"]),
    ("a learning rate that learns nothing", {"good.jsonl": GOOD, "p.toml": preset("{tmp}/good.jsonl")},
     ["check", "{tmp}/p.toml", "-s", "train.learning_rate=1e-30"], ["key 'train.learning_rate'", "greater than or equal to"]),
    ("data clean into its own input file", {"good.jsonl": GOOD}, ["data", "clean", "{tmp}/good.jsonl", "--out", "{tmp}/good.jsonl"],
     ["--out {tmp}/good.jsonl: a file, not a folder"]),
    ("data clean into a folder that is not empty", {"good.jsonl": GOOD, "out/train.jsonl": "mine", "out/notes.txt": "mine too"},
     ["data", "clean", "{tmp}/good.jsonl", "--out", "{tmp}/out"], ["the folder is not empty", "--force"]),
    ("data clean --force over files it did not write", {"good.jsonl": GOOD, "out/train.jsonl": "mine"},
     ["data", "clean", "{tmp}/good.jsonl", "--out", "{tmp}/out", "--force"], ["train.jsonl not written by `tuitune data clean`"]),
    ("a prompt longer than the context", {}, ["chat", "bundled:smollm2-135m-instruct", "--prompt", "word " * 20_000],
     ["the prompt is 20031 tokens (100000 characters), but the context window holds 2048 tokens", "--ctx N"]),
    ("a context of no tokens", {}, ["chat", "bundled:smollm2-135m-instruct", "--ctx", "0", "--prompt", "hi"],
     ["--ctx 0: give between 128 and 1048576 tokens"]),
    ("a system folder as model.path", model_check("/etc"), ["check", "{tmp}/p.toml"], ["/etc: no config.json"]),
    ("a model folder with only its config", model_check("{tmp}/m", {"m/config.json": '{"model_type": "llama"}'}),
     ["check", "{tmp}/p.toml"], ["m: no weights (no .safetensors file)"]),
    ("a model folder without a tokenizer", model_check("{tmp}/m", {"m/config.json": "{}", "m/model.safetensors": ""}),
     ["run", "--dry-run", "{tmp}/p.toml"], ["m: no tokenizer files"]),
    ("a model that is its own code", model_check("{tmp}/m", {"m/config.json": CUSTOM, "m/model.safetensors": "",
                                                             "m/tokenizer.json": "{}", "m/modeling_mine.py": "raise SystemExit"}),
     ["check", "{tmp}/p.toml"], ["exists only as Python code shipped with it (modeling_mine.MyModel)",
                                 "model.trust_remote_code = true"]),
    ("a hub id not in the cache, offline", model_check("someone/not-cached-here"), ["check", "{tmp}/p.toml"],
     ["someone/not-cached-here: not in the Hugging Face cache", "HF_HUB_OFFLINE is set"]),
    ("a prompt that is a number", {"d.jsonl": '{"prompt": 1, "completion": "x"}\n'}, ["data", "inspect", "{tmp}/d.jsonl"],
     ["`prompt` must be text or a list of messages, got 1"]),
    ("a hub dataset id that is none", {"p.toml": preset("hf:::")}, ["check", "{tmp}/p.toml"],
     ["p.toml: key 'data.path': hf:::: not a hub dataset id"]),
    ("an override key with an empty part", model_check("bundled:smollm2-135m-instruct"), ["check", "{tmp}/p.toml", "-s", "train..x=1"],
     ["override 'train..x=1': 'train..x' has an empty part"]),
    ("a ragged CSV row", {"r.csv": "a,b\n1\n"}, ["data", "inspect", "{tmp}/r.csv", "--format", "auto"],
     ["r.csv:2: 1 cell, but the header has 2 columns"]),
    ("a data file that is a link to itself", {"loop.jsonl": LOOP}, ["data", "inspect", "{tmp}/loop.jsonl"],
     ["loop.jsonl: a symbolic link whose target is missing or loops back on itself"]),
    ("a FIFO as data.path", {"pipe.jsonl": FIFO, "p.toml": preset("{tmp}/pipe.jsonl")}, ["check", "{tmp}/p.toml"],
     ["pipe.jsonl: not a regular file"]),
    ("a FIFO to data inspect", {"pipe.jsonl": FIFO}, ["data", "inspect", "{tmp}/pipe.jsonl"], ["pipe.jsonl: not a regular file"]),
]


def make(folder: Path, files: dict) -> dict[Path, bytes | None]:
    """The case's files, and what each holds (None for a FIFO)."""
    made: dict[Path, bytes | None] = {}
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if content is FIFO:
            os.mkfifo(path)
            made[path] = None
        elif content is LOOP:
            path.symlink_to(path)
            made[path] = None
        else:
            path.write_text(content.replace("{tmp}", str(folder)), encoding="utf-8")
            made[path] = path.read_bytes()
    return made


@pytest.mark.parametrize("name,files,argv,says", CASES, ids=[c[0] for c in CASES])
def test_a_hostile_input_gets_one_clear_message_and_changes_nothing(name, files, argv, says, tmp_path):
    made = make(tmp_path, files)
    # Nothing is downloaded in tests, and the case's hub cache is its own (empty).
    with pytest.MonkeyPatch.context() as env:
        env.setenv("HF_HUB_OFFLINE", "1")
        env.setenv("HF_HUB_CACHE", str(tmp_path / "hf-cache"))
        result = tuitune(*(a.replace("{tmp}", str(tmp_path)) for a in argv), timeout=120, env_home=tmp_path / "home")
    assert result.returncode == 2, f"{name}: exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr, result.stderr
    for text in says:
        assert text.replace("{tmp}", str(tmp_path)) in result.stderr, result.stderr
    for path, content in made.items():
        assert path.exists() or path.is_symlink(), f"{name}: {path} is gone"
        if content is not None:
            assert path.read_bytes() == content, f"{name}: {path} was changed"
