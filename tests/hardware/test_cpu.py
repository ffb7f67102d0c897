"""The one thread count for tuitune's llama.cpp work: OMP_NUM_THREADS when set, else the cores
this process may run on."""

import os

from tuitune.hardware.cpu import cores, threads


def test_threads_follow_omp_num_threads_within_the_cores_this_process_has(monkeypatch):
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert threads() == cores() == len(os.sched_getaffinity(0))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert threads() == 1
    monkeypatch.setenv("OMP_NUM_THREADS", "512")
    assert threads() == cores()  # never more than the cores: llama.cpp's spinning workers would fight
    for unusable in ("", "0", "two"):
        monkeypatch.setenv("OMP_NUM_THREADS", unusable)
        assert threads() == cores()


def test_the_chat_beside_a_cpu_run_takes_half(monkeypatch):
    from tuitune.runs.busy import chat_threads

    monkeypatch.setenv("OMP_NUM_THREADS", "4")
    expected = min(4, cores())
    assert chat_threads([]) == expected and chat_threads(["a run"]) == max(1, expected // 2)
