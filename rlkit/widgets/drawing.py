"""The data-flow diagram as plain functions: a policy trace -> one PNG (no widgets needed).

    Environment -> Preprocessor -> Filter -> Model -> ActionDistribution -> action

Each stage becomes one panel: its name and component on top, a picture of its values in the
middle (the frame for image observations, a heat strip for vectors, one row per leaf of a
Tuple/Dict observation, the LSTM state under the model outputs, a bar chart of action
probabilities), its shape and dtype underneath. An env whose Dict observation has an
"action_mask" gets that mask drawn with the observation, and masked actions greyed out and
hatched in the probability bars.

    >>> png = render_dataflow(policy, obs)        # bytes, e.g. for ipywidgets.Image
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rlkit.widgets.plots import new_figure, png_bytes

STAGE_NAMES = ("env", "preprocessor", "filter", "model", "distribution", "action")
_GAUSSIANS = ("DiagGaussian", "SquashedGaussian")
_MAX_LEAVES = 5  # a panel has room for about five rows; further leaves are only counted
_MAX_STRIP = 48  # longer vectors are wrapped into a grid so that every entry stays visible


def shape_text(stage: Any) -> str:
    """Describe the shape of a stage's output in a few words.

    "(4,) float32" for arrays; "{image: (7, 7, 3), direction: ()}" for a Dict.
    """
    output = stage.output
    if isinstance(output, dict):
        inner = ", ".join(f"{k}: {tuple(np.shape(v))}" for k, v in output.items())
        return "{" + inner + "}"
    if isinstance(output, tuple):
        return "(" + ", ".join(str(tuple(np.shape(v))) for v in output) + ")"
    return f"{tuple(stage.shape)} {stage.dtype}"


def stage_text(stage: Any) -> str:
    """shape_text, plus the recurrent state's shapes for the model stage of an RNN."""
    text = shape_text(stage)
    state = stage.details.get("state") if stage.name == "model" else None
    if state:
        text += " · state " + ", ".join(str(tuple(np.shape(s))) for s in state)
    return text


def action_mask(stages: list) -> np.ndarray | None:
    """The env observation's "action_mask" ([num_actions] of 0/1), when it has one."""
    obs = stages[0].output
    if isinstance(obs, dict) and "action_mask" in obs:
        return np.asarray(obs["action_mask"]).reshape(-1)
    return None


def _short(text: str, width: int = 28) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _leaves(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """(path, array) for every leaf of a nested observation, in its own order."""
    if isinstance(value, dict):
        return [leaf for k, v in value.items() for leaf in _leaves(v, f"{prefix}{k}.")]
    if isinstance(value, (tuple, list)):
        return [leaf for i, v in enumerate(value) for leaf in _leaves(v, f"{prefix}{i}.")]
    return [(prefix.rstrip("."), np.asarray(value))]


def _as_image(arr: np.ndarray) -> tuple[np.ndarray, str | None]:
    """An [H, W] or [H, W, C] array -> something imshow draws (values in [0, 1] or uint8)."""
    if arr.ndim == 3:
        channels = arr.shape[-1]
        if channels in (3, 4):
            arr = arr[..., :3]
        elif channels % 3 == 0:
            arr = arr[..., -3:]  # stacked RGB frames: show the newest
        else:
            arr = arr[..., -1]
    if arr.dtype == np.uint8 and arr.max(initial=0) > 16:
        return arr, (None if arr.ndim == 3 else "gray")
    x = arr.astype(np.float32)
    lo, hi = float(x.min(initial=0.0)), float(x.max(initial=0.0))
    if arr.dtype.kind == "f" and lo >= -1.0 and hi <= 1.0 and hi - lo > 16 / 255:
        # Frames the ImagePreprocessor scaled ((x - 128) / 128, or x / 255) are shown with
        # that map undone, so they look as the env's bytes do: stretching each to its own
        # range turned Pong's grey background black.
        x = (x + 1.0) / 2.0 if lo < 0.0 else x
        return x, (None if x.ndim == 3 else "gray")
    # Small-integer grids (MiniGrid) and other ranges are nearly black as raw pixels:
    # stretch every such picture to its own range.
    x = (x - lo) / (hi - lo) if hi > lo else np.zeros_like(x)
    return x, (None if x.ndim == 3 else "gray")


def _fmt(arr: np.ndarray) -> str:
    if arr.size == 1:
        value = arr.reshape(-1)[0]
        return f"{value:.3g}" if np.issubdtype(arr.dtype, np.floating) else str(value)
    return np.array2string(arr.reshape(-1)[:6], precision=2, separator=", ")


def _draw_strip(ax: Any, arr: np.ndarray, label: str = "", mask: Any = None) -> None:
    """A vector as a heat strip (red > 0 > blue); short vectors also print their values."""
    flat = arr.astype(np.float32).reshape(1, -1)  # [*shape] -> [1, size]
    bound = float(np.abs(flat).max(initial=0.0)) or 1.0
    if flat.shape[1] > _MAX_STRIP:
        # A one-hot of 500 would be thinner than a pixel: wrap it into rows, read left to right.
        cols = int(np.ceil(np.sqrt(flat.shape[1])))
        rows = int(np.ceil(flat.shape[1] / cols))
        padded = np.full(rows * cols, np.nan, dtype=np.float32)
        padded[: flat.shape[1]] = flat[0]
        flat = padded.reshape(rows, cols)  # [size] -> [rows, cols]
    ax.imshow(
        flat, aspect="auto", cmap="coolwarm", vmin=-bound, vmax=bound, interpolation="nearest"
    )
    if mask is not None:
        for i in np.flatnonzero(np.asarray(mask).reshape(-1) == 0):
            ax.text(i, 0, "×", ha="center", va="center", fontsize=11, color="black")
    elif flat.shape[1] <= 4:
        for i, v in enumerate(flat[0]):
            ax.text(i, 0, f"{v:.2f}", ha="center", va="center", fontsize=6)
    ax.set_xticks([])
    ax.set_yticks([])
    if label:
        ax.set_title(_short(label, 20), fontsize=7, pad=1, loc="left")


def _draw_array(ax: Any, arr: np.ndarray, label: str = "") -> None:
    """Scalars as text, frames/grids as images, everything else as a heat strip."""
    arr = np.asarray(arr)
    if arr.size <= 1 or arr.dtype.kind not in "biuf":
        ax.set_axis_off()
        text = _fmt(arr) if arr.dtype.kind in "biuf" else _short(str(arr), 16)
        ax.text(0.5, 0.5, f"{label}: {text}" if label else text, ha="center", va="center")
        return
    if arr.ndim == 3 or (arr.ndim == 2 and min(arr.shape) > 1):
        image, cmap = _as_image(arr)
        ax.imshow(image, cmap=cmap, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        if label:
            ax.set_title(_short(label, 20), fontsize=7, pad=1, loc="left")
        return
    _draw_strip(ax, arr, label, mask=arr if label == "action_mask" else None)


def _draw_rows(ax: Any, rows: list[tuple[str, Any]]) -> None:
    """Several arrays stacked in one panel (leaves of a nested obs, model output + state)."""
    ax.set_axis_off()
    shown = rows[:_MAX_LEAVES]
    height = 1.0 / len(shown)
    for i, (label, value) in enumerate(shown):
        inset = ax.inset_axes([0.0, 1.0 - (i + 1) * height, 1.0, 0.72 * height])
        _draw_array(inset, np.asarray(value), label)
    if len(rows) > len(shown):
        ax.text(0.5, -0.05, f"+{len(rows) - len(shown)} more", ha="center", fontsize=7)


def _draw_probs(ax: Any, probs: np.ndarray, mask: np.ndarray | None, action: Any) -> None:
    """Action probabilities as bars; masked actions grey and hatched, the action in black."""
    n = len(probs)
    colors = ["tab:blue"] * n
    taken = int(np.asarray(action).reshape(-1)[0]) if np.size(action) == 1 else -1
    if 0 <= taken < n:
        colors[taken] = "black"
    bars = ax.bar(range(n), probs, color=colors)
    if mask is not None and len(mask) == n:
        for i in np.flatnonzero(mask == 0):
            bars[i].set_facecolor("lightgrey")
            bars[i].set_edgecolor("black" if i == taken else "dimgrey")
            bars[i].set_hatch("//")
    ax.set_ylim(0, 1)
    ax.set_yticks([0, 0.5, 1])
    ax.set_xticks(range(n) if n <= 12 else [])
    ax.tick_params(labelsize=6)


def _draw_gaussian(ax: Any, inputs: np.ndarray) -> None:
    """Mean +- std per action dimension, from the [means, log_stds] halves of the inputs."""
    mean, log_std = np.split(inputs.reshape(-1), 2)  # [2A] -> [A], [A]
    ax.errorbar(range(len(mean)), mean, yerr=np.exp(log_std), fmt="o", capsize=4)
    ax.axhline(0.0, color="grey", lw=0.5)
    ax.set_xticks(range(len(mean)))
    ax.tick_params(labelsize=6)


def _draw_stage(ax: Any, stage: Any, mask: np.ndarray | None, action: Any) -> None:
    output = stage.output
    if stage.name == "env" and isinstance(output, (dict, tuple)):
        _draw_rows(ax, _leaves(output))
    elif stage.name == "model":
        rows = [("outputs", output)]
        state = stage.details.get("state") or []
        names = ["h", "c"] if len(state) == 2 else [f"state{i}" for i in range(len(state))]
        rows += list(zip(names, state))
        if len(rows) > 1:
            _draw_rows(ax, rows)
        else:
            _draw_array(ax, output)
    elif stage.name == "distribution" and "probs" in stage.details:
        _draw_probs(ax, np.asarray(stage.details["probs"]), mask, action)
    elif stage.name == "distribution" and stage.component in _GAUSSIANS and output.size % 2 == 0:
        _draw_gaussian(ax, np.asarray(output))
    elif stage.name == "action":
        ax.set_axis_off()
        text = _short(str(output) if isinstance(output, (dict, tuple)) else _fmt(output), 24)
        ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=14, fontweight="bold")
    else:
        _draw_array(ax, np.asarray(output))


def _footer(stage: Any) -> str:
    text = shape_text(stage)
    value = stage.details.get("value")
    if stage.name == "model" and value is not None:
        text += f"\nvalue {value:.3g}"
    if stage.name == "distribution" and "logp" in stage.details:
        text += f"\nlogp {stage.details['logp']:.3g}"
    return _short(text, 34)


def draw_dataflow(fig: Any, stages: list) -> None:
    """Draw the six stages of a ``Policy.trace`` side by side with arrows between them."""
    mask = action_mask(stages)
    action = stages[-1].output
    n = len(stages)
    slot = 1.0 / n
    for i, stage in enumerate(stages):
        left = i * slot + 0.2 * slot
        ax = fig.add_axes([left, 0.3, 0.62 * slot, 0.5])
        _draw_stage(ax, stage, mask, action)
        center = left + 0.31 * slot
        fig.text(center, 0.97, stage.name, ha="center", va="top", fontweight="bold")
        fig.text(center, 0.88, _short(stage.component), ha="center", va="top", fontsize=8)
        fig.text(center, 0.19, _footer(stage), ha="center", va="top", fontsize=8)
        if i < n - 1:
            fig.text((i + 1) * slot, 0.5, "→", ha="center", va="center", fontsize=18)


def render_dataflow(
    policy: Any,
    obs: Any,
    state: list | None = None,
    explore: bool = False,
    width: float = 13.0,
    height: float = 2.8,
) -> bytes:
    """PNG of the data flow for one raw observation through ``policy``.

    Args:
        policy: an rlkit Policy (e.g. ``trainer.get_policy()``).
        obs: one raw observation from the env (no batch axis).
        state: recurrent state, list of [1, ...] tensors (None -> the initial state).
        explore: sample the action (True) or take the deterministic one.
        width: figure width in inches.
        height: figure height in inches.
    """
    return render_stages(policy.trace(obs, state=state, explore=explore), width, height)


def render_stages(stages: list, width: float = 13.0, height: float = 2.8) -> bytes:
    """PNG of an existing trace (what the view redraws after Step)."""
    fig = new_figure(width, height)
    draw_dataflow(fig, stages)
    return png_bytes(fig)
