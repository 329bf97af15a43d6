"""The tutorial and exercise notebooks: every one runs top to bottom under nbval.

Marker ``notebook``: each notebook is executed by nbval in a subprocess (``--nbval-lax``:
only cells marked ``# NBVAL_CHECK_OUTPUT`` have their output compared with the stored one),
with ``RLKIT_FAST=1``, which shrinks training budgets and never skips a cell, and one notebook
is executed by ``jupyter nbconvert --execute`` as nbgrader would. The unmarked
tests below check, without running anything, what the committed files must look like:
valid nbformat files, outputs stripped except the checked ones, the python3 kernel, a "Try this"
section.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(p for p in NOTEBOOK_DIR.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
# Owned by the widgets (the browser test drives it); it is run under nbval here like the rest,
# but it is not a tutorial, so the tutorial layout rules below do not apply to it.
NOT_TUTORIALS = {"playground_smoke.ipynb", "sweep_smoke.ipynb"}
TUTORIALS = [
    "00_data_flow",
    "01_builtin_models_and_preprocessors",
    "02_custom_models",
    "03_recurrent_models",
    "04_batch_norm",
    "05_custom_preprocessors_vs_wrappers",
    "06_custom_action_distributions",
    "07_supervised_and_self_supervised_losses",
    "08_parametric_actions",
    "09_autoregressive_actions",
    "10_gpu_training",
    "13_learning_from_pixels",
]
CHECK = "# NBVAL_CHECK_OUTPUT"


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def _source(cell: dict) -> str:
    return "".join(cell["source"])


LESSONS = [p for p in NOTEBOOKS if p.name not in NOT_TUTORIALS]


# -- executed: nbval, one subprocess per notebook ------------------------------------------------
@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=_rel)
def test_notebook_runs_top_to_bottom_under_nbval(path):
    env = {**os.environ, "RLKIT_FAST": "1", "MPLBACKEND": "agg"}
    command = [
        sys.executable,
        "-m",
        "pytest",
        "--nbval-lax",
        "--nbval-current-env",  # the kernel is this interpreter, whatever kernels are installed
        "--nbval-cell-timeout=300",
        "-p",
        "no:cacheprovider",
        "-q",
        _rel(path),
    ]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    output = (result.stdout + result.stderr)[-6000:]
    assert result.returncode == 0, f"nbval failed on {_rel(path)}:\n{output}"


@pytest.mark.notebook
def test_jupyter_nbconvert_executes_a_notebook(tmp_path):
    # nbgrader and every export go through nbconvert, which validates the file before running.
    path = NOTEBOOK_DIR / "exercises" / "ex01_one_hot.ipynb"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "MPLBACKEND": "agg"}
    command = [sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute"]
    command += ["--output-dir", str(tmp_path), str(path)]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-4000:]
    executed = json.loads((tmp_path / path.name).read_text(encoding="utf-8"))
    counts = [c["execution_count"] for c in executed["cells"] if c["cell_type"] == "code"]
    assert counts and all(isinstance(n, int) for n in counts), counts


# -- static: what the committed files look like ------------------------------------------------
@pytest.mark.parametrize("path", NOTEBOOKS, ids=_rel)
def test_notebook_is_a_valid_nbformat_file(path):
    # nbval does not validate; nbconvert (and so nbgrader) refuses an invalid file before running.
    nb = nbformat.read(path, as_version=nbformat.NO_CONVERT)
    nbformat.validate(nb)


def test_every_tutorial_of_the_issue_is_there():
    names = {p.stem for p in NOTEBOOK_DIR.glob("*.ipynb")}
    missing = [name for name in TUTORIALS if name not in names]
    assert not missing, f"missing tutorials: {missing}"


@pytest.mark.parametrize("path", LESSONS, ids=_rel)
def test_outputs_are_stripped_except_checked_text(path):
    for cell in _cells(path):
        if cell["cell_type"] != "code":
            continue
        if CHECK not in _source(cell):
            assert not cell["outputs"], f"{_rel(path)}: output left in:\n{_source(cell)[:200]}"
            assert cell.get("execution_count") is None, f"{_rel(path)}: execution count left"
        for output in cell["outputs"]:
            data = output.get("data", {})
            assert set(data) <= {"text/plain"}, f"{_rel(path)}: a rich output ({set(data)})"
    assert path.stat().st_size < 40_000, f"{_rel(path)} is {path.stat().st_size} bytes"


@pytest.mark.parametrize("path", LESSONS, ids=_rel)
def test_notebook_uses_python3_kernel_and_never_skips(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    for cell in nb["cells"]:
        assert "NBVAL_SKIP" not in _source(cell)
        assert "nbval-skip" not in cell.get("metadata", {}).get("tags", [])


@pytest.mark.parametrize("path", LESSONS, ids=_rel)
def test_notebook_opens_with_what_you_will_see_and_ends_with_try_this(path):
    cells = _cells(path)
    first = _source(cells[0])
    assert cells[0]["cell_type"] == "markdown" and first.startswith("# ")
    assert "**What you will" in first, f"{_rel(path)}: say what the learner will see/do"
    headings = [_source(c) for c in cells if c["cell_type"] == "markdown"]
    assert any("## Try this" in text for text in headings[-2:]), f"{_rel(path)}: no Try this"
    assert any(CHECK in _source(c) for c in cells), f"{_rel(path)}: nothing checked by nbval"


@pytest.mark.parametrize("path", LESSONS, ids=_rel)
def test_training_notebooks_shrink_their_budget_in_fast_mode(path):
    code = "\n".join(_source(c) for c in _cells(path) if c["cell_type"] == "code")
    if ".train()" in code:
        assert "RLKIT_FAST" in code, f"{_rel(path)} trains but ignores RLKIT_FAST"
