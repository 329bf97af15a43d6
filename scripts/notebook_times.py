"""Execute every tutorial and exercise notebook and report how long each one takes.

    .venv/bin/python scripts/notebook_times.py                 # fast mode (RLKIT_FAST=1), as CI
    .venv/bin/python scripts/notebook_times.py --full          # the learner's training budgets
    .venv/bin/python scripts/notebook_times.py notebooks/03_recurrent_models.ipynb
    .venv/bin/python scripts/notebook_times.py --refresh-checked   # after editing a notebook

The notebooks run in a kernel of this interpreter, from their own folder, as nbval runs them.
Each line also gives the kernel's peak memory (resident set size), what one student's kernel
needs on a shared JupyterHub.
The exit status is 1 when a notebook fails or the whole set takes longer than ``--budget``
seconds (600 by default: CI runs the set in under 10 minutes).

``--refresh-checked`` writes the notebooks that have checked cells back the way they are
committed: outputs stripped, except the text outputs (and execution counts) of cells marked
``# NBVAL_CHECK_OUTPUT``, which nbval compares with what a fresh run prints (shapes, explain()
texts, exercise verdicts).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHECK_MARKER = "# NBVAL_CHECK_OUTPUT"


def find_notebooks(paths: list[str]) -> list[Path]:
    """The given notebooks, or every .ipynb under notebooks/ (checkpoints excluded), sorted."""
    if paths:
        return [Path(p).resolve() for p in paths]
    found = (ROOT / "notebooks").rglob("*.ipynb")
    return sorted(p for p in found if ".ipynb_checkpoints" not in p.parts)


def use_this_interpreter() -> None:
    """Make the 'python3' kernel this interpreter's, whatever kernels the user has installed.

    Jupyter searches JUPYTER_PATH before the user's folders; this environment's kernel spec
    starts "python", which jupyter_client replaces with sys.executable.
    """
    share = str(Path(sys.prefix) / "share" / "jupyter")
    os.environ["JUPYTER_PATH"] = os.pathsep.join(
        [share] + [p for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep) if p]
    )


MEMORY_PROBE = (
    "import resource, sys\n"
    "_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kB on Linux, bytes on macOS\n"
    "print(_kb / 1024 / (1024 if sys.platform == 'darwin' else 1))"
)


def execute(path: Path, timeout: int) -> tuple[float, object, str | None, float | None]:
    """Run one notebook top to bottom.

    Returns:
        (seconds, executed notebook, error or None, the kernel's peak memory in MB or None).
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(MEMORY_PROBE))
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    start = time.perf_counter()
    error = None
    try:
        client.execute()
    except CellExecutionError as err:
        error = str(err).strip().splitlines()[-1] if str(err).strip() else repr(err)
    except Exception as err:  # a dead kernel or a timeout is reported like a failing cell
        error = f"{type(err).__name__}: {err}"
    seconds = time.perf_counter() - start
    probe = nb.cells.pop()
    try:
        peak_mb = float(probe.outputs[0]["text"])
    except (IndexError, KeyError, ValueError):
        peak_mb = None
    return seconds, nb, error, peak_mb


def has_checked_cells(nb) -> bool:
    """Whether a notebook follows the checked-outputs convention (others are left alone)."""
    return any(cell.cell_type == "code" and CHECK_MARKER in cell.source for cell in nb.cells)


def keep_checked_outputs(nb) -> None:
    """Strip outputs in place, except the text outputs of NBVAL_CHECK_OUTPUT cells.

    The run's widget state and interpreter details are dropped from the metadata too: they
    change from run to run and machine to machine, and only make the file larger.
    """
    nb.metadata.pop("widgets", None)
    nb.metadata["language_info"] = {"name": "python"}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell.metadata.pop("execution", None)
        if CHECK_MARKER in cell.source:
            # nbval refuses stored outputs without an execution count ("unrun reference cell"),
            # and nbformat (so nbconvert and nbgrader) an execute_result without its own.
            for output in cell.outputs:
                if "data" in output:
                    output["data"] = {"text/plain": output["data"].get("text/plain", "")}
                    output["metadata"] = {}
            cell.outputs = [o for o in cell.outputs if o.get("output_type") != "display_data"]
        else:
            cell.execution_count = None
            cell.outputs = []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", help="notebooks to run (default: all)")
    parser.add_argument("--full", action="store_true", help="full training budgets")
    parser.add_argument("--budget", type=float, default=600.0, help="seconds for the whole set")
    parser.add_argument("--timeout", type=int, default=300, help="seconds for one cell")
    parser.add_argument("--json", help="also write the times to this JSON file")
    parser.add_argument(
        "--refresh-checked", action="store_true", help="write back checked outputs, strip others"
    )
    args = parser.parse_args(argv)
    if args.full:
        os.environ.pop("RLKIT_FAST", None)
    else:
        os.environ["RLKIT_FAST"] = "1"
    use_this_interpreter()
    import nbformat

    rows, failed = [], 0
    total_start = time.perf_counter()
    for path in find_notebooks(args.notebooks):
        seconds, nb, error, peak_mb = execute(path, args.timeout)
        name = str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)
        status = "ok" if error is None else f"FAILED: {error}"
        memory = f"{peak_mb:6.0f} MB" if peak_mb is not None else "     ? MB"
        print(f"{seconds:7.1f} s  {memory}  {name}  {status}", flush=True)
        rows.append(
            {"notebook": name, "seconds": round(seconds, 2), "peak_mb": peak_mb, "error": error}
        )
        failed += error is not None
        if args.refresh_checked and error is None and has_checked_cells(nb):
            keep_checked_outputs(nb)
            nbformat.write(nb, path)
    total = time.perf_counter() - total_start
    mode = "full budgets" if args.full else "fast mode (RLKIT_FAST=1)"
    print(f"{total:7.1f} s  total for {len(rows)} notebooks, {mode}; budget {args.budget:.0f} s")
    if args.json:
        Path(args.json).write_text(
            json.dumps({"total_seconds": total, "notebooks": rows}, indent=1)
        )
    if failed:
        print(f"{failed} notebook(s) failed")
    over = total > args.budget
    if over:
        print(f"the set took {total:.0f} s, more than the {args.budget:.0f} s budget")
    return 1 if failed or over else 0


if __name__ == "__main__":
    raise SystemExit(main())
