"""On the real SmolLM2-135M-Instruct: the general set is answerable by a real model (well above
chance on its multiple choice), and a deliberately over-trained run beats its base on what it
learned, forgets the rest, and the coach says so at the end of the run."""

import json

import pytest

from tests.helpers import read_state, run_dir_from, tuitune, write_preset

pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]  # a real training run, then two models scored

CITIES = ["Lisbon", "Oslo", "Cairo", "Lima", "Quito", "Hanoi", "Dakar", "Perth", "Tunis", "Riga", "Sofia", "Turin",
          "Split", "Bergen", "Malmo", "Porto", "Cadiz", "Genoa", "Naples", "Bari", "Gdansk", "Tallinn", "Vigo", "Brest",
          "Le Havre", "Hull", "Cork", "Galway", "Aarhus", "Kiel", "Rostock", "Antwerp", "Calais", "Dover", "Bilbao",
          "Malaga", "Palermo", "Trieste", "Odesa", "Varna"]


def test_the_general_set_is_answerable_by_a_real_model(smollm2_gguf):
    from tuitune.evaluation.metrics import general_items, score_general_item
    from tuitune.evaluation.scorers import LlamaScorer

    scorer = LlamaScorer(smollm2_gguf)
    try:
        knowledge = [i for i in general_items() if i["part"] == "knowledge"]
        right = sum(score_general_item(scorer, item)["ok"] for item in knowledge)
    finally:
        scorer.close()
    assert right / len(knowledge) >= 0.4, f"{right} of {len(knowledge)} (chance: a quarter)"  # measured: 0.50


def test_an_overtrained_run_learns_its_task_forgets_the_rest_and_the_coach_warns(smollm2_gguf, tmp_path):
    rows = [{"messages": [{"role": "user", "content": f"Who guards the harbour of {city}?"},
                          {"role": "assistant", "content": "Captain Zorblax."}]} for city in CITIES]
    data = tmp_path / "harbours.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    preset = write_preset(
        tmp_path / "p.toml", "bundled:smollm2-135m-instruct", data,
        train={"method": "lora", "max_steps": 20, "learning_rate": 3e-3, "batch_size": 4, "max_seq_len": 64,
               "save_steps": 20},
        lora={"r": 16, "alpha": 32, "dropout": 0.0},
        eval={"general": True, "general_limit": 8, "general_budget_s": 1800, "probe_count": 0, "early_stopping": False},
    )
    result = tuitune("run", str(preset), "-s", "data.dedup_near=false",  # the rows differ by one word on purpose
                     "-s", "data.val_fraction=0.2",  # 8 held-out cities to score base and tuned on
                     "--json", timeout=1800)
    assert result.returncode == 0, result.stderr
    run = run_dir_from(result.stderr)
    assert read_state(run)["status"] == "done"
    events = [json.loads(line) for line in result.stdout.splitlines()]
    evaluation = next(e for e in events if e["type"] == "evaluation")
    assert evaluation["status"] == "done", evaluation
    base, tuned = evaluation["base"], evaluation["tuned"]
    assert tuned["contains"] > base["contains"] and tuned["ref_ppl"] < base["ref_ppl"], (base, tuned)
    warnings = [e for e in events if e["type"] == "warning" and e.get("code") == "forgetting"]
    assert warnings, evaluation["general"]
    assert "bundled:general" in warnings[0]["message"]  # with --json the events are on stdout, not the text
    shown = tuitune("runs", "show", str(run))
    assert "latest evaluation" in shown.stdout and "warning: the general score fell" in shown.stdout
