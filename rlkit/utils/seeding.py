"""Each trainer's own random numbers: a ``torch.Generator`` per trainer, per thread in use.

A trainer (and each remote env runner) owns a ``torch.Generator``. Inside
``private_rng(owner)`` every random draw rlkit makes (weight init, action sampling,
exploration, minibatch shuffles, replay draws) comes from ``generator()``, which returns the
generator of the owner whose block the *current thread* is in. Nothing process-wide is swapped:
trainers in several threads (two TrainingDashboards in one notebook) never see each other's
draws, so each gives exactly the numbers it gives when run alone, and a restored trainer
replays exactly (its generator's state is in the checkpoint).

Outside any block ``generator()`` is None and torch uses its global generator, so code that
builds models by hand after ``torch.manual_seed`` behaves as usual. Your own code (a custom
model's init, a custom distribution's sample) draws from torch's global generator unless it
passes ``generator=rlkit.utils.seeding.generator()``; the trainer also seeds torch's and numpy's
global generators with ``seed`` at build, so such code is reproducible when run alone.
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch import nn

_local = threading.local()


def new_generator(seed: int | None) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded with ``seed`` (None: a fresh nondeterministic seed)."""
    gen = torch.Generator()
    if seed is None:
        gen.seed()
    else:
        gen.manual_seed(int(seed))
    return gen


def generator() -> torch.Generator | None:
    """The generator of the owner whose ``private_rng`` block this thread is in, else None."""
    stack = getattr(_local, "stack", None)
    return stack[-1] if stack else None


@contextlib.contextmanager
def private_rng(owner: Any) -> Iterator[None]:
    """Draw rlkit's random numbers from ``owner._generator`` inside the block (this thread).

    Blocks nest (the innermost owner wins) and end cleanly on an exception.
    """
    stack = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    stack.append(owner._generator)
    try:
        yield
    finally:
        stack.pop()


def numpy_rng() -> np.random.Generator:
    """A numpy ``Generator`` seeded from ``generator()`` (one torch draw), for numpy-only draws."""
    seed = torch.randint(0, 2**62, (1,), generator=generator())
    return np.random.default_rng(int(seed))


@torch.no_grad()
def reset_parameters_(module: nn.Module) -> nn.Module:
    """Torch's default init of an ``nn.Linear`` / ``nn.Conv2d`` / ``nn.LSTM``, from ``generator()``.

    The same distributions as the layers' own ``reset_parameters`` (which always draw from the
    global generator). Use with ``torch.nn.utils.skip_init``.
    """
    gen = generator()
    if isinstance(module, nn.LSTM):
        bound = 1.0 / math.sqrt(module.hidden_size)
        for weight in module.parameters():
            weight.uniform_(-bound, bound, generator=gen)
        return module
    nn.init.kaiming_uniform_(module.weight, a=math.sqrt(5), generator=gen)
    if module.bias is not None:
        fan_in = module.weight[0].numel()  # in_features (x kernel area)
        bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0
        module.bias.uniform_(-bound, bound, generator=gen)
    return module
