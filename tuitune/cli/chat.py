"""``tuitune chat TARGET``: talk to a model in the plain terminal.

One-shot (``--prompt``) prints only the reply on stdout — scripts depend on that; everything
else goes to stderr. Interactive mode reads lines from stdin; the slash commands are the TUI
chat screen's (:mod:`tuitune.chat.commands`: /a, /b, /prefer, /retry, /reset, /system, /save,
/open, /list, /quit), carried out by the same controller (:mod:`tuitune.chat.controller`).
``--compare`` answers with the run's base model (A) and the tuned one (B) side by side, and
/a or /b stores the pair for DPO. This module does only the terminal's input and output.
"""

from __future__ import annotations

import argparse
import sys

from tuitune.chat.backend import ChatError, GenerationParams

MIN_CTX, MAX_CTX = 128, 1_048_576


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("chat", help="chat with a run, a .gguf file or a model folder")
    p.add_argument("target", help="a run id or folder, a .gguf file, or a model folder")
    p.add_argument("--prompt", help="answer this one prompt, print only the reply, and exit")
    p.add_argument("--system", help="system prompt")
    p.add_argument("--temperature", type=float, default=0.7)
    p.add_argument("--top-p", type=float, default=0.95)
    p.add_argument("--max-tokens", type=int, default=512)
    p.add_argument("--ctx", type=int, metavar="N",
                   help="tokens of context for a .gguf (default 2048; what the prompt, the conversation and the reply share)")
    p.add_argument("--seed", type=int)
    p.add_argument("--compare", action="store_true", help="answer with the base model and the tuned one")
    p.add_argument("--list", action="store_true", help="list saved transcripts of this target")
    p.add_argument("--open", metavar="NAME", help="continue a saved transcript")


def run(args: argparse.Namespace) -> int:
    from tuitune.chat.controller import open_chat, transcript_names
    from tuitune.chat.targets import resolve

    if args.list:
        for name in transcript_names(resolve(args.target)):
            print(name)
        return 0
    if args.ctx is not None and not MIN_CTX <= args.ctx <= MAX_CTX:
        raise ChatError(f"--ctx {args.ctx}: give between {MIN_CTX} and {MAX_CTX} tokens of context")
    params = GenerationParams(args.temperature, args.top_p, args.max_tokens, args.seed)
    control = open_chat(args.target, args.compare, args.system, params, loading=lambda label: _err(f"loading {label}…"),
                        n_ctx=args.ctx)
    try:
        if args.open:
            control.restore(args.open)
        if args.prompt is not None:
            return _one_shot(control, args.prompt)
        return _interactive(control)
    finally:
        control.close()


def _one_shot(control, prompt: str) -> int:
    sessions = control.sessions
    if len(sessions) == 1:
        for piece in sessions[0].ask(prompt):
            sys.stdout.write(piece)
            sys.stdout.flush()
        sys.stdout.write("\n")
    else:
        for label, s in zip("AB", sessions, strict=False):
            sys.stdout.write(f"[{label}: {s.backend.name}]\n{''.join(s.ask(prompt))}\n\n")
    _notices(control)
    return 0


def _interactive(control) -> int:
    from tuitune.chat.commands import HINT, parse

    _err(f"chatting with {' | '.join(control.labels)}.  {HINT}")
    while True:
        line = _read("you> ")
        if line is None:
            return 0
        try:
            command = parse(line)
            if command is not None and command.name == "quit":
                return 0
            if command is not None:
                _command(control, command)
            elif line.strip():
                control.new_question()
                for label, s in zip(["A", "B"] if control.compare else [""], control.sessions, strict=False):
                    _answer(s, line, label)
        except (ChatError, OSError) as e:  # a command that cannot be done now: say why, keep chatting
            _err(str(e))
        _notices(control)


def _command(control, command) -> None:
    from tuitune.chat.commands import HINT

    if command.name == "retry":
        question = control.take_retry()
        _answer(control.sessions[0], question, "B (new)")
        _err("/a keeps the earlier answer, /b the new one")
    elif command.name == "help":
        _err(HINT)
    else:
        _err(control.apply(command))


def _answer(session, text: str, label: str) -> None:
    if label:
        print(f"[{label}]", flush=True)
    for piece in session.ask(text):
        print(piece, end="", flush=True)
    print(flush=True)
    _err(f"({session.speed()}; {session.params.describe()})")


def _notices(control) -> None:
    for s in control.sessions:
        while s.notices:
            _err(f"note: {s.notices.pop(0)}")


def _read(prompt: str) -> str | None:
    _err(prompt, end="")
    line = sys.stdin.readline()
    return None if not line else line.rstrip("\n")


def _err(text: str, end: str = "\n") -> None:
    print(text, end=end, file=sys.stderr, flush=True)
