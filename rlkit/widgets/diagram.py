"""The data-flow diagram as HTML with inline SVG: crisp at any zoom, every value on hover.

    env -> preprocessor -> filter -> model -> distribution -> action

Each stage is a card: its name, its component, its shape and dtype as text, and a small
picture of its values. Text is never under 12 px; a long component name breaks only between
its words ("Fully|Connected|Network"), numbers are printed in a cell only when they fit it,
in black or white, whichever contrasts more with the cell (WCAG AA: 4.5:1 or more).
Cards wrap onto a second row in a narrow column instead of squeezing.
Vectors are heat strips on ONE colour scale shared by every card (so equal numbers get equal
colours), drawn once, labelled, under the cards; hovering a cell shows its index and value,
and short vectors print their values in the cells. Frames are shown as PNG at their own
aspect ratio; action probabilities as bars; a Gaussian as mean +- std per action dimension.

    >>> html = dataflow_html(policy.trace(obs))    # str, e.g. for ipywidgets.HTML

Nothing here imports ipywidgets or matplotlib.
"""

from __future__ import annotations

import base64
import html
import io
from typing import Any

import numpy as np

CARD_PX = 132  # card width; the pictures are PICTURE_PX wide inside it
PICTURE_PX = 120
_MAX_STRIP = 48  # longer vectors wrap into a square-ish grid, so every entry stays visible
_MAX_ROWS = 5  # leaves of a nested observation shown; further ones are only counted
FONT_PX = 12  # the smallest text in the picture
_CHAR_PX = 0.62 * FONT_PX  # the widest digit's advance in the default sans-serif, roughly
_GAUSSIANS = ("DiagGaussian", "SquashedGaussian")
# Diverging colours (blue < 0 < red), as matplotlib's "coolwarm" ends and middle.
_NEG, _MID, _POS = np.array([59, 76, 192]), np.array([221, 221, 221]), np.array([180, 4, 38])


def colour(value: float, bound: float) -> str:
    """The shared scale's colour of ``value`` (clipped to [-bound, bound]) as "#rrggbb"."""
    if not np.isfinite(value):
        return "#ffffff"
    t = float(np.clip(value / bound, -1.0, 1.0)) if bound > 0 else 0.0
    end = _POS if t >= 0 else _NEG
    rgb = np.rint(_MID + abs(t) * (end - _MID)).astype(int)
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def contrast(rgb_a: tuple, rgb_b: tuple) -> float:
    """WCAG 2 contrast ratio of two sRGB colours (0-255 each): 1 (same) to 21 (black/white)."""

    def luminance(rgb: tuple) -> float:
        c = np.asarray(rgb, np.float64) / 255.0
        c = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
        return float(0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2])

    hi, lo = sorted((luminance(rgb_a), luminance(rgb_b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def text_colour(fill: str) -> str:
    """Black or white, whichever contrasts more with ``fill`` ("#rrggbb")."""
    rgb = tuple(int(fill[i : i + 2], 16) for i in (1, 3, 5))
    return "#000000" if contrast(rgb, (0, 0, 0)) >= contrast(rgb, (255, 255, 255)) else "#ffffff"


def breakable(text: str) -> str:
    """HTML of ``text`` that may wrap only between words.

    "FullyConnectedNetwork" gets a <wbr> before "Connected" and "Network"; one also follows
    "(", "_", ".", ",", ":" and "/".
    """
    import re

    escaped = html.escape(text)
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z][a-z])|(?<=[(_.,:/])(?=\w)", "<wbr>", escaped)


def _fits(text: str, width: float) -> bool:
    return len(text) * _CHAR_PX + 4 <= width


def _num(value: float) -> str:
    return f"{value:.3g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.1e}"


def _is_strip(arr: np.ndarray) -> bool:
    return arr.size > 1 and arr.dtype.kind in "biuf" and not _is_image(arr)


def _is_image(arr: np.ndarray) -> bool:
    return arr.ndim == 3 or (arr.ndim == 2 and min(arr.shape) > 1)


def _leaves(value: Any, prefix: str = "") -> list[tuple[str, np.ndarray]]:
    """(path, array) for every leaf of a nested observation, in its own order."""
    if isinstance(value, dict):
        return [leaf for k, v in value.items() for leaf in _leaves(v, f"{prefix}{k}.")]
    if isinstance(value, (tuple, list)):
        return [leaf for i, v in enumerate(value) for leaf in _leaves(v, f"{prefix}{i}.")]
    return [(prefix.rstrip("."), np.asarray(value))]


def stage_rows(stage: Any) -> list[tuple[str, np.ndarray]]:
    """The labelled arrays a stage's card draws.

    Leaves of a nested observation, the model's output with its recurrent state ("h", "c"),
    or the stage's output alone.
    """
    if stage.name == "env":
        return _leaves(stage.output)
    if stage.name == "model":
        state = stage.details.get("state") or []
        names = ["h", "c"] if len(state) == 2 else [f"state{i}" for i in range(len(state))]
        return [("outputs" if state else "", np.asarray(stage.output))] + [
            (n, np.asarray(s)) for n, s in zip(names, state)
        ]
    if isinstance(stage.output, (dict, tuple)):
        return _leaves(stage.output)
    return [("", np.asarray(stage.output))]


def shared_bound(stages: list) -> float:
    """The colour scale's bound: the largest |value| of any heat strip in the trace."""
    bound = 0.0
    for stage in stages[:4]:  # env, preprocessor, filter, model: the stages drawn as strips
        for _, arr in stage_rows(stage):
            if _is_strip(arr):
                finite = np.abs(arr[np.isfinite(arr)]) if arr.dtype.kind == "f" else np.abs(arr)
                bound = max(bound, float(finite.max(initial=0.0)))
    return bound or 1.0


def strip_svg(arr: np.ndarray, bound: float, mask: np.ndarray | None = None) -> str:
    """A vector as a heat strip on the shared colour scale.

    Values are printed in the cells when there is room (else beside the strip), every value
    is in its cell's hover title, and masked entries are crossed out.

    Args:
        arr: [*shape] numbers, drawn flattened (a one-hot of 500 wraps into a 23 x 22 grid).
        bound: the shared colour scale's bound.
        mask: [size] 0/1; entries with 0 get a cross.
    """
    flat = np.asarray(arr, dtype=np.float64).reshape(-1)  # [*shape] -> [size]
    n = flat.size
    cols = n if n <= _MAX_STRIP else int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    cell = PICTURE_PX / cols
    height = 22.0 if rows == 1 else min(cell, 120.0 / rows) * rows
    row_h = height / rows
    parts = []
    for i, v in enumerate(flat):
        x, y = (i % cols) * cell, (i // cols) * row_h
        parts.append(
            f'<rect x="{x:.2f}" y="{y:.2f}" width="{cell:.2f}" height="{row_h:.2f}" '
            f'fill="{colour(v, bound)}"><title>[{i}] {_num(v)}</title></rect>'
        )
        ink = text_colour(colour(v, bound))
        if mask is not None and i < len(mask) and mask[i] == 0:
            parts.append(_centre_text(x + cell / 2, y + row_h / 2, "×", 14, fill=ink))
        elif rows == 1 and all(_fits(_num(w), cell) for w in flat):
            parts.append(_centre_text(x + cell / 2, y + row_h / 2, _num(v), FONT_PX, fill=ink))
    picture = _svg(PICTURE_PX, height, "".join(parts))
    in_cells = rows == 1 and all(_fits(_num(w), cell) for w in flat)
    if n <= 8 and not in_cells:  # no room in the cells: the values beside the strip
        values = ", ".join(_num(v) for v in flat)
        picture += f"<div class='rlkit-leaf rlkit-values'>{html.escape(values)}</div>"
    return picture


def _centre_text(x: float, y: float, text: str, size: int, fill: str = "#000000") -> str:
    return (
        f'<text x="{x:.2f}" y="{y:.2f}" font-size="{size}" fill="{fill}" '
        f'text-anchor="middle" dominant-baseline="central" pointer-events="none">'
        f"{html.escape(text)}</text>"
    )


def _svg(width: float, height: float, body: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.2f} {height:.2f}" style="display:block">{body}</svg>'
    )


def image_html(arr: np.ndarray) -> str:
    """A frame ([H, W], [H, W, C]) as a PNG at its own aspect ratio, PICTURE_PX wide."""
    from PIL import Image

    from rlkit.widgets.drawing import _as_image

    picture, _ = _as_image(np.asarray(arr))
    pixels = picture if picture.dtype == np.uint8 else np.rint(255 * picture).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    data = base64.b64encode(buf.getvalue()).decode()
    h, w = pixels.shape[:2]
    return (
        f'<img src="data:image/png;base64,{data}" width="{PICTURE_PX}" '
        f'height="{round(PICTURE_PX * h / w)}" style="image-rendering:pixelated;display:block" '
        f'title="{h} x {w} frame">'
    )


def probs_svg(probs: np.ndarray, taken: int, mask: np.ndarray | None) -> str:
    """Action probabilities as bars: the action taken black, masked actions grey and dashed.

    Values and action numbers are printed where they fit (over and under the bars); with
    more actions than room, up to 12 are listed under the bars as "action: p", wrapping
    between entries, never overlapping.
    """
    n = len(probs)
    bar, height = PICTURE_PX / n, 60.0
    values = [f"{float(p):.2f}" for p in probs]
    on_bars = all(_fits(v, bar) for v in values)
    numbered = _fits(str(n - 1), bar)
    top = FONT_PX + 4.0 if on_bars else 2.0
    parts = []
    for i, p in enumerate(probs):
        masked = mask is not None and i < len(mask) and mask[i] == 0
        fill = "#d3d3d3" if masked else ("#000000" if i == taken else "#1f77b4")
        h = float(p) * height
        extra = ' stroke="#555" stroke-dasharray="2,2"' if masked else ""
        parts.append(
            f'<rect x="{i * bar + 1:.2f}" y="{top + height - h:.2f}" width="{bar - 2:.2f}" '
            f'height="{h:.2f}" fill="{fill}"{extra}><title>action {i}: p = {_num(float(p))}'
            f"{' (masked)' if masked else ''}</title></rect>"
        )
        if on_bars:
            parts.append(_centre_text(i * bar + bar / 2, FONT_PX / 2 + 1, values[i], FONT_PX))
        if numbered:
            parts.append(_centre_text(i * bar + bar / 2, top + height + 8, str(i), FONT_PX))
    picture = _svg(PICTURE_PX, top + height + (FONT_PX + 4 if numbered else 2), "".join(parts))
    if not on_bars and n <= 12:
        items = "".join(
            f"<span style='white-space:nowrap'>{i}: {v}</span> " for i, v in enumerate(values)
        )
        picture += f"<div class='rlkit-leaf rlkit-probs'>{items}</div>"
    return picture


def gaussian_html(inputs: np.ndarray) -> str:
    """Mean and std per action dimension, from the [means, log_stds] halves of the inputs."""
    mean, log_std = np.split(np.asarray(inputs, np.float64).reshape(-1), 2)  # [2A] -> [A], [A]
    lines = [
        f"a{i}: μ {_num(m)}, σ {_num(float(np.exp(s)))}"
        for i, (m, s) in enumerate(zip(mean[:_MAX_ROWS], log_std))
    ]
    return f"<div class='rlkit-leaf'>{'<br>'.join(html.escape(line) for line in lines)}</div>"


def _value_html(label: str, arr: np.ndarray, bound: float, mask: Any = None) -> str:
    head = f"<div class='rlkit-leaf'>{html.escape(label)}</div>" if label else ""
    if arr.size <= 1 or arr.dtype.kind not in "biuf":
        text = _num(float(arr.reshape(-1)[0])) if arr.dtype.kind in "f" and arr.size else None
        text = text or html.escape(str(arr.reshape(-1)[0] if arr.size == 1 else arr))
        return f"{head}<div class='rlkit-value'>{text}</div>"
    if _is_image(arr):
        return head + image_html(arr)
    return head + strip_svg(arr, bound, mask)


def _picture(stage: Any, bound: float, mask: np.ndarray | None, taken: int) -> str:
    if stage.name == "distribution" and "probs" in stage.details:
        return probs_svg(np.asarray(stage.details["probs"]), taken, mask)
    if (
        stage.name == "distribution"
        and stage.component in _GAUSSIANS
        and stage.output.size % 2 == 0
    ):
        return gaussian_html(np.asarray(stage.output))
    if stage.name == "action":
        out = stage.output
        text = str(out) if isinstance(out, (dict, tuple)) else np.array2string(np.asarray(out))
        return f"<div class='rlkit-action'>{html.escape(text)}</div>"
    rows = stage_rows(stage)
    parts = [
        _value_html(label, arr, bound, arr if label == "action_mask" else None)
        for label, arr in rows[:_MAX_ROWS]
    ]
    if len(rows) > _MAX_ROWS:
        parts.append(f"<div class='rlkit-leaf'>+{len(rows) - _MAX_ROWS} more</div>")
    return "".join(parts)


def colour_scale_html(bound: float) -> str:
    """The shared colour scale, labelled: -bound, 0, +bound."""
    steps = "".join(
        f'<rect x="{i * 4}" y="0" width="4.2" height="10" fill="{colour(v, bound)}"/>'
        for i, v in enumerate(np.linspace(-bound, bound, 40))
    )
    return (
        "<div class='rlkit-scale'><span>heat strips, one scale for every stage:</span>"
        f"<span>{_num(-bound)}</span>{_svg(160, 10, steps)}<span>+{_num(bound)}</span>"
        "<span>(hover a cell for its value)</span></div>"
    )


DIAGRAM_CSS = f"""
.rlkit-flow {{display:flex; flex-wrap:wrap; align-items:flex-start; gap:6px 0;
  max-width:100%; font-size:{FONT_PX}px; line-height:1.3}}
.rlkit-stage {{box-sizing:border-box; width:{CARD_PX}px; padding:4px 5px;
  border:1px solid #d0d0d0; border-radius:4px; background:#fff; color:#000}}
.rlkit-stage code {{font-size:{FONT_PX}px; background:none; color:#000}}
.rlkit-arrow {{width:16px; text-align:center; font-size:16px; align-self:center}}
.rlkit-shape {{font-size:{FONT_PX}px; color:#333}}
.rlkit-leaf {{font-size:{FONT_PX}px; color:#333; margin-top:2px}}
.rlkit-value, .rlkit-action {{font-size:14px; font-weight:bold}}
.rlkit-foot {{font-size:{FONT_PX}px; color:#333}}
.rlkit-scale {{display:flex; flex-wrap:wrap; gap:2px 6px; align-items:center;
  font-size:{FONT_PX}px; color:#333; margin-top:4px}}
"""


def stage_label(stage: Any) -> str:
    """The card's text: name, component, and shape/dtype (class "rlkit-shape")."""
    from rlkit.widgets.drawing import stage_text

    return (
        f"<b>{html.escape(stage.name)}</b><br><code>{breakable(stage.component)}</code><br>"
        f"<span class='rlkit-shape'>{html.escape(stage_text(stage))}</span>"
    )


def _footer(stage: Any) -> str:
    parts = []
    if stage.name == "model" and stage.details.get("value") is not None:
        parts.append(f"value {_num(stage.details['value'])}")
    if stage.name == "distribution" and "logp" in stage.details:
        parts.append(f"logp {_num(stage.details['logp'])}")
    if stage.name == "model" and stage.details.get("engine"):
        reason = html.escape(str(stage.details.get("engine_reason", "")), quote=True)
        parts.append(f"<span title='{reason}'>engine {html.escape(stage.details['engine'])}</span>")
    return f"<div class='rlkit-foot'>{' · '.join(parts)}</div>" if parts else ""


def dataflow_html(stages: list) -> str:
    """The whole trace as one HTML fragment (cards with arrows, then the colour scale).

    Args:
        stages: a ``Policy.trace`` (env, preprocessor, filter, model, distribution, action).
    """
    from rlkit.widgets.drawing import action_mask

    bound = shared_bound(stages)
    mask = action_mask(stages)
    action = stages[-1].output
    taken = int(np.asarray(action).reshape(-1)[0]) if np.size(action) == 1 else -1
    cards = []
    for i, stage in enumerate(stages):
        if i:
            cards.append("<div class='rlkit-arrow'>→</div>")
        cards.append(
            f"<div class='rlkit-stage' data-stage='{html.escape(stage.name)}'>"
            f"{stage_label(stage)}{_picture(stage, bound, mask, taken)}{_footer(stage)}</div>"
        )
    return (
        f"<style>{DIAGRAM_CSS}</style><div class='rlkit-flow'>{''.join(cards)}</div>"
        f"{colour_scale_html(bound)}"
    )
