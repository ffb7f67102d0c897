"""Shared by the tests of this folder (a test module must not import another)."""

from __future__ import annotations

from tests.helpers import CONFIGS
from tuitune.hardware.model_shape import load_shape

TINY = dict(vocab_size=256, hidden_size=128, intermediate_size=352, num_attention_heads=4, num_key_value_heads=2)


def _shape(name):
    return load_shape(str(CONFIGS / name))
