"""Time `data inspect`'s work (read + validate + clean + split, no tokenizer) on 100k chat rows.

    python benchmarks/data_clean.py [--rows 100000] [--keep FILE]

Writes a synthetic JSON Lines file of OpenAI-style conversations in which 10 % of the rows are
exact duplicates (some differing only in case and spacing) and 5 % are near duplicates (one
word changed), then measures, each in a fresh process so memory figures don't mix:

- exact dedup only, and exact + near (MinHash LSH) dedup, side by side;
- rows/s, peak resident memory (ru_maxrss, the whole Python process), and how many of the
  planted duplicates were found.

Each run is `tuitune data inspect`'s work (pipeline.inspect: read, validate, clean, split,
character statistics). Target: exact + near under 30 s for 100k rows on a 2-core machine. Never fails on timing.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time

WORDS = [f"{a}{b}" for a in ("ka", "lo", "mi", "ne", "ru", "sa", "te", "vo", "zu", "pe") for b in range(200)]


def sentence(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


THRESHOLD = 0.9  # the default data.near_threshold


def generate(path: str, rows: int, seed: int = 0) -> dict[str, int]:
    """Unique rows, then 10 % exact and 5 % near duplicates of earlier ones, shuffled in."""
    rng = random.Random(seed)
    n_exact, n_near = rows // 10, rows // 20
    unique = [
        {"messages": [{"role": "system", "content": "You are helpful."},
                      {"role": "user", "content": sentence(rng, rng.randint(8, 25)) + "?"},
                      {"role": "assistant", "content": sentence(rng, rng.randint(40, 120)) + "."}]}
        for _ in range(rows - n_exact - n_near)
    ]
    extra, pairs = [], []
    for i in range(n_exact):
        row = json.loads(json.dumps(rng.choice(unique)))
        if i % 2:  # the same text in other case and spacing is still an exact duplicate
            row["messages"][1]["content"] = "  " + row["messages"][1]["content"].upper()
        extra.append(row)
    for _ in range(n_near):
        source = rng.choice(unique)
        row = json.loads(json.dumps(source))
        words = row["messages"][2]["content"].split()
        words[rng.randrange(len(words))] = "changed"
        row["messages"][2]["content"] = " ".join(words)
        extra.append(row)
        pairs.append((source, row))
    all_rows = unique + extra
    rng.shuffle(all_rows)
    with open(path, "w", encoding="utf-8") as f:
        for row in all_rows:
            f.write(json.dumps(row) + "\n")
    above = sum(j >= THRESHOLD for j in near_similarities(pairs))
    return {"rows": rows, "exact": n_exact, "near": n_near, "near_above": above}


def measure(path: str, near: bool) -> dict:
    """In this (fresh) process: what `tuitune data inspect FILE [--no-near-dedup]` runs (no --model)."""
    import resource
    from types import SimpleNamespace

    from tuitune.data.pipeline import inspect

    section = SimpleNamespace(path=path, on_error="skip", val_fraction=0.05, dedup_near=near)
    start = time.perf_counter()
    report, _, train, val = inspect(section, seed=42)
    total = time.perf_counter() - start
    return {"rows": report["rows_read"], "total_s": total, "counts": report["steps"], "train": len(train),
            "val": len(val), "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def near_similarities(pairs: list[tuple[dict, dict]]) -> list[float]:
    """True Jaccard similarity of each planted near pair, on the shingles dedup uses."""
    from tuitune.data.dedup import Shingler

    shingles = Shingler()

    def text(row: dict) -> str:
        return "\n".join(f"{m['role']}: {m['content']}" for m in row["messages"])

    out = []
    for a, b in pairs:
        sa, sb = set(shingles(text(a))), set(shingles(text(b)))
        out.append(len(sa & sb) / len(sa | sb))
    return out


def run_child(path: str, near: bool) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", path, "--near" if near else "--no-near"],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--keep", help="write the synthetic file here (default: a temporary file)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--near", action=argparse.BooleanOptionalAction, default=True, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.near)))
        return 0
    path = args.keep or os.path.join(tempfile.mkdtemp(prefix="tuitune-bench-"), "chat.jsonl")
    planted = generate(path, args.rows)
    size_mb = os.path.getsize(path) / 1e6
    print(f"file                {path} ({size_mb:.0f} MB, {planted['rows']} rows: "
          f"{planted['exact']} exact + {planted['near']} near duplicates planted)")
    print(f"cpu cores           {os.cpu_count()}")
    print(f"near pairs ≥ {THRESHOLD}     {planted['near_above']} of {planted['near']} planted "
          "(one changed word in a short row falls below the threshold: kept by design)")
    results = {"exact only": run_child(path, near=False), "exact + near": run_child(path, near=True)}
    for name, r in results.items():
        c = r["counts"]
        print(f"\n[{name}]")
        print(f"  total             {r['total_s']:.2f} s  → {r['rows'] / r['total_s']:,.0f} rows/s")
        print(f"  peak memory       {r['peak_rss_mb']:.0f} MB (process RSS)")
        print(f"  found             {c.get('exact_duplicate', 0)} exact (planted {planted['exact']}), "
              f"{c.get('near_duplicate', 0)} near (planted {planted['near']}, {planted['near_above']} of them ≥ {THRESHOLD})")
        print(f"  split             {r['train']} train / {r['val']} validation")
    ratio = results["exact + near"]["total_s"] / results["exact only"]["total_s"]
    print(f"\nnear-dedup cost     ×{ratio:.2f} the exact-only time (same file, same machine, this run)")
    target = results["exact + near"]["total_s"]
    print(f"target              {'met' if target < 30 else 'MISSED'}: {target:.1f} s for exact + near (goal < 30 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
