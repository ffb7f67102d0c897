"""Fixtures of the training tests: the preference pairs DPO, KTO, ORPO and SimPO train on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.train.support import TOPICS


@pytest.fixture(scope="module")
def pairs(tmp_path_factory) -> Path:
    """32 pairs whose chosen and rejected answers differ the same way every time (a pirate
    answer against a refusal), in three of the shapes the importer takes."""
    rows = []
    for i, topic in enumerate(TOPICS):
        chosen, rejected = f"Arr, {topic} be a fine thing, matey! Yo-ho-ho!", f"I cannot say anything about {topic}."
        if i % 3 == 0:  # plain strings
            rows.append({"prompt": f"Tell me about {topic}.", "chosen": chosen, "rejected": rejected})
        elif i % 3 == 1:  # conversations, as the chat's preference capture writes them
            rows.append({"prompt": [{"role": "user", "content": f"Tell me about {topic}."}],
                         "chosen": [{"role": "assistant", "content": chosen}],
                         "rejected": [{"role": "assistant", "content": rejected}]})
        else:  # TRL's implicit prompt: two whole conversations
            user = {"role": "user", "content": f"Tell me about {topic}."}
            rows.append({"chosen": [user, {"role": "assistant", "content": chosen}],
                         "rejected": [user, {"role": "assistant", "content": rejected}]})
    rows.append({"prompt": "Tell me about nothing.", "chosen": "Same.", "rejected": "Same."})  # degenerate
    path = tmp_path_factory.mktemp("pairs") / "pairs.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path
