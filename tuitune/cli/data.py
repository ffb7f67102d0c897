"""``tuitune data inspect | clean | preview``: look at a data file before training on it.

Wired into tuitune/cli/main.py with ``add_parser(sub)`` and ``"data": run``; ``main(argv)`` here
does the same wiring on its own (for tests and ``python -m tuitune.cli.data``). Exit 0 when
the data is usable, 2 with one message when it is not. Nothing heavy is imported, even for
``--model``: the tokenizer is the torch-free one of :mod:`tuitune.models.tokenizer`.
"""

from __future__ import annotations

import argparse
import json
import sys
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from tuitune.cli.schema_args import SchemaChoices, SchemaDefault, resolve
from tuitune.data.report_text import report_rows

if TYPE_CHECKING:
    from tuitune.data.preview import Mask
    from tuitune.data.schema import Example


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    data = subparsers.add_parser("data", help="inspect, clean and preview a training data file")
    sub = data.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    inspect = sub.add_parser("inspect", help="detect the format, count problems and duplicates, show statistics")
    _source_args(inspect)
    inspect.add_argument("--json", action="store_true", help="print the report as JSON")
    inspect.add_argument("--documents", action="store_true",
                         help="read FILE as documents for continued pretraining (stage cpt); a folder that is no "
                              "saved dataset, and a .pdf, always are")
    clean = sub.add_parser("clean", help="clean and split into DIR (train/val/rejected .jsonl, report.json)")
    _source_args(clean)
    clean.add_argument("--out", required=True, metavar="DIR",
                       help="a new or empty folder to write (the input is never touched)")
    clean.add_argument("--force", action="store_true",
                       help="write into a folder that holds an earlier `tuitune data clean` output, replacing it")
    clean.add_argument("--json", action="store_true", help="print the report as JSON")
    clean.add_argument("--stage", choices=SchemaChoices("train.stage"), metavar="STAGE",
                       help="refuse the file unless it suits this training stage: %(choices)s")
    preview = sub.add_parser("preview", help="show examples as the model sees them: trained vs masked tokens")
    _source_args(preview, model_required=True)
    preview.add_argument("-n", type=int, default=3, metavar="N", help="how many examples (default 3)")
    preview.add_argument("--plain", action="store_true", help="no colour: trained text inside ⟦ ⟧, cut text inside ✂[ ]")
    return data


def _source_args(p: argparse.ArgumentParser, model_required: bool = False) -> None:
    p.add_argument("file", help="JSONL, JSON, CSV/TSV, Parquet, text file, a saved datasets folder, "
                                "a hub dataset hf:ORG/NAME[:SPLIT], or a folder of documents (.txt/.md/.pdf …)")
    p.add_argument("--model", required=model_required, metavar="M",
                   help="tokenizer for token statistics: a model folder, hub id, .gguf or bundled:NAME")
    p.add_argument("--format", default=SchemaDefault("data.format"), choices=SchemaChoices("data.format"),
                   metavar="FORMAT", help="row format: %(choices)s (default: %(default)s, detect it)")
    p.add_argument("--column", action="append", default=[], metavar="OURS=THEIRS",
                   help="map a column, e.g. --column messages=dialog (repeatable)")
    # skip, unlike a preset's default (fail): looking at a file should show every bad row at once.
    p.add_argument("--on-error", choices=SchemaChoices("data.on_error"), default="skip", metavar="POLICY",
                   help="a bad row stops everything (fail) or is set aside with its reason (skip, default)")
    p.add_argument("--system-prompt", help="system message for conversations that have none")
    p.add_argument("--val-fraction", type=_fraction, default=SchemaDefault("data.val_fraction"),
                   help="share held out for validation, or auto (default: auto, 5%% where that holds out 10 rows "
                        "or more and the data is not knowledge-like)")
    p.add_argument("--seed", type=int, default=SchemaDefault("train.seed"), help="seed of the split (default %(default)s)")
    p.add_argument("--max-seq-len", type=int, default=SchemaDefault("train.max_seq_len"),
                   help="truncation length for the statistics (default %(default)s)")
    p.add_argument("--min-tokens", type=int, help="drop rows shorter than this (needs --model)")
    p.add_argument("--max-tokens", type=int, help="drop rows longer than this (needs --model)")
    p.add_argument("--near-threshold", type=float, default=SchemaDefault("data.near_threshold"),
                   help="similarity that counts as a near duplicate (default %(default)s)")
    for flag, help_text in (("whitespace", "whitespace normalization"), ("empty", "dropping empty rows"),
                            ("dedup", "exact duplicate removal"), ("near-dedup", "near duplicate removal"),
                            ("degenerate", "dropping degenerate preference pairs"),
                            ("leakage", "moving leaked validation rows to train")):
        p.add_argument(f"--no-{flag}", action="store_true", help=f"turn off {help_text}")


def _fraction(text: str) -> float | None:
    """``--val-fraction``: a number, or ``auto`` (tuitune.data.split.val_fraction_for decides)."""
    return None if text.strip().lower() == "auto" else float(text)


def section(args: argparse.Namespace) -> SimpleNamespace:
    """The arguments as a ``[data]`` preset section (the same names the preset uses)."""
    from tuitune.data.schema import DataError

    columns = {}
    for item in args.column:
        ours, sep, theirs = item.partition("=")
        if not sep or not ours or not theirs:
            raise DataError(f"--column {item!r}: expected OURS=THEIRS, e.g. --column messages=dialog")
        columns[ours.strip()] = theirs.strip()
    if not 0 < args.near_threshold <= 1:
        raise DataError(f"--near-threshold {args.near_threshold}: must be above 0 and at most 1")
    if (args.min_tokens or args.max_tokens) and not args.model:
        raise DataError("--min-tokens / --max-tokens count tokens, so they need --model")
    return SimpleNamespace(
        path=args.file, format=args.format, columns=columns, on_error=args.on_error,
        system_prompt=args.system_prompt, val_fraction=args.val_fraction,
        normalize_whitespace=not args.no_whitespace, drop_empty=not args.no_empty,
        dedup_exact=not args.no_dedup, dedup_near=not args.no_near_dedup, near_threshold=args.near_threshold,
        min_tokens=args.min_tokens, max_tokens=args.max_tokens,
        drop_degenerate_pairs=not args.no_degenerate, fix_leakage=not args.no_leakage,
    )


def load_tokenizer(ref: str | None) -> Any:
    """The model's tokenizer, torch-free (a run's is its starting model's), with loading
    failures turned into a user error."""
    if not ref:
        return None
    from tuitune.data.schema import DataError
    from tuitune.models.bundled import BundledNotFound
    from tuitune.models.files import ModelFileError
    from tuitune.models.tokenizer import load_tokenizer
    from tuitune.runs.refs import readable_ref
    from tuitune.runs.store import RunStoreError

    try:
        return load_tokenizer(readable_ref(ref), notify=lambda note: print(note, file=sys.stderr))
    except (ModelFileError, BundledNotFound, RunStoreError, OSError, ValueError) as e:
        raise DataError(f"--model {ref}: cannot load its tokenizer ({e})") from None


def cmd_inspect(args: argparse.Namespace) -> int:
    from tuitune.data.documents import is_document_source
    from tuitune.data.pipeline import inspect

    if args.documents or is_document_source(args.file):
        return _inspect_documents(args)

    report, _, _, _ = inspect(section(args), load_tokenizer(args.model), seed=args.seed,
                              max_seq_len=args.max_seq_len, on_error=args.on_error)
    _show(report, args.json)
    return 0 if report["split"]["train"] else _unusable(report)


def _inspect_documents(args: argparse.Namespace) -> int:
    """Documents, tokens, windows and what was unreadable (data/corpus.py)."""
    from tuitune.data.corpus import inspect_documents, report_lines

    report, _, _, _ = inspect_documents(section(args), load_tokenizer(args.model), seed=args.seed,
                                        max_seq_len=args.max_seq_len)
    if args.json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        for label, text in report_lines(report):
            print(f"{label + ':' if label else '':10} {text}")
    return 0 if report["split"]["train"] else _unusable(report)


def cmd_clean(args: argparse.Namespace) -> int:
    from pathlib import Path

    from tuitune.data.pipeline import claim_output_folder, prepare

    claim_output_folder(Path(args.out), force=args.force)
    _, _, report = prepare(section(args), args.out, load_tokenizer(args.model), seed=args.seed,
                           max_seq_len=args.max_seq_len, stage=args.stage)
    _show(report, args.json)
    if not args.json:
        print(f"wrote:     {Path(args.out) / 'train.jsonl'}, val.jsonl, rejected.jsonl, report.json")
    return 0


def cmd_preview(args: argparse.Namespace) -> int:
    from tuitune.data.loader import import_file
    from tuitune.data.preview import mask_preview

    s = section(args)
    tokenizer = load_tokenizer(args.model)
    data = import_file(s.path, s.format, columns=s.columns or None, on_error=s.on_error, system_prompt=s.system_prompt)
    masks = [(e, mask_preview(tokenizer, e, max_seq_len=args.max_seq_len)) for e in data.examples[: args.n]]
    if args.plain:
        for example, mask in masks:
            print(f"# {example.where}: {mask.trained} of {mask.total} tokens trained, {mask.cut} cut\n{mask.plain()}\n")
        return 0
    from rich.console import Console

    console = Console(highlight=False)
    for example, mask in masks:
        console.print(render_preview(example, mask))
    return 0


MASK_STYLES = {"trained": "bold green", "masked": "dim", "cut": "red strike"}


def render_preview(example: Example, mask: Mask) -> Any:
    """A rich renderable: a header with the counts and a legend, then the coloured text."""
    from rich.console import Group
    from rich.text import Text

    header = Text.assemble((example.where, "bold"), f"  {mask.trained} of {mask.total} tokens trained")
    if mask.cut:
        header.append(f", {mask.cut} cut by max_seq_len", style=MASK_STYLES["cut"].split()[0])
    header.append("   ")
    for i, state in enumerate(MASK_STYLES):
        header.append(("" if i == 0 else " / ") + state, style=MASK_STYLES[state] if i < 2 or mask.cut else "dim")
    body = Text()
    for text, state in mask.segments:
        body.append(text, style=MASK_STYLES[state])
    return Group(header, body, Text(""))


def _unusable(report: dict[str, Any]) -> int:
    print(f"error: {report['source']}: no usable rows after cleaning", file=sys.stderr)
    return 2


def _show(report: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
        return
    for label, text in report_rows(report):  # labels in a column, continuations under the text
        print(f"{label + ':' if label else '':10} {text}")


_HANDLERS = {"inspect": cmd_inspect, "clean": cmd_clean, "preview": cmd_preview}


def run(args: argparse.Namespace) -> int:
    """The ``data`` command's handler: dispatch on the action."""
    return _HANDLERS[args.data_command](resolve(args))


def main(argv: list[str] | None = None) -> int:
    """The same wiring as tuitune/cli/main.py, for tests: parse, run, user errors become exit 2."""
    parser = argparse.ArgumentParser(prog="tuitune")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    from tuitune.errors import user_errors

    try:
        with user_errors():
            return run(args)
    except SystemExit as e:
        return int(e.code or 0)


if __name__ == "__main__":
    sys.exit(main())
