"""Plain-function plots (matplotlib's Agg backend, no display needed).

Used by the CLI, the headless tour and the widgets. matplotlib is imported on first use, so
``import rlkit`` never pays for it.

Two ways to get a figure:
- ``plot_learning_curves`` goes through pyplot, so a notebook shows the returned figure inline.
- ``new_figure`` + ``png_bytes`` never touch pyplot's global state, so the training thread of
  the dashboard can draw while the notebook draws something else.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from typing import Any

# Result keys the dashboard plots, in order, when a run reports them.
CURVE_KEYS = (
    "episode_reward_mean",
    "policy_loss",  # PG, A2C, PPO
    "vf_loss",  # A2C, PPO
    "loss",  # DQN
    "bc_loss",  # BC
    "entropy",
    "mean_q",  # DQN
)


def _pyplot():
    import matplotlib

    if matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def new_figure(width: float, height: float, dpi: int = 72) -> Any:
    """A matplotlib Figure with its own Agg canvas (thread-safe: no pyplot involved)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def png_bytes(fig: Any) -> bytes:
    """PNG bytes of a figure made by ``new_figure``: what image widgets display."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def curve_data(
    runs: Mapping[str, Sequence[Mapping[str, Any]]], keys: Sequence[str]
) -> dict[str, dict[str, tuple[list, list]]]:
    """Label -> key -> (timesteps, values), skipping results without the key or with NaN.

    Args:
        runs: label -> list of train() results (each has "timesteps_total").
        keys: result keys to extract.
    """
    data: dict[str, dict[str, tuple[list, list]]] = {}
    for label, results in runs.items():
        per_key = {}
        for key in keys:
            points = [
                (r["timesteps_total"], float(r[key]))
                for r in results
                if isinstance(r.get(key), (int, float)) and not math.isnan(float(r[key]))
            ]
            if points:
                xs, ys = zip(*points)
                per_key[key] = (list(xs), list(ys))
        data[label] = per_key
    return data


def curve_keys(runs: Mapping[str, Sequence[Mapping[str, Any]]], limit: int = 4) -> list[str]:
    """The CURVE_KEYS that some run reports, in CURVE_KEYS order, at most ``limit``."""
    seen = {key for results in runs.values() for r in results for key in r}
    return [key for key in CURVE_KEYS if key in seen][:limit] or ["episode_reward_mean"]


def draw_curves(
    fig: Any, runs: Mapping[str, Sequence[Mapping[str, Any]]], keys: Sequence[str]
) -> None:
    """One panel per key, one line per run (x = env steps), drawn into ``fig``."""
    data = curve_data(runs, keys)
    axes = fig.subplots(1, len(keys), squeeze=False)[0]
    for ax, key in zip(axes, keys):
        for label, per_key in data.items():
            if key in per_key:
                xs, ys = per_key[key]
                ax.plot(xs, ys, label=label, marker="." if len(xs) < 3 else None)
        ax.set_xlabel("env steps")
        ax.set_title(key, fontsize=10)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=8)
        # An offset ("1e-6+6.93e-1") would sit on the title; plain tick labels read better.
        ax.ticklabel_format(axis="y", useOffset=False, style="sci", scilimits=(-3, 4))
        ax.locator_params(nbins=4)  # tick labels are most of the drawing time: keep few
    if any(data.values()):
        axes[0].legend(fontsize=7, loc="best")


def render_curves(
    runs: Mapping[str, Sequence[Mapping[str, Any]]],
    keys: Sequence[str] | None = None,
    width: float = 11.0,
    height: float = 2.8,
) -> bytes:
    """PNG of the dashboard's curves: every run (earlier ones too) as a labelled line."""
    keys = list(keys) if keys else curve_keys(runs)
    fig = new_figure(width, height)
    draw_curves(fig, runs, keys)
    fig.subplots_adjust(left=0.05, right=0.99, bottom=0.18, top=0.88, wspace=0.3)
    return png_bytes(fig)


def plot_learning_curves(
    runs: Mapping[str, Sequence[Mapping[str, Any]]],
    keys: Sequence[str] = ("episode_reward_mean",),
    path: str | None = None,
    title: str | None = None,
) -> Any:
    """One panel per result key, one line per run, against timesteps_total.

    Args:
        runs: label -> list of train() results.
        keys: result keys to plot (missing keys are skipped per run).
        path: when given, the figure is written there as PNG (and closed).

    Returns:
        the matplotlib Figure (None when written to ``path``).
    """
    plt = _pyplot()
    fig = plt.figure(figsize=(4.2 * len(keys), 3.2))
    draw_curves(fig, runs, keys)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    if path is None:
        return fig
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return None


def figure_to_png(fig: Any) -> bytes:
    """PNG bytes of a pyplot figure (then closes it): what image widgets display."""
    plt = _pyplot()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    plt.close(fig)
    return buf.getvalue()
