"""Crash safety of the run directory without training: dead workers, corrupted state.json and
events.jsonl (a clear message, nothing else lost), and names that try to leave their folder."""

import hashlib
import json
import subprocess
import sys

import pytest

from tests.helpers import tuitune
from tests.waits import wait_for
from tuitune.events import EventWriter, read_events
from tuitune.paths import safe_name
from tuitune.preset import parse_preset
from tuitune.runs.checkpoints import mark_complete
from tuitune.runs.store import RunStoreError, create_run, find_run, pid_alive

PRESET = parse_preset('name = "crash"\n[model]\npath = "bundled:smollm2-135m-instruct"\n[data]\npath = "bundled:pirate"\n')


def digest(folder):
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        h.update(path.relative_to(folder).as_posix().encode() + path.read_bytes())
    return h.hexdigest()


def trained_run(status="done"):
    """A run as a worker leaves it: events of two attempts with an OOM retry, two checkpoints."""
    run = create_run(PRESET)
    with EventWriter(run.events) as w:
        w.emit("started", pid=1, attempt=1)
        w.emit("status", status="loading_model", method="lora", device="cpu")
        for step in (1, 2, 3, 4):
            w.emit("step", step=step, total_steps=6, loss=2.0 - step / 10)
        w.emit("retry", reason="out of memory", batch_size=2, grad_accum=2, resume_from="checkpoint-4")
        w.emit("step", step=5, total_steps=6, loss=1.5)
        w.emit("finished", status=status)
    for step in (2, 4):
        folder = run.checkpoints / f"checkpoint-{step}"
        folder.mkdir(parents=True)
        (folder / "adapter_model.safetensors").write_bytes(b"weights %d" % step)
        mark_complete(folder, step)
    return run


def test_queued_run_whose_worker_died_before_taking_it_is_crashed(tuitune_home):
    run = create_run(PRESET)
    assert run.status() == "queued"  # never launched: genuinely waiting
    worker = subprocess.Popen([sys.executable, "-c", "pass"])
    run.record_launch(worker.pid)
    worker.wait()
    assert not pid_alive(worker.pid)
    assert run.read_state().status == "queued" and run.status() == "crashed"


def test_zombie_counts_as_dead(tuitune_home):
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    wait_for(lambda: not pid_alive(child.pid), timeout=30, what="the child to read as dead: exited, not yet reaped")
    assert child.returncode is None  # nobody reaped it: it is a zombie, and pid_alive saw through that
    child.wait()


def test_corrupt_state_is_a_clear_error_and_resume_rebuilds_it(tuitune_home):
    run = trained_run(status="done")
    checkpoints_before, events_before = digest(run.checkpoints), run.events.read_bytes()
    run.state_file.write_bytes(b'{"status": "runn\x00\xff')

    shown = tuitune("runs", "show", run.id)
    assert shown.returncode == 2 and "Traceback" not in shown.stderr
    assert f"{run.state_file}: unreadable" in shown.stderr and f"tuitune runs resume {run.id}" in shown.stderr
    listed = json.loads(tuitune("runs", "list", "--json").stdout)
    assert listed["status"] == "unreadable" and "state.json" in listed["message"]

    # Resume rebuilds the state from the events (this run was done, so it then refuses to train more).
    resumed = tuitune("runs", "resume", run.id)
    assert resumed.returncode == 2 and "rebuilt it from events.jsonl" in resumed.stderr  # said with the refusal
    assert "already done" in resumed.stderr and "Traceback" not in resumed.stderr
    kept = list(run.path.glob("state.json.unreadable-*"))
    assert len(kept) == 1 and kept[0].read_bytes() == b'{"status": "runn\x00\xff'
    assert digest(run.checkpoints) == checkpoints_before and run.events.read_bytes() == events_before


def test_rebuilt_state_of_an_interrupted_run_is_resumable(tuitune_home):
    run = trained_run(status="running")  # the finished event says running: never true at the end
    run.state_file.write_text("")
    run.rebuild_state()
    state = run.read_state()
    assert state.status == "crashed" and state.attempts == 1 and state.step == 5 and state.total_steps == 6
    assert (state.method, state.device, state.last_checkpoint) == ("lora", "cpu", "checkpoint-4")
    assert (state.batch_size, state.grad_accum) == (2, 2) and state.changes[0]["reason"] == "out of memory"
    assert "rebuilt from events.jsonl" in state.message


def test_corrupt_events_lose_only_the_bad_lines(tuitune_home):
    run = trained_run()
    with open(run.events, "ab") as f:
        f.write(b"\x00\x00 garbage from a bad disk\n[1, 2]\n")
        f.write(b'{"v": 1, "seq": 99, "type": "st')  # torn last line
    shown = tuitune("runs", "show", run.id, "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["events"] == 9
    with EventWriter(run.events) as w:  # the next worker carries on after the damage
        assert w.emit("started")["seq"] == 10
    assert [e["seq"] for e in read_events(run.events)][-2:] == [9, 10]


@pytest.mark.parametrize("name", ["../../../etc/passwd", "/tmp/evil", "..", "a/../../b", "~root", "\x00bad", "CON"])
def test_run_names_never_leave_the_runs_folder(tuitune_home, name):
    preset = PRESET.model_copy(update={"name": name})
    run = create_run(preset)
    assert run.path.parent == (tuitune_home / "runs").resolve()
    assert "/" not in safe_name(name) and ".." not in safe_name(name)


@pytest.mark.parametrize("ref", ["../runs", "../../etc", "..", "a/../../b", "/"])
def test_run_ids_never_leave_the_runs_folder(tuitune_home, tmp_path, ref):
    create_run(PRESET)
    (tmp_path / "etc").mkdir(exist_ok=True)
    with pytest.raises(RunStoreError):
        find_run(ref)


def test_transcript_names_stay_in_their_folder(tmp_path, smollm2_gguf):
    from tuitune.chat.llama_backend import LlamaCppBackend
    from tuitune.chat.session import ChatSession

    backend = LlamaCppBackend(smollm2_gguf, n_ctx=256)
    try:
        path = ChatSession(backend).save(tmp_path / "chats", "../../outside")
    finally:
        backend.close()
    assert path.parent == tmp_path / "chats" and path.name == "outside.json"


def test_a_full_disk_reported_by_tokenizers_is_recognised(tmp_path):
    """`tokenizers` reports ENOSPC as a bare Exception, not an OSError (seen on a real 9 MB tmpfs)."""
    from tuitune.train.trainer_base import _explain_save_error

    (tmp_path / "checkpoint-4").mkdir()
    mark_complete(tmp_path / "checkpoint-4", 4)
    message = _explain_save_error(tmp_path, "checkpoint-6", Exception("No space left on device (os error 28)"))
    assert message.startswith(f"could not save checkpoint-6: no space left on the disk holding {tmp_path}")
    assert "the previous checkpoint (checkpoint-4) is intact" in message
