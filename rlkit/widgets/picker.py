"""ComponentPicker: choose env, preprocessor, filter, model, distribution and algorithm.

    >>> picker = ComponentPicker("CartPole-v1", "PPO", {"model": {"fcnet_hiddens": [32]}})
    >>> picker                      # every change rebuilds picker.policy and shows its explain()

A choice that cannot work (a conv stack that does not fit the frames, an unknown key, a
distribution that does not fit the action space) shows its error inline and keeps the last
working policy. The plain-function version is rlkit.widgets.building.build_policy.
"""

from __future__ import annotations

import copy
import html
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from rlkit.algorithms.config.keys import algorithm_keys
from rlkit.envs import env_label
from rlkit.utils.config import ACTIVATIONS, MODEL_DEFAULTS
from rlkit.widgets.building import (
    Choices,
    SpacesCache,
    algorithm_class,
    build_policy,
    error_text,
    parse_dict,
    parse_int_list,
    parse_literal,
)
from rlkit.widgets.dashboard import error_html
from rlkit.widgets.editors import (
    DEFAULT_ENVS,
    EDITOR_CSS,
    FILTERS,
    MODEL_EDITOR_KEYS,
    EditorRows,
    checkbox,
    component_dropdown,
    dropdown,
    editable_keys,
    hyperparameter_editors,
    refresh_options,
    text,
)


class ComponentPicker(widgets.VBox):
    """Editors for every component; ``policy`` is the last policy that could be built.

    Args:
        env: the env to start with (anything rlkit.envs.make_env accepts).
        algo: a key of rlkit.algorithms.ALGORITHMS.
        config: a trainer config, as for ``PPO(env=..., config=...)``.
        envs: the envs the dropdown offers (``env`` is added when missing).

    Attributes:
        policy: the current (last working) rlkit Policy.
        choices: the Choices it was built from.
        error: the current error text, "" when the picked components work.

    Raises:
        ValueError: when the starting components do not work (there is no last working
            policy to keep yet).
    """

    def __init__(
        self,
        env: Any = "CartPole-v1",
        algo: str = "PPO",
        config: dict | None = None,
        envs: list | None = None,
    ):
        config = copy.deepcopy(config or {})
        model = dict(config.pop("model", None) or {})
        observation_filter = config.pop("observation_filter", "NoFilter")
        # Values given or typed for the hyperparameter editors; only these reach the config,
        # so a default the trainer derives (or checks against another key) stays its own.
        self._hparams = {
            k.name: config.pop(k.name) for k in editable_keys(algo) if k.name in config
        }
        self.policy, self.choices, self.error = None, None, ""
        self._callbacks: list[Callable] = []
        self._error_callbacks: list[Callable] = []
        self._culprit = self._last_changed = None
        self._spaces = SpacesCache()  # a model change does not remake the env
        self._quiet = False
        effective = {**MODEL_DEFAULTS, **algorithm_class(algo).DEFAULT_CONFIG.get("model", {})}
        env_options = list(envs or DEFAULT_ENVS)
        env_options = env_options if env in env_options else [env, *env_options]
        self._make_editors(env_options, env, algo, observation_filter, {**effective, **model})
        extra_model = {k: v for k, v in model.items() if k not in MODEL_EDITOR_KEYS}
        self.more_model.value = repr(extra_model) if extra_model else ""
        self.more_config.value = repr(config) if config else ""
        self._make_hyperparameter_editors()
        self.error_box = widgets.HTML("", layout={"width": "100%"})
        self.error_box.add_class("rlkit-error")
        self.explain = widgets.HTML("")
        css = widgets.HTML(f"<style>{EDITOR_CSS}</style>", layout={"display": "none"})
        super().__init__([css, *self._layout()])
        self.add_class("rlkit-picker")
        for editor in self._editors():
            editor.observe(self._changed, names="value")
        if not self.rebuild():
            raise ValueError(self.error)

    # -- widgets ------------------------------------------------------------------------------
    def _make_editors(self, envs: list, env: Any, algo: str, flt: str, model: dict) -> None:
        """Make the dropdowns for env, algorithm, preprocessor, filter and distribution.

        The model's editors come from ``_make_model_editors``.
        """
        from rlkit.algorithms import ALGORITHMS

        self.env = dropdown("environment", [(env_label(e), e) for e in envs], env)
        self.algo = dropdown("algorithm", list(ALGORITHMS), algo)
        self.preprocessor = component_dropdown("preprocessor", model["custom_preprocessor"])
        self.filter = dropdown("filter", list(FILTERS), flt)
        self._make_model_editors(model)
        self.action_dist = component_dropdown("action distribution", model["custom_action_dist"])
        self.more_config = text("more config", "", "{'seed': 0}")
        self.refresh_button = widgets.Button(
            description="reload registered components", icon="refresh", layout={"width": "auto"}
        )
        self.refresh_button.on_click(lambda _: self.refresh_registered())
        self.algo.observe(self._algo_changed, names="value")

    def _make_model_editors(self, model: dict) -> None:
        self.model = component_dropdown("model", model["custom_model"])
        cmc = model["custom_model_config"]
        self.custom_model_config = text("custom_model_config", repr(cmc) if cmc else "", "{}")
        self.fcnet_hiddens = text("fcnet_hiddens", ", ".join(map(str, model["fcnet_hiddens"])))
        self.fcnet_activation = dropdown("fcnet_activation", ACTIVATIONS, model["fcnet_activation"])
        conv = model["conv_filters"]
        self.conv_filters = text(
            "conv_filters", "" if conv is None else repr(conv), "default stack for the frame size"
        )
        self.use_lstm = checkbox("use_lstm", model["use_lstm"])
        self.lstm_cell_size = widgets.BoundedIntText(
            value=model["lstm_cell_size"],
            min=1,
            max=4096,
            description="lstm_cell_size",
            style={"description_width": "initial"},
            layout={"width": "190px"},
        )
        self.free_log_std = checkbox("free_log_std", model["free_log_std"])
        self.vf_share_layers = checkbox("vf_share_layers", model["vf_share_layers"])
        self.more_model = text("more model keys", "", "{'post_fcnet_hiddens': [32]}")

    def _make_hyperparameter_editors(self) -> None:
        """One number box per main hyperparameter the current algorithm has."""
        self.hyperparameters = hyperparameter_editors(self.algo.value, self._hparams)
        for key, editor in self.hyperparameters.items():
            editor.observe(self._hparam_changed(key), names="value")

    def _hparam_changed(self, key: str) -> Callable:
        def changed(change: dict) -> None:
            self._hparams[key] = change["new"]
            self._changed(change)

        return changed

    def _editors(self) -> list[widgets.Widget]:
        return [
            self.env,
            self.preprocessor,
            self.filter,
            self.model,
            self.custom_model_config,
            self.fcnet_hiddens,
            self.fcnet_activation,
            self.conv_filters,
            self.use_lstm,
            self.lstm_cell_size,
            self.free_log_std,
            self.vf_share_layers,
            self.more_model,
            self.action_dist,
            self.more_config,
        ]

    def _row(self, *editors: widgets.Widget, indent: bool = False) -> widgets.VBox:
        return self._rows.row(*editors, indent=indent)

    def _hyperparameter_section(self) -> widgets.VBox:
        rows = [self._row(editor) for editor in self.hyperparameters.values()]
        return widgets.VBox([*rows, self._row(self.more_config)])

    def _layout(self) -> list[widgets.Widget]:
        """The components a learner swaps, in pipeline order; the rest folded away below."""

        def head(text: str) -> widgets.HTML:
            return widgets.HTML(f"<b>{text}</b>", layout={"margin": "6px 0 0 0"})

        self._rows = EditorRows(self.error_box)
        more_model = widgets.VBox(
            [
                self._row(self.custom_model_config),
                self._row(self.free_log_std, self.vf_share_layers, indent=True),
                self._row(self.more_model),
                self.refresh_button,
            ]
        )
        self.explain.layout = {"width": "100%"}
        self.advanced = widgets.Accordion(
            children=[self._hyperparameter_section(), more_model, self.explain],
            titles=("Hyperparameters", "More model keys", "What was built (explain)"),
            selected_index=None,
            layout={"width": "100%", "margin": "8px 0 0 0"},
        )
        return [
            head("Environment and algorithm"),
            self._row(self.env),
            self._row(self.algo),
            head("Preprocessor and filter"),
            self._row(self.preprocessor),
            self._row(self.filter),
            head("Model"),
            self._row(self.model),
            self._row(self.fcnet_hiddens),
            self._row(self.fcnet_activation),
            self._row(self.conv_filters),
            self._row(self.use_lstm, self.lstm_cell_size, indent=True),
            head("Action distribution"),
            self._row(self.action_dist),
            self.advanced,
        ]

    # -- reacting to changes ------------------------------------------------------------------
    def _changed(self, change: dict) -> None:
        self._last_changed = change.get("owner")
        if not self._quiet:
            self.rebuild()

    def _algo_changed(self, change: dict) -> None:
        self._make_hyperparameter_editors()
        children = list(self.advanced.children)
        children[0] = self._hyperparameter_section()
        self.advanced.children = children
        self._changed(change)

    def on_change(self, callback: Callable[[ComponentPicker], None]) -> None:
        """Call ``callback(picker)`` after every change that built a working policy."""
        self._callbacks.append(callback)

    def on_error(self, callback: Callable[[ComponentPicker], None]) -> None:
        """Call ``callback(picker)`` after every change that could not build a policy."""
        self._error_callbacks.append(callback)

    def _read(self, editor: widgets.Widget, parse: Callable[[], Any]) -> Any:
        """``parse()``, remembering ``editor`` as the culprit when its text cannot be read."""
        try:
            return parse()
        except ValueError:
            self._culprit = editor
            raise

    def read_choices(self) -> Choices:
        """The editors' values as Choices (raises ValueError for text that cannot be read)."""
        config = self._read_config()
        config["model"] = self._read_model()
        config["observation_filter"] = self.filter.value
        return Choices(self.env.value, self.algo.value, config)

    def _own_editor(self, keys: Any, taken: tuple, editor: widgets.Widget, what: str) -> None:
        """Refuse a key typed into a text box when it has its own editor above."""
        for key in keys:
            if key in taken:
                self._culprit = editor
                raise ValueError(
                    f"{what} key '{key}' has its own editor above; set it there and remove it "
                    f"from '{editor.description}'"
                )

    def _read_model(self) -> dict:
        example = "{'post_fcnet_hiddens': [32]}"
        model = self._read(
            self.more_model, lambda: parse_dict(self.more_model.value, "more model keys", example)
        )
        self._own_editor(model, MODEL_EDITOR_KEYS, self.more_model, "model")
        conv_example = "[[16, [8, 8], 4], [32, [4, 4], 2]]"
        model.update(
            fcnet_hiddens=self._read(
                self.fcnet_hiddens,
                lambda: parse_int_list(self.fcnet_hiddens.value, "fcnet_hiddens"),
            ),
            fcnet_activation=self.fcnet_activation.value,
            conv_filters=self._read(
                self.conv_filters,
                lambda: parse_literal(self.conv_filters.value, "conv_filters", None, conv_example),
            ),
            use_lstm=self.use_lstm.value,
            lstm_cell_size=self.lstm_cell_size.value,
            free_log_std=self.free_log_std.value,
            vf_share_layers=self.vf_share_layers.value,
        )
        for key, editor in (
            ("custom_model", self.model),
            ("custom_action_dist", self.action_dist),
            ("custom_preprocessor", self.preprocessor),
        ):
            if editor.value:
                model[key] = editor.value
        text = self.custom_model_config.value
        cmc = self._read(
            self.custom_model_config,
            lambda: parse_dict(text, "custom_model_config", "{'width': 32}"),
        )
        if cmc:
            model["custom_model_config"] = cmc
        return model

    def _read_config(self) -> dict:
        config = self._read(
            self.more_config,
            lambda: parse_dict(self.more_config.value, "more config", "{'seed': 0}"),
        )
        taken = ("model", "observation_filter", *self.hyperparameters)
        self._own_editor(config, taken, self.more_config, "config")
        table = algorithm_keys(self.algo.value)
        for key, editor in self.hyperparameters.items():
            if key in self._hparams:  # given or typed: checked against the key table
                self._read(editor, lambda k=key, e=editor: table[k].check(e.value, self.algo.value))
                config[key] = editor.value
        return config

    def rebuild(self) -> bool:
        """Rebuild the policy from the editors; returns whether it worked.

        On failure the editor at fault is outlined with the error under it, ``policy`` stays
        the last working one and the ``on_error`` callbacks run.
        """
        self._culprit = None
        self.refresh_registered()
        try:
            choices = self.read_choices()
            policy, error = build_policy(choices, self._spaces(choices))
        except Exception as err:
            policy, error = None, error_text(err)
        if policy is None:
            self.error = error
            note = "keeping the last working policy" if self.policy is not None else ""
            self._mark(self._culprit or self._last_changed or self.env, error_html(error, note))
            for callback in self._error_callbacks:
                callback(self)
            return False
        self.policy, self.choices, self.error = policy, choices, ""
        self._mark(None, "")
        self.explain.value = (
            "<pre style='white-space:pre-wrap;overflow-wrap:normal;overflow-x:auto;"
            f"font-size:11px;margin:0'>{html.escape(str(policy.explain()))}</pre>"
        )
        for callback in self._callbacks:
            callback(self)
        return True

    @property
    def bad_editor(self) -> widgets.Widget | None:
        """The editor outlined as the cause of the current error (None when all work)."""
        return self._rows.bad

    def _mark(self, editor: widgets.Widget | None, message: str) -> None:
        """Outline ``editor`` and show ``message`` under it; None clears the mark."""
        row = self._rows.mark(editor or None, message, fallback=self.env)
        for index, section in enumerate(self.advanced.children):
            if row is not None and row in getattr(section, "children", ()):
                self.advanced.selected_index = index  # unfold the section at fault

    # -- helpers for the Playground -----------------------------------------------------------
    @property
    def config(self) -> dict:
        """The trainer config of the current (working) choices."""
        return copy.deepcopy(self.choices.config)

    def set_enabled(self, enabled: bool) -> None:
        """Grey out every editor (while training runs) or enable them again."""
        for editor in [*self._editors(), self.algo, *self.hyperparameters.values()]:
            editor.disabled = not enabled

    def refresh_registered(self) -> None:
        """Offer components registered with ModelCatalog since the picker was made.

        Also done before every rebuild, so a component registered in a later cell appears
        in its dropdown at the next change.
        """
        self._quiet = True
        try:
            refresh_options(
                {
                    "model": self.model,
                    "preprocessor": self.preprocessor,
                    "action distribution": self.action_dist,
                }
            )
        finally:
            self._quiet = False
