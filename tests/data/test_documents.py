"""Documents for continued pretraining: every format read (a real PDF among them), what cannot be
read reported with its reason, cleaning at the document level, whole documents held out, and
token windows across documents with the end-of-text token between them."""

import json

import pytest

from tests.documents import corpus, fact, scanned_pdf
from tests.helpers import tuitune
from tuitune.data.corpus import encode_documents, inspect_documents, separator, split_documents, windows
from tuitune.data.documents import is_document_source, read_documents
from tuitune.data.schema import DataError, Example


def section(path, **keys):
    from tuitune.preset.schema import DataSection

    return DataSection(path=str(path), **keys)


def test_every_format_is_read_and_a_scanned_pdf_is_reported_not_read(tmp_path):
    folder = corpus(tmp_path / "docs")
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"text": ["A parquet document about Wendrith.", "Another one."]}), folder / "t.parquet")
    (folder / "notes.csv").write_text("a,b\n1,2\n")
    (folder / ".hidden.txt").write_text("never read")
    documents, unreadable, files = read_documents(folder)
    by_file = {}
    for d in documents:
        by_file.setdefault(d.where.split("/")[-1].split(":")[0].split("[")[0], []).append(d.text)
    assert files == 13  # the hidden file is not looked at
    assert by_file["founding.pdf"][0].startswith("The town of Vellmor lies on the banks of the river Orl0.")
    assert "weaver Ama0" in by_file["founding.pdf"][0]
    assert by_file["place-2.md"] == [f"# Dunhallow\n\n{fact(2)}\n"]
    assert by_file["place-3.txt"] == [fact(3) + "\n"]
    assert len(by_file["more.jsonl"]) == 3 and by_file["more.jsonl"][0] == fact(1)
    assert by_file["t.parquet"] == ["A parquet document about Wendrith.", "Another one."]
    reasons = {u.path.split("/")[-1]: u.reason for u in unreadable}
    assert set(reasons) == {"scan.pdf", "notes.csv"}
    assert "no text layer in its 2 page(s) (a scanned PDF?)" in reasons["scan.pdf"] and "OCR" in reasons["scan.pdf"]
    assert "not a document type" in reasons["notes.csv"]
    assert is_document_source(folder) and is_document_source(folder / "founding.pdf")
    assert not is_document_source(folder / "more.jsonl")


@pytest.mark.parametrize("make, message", [
    (lambda d: d.mkdir(), "the folder holds no files"),
    (lambda d: (d.mkdir(), scanned_pdf(d / "scan.pdf")), "no readable documents; "),
    (lambda d: (d.mkdir(), (d / "rows.jsonl").write_text('{"prompt": "p", "completion": "c"}\n')),
     "no `text` column (its columns are completion, prompt)"),
])
def test_bad_document_sources_are_one_clear_error(tmp_path, make, message):
    folder = tmp_path / "docs"
    make(folder)
    with pytest.raises(DataError, match="^" + str(folder)) as e:
        read_documents(folder)
    assert message in str(e.value)


def test_a_single_jsonl_without_text_names_the_file_and_the_fix(tmp_path):
    rows = tmp_path / "pairs.jsonl"
    rows.write_text(json.dumps({"prompt": "p", "chosen": "a", "rejected": "b"}) + "\n")
    with pytest.raises(DataError) as e:
        read_documents(rows)
    assert str(e.value).startswith(f"{tmp_path}/pairs.jsonl: no readable documents; {rows}: no `text` column")
    assert "rename the column" in str(e.value)


def test_windows_cross_documents_with_the_separator_between_and_are_full_but_the_last():
    docs = [[1, 2, 3, 4, 5], [6, 7], [8, 9, 10, 11, 12, 13, 14]]
    assert windows(docs, 0, 4) == [[1, 2, 3, 4], [5, 0, 6, 7], [0, 8, 9, 10], [11, 12, 13, 14]]
    assert windows([[1, 2, 3, 4, 5]], 0, 4) == [[1, 2, 3, 4], [5, 0]]  # the last may be short
    assert windows([[1, 2, 3]], 0, 2) == [[1, 2], [3, 0]]
    assert windows([[1, 2, 3, 4]], 0, 2) == [[1, 2], [3, 4]]  # a lone separator left over: dropped


def test_real_tokens_use_the_end_of_text_token_not_the_chat_end_of_turn(tokenizer):
    sep, text = separator(tokenizer)
    assert text == "<|endoftext|>" and tokenizer.eos_token == "<|im_end|>"  # an instruct model's eos ends turns
    texts = [fact(i) for i in range(6)]
    out = encode_documents(tokenizer, texts, 32)
    assert all(len(w) == 32 for w in out[:-1]) and len(out[-1]) <= 32
    stream = [t for w in out for t in w]
    assert stream.count(sep) == 6
    assert tokenizer.decode(stream).split("<|endoftext|>")[:2] == texts[:2]


def test_whole_documents_are_held_out_and_cleaning_works_per_document(tmp_path, tokenizer):
    folder = tmp_path / "docs"
    folder.mkdir()
    for i in range(14):
        (folder / f"d{i:02}.txt").write_text(f"  {fact(i)}  \n\n\n\nMore about it.\r\n")
    (folder / "z-copy.txt").write_text(f"{fact(3)}\n  More   about it.")  # an exact duplicate (spacing aside)
    (folder / "z-near.txt").write_text(f"{fact(4)}\n\nMore about it. Indeed.")  # a near duplicate
    (folder / "empty.md").write_text("   \n")
    report, rejected, train, val = inspect_documents(section(folder, val_fraction=0.2), tokenizer, max_seq_len=48)
    assert report["steps"]["exact_duplicate"] == 1 and report["steps"]["near_duplicate"] == 1
    assert report["steps"]["empty"] == 1
    assert {r.where.rsplit("/")[-1]: r.step for r in rejected} == {
        "z-copy.txt": "exact_duplicate", "z-near.txt": "near_duplicate", "empty.md": "empty"}  # the first copy stays
    assert len(train) + len(val) == 14 and len(val) == 3  # 20 % of 14, whole documents
    assert not {e.where for e in train} & {e.where for e in val}
    assert all(e.data["text"].endswith("\n\nMore about it.") and not e.data["text"].startswith(" ") for e in train)
    w = report["windows"]
    assert report["split"]["unit"] == "windows" and report["split"]["train"] == w["train"]
    assert w["train_tokens"] == sum(len(x) for x in encode_documents(tokenizer, [e.data["text"] for e in train], 48))
    assert report["stats"]["tokens"]["max"] == 48 and report["documents"]["total_tokens"] > w["train_tokens"] - 20
    # The same seed holds out the same documents; few documents hold none out.
    assert [e.where for e in split_documents(train + val, 0.2, 1)[1]] == \
        [e.where for e in split_documents(train + val, 0.2, 1)[1]]
    few = [Example(str(i), "text", {"text": str(i)}) for i in range(3)]
    assert split_documents(few, 0.5, 0)[1] == []


def test_data_inspect_shows_documents_tokens_windows_and_the_unreadable(tmp_path, tokenizer_dir):
    folder = corpus(tmp_path / "docs")
    result = tuitune("data", "inspect", str(folder), "--model", str(tokenizer_dir), "--max-seq-len", "64")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "documents: 12 read, 1 unreadable" in out
    assert "scan.pdf: no text layer in its 2 page(s) (a scanned PDF?)" in out
    assert "training /" in out and "validation documents (whole documents held out" in out
    assert "windows of 64 tokens, documents joined by <|endoftext|>" in out
    as_json = json.loads(tuitune("data", "inspect", str(folder), "--json").stdout)
    assert as_json["format"] == "documents" and as_json["unreadable"][0]["path"].endswith("scan.pdf")
    empty = tmp_path / "empty"
    empty.mkdir()
    bad = tuitune("data", "inspect", str(empty))
    assert bad.returncode == 2 and "the folder holds no files" in bad.stderr and "Traceback" not in bad.stderr


def test_cpt_guidance_higher_rank_its_own_rate_and_epochs_from_tokens():
    from tuitune.preset.guidance import DataFacts, resolve
    from tuitune.preset.schema import Preset

    preset = Preset.model_validate({"model": {"path": "m"}, "data": {"path": "d"},
                                    "train": {"stage": "cpt", "max_seq_len": 1024}})
    facts = DataFacts(train_rows=400, val_rows=20, tokens=400 * 1024, mean_tokens=1024.0, p99_tokens=1024)
    g = resolve(preset, facts, params=7_000_000_000, device="cuda", method="lora")
    assert g.value("train.learning_rate") == 1e-4 and "LLaMA-Factory" in g.choices["train.learning_rate"].reason
    assert g.value("lora.r") == 64 and "new knowledge" in g.choices["lora.r"].reason
    assert g.value("train.epochs") == 3.0 and "410k tokens" in g.choices["train.epochs"].reason
    assert g.summary.startswith("400 windows")
    # Estimated per document (the fronts): counted as the windows the worker will make.
    estimated = DataFacts(train_rows=100, val_rows=5, tokens=100 * 300, mean_tokens=300.0, p99_tokens=900,
                          estimated=True)
    g = resolve(preset, estimated, params=135_000_000, device="cpu", method="lora")
    assert g.value("train.learning_rate") == 5e-4 and g.summary.startswith("30 windows")
