"""Plain-function plots (matplotlib's Agg backend, no display needed).

Used by the CLI, the headless tour and the widgets. matplotlib is imported on first use, so
``import rlkit`` never pays for it.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any


def _pyplot():
    import matplotlib

    if matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_learning_curves(runs: Mapping[str, Sequence[Mapping[str, Any]]],
                         keys: Sequence[str] = ("episode_reward_mean",),
                         path: str | None = None, title: str | None = None) -> Any:
    """One panel per result key, one line per run, against timesteps_total.

    Args:
        runs: label -> list of train() results.
        keys: result keys to plot (missing keys are skipped per run).
        path: when given, the figure is written there as PNG (and closed).
    Returns:
        the matplotlib Figure (None when written to ``path``).
    """
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(keys), figsize=(4.2 * len(keys), 3.2), squeeze=False)
    for ax, key in zip(axes[0], keys):
        for label, results in runs.items():
            points = [(r["timesteps_total"], r[key]) for r in results if key in r]
            if points:
                xs, ys = zip(*points)
                ax.plot(xs, ys, label=label)
        ax.set_xlabel("env steps")
        ax.set_title(key)
        ax.grid(alpha=0.3)
    if len(runs) > 1 or title:
        axes[0][0].legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    if path is None:
        return fig
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return None


def figure_to_png(fig: Any) -> bytes:
    """PNG bytes of a figure (then closes it): what image widgets display."""
    plt = _pyplot()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    plt.close(fig)
    return buf.getvalue()
