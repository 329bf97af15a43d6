"""The Binder recipe (binder/): checked the way Binder runs it.

Binder (repo2docker) installs the Python of ``runtime.txt``, runs
``pip install -r binder/requirements.txt``, then ``binder/postBuild`` in the repository root,
and opens JupyterLab. The ``slow`` test does the same in a fresh virtual environment built
only from ``binder/`` -- with one substitution: the CPU wheel index named in requirements.txt
is not reachable from CI, so the torch pin (``torch==2.13.0``) is resolved from the local
wheel, the same build -- and then executes the tour notebook 00 in that environment.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BINDER = ROOT / "binder"
TOUR = "notebooks/00_data_flow.ipynb"
TORCH_PIN = "torch==2.13.0"


def _requirement_lines() -> list[str]:
    lines = (BINDER / "requirements.txt").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]


# -- static: the recipe's files ------------------------------------------------------------------
def test_post_build_stops_at_the_first_error_and_installs_rlkit():
    text = (BINDER / "postBuild").read_text()
    assert text.startswith("#!/usr/bin/env bash")
    assert re.search(r"^set -e", text, re.M), "postBuild must start with set -e"
    assert re.search(r"pip install .*-e \.", text), "postBuild must install rlkit"
    assert os.access(BINDER / "postBuild", os.X_OK), "postBuild must be executable"


def test_requirements_pin_the_cpu_torch_build():
    lines = _requirement_lines()
    assert TORCH_PIN in lines
    assert any("download.pytorch.org/whl/cpu" in line for line in lines if line.startswith("--"))


def test_runtime_names_the_python_ci_uses():
    runtime = (BINDER / "runtime.txt").read_text().strip()
    assert runtime == f"python-{sys.version_info.major}.{sys.version_info.minor}"


def test_readme_links_the_tour_on_binder():
    readme = (ROOT / "README.md").read_text()
    assert "## Tutorials and exercises" in readme
    assert f"https://mybinder.org/v2/gh/rlkit-org/rlkit/HEAD?urlpath=lab/tree/{TOUR}" in readme


# -- slow: build it as Binder would and run the tour ---------------------------------------------
def _run(command: list[str], cwd: Path, env: dict, timeout: int) -> str:
    result = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    output = (result.stdout + result.stderr)[-5000:]
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{output}"
    return output


@pytest.mark.slow
def test_binder_recipe_builds_and_runs_the_tour(tmp_path):
    # A copy of the repository without its virtual environment, as Binder clones it.
    repo = tmp_path / "repo"
    shutil.copytree(
        ROOT,
        repo,
        ignore=shutil.ignore_patterns(
            ".git", ".venv", "__pycache__", "*.egg-info", ".pytest_cache", ".ruff_cache", "runs"
        ),
    )
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    env = {
        **os.environ,
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "VIRTUAL_ENV": str(venv),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    env.pop("PYTHONPATH", None)
    # requirements.txt as Binder reads it, less the CPU index (unreachable here): the torch
    # pin then resolves to the local CPU wheel of the same version.
    local = tmp_path / "requirements.txt"
    local.write_text("\n".join(line for line in _requirement_lines() if not line.startswith("--")))
    _run([python, "-m", "pip", "install", "-q", "-r", str(local)], repo, env, 1500)
    _run(["bash", "binder/postBuild"], repo, env, 600)
    # JupyterLab's kernel for the tour: this environment's python3 (its kernel spec is found
    # first on JUPYTER_PATH, and jupyter_client runs it with this interpreter).
    env["JUPYTER_PATH"] = str(venv / "share" / "jupyter")
    env["RLKIT_FAST"] = "1"
    executed = tmp_path / "tour_executed.ipynb"
    _run(
        [
            python,
            "-m",
            "jupyter",
            "nbconvert",
            "--to",
            "notebook",
            "--execute",
            "--ExecutePreprocessor.kernel_name=python3",
            "--ExecutePreprocessor.timeout=600",
            f"--output={executed}",
            TOUR,
        ],
        repo,
        env,
        900,
    )
    versions = _run(
        [python, "-c", "import torch, rlkit; print(torch.__version__, rlkit.__file__)"],
        repo,
        env,
        60,
    )
    assert versions.startswith("2.13.0"), versions
    assert str(repo) in versions, "rlkit must come from the Binder checkout"
    assert '"output_type": "error"' not in executed.read_text()
