"""ModelCatalog: picks (or looks up) the preprocessor, model and action distribution for a space.

The default heuristic is the seed's: an observation of rank >= 3 after preprocessing gets a
``VisionNetwork``, anything else a ``FullyConnectedNetwork``; ``use_lstm`` wraps either (or a
custom model) in an LSTM. Custom components are registered by name and always win: rlkit never
falls back to a built-in when a custom component fails; it raises an error that says why.

Example:
    >>> import gymnasium as gym
    >>> print(ModelCatalog.explain(gym.spaces.Discrete(5), gym.spaces.Discrete(2),
    ...                            {"fcnet_hiddens": [32]}))  # doctest: +ELLIPSIS
    observation  Discrete(5)...
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from rlkit.distributions import (
    BUILTIN_DISTRIBUTIONS,
    ActionDistribution,
    MultiActionDistribution,
    get_dist_class_for_space,
    make_builtin_dist,
)
from rlkit.distributions.multi import with_leaf_children
from rlkit.filters import MeanStdFilter, NoFilter, get_filter
from rlkit.models import FullyConnectedNetwork, LSTMWrapper, Model, VisionNetwork
from rlkit.models.checks import build_custom_model, check_model
from rlkit.preprocessors import Preprocessor, get_preprocessor
from rlkit.spaces import is_nested
from rlkit.trace import Explanation, explain_components
from rlkit.utils.config import merge_model_config, suggest


def _lookup(registry: dict[str, type], name: Any, kind: str) -> type:
    """A registered class by name (a class may also be given directly)."""
    if isinstance(name, type):
        return name
    if name not in registry:
        known = ", ".join(sorted(registry)) or "none registered yet"
        raise ValueError(
            f"no custom {kind} named '{name}'{suggest(str(name), registry)}; registered: {known}. "
            f"Register it first with ModelCatalog.register_custom_{kind.replace(' ', '_')}"
            f"('{name}', YourClass)."
        )
    return registry[name]


def _output_width(shape: Any, cls: type) -> int:
    """Return ``required_model_output_shape``'s answer as a width.

    An int (numpy's too), or RLlib's shape tuple, whose product is the width.
    """
    if isinstance(shape, (tuple, list, np.ndarray)) and all(
        isinstance(d, (int, np.integer)) for d in np.asarray(shape).reshape(-1).tolist()
    ):
        shape = int(np.prod(shape))
    if isinstance(shape, np.integer):
        shape = int(shape)
    if not (isinstance(shape, int) and not isinstance(shape, bool) and shape > 0):
        raise ValueError(
            f"custom action distribution {cls.__name__}.required_model_output_shape returned "
            f"{shape!r}; it must return the model output width: a positive int (or a shape "
            f"tuple such as (6,))"
        )
    return shape


def check_framework(framework: Any, where: str) -> None:
    """Check ``framework``: "torch" passes, RLlib's "tf" / "tf2" are an error (PyTorch only)."""
    if framework != "torch":
        raise ValueError(
            f"{where}: framework={framework!r}, but rlkit is PyTorch only; use "
            f"framework='torch' (or leave it out) and write the model as a torch Model"
        )


def _check_kwargs(cls: type, kwargs: dict[str, Any]) -> None:
    """Every custom_model_config key must be a parameter of cls.__init__ (never dropped)."""
    params = inspect.signature(cls.__init__).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    accepted = [
        n
        for n in params
        if n not in ("self", "obs_space", "action_space", "num_outputs", "model_config", "name")
    ]
    for key in kwargs:
        if key not in accepted:
            takes = ", ".join(accepted) or "no extra arguments"
            raise ValueError(
                f"custom_model_config key '{key}' is not a parameter of {cls.__name__}.__init__"
                f"{suggest(key, accepted)}; it accepts: {takes}"
            )


def _register(registry: dict[str, type], name: str, cls: Any, base: type, rule: str) -> None:
    """Store ``cls`` under ``name``, or a TypeError stating ``rule`` when it is no ``base``."""
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise TypeError(f"{rule} got {cls!r}")
    registry[name] = cls


class ModelCatalog:
    """Registries of custom components plus the functions that build the default ones."""

    _custom_models: dict[str, type] = {}
    _custom_preprocessors: dict[str, type] = {}
    _custom_action_dists: dict[str, type] = {}

    # -- registration -------------------------------------------------------------------------
    @staticmethod
    def register_custom_model(name: str, model_class: type) -> None:
        """Make ``model_class`` (a subclass of rlkit.models.Model) usable as custom_model=name."""
        _register(
            ModelCatalog._custom_models,
            name,
            model_class,
            Model,
            f"custom model '{name}' must be a subclass of rlkit.models.Model (itself a "
            "torch.nn.Module);",
        )

    @staticmethod
    def register_custom_preprocessor(name: str, preprocessor_class: type) -> None:
        """Make ``preprocessor_class`` usable as custom_preprocessor=name.

        The seed deprecates custom preprocessors in favour of gymnasium wrappers; rlkit keeps
        them for teaching the difference.
        """
        _register(
            ModelCatalog._custom_preprocessors,
            name,
            preprocessor_class,
            Preprocessor,
            f"custom preprocessor '{name}' must subclass rlkit.preprocessors.Preprocessor;",
        )

    @staticmethod
    def register_custom_action_dist(name: str, dist_class: type) -> None:
        """Make ``dist_class`` (an ActionDistribution) usable as custom_action_dist=name."""
        _register(
            ModelCatalog._custom_action_dists,
            name,
            dist_class,
            ActionDistribution,
            f"custom action distribution '{name}' must subclass "
            "rlkit.distributions.ActionDistribution;",
        )

    @staticmethod
    def registered() -> dict[str, list[str]]:
        """Names of the registered custom components, by kind (used by the widgets)."""
        return {
            "models": sorted(ModelCatalog._custom_models),
            "preprocessors": sorted(ModelCatalog._custom_preprocessors),
            "action_dists": sorted(ModelCatalog._custom_action_dists),
        }

    # -- preprocessors ------------------------------------------------------------------------
    @staticmethod
    def get_preprocessor_for_space(space: gym.Space, options: dict | None = None) -> Preprocessor:
        """The preprocessor for ``space``: the registered custom one if options names one."""
        options = merge_model_config(options)
        name = options.get("custom_preprocessor")
        if name is not None:
            cls = _lookup(ModelCatalog._custom_preprocessors, name, "preprocessor")
        else:
            cls = get_preprocessor(space)
        return cls(space, options)

    @staticmethod
    def get_preprocessor(env: gym.Env, options: dict | None = None) -> Preprocessor:
        """RLlib's name: the preprocessor for ``env.observation_space``."""
        space = getattr(env, "observation_space", None)
        if not isinstance(space, gym.Space):
            raise TypeError(
                f"ModelCatalog.get_preprocessor takes an env (with .observation_space); got "
                f"{type(env).__name__}. For a space use get_preprocessor_for_space(space)"
            )
        return ModelCatalog.get_preprocessor_for_space(space, options)

    # -- action distributions -----------------------------------------------------------------
    @staticmethod
    def get_action_dist(action_space: gym.Space, model_config: dict | None) -> tuple[Any, int]:
        """The action distribution for ``action_space`` and the model output width it needs.

        Returns:
            (dist_class, num_outputs): call the class as ``dist_class(inputs, model)``.
            ``num_outputs`` is the width, or, as in RLlib, the shape tuple a custom
            distribution's ``required_model_output_shape`` returned (the model then outputs
            its product, ``[B, prod(shape)]``).
        """
        config = merge_model_config(model_config)
        name = config["custom_action_dist"]
        if name is None:
            return get_dist_class_for_space(action_space, config)
        if (
            isinstance(name, str)
            and name in BUILTIN_DISTRIBUTIONS
            and name not in ModelCatalog._custom_action_dists
        ):
            return make_builtin_dist(name, action_space, config)
        cls = _lookup(ModelCatalog._custom_action_dists, name, "action dist")
        if issubclass(cls, MultiActionDistribution) and is_nested(action_space):
            # RLlib fills a registered MultiActionDistribution in with its leaves' defaults.
            return with_leaf_children(cls, action_space)
        shape = cls.required_model_output_shape(action_space, config)
        width = _output_width(shape, cls)  # checks it
        # RLlib returns the distribution's answer as it is: a shape tuple stays a tuple.
        return cls, tuple(int(d) for d in shape) if isinstance(shape, (tuple, list)) else width

    # -- models -------------------------------------------------------------------------------
    @staticmethod
    def get_model(
        obs_space: gym.Space,
        action_space: gym.Space,
        num_outputs: int,
        model_config: dict | None,
        name: str = "model",
    ) -> Model:
        """Build the model: custom if model_config names one, else the default heuristic.

        Args:
            obs_space: the preprocessed space (``Preprocessor.observation_space``); it keeps
                ``.original_space`` so models can see nested observations.
            action_space: the env's action space.
            num_outputs: width the action distribution needs (from get_action_dist).
            model_config: RLlib model keys (merged with MODEL_DEFAULTS and checked).
            name: a name for error messages and explain().
        """
        config = merge_model_config(model_config)
        custom = config["custom_model"]
        kwargs = config["custom_model_config"]
        if custom is None and kwargs:
            raise ValueError(
                "model config has custom_model_config but no custom_model; the built-in models "
                "take no extra arguments (set 'custom_model' to your registered model's name)"
            )
        if custom is not None:
            cls = _lookup(ModelCatalog._custom_models, custom, "model")
            _check_kwargs(cls, kwargs)
            inner_outputs = config["lstm_cell_size"] if config["use_lstm"] else num_outputs
            model = build_custom_model(
                cls, custom, (obs_space, action_space, inner_outputs, config, name), kwargs
            )
        else:
            cls = VisionNetwork if len(obs_space.shape) >= 3 else FullyConnectedNetwork
            inner_outputs = None if config["use_lstm"] else num_outputs
            model = cls(obs_space, action_space, inner_outputs, config, name)
        if config["use_lstm"]:
            model = LSTMWrapper(model, obs_space, action_space, num_outputs, config, name + "_lstm")
        check_model(model, obs_space, action_space, num_outputs)
        return model

    @staticmethod
    def get_model_v2(
        obs_space: gym.Space,
        action_space: gym.Space,
        num_outputs: int,
        model_config: dict | None,
        framework: str = "torch",
        name: str = "default_model",
        model_interface: Any = None,
        default_model: type | None = None,
        **model_kwargs: Any,
    ) -> Model:
        """RLlib's signature for :meth:`get_model`.

        ``framework`` must be "torch"; ``default_model`` (a Model class) is built when the
        config names no custom model; ``model_kwargs`` go to the custom model's ``__init__``
        with ``custom_model_config`` (checked the same way). RLlib's ``model_interface`` has
        no rlkit counterpart: subclass the model instead.
        """
        check_framework(framework, "ModelCatalog.get_model_v2")
        if model_interface is not None:
            raise ValueError(
                "ModelCatalog.get_model_v2: rlkit has no model_interface (RLlib wraps the "
                "model class in it); subclass your model and register the subclass instead"
            )
        config = dict(model_config or {})
        if model_kwargs:
            config["custom_model_config"] = {
                **dict(config.get("custom_model_config") or {}),
                **model_kwargs,
            }
        if default_model is not None and not config.get("custom_model"):
            config["custom_model"] = default_model
        return ModelCatalog.get_model(obs_space, action_space, num_outputs, config, name)

    @staticmethod
    def explain(
        obs_space: gym.Space,
        action_space: gym.Space,
        model_config: dict | None = None,
        observation_filter: str = "NoFilter",
    ) -> Explanation:
        """A readable account of what will be built for these spaces and why.

        It gives the shape at every stage, and builds the components, so it also raises the
        errors a trainer would.
        """
        return explain_components(
            ModelCatalog.assemble(obs_space, action_space, model_config, observation_filter)
        )

    @staticmethod
    def assemble(
        obs_space: gym.Space,
        action_space: gym.Space,
        model_config: dict | None = None,
        observation_filter: str = "NoFilter",
    ) -> Components:
        """Build every component for these spaces, in pipeline order: what a Policy runs.

        Args:
            obs_space: the env's raw observation space.
            action_space: the env's action space.
            model_config: RLlib model keys (merged with MODEL_DEFAULTS and checked).
            observation_filter: "NoFilter" or "MeanStdFilter".
        """
        config = merge_model_config(model_config)
        preprocessor = ModelCatalog.get_preprocessor_for_space(obs_space, config)
        dist_class, shape = ModelCatalog.get_action_dist(action_space, config)
        num_outputs = _output_width(shape, dist_class)  # the model's flat output width
        model = ModelCatalog.get_model(
            preprocessor.observation_space, action_space, num_outputs, config
        )
        return Components(
            observation_space=obs_space,
            action_space=action_space,
            model_config=config,
            preprocessor=preprocessor,
            filter_name=observation_filter,
            filter=get_filter(observation_filter, preprocessor.shape),
            dist_class=dist_class,
            num_outputs=num_outputs,
            model=model,
        )


@dataclass
class Components:
    """The parts the catalog assembled for one env's spaces, in pipeline order."""

    observation_space: gym.Space
    action_space: gym.Space
    model_config: dict
    preprocessor: Preprocessor
    filter_name: str
    filter: NoFilter | MeanStdFilter
    dist_class: Any
    num_outputs: int
    model: Model
