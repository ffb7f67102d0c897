"""Runs: the run directory contract and run management (store, refs, checkpoints, workers,
preflight, actions). Light: no torch, no UI."""
