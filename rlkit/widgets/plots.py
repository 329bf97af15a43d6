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
import re
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

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


# matplotlib's tab10, so widget swatches match the lines without importing matplotlib.
TAB10 = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
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


def smooth(ys: Sequence[float], weight: float) -> np.ndarray:
    """Exponential moving average with TensorBoard's debiasing (weight 0 = the raw values).

    Args:
        ys: [T] values.
        weight: in [0, 1); 0.9 averages over roughly the last 10 points.

    Returns:
        [T] smoothed values (the first one is ys[0], not pulled towards 0).
    """
    ys = np.asarray(ys, dtype=np.float64)
    if not 0.0 <= weight < 1.0:
        raise ValueError(f"smoothing weight must be in [0, 1); got {weight}")
    if weight == 0.0 or ys.size == 0:
        return ys
    out, avg = np.empty_like(ys), 0.0
    for t, y in enumerate(ys):
        avg = weight * avg + (1.0 - weight) * y
        out[t] = avg / (1.0 - weight ** (t + 1))
    return out


def mean_band(curves: Sequence[tuple[Sequence, Sequence]]) -> tuple[np.ndarray, ...]:
    """Mean and min..max band of several runs of one config (seeds), on a shared x grid.

    Each curve is interpolated onto the first curve's x values inside the range that every
    curve covers, so runs that logged at different steps still average point by point.

    Args:
        curves: (xs [T_i], ys [T_i]) per run, xs increasing.

    Returns:
        (x [T], mean [T], low [T], high [T]); empty arrays when the runs do not overlap.
    """
    curves = [(np.asarray(x, np.float64), np.asarray(y, np.float64)) for x, y in curves if len(x)]
    if not curves:
        return tuple(np.empty(0) for _ in range(4))
    start = max(x[0] for x, _ in curves)
    end = min(x[-1] for x, _ in curves)
    grid = curves[0][0][(curves[0][0] >= start) & (curves[0][0] <= end)]
    stacked = np.stack([np.interp(grid, x, y) for x, y in curves])  # [runs, T]
    return grid, stacked.mean(axis=0), stacked.min(axis=0), stacked.max(axis=0)


def group_by_config(labels: Sequence[str]) -> dict[str, list[str]]:
    """Runs whose labels differ only by their seed (", seed N" or " seed N") form one group.

    For runs whose configs are not known; a rerun ("... (2)") is not another seed and stays
    alone. With configs, ``rlkit.widgets.compare.pool_by_config`` decides instead.

    >>> group_by_config(["PPO seed 0", "PPO seed 1", "PPO seed 0 (2)", "DQN"])
    {'PPO': ['PPO seed 0', 'PPO seed 1'], 'PPO seed 0 (2)': ['PPO seed 0 (2)'], 'DQN': ['DQN']}
    """
    groups: dict[str, list[str]] = {}
    for label in labels:
        groups.setdefault(re.sub(r",? seed \d+$", "", label), []).append(label)
    return groups


def run_colours(labels: Sequence[str]) -> dict[str, str]:
    """A stable colour per label (matplotlib's tab10, in order, cycling)."""
    return {label: TAB10[i % len(TAB10)] for i, label in enumerate(labels)}


def _lines(
    runs: Mapping[str, Sequence[Mapping[str, Any]]],
    key: str,
    groups: Mapping[str, Sequence[str]],
    smoothing: float,
) -> list[tuple[str, np.ndarray, np.ndarray, tuple | None, list]]:
    """(name, x, y, (low, high) or None, tails) per line of one panel.

    tails: (x, y) of each member of a pooled group past the steps every member reached, so a
    longer run is never hidden by the band's cut.
    """
    data = curve_data(runs, [key])
    lines = []
    for name, members in groups.items():
        curves = [data[m][key] for m in members if key in data.get(m, {})]
        if not curves:
            continue
        if len(curves) == 1:
            x, y = curves[0]
            lines.append((name, np.asarray(x), smooth(y, smoothing), None, []))
            continue
        x, mean, low, high = mean_band(curves)
        band = (smooth(low, smoothing), smooth(high, smoothing))
        end = x[-1] if len(x) else -np.inf
        tails = [
            (np.asarray(cx)[np.asarray(cx) >= end], smooth(cy, smoothing)[np.asarray(cx) >= end])
            for cx, cy in curves
            if cx[-1] > end
        ]
        lines.append((name, x, smooth(mean, smoothing), band, tails))
    return lines


def _panels(keys: Sequence[str], envs: Mapping[str, str] | None) -> list[tuple[str, str]]:
    """(key, env) per panel: one panel per key, per env when the runs trained on several."""
    names = sorted(set((envs or {}).values()) - {""})
    return [(key, env) for key in keys for env in (names if len(names) > 1 else [""])]


def _draw_panel(ax: Any, lines: list, labels: Mapping, colours: Mapping, twins: Mapping) -> None:
    for name, x, y, band, tails in lines:
        colour, label = colours.get(name, "black"), labels[name]
        if name in twins:  # point for point another run's: dashed, markers offset, visible
            ax.plot(x, y, color=colour, label=label, linestyle="--", marker="o", markevery=(1, 2))
            continue
        ax.plot(x, y, color=colour, label=label, marker="." if len(x) < 3 else None)
        if band is not None:
            ax.fill_between(x, *band, color=colour, alpha=0.2, linewidth=0)
        for tx, ty in tails:
            ax.plot(tx, ty, color=colour, linewidth=0.8, alpha=0.6)


def _line_label(name: str, band: Any, runs: Mapping, groups: Mapping, twins: Mapping) -> str:
    from rlkit.widgets.compare import pooled_text

    if name in twins:
        return f"{name} (identical to {twins[name]}: dashed)"
    return name if band is None else f"{name}: {pooled_text(runs, groups[name])}"


def draw_curves(
    fig: Any,
    runs: Mapping[str, Sequence[Mapping[str, Any]]],
    keys: Sequence[str],
    smoothing: float = 0.0,
    groups: Mapping[str, Sequence[str]] | None = None,
    colours: Mapping[str, str] | None = None,
    envs: Mapping[str, str] | None = None,
) -> list:
    """One panel per key (two columns), one line per run or group (x = env steps).

    Args:
        fig: the matplotlib Figure to draw into (it gets one Axes per panel).
        runs: label -> list of train() results.
        keys: result keys, one panel each.
        smoothing: EMA weight in [0, 1) (see ``smooth``).
        groups: name -> run labels drawn as one mean line with a min..max band over the
            steps all of them reached (seeds of one config); None draws every run alone.
        colours: name -> matplotlib colour (default ``run_colours`` of the names).
        envs: name -> the env it trained on; runs on several envs get a panel per key and env
            (an entropy axis shared by CartPole and Pong would squash one of them).

    Returns:
        the axes, for a caller that adds a legend (handles carry each line's label).
    """
    from rlkit.widgets.compare import identical_runs

    groups = dict(groups) if groups is not None else {label: [label] for label in runs}
    colours = dict(colours or run_colours(list(groups)))
    alone = [name for name, members in groups.items() if len(members) == 1]
    twins = identical_runs({name: runs.get(groups[name][0], ()) for name in alone}, alone)
    panels = _panels(keys, envs)
    cols = 1 if len(panels) == 1 else 2
    axes = fig.subplots(math.ceil(len(panels) / cols), cols, squeeze=False).reshape(-1)
    for ax in axes[len(panels) :]:
        ax.set_visible(False)
    for ax, (key, env) in zip(axes, panels):
        shown = {n: m for n, m in groups.items() if not env or (envs or {}).get(n) == env}
        lines = _lines(runs, key, shown, smoothing)
        labels = {line[0]: _line_label(line[0], line[3], runs, groups, twins) for line in lines}
        _draw_panel(ax, lines, labels, colours, twins)
        ax.set_title(f"{key} · {env}" if env else key, fontsize=12, pad=3)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=12)
        # An offset ("1e-6+6.93e-1") would sit on the title; plain tick labels read better.
        ax.ticklabel_format(axis="y", useOffset=False, style="sci", scilimits=(-3, 4))
        ax.locator_params(nbins=4)  # tick labels are most of the drawing time: keep few
    for ax in axes[max(0, len(panels) - cols) : len(panels)]:
        ax.set_xlabel("env steps", fontsize=12)
    return list(axes[: len(panels)])


def render_curves(
    runs: Mapping[str, Sequence[Mapping[str, Any]]],
    keys: Sequence[str] | None = None,
    width: float = 7.5,
    height: float | None = None,
    smoothing: float = 0.0,
    groups: Mapping[str, Sequence[str]] | None = None,
    colours: Mapping[str, str] | None = None,
    legend: bool = True,
    envs: Mapping[str, str] | None = None,
) -> bytes:
    """PNG (2x pixels, for HiDPI screens) of the curves: every run or group as a line.

    Args:
        runs: label -> list of train() results.
        keys: result keys, one panel each (None or empty -> ``curve_keys(runs)``).
        width: the picture's width in inches at 72 px per inch (the PNG has twice as many
            pixels), without the legend's 3 inches.
        height: the picture's height in inches; None -> 0.5 plus 2.1 inches per row of two
            panels.
        smoothing: EMA weight in [0, 1) (see ``smooth``).
        groups: name -> run labels drawn as one mean line with a min..max band (seeds of
            one config); None draws every run alone.
        colours: name -> matplotlib colour (default ``run_colours`` of the names).
        legend: draw the legend to the right of the panels (a widget that shows its own,
            with toggles, passes False).
        envs: name -> env, for a panel per key and env (see ``draw_curves``).

    Text is 12 px or more where the PNG is shown at ``width`` x 72 px.
    """
    keys = list(keys) if keys else curve_keys(runs)
    panels = len(_panels(keys, envs))
    rows = math.ceil(panels / (1 if panels == 1 else 2))
    height = height or 0.6 + 2.2 * rows
    fig = new_figure(width + (3.0 if legend else 0.0), height, dpi=144)
    axes = draw_curves(fig, runs, keys, smoothing, groups, colours, envs)
    right = width / (width + 3.0) if legend else 1.0
    fig.subplots_adjust(
        left=0.09 * right,
        right=right - 0.04 * right,
        bottom=0.5 / height,
        top=1 - 0.3 / height,
        wspace=0.3,
        hspace=0.6,
    )
    found: dict[str, Any] = {}  # every panel's lines: per-env panels show different runs
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            found.setdefault(label, handle)
    if legend and found:
        fig.legend(
            list(found.values()),
            [textwrap.fill(label, 30) for label in found],
            loc="upper left",
            bbox_to_anchor=(right, 1 - 0.3 / height),
            fontsize=12,
            frameon=False,
        )
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
        title: a title above all panels (None -> no title).

    Returns:
        the matplotlib Figure (None when written to ``path``).
    """
    plt = _pyplot()
    cols = 1 if len(keys) == 1 else 2
    fig = plt.figure(figsize=(4.2 * cols, 3.2 * math.ceil(len(keys) / cols)))
    axes = draw_curves(fig, runs, keys)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    handles, labels = axes[0].get_legend_handles_labels() if axes else ([], [])
    if handles:  # under the panels, never over a curve
        fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0), fontsize=10)
    if path is None:
        return fig
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return None


def figure_to_png(fig: Any) -> bytes:
    """PNG bytes of a pyplot figure (then closes it): what image widgets display."""
    plt = _pyplot()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    plt.close(fig)
    return buf.getvalue()
