"""Standard benchmarks through EleutherAI's lm-evaluation-harness (``tuitune eval TARGET --lm-eval
TASKS``; ``pip install 'tuitune[lm-eval]'``): its Python API on each side's model loaded as the
chat worker loads it, an adapter merged in memory, a GGUF file dequantized. Its tasks usually
come from the Hugging Face hub, so this is for people who are online; ``include`` names a
folder of one's own task definitions (what the tests use, offline).

The results are stored like ours: ``eval/<timestamp>.json`` with ``base`` and ``tuned`` as
``{"task/metric": value}``, and the harness's own output under ``lm_eval``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tuitune.chat.targets import Target
from tuitune.errors import TuituneError
from tuitune.paths import atomic_write_text


class LmEvalError(TuituneError):
    """lm-eval is missing, or refused the tasks; the message says what to do."""


def run_lm_eval(p: Any, tasks: str, tell: Callable[[dict[str, Any]], None], *, include: str | None = None,
                limit: int | None = None) -> Path:
    try:
        from lm_eval import simple_evaluate
        from lm_eval.models.huggingface import HFLM
        from lm_eval.tasks import TaskManager
    except ImportError:
        raise LmEvalError("--lm-eval needs EleutherAI's lm-evaluation-harness: pip install 'tuitune[lm-eval]'") from None
    names = [t.strip() for t in tasks.split(",") if t.strip()]
    manager = TaskManager(include_path=include) if include else TaskManager()
    unknown = [n for n in names if n not in manager.all_tasks]
    if unknown:
        raise LmEvalError(f"--lm-eval: unknown task(s) {', '.join(unknown)}; `lm_eval --tasks list` lists them"
                          + ("" if include else ", and --lm-eval-include DIR adds your own"))
    start = time.monotonic()
    summary: dict[str, Any] = {"version": 1, "target": p.target, "data": None, "rows": 0, "base": None, "tuned": None,
                               "general": None, "models": {}, "notes": [], "lm_eval": {"tasks": names, "limit": limit}}
    for n, (side, target) in enumerate(p.sides.items()):
        tell({"progress": n, "of": len(p.sides), "what": f"{side}: lm-eval {', '.join(names)}"})
        model, tokenizer, name = _load(target)
        summary["models"][side] = name
        out = simple_evaluate(model=HFLM(pretrained=model, tokenizer=tokenizer, device="cpu" if not _cuda() else "cuda",
                                         batch_size=1),
                              tasks=names, limit=limit, task_manager=manager, log_samples=False)
        results = (out or {}).get("results", {})
        summary[side] = {f"{task}/{metric.split(',')[0]}": value for task, metrics in results.items()
                         for metric, value in metrics.items()
                         if isinstance(value, (int, float)) and "stderr" not in metric and metric != "sample_len"}
        summary["lm_eval"][side] = json.loads(json.dumps(results, default=str))
        del model
    tell({"progress": len(p.sides), "of": len(p.sides), "what": "lm-eval done"})
    p.out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = p.out / f"{stamp}-lm-eval.json"
    summary |= {"created": stamp, "wall_s": round(time.monotonic() - start, 1), "per_row": None}
    atomic_write_text(path, json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    return path


def _load(target: Target) -> tuple[Any, Any, str]:
    import torch
    from transformers import AutoModelForCausalLM

    if target.gguf is not None:
        from tuitune.weights.loading import load_tokenizer, model_source

        source = model_source(str(target.gguf))
        model = AutoModelForCausalLM.from_pretrained(source.name_or_path, dtype=torch.float32, **source.kwargs)
        return model, load_tokenizer(source, False), target.gguf.name
    from tuitune.chat.serve import load

    assert target.worker is not None
    model, tokenizer, name = load(target.worker, target.base)
    if hasattr(model, "merge_and_unload"):  # the harness scores a plain model: the adapter merged in
        model = model.merge_and_unload()
    return model.eval(), tokenizer, name


def _cuda() -> bool:
    import torch

    return bool(torch.cuda.is_available())
