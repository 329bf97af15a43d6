"""Playground: the picker, the data-flow view, the training dashboard and a replay, wired up.

    >>> from rlkit.widgets import Playground
    >>> pg = Playground(env="CartPole-v1", algo="PPO", config={"model": {"fcnet_hiddens": [32]}})
    >>> pg                          # swap a component, see the data change, train, compare runs

How the pieces talk:
- a working change in the picker redraws the data flow for the same observation with the new
  policy, and makes the next Train start a new run (the current one stays as a curve);
- Train builds that run's trainer; while it trains the picker is greyed out and the view and
  the replay use the trainer's policy, so Step shows what the policy has learned so far.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets

from rlkit.widgets.building import Choices, build_trainer, run_label
from rlkit.widgets.dashboard import TrainingDashboard
from rlkit.widgets.dataflow import DataFlowView
from rlkit.widgets.picker import ComponentPicker
from rlkit.widgets.replay import EpisodeReplay

# Components beside the picture while the output is 560 px or wider (see Playground._layout).
PLAYGROUND_CSS = """
.rlkit-top {container-type: inline-size; width: 100%; display: block}
.rlkit-top .rlkit-columns {display: flex; flex-flow: row wrap; align-items: flex-start;
  gap: 0 16px; width: 100%}
.rlkit-panel {min-width: 0; box-sizing: border-box}
.rlkit-top .rlkit-panel-components {flex: 0 1 420px}
.rlkit-top .rlkit-panel-dataflow {flex: 1 1 300px}
@container (max-width: 800px) {
  .rlkit-top .rlkit-panel-components {flex-basis: 250px}
  .rlkit-top .rlkit-panel-dataflow {flex-basis: 290px}
}
@container (max-width: 559px) {
  .rlkit-top .rlkit-panel-components, .rlkit-top .rlkit-panel-dataflow {flex-basis: 100%}
}
"""


class Playground(widgets.VBox):
    """Every widget of rlkit.widgets in one place.

    Args:
        env: the env to start with (anything rlkit.envs.make_env accepts).
        algo: a key of rlkit.algorithms.ALGORITHMS.
        config: a trainer config, as for ``PPO(env=..., config=...)``.
        envs: the envs the picker offers.
        iterations: train() calls per click on Train.
        max_steps: the longest episode the replay records.

    Attributes:
        picker, view, dashboard, replay: the four pieces (each also works alone).
    """

    def __init__(
        self,
        env: Any = "CartPole-v1",
        algo: str = "PPO",
        config: dict | None = None,
        envs: list | None = None,
        iterations: int = 10,
        max_steps: int = 200,
    ):
        self.picker = ComponentPicker(env, algo, config, envs)
        choices = self.picker.choices
        env_config = choices.config.get("env_config")
        self.view = DataFlowView(self.picker.policy, choices.env, env_config)
        self.dashboard = TrainingDashboard(iterations=iterations)
        self.replay = EpisodeReplay(self.picker.policy, choices.env, env_config, max_steps)
        self._offer_trainer(choices)
        self.picker.on_change(self._components_changed)
        self.picker.on_error(self._components_broken)
        self.dashboard.on_start(self._training_started)
        self.dashboard.on_finished(self._training_finished)
        super().__init__(self._layout(), layout={"width": "100%"})

    def _layout(self) -> list[widgets.Widget]:
        """Swap controls beside the data flow, then training and the replay at full width.

        The first two stay side by side down to an output 560 px wide (JupyterLab at 1000 px
        with its file browser open gives 570): the components become a compact column (labels
        above boxes) and the picture keeps two cards a row, so a swap and its picture are seen
        together without scrolling. Narrower still, they stack (PLAYGROUND_CSS).
        """

        def panel(title: str, body: widgets.Widget, name: str) -> widgets.VBox:
            head = widgets.HTML(f"<h3 style='margin:4px 0'>{title}</h3>")
            box = widgets.VBox([head, body])
            box.add_class("rlkit-panel")
            box.add_class(f"rlkit-panel-{name}")  # hooks for the CSS and the browser test
            return box

        columns = widgets.HBox(
            [
                panel("Components", self.picker, "components"),
                panel("Data flow", self.view, "dataflow"),
            ]
        )
        columns.add_class("rlkit-columns")
        top = widgets.Box([columns])
        top.add_class("rlkit-top")  # the container the column widths follow
        css = widgets.HTML(f"<style>{PLAYGROUND_CSS}</style>", layout={"display": "none"})
        return [
            css,
            top,
            panel("Training", self.dashboard, "training"),
            panel("Episode replay", self.replay, "replay"),
        ]

    @property
    def policy(self) -> Any:
        """The policy of the currently picked components (the trainer's once it trained)."""
        if self.dashboard.trainer is not None and not self.dashboard.stale:
            return self.dashboard.trainer.get_policy()
        return self.picker.policy

    @property
    def trainer(self) -> Any:
        """The trainer of the current run (None before the first Train)."""
        return self.dashboard.trainer

    def _offer_trainer(self, choices: Choices) -> None:
        label = run_label(choices, self.picker.policy)
        self.dashboard.set_trainer_factory(lambda: build_trainer(choices), label)

    def _components_changed(self, picker: ComponentPicker) -> None:
        choices = picker.choices
        env_config = choices.config.get("env_config")
        self.view.set_policy(picker.policy, choices.env, env_config)
        self.replay.set_policy(picker.policy, choices.env, env_config)
        self._offer_trainer(choices)

    def _components_broken(self, picker: ComponentPicker) -> None:
        """An editor's value does not work: nothing trains or claims to show it."""
        self.dashboard.block("fix the outlined editor in Components first")
        self.view.mark_stale("showing the last working components; an editor has an error")

    def _training_started(self, dashboard: TrainingDashboard) -> None:
        self.picker.set_enabled(False)
        self._show_trainer_policy(dashboard, live=True)

    def _training_finished(self, dashboard: TrainingDashboard) -> None:
        self.picker.set_enabled(True)
        self._show_trainer_policy(dashboard, live=False)

    def _show_trainer_policy(self, dashboard: TrainingDashboard, live: bool) -> None:
        policy = dashboard.trainer.get_policy()
        self.view.set_policy(policy, live=live)
        self.replay.set_policy(policy)
