"""The terminal front: a Textual app over the same core the headless CLI uses.

Layout: ``app.py`` (a thin App: modes, global keys, launching presets), ``screens/`` (one module
per screen or dialog, UI state only), ``widgets/`` (the runs table, the run's numbers, the loss
and series charts), ``app.tcss`` (layout and colours), ``messages.py`` (what thread workers post),
``commands.py`` (command palette entries).

UI-free logic lives beside them and is tested without a terminal: ``run_rows.py`` (the runs
tables' rows), ``tail.py`` (following a run's files incrementally), ``event_text.py`` (a line per
event, step numbers, chart series, downsampling), ``launch.py`` (launch, stop, resume, export,
delete through :mod:`tuitune.runs.workers` and :mod:`tuitune.runs.store`), ``preset_form.py`` and
``wizard.py`` (the new-run form: models found, data summary, memory plan), ``export_progress.py``
(export stages and the verification report), ``chat_control.py`` (chat sessions and preference
pairs), ``run_compare.py`` (two runs side by side), ``gpu_memory.py`` (NVML "used" for the VRAM
chart), ``keymap.py`` (keys.toml), ``hardware_info.py``.

Nothing here imports torch or the training stack; training and export run in worker processes.
"""
