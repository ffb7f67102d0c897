"""The data core stays light: importing it (and the data CLI) pulls in no torch, transformers,
trl, peft, datasets, pyarrow or datasketch — those load only inside the functions that need them."""

import subprocess
import sys

HEAVY = ("torch", "transformers", "trl", "peft", "datasets", "accelerate", "pyarrow", "datasketch", "numpy")
MODULES = [
    "tuitune.data", "tuitune.data.schema", "tuitune.data.readers", "tuitune.data.messages",
    "tuitune.data.formats", "tuitune.data.validate", "tuitune.data.split", "tuitune.data.dedup",
    "tuitune.data.clean", "tuitune.data.cache", "tuitune.data.stats", "tuitune.data.preview", "tuitune.data.pipeline",
    "tuitune.data.loader", "tuitune.cli.data",
]


def test_data_modules_import_nothing_heavy():
    code = "import sys\n" + "".join(f"import {m}\n" for m in MODULES) + (
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_inspect_without_a_model_stays_light(tmp_path):
    f = tmp_path / "d.jsonl"
    f.write_text('{"prompt": "q", "completion": "a"}\n')
    code = (
        "import sys\nfrom tuitune.cli.data import main\n"
        f"assert main(['data', 'inspect', {str(f)!r}, '--no-near-dedup']) == 0\n"
        f"print('HEAVY', sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("HEAVY []")
