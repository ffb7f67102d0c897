"""The keys that act on a run, written once: the runs table and the run view both offer them,
with the same key, words and tooltip (the action behind each is tuitune.runs.actions)."""

from __future__ import annotations

from textual.binding import Binding

# name: (key, action, description, tooltip)
RUN_KEYS = {
    "stop": ("s", "stop_run", "Stop", "Ask the worker to stop after its current step (a checkpoint is saved)"),
    "resume": ("r", "resume_run", "Resume", "Continue a stopped, failed or crashed run from its last checkpoint"),
    "export": ("e", "export_run", "Export",
               "Choose GGUF types (ticked from [export] gguf), export, read the verification report (done runs only)"),
    "chat": ("c", "chat", "Chat", "Chat with the run's exported GGUF (or its adapter, through a worker)"),
    "extend": ("plus", "extend_run", "Extend",
               "Train a finished run N more steps, from its final weights and optimizer state (runs extend)"),
    "label": ("n", "label_run", "Name", "Give the run a name (shown beside its id) and a note (label.json)"),
    "delete": ("d", "delete_run", "Delete", "Delete the run's folder, after asking (not while it runs)"),
}


def run_bindings(screen: str, *names: str, hidden: tuple[str, ...] = ()) -> list[Binding]:
    """Bindings for the named run actions, with ids ``<screen>.<name>`` (what keys.toml rebinds);
    the ``hidden`` ones are left out of the footer (``?`` lists them)."""
    bindings = []
    for name in names:
        key, action, description, tooltip = RUN_KEYS[name]
        bindings.append(Binding(key, action, description, id=f"{screen}.{name}", tooltip=tooltip,
                                show=name not in hidden))
    return bindings
