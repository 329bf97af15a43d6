"""Shared test setup: one torch thread (CI machines are small and shared) and a seed fixture."""

import random

import numpy as np
import pytest
import torch

torch.set_num_threads(1)


@pytest.fixture
def seed() -> int:
    """Seed python, numpy and torch so that a test draws the same numbers every run."""
    value = 0
    random.seed(value)
    np.random.seed(value)
    torch.manual_seed(value)
    return value
