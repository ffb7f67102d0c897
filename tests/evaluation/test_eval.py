"""`tuitune eval` for real on the tiny model: a run (its verified GGUF in llama.cpp against its
base folder in torch), a GGUF file, a model folder; the results in the run's eval/; `runs show`;
and bad eval files refused with the importer's messages before any model loads."""

import json

import pytest

from tests.helpers import BAD_DATA, tuitune


@pytest.fixture(scope="module")
def terse_eval(terse_export, tmp_path_factory):
    """The terse run (it learned to answer "Aye.") evaluated on questions it never saw. (Its
    file is knowledge-like, every question sharing one answer, so no row was held out of it.)"""
    run, _ = terse_export
    held_out = tmp_path_factory.mktemp("terse-eval") / "held-out.jsonl"
    held_out.write_text("".join(json.dumps({"messages": [
        {"role": "user", "content": f"Question number {i}: what do you say?"},
        {"role": "assistant", "content": "Aye."}]}) + "\n" for i in range(40, 44)))
    result = tuitune("eval", str(run), "--data", str(held_out), "--json", "--general-limit", "2",
                     env_home=run.parent.parent)
    assert result.returncode == 0, result.stderr
    return run, json.loads(result.stdout)


def test_the_tuned_run_beats_its_base_on_what_it_learned(terse_eval):
    run, out = terse_eval
    assert set(out) == {"rows", "base", "tuned", "general", "per_row"}
    assert out["rows"] >= 2
    assert out["tuned"]["contains"] == 1.0 > out["base"]["contains"]
    assert out["tuned"]["ref_ppl"] < out["base"]["ref_ppl"] / 10
    assert out["general"]["items"] == 8 and {"score", "knowledge", "text_ppl"} <= set(out["general"]["tuned"])
    rows = [json.loads(line) for line in open(out["per_row"], encoding="utf-8")]
    assert len(rows) == out["rows"] and rows[0]["reference"] == "Aye."
    assert rows[0]["tuned"]["answer"].startswith("Aye") and "answer" in rows[0]["base"]
    summary = json.loads(next((run / "eval").glob("*[0-9].json")).read_text())
    assert summary["models"]["tuned"].endswith(".gguf") and summary["per_row"] == out["per_row"]


def test_runs_show_prints_the_latest_evaluation(terse_eval):
    run, out = terse_eval
    shown = tuitune("runs", "show", str(run), env_home=run.parent.parent)
    assert shown.returncode == 0, shown.stderr
    assert "latest evaluation" in shown.stdout and "contains" in shown.stdout and "general score" in shown.stdout
    as_json = json.loads(tuitune("runs", "show", str(run), "--json", env_home=run.parent.parent).stdout)
    assert as_json["evaluation"]["tuned"] == out["tuned"]


def test_no_base_scores_only_the_tuned_side(terse_eval, tmp_path):
    run, out = terse_eval
    rows = tmp_path / "rows.jsonl"
    rows.write_text(json.dumps({"prompt": "Question number 50: what do you say?", "completion": "Aye."}) + "\n")
    result = tuitune("eval", str(run), "--data", str(rows), "--no-base", "--no-general", "--json",
                     env_home=run.parent.parent)
    assert result.returncode == 0, result.stderr
    only = json.loads(result.stdout)
    assert only["base"] is None and only["tuned"]["contains"] == 1.0
    [row] = [json.loads(line) for line in open(only["per_row"], encoding="utf-8")]
    assert "base" not in row and row["tuned"]["answer"].startswith("Aye")
    both = tuitune("eval", str(run), "--base", "--no-base", env_home=run.parent.parent)
    assert both.returncode == 2 and "not allowed with argument" in both.stderr and "Traceback" not in both.stderr


def test_a_gguf_file_and_a_model_folder_are_targets_too(terse_export, tiny_model_dir, tmp_path):
    run, _ = terse_export
    def rows(name, *items):
        (tmp_path / name).write_text("".join(json.dumps(r) + "\n" for r in items))
        return str(tmp_path / name)

    answers = rows("answers.jsonl", {"prompt": "Question number 7: what do you say?", "completion": "Aye."})
    choices = rows("choices.jsonl", {"question": "Question number 8: what do you say?", "choices": ["Nay.", "Aye."],
                                     "answer": 1})
    text = rows("text.jsonl", {"text": "Aye. Aye. Aye."})
    gguf = str(next((run / "gguf").glob("*q8_0*.gguf")))
    outs = []
    for data in (answers, choices, text):
        result = tuitune("eval", gguf, "--data", data, "--json", "--no-general")
        assert result.returncode == 0, result.stderr
        outs.append(json.loads(result.stdout))
    assert all(o["base"] is None and o["general"] is None and o["rows"] == 1 for o in outs)
    assert outs[0]["tuned"]["contains"] == 1.0 and outs[1]["tuned"]["choice_acc"] == 1.0 and outs[2]["tuned"]["text_ppl"] > 0
    folder = tuitune("eval", str(tiny_model_dir), "--data", choices, "--base", "--no-general", "--json")
    assert folder.returncode == 0, folder.stderr
    out = json.loads(folder.stdout)
    assert out["tuned"] is None and set(out["base"]) == {"choice_acc"}


@pytest.mark.parametrize("name, says", [
    ("missing_comma.json", "missing_comma.json"),
    ("latin1.jsonl", "latin1.jsonl:"),
    ("unknown_keys.jsonl", "cannot tell the format"),
    ("image_parts.jsonl", "only text is supported"),
])
def test_a_bad_eval_file_gets_the_importers_message(terse_export, name, says):
    run, _ = terse_export
    before = (BAD_DATA / name).read_bytes()
    result = tuitune("eval", str(run), "--data", str(BAD_DATA / name), env_home=run.parent.parent)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert says in result.stderr and result.stderr.startswith("error: ")
    assert (BAD_DATA / name).read_bytes() == before


def test_a_target_that_is_nothing_says_what_it_may_be(tmp_path):
    result = tuitune("eval", str(tmp_path / "nothing"))
    assert result.returncode == 2 and "TARGET may also be a .gguf file or a model folder" in result.stderr


def test_lm_eval_runs_a_local_task_offline_and_stores_it_like_ours(terse_export, tmp_path):
    pytest.importorskip("lm_eval", reason="the lm-eval extra: pip install 'tuitune[lm-eval]'")
    run, _ = terse_export
    docs = tmp_path / "aye.jsonl"
    docs.write_text("".join(json.dumps({"question": f"Question number {i}: what do you say?", "choices": ["Aye.", "Nay."],
                                        "answer": 0}) + "\n" for i in range(4)))
    tasks = tmp_path / "tasks"
    tasks.mkdir()
    (tasks / "aye.yaml").write_text(
        "task: tuitune_aye\ndataset_path: json\n"
        f"dataset_kwargs:\n  data_files:\n    test: {docs}\n"
        "test_split: test\noutput_type: multiple_choice\n"
        'doc_to_text: "{{question}}\\n"\ndoc_to_choice: "{{choices}}"\ndoc_to_target: "{{answer}}"\n'
        "metric_list:\n  - metric: acc\n")
    result = tuitune("eval", str(run), "--lm-eval", "tuitune_aye", "--lm-eval-include", str(tasks), "--json",
                     env_home=run.parent.parent)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert 0 <= out["base"]["tuitune_aye/acc"] <= 1 and 0 <= out["tuned"]["tuitune_aye/acc"] <= 1
    assert out["lm_eval"]["tasks"] == ["tuitune_aye"]
    shown = tuitune("runs", "show", str(run), env_home=run.parent.parent)
    assert "tuitune_aye/acc" in shown.stdout
    unknown = tuitune("eval", str(run), "--lm-eval", "no_such_task", "--lm-eval-include", str(tasks),
                      env_home=run.parent.parent)
    assert unknown.returncode == 2 and "unknown task(s) no_such_task" in unknown.stderr
