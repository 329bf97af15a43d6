"""Running a student's function safely: a time limit per call, and (for grading) quietly.

``time_limit(seconds)`` stops a call that runs too long (an endless loop) with ``CaseTimeout``,
a BaseException so that a student's own ``except Exception`` cannot swallow it. It uses a
SIGALRM timer, so it works in the main thread of a Unix process (a Jupyter kernel, nbgrader's
and Otter's executors, pytest); elsewhere the call runs without a limit.

``quietly()`` keeps everything the call writes away from the cell's output: Python warnings
(recorded, not shown), ``sys.stdout`` and ``sys.stderr``, and file descriptor 2 (where C++
libraries write). A grader such as nbgrader gives 0 points to a test cell that wrote anything
to stderr, so a right answer that makes torch warn would otherwise score nothing.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import sys
import tempfile
import threading
import warnings
from collections.abc import Iterator

import numpy as np


class CaseTimeout(BaseException):
    """A student's function ran past its time limit (raised inside it by the timer)."""


@contextlib.contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Raise CaseTimeout inside the block after ``seconds`` (None or 0: no limit).

    Args:
        seconds: wall-clock seconds the block may run.
    """
    usable = (
        seconds
        and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
    )
    if not usable:
        yield
        return

    def stop(signum, frame):
        raise CaseTimeout(f"ran for more than {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, float(seconds))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0.0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def quietly() -> Iterator[list[warnings.WarningMessage]]:
    """Run the block with warnings recorded and stdout/stderr (and fd 2) swallowed.

    Yields:
        The list the warnings are recorded in (for a report, never printed to stderr).
    """
    with (
        warnings.catch_warnings(record=True) as caught,
        np.errstate(all="ignore"),
        contextlib.redirect_stdout(io.StringIO()),
        contextlib.redirect_stderr(io.StringIO()),
        _fd2_swallowed(),
    ):
        warnings.simplefilter("always")
        yield caught


@contextlib.contextmanager
def _fd2_swallowed() -> Iterator[None]:
    """Point file descriptor 2 at a scratch file for the block (C++ warnings go there)."""
    try:
        saved = os.dup(2)
    except OSError:  # no fd 2 (some embedded interpreters): nothing to protect
        yield
        return
    with tempfile.TemporaryFile() as scratch:
        with contextlib.suppress(Exception):
            sys.__stderr__.flush()
        os.dup2(scratch.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
