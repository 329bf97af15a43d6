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

from rlkit.catalog import ModelCatalog
from rlkit.config import ACTIVATIONS, MODEL_DEFAULTS
from rlkit.distributions import BUILTIN_DISTRIBUTIONS
from rlkit.envs import env_label
from rlkit.widgets.building import (
    MAIN_HYPERPARAMETERS,
    Choices,
    algorithm_class,
    algorithm_defaults,
    build_policy,
    env_spaces,
    error_text,
    parse_dict,
    parse_int_list,
    parse_literal,
)
from rlkit.widgets.dashboard import error_html

DEFAULT_ENVS = (
    "CartPole-v1",
    "Acrobot-v1",
    "Pendulum-v1",
    "Taxi-v4",
    "Blackjack-v1",
    "ALE/Pong-v5",
)
FILTERS = ("NoFilter", "MeanStdFilter")
# Model keys with their own editor; any other model key goes in the "more model keys" text.
MODEL_EDITOR_KEYS = (
    "fcnet_hiddens",
    "fcnet_activation",
    "conv_filters",
    "use_lstm",
    "lstm_cell_size",
    "free_log_std",
    "vf_share_layers",
    "custom_model",
    "custom_model_config",
    "custom_action_dist",
    "custom_preprocessor",
)
_STYLE = {"description_width": "170px"}
_WIDE = {"width": "480px"}
_INDENT = {"margin": "0 0 0 176px"}  # line checkboxes up with the editors' boxes


def _named_options(first: tuple, names: list, current: Any) -> list[tuple[str, Any]]:
    """Dropdown options: ``first`` (label, "") then names; a class given directly is kept."""
    options = [first] + [(str(n), n) for n in names]
    if current and current not in names:
        options.append((getattr(current, "__name__", str(current)), current))
    return options


def _dropdown(description: str, options: Any, value: Any) -> widgets.Dropdown:
    return widgets.Dropdown(options=options, value=value, description=description, style=_STYLE)


def _text(description: str, value: str, placeholder: str = "") -> widgets.Text:
    return widgets.Text(
        value=value,
        description=description,
        placeholder=placeholder,
        continuous_update=False,  # rebuild on Enter or leaving the box, not per keystroke
        style=_STYLE,
        layout=_WIDE,
    )


def _checkbox(description: str, value: bool) -> widgets.Checkbox:
    return widgets.Checkbox(
        value=value, description=description, indent=False, layout={"width": "170px"}
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
        defaults = algorithm_defaults(algo)
        self._hparams = {
            k: config.pop(k) for k in MAIN_HYPERPARAMETERS if k in defaults and k in config
        }
        self.policy, self.choices, self.error = None, None, ""
        self._callbacks: list[Callable] = []
        self._spaces: dict[tuple, tuple] = {}
        self._quiet = False
        effective = {**MODEL_DEFAULTS, **algorithm_class(algo).DEFAULT_CONFIG.get("model", {})}
        effective.update(model)
        env_options = list(envs or DEFAULT_ENVS)
        if env not in env_options:
            env_options.insert(0, env)
        self._make_editors(env_options, env, algo, observation_filter, effective)
        extra_model = {k: v for k, v in model.items() if k not in MODEL_EDITOR_KEYS}
        self.more_model.value = repr(extra_model) if extra_model else ""
        self.more_config.value = repr(config) if config else ""
        self._make_hyperparameter_editors()
        self.error_box = widgets.HTML("")
        self.explain = widgets.HTML("")
        super().__init__(self._layout())
        for editor in self._editors():
            editor.observe(self._changed, names="value")
        if not self.rebuild():
            raise ValueError(self.error)

    # -- widgets ------------------------------------------------------------------------------
    def _make_editors(self, envs: list, env: Any, algo: str, flt: str, model: dict) -> None:
        """Dropdowns for env, algorithm, preprocessor, filter and distribution; the model's
        editors come from ``_make_model_editors``.
        """
        from rlkit.algorithms import ALGORITHMS

        registered = ModelCatalog.registered()
        self.env = _dropdown("environment", [(env_label(e), e) for e in envs], env)
        self.algo = _dropdown("algorithm", list(ALGORITHMS), algo)
        pre = model["custom_preprocessor"]
        self.preprocessor = _dropdown(
            "preprocessor",
            _named_options(("auto", ""), registered["preprocessors"], pre),
            pre or "",
        )
        self.filter = _dropdown("filter", list(FILTERS), flt)
        self._make_model_editors(model, registered["models"])
        dist = model["custom_action_dist"]
        dist_names = list(BUILTIN_DISTRIBUTIONS) + registered["action_dists"]
        self.action_dist = _dropdown(
            "action distribution", _named_options(("auto", ""), dist_names, dist), dist or ""
        )
        self.more_config = _text("more config", "", "{'seed': 0}")
        self.refresh_button = widgets.Button(
            description="reload registered components", icon="refresh", layout={"width": "auto"}
        )
        self.refresh_button.on_click(lambda _: self.refresh_registered())
        self.algo.observe(self._algo_changed, names="value")

    def _make_model_editors(self, model: dict, custom_models: list) -> None:
        custom = model["custom_model"]
        self.model = _dropdown(
            "model",
            _named_options(("default (FC / Vision)", ""), custom_models, custom),
            custom or "",
        )
        cmc = model["custom_model_config"]
        self.custom_model_config = _text("custom_model_config", repr(cmc) if cmc else "", "{}")
        self.fcnet_hiddens = _text("fcnet_hiddens", ", ".join(map(str, model["fcnet_hiddens"])))
        self.fcnet_activation = _dropdown(
            "fcnet_activation", ACTIVATIONS, model["fcnet_activation"]
        )
        conv = model["conv_filters"]
        self.conv_filters = _text(
            "conv_filters", "" if conv is None else repr(conv), "default stack for the frame size"
        )
        self.use_lstm = _checkbox("use_lstm", model["use_lstm"])
        self.lstm_cell_size = widgets.BoundedIntText(
            value=model["lstm_cell_size"],
            min=1,
            max=4096,
            description="lstm_cell_size",
            style={"description_width": "initial"},
            layout={"width": "190px"},
        )
        self.free_log_std = _checkbox("free_log_std", model["free_log_std"])
        self.vf_share_layers = _checkbox("vf_share_layers", model["vf_share_layers"])
        self.more_model = _text("more model keys", "", "{'post_fcnet_hiddens': [32]}")

    def _make_hyperparameter_editors(self) -> None:
        """One number box per main hyperparameter the current algorithm has."""
        defaults = algorithm_defaults(self.algo.value)
        self.hyperparameters: dict[str, widgets.Widget] = {}
        for key in MAIN_HYPERPARAMETERS:
            default = defaults.get(key)
            if isinstance(default, bool) or not isinstance(default, (int, float)):
                continue
            box = widgets.FloatText if isinstance(default, float) else widgets.IntText
            editor = box(value=self._hparams.get(key, default), description=key, style=_STYLE)
            editor.observe(self._hparam_changed(key), names="value")
            self.hyperparameters[key] = editor
        self.hyperparameter_box = widgets.VBox(list(self.hyperparameters.values()))

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

    def _layout(self) -> list[widgets.Widget]:
        def head(text: str) -> widgets.HTML:
            return widgets.HTML(f"<b>{text}</b>")

        self._sections = widgets.VBox(
            [
                head("Environment and algorithm"),
                self.env,
                self.algo,
                head("Preprocessor and filter"),
                self.preprocessor,
                self.filter,
                head("Model"),
                self.model,
                self.custom_model_config,
                self.fcnet_hiddens,
                self.fcnet_activation,
                self.conv_filters,
                widgets.HBox([self.use_lstm, self.lstm_cell_size], layout=_INDENT),
                widgets.HBox([self.free_log_std, self.vf_share_layers], layout=_INDENT),
                self.more_model,
                head("Action distribution"),
                self.action_dist,
                head("Algorithm hyperparameters"),
                self.hyperparameter_box,
                self.more_config,
                self.refresh_button,
            ]
        )
        self._sections.layout = {"flex": "0 0 500px"}
        side = widgets.VBox([self.error_box, self.explain], layout={"margin": "0 0 0 16px"})
        return [widgets.HBox([self._sections, side])]

    # -- reacting to changes ------------------------------------------------------------------
    def _changed(self, _change: dict) -> None:
        if not self._quiet:
            self.rebuild()

    def _algo_changed(self, change: dict) -> None:
        old = self.hyperparameter_box
        self._make_hyperparameter_editors()
        self._sections.children = tuple(
            self.hyperparameter_box if c is old else c for c in self._sections.children
        )
        self._changed(change)

    def on_change(self, callback: Callable[[ComponentPicker], None]) -> None:
        """Call ``callback(picker)`` after every change that built a working policy."""
        self._callbacks.append(callback)

    def read_choices(self) -> Choices:
        """The editors' values as Choices (raises ValueError for text that cannot be read)."""
        model = parse_dict(self.more_model.value, "more model keys", "{'post_fcnet_hiddens': [32]}")
        for key in model:
            if key in MODEL_EDITOR_KEYS:
                raise ValueError(
                    f"model key '{key}' has its own editor above; set it there and remove it "
                    f"from 'more model keys'"
                )
        model.update(
            fcnet_hiddens=parse_int_list(self.fcnet_hiddens.value, "fcnet_hiddens"),
            fcnet_activation=self.fcnet_activation.value,
            conv_filters=parse_literal(
                self.conv_filters.value, "conv_filters", None, "[[16, [8, 8], 4], [32, [4, 4], 2]]"
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
        cmc = parse_dict(self.custom_model_config.value, "custom_model_config", "{'width': 32}")
        if cmc:
            model["custom_model_config"] = cmc
        config = parse_dict(self.more_config.value, "more config", "{'seed': 0}")
        for key in config:
            if key in ("model", "observation_filter", *self.hyperparameters):
                raise ValueError(
                    f"config key '{key}' has its own editor above; set it there and remove it "
                    f"from 'more config'"
                )
        config.update({k: editor.value for k, editor in self.hyperparameters.items()})
        config["model"] = model
        config["observation_filter"] = self.filter.value
        return Choices(self.env.value, self.algo.value, config)

    def _env_spaces(self, choices: Choices) -> tuple:
        env_config = choices.config.get("env_config")
        key = (choices.env if isinstance(choices.env, str) else id(choices.env), repr(env_config))
        if key not in self._spaces:
            self._spaces[key] = env_spaces(choices.env, env_config)
        return self._spaces[key]

    def rebuild(self) -> bool:
        """Rebuild the policy from the editors; returns whether it worked.

        On failure the error shows inline and ``policy`` stays the last working one.
        """
        try:
            choices = self.read_choices()
            policy, error = build_policy(choices, self._env_spaces(choices))
        except Exception as err:
            policy, error = None, error_text(err)
        if policy is None:
            self.error = error
            note = "keeping the last working policy" if self.policy is not None else ""
            self.error_box.value = error_html(error, note)
            return False
        self.policy, self.choices, self.error = policy, choices, ""
        self.error_box.value = ""
        self.explain.value = f"<pre>{html.escape(str(policy.explain()))}</pre>"
        for callback in self._callbacks:
            callback(self)
        return True

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
        """Offer components registered with ModelCatalog since the picker was made."""
        registered = ModelCatalog.registered()
        dist_names = list(BUILTIN_DISTRIBUTIONS) + registered["action_dists"]
        self._quiet = True
        try:
            for editor, first, names in (
                (self.model, ("default (FC / Vision)", ""), registered["models"]),
                (self.action_dist, ("auto", ""), dist_names),
                (self.preprocessor, ("auto", ""), registered["preprocessors"]),
            ):
                value = editor.value
                editor.options = _named_options(first, names, value)
                editor.value = value
        finally:
            self._quiet = False
