"""Graded cases as text: what a release notebook carries, and what a graded cell reads back.

A graded case is written into the release (the nbgrader source notebook or the Otter master
notebook) as one JSON line: its label, its inputs, the expected result and, where gradients
must flow, the expected gradients. The installed package holds only this reader, never the
cases, so a student's ``pip install rlkit`` has no graded answers in it.

Values are encoded as in ``rlkit.exercises.stored`` (tensors and arrays with their dtype and
shape), plus ``ToyActionModel`` (by its probabilities) and, for arrays of more than
``INLINE_MAX`` numbers, the data as base64 of zlib-compressed bytes, which keeps a 8,000-row
input to a few hundred characters.
"""

from __future__ import annotations

import base64
import json
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from rlkit.exercises.autoregressive import ToyActionModel
from rlkit.exercises.checking import Case
from rlkit.exercises.stored import decode, encode

INLINE_MAX = 64


@dataclass
class GradedCheck:
    """One graded check of one exercise function: the teacher's definition.

    Lives in the teacher's course definition (``solutions/graded.py``), never in the package.

    Attributes:
        name: the exercise function, a key of ``rlkit.exercises.EXERCISES``.
        cases: the graded cases (students never see them).
        points: what the check is worth.
        weights: one weight per case for partial credit (points * passed weight / total
            weight); None (the default) grades all or nothing: every case must pass.
        capstone_points: what the same check is worth in the capstone (0: not graded there).
    """

    name: str
    cases: list[Case]
    points: float = 10.0
    weights: tuple[float, ...] | None = None
    capstone_points: float = 0.0

    def __post_init__(self) -> None:
        if not self.cases:
            raise ValueError(f"graded check {self.name!r} has no cases; give at least one")
        if self.points <= 0:
            raise ValueError(f"graded check {self.name!r}: points must be > 0, got {self.points}")
        if self.weights is not None:
            if len(self.weights) != len(self.cases) or min(self.weights) < 0:
                raise ValueError(
                    f"graded check {self.name!r}: weights must be {len(self.cases)} numbers "
                    f">= 0, one per case; got {self.weights}"
                )
            if sum(self.weights) <= 0:
                raise ValueError(f"graded check {self.name!r}: the weights add up to 0")


def pack_value(value: Any) -> Any:
    """A case input or an answer -> JSON-ready data."""
    if isinstance(value, ToyActionModel):
        return {"kind": "ToyActionModel", "p_a1": list(value.p_a1), "p_a2": list(value.p_a2)}
    data = encode(value)
    return _squeeze(data)


def _squeeze(data: Any) -> Any:
    if isinstance(data, dict) and data.get("kind") == "tuple":
        return {"kind": "tuple", "items": [_squeeze(item) for item in data["items"]]}
    if isinstance(data, dict) and len(data.get("data", ())) > INLINE_MAX:
        array = np.asarray(data.pop("data"), dtype=data["dtype"])
        data["zlib"] = base64.b64encode(zlib.compress(array.tobytes(), 9)).decode("ascii")
    return data


def unpack_value(data: Any) -> Any:
    """JSON data -> the value ``pack_value`` encoded."""
    if not isinstance(data, dict):
        return data
    if data["kind"] == "ToyActionModel":
        return ToyActionModel(tuple(data["p_a1"]), tuple(data["p_a2"]))
    if data["kind"] == "tuple":
        return tuple(unpack_value(item) for item in data["items"])
    if "zlib" in data:
        raw = zlib.decompress(base64.b64decode(data["zlib"]))
        array = np.frombuffer(raw, dtype=data["dtype"]).reshape(data["shape"]).copy()
        return torch.from_numpy(array) if data["kind"] == "torch" else array
    return decode(data)


def pack_case(case: Case, result: Any, grads: list | None, sampled: bool) -> str:
    """One graded case with its expected answer -> one JSON line.

    Args:
        case: the inputs.
        result: the solution's result on them.
        grads: the solution's gradients (None where the exercise has none).
        sampled: a sampled result is judged by statistics: only its shape and dtype are kept.
    """
    packed = pack_value(result)
    if sampled:
        packed.pop("data", None)
        packed.pop("zlib", None)
    entry = {
        "label": case.label,
        "args": {key: pack_value(value) for key, value in case.args.items()},
        "result": packed,
    }
    if grads is not None:
        entry["grads"] = [pack_value(g) for g in grads]
    return json.dumps(entry, separators=(",", ":"), allow_nan=True)


def unpack_case(text: str) -> tuple[Case, dict]:
    """One JSON line -> (the Case, its answer ``{"result", "grads"}``).

    Raises:
        ValueError: the text is not a graded case (a damaged release notebook).
    """
    try:
        entry = json.loads(text)
        case = Case(entry["label"], {k: unpack_value(v) for k, v in entry["args"].items()})
        answer = {
            "result": unpack_value(entry["result"]),
            "grads": [unpack_value(g) for g in entry.get("grads", [])],
        }
    except (ValueError, KeyError, TypeError) as err:
        raise ValueError(
            f"this graded cell's case data is damaged ({type(err).__name__}: {err}); rebuild "
            f"the course with: python -m rlkit grading build"
        ) from None
    return case, answer
