#!/usr/bin/env bash
# Set up rlkit on a fresh machine: a virtual environment in .venv with rlkit (editable), its
# dependencies, the real environments (ale-py with opencv, minigrid, minatar) and the test tools.
#
#   TORCH_SPEC  the torch requirement (default torch==2.13.0, the CPU build on these machines);
#               e.g. TORCH_SPEC="torch==2.13.0 --index-url https://download.pytorch.org/whl/cu126"
#   EXTRAS      more extras to install, comma separated (browser, bench, ray, logs, export, video, grading)
#   PYTHON      the interpreter that creates the venv (default python3)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
    "${PYTHON:-python3}" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
# torch first, pinned, so nothing later pulls a different (CUDA, multi-GB) build.
# shellcheck disable=SC2086
.venv/bin/python -m pip install -q --disable-pip-version-check ${TORCH_SPEC:-torch==2.13.0}
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[envs,test,migrate${EXTRAS:+,$EXTRAS}]"
echo "rlkit is set up in .venv ($(.venv/bin/python -c 'import torch; print("torch", torch.__version__)'))"
