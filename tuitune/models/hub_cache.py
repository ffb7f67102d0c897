"""The local Hugging Face cache, read through huggingface_hub's own cache API (light: it
imports no torch; ``huggingface_hub.file_download`` costs ~0.1 s, so it is imported only when a
hub id is looked up). Nothing here downloads.
"""

from __future__ import annotations

from pathlib import Path


def hub_cache_dir() -> Path:
    """Where huggingface_hub (and so transformers in the worker) keeps downloads: HF_HUB_CACHE,
    else HF_HOME/hub, else ~/.cache/huggingface/hub — as huggingface_hub read them at import."""
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def cached_file(repo_id: str, filename: str) -> Path | None:
    """``filename`` of the model ``repo_id`` in the cache: the snapshot ``refs/main`` names, else
    the newest snapshot that has it (one fetched by commit hash has no ``refs/main``)."""
    from huggingface_hub import try_to_load_from_cache

    cache = hub_cache_dir()
    found = try_to_load_from_cache(repo_id, filename, cache_dir=cache)
    if isinstance(found, str):
        return Path(found)
    # huggingface_hub looks up one revision at a time; it has no "any revision" lookup.
    snapshots = cache / ("models--" + repo_id.replace("/", "--")) / "snapshots"
    candidates = sorted(snapshots.glob(f"*/{filename}"), key=lambda p: p.stat().st_mtime) if snapshots.is_dir() else []
    return candidates[-1] if candidates else None


def hub_cache_config(repo_id: str) -> Path | None:
    """config.json of ``repo_id`` in the local hub cache, if it is there."""
    return cached_file(repo_id, "config.json")


def cached_models() -> list[str]:
    """Repository ids of the models in the cache that have a config.json, sorted."""
    from huggingface_hub import CacheNotFound, scan_cache_dir

    try:
        info = scan_cache_dir(hub_cache_dir())
    except CacheNotFound:
        return []
    return sorted(repo.repo_id for repo in info.repos if repo.repo_type == "model"
                  and any(f.file_path == rev.snapshot_path / "config.json" for rev in repo.revisions for f in rev.files))
