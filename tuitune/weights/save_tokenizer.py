"""``python -m tuitune.weights.save_tokenizer SOURCE OUT``: write a model's tokenizer as a plain
folder (tokenizer.json, tokenizer_config.json, its chat template) that the torch-free loader
(:mod:`tuitune.models.tokenizer`) reads without transformers.

SOURCE is a .gguf file (its tokenizer lives in the metadata) or a folder with only a slow
tokenizer (sentencepiece, vocab + merges). Heavy: transformers, in a process of its own, so the
process that asked stays light. The tokenizer is saved as it ships — the loader adds the default
chat template and pad token itself, in one place. OUT appears whole or not at all: the folder is
written under a temporary name, marked complete, then renamed. Exit 2 with one ``error:`` line
when SOURCE has no usable tokenizer.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

from tuitune.models.tokenizer import CONVERTED_MARKER


def save(source: str, out: Path) -> None:
    from tuitune.weights.loading import model_source, read_tokenizer

    tokenizer = read_tokenizer(model_source(source), trust_remote_code=False)
    tmp = out.with_name(f"{out.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tokenizer.save_pretrained(tmp)
    if not (tmp / "tokenizer.json").is_file():
        raise ValueError("transformers wrote no tokenizer.json (a tokenizer without a fast version)")
    (tmp / CONVERTED_MARKER).write_text(json.dumps({"source": source}) + "\n", encoding="utf-8")
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(tmp, out)
    except OSError:  # another process finished the same conversion first (or left a stale folder)
        if (out / CONVERTED_MARKER).is_file():
            shutil.rmtree(tmp, ignore_errors=True)
            return
        shutil.rmtree(out, ignore_errors=True)
        os.replace(tmp, out)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m tuitune.weights.save_tokenizer SOURCE OUT", file=sys.stderr)
        return 2
    from tuitune.weights.loading import ModelLoadError

    try:
        save(args[0], Path(args[1]))
    except (ModelLoadError, OSError, ValueError, KeyError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
