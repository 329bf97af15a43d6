"""Plain functions behind the component picker: choices -> policy or trainer, text -> values.

Nothing here imports ipywidgets, so scripts and tests can rebuild what the picker rebuilds:

    >>> choices = Choices("CartPole-v1", "PPO", {"model": {"fcnet_hiddens": [32]}})
    >>> policy, error = build_policy(choices)
    >>> error
    ''
    >>> policy.num_outputs
    2
"""

from __future__ import annotations

import ast
import copy
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym

from rlkit.envs import env_label, make_env
from rlkit.utils.config import check_keys, suggest

# The hyperparameters the picker gives an editor, when the algorithm has them. The rest of an
# algorithm's config is still reachable through the picker's "more config" text.
MAIN_HYPERPARAMETERS = (
    "lr",
    "gamma",
    "num_envs",
    "rollout_fragment_length",
    "lambda",
    "clip_param",
    "num_sgd_iter",
    "sgd_minibatch_size",
    "entropy_coeff",
    "vf_loss_coeff",
    "buffer_size",
    "target_network_update_freq",
)


@dataclass
class Choices:
    """What a learner picked: an env, an algorithm name and the trainer config.

    Attributes:
        env: anything rlkit.envs.make_env accepts (gymnasium id, registered name, env class).
        algo: a key of rlkit.algorithms.ALGORITHMS, e.g. "PPO".
        config: the trainer config, as for ``PPO(env=..., config=...)``; "model" and
            "observation_filter" in it decide the policy.
    """

    env: Any = "CartPole-v1"
    algo: str = "PPO"
    config: dict = field(default_factory=dict)

    def policy_config(self) -> dict:
        """{"model": ..., "observation_filter": ...} as the trainer would build its policy.

        An algorithm's own model defaults (PPO's separate value network) sit under the
        learner's keys, exactly as in Algorithm.__init__.
        """
        from rlkit.atari import policy_model_config

        algo_model = algorithm_class(self.algo).DEFAULT_CONFIG.get("model", {})
        model = {**algo_model, **dict(self.config.get("model") or {})}
        return {
            "model": policy_model_config(self.env, {**self.config, "model": model}),
            "observation_filter": self.config.get("observation_filter", "NoFilter"),
        }


def algorithm_class(name: str) -> type:
    """The trainer class registered as ``name`` in rlkit.algorithms.ALGORITHMS."""
    from rlkit.algorithms import ALGORITHMS

    if name not in ALGORITHMS:
        raise ValueError(
            f"unknown algorithm '{name}'{suggest(str(name), ALGORITHMS)}; "
            f"rlkit has {', '.join(ALGORITHMS)}"
        )
    return ALGORITHMS[name]


def algorithm_defaults(name: str) -> dict[str, Any]:
    """Every config key of algorithm ``name`` with its default (common keys included).

    The keys' types, ranges and meanings: rlkit.algorithms.config.keys.algorithm_keys(name).
    """
    keys = algorithm_class(name).config_keys()
    return copy.deepcopy({k: key.default for k, key in keys.items()})


def env_spaces(
    env: Any, env_config: dict | None = None, config: dict | None = None
) -> tuple[gym.Space, gym.Space]:
    """(observation_space, action_space) of one freshly made env, which is then closed.

    ``config`` (the trainer config) decides the DeepMind frames of ``ALE/*`` ids, so the spaces
    are those the trainer's sampler will deliver (see rlkit.envs.make_env).
    """
    probe = make_env(env, env_config, config=config)
    try:
        return probe.observation_space, probe.action_space
    finally:
        probe.close()


class SpacesCache:
    """``env_spaces`` remembered per env, env_config and frame settings.

    A picker asks for the spaces at every change; only a change of what decides them (the
    env, its config, the DeepMind frame keys of an ``ALE/*`` id) makes a new env.
    """

    def __init__(self):
        self._spaces: dict[tuple, tuple] = {}

    def __call__(self, choices: Choices) -> tuple[gym.Space, gym.Space]:
        """(observation_space, action_space) for ``choices``."""
        env_config = choices.config.get("env_config")
        model = choices.config.get("model") or {}
        # What decides the frames of an ALE/* id is part of the key (rlkit.atari).
        frames = (
            choices.config.get("preprocessor_pref"),
            model.get("dim"),
            model.get("framestack"),
        )
        key = (
            choices.env if isinstance(choices.env, str) else id(choices.env),
            repr(env_config),
            repr(frames),
        )
        if key not in self._spaces:
            self._spaces[key] = env_spaces(choices.env, env_config, choices.config)
        return self._spaces[key]


def error_text(err: BaseException) -> str:
    """One readable line for an error: its type and message, never a traceback."""
    message = str(err).strip() or "(no message)"
    return f"{type(err).__name__}: {message}"


def build_policy(choices: Choices, spaces: tuple | None = None) -> tuple[Any, str]:
    """Build the policy the picked components describe.

    Args:
        choices: env, algorithm and config.
        spaces: (observation_space, action_space) when the caller already has them (the
            picker caches them per env so that a model change does not remake the env).

    Returns:
        (policy, "") when the components fit together, else (None, the error message): an
        unknown key with its suggestion, a conv stack that does not fit the frames, a
        distribution that does not fit the action space, an unknown algorithm setting...
    """
    from rlkit.policy import Policy

    try:
        defaults = algorithm_defaults(choices.algo)
        check_keys(choices.config, defaults, f"{choices.algo} config")
        if spaces is None:
            spaces = env_spaces(choices.env, choices.config.get("env_config"), choices.config)
        return Policy(*spaces, choices.policy_config()), ""
    except Exception as err:  # any failure is the learner's choice to report, not a crash
        return None, error_text(err)


def build_trainer(choices: Choices) -> Any:
    """The trainer for ``choices`` (raises the trainer's own clear errors)."""
    return algorithm_class(choices.algo)(env=choices.env, config=copy.deepcopy(choices.config))


def _net_text(model: dict, policy: Any = None) -> str:
    """Describe the network of a run in a few words.

    Examples: "fc[64, 64] tanh", "VisionNetwork conv[16, 32, 256] relu", "custom:my_model".
    With ``policy``, the model that was actually built decides (an image env gets a
    VisionNetwork whatever fcnet_hiddens say).
    """
    if model.get("custom_model"):
        return f"custom:{model['custom_model']}"
    built = getattr(getattr(policy, "model", None), "inner", getattr(policy, "model", None))
    if built is not None and type(built).__name__ != "FullyConnectedNetwork":
        from rlkit.models.visionnet import get_filter_config

        if type(built).__name__ == "VisionNetwork":
            shape = policy.preprocessor.shape
            filters = model.get("conv_filters") or get_filter_config(tuple(shape[:2]))
            channels = [layer[0] for layer in filters]
            return f"VisionNetwork conv{channels} {model.get('conv_activation', 'relu')}"
        return type(built).__name__
    hiddens = model.get("fcnet_hiddens", [256, 256])
    return f"fc{list(hiddens)} {model.get('fcnet_activation', 'tanh')}"


# Keys a run label never lists: described otherwise (model, filter, env) or not a setting.
_NOT_IN_LABEL = {"model", "observation_filter", "env", "seed", "output", "device", "framework"}


def changed_keys(choices: Choices) -> list[str]:
    """'key=value' for every config key that differs from the algorithm's defaults.

    Model keys read 'model.key', and only those the network text does not already say.

    >>> changed_keys(Choices("CartPole-v1", "PPO", {"lr": 0.001, "seed": 1}))
    ['lr=0.001']
    """
    from rlkit.utils.config import MODEL_DEFAULTS

    defaults = algorithm_defaults(choices.algo)
    parts = [
        f"{key}={value!r}" if isinstance(value, str) else f"{key}={value}"
        for key, value in choices.config.items()
        if key not in _NOT_IN_LABEL and defaults.get(key, object()) != value
    ]
    said = {"fcnet_hiddens", "fcnet_activation", "conv_filters", "conv_activation", "use_lstm"}
    said |= {"lstm_cell_size", "custom_model", "custom_action_dist", "custom_preprocessor"}
    algo_model = algorithm_class(choices.algo).DEFAULT_CONFIG.get("model", {})
    model_defaults = {**MODEL_DEFAULTS, **algo_model}
    for key, value in (choices.config.get("model") or {}).items():
        if key not in said and model_defaults.get(key, object()) != value:
            parts.append(f"model.{key}={value}")
    return parts


def run_label(choices: Choices, policy: Any = None) -> str:
    """A label that tells runs apart in the comparison plot: everything that differs.

    Example: "PPO fc[32] tanh +lstm64 MeanStdFilter on CartPole-v1, lr=0.001, seed 0": the
    algorithm, the network, the components, the env, every other key that differs from the
    algorithm's defaults, and the seed ("unseeded" when there is none) last, so that runs of
    one config differ only in their last words.

    Args:
        choices: what was picked.
        policy: the policy built from ``choices``; when given, the label names the model it
            really has ("VisionNetwork conv[16, 32, 256] relu" for Pong frames).
    """
    model = choices.policy_config()["model"]
    parts = [choices.algo, _net_text(model, policy)]
    if model.get("use_lstm"):
        parts.append(f"+lstm{model.get('lstm_cell_size', 256)}")
    if model.get("custom_action_dist"):
        parts.append(str(model["custom_action_dist"]))
    if model.get("custom_preprocessor"):
        parts.append(f"pre:{model['custom_preprocessor']}")
    flt = choices.config.get("observation_filter", "NoFilter")
    if flt != "NoFilter":
        parts.append(flt)
    seed = choices.config.get("seed")
    tail = [*changed_keys(choices), "unseeded" if seed is None else f"seed {seed}"]
    return " ".join(parts) + f" on {env_label(choices.env)}, " + ", ".join(tail)


# -- text editors -> values ----------------------------------------------------------------------
def parse_int_list(text: str, key: str) -> list[int]:
    """Read layer widths from text, naming the model key ``key`` in the error.

    "64, 64" or "[64, 64]" -> [64, 64]; "" -> [] (no hidden layers).
    """
    stripped = text.strip().strip("[]()").strip()
    if not stripped:
        return []
    try:
        values = [int(part) for part in stripped.replace(" ", ",").split(",") if part]
    except ValueError:
        raise ValueError(
            f"model key '{key}': cannot read {text!r} as layer widths; write whole numbers "
            f"separated by commas, e.g. 64, 64"
        ) from None
    return values


def parse_literal(text: str, key: str, empty: Any = None, example: str = "") -> Any:
    """A Python literal typed by the learner (lists, dicts, numbers); "" gives ``empty``."""
    if not text.strip():
        return copy.deepcopy(empty)
    try:
        return ast.literal_eval(text.strip())
    except (ValueError, SyntaxError):
        hint = f", e.g. {example}" if example else ""
        raise ValueError(
            f"'{key}': cannot read {text!r} as a Python value; write a literal such as a list "
            f"or dict{hint}"
        ) from None


def parse_dict(text: str, key: str, example: str = "") -> dict:
    """A dict literal typed by the learner; "" gives {}."""
    value = parse_literal(text, key, {}, example)
    if not isinstance(value, dict):
        raise ValueError(f"'{key}' takes a dict such as {example or '{}'}; got {value!r}")
    return value
