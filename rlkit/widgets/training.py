"""Training in chunks, as plain functions: what the dashboard's background thread runs.

A notebook cell that calls ``trainer.train()`` in a loop blocks the kernel, and a blocked
kernel never sees a Stop button's click (ipywidgets delivers clicks while the kernel is idle).
So the dashboard runs the loop below in a thread and checks a ``threading.Event`` between
iterations: Stop takes effect after the current iteration, and the trainer keeps its weights,
optimizer state and counters, so the next Train continues where it stopped.

    >>> stop = threading.Event()
    >>> results = train_in_chunks(trainer, stop, iterations=5)   # a script needs no widgets
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import torch


def train_in_chunks(
    trainer: Any,
    stop_event: threading.Event,
    iterations: int,
    on_result: Callable[[dict], None] | None = None,
    before_iteration: Callable[[int], None] | None = None,
) -> list[dict]:
    """Call ``trainer.train()`` up to ``iterations`` times, stopping early when asked.

    Args:
        trainer: an rlkit Algorithm (anything with ``train() -> dict``).
        stop_event: checked before every iteration; set it (from any thread) to stop.
        iterations: the most iterations to run.
        on_result: called with every result dict, in the training thread.
        before_iteration: called with the iteration's number in this call (1, 2, ...) just
            before it starts (a status line can say "iteration N running").

    Returns:
        the results of the iterations that ran. An exception inside ``train()`` propagates;
        the trainer stays usable (see Algorithm.train).
    """
    results = []
    for i in range(iterations):
        if stop_event.is_set():
            break
        if before_iteration is not None:
            before_iteration(i + 1)
        result = trainer.train()
        results.append(result)
        if on_result is not None:
            on_result(result)
    return results


def device_name(device: Any) -> str:
    """Name a torch device for people: "CPU", or "cuda:0 (NVIDIA H100 80GB HBM3)" for CUDA."""
    device = torch.device(device)
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    return device.type.upper()


class Throttle:
    """Run a redraw at most every ``min_interval_s`` seconds of wall time.

    Redraws never take more than ``max_share`` of the wall time (a slow redraw waits
    correspondingly longer), unless ``max_interval_s`` caps the wait (a live picture must not
    go stale).

    Throttling by wall time rather than by iterations keeps the page lively for slow
    iterations and keeps redraws from eating the training time for fast ones.
    """

    def __init__(
        self,
        min_interval_s: float = 1.0,
        max_share: float = 0.05,
        clock: Callable[[], float] = time.perf_counter,
        max_interval_s: float | None = None,
    ):
        self.min_interval_s = min_interval_s
        self.max_share = max_share
        self.max_interval_s = max_interval_s  # a slow redraw still comes at least this often
        self.clock = clock  # seconds; tests pass a fake clock
        self._next = 0.0

    def reset(self) -> None:
        """Let the next ``maybe_run`` draw at once."""
        self._next = 0.0

    def wait_first(self) -> None:
        """Make the next draw due only ``min_interval_s`` from now.

        For example at a run's start, whose picture is already on screen.
        """
        self._next = self.clock() + self.min_interval_s

    def maybe_run(self, draw: Callable[[], None], force: bool = False) -> bool:
        """Call ``draw`` when it is due (or ``force``); returns whether it ran."""
        now = self.clock()
        if not force and now < self._next:
            return False
        draw()
        end = self.clock()
        self._next = end + max(self.min_interval_s, (end - now) / self.max_share)
        if self.max_interval_s is not None:  # start to start, however long a draw takes
            self._next = min(self._next, now + self.max_interval_s)
        return True
