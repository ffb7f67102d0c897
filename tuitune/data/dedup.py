"""Exact duplicates (a hash of the normalized text) and near duplicates (MinHash LSH).

The first occurrence is kept, so the result does not depend on anything but the file's order.
datasketch (and numpy under it) is imported only when near-duplicate removal runs.
"""

from __future__ import annotations

import hashlib
import re

from tuitune.data.schema import Example

NUM_PERM = 64  # 64 permutations estimate a Jaccard of 0.9 within about ±0.04: enough to dedup
SHINGLE = 3  # word 3-grams: short chat rows still get several shingles
_WORDS = re.compile(r"\w+", re.UNICODE)
_SPACE = re.compile(r"\s+")


def normalized(text: str) -> str:
    """Case and spacing don't make a row new."""
    return _SPACE.sub(" ", text).strip().casefold()


def exact_key(example: Example) -> str:
    joined = "\x1f".join(normalized(t) for t in example.texts())
    return hashlib.blake2b(joined.encode("utf-8"), digest_size=16).hexdigest()


def exact_duplicates(examples: list[Example]) -> dict[int, int]:
    """{index of a duplicate: index of the first row it repeats}."""
    first: dict[str, int] = {}
    dupes = {}
    for i, e in enumerate(examples):
        key = exact_key(e)
        if key in first:
            dupes[i] = first[key]
        else:
            first[key] = i
    return dupes


def shingles(text: str) -> list[bytes]:
    words = _WORDS.findall(text.casefold())
    if len(words) <= SHINGLE:
        return [" ".join(words).encode("utf-8")]
    return list({" ".join(words[i : i + SHINGLE]).encode("utf-8") for i in range(len(words) - SHINGLE + 1)})


def near_duplicates(examples: list[Example], threshold: float = 0.9) -> dict[int, tuple[int, float]]:
    """{index of a near duplicate: (index of the earlier row it resembles, estimated Jaccard)}.

    LSH only proposes candidates; each is confirmed on the MinHash estimate, so a chance band
    collision never drops a row.
    """
    if not examples:
        return {}
    try:
        from datasketch import MinHash, MinHashLSH
    except ImportError:  # pragma: no cover - datasketch is a dependency
        raise ImportError("near-duplicate removal needs datasketch: pip install datasketch") from None

    hashes = MinHash.bulk((shingles("\n".join(e.texts())) for e in examples), num_perm=NUM_PERM)
    lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
    dupes: dict[int, tuple[int, float]] = {}
    for i, mh in enumerate(hashes):
        best = None
        for j in sorted(lsh.query(mh)):
            score = mh.jaccard(hashes[j])
            if score >= threshold:
                best = (j, score)
                break
        if best is None:
            lsh.insert(i, mh, check_duplication=False)
        else:
            dupes[i] = best
    return dupes
