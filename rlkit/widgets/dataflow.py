"""DataFlowView: one observation through Preprocessor -> Filter -> Model -> Distribution.

    >>> view = DataFlowView(policy, "CartPole-v1")
    >>> view                        # Step applies the action shown and redraws; Reset restarts

The picture is HTML with inline SVG (rlkit.widgets.diagram): one card per stage with its
component, shape and dtype as text, values on one shared colour scale, every value on hover.
The view never changes the policy it shows: a "live" policy (a trainer's, while it trains) is
copied before each trace, so the view reads a consistent snapshot of its weights and never
runs the trainer's model in the view's thread.
"""

from __future__ import annotations

import copy
import html
from typing import Any

import ipywidgets as widgets

from rlkit.envs import make_env
from rlkit.widgets.building import error_text
from rlkit.widgets.dashboard import error_html
from rlkit.widgets.diagram import dataflow_html, stage_label


class DataFlowView(widgets.VBox):
    """The data-flow diagram of ``policy`` on a live env, with Step and Reset.

    Args:
        policy: an rlkit Policy.
        env: anything rlkit.envs.make_env accepts (the view makes its own copy).
        env_config: passed to the env creator.
        seed: seed of the first reset (later resets continue from it).
        explore: sample the action from the distribution (True) or take its deterministic
            action (the "sample actions" checkbox).

    Attributes:
        stages: the last trace (list of rlkit.policy.Stage), what the picture shows.
        picture: the HTML widget with the diagram.
        obs, state: the current raw observation and recurrent state.
        steps, episode_return: of the current episode.
    """

    def __init__(
        self,
        policy: Any,
        env: Any = "CartPole-v1",
        env_config: dict | None = None,
        seed: int = 0,
        explore: bool = True,
    ):
        self.policy, self._live = policy, False
        self.env_spec, self.env_config = env, env_config
        self.env = make_env(env, env_config)
        self.stages: list = []
        self._seed = seed
        self.picture = widgets.HTML(layout={"width": "100%", "overflow": "hidden"})
        self.picture.add_class("rlkit-dataflow")  # CSS hook for the browser test
        self.note = widgets.HTML("")  # "showing the last working model" while an editor errs
        self.step_button = widgets.Button(description="Step", icon="step-forward")
        self.reset_button = widgets.Button(description="Reset", icon="refresh")
        for button in (self.step_button, self.reset_button):
            button.layout.width = "90px"
        self.explore = widgets.Checkbox(value=explore, description="sample actions", indent=False)
        self.explore.layout.width = "130px"
        self.status = widgets.HTML("", layout={"flex": "1 1 200px"})
        self.step_button.on_click(lambda _: self.step())
        self.reset_button.on_click(lambda _: self.reset())
        self.explore.observe(lambda _: self.redraw(), names="value")
        controls = widgets.HBox(
            [self.step_button, self.reset_button, self.explore, self.status],
            layout={"flex_flow": "row wrap", "align_items": "center"},
        )
        super().__init__([self.note, self.picture, controls])
        self.reset()

    @property
    def labels(self) -> list[str]:
        """Each stage's text (name, component, shape and dtype), as the cards show it."""
        return [stage_label(stage) for stage in self.stages]

    def stage(self, name: str) -> Any:
        """The last trace's stage called ``name`` ("env", ..., "action"), or None."""
        return next((s for s in self.stages if s.name == name), None)

    def set_policy(
        self, policy: Any, env: Any = None, env_config: dict | None = None, live: bool = False
    ) -> None:
        """Show another policy: the same observation again, or a fresh env when it changed.

        Args:
            policy: an rlkit Policy.
            env: the env to show (None keeps the current one).
            env_config: passed to the env creator.
            live: the policy is being trained in another thread; trace a copy of it.
        """
        self.policy, self._live = policy, live
        self.mark_stale("")
        if env is not None and (env is not self.env_spec or env_config != self.env_config):
            self.env.close()
            self.env_spec, self.env_config = env, env_config
            self.env = make_env(env, env_config)
            self.reset()
            return
        self.state = None  # the new model may keep a different state (or none)
        self.redraw()

    def mark_stale(self, message: str) -> None:
        """Say above the picture why it may not match the editors ("" clears the note)."""
        self.note.value = (
            f"<div class='rlkit-stale' style='color:#8a5300'>⚠ {html.escape(message)}</div>"
            if message
            else ""
        )

    def reset(self, seed: int | None = None) -> None:
        """What Reset does: a new episode, the initial recurrent state, a redraw."""
        if seed is None:
            seed, self._seed = self._seed, self._seed + 1
        self.obs, _ = self.env.reset(seed=seed)
        self.state, self.prev_action, self.prev_reward = None, None, 0.0
        self.steps, self.episode_return = 0, 0.0
        self.status.value = f"new episode (seed {seed})"
        self.redraw()

    def step(self) -> None:
        """What Step does: send the action shown to the env, then trace the next observation."""
        if not self.stages:
            return
        action = self.stage("action").output
        self.obs, reward, terminated, truncated, _ = self.env.step(action)
        self.state = self.stage("model").details.get("state_out") or None
        self.prev_action, self.prev_reward = action, float(reward)
        self.steps += 1
        self.episode_return += float(reward)
        self.status.value = (
            f"step {self.steps}: action {html.escape(str(action))}, reward {float(reward):.3g},"
            f" return {self.episode_return:.3g}"
        )
        if terminated or truncated:
            end = "terminated" if terminated else "was truncated"
            self.status.value += f" · the episode {end}; the next Step starts a new one"
            self.reset_after_end()
            return
        self.redraw()

    def reset_after_end(self) -> None:
        """Start the next episode but keep the message about the one that ended."""
        message = self.status.value
        self.reset()
        self.status.value = message

    def redraw(self) -> None:
        """Trace the current observation and redraw the picture."""
        policy = copy.deepcopy(self.policy) if self._live else self.policy
        try:
            self.stages = policy.trace(
                self.obs,
                state=self.state,
                explore=self.explore.value,
                prev_action=self.prev_action,
                prev_reward=self.prev_reward,
            )
        except Exception as err:  # a custom component that fails at run time
            self.stages = []
            self.status.value = error_html(error_text(err))
            return
        self.picture.value = dataflow_html(self.stages)
