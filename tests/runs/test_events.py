import json

from tuitune.events import EventReader, EventWriter, read_events


def test_events_have_version_seq_and_time(tmp_path):
    path = tmp_path / "events.jsonl"
    with EventWriter(path) as w:
        w.emit("started", pid=1)
        w.emit("step", step=1, loss=2.5)
    events = read_events(path)
    assert [e["seq"] for e in events] == [1, 2]
    assert all(e["v"] == 1 and e["ts"] > 0 for e in events)
    assert events[1] == {**events[1], "type": "step", "step": 1, "loss": 2.5}


def test_sequence_continues_across_writers(tmp_path):
    path = tmp_path / "events.jsonl"
    with EventWriter(path) as w:
        w.emit("a")
        w.emit("b")
    with EventWriter(path) as w:
        assert w.emit("c")["seq"] == 3


def test_torn_last_line_is_ignored_until_complete(tmp_path):
    path = tmp_path / "events.jsonl"
    with EventWriter(path) as w:
        w.emit("step", step=1)
    with open(path, "a") as f:
        f.write('{"v": 1, "seq": 2, "type": "st')  # a worker killed mid-write
    reader = EventReader(path)
    assert [e["seq"] for e in reader.read_new()] == [1]
    assert reader.read_new() == []
    # The next worker ends the torn line and carries on; the torn one is skipped.
    with EventWriter(path) as w:
        w.emit("step", step=2)
    new = reader.read_new()
    assert [e["type"] for e in new] == ["step"] and new[0]["seq"] == 2
    assert reader.skipped == 1


def test_garbage_lines_are_skipped_not_fatal(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_bytes(b'not json\n\xff\xfe\n[1,2]\n' + json.dumps({"seq": 1, "type": "x"}).encode() + b"\n")
    assert [e["type"] for e in read_events(path)] == ["x"]


def test_reader_sees_only_new_events(tmp_path):
    path = tmp_path / "events.jsonl"
    reader = EventReader(path)
    assert reader.read_new() == []  # no file yet
    with EventWriter(path) as w:
        w.emit("a")
        assert [e["type"] for e in reader.read_new()] == ["a"]
        w.emit("b")
        w.emit("c")
        assert [e["type"] for e in reader.read_new()] == ["b", "c"]
