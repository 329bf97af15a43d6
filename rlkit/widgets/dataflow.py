"""DataFlowView: one observation through Preprocessor -> Filter -> Model -> Distribution.

    >>> view = DataFlowView(policy, "CartPole-v1")
    >>> view                        # Step applies the action shown and redraws; Reset restarts

The labels above the picture repeat each stage's component, shape and dtype as text (easy to
read, copy and test); the picture comes from rlkit.widgets.drawing.
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as widgets

from rlkit.envs import make_env
from rlkit.widgets.building import error_text
from rlkit.widgets.dashboard import error_html
from rlkit.widgets.drawing import STAGE_NAMES, render_stages, stage_text


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
        self.policy = policy
        self.env_spec, self.env_config = env, env_config
        self.env = make_env(env, env_config)
        self.stages: list = []
        self._seed = seed
        self.labels = [widgets.HTML(layout={"width": "16%"}) for _ in STAGE_NAMES]
        self.image = widgets.Image(format="png", layout={"width": "100%"})
        self.image.add_class("rlkit-dataflow")  # CSS hooks for styling and the browser test
        for label in self.labels:
            label.add_class("rlkit-stage")
        self.step_button = widgets.Button(description="Step", icon="step-forward")
        self.reset_button = widgets.Button(description="Reset", icon="refresh")
        self.explore = widgets.Checkbox(value=explore, description="sample actions")
        self.status = widgets.HTML("")
        self.step_button.on_click(lambda _: self.step())
        self.reset_button.on_click(lambda _: self.reset())
        self.explore.observe(lambda _: self.redraw(), names="value")
        controls = widgets.HBox([self.step_button, self.reset_button, self.explore, self.status])
        super().__init__([widgets.HBox(self.labels), self.image, controls])
        self.reset()

    def set_policy(self, policy: Any, env: Any = None, env_config: dict | None = None) -> None:
        """Show another policy: the same observation again, or a fresh env when it changed."""
        self.policy = policy
        if env is not None and (env is not self.env_spec or env_config != self.env_config):
            self.env.close()
            self.env_spec, self.env_config = env, env_config
            self.env = make_env(env, env_config)
            self.reset()
            return
        self.state = None  # the new model may keep a different state (or none)
        self.redraw()

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
        action = self.stages[-1].output
        self.obs, reward, terminated, truncated, _ = self.env.step(action)
        self.state = self.stages[3].details.get("state_out") or None
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
        """Trace the current observation and redraw labels and picture."""
        try:
            self.stages = self.policy.trace(
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
        for label, stage in zip(self.labels, self.stages):
            label.value = (
                f"<b>{stage.name}</b><br><code>{html.escape(stage.component)}</code><br>"
                f"<span class='rlkit-shape'>{html.escape(stage_text(stage))}</span>"
            )
        self.image.value = render_stages(self.stages)
