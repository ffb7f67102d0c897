"""``tuitune chat TARGET``: talk to a model in the plain terminal.

One-shot (``--prompt``) prints only the reply on stdout — scripts depend on that; everything
else goes to stderr. Interactive mode reads lines from stdin: /reset, /system TEXT,
/save [NAME], /retry, /prefer A|B [EDITED ANSWER], /quit. ``--compare`` answers with the run's base model (A)
and the tuned one (B) side by side, and /prefer stores the pair for DPO.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tuitune.chat.backend import ChatError, GenerationParams

HELP = "/reset  /system TEXT  /save [NAME]  /retry  /prefer A|B [EDITED ANSWER]  /quit"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("chat", help="chat with a run, a .gguf file or a model folder")
    p.add_argument("target", help="a run id or folder, a .gguf file, or a model folder")
    p.add_argument("--prompt", help="answer this one prompt, print only the reply, and exit")
    p.add_argument("--system", help="system prompt")
    p.add_argument("--temperature", type=float, default=0.7)
    p.add_argument("--top-p", type=float, default=0.95)
    p.add_argument("--max-tokens", type=int, default=512)
    p.add_argument("--seed", type=int)
    p.add_argument("--compare", action="store_true", help="answer with the base model and the tuned one")
    p.add_argument("--list", action="store_true", help="list saved transcripts of this target")
    p.add_argument("--open", metavar="NAME", help="continue a saved transcript")


def run(args: argparse.Namespace) -> int:
    from tuitune.chat.targets import base_of, resolve

    target = resolve(args.target)
    folder = transcripts_folder(target)
    if args.list:
        from tuitune.chat.session import list_transcripts

        for path in list_transcripts(folder):
            print(path.stem)
        return 0
    params = GenerationParams(args.temperature, args.top_p, args.max_tokens, args.seed)
    targets = [base_of(target), target] if args.compare else [target]
    sessions = []
    try:
        for t in targets:
            sessions.append(_session(t, args, params))
        if args.open:
            from tuitune.paths import safe_name

            _restore(sessions, folder / f"{safe_name(args.open, limit=80)}.json")
        if args.prompt is not None:
            return _one_shot(sessions, args.prompt)
        return _interactive(sessions, target, folder)
    finally:
        for s in sessions:
            s.backend.close()


def transcripts_folder(target) -> Path:
    from tuitune.paths import tuitune_home

    return target.run.path / "chats" if target.run is not None else tuitune_home() / "chats"


def _session(target, args: argparse.Namespace, params: GenerationParams):
    from tuitune.chat.session import ChatSession

    _err(f"loading {target.label}…")
    return ChatSession(target.open(), system=args.system, params=params)


def _restore(sessions, path: Path) -> None:
    from tuitune.chat.session import load_transcript

    if not path.exists():
        raise ChatError(f"no transcript {path.stem!r} in {path.parent}; --list shows them")
    data = load_transcript(path)
    for s in sessions:
        s.history = list(data["messages"])
        s.system = s.system or data.get("system")


def _one_shot(sessions, prompt: str) -> int:
    if len(sessions) == 1:
        for piece in sessions[0].ask(prompt):
            sys.stdout.write(piece)
            sys.stdout.flush()
        sys.stdout.write("\n")
    else:
        for label, s in zip("AB", sessions, strict=False):
            sys.stdout.write(f"[{label}: {s.backend.name}]\n{''.join(s.ask(prompt))}\n\n")
    _notices(sessions)
    return 0


def _interactive(sessions, target, folder: Path) -> int:
    from tuitune.chat.session import append_preference

    labels = [f"A: {s.backend.name}" for s in sessions[:1]] + [f"B: {s.backend.name}" for s in sessions[1:]]
    _err(f"chatting with {' | '.join(labels) if len(sessions) > 1 else sessions[0].backend.name}.  {HELP}")
    previous: str | None = None  # the answer a /retry replaced
    while True:
        line = _read("you> ")
        if line is None or line.strip() == "/quit":
            return 0
        command, _, rest = line.strip().partition(" ")
        if command == "/reset":
            for s in sessions:
                s.reset()
            _err("conversation cleared")
        elif command == "/system":
            for s in sessions:
                s.system = rest or None
            _err(f"system prompt {'set' if rest else 'cleared'}")
        elif command == "/save":
            _err(f"saved {sessions[-1].save(folder, rest or None)}")
        elif command == "/retry" and len(sessions) == 1 and sessions[0].history:
            s = sessions[0]
            previous = s.history.pop()["content"]
            _answer(s, s.history.pop()["content"], "B (new)")
            _err("/prefer A keeps the earlier answer, /prefer B the new one")
        elif command == "/prefer":
            pair = _pair(sessions, previous)
            side, _, edited = rest.strip().partition(" ")
            if pair is None or side.upper() not in ("A", "B"):
                _err("nothing to compare yet: use --compare, or /retry an answer first; then /prefer A or /prefer B")
                continue
            prompt, a, b = pair
            chosen, rejected = (a, b) if side.upper() == "A" else (b, a)
            chosen = edited.strip() or chosen  # "/prefer A better text": keep A's place, with the user's edit
            path = (target.run.path if target.run else folder) / "preferences.jsonl"
            append_preference(path, prompt, chosen, rejected)
            _err(f"preference saved to {path}")
        elif command.startswith("/"):
            _err(f"unknown command {command}. {HELP}")
        else:
            previous = None
            for label, s in zip(["A", "B"] if len(sessions) > 1 else [""], sessions, strict=False):
                _answer(s, line, label)
        _notices(sessions)


def _answer(session, text: str, label: str) -> None:
    if label:
        print(f"[{label}]", flush=True)
    for piece in session.ask(text):
        print(piece, end="", flush=True)
    print(flush=True)


def _pair(sessions, previous: str | None):
    """(prompt messages, answer A, answer B) for the last exchange, if there are two answers."""
    last = sessions[-1].history
    if len(last) < 2:
        return None
    prompt = sessions[-1].messages()[:-1]
    if len(sessions) == 2:
        return prompt, sessions[0].history[-1]["content"], last[-1]["content"]
    if previous is not None:
        return prompt, previous, last[-1]["content"]
    return None


def _notices(sessions) -> None:
    for s in sessions:
        while s.notices:
            _err(f"note: {s.notices.pop(0)}")


def _read(prompt: str) -> str | None:
    _err(prompt, end="")
    line = sys.stdin.readline()
    return None if not line else line.rstrip("\n")


def _err(text: str, end: str = "\n") -> None:
    print(text, end=end, file=sys.stderr, flush=True)
