"""The machinery behind every ``check_<name>``: run the student's function, compare, explain.

A check runs the student's function on every case and compares each result with the stored
expected answer (``expected.json``, written by ``solutions/make_expected.py``; the package
holds no answer key, only numbers). For the first case that differs, the verdict says what
differs -- the type, the shape, the dtype, a value or a gradient -- and where (which case,
which output, which index), then adds a hint when the wrong answer matches a mistake students
often make. The verdict also carries a score, passed cases / cases, as feedback (grades come
from the hidden, all-or-nothing cases of ``rlkit.grading``).

Where the exercise says gradients must flow (``Exercise.grad_args``), the check makes those
inputs require grad, backpropagates ``result.sum()`` (or ``Exercise.grad_of``) and compares the
gradients too: an answer
computed under ``torch.no_grad()`` or through ``.detach()`` has the right values but fails.

The student's function gets copies of the inputs; changing one in place is reported, because
an algorithm that overwrites its rollout batch is a bug that is hard to find later.
"""

from __future__ import annotations

import copy
import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from rlkit.exercises.compare import describe_difference, describe_inputs, describe_nan_gradient
from rlkit.exercises.limits import CaseTimeout, time_limit
from rlkit.exercises.stored import expected_for

# A case is a few small arrays: seconds beyond this are an endless loop, not a slow answer.
CASE_SECONDS = 20.0
TIMED_OUT = "stopped after"


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
        fn: computes that wrong answer from the case's arguments (None with ``when``).
        hint: what to tell a student whose result is this mistake.
        when: ``when(got, expected, args) -> bool`` recognises the mistake from the result
            instead (see ``Mistake.seen_when``).
    """

    fn: Callable[..., Any] | None
    hint: str
    when: Callable[[Any, Any, dict], bool] | None = None

    @classmethod
    def seen_when(cls, when: Callable[[Any, Any, dict], bool], hint: str) -> Mistake:
        """A mistake recognised by ``when(got, expected, args)`` rather than recomputed."""
        return cls(None, hint, when)


@dataclass
class Exercise:
    """Everything a check needs: the cases, how to read the outputs, the known mistakes.

    Attributes:
        name: the function the student writes, e.g. ``"one_hot"``.
        cases: the inputs, checked in order; their answers are stored under ``name``.
        output_names: names of the parts of a tuple result, e.g. ``("count", "mean", "var")``.
        axes: names of the axes of an array result, e.g. ``("row", "category")``.
        mistakes: recognised wrong answers.
        compare: replaces the element-wise comparison (for sampled results); returns a
            description of the difference or None.
        grad_args: arguments that gradients must flow back to (tensors, or objects with a
            ``parameters()`` method).
        grad_of: ``grad_of(result, inputs) -> scalar`` whose gradient is compared (default
            ``result.sum()``).
        notebook: the exercise notebook's file name.
    """

    name: str
    cases: Sequence[Case]
    output_names: tuple[str, ...] = ()
    axes: tuple[str, ...] = ()
    mistakes: Sequence[Mistake] = ()
    compare: Callable[[Any, Any, Case], str | None] | None = None
    grad_args: tuple[str, ...] = ()
    grad_of: Callable[[Any, dict], torch.Tensor] | None = None
    notebook: str = ""


@dataclass
class Verdict:
    """What a check found. True when every case matched.

    Attributes:
        exercise: the exercise's name.
        passed: whether every case matched.
        message: the text printed for the student.
        case: label of the first case that differed (None when passed).
        passed_cases: how many cases matched.
        total_cases: how many cases there are.
    """

    exercise: str
    passed: bool
    message: str
    case: str | None = None
    passed_cases: int = 0
    total_cases: int = 0
    details: dict = field(default_factory=dict)

    @property
    def score(self) -> float:
        """Passed cases / cases, in [0, 1]."""
        return self.passed_cases / self.total_cases if self.total_cases else 0.0

    def points(self, max_points: float) -> float:
        """The practice score scaled to ``max_points`` (feedback; grades: rlkit.grading)."""
        return round(self.score * max_points, 4)

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
        The Verdict; ``bool(verdict)`` says whether it passed, ``verdict.score`` how far.
    """
    verdict = _judge(exercise, student_fn)
    if verbose:
        print(verdict.message)
    return verdict


def _judge(exercise: Exercise, student_fn: Any) -> Verdict:
    name, total = exercise.name, len(exercise.cases)
    if not callable(student_fn):
        return Verdict(
            name,
            False,
            f"✗ {name}: check_{name} takes your function itself, e.g. check_{name}({name}); "
            f"got {type(student_fn).__name__} {student_fn!r:.60}",
            total_cases=total,
        )
    stored = expected_for(name, [case.label for case in exercise.cases])
    first: tuple[int, Case, str] | None = None
    passed = 0
    for number, (case, answer) in enumerate(zip(exercise.cases, stored), start=1):
        problem = run_case(exercise, student_fn, case, answer)
        if problem is None:
            passed += 1
        elif first is None:
            first = (number, case, problem)
        if problem is not None and problem.startswith(TIMED_OUT):
            break  # the later cases would loop as long: they count as failed
    if first is None:
        message = (
            f"✓ {name}: all {total} cases match the expected answers (types, shapes, dtypes, "
            f"values{' and gradients' if exercise.grad_args else ''}). Well done! "
            f"Score {total}/{total}."
        )
        return Verdict(name, True, message, passed_cases=total, total_cases=total)
    number, case, problem = first
    message = (
        f"✗ {name}: not yet. In case {number} of {total} ({case.label}):\n  {problem}\n"
        f"  Score {passed}/{total} cases."
    )
    return Verdict(name, False, message, case=case.label, passed_cases=passed, total_cases=total)


def call_on_case(exercise: Exercise, fn: Callable, case: Case) -> tuple[Any, dict[str, Any]]:
    """Call ``fn`` on a fresh copy of the case's inputs, as every check and record does.

    Returns:
        (the result, the copied inputs, with the ``grad_args`` requiring grad).
    """
    inputs = copy.deepcopy(case.args)
    for leaf in grad_leaves(exercise, inputs):
        leaf.requires_grad_(True)
    torch.manual_seed(0)  # sampled exercises then see the same numbers on every run
    return fn(*inputs.values()), inputs


def grad_leaves(exercise: Exercise, inputs: dict[str, Any]) -> list[torch.Tensor]:
    """The tensors gradients must reach: ``grad_args`` themselves or their ``parameters()``."""
    leaves = []
    for name in exercise.grad_args:
        value = inputs[name]
        leaves.extend([value] if isinstance(value, torch.Tensor) else value.parameters())
    return leaves


def gradients(exercise: Exercise, inputs: dict[str, Any], result: Any) -> list | None:
    """Gradients of grad_of(result) with respect to each grad leaf (None where none reaches).

    Returns None when the result is not connected to autograd at all.
    """
    if not isinstance(result, torch.Tensor) or not result.requires_grad:
        return None
    leaves = grad_leaves(exercise, inputs)
    total = exercise.grad_of(result, inputs) if exercise.grad_of else result.sum()
    return list(torch.autograd.grad(total, leaves, allow_unused=True))


def run_case(
    exercise: Exercise,
    student_fn: Callable,
    case: Case,
    answer: dict,
    seconds: float | None = CASE_SECONDS,
) -> str | None:
    """What went wrong on this case, or None when the student's answer matches.

    Args:
        exercise: the exercise (layout, mistakes, gradients).
        student_fn: the student's function.
        case: the inputs.
        answer: ``{"result", "grads"}``, the expected answer.
        seconds: the call's time limit; a longer call is stopped and the message starts
            with ``TIMED_OUT``.
    """
    try:
        with time_limit(seconds):
            got, inputs = call_on_case(exercise, student_fn, case)
    except CaseTimeout:
        return (
            f"{TIMED_OUT} {seconds:g} s: your {exercise.name} did not return (an endless "
            f"loop? a while loop whose condition never changes, or a counter that is never "
            f"increased)"
        )
    except NotImplementedError:
        return (
            f"your {exercise.name} raised NotImplementedError: it is still the stub. Write "
            f"your code in its cell, run that cell, then run this check again."
        )
    except Exception as err:  # any error in student code becomes a message, not a traceback
        return (
            f"your {exercise.name} raised {type(err).__name__}: {err}{_student_line(err)}\n"
            f"  inputs: {describe_inputs(case.args)}"
        )
    changed = _changed_inputs(case.args, inputs)
    if changed:
        return (
            f"your {exercise.name} changed its input '{changed}' in place; compute a new "
            f"array or tensor instead (the caller still needs the original)"
        )
    expected = answer["result"]
    if exercise.compare is not None:
        problem = exercise.compare(got, expected, case)
    else:
        problem = describe_difference(got, expected, "the result", exercise)
    if problem is not None:
        return problem + _hint(exercise, case, got, expected)
    if exercise.grad_args:
        # The values matched, so a hint recognised by value would name a mistake not made
        # (on this case a wrong formula can give the right numbers): the gradient's own words.
        return _gradient_problem(exercise, inputs, got, answer["grads"])
    return None


def _gradient_problem(exercise: Exercise, inputs: dict, got: Any, expected: list) -> str | None:
    names = ", ".join(exercise.grad_args)
    try:
        grads = gradients(exercise, inputs, got)
    except RuntimeError as err:
        return f"backpropagating through your result failed: {err}"
    if grads is None:
        return (
            f"the result has no gradient: it was computed outside torch's autograd (under "
            f"torch.no_grad(), through .detach(), .item() or .numpy()), so loss.backward() "
            f"cannot reach {names}. Gradients must flow: keep every step a torch operation "
            f"on the inputs."
        )
    for leaf, grad, want in zip(_leaf_names(exercise, inputs), grads, expected):
        what = f"the gradient with respect to {leaf}"
        if grad is None:
            grad = torch.zeros_like(torch.as_tensor(want))
            if bool((grad != torch.as_tensor(want)).any()):
                return (
                    f"{what} is missing: part of your computation is cut off from autograd "
                    f"(a .detach(), torch.no_grad() or a new tensor made from its numbers)."
                )
        nan = describe_nan_gradient(grad, want, what)
        if nan is not None:
            return nan
        problem = describe_difference(grad, want, what, Exercise(exercise.name, ()))
        if problem is not None:
            return problem + " (the values match, so part of the computation is detached?)"
    return None


def _leaf_names(exercise: Exercise, inputs: dict) -> list[str]:
    names = []
    for name in exercise.grad_args:
        value = inputs[name]
        if isinstance(value, torch.Tensor):
            names.append(name)
        else:
            names.extend(f"{name}.parameters()[{j}]" for j in range(len(value.parameters())))
    return names


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


def _hint(exercise: Exercise, case: Case, got: Any, expected: Any) -> str:
    if exercise.compare is not None:
        return ""  # sampled results are judged by their statistics, not recognised
    for mistake in exercise.mistakes:
        if _is_mistake(mistake, exercise, copy.deepcopy(case.args), got, expected):
            return f"\n  Hint: {mistake.hint}"
    return ""


def _is_mistake(mistake: Mistake, exercise: Exercise, args: dict, got: Any, expected: Any) -> bool:
    # A mistake's formula may warn (or fail) on a case it does not apply to: stay quiet.
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            if mistake.when is not None:
                return bool(mistake.when(got, expected, args))
            torch.manual_seed(0)
            wrong = mistake.fn(*args.values())
            return describe_difference(got, wrong, "", exercise) is None
        except Exception:  # a mistake that cannot run on this case is not the one made
            return False


def same(got: Any, wrong: Any) -> bool:
    """Whether ``got`` equals ``wrong`` in type, shape, dtype and value (for ``Mistake.when``)."""
    try:
        return describe_difference(got, wrong, "", Exercise("", ())) is None
    except Exception:
        return False


def _changed_inputs(original: dict[str, Any], passed: dict[str, Any]) -> str | None:
    for key, value in original.items():
        if isinstance(value, (np.ndarray, torch.Tensor)):
            a = np.asarray(value.detach() if isinstance(value, torch.Tensor) else value)
            b = passed[key]
            b = np.asarray(b.detach() if isinstance(b, torch.Tensor) else b)
            if a.shape != b.shape or not np.array_equal(a, b, equal_nan=a.dtype.kind == "f"):
                return key
    return None
