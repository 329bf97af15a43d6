"""rlkit.widgets: swap the parts of an agent in a notebook and see what each does to the data.

    >>> from rlkit.widgets import Playground
    >>> Playground(env="CartPole-v1", algo="PPO", config={"model": {"fcnet_hiddens": [32]}})

Widgets (ipywidgets 8): Playground composes ComponentPicker, DataFlowView, TrainingDashboard
and EpisodeReplay; each also works alone. Every widget has a plain-function equivalent for
scripts and tests: build_policy / build_trainer (picker), render_dataflow (view),
train_in_chunks + render_curves (dashboard), render_episode + frames_to_gif (replay).

Names load on first use, so importing this package does not import ipywidgets or matplotlib,
and the plain functions work without ipywidgets installed.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "Playground": "rlkit.widgets.playground",
    "ComponentPicker": "rlkit.widgets.picker",
    "DataFlowView": "rlkit.widgets.dataflow",
    "TrainingDashboard": "rlkit.widgets.dashboard",
    "EpisodeReplay": "rlkit.widgets.replay",
    "Choices": "rlkit.widgets.building",
    "build_policy": "rlkit.widgets.building",
    "build_trainer": "rlkit.widgets.building",
    "render_dataflow": "rlkit.widgets.drawing",
    "train_in_chunks": "rlkit.widgets.training",
    "render_curves": "rlkit.widgets.plots",
    "plot_learning_curves": "rlkit.widgets.plots",
    "render_episode": "rlkit.widgets.episodes",
    "record_episode": "rlkit.widgets.episodes",
    "frames_to_gif": "rlkit.widgets.episodes",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'rlkit.widgets' has no attribute '{name}'")


def __dir__() -> list[str]:
    return sorted(__all__)
