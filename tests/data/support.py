"""Shared by the tests of this folder (a test module must not import another)."""

from __future__ import annotations

from tuitune.data.schema import Example


def sft(q, a, where=None, system=None):
    msgs = ([{"role": "system", "content": system}] if system is not None else []) + [
        {"role": "user", "content": q}, {"role": "assistant", "content": a}]
    return Example(where or f"f.jsonl:{q}", "sft", {"messages": msgs})
