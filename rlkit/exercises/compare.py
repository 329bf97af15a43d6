"""Saying how a result differs from the expected one: type, length, shape, dtype, value.

``describe_difference(got, expected, what, layout)`` returns a sentence for the student, or
None when they agree (float values to RTOL/ATOL). ``layout`` names the parts of a tuple result
(``output_names``) and the axes of an array (``axes``), so the sentence can say "at index [0, 1]
(row 0, action 1)".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

# float32 answers computed in another order differ in the last digits; anything beyond this is
# a different formula, not rounding.
RTOL, ATOL = 1e-4, 1e-5


@dataclass
class Layout:
    """Names for a result's parts and axes (an Exercise has the same two attributes)."""

    output_names: tuple[str, ...] = ()
    axes: tuple[str, ...] = ()


def describe_difference(got: Any, expected: Any, what: str, exercise: Any) -> str | None:
    """Say how ``got`` differs from ``expected`` (type, length, shape, dtype, value), or None.

    Args:
        got: the student's result.
        expected: the expected result: a tensor, an array, a Python number or a tuple of them.
        what: how to name the result in the message, e.g. ``"the result"``.
        exercise: supplies ``output_names`` (tuple results) and ``axes`` (index names).
    """
    if isinstance(expected, tuple):
        return _tuple_difference(got, expected, what, exercise)
    if isinstance(expected, torch.Tensor):
        if not isinstance(got, torch.Tensor):
            return (
                f"type differs: {what} should be a torch.Tensor, you returned "
                f"{_type_name(got)}. Stay in torch (torch.log_softmax, torch.where, ...) so "
                f"that gradients can flow back through it."
            )
        return _array_difference(
            got.detach().cpu().numpy(), expected.detach().cpu().numpy(), what, exercise, "torch."
        )
    if isinstance(expected, np.ndarray):
        if isinstance(got, torch.Tensor):
            return (
                f"type differs: {what} should be a numpy array, you returned a torch.Tensor; "
                f"use numpy here (or return tensor.numpy())"
            )
        if not isinstance(got, np.ndarray):
            extra = ""
            if isinstance(got, (list, tuple)):
                extra = (
                    f"; a {type(got).__name__} has no dtype or shape: build the result with "
                    f"np.array(..., dtype=np.{expected.dtype}) or fill an np.zeros array"
                )
            return (
                f"type differs: {what} should be a numpy array, you returned "
                f"{_type_name(got)}{extra}"
            )
        return _array_difference(got, expected, what, exercise, "")
    return _scalar_difference(got, expected, what)


def _tuple_difference(got: Any, expected: tuple, what: str, exercise: Any) -> str | None:
    names = exercise.output_names
    if not isinstance(got, (tuple, list)) or len(got) != len(expected):
        wanted = f"({', '.join(names)})" if names else f"{len(expected)} values"
        found = f"{len(got)} values" if isinstance(got, (tuple, list)) else _type_name(got)
        return f"{what} should be a tuple {wanted}; you returned {found}"
    for i, (g, e) in enumerate(zip(got, expected)):
        part = names[i] if i < len(names) else f"part {i}"
        sub = Layout(axes=exercise.axes)
        problem = describe_difference(g, e, f"{part} (item {i} of the result)", sub)
        if problem is not None:
            return problem
    return None


def _array_difference(
    got: np.ndarray, expected: np.ndarray, what: str, exercise: Any, prefix: str
) -> str | None:
    if got.shape != expected.shape:
        extra = ""
        if got.ndim == expected.ndim + 1 and 1 in got.shape:
            extra = " (an extra axis of size 1: squeeze it away)"
        elif expected.ndim == 0:
            extra = " (a single number: take the mean or sum over the batch)"
        elif got.shape == expected.shape[::-1] and got.ndim > 1:
            extra = " (the axes are swapped)"
        return (
            f"shape differs: {what} should have shape {list(expected.shape)}, you returned "
            f"shape {list(got.shape)}{extra}"
        )
    if got.dtype != expected.dtype:
        return (
            f"dtype differs: {what} should be {prefix}{expected.dtype}, you returned "
            f"{prefix}{got.dtype}"
        )
    if expected.dtype.kind in "fc":
        close = np.isclose(got, expected, rtol=RTOL, atol=ATOL, equal_nan=True)
    else:
        close = got == expected
    if close.all():
        return None
    index = tuple(int(i) for i in np.argwhere(~close)[0])
    count = int((~close).sum())
    at = _where(index, exercise.axes)
    others = f" ({count} of {close.size} entries differ)" if close.size > 1 else ""
    part = "" if what == "the result" else f" in {what}"
    return (
        f"value differs{part}{at}: you returned {_fmt(got[index])}, the answer is "
        f"{_fmt(expected[index])}{others}"
    )


def _scalar_difference(got: Any, expected: Any, what: str) -> str | None:
    if isinstance(expected, (bool, np.bool_)):
        ok_type = isinstance(got, (bool, np.bool_))
    elif isinstance(expected, (int, np.integer)):
        ok_type = isinstance(got, (int, np.integer)) and not isinstance(got, bool)
    else:
        ok_type = isinstance(got, (int, float, np.floating, np.integer))
    if not ok_type:
        kind = "an int" if isinstance(expected, (int, np.integer)) else "a number"
        return f"type differs: {what} should be {kind}, you returned {_type_name(got)}"
    if isinstance(expected, (int, np.integer)):
        same = int(got) == int(expected)
    else:
        same = bool(np.isclose(float(got), float(expected), rtol=RTOL, atol=ATOL))
    if same:
        return None
    return f"value differs: {what} should be {_fmt(expected)}, you returned {_fmt(got)}"


def _where(index: tuple, axes: Sequence[str]) -> str:
    if not index:
        return ""
    if len(axes) == len(index):
        named = ", ".join(f"{a} {i}" for a, i in zip(axes, index))
        return f" at index {list(index)} ({named})"
    return f" at index {list(index)}"


def _fmt(x: Any) -> str:
    value = x.item() if hasattr(x, "item") else x
    if isinstance(value, float):
        if value == np.finfo(np.float32).min:
            return f"{value:.7g} (float32 min)"
        return f"{value:.6g}"
    return repr(value)


def _type_name(x: Any) -> str:
    if x is None:
        return "None (did you forget the return statement?)"
    kind = type(x)
    module = "" if kind.__module__ == "builtins" else kind.__module__.split(".")[0] + "."
    return f"{module}{kind.__name__}"


def describe_inputs(args: dict[str, Any]) -> str:
    """A short text of the case's inputs: small arrays in full, larger ones by shape."""
    return ", ".join(f"{key}={_short(value)}" for key, value in args.items())


def _short(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        if value.numel() <= 12:
            return f"tensor({value.detach().tolist()})"
        return f"tensor of shape {list(value.shape)} {value.dtype}"
    if isinstance(value, np.ndarray):
        if value.size <= 12:
            return f"np.array({value.tolist()}, dtype={value.dtype})"
        return f"array of shape {list(value.shape)} {value.dtype}"
    if callable(value):
        return getattr(value, "__name__", type(value).__name__)
    return repr(value)


def describe_nan_gradient(grad: torch.Tensor, want: Any, what: str) -> str | None:
    """Name a NaN gradient as such: the values can be finite (nan_to_num, where) while it is not."""
    grad = grad.detach()
    want = torch.as_tensor(want)
    bad = torch.isnan(grad) & ~torch.isnan(want)
    if not bool(bad.any()):
        return None
    index = [int(i) for i in torch.nonzero(bad)[0]]
    return (
        f"{what} is NaN at index {index} ({int(bad.sum())} of {bad.numel()} entries), though "
        f"the values are right: a NaN or inf inside the computation (0 * log 0, log of a "
        f"masked probability) poisons the gradient even when nan_to_num or torch.where hides "
        f"it in the result. Compute with finite numbers throughout (torch.log_softmax)."
    )
