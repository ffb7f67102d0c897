"""The terminal front: a Textual app over the same core the headless CLI uses.

Layout: ``app.py`` (a thin App: modes, global keys, launching presets), ``screens/`` (one module
per screen or dialog, UI state only), ``widgets/`` (the runs table, the run's numbers, the loss
chart), ``app.tcss`` (layout and colours), ``messages.py`` (what thread workers post),
``commands.py`` (command palette entries).

UI-free logic lives beside them and is tested without a terminal: ``run_rows.py`` (the runs
tables' rows), ``tail.py`` (following a run's files incrementally), ``event_text.py`` (a line per
event, step numbers, chart downsampling), ``launch.py`` (launch, stop, resume, export, delete
through :mod:`tuitune.runner`), ``preset_form.py`` (the new-run form), ``hardware_info.py``.

Nothing here imports torch or the training stack; training and export run in worker processes.
"""
