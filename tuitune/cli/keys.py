"""``tuitune keys [SECTION]``: every preset key with its type, default and help, from the schema."""

from __future__ import annotations

import argparse


def add_commands(sub: argparse._SubParsersAction) -> None:
    keys = sub.add_parser("keys", help="list every preset key with its help")
    keys.add_argument("section", nargs="?", help="only this section, e.g. train")


def cmd_keys(args: argparse.Namespace) -> int:
    from tuitune.preset import field_help, key_summary

    for key, type_name, default, text in field_help():
        if args.section and not key.startswith(args.section + "."):
            continue
        print(f"{key}  ({key_summary(type_name, default)})")
        for line in text.splitlines():
            print(f"    {line.strip()}")
    return 0


COMMANDS = {"keys": cmd_keys}
