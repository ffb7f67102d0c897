"""Chat: one-shot and interactive on GGUF files and on a run's adapter, compare, preferences,
transcripts, the context window, and the template sandbox."""

import json

import pytest

from tests.helpers import run_dir_from, tuitune, write_preset
from tuitune.chat.backend import ChatError, GenerationParams
from tuitune.chat.llama_backend import LlamaCppBackend
from tuitune.chat.session import ChatSession
from tuitune.data.pipeline import check

pytestmark = pytest.mark.slow  # chats with the real SmolLM2 model


def test_one_shot_prints_only_the_reply(smollm2_gguf):
    result = tuitune("chat", str(smollm2_gguf), "--prompt", "What is the capital of France?",
                     "--temperature", "0", "--max-tokens", "24", "--seed", "1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() and result.stdout.endswith("\n")
    assert "loading" not in result.stdout and "loading" in result.stderr
    again = tuitune("chat", str(smollm2_gguf), "--prompt", "What is the capital of France?",
                    "--temperature", "0", "--max-tokens", "24", "--seed", "1")
    assert again.stdout == result.stdout  # greedy + seed: repeatable


def test_replies_stop_on_the_end_token(terse_export):
    run, _ = terse_export
    backend = LlamaCppBackend(run / "gguf" / "test-q8_0.gguf")
    try:
        pieces = list(backend.stream([{"role": "user", "content": "Anything?"}], GenerationParams(0.0, max_tokens=50)))
    finally:
        backend.close()
    assert "".join(pieces).strip() == "Aye."


def test_interactive_session_with_commands_and_transcripts(terse_export):
    run, _ = terse_export
    # A run with a verified export chats through its GGUF; transcripts are kept in the run.
    script = "/system Be brief.\nHello\n/save first\nAgain\n/reset\n/quit\n"
    result = tuitune("chat", str(run), "--temperature", "0", input=script)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("Aye.") == 2
    assert "saved" in result.stderr and "conversation cleared" in result.stderr
    transcript = json.loads((run / "chats" / "first.json").read_text())
    assert transcript["system"] == "Be brief."
    assert [m["role"] for m in transcript["messages"]] == ["user", "assistant"]
    assert tuitune("chat", str(run), "--list").stdout.split() == ["first"]
    reopened = tuitune("chat", str(run), "--open", "first", "--temperature", "0", input="More\n/save second\n/quit\n")
    assert reopened.returncode == 0
    assert len(json.loads((run / "chats" / "second.json").read_text())["messages"]) == 4


@pytest.fixture(scope="module")
def lora_run(tmp_path_factory, tiny_model_dir, small_data):
    folder = tmp_path_factory.mktemp("chat-lora")
    preset = write_preset(folder / "p.toml", tiny_model_dir, small_data, train={"max_steps": 4})
    result = tuitune("run", str(preset), env_home=folder / "home")
    assert result.returncode == 0, result.stdout + result.stderr
    return run_dir_from(result.stdout)


def test_adapter_chat_runs_in_a_worker(lora_run):
    result = tuitune("chat", str(lora_run), "--prompt", "Hello", "--max-tokens", "5", "--temperature", "0")
    assert result.returncode == 0, result.stderr
    assert len(result.stdout) > 1  # a random tiny model: some tokens (maybe whitespace), then "\n"


def test_compare_and_preference_capture(lora_run):
    script = "Hello\n/prefer B\n/quit\n"
    result = tuitune("chat", str(lora_run), "--compare", "--max-tokens", "6", "--temperature", "0", input=script)
    assert result.returncode == 0, result.stderr
    assert "[A]" in result.stdout and "[B]" in result.stdout
    path = lora_run / "preferences.jsonl"
    row = json.loads(path.read_text().splitlines()[0])
    edited = tuitune("chat", str(lora_run), "--compare", "--max-tokens", "6", "--temperature", "0",
                     input="Hello\n/prefer A Ahoy, matey!\n/quit\n")
    assert edited.returncode == 0, edited.stderr
    assert json.loads(path.read_text().splitlines()[1])["chosen"][0]["content"] == "Ahoy, matey!"
    assert row["prompt"] == [{"role": "user", "content": "Hello"}]
    assert row["chosen"][0]["role"] == row["rejected"][0]["role"] == "assistant"
    # The importer reads it as preference pairs, ready for DPO.
    imported = check(type("Data", (), {"path": str(path), "format": "auto"})(), stage="dpo")
    assert imported.format == "preference" and len(imported.examples) == 2


def test_template_escaping_the_sandbox_is_refused(smollm2_gguf):
    evil = "{{ ''.__class__.__mro__[1].__subclasses__() }}{% for m in messages %}{{ m['content'] }}{% endfor %}"
    with pytest.raises(ChatError, match="refused: the chat template tries to escape its sandbox"):
        LlamaCppBackend(smollm2_gguf, chat_template=evil)


def test_a_model_folder_whose_template_escapes_the_sandbox_is_refused_by_name(tiny_model_dir, tmp_path):
    """Through the chat worker (transformers renders the template there), the same refusal as
    on the GGUF path and in training, not "the chat worker stopped unexpectedly"."""
    import shutil

    folder = tmp_path / "evil-model"
    shutil.copytree(tiny_model_dir, folder)
    (folder / "chat_template.jinja").write_text("{{ ''.__class__.__mro__[1].__subclasses__() }}")
    config = json.loads((folder / "tokenizer_config.json").read_text())
    config.pop("chat_template", None)
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    result = tuitune("chat", str(folder), "--prompt", "hi", "--max-tokens", "2")
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert "refused: the model's chat template tries to reach outside its sandbox" in result.stderr


def test_oldest_turns_are_trimmed_with_a_notice(smollm2_gguf):
    backend = LlamaCppBackend(smollm2_gguf, n_ctx=256)
    try:
        session = ChatSession(backend, params=GenerationParams(0.0, max_tokens=4))
        for i in range(12):
            list(session.ask(f"Tell me fact number {i} about the sea, in a long and detailed sentence please."))
        assert backend.count_tokens(session.messages()) <= 256
        assert any("oldest" in n for n in session.notices)
        assert session.history[-1]["role"] == "assistant"
    finally:
        backend.close()


def test_bad_targets_are_clear(tmp_path):
    result = tuitune("chat", str(tmp_path / "missing.gguf"), "--prompt", "hi")
    assert result.returncode == 2 and "no such GGUF file" in result.stderr
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"\0" * 64)
    result = tuitune("chat", str(broken), "--prompt", "hi")
    # Refused by the header check before llama.cpp is asked to load it.
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"{broken}: not a usable GGUF file: unsupported GGUF version 0" in result.stderr


def test_interactive_on_the_real_smollm2_gguf(smollm2_gguf):
    script = "/system You answer in one short sentence.\nWhat is the sea?\n/retry\n/prefer B\n/quit\n"
    result = tuitune("chat", str(smollm2_gguf), "--max-tokens", "16", "--temperature", "0.7", "--seed", "3", input=script)
    assert result.returncode == 0, result.stderr
    assert "[B (new)]" in result.stdout
    assert "system prompt set" in result.stderr and "preference saved" in result.stderr
