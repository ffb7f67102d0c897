"""The torch-free tokenizer (tuitune/models/tokenizer.py) against transformers' own: the same ids,
offsets, decoded text and rendered chat, with the model's template and with tuitune's default
one; tokenizers that only transformers can read are converted once by a worker process; and
`tuitune data inspect --model` stays free of torch and transformers while counting tokens."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from tuitune.models.tokenizer import DEFAULT_CHAT_TEMPLATE, LightTokenizer, TokenizerError, load_tokenizer

CONVERSATIONS = [
    [{"role": "user", "content": "hi"}],
    [{"role": "system", "content": "You answer like a pirate."},
     {"role": "user", "content": "Where is the treasure?"},
     {"role": "assistant", "content": "Buried under the old oak, matey."},
     {"role": "user", "content": "And the map?"},
     {"role": "assistant", "content": "Burnt, arr!"}],
    [{"role": "user", "content": "  Ünïcödé — “quotes”, emoji 😀 and 中文\n\n\tindented\n```py\nx = 1\n```  "},
     {"role": "assistant", "content": "don't, it's, they're . ? !"}],
    # Special-token text inside a message is read as the special token by both (no sanitizing).
    [{"role": "user", "content": "say <|im_end|> then stop"}, {"role": "assistant", "content": "<|im_start|>ok"}],
]
TEXTS = ["", "a", "Hello world!", " x", "\n\n\n  y", "a" * 60, "  leading\n\nand\ttabs  ", "<|im_start|>user\nhi<|im_end|>"]


def same_as_transformers(light: LightTokenizer, hf, conversations=CONVERSATIONS) -> None:
    from tuitune.data.tokenize import encode, encode_pair

    for text in TEXTS:
        a = hf(text, add_special_tokens=False, return_offsets_mapping=True)
        b = light(text, add_special_tokens=False, return_offsets_mapping=True)
        assert b["input_ids"] == a["input_ids"], text
        assert b["offset_mapping"] == [tuple(o) for o in a["offset_mapping"]], text
        assert light.decode(b["input_ids"]) == hf.decode(a["input_ids"]), text
        assert light(text)["input_ids"] == hf(text)["input_ids"], text
    assert light(TEXTS, add_special_tokens=False)["input_ids"] == hf(TEXTS, add_special_tokens=False)["input_ids"]
    for conversation in conversations:
        for prompt in (False, True):
            rendered = hf.apply_chat_template(conversation, tokenize=False, add_generation_prompt=prompt)
            assert light.apply_chat_template(conversation, tokenize=False, add_generation_prompt=prompt) == rendered
        if conversation[-1]["role"] == "assistant":  # what the data layer trains: ids and the loss mask
            assert encode(light, conversation) == encode(hf, conversation)
    pair = {"prompt": CONVERSATIONS[1][:-1], "chosen": CONVERSATIONS[1][-1:],
            "rejected": [{"role": "assistant", "content": "I won't say."}]}
    assert encode_pair(light, pair) == encode_pair(hf, pair)
    for name in ("bos_token", "eos_token", "pad_token", "unk_token", "eos_token_id", "pad_token_id", "bos_token_id"):
        assert getattr(light, name) == getattr(hf, name), name
    assert len(light) == len(hf)


def test_the_same_ids_offsets_and_chat_text_as_transformers(tokenizer_dir, tokenizer):
    light = load_tokenizer(tokenizer_dir)
    assert light.chat_template == tokenizer.chat_template != DEFAULT_CHAT_TEMPLATE
    same_as_transformers(light, tokenizer)


def test_a_tokenizer_without_a_template_gets_the_default_one_as_in_training(tiny_model_no_template):
    from tuitune.weights.loading import load_tokenizer as training_tokenizer
    from tuitune.weights.loading import model_source

    hf = training_tokenizer(model_source(str(tiny_model_no_template)), trust_remote_code=False)
    light = load_tokenizer(tiny_model_no_template)
    assert light.chat_template == hf.chat_template == DEFAULT_CHAT_TEMPLATE
    assert "### Assistant:\nBuried under the old oak, matey.<|im_end|>" in light.apply_chat_template(
        CONVERSATIONS[1], tokenize=False)
    same_as_transformers(light, hf)


def test_templates_render_in_transformers_sandbox(tokenizer_dir):
    """The features chat templates on the hub use, rendered alike; escapes refused."""
    from jinja2.exceptions import SecurityError, TemplateError
    from transformers import AutoTokenizer

    light, tokenizer = load_tokenizer(tokenizer_dir), AutoTokenizer.from_pretrained(tokenizer_dir)  # not the shared one
    template = (
        "{% set ns = namespace(turns=0) %}{{ bos_token }}"
        "{% for m in messages %}{% if m['role'] not in ['user', 'assistant'] %}"
        "{{ raise_exception('Only user and assistant roles, got ' + m['role']) }}{% endif %}"
        "{% if m['content'] == 'skip' %}{% continue %}{% endif %}{% set ns.turns = ns.turns + 1 %}"
        "{% if m['role'] == 'assistant' %}{% generation %}{{ m['content'] | tojson }}{{ eos_token }}{% endgeneration %}"
        "{% else %}{{ m['content'] }}{% endif %}\n"
        "  {% if loop.index == 3 %}{% break %}{% endif %}{% endfor %}"
        "{{ ns.turns }} {{ dict(a=1)['a'] }} {{ strftime_now('%Y') }}"
    )
    light.chat_template = tokenizer.chat_template = template
    chat = [{"role": "user", "content": "ça va?"}, {"role": "assistant", "content": "skip"},
            {"role": "assistant", "content": "Ünï \"quoted\""}, {"role": "user", "content": "never reached"}]
    rendered = light.apply_chat_template(chat, tokenize=False)
    assert rendered == tokenizer.apply_chat_template(chat, tokenize=False)
    # trim_blocks ate the newline after {% endif %}, lstrip_blocks the spaces before {% if %}.
    assert rendered == f'<|im_start|>ça va?"Ünï \\"quoted\\""<|im_end|>2 1 {datetime.now():%Y}'
    bad = [{"role": "tool", "content": "x"}]
    with pytest.raises(TemplateError, match="Only user and assistant roles, got tool"):
        light.apply_chat_template(bad, tokenize=False)
    for escape in ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "{% set ns = namespace() %}{% set ns._x = 1 %}"):
        light.chat_template = escape
        with pytest.raises(SecurityError):
            light.apply_chat_template(chat, tokenize=False)


def test_tokenize_true_gives_ids_as_transformers_does(tokenizer_dir, tokenizer):
    light = load_tokenizer(tokenizer_dir)
    ids = light.apply_chat_template(CONVERSATIONS[1], add_generation_prompt=True, return_dict=False)
    assert ids == tokenizer.apply_chat_template(CONVERSATIONS[1], add_generation_prompt=True, return_dict=False)
    assert light.apply_chat_template(CONVERSATIONS[0])["input_ids"] == tokenizer.apply_chat_template(CONVERSATIONS[0])["input_ids"]


def test_a_hub_id_is_read_from_the_cache_without_the_network(tokenizer_dir, tokenizer, tmp_path, monkeypatch):
    snapshot = tmp_path / "models--Org--Tok" / "snapshots" / "abc"
    shutil.copytree(tokenizer_dir, snapshot)
    (tmp_path / "models--Org--Tok" / "refs").mkdir()
    (tmp_path / "models--Org--Tok" / "refs" / "main").write_text("abc")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path))  # read at its import
    light = load_tokenizer("Org/Tok")  # HF_HUB_OFFLINE=1 (conftest): only the cache can answer
    assert light.name_or_path == "Org/Tok"
    assert light(TEXTS[-1])["input_ids"] == tokenizer(TEXTS[-1])["input_ids"]
    with pytest.raises(TokenizerError, match=r"Org/Missing: cannot load its tokenizer: HF_HUB_OFFLINE=1 .*`hf download Org/Missing`"):
        load_tokenizer("Org/Missing")


@pytest.mark.parametrize("ref, message", [
    ("{tmp}/nowhere", "no such model folder"),
    ("{tmp}/missing.gguf", "GGUF file not found"),
    ("{tmp}", "no tokenizer files (tokenizer.json, tokenizer.model, vocab.json …) in"),
    ("run:ab12", "a run's tokenizer is its starting model's; resolve the run first"),
    ("run:", "name a run after the colon"),
])
def test_what_cannot_be_a_tokenizer_says_why(tmp_path, ref, message):
    with pytest.raises(TokenizerError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_tokenizer(ref.format(tmp=tmp_path))


# --- converted once by a worker ------------------------------------------------------------------

@pytest.fixture(scope="session")
def inspect_bundled(tmp_path_factory, small_data, smollm2_gguf):
    """`tuitune data inspect --model bundled:…` in a fresh home: it converts the GGUF's tokenizer
    (in a worker) on the way. Returns (home, the run's report, its stderr, the heavy modules it
    had imported)."""
    home = tmp_path_factory.mktemp("light-tokenizer-home")
    code = ("import sys\nfrom tuitune.cli.data import main\n"
            f"code = main(['data', 'inspect', {str(small_data)!r}, '--model', 'bundled:smollm2-135m-instruct', '--json'])\n"
            "print('HEAVY', code, sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'transformers'}))")
    env = {**os.environ, "TUITUNE_HOME": str(home), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    *report, heavy = done.stdout.strip().splitlines()
    return home, json.loads("\n".join(report)), done.stderr, heavy


def _inspect_with(data: Path, tokenizer) -> dict:
    """What `tuitune data inspect DATA` reports when it counts with ``tokenizer``."""
    from tuitune.cli.data import add_parser, section
    from tuitune.cli.schema_args import resolve
    from tuitune.data.pipeline import inspect

    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers(dest="command"))
    args = resolve(parser.parse_args(["data", "inspect", str(data)]))
    return inspect(section(args), tokenizer, seed=args.seed, max_seq_len=args.max_seq_len, on_error=args.on_error)[0]


def test_inspect_with_the_bundled_model_counts_tokens_without_torch(inspect_bundled, small_data, tokenizer):
    _home, report, stderr, heavy = inspect_bundled
    assert heavy == "HEAVY 0 []"
    assert "converting the tokenizer of bundled:smollm2-135m-instruct once" in stderr
    tokens = report["stats"]["tokens"]
    assert tokens["count"] > 0
    # `tokenizer` is transformers' own reading of the same GGUF (tests/conftest.py).
    assert tokens == _inspect_with(small_data, tokenizer)["stats"]["tokens"]


def test_the_converted_gguf_tokenizer_is_reused_and_matches_transformers(inspect_bundled, tokenizer, monkeypatch):
    home, *_ = inspect_bundled
    monkeypatch.setenv("TUITUNE_HOME", str(home))
    notes: list[str] = []
    light = load_tokenizer("bundled:smollm2-135m-instruct", notify=notes.append)
    assert notes == []  # converted by the first inspect; read from the cache since
    (converted,) = (home / "cache" / "tokenizers").iterdir()  # one folder, complete: no temporary left
    assert (converted / "tuitune-tokenizer.json").is_file() and (converted / "tokenizer.json").is_file()
    same_as_transformers(light, tokenizer)


def test_inspect_with_a_model_folder_counts_tokens_without_torch(tiny_model_dir, small_data, tmp_path):
    from transformers import AutoTokenizer

    code = ("import sys\nfrom tuitune.cli.data import main\n"
            f"code = main(['data', 'inspect', {str(small_data)!r}, '--model', {str(tiny_model_dir)!r}])\n"
            "print('HEAVY', code, sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'transformers'}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "TUITUNE_HOME": str(tmp_path / "home")})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "HEAVY 0 []"
    assert "converting" not in done.stderr  # a tokenizer.json transformers reads as it is: read directly
    tokens = _inspect_with(small_data, AutoTokenizer.from_pretrained(tiny_model_dir))["stats"]["tokens"]
    assert f"tokens per row: p50 {tokens['p50']} · p90 {tokens['p90']} · p99 {tokens['p99']} · max {tokens['max']}" in done.stdout


def test_tokenizers_only_transformers_can_read_are_converted_once(tokenizer_dir, tmp_path):
    """A slow-only folder (vocab.json + merges.txt) and a folder whose tokenizer class
    transformers 5 rebuilds from its own definition (Qwen2Tokenizer splits text with another
    regex than the SmolLM2 tokenizer.json): both converted by the worker, both as transformers reads them."""
    from transformers import AutoTokenizer

    config = json.loads((tokenizer_dir / "tokenizer_config.json").read_text())
    backend = json.loads((tokenizer_dir / "tokenizer.json").read_text())["model"]
    slow = tmp_path / "slow"
    slow.mkdir()
    (slow / "vocab.json").write_text(json.dumps(backend["vocab"]))
    (slow / "merges.txt").write_text("#version: 0.2\n" + "".join(
        (m if isinstance(m, str) else " ".join(m)) + "\n" for m in backend["merges"]))
    (slow / "tokenizer_config.json").write_text(json.dumps(config | {"tokenizer_class": "GPT2Tokenizer"}))
    shutil.copy(tokenizer_dir / "chat_template.jinja", slow)
    rebuilt = tmp_path / "rebuilt"
    shutil.copytree(tokenizer_dir, rebuilt)
    (rebuilt / "tokenizer_config.json").write_text(json.dumps(config | {"tokenizer_class": "Qwen2Tokenizer"}))
    as_is = load_tokenizer(tokenizer_dir)
    for folder in (slow, rebuilt):
        notes: list[str] = []
        light = load_tokenizer(folder, notify=notes.append)
        assert len(notes) == 1 and f"converting the tokenizer of {folder} once" in notes[0]
        same_as_transformers(light, AutoTokenizer.from_pretrained(folder), conversations=CONVERSATIONS[:2])
        load_tokenizer(folder, notify=notes.append)
        assert len(notes) == 1  # the second time from the cache
    # Why the rebuilt class is converted rather than read from tokenizer.json: they split differently.
    text = "\n\n\n  y"
    assert load_tokenizer(rebuilt)(text)["input_ids"] != as_is(text)["input_ids"]


def test_inspect_takes_a_run_and_reads_the_tokenizer_it_trained_with(tiny_model_dir, small_data, capsys):
    """A full fine-tune saves its tokenizer in model/; read from there, no merge, no torch needed."""
    from tuitune.cli.data import main
    from tuitune.preset import parse_preset
    from tuitune.runs.store import create_run

    run = create_run(parse_preset(f'[model]\npath = "{tiny_model_dir}"\n[data]\npath = "bundled:pirate"\n'))
    shutil.copytree(tiny_model_dir, run.model)
    assert main(["data", "inspect", str(small_data), "--model", f"run:{run.id}", "--json"]) == 0
    expected = load_tokenizer(tiny_model_dir)
    tokens = json.loads(capsys.readouterr().out)["stats"]["tokens"]
    assert tokens == _inspect_with(small_data, expected)["stats"]["tokens"] and tokens["count"] > 0
    assert main(["data", "inspect", str(small_data), "--model", "run:nope"]) == 2
    assert "error: --model run:nope: cannot load its tokenizer (model.path 'run:nope': no run 'nope'" in capsys.readouterr().err
