"""Past runs read back from their folders: the results ``train()`` returned, iteration by iteration.

    >>> results = load_results("runs/ppo_lr3e-4")           # [{...}, {...}, ...]
    >>> dashboard.load_run("runs/ppo_lr3e-4")               # beside the live runs' curves

A run folder is what ``logger_config`` (or ``python -m rlkit train --out``) writes, or a Ray
Tune / RLlib trial folder: ``result.json`` (one JSON object per line, nested) is read when it
is there, else ``progress.csv`` (flat "/" columns, nested again here; numbers as numbers,
empty cells left out). A run that was killed while writing its last line keeps every earlier
line; a broken line before the last is an error naming the line.
"""

from __future__ import annotations

import csv
import json
import os
from typing import Any


def load_results(folder: str) -> list[dict[str, Any]]:
    """Every iteration's result in a run folder, in order.

    Raises:
        FileNotFoundError: the folder holds neither result.json nor progress.csv.
        ValueError: a line of result.json (not the last) is not JSON.
    """
    folder = os.path.expanduser(os.fspath(folder))
    path = os.path.join(folder, "result.json")
    if os.path.exists(path):
        return _read_json_lines(path)
    path = os.path.join(folder, "progress.csv")
    if os.path.exists(path):
        with open(path, newline="", encoding="utf-8") as f:
            return [
                unflatten({k: _number(v) for k, v in row.items() if v != ""})
                for row in csv.DictReader(f)
            ]
    raise FileNotFoundError(
        f"no run in '{folder}': a run folder holds result.json or progress.csv (written with "
        f"config logger_config={{'logdir': ...}} or python -m rlkit train --out DIR)"
    )


def _read_json_lines(path: str) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as f:
        lines = [line for line in f.read().splitlines() if line.strip()]
    results = []
    for number, line in enumerate(lines, 1):
        try:
            results.append(json.loads(line))
        except json.JSONDecodeError as err:
            if number == len(lines):
                break  # the last line of a run stopped while writing it
            raise ValueError(f"{path} line {number} is not JSON ({err.msg})") from None
    return results


def _number(text: str) -> Any:
    """A CSV cell as it was logged: an int, a float (NaN included), or the text."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return {"True": True, "False": False}.get(text, text)


def unflatten(flat: dict[str, Any]) -> dict[str, Any]:
    """Flat "/" keys -> nested dicts: ``{"info/lr": 1}`` -> ``{"info": {"lr": 1}}``."""
    out: dict[str, Any] = {}
    for key, value in flat.items():
        *parents, leaf = key.split("/")
        node = out
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return out


def run_label(folder: str) -> str:
    """A run's name for a legend: its folder's name."""
    return os.path.basename(os.path.normpath(os.fspath(folder)))
