"""Fixtures of the training tests (the tiny model itself is shared: tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_model_no_template(tmp_path_factory, tiny_model_dir) -> Path:
    """The tiny model with its tokenizer's chat template removed."""
    import json
    import shutil

    out = tmp_path_factory.mktemp("tiny-llama-no-template")
    for item in tiny_model_dir.iterdir():
        if item.name != "chat_template.jinja":
            shutil.copy(item, out / item.name)
    config_file = out / "tokenizer_config.json"
    config = json.loads(config_file.read_text())
    config.pop("chat_template", None)
    config_file.write_text(json.dumps(config))
    return out
