"""The terminal front: a Textual app over the same core the headless CLI uses.

Layout: ``app.py`` (a thin App: modes, global keys, launching presets), ``screens/`` (one module
per screen or dialog, UI state only), ``widgets/`` (the runs table, the run's numbers, the loss
and series charts), ``app.tcss`` (layout and colours), ``messages.py`` (what thread workers post),
``commands.py`` (command palette entries).

UI-free logic lives beside them and is tested without a terminal: ``run_rows.py`` (the runs
tables' rows), ``tail.py`` (following a run's files incrementally), ``launch.py`` (launch, stop, resume, export,
delete through :mod:`tuitune.runs.workers` and :mod:`tuitune.runs.store`), ``preset_form.py`` and
``wizard.py`` (the new-run form: models found, data summary, memory plan), ``export_progress.py``
(export stages), ``run_compare.py`` (two runs side by side), ``gpu_memory.py`` (NVML "used" for the VRAM
chart), ``keymap.py`` (keys.toml), ``hardware_info.py``.

What both fronts say lives below them, shared with the CLI: the events' words
(:mod:`tuitune.runs.event_text`, chart series in :mod:`tuitune.runs.series`), the data report
(:mod:`tuitune.data.report_text`), the export report (:mod:`tuitune.runs.export_report`), the chat
controller and its slash commands (:mod:`tuitune.chat.controller`, :mod:`tuitune.chat.commands`).

Nothing here imports torch or the training stack; training and export run in worker processes.
"""
