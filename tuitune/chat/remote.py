"""The front's side of ``tuitune.chat.serve``: a Backend that talks to a worker process, so the
front never imports torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from tuitune.chat.backend import ChatError, GenerationParams, Message


class WorkerBackend:
    def __init__(self, target: Path, base: bool = False, threads: int | None = None):
        command = [sys.executable, "-m", "tuitune.chat.serve", str(target)] + (["--base"] if base else [])
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            text=True, env=dict(os.environ, TOKENIZERS_PARALLELISM="false",
                                **({"OMP_NUM_THREADS": str(threads)} if threads else {})),  # torch reads it at start
        )
        assert self.process.stdin is not None and self.process.stdout is not None  # both are pipes
        self._stdin, self._stdout = self.process.stdin, self.process.stdout
        try:
            hello = self._receive()
        except ChatError:
            self.close()
            raise
        self.name, self.n_ctx = hello["name"], hello["n_ctx"]

    def stream(self, messages: list[Message], params: GenerationParams) -> Iterator[str]:
        self._send({"op": "generate", "messages": messages, "params": params.to_json()})
        while True:
            message = self._receive()
            if message.get("done"):
                return
            yield message["text"]

    def count_tokens(self, messages: list[Message]) -> int:
        self._send({"op": "count", "messages": messages})
        return self._receive()["tokens"]

    def close(self) -> None:
        if self.process.poll() is None:
            self._stdin.close()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def _send(self, message: dict) -> None:
        self._stdin.write(json.dumps(message) + "\n")
        self._stdin.flush()

    def _receive(self) -> dict:
        line = self._stdout.readline()
        if not line:
            raise ChatError("the chat worker stopped unexpectedly")
        message = json.loads(line)
        if "error" in message and "ready" not in message:
            raise ChatError(message["error"])
        return message
