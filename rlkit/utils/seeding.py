"""Private torch random-number streams.

Each trainer (and each remote env runner) draws torch's random numbers from a stream of its
own, so two trainers in one kernel (a notebook comparing runs) do not perturb each other and a
restored trainer replays exactly.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch


@contextlib.contextmanager
def private_rng(owner: Any) -> Iterator[None]:
    """Draw torch's random numbers from ``owner._rng_state`` inside the block.

    On the way out the stream's new state goes back into ``owner._rng_state`` and the outer
    stream is restored, also after an exception.
    """
    outer = torch.get_rng_state()
    torch.set_rng_state(owner._rng_state)
    try:
        yield
    finally:
        owner._rng_state = torch.get_rng_state()
        torch.set_rng_state(outer)
