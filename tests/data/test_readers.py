"""Readers: every container gives rows that say where they came from; bad files are one clear
DataError naming the file (and the line when there is one)."""

import json

import pytest

from tests.helpers import BAD_DATA
from tuitune.data.readers import read_rows
from tuitune.data.schema import DataError

ROWS = [{"prompt": "p1", "completion": "c1"}, {"prompt": "p2", "completion": "c2"}]


def test_jsonl_rows_carry_their_line_and_skip_blank_lines(tmp_path):
    f = tmp_path / "d.jsonl"
    f.write_text(json.dumps(ROWS[0]) + "\n\n" + json.dumps(ROWS[1]) + "\n", encoding="utf-8")
    rows, container = read_rows(f)
    assert container == "jsonl"
    assert [(r.where, r.data) for r in rows] == [(f"{f}:1", ROWS[0]), (f"{f}:3", ROWS[1])]


def test_a_broken_jsonl_line_is_kept_as_a_problem_row_not_a_crash():
    rows, _ = read_rows(BAD_DATA / "mixed_rows.jsonl")
    assert len(rows) == 5
    assert rows[2].problem.startswith("invalid JSON") and rows[2].where.endswith(":3")
    assert all(r.problem is None for i, r in enumerate(rows) if i != 2)


def test_json_array_rows_carry_the_line_each_element_starts_on(tmp_path):
    f = tmp_path / "d.json"
    f.write_text(json.dumps(ROWS, indent=2), encoding="utf-8")
    rows, container = read_rows(f)
    assert container == "json" and [r.data for r in rows] == ROWS
    lines = f.read_text().splitlines()
    for r in rows:
        line = int(r.where.rsplit(":", 1)[1])
        assert lines[line - 1].strip() == "{"


def test_json_object_holding_one_array(tmp_path):
    f = tmp_path / "d.json"
    f.write_text(json.dumps({"version": 1, "data": ROWS}), encoding="utf-8")
    rows, _ = read_rows(f)
    assert [r.data for r in rows] == ROWS and rows[1].where == f"{f}[data][1]"


def test_json_edge_cases(tmp_path):
    f = tmp_path / "d.json"
    f.write_text("[]")
    assert read_rows(f)[0] == []
    f.write_text('[{"a": 1}] trailing')
    with pytest.raises(DataError, match="d.json:1: invalid JSON: extra data after the closing ]"):
        read_rows(f)
    f.write_text('[{"a": 1},\n]')  # a trailing comma is not JSON
    with pytest.raises(DataError, match="d.json:2: invalid JSON: Expecting value"):
        read_rows(f)


def test_jsonl_saved_with_a_json_suffix_is_read_as_jsonl(tmp_path):
    f = tmp_path / "d.json"
    f.write_text("".join(json.dumps(r) + "\n" for r in ROWS), encoding="utf-8")
    rows, container = read_rows(f)
    assert container == "jsonl" and [r.data for r in rows] == ROWS


def test_utf8_bom_is_accepted(tmp_path):
    f = tmp_path / "bom.jsonl"
    f.write_bytes(b"\xef\xbb\xbf" + json.dumps(ROWS[0]).encode())
    assert read_rows(f)[0][0].data == ROWS[0]


@pytest.mark.parametrize(
    "name, message",
    [
        ("latin1.jsonl", "latin1.jsonl:1: not UTF-8 text (byte 0xe9"),
        ("utf16.json", "utf16.json: the file is UTF-16; save it as UTF-8"),
        ("unclosed_array.json", "unclosed_array.json:4: invalid JSON: expected ',' or ']' after an element; the file ends"),
        ("missing_comma_between.json", "missing_comma_between.json:3: invalid JSON: expected ',' or ']' after an element; found '{'"),
        ("missing_comma.json", "missing_comma.json:3: invalid JSON: Expecting ',' delimiter"),
        ("two_arrays.json", "found 2 arrays (train, test)"),
        ("data.xlsx", "data.xlsx: unsupported file type '.xlsx'"),
        ("nothing-here.jsonl", "nothing-here.jsonl: file not found"),
        ("compressed.jsonl", "compressed.jsonl: this is a gzip-compressed file, not JSONL text; decompress it first"),
    ],
)
def test_unreadable_files_are_one_clear_error(name, message):
    with pytest.raises(DataError) as info:
        read_rows(BAD_DATA / name)
    assert message in str(info.value)


def test_csv_decodes_json_cells_and_keeps_ragged_rows_as_problems(tmp_path):
    f = tmp_path / "d.csv"
    f.write_text('messages,note\n"[{""role"": ""user"", ""content"": ""q""}]","[1] is text, not JSON"\n', encoding="utf-8")
    rows, container = read_rows(f)
    assert container == "csv"
    assert rows[0].data == {"messages": [{"role": "user", "content": "q"}], "note": "[1] is text, not JSON"}
    assert rows[0].where == f"{f}:2"
    ragged, _ = read_rows(BAD_DATA / "ragged.csv")
    assert [r.problem for r in ragged] == [None, "3 cells, but the header has 2 columns", None]
    assert ragged[1].where.endswith("ragged.csv:3") and ragged[2].where.endswith("ragged.csv:4")


def test_csv_line_numbers_count_multiline_cells(tmp_path):
    f = tmp_path / "d.csv"
    f.write_text('prompt,completion\n"two\nlines",a\nnext,b\n', encoding="utf-8")
    rows, _ = read_rows(f)
    assert [r.where.rsplit(":", 1)[1] for r in rows] == ["2", "4"]


def test_tsv(tmp_path):
    f = tmp_path / "d.tsv"
    f.write_text("prompt\tcompletion\nhello, world\tbye\n", encoding="utf-8")
    assert read_rows(f)[0][0].data == {"prompt": "hello, world", "completion": "bye"}


def test_text_one_document_per_line_or_blank_line_separated(tmp_path):
    lines = tmp_path / "lines.txt"
    lines.write_text("first doc\nsecond doc\n\nthird doc\n", encoding="utf-8")
    rows, container = read_rows(lines)  # one stray blank line does not make paragraphs
    assert [r.data["text"] for r in rows] == ["first doc", "second doc", "third doc"]
    assert container == "text, one document per line"
    paras = tmp_path / "paras.txt"
    paras.write_text("doc one\ncontinues\n\n\ndoc two\n\ndoc three\nhas\nlines\n", encoding="utf-8")
    rows, container = read_rows(paras)
    assert [r.data["text"] for r in rows] == ["doc one\ncontinues", "doc two", "doc three\nhas\nlines"]
    assert [r.where for r in rows] == [f"{paras}:1", f"{paras}:5", f"{paras}:7"]
    assert container == "text, blank-line separated documents"


def test_parquet(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    f = tmp_path / "d.parquet"
    pq.write_table(pa.Table.from_pylist(ROWS), f)
    rows, container = read_rows(f)
    assert container == "parquet" and [r.data for r in rows] == ROWS and rows[1].where == f"{f}[1]"
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 nope")
    with pytest.raises(DataError, match="broken.parquet: not a readable Parquet file"):
        read_rows(broken)


def test_datasets_save_to_disk_folder(tmp_path):
    datasets = pytest.importorskip("datasets")
    folder = tmp_path / "saved"
    datasets.Dataset.from_list(ROWS).save_to_disk(str(folder))
    rows, container = read_rows(folder)
    assert container == "datasets folder" and [r.data for r in rows] == ROWS
    both = tmp_path / "dict"
    datasets.DatasetDict({"train": datasets.Dataset.from_list(ROWS), "test": datasets.Dataset.from_list(ROWS[:1])}).save_to_disk(str(both))
    rows, _ = read_rows(both)
    assert len(rows) == 2 and rows[0].where == f"{both}/train[0]"
    with pytest.raises(DataError, match="not one written by datasets' save_to_disk"):
        read_rows(tmp_path)
