"""The machinery behind every ``check_<name>``: run the student's function, compare, explain.

A check runs the student's function on a few cases and compares each result with the answer
key's (``rlkit.exercises.reference``). The first case that differs stops the check and the
verdict says what differs -- the type, the shape, the dtype or a value -- and where (which
case, which output, which index), then adds a hint when the wrong answer matches a mistake
students often make.

The student's function gets copies of the inputs, so a function that changes its input in
place cannot spoil the reference's answer; it is told that it did, because an algorithm that
overwrites its rollout batch is a bug that is hard to find later.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

# float32 answers computed in another order differ in the last digits; anything beyond this is
# a different formula, not rounding.
RTOL, ATOL = 1e-4, 1e-5


@dataclass
class Case:
    """One input for the student's function.

    Attributes:
        label: how the verdict names the case, e.g. ``"a batch of 3 with n = 4"``.
        args: the positional arguments, by parameter name (the names appear in messages).
    """

    label: str
    args: dict[str, Any]


@dataclass
class Mistake:
    """A wrong answer students often write, and the hint to give when it is recognised.

    Attributes:
        fn: computes that wrong answer from the same arguments.
        hint: what to tell a student whose result equals ``fn``'s.
    """

    fn: Callable[..., Any]
    hint: str


@dataclass
class Exercise:
    """Everything a check needs: the answer key, the cases and how to read the outputs.

    Attributes:
        name: the function the student writes, e.g. ``"one_hot"``.
        reference: the answer key, same signature as the student's function.
        cases: the inputs, checked in order.
        output_names: names of the parts of a tuple result, e.g. ``("count", "mean", "var")``.
        axes: names of the axes of an array result, e.g. ``("row", "category")``.
        mistakes: recognised wrong answers.
        compare: replaces the element-wise comparison (for sampled results); returns a
            description of the difference or None.
    """

    name: str
    reference: Callable[..., Any]
    cases: Sequence[Case]
    output_names: tuple[str, ...] = ()
    axes: tuple[str, ...] = ()
    mistakes: Sequence[Mistake] = ()
    compare: Callable[[Any, Any, Case], str | None] | None = None
    notebook: str = ""


@dataclass
class Verdict:
    """What a check found. True when every case matched.

    Attributes:
        exercise: the exercise's name.
        passed: whether every case matched the reference.
        message: the text printed for the student.
        case: label of the first case that differed (None when passed).
    """

    exercise: str
    passed: bool
    message: str
    case: str | None = None
    details: dict = field(default_factory=dict)

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        return self.message

    def _ipython_display_(self) -> None:
        # The check has already printed the message; showing the object again would repeat it.
        pass


def run_check(exercise: Exercise, student_fn: Any, verbose: bool = True) -> Verdict:
    """Run ``student_fn`` on every case of ``exercise`` and build the verdict.

    Args:
        exercise: what to check against.
        student_fn: the student's function, called positionally as ``student_fn(*case.args)``.
        verbose: print the verdict (what a notebook wants).

    Returns:
        The Verdict; ``bool(verdict)`` says whether it passed.
    """
    verdict = _judge(exercise, student_fn)
    if verbose:
        print(verdict.message)
    return verdict


def _judge(exercise: Exercise, student_fn: Any) -> Verdict:
    name = exercise.name
    if not callable(student_fn):
        return Verdict(
            name,
            False,
            f"✗ {name}: check_{name} takes your function itself, e.g. check_{name}({name}); "
            f"got {type(student_fn).__name__} {student_fn!r:.60}",
        )
    for number, case in enumerate(exercise.cases, start=1):
        where = f"case {number} of {len(exercise.cases)} ({case.label})"
        problem = _run_case(exercise, student_fn, case)
        if problem is not None:
            message = f"✗ {name}: not yet. In {where}:\n  {problem}"
            return Verdict(name, False, message, case=case.label)
    return Verdict(
        name,
        True,
        f"✓ {name}: all {len(exercise.cases)} cases match the reference "
        f"(types, shapes, dtypes and values). Well done!",
    )


def _run_case(exercise: Exercise, student_fn: Callable, case: Case) -> str | None:
    """Return what went wrong on this case, or None when the student's answer matches."""
    inputs = copy.deepcopy(case.args)
    torch.manual_seed(0)  # sampled exercises then see the same numbers on every run
    try:
        got = student_fn(*inputs.values())
    except NotImplementedError:
        return (
            f"your {exercise.name} raised NotImplementedError: it is still the stub. Write "
            f"your code in its cell, run that cell, then run this check again."
        )
    except Exception as err:  # any error in student code becomes a message, not a traceback
        line = _student_line(err)
        return (
            f"your {exercise.name} raised {type(err).__name__}: {err}{line}\n"
            f"  inputs: {describe_inputs(case.args)}"
        )
    changed = _changed_inputs(case.args, inputs)
    if changed:
        return (
            f"your {exercise.name} changed its input '{changed}' in place; compute a new "
            f"array or tensor instead (the caller still needs the original)"
        )
    torch.manual_seed(0)
    expected = exercise.reference(*copy.deepcopy(case.args).values())
    if exercise.compare is not None:
        problem = exercise.compare(got, expected, case)
    else:
        problem = describe_difference(got, expected, "the result", exercise)
    if problem is None:
        return None
    return problem + _hint(exercise, case, got)


# Frames in these folders are library code; the innermost frame elsewhere is the student's.
_LIBRARY_DIRS = tuple(
    os.path.dirname(os.path.dirname(os.path.abspath(m.__file__))) + os.sep for m in (np, torch)
) + (os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep,)


def _student_line(err: Exception) -> str:
    """' (line N of your code)' for the innermost frame outside the libraries, if any."""
    tb, line = err.__traceback__, None
    while tb is not None:
        filename = os.path.abspath(tb.tb_frame.f_code.co_filename)
        if not filename.startswith(_LIBRARY_DIRS):
            line = tb.tb_lineno
        tb = tb.tb_next
    return f" (line {line} of your code)" if line is not None else ""


def _hint(exercise: Exercise, case: Case, got: Any) -> str:
    for mistake in exercise.mistakes:
        torch.manual_seed(0)
        try:
            wrong = mistake.fn(*copy.deepcopy(case.args).values())
        except Exception:  # a mistake that cannot run on this case is not the one made
            continue
        if _same(got, wrong, exercise):
            return f"\n  Hint: {mistake.hint}"
    return ""


def _same(got: Any, wrong: Any, exercise: Exercise) -> bool:
    if exercise.compare is not None:
        return False  # sampled results are judged by their statistics, not recognised
    return describe_difference(got, wrong, "", exercise) is None


def _changed_inputs(original: dict[str, Any], passed: dict[str, Any]) -> str | None:
    for key, value in original.items():
        if isinstance(value, (np.ndarray, torch.Tensor)):
            a = np.asarray(value.detach() if isinstance(value, torch.Tensor) else value)
            b = passed[key]
            b = np.asarray(b.detach() if isinstance(b, torch.Tensor) else b)
            if a.shape != b.shape or not np.array_equal(a, b, equal_nan=a.dtype.kind == "f"):
                return key
    return None


# -- describing a difference -------------------------------------------------------------------
def describe_difference(got: Any, expected: Any, what: str, exercise: Exercise) -> str | None:
    """Say how ``got`` differs from ``expected`` (type, length, shape, dtype, value), or None.

    Args:
        got: the student's result.
        expected: the reference result: a tensor, an array, a Python number or a tuple of them.
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
        if expected.requires_grad and got.grad_fn is None and not got.requires_grad:
            return (
                f"{what} has no gradient: it was computed outside torch's autograd (through "
                f".item(), .numpy() or torch.no_grad()), so loss.backward() cannot reach the "
                f"model. Keep every step a torch operation on the inputs."
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
        if isinstance(got, (list, tuple)):
            got = np.asarray(got)
        if not isinstance(got, np.ndarray):
            return f"type differs: {what} should be a numpy array, you returned {_type_name(got)}"
        return _array_difference(got, expected, what, exercise, "")
    return _scalar_difference(got, expected, what)


def _tuple_difference(got: Any, expected: tuple, what: str, exercise: Exercise) -> str | None:
    names = exercise.output_names
    if not isinstance(got, (tuple, list)) or len(got) != len(expected):
        wanted = f"({', '.join(names)})" if names else f"{len(expected)} values"
        found = f"{len(got)} values" if isinstance(got, (tuple, list)) else _type_name(got)
        return f"{what} should be a tuple {wanted}; you returned {found}"
    for i, (g, e) in enumerate(zip(got, expected)):
        part = names[i] if i < len(names) else f"part {i}"
        sub = Exercise(exercise.name, exercise.reference, (), axes=exercise.axes)
        problem = describe_difference(g, e, f"{part} (item {i} of the result)", sub)
        if problem is not None:
            return problem
    return None


def _array_difference(
    got: np.ndarray, expected: np.ndarray, what: str, exercise: Exercise, prefix: str
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
