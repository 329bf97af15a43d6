"""CurvesPanel: learning curves of several runs, with the legend outside the plots.

    >>> panel = CurvesPanel(runs)          # runs: label -> list of train() results (live)
    >>> panel.redraw()                     # after new results; cheap to call often

The legend is a list beside the picture: each run (or group of seeds) has its colour, a
checkbox that hides or shows it, and a button that removes it. A smoothing slider and a
"pool seeds" checkbox redraw at once. Pooling is honest (rlkit.widgets.compare): only runs whose
configs are equal but for the seed become one mean line with a min..max band, over the steps
all of them reached, and the legend says how many seeds and up to which step; an identical
rerun is not another seed, stays a line of its own, and is drawn dashed with offset markers
and named as identical in the legend. Runs on different envs get panels of their own.
The training dashboard uses it; so can any other view of many runs (a sweep): give it the
runs dict (and their configs), call ``redraw`` when it changed.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import ipywidgets as widgets

from rlkit.widgets.compare import env_of, identical_runs, pool_by_config, pooled_text
from rlkit.widgets.plots import curve_keys, group_by_config, render_curves, run_colours


class CurvesPanel(widgets.HBox):
    """The picture (PNG, 2x pixels) and, beside it, the legend with toggles and Remove.

    Args:
        runs: label -> list of result dicts (with "timesteps_total"); read at every redraw,
            so a training thread may append to it.
        keys: the result keys to plot (None: what the runs report, see plots.curve_keys).
        pool_seeds: start with seeds of one config drawn as mean and band.
        smoothing: start value of the smoothing slider (EMA weight in [0, 0.95]).
        configs: label -> the run's config (with "seed" and "env"): pooling and per-env panels
            follow them, and a run without one is never pooled; with no configs at all, runs are
            pooled by their labels' ", seed N" (read live, as ``runs``).

    Attributes:
        image: the PNG widget; hidden: labels the learner switched off; protected: labels
        that cannot be removed (the run that is training).
    """

    def __init__(
        self,
        runs: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
        keys: Sequence[str] | None = None,
        pool_seeds: bool = False,
        smoothing: float = 0.0,
        configs: Mapping[str, Mapping[str, Any]] | None = None,
    ):
        self.runs = runs if runs is not None else {}
        self.configs = configs if configs is not None else {}
        self.plot_keys = list(keys) if keys else None
        self.hidden: set[str] = set()
        self.protected: set[str] = set()
        self._legend_for: tuple = ()
        self._texts: dict[str, widgets.HTML] = {}  # legend name -> its row's words
        self._removed: list[Callable[[str], None]] = []
        self.image = widgets.Image(
            format="png", layout={"width": "540px", "max_width": "100%", "display": "none"}
        )
        self.image.add_class("rlkit-curves")
        self.smoothing = widgets.FloatSlider(
            value=smoothing,
            min=0.0,
            max=0.95,
            step=0.05,
            description="smoothing",
            continuous_update=False,
            layout={"width": "260px"},
        )
        self.pool = widgets.Checkbox(
            value=pool_seeds,
            description="seeds of one config: mean and band",
            indent=False,
            layout={"width": "auto"},
        )
        self.legend = widgets.VBox([], layout={"width": "100%"})
        self.legend.add_class("rlkit-legend")
        self.smoothing.observe(lambda _: self.redraw(), names="value")
        self.pool.observe(lambda _: self.redraw(), names="value")
        side = widgets.VBox(
            [self.smoothing, self.pool, self.legend],
            layout={"flex": "1 1 260px", "min_width": "0", "margin": "0 0 0 12px"},
        )
        super().__init__(
            [self.image, side], layout={"flex_flow": "row wrap", "align_items": "flex-start"}
        )

    def on_remove(self, callback: Callable[[str], None]) -> None:
        """Call ``callback(label)`` after a run was removed with its button."""
        self._removed.append(callback)

    def groups(self, labels: Sequence[str]) -> dict[str, list[str]]:
        """Legend name -> run labels: pooled by config when "pool seeds" is on."""
        if not self.pool.value:
            return {label: [label] for label in labels}
        if self.configs:  # a run whose config is not known (loaded from a folder) stays alone
            return pool_by_config({label: self.configs.get(label) for label in labels})
        return group_by_config(labels)

    def _envs(self, groups: dict[str, list[str]]) -> dict[str, str]:
        return {name: env_of(self.configs.get(members[0])) for name, members in groups.items()}

    def redraw(self) -> None:
        """Redraw the picture (and the legend when the set of runs changed)."""
        runs = {label: list(results) for label, results in list(self.runs.items())}
        groups = self.groups(list(runs))
        colours = run_colours(list(groups))
        shown = {name: members for name, members in groups.items() if name not in self.hidden}
        self._update_legend(groups, colours)
        if not any(runs.get(m) for members in shown.values() for m in members):
            self.image.layout.display = "none"
            return
        keys = self.plot_keys or curve_keys(runs)
        self.image.value = render_curves(
            runs,
            keys,
            smoothing=self.smoothing.value,
            groups=shown,
            colours=colours,
            legend=False,
            envs=self._envs(shown),
        )
        self.image.layout.display = None

    def _notes(self, groups: dict[str, list[str]], runs: Mapping) -> dict[str, str]:
        """Legend name -> what its line claims: pooled seeds and steps, or an identical twin."""
        alone = [name for name, members in groups.items() if len(members) == 1]
        twins = identical_runs({n: runs.get(groups[n][0], ()) for n in alone}, alone)
        notes = {n: f"identical to {first}: drawn dashed" for n, first in twins.items()}
        for name, members in groups.items():
            if len(members) > 1:
                notes[name] = pooled_text(runs, members)
        return notes

    def _update_legend(self, groups: dict[str, list[str]], colours: dict[str, str]) -> None:
        runs = {label: list(results) for label, results in list(self.runs.items())}
        notes = self._notes(groups, runs)
        key = (tuple((n, len(m)) for n, m in groups.items()), frozenset(self.protected))
        if key == self._legend_for:  # same rows: only their words may change, in place
            for name in groups:  # (rebuilding the rows would drop a click in flight)
                text = self._texts.get(name)
                value = self._legend_text(name, colours[name], notes.get(name, ""))
                if text is not None and text.value != value:
                    text.value = value
            return
        self._legend_for = key
        self._texts = {}
        self.legend.children = [
            self._legend_row(name, members, colours[name], notes.get(name, ""))
            for name, members in groups.items()
        ]

    @staticmethod
    def _legend_text(name: str, colour: str, note: str) -> str:
        extra = f"<br><i>{html.escape(note)}</i>" if note else ""
        return (
            f"<span style='display:inline-block;width:14px;height:4px;margin:0 4px 3px 0;"
            f"background:{colour}'></span>{html.escape(name)}{extra}"
        )

    def _legend_row(self, name: str, members: list[str], colour: str, note: str) -> widgets.HBox:
        show = widgets.Checkbox(
            value=name not in self.hidden, indent=False, layout={"width": "22px"}
        )
        text = widgets.HTML(
            self._legend_text(name, colour, note), layout={"flex": "1 1 auto", "min_width": "0"}
        )
        self._texts[name] = text
        remove = widgets.Button(
            icon="times",
            tooltip=f"remove {name}",
            layout={"width": "36px", "padding": "0"},
            disabled=bool(self.protected & set(members)),
        )
        show.observe(lambda change: self._toggle(name, change["new"]), names="value")
        remove.on_click(lambda _: self.remove(*members))
        row = widgets.HBox([show, text, remove], layout={"align_items": "center"})
        row.add_class("rlkit-legend-row")
        return row

    def _toggle(self, name: str, visible: bool) -> None:
        (self.hidden.discard if visible else self.hidden.add)(name)
        self.redraw()

    def remove(self, *labels: str) -> None:
        """Forget runs (not the protected one) and redraw."""
        for label in labels:
            if label in self.protected:
                raise ValueError(f"run '{label}' is training; press Stop before removing it")
        for label in labels:
            self.runs.pop(label, None)
            self.hidden.discard(label)
            for callback in self._removed:
                callback(label)
        self.redraw()
