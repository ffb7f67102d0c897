"""The preset: one TOML file that says what to train, on what, and how.

- :mod:`~tuitune.preset.schema` — the fields, each with its help text (pydantic);
- :mod:`~tuitune.preset.keys` — one key's allowed values and default, read from the schema;
- :mod:`~tuitune.preset.load` — reading a file, dotted overrides, every problem reported at once;
- :mod:`~tuitune.preset.guidance` — the settings tuitune chooses when a preset leaves them open.

``from tuitune.preset import Preset, load_preset`` is the one import most callers need. Light
core: nothing here imports torch or the training stack.
"""

from tuitune.preset.load import PresetError, apply_overrides, field_help, key_summary, load_preset, parse_preset
from tuitune.preset.schema import (
    GGUF_TYPES,
    GUIDED,
    DataSection,
    DpoSection,
    EvalSection,
    ExportSection,
    GgufType,
    LoraSection,
    ModelSection,
    Preset,
    TrainSection,
)

__all__ = [
    "GGUF_TYPES", "GUIDED", "DataSection", "DpoSection", "EvalSection", "ExportSection", "GgufType",
    "LoraSection", "ModelSection", "Preset", "PresetError", "TrainSection", "apply_overrides", "field_help", "key_summary",
    "load_preset", "parse_preset",
]
