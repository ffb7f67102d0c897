"""The test suite keeps its own rules (tests/conftest.py, tests/waits.py, DESIGN.md "Tests"), checked
here so that a test added later keeps them too."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.helpers import REPO, TESTS, python_env

AREAS = sorted(p.name for p in TESTS.iterdir() if (p / "__init__.py").exists())


def module_files():
    return sorted(TESTS.rglob("test_*.py"))


def sources():
    """Every Python file of the suite, with its text."""
    return {p.relative_to(REPO).as_posix(): p.read_text(encoding="utf-8") for p in sorted(TESTS.rglob("*.py"))}


def test_every_test_module_lives_in_an_area():
    loose = [p.name for p in module_files() if p.parent == TESTS]
    assert not loose, f"move {loose} into one of tests/{{{','.join(AREAS)}}}/ (by what it exercises)"


def test_no_test_module_imports_another():
    pattern = re.compile(r"^\s*(?:from|import)\s+(?:tests(?:\.\w+)*\.)?test_\w+", re.M)
    found = [name for name, text in sources().items() if pattern.search(text)]
    assert not found, f"{found} import a test module: move what they share to a helper module or a fixture"


def test_nothing_sleeps_or_pauses_for_a_time_outside_tests_waits():
    # Fixed sleeps, pilot pauses with a delay, and children kept alive by a timed sleep alike;
    # `await pilot.pause()` with no delay only lets messages drain and is allowed.
    pattern = re.compile(r"\bsleep\(|\bpause\(\s*[^)\s]")
    found = [f"{name}:{n}" for name, text in sources().items() if name != "tests/waits.py"
             for n, line in enumerate(text.splitlines(), 1) if pattern.search(line)]
    assert not found, f"wait on a condition with tests/waits.py instead: {found}"


def test_a_gpu_test_is_skipped_without_cuda_and_torch_stays_unloaded(tmp_path):
    """tests/conftest.py's hook, run by a separate pytest on two tests: a `gpu` one that fails if
    it runs without CUDA, and one that looks whether the hook loaded torch to decide."""
    (tmp_path / "test_gpu_rule.py").write_text(
        "import sys\nimport pytest\n\n"
        "@pytest.mark.gpu\ndef test_needs_cuda():\n    import torch\n    assert torch.cuda.is_available()\n\n"
        "def test_torch_left_alone():\n    print('TORCH', 'torch' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "tests.conftest", "-p", "no:cacheprovider", "-rs", "-s", "-q",
         "--rootdir", str(tmp_path), "-W", "ignore::pytest.PytestUnknownMarkWarning", str(tmp_path)],
        capture_output=True, text=True, timeout=300, env=python_env(), cwd=tmp_path,
    )
    from tests.conftest import why_no_cuda

    reason = why_no_cuda()
    if reason is None:  # a CUDA machine: the gpu test runs, and passes
        assert "2 passed" in out.stdout, out.stdout + out.stderr
        return
    assert "1 passed, 1 skipped" in out.stdout and reason in out.stdout, out.stdout + out.stderr
    if reason.startswith("needs a CUDA GPU: no NVIDIA driver"):
        assert "TORCH False" in out.stdout, out.stdout  # NVML said no: torch was never imported
