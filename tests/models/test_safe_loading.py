"""Safe loading: chat templates render sandboxed on the training path, pickled weights are
refused unless allowed (with a warning), trust_remote_code is off unless set and is warned about
(and the TUI's warning: tests/tui/test_new_run.py)."""

import json

import pytest

from tuitune.models.files import ModelFileError, check_model_files, safety_warnings
from tuitune.preset import parse_preset

ESCAPE = "{{ ''.__class__.__mro__[1].__subclasses__() }}"


def preset(model_path, **model_keys):
    extra = "".join(f"{k} = {json.dumps(v)}\n" for k, v in model_keys.items())
    return parse_preset(f'[model]\npath = "{model_path}"\n{extra}[data]\npath = "bundled:pirate"\n')


def test_training_renders_chat_templates_in_a_sandbox(tokenizer_dir):
    from jinja2.exceptions import SecurityError
    from transformers import AutoTokenizer

    from tuitune.data.tokenize import encode
    from tuitune.train.worker import explain

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
    tokenizer.chat_template = ESCAPE
    with pytest.raises(SecurityError) as caught:
        encode(tokenizer, [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "ahoy"}])
    message = explain(caught.value)
    assert message.startswith("refused: the model's chat template tries to reach outside its sandbox")


def test_pickled_weights_are_refused_unless_allowed_and_then_warned_about(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "tokenizer.json").write_text("{}")
    (folder / "pytorch_model.bin").write_bytes(b"pickle")
    with pytest.raises(ModelFileError, match=r"the weights are pickled \(pytorch_model.bin\).*model.allow_pickle = true"):
        check_model_files(str(folder))
    check_model_files(str(folder), allow_pickle=True)
    (warning,) = safety_warnings(preset(folder, allow_pickle=True))
    assert "model.allow_pickle is on" in warning and "arbitrary code" in warning
    # With safetensors beside them, the pickles are simply not used: nothing to refuse or warn about.
    (folder / "model.safetensors").write_bytes(b"")
    check_model_files(str(folder))
    assert safety_warnings(preset(folder, allow_pickle=True)) == []


def test_trust_remote_code_is_off_by_default_and_warned_about_when_on(tmp_path):
    assert preset("org/model").model.trust_remote_code is False
    assert safety_warnings(preset("org/model")) == []
    (warning,) = safety_warnings(preset("org/model", trust_remote_code=True))
    assert warning.startswith("model.trust_remote_code is on")


def test_the_worker_never_unpickles_a_local_folder(tmp_path):
    from tuitune.weights.loading import ModelLoadError, _has_safetensors

    (tmp_path / "pytorch_model.bin").write_bytes(b"pickle")
    with pytest.raises(ModelLoadError, match="does not load pickled weights"):
        _has_safetensors(str(tmp_path))
    assert _has_safetensors(str(tmp_path), allow_pickle=True) is False
    assert _has_safetensors("org/hub-model") is True  # hub ids: safetensors only, unless allowed
    assert _has_safetensors("org/hub-model", allow_pickle=True) is None

