"""The expected answers, stored as numbers: ``expected.json`` beside this file.

The package holds no answer key a student could import: each case's expected result (and, where
gradients must flow, the expected gradients of ``result.sum()``) is stored as plain numbers.
Teachers regenerate the file from the solutions after changing a case:

    .venv/bin/python solutions/make_expected.py

Encoding: a torch tensor or numpy array is ``{"kind", "dtype", "shape", "data"}`` (data as a flat
list; NaN and infinities as JSON's NaN/Infinity), a tuple is ``{"kind": "tuple", "items"}``,
numbers stay numbers. A sampled result (judged by its statistics) keeps no "data".
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import torch

EXPECTED_PATH = Path(__file__).with_name("expected.json")


def encode(value: Any) -> Any:
    """A result -> JSON-ready data (see the module docstring)."""
    if isinstance(value, tuple):
        return {"kind": "tuple", "items": [encode(v) for v in value]}
    if isinstance(value, torch.Tensor):
        array = value.detach().cpu().numpy()
        return {"kind": "torch", **_array_fields(array)}
    if isinstance(value, np.ndarray):
        return {"kind": "numpy", **_array_fields(value)}
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    return float(value)


def _array_fields(array: np.ndarray) -> dict:
    return {"dtype": str(array.dtype), "shape": list(array.shape), "data": array.ravel().tolist()}


def decode(data: Any) -> Any:
    """JSON data -> the result it encodes (tensors and arrays with their dtype and shape)."""
    if not isinstance(data, dict):
        return data
    if data["kind"] == "tuple":
        return tuple(decode(item) for item in data["items"])
    if "data" in data:
        array = np.asarray(data["data"], dtype=data["dtype"]).reshape(data["shape"])
    else:  # a sampled result: only its shape and dtype are stored
        array = np.zeros(data["shape"], dtype=data["dtype"])
    return torch.from_numpy(array) if data["kind"] == "torch" else array


@cache
def _load() -> dict:
    return json.loads(EXPECTED_PATH.read_text(encoding="utf-8"))


def expected_for(name: str, labels: list[str]) -> list[dict]:
    """The stored answers of exercise ``name``, one ``{"result", "grads"}`` per case label.

    Raises:
        KeyError: the file has no answers for this exercise or these cases (regenerate it).
    """
    stored = _load().get(name, {})
    missing = [label for label in labels if label not in stored]
    if missing:
        raise KeyError(
            f"{EXPECTED_PATH.name} has no stored answer for exercise {name!r}, case(s) "
            f"{missing}; a teacher regenerates it with: python solutions/make_expected.py"
        )
    return [
        {
            "result": decode(stored[label]["result"]),
            "grads": [decode(g) for g in stored[label].get("grads", [])],
        }
        for label in labels
    ]
