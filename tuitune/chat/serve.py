"""A chat worker for models that need torch: ``python -m tuitune.chat.serve TARGET [--base]``.

TARGET is a run directory (its adapter/ on its base, or its full model/) or a Hugging Face
model folder; ``--base`` serves a run's base model without the adapter. It speaks JSON Lines:
one request per line on stdin, answers on stdout:

    → {"op": "generate", "messages": [...], "params": {...}}   ← {"text": "..."}… {"done": true}
    → {"op": "count", "messages": [...]}                        ← {"tokens": N}
    first line out: {"ready": true, "name": ..., "n_ctx": N}, or {"error": "..."}
    a request it cannot carry out (a chat template the sandbox refuses) ← {"error": "..."}
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from pathlib import Path
from typing import Any

from tuitune.errors import explain


def load(target: Path, base_only: bool) -> tuple[Any, Any, str]:
    import torch
    from transformers import AutoModelForCausalLM

    from tuitune.runs.store import RunDir
    from tuitune.weights.loading import load_tokenizer, model_source

    if (target / "state.json").exists():
        run = RunDir(target)
        preset = run.preset()
        trust = preset.model.trust_remote_code
        source = model_source(preset.model.path)
        if not base_only and (run.model / "config.json").exists():
            model = AutoModelForCausalLM.from_pretrained(run.model, dtype=torch.float32, trust_remote_code=trust)
            return model, load_tokenizer(model_source(str(run.model)), trust), f"{run.id} (full fine-tune)"
        model = AutoModelForCausalLM.from_pretrained(source.name_or_path, dtype=torch.float32,
                                                     trust_remote_code=trust, **source.kwargs)
        if base_only or not (run.adapter / "adapter_config.json").exists():
            return model, load_tokenizer(source, trust), f"{preset.model.path} (base)"
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, run.adapter)
        return model, load_tokenizer(model_source(str(run.adapter)), trust), f"{run.id} (adapter)"
    source = model_source(str(target))
    model = AutoModelForCausalLM.from_pretrained(source.name_or_path, dtype=torch.float32, **source.kwargs)
    return model, load_tokenizer(source, False), target.name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tuitune.chat.serve")
    parser.add_argument("target")
    parser.add_argument("--base", action="store_true")
    args = parser.parse_args(argv)
    out = sys.stdout
    sys.stdout = sys.stderr  # library chatter must not corrupt the protocol
    try:
        model, tokenizer, name = load(Path(args.target), args.base)
    except Exception as e:  # noqa: BLE001 - the client shows it as a ChatError
        _send(out, {"error": f"cannot load {args.target}: {explain(e)}"})
        return 1
    model.eval()
    from tuitune.weights.merge import end_token_ids

    end_ids = end_token_ids(tokenizer)
    n_ctx = int(getattr(model.config, "max_position_embeddings", 2048) or 2048)
    _send(out, {"ready": True, "name": name, "n_ctx": n_ctx})
    for line in sys.stdin:
        request = json.loads(line)
        try:
            ids = tokenizer.apply_chat_template(request["messages"], add_generation_prompt=request["op"] == "generate",
                                                return_tensors="pt", return_dict=True)
        except Exception as e:  # noqa: BLE001 - a refused template is an answer, not the worker's end
            _send(out, {"error": explain(e)})
            continue
        if request["op"] == "count":
            _send(out, {"tokens": int(ids["input_ids"].shape[1])})
            continue
        for text in _generate(model, tokenizer, ids, request.get("params", {}), end_ids):
            _send(out, {"text": text})
        _send(out, {"done": True})
    return 0


def _generate(model: Any, tokenizer: Any, inputs: Any, params: dict, end_ids: list[int]):
    import torch
    from transformers import TextIteratorStreamer

    if params.get("seed") is not None:
        torch.manual_seed(params["seed"])
    temperature = float(params.get("temperature", 0.7))
    streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)
    kwargs = dict(
        **inputs, streamer=streamer, max_new_tokens=int(params.get("max_tokens", 512)),
        eos_token_id=end_ids, pad_token_id=tokenizer.pad_token_id,
        do_sample=temperature > 0,
        **({"temperature": temperature, "top_p": float(params.get("top_p", 0.95))} if temperature > 0 else {}),
    )
    thread = threading.Thread(target=lambda: torch.no_grad()(model.generate)(**kwargs), daemon=True)
    thread.start()
    for text in streamer:
        if text:
            yield text
    thread.join()


def _send(out: Any, message: dict) -> None:
    out.write(json.dumps(message) + "\n")
    out.flush()


if __name__ == "__main__":
    raise SystemExit(main())
