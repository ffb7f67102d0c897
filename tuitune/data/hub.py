"""Datasets named by a hub id: ``hf:ORG/NAME`` or ``hf:ORG/NAME:SPLIT``.

The repository is fetched with ``huggingface_hub`` into its usual cache (offline, a cached
snapshot is used as it is), and its split is read with ``datasets``' own data-file rules, so a
hub dataset reaches validation and cleaning as any local file does. Nothing here imports
``huggingface_hub`` or ``datasets`` until a hub id is actually used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from tuitune.data.schema import DataError, Row

PREFIX = "hf:"
_REF = re.compile(r"^hf:(?P<repo>[\w.-]+/[\w.-]+)(?::(?P<split>[\w.-]+))?$")


@dataclass(frozen=True)
class HubRef:
    repo_id: str
    split: str | None  # None: "train", or the only split there is

    def __str__(self) -> str:
        return f"{PREFIX}{self.repo_id}" + (f":{self.split}" if self.split else "")


def is_hub_ref(ref: str | Path) -> bool:
    return str(ref).startswith(PREFIX)


def parse(ref: str) -> HubRef:
    match = _REF.match(ref)
    if not match:
        raise DataError(f"{ref}: not a hub dataset id; write hf:ORG/NAME or hf:ORG/NAME:SPLIT")
    return HubRef(match["repo"], match["split"])


def fetch(ref: str) -> Path:
    """The local snapshot folder of the dataset repository (downloaded when not cached)."""
    hub = parse(ref)
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import (
        GatedRepoError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    try:
        return Path(snapshot_download(hub.repo_id, repo_type="dataset"))
    except GatedRepoError:
        raise DataError(f"{hub}: the dataset is gated; accept its terms on huggingface.co and run "
                        "`hf auth login`") from None
    except (RepositoryNotFoundError, RevisionNotFoundError):
        raise DataError(f"{hub}: no such dataset on the hub (or it is private: run `hf auth login`)") from None
    except LocalEntryNotFoundError:
        raise DataError(f"{hub}: not in the local Hugging Face cache and the hub cannot be reached "
                        "(offline, or HF_HUB_OFFLINE is set); connect once to download it, or "
                        "give a local file") from None
    except OSError as e:
        raise DataError(f"{hub}: download failed ({e})") from None


def is_snapshot(path: Path) -> bool:
    """A folder of the hub cache: ``…/datasets--ORG--NAME/snapshots/<commit>``."""
    return path.is_dir() and path.parent.name == "snapshots" and path.parent.parent.name.startswith("datasets--")


def snapshot_id(path: Path) -> str:
    """The repository and commit of a snapshot: a content key without hashing every file."""
    return f"{path.parent.parent.name}@{path.name}"


def describe(ref: str, snapshot: Path) -> str:
    return f"{ref} (commit {snapshot.name[:10]}, in {snapshot.parent.parent.parent})"


def read_snapshot(path: Path, split: str | None) -> list[Row]:
    repo = path.parent.parent.name.removeprefix("datasets--").replace("--", "/", 1)
    from datasets import load_dataset

    try:
        splits = load_dataset(str(path))
    except Exception as e:  # noqa: BLE001 - datasets raises many types for files it cannot infer
        raise DataError(f"{PREFIX}{repo}: cannot read the dataset's files ({type(e).__name__}: {e})") from None
    if split is None:
        if "train" not in splits and len(splits) != 1:
            raise DataError(f"{PREFIX}{repo}: holds the splits {sorted(splits)}; name one: "
                            f"{PREFIX}{repo}:{sorted(splits)[0]}")
        split = "train" if "train" in splits else next(iter(splits))
    if split not in splits:
        raise DataError(f"{PREFIX}{repo}: no split {split!r}; it has {', '.join(sorted(splits))}")
    where = f"{PREFIX}{repo}:{split}"
    return [Row(f"{where}[{i}]", row) for i, row in enumerate(splits[split].to_list())]
