"""RLlib 2.x's config builders: ``PPOConfig().environment(...).training(...).build()``.

An ``AlgorithmConfig`` gathers keyword arguments into one config dict, checks each key against
the algorithm's table as it is given (an unknown key fails at the call that set it), and
``build()`` makes the trainer: ``PPO(env=..., config=config.to_dict())``. Every builder method
RLlib code calls takes the same keywords it takes in RLlib:

    config = (
        PPOConfig()
        .environment("CartPole-v1", env_config={})
        .env_runners(num_env_runners=0, num_envs_per_env_runner=4)   # .rollouts(): older name
        .training(lr=3e-4, lambda_=0.95, num_epochs=5, model={"fcnet_hiddens": [64]})
        .resources(num_gpus=0)
        .evaluation(evaluation_interval=1, evaluation_duration=5)
    )
    algo = config.build()        # or config.build_algo()

RLlib 2.x's keyword names are renamed to rlkit's keys on the way in (``lambda_`` -> ``lambda``,
``num_epochs`` -> ``num_sgd_iter``, ``minibatch_size`` -> ``sgd_minibatch_size``,
``train_batch_size_per_learner`` -> ``train_batch_size``, ``num_rollout_workers`` ->
``num_env_runners``, ``num_steps_sampled_before_learning_starts`` -> ``learning_starts``).
``.api_stack(...)`` / ``.experimental(...)`` accept the old stack's settings (False): rlkit is
RLlib's ModelV2 stack; asking for the new one (RLModule, Learner) is an error saying so.
"""

from __future__ import annotations

import copy
from typing import Any

from rlkit.algorithms.config.keys import ALGORITHMS

# RLlib 2.x's keyword -> rlkit's key (the same meaning).
RENAMES = {
    "lambda_": "lambda",
    "num_epochs": "num_sgd_iter",
    "minibatch_size": "sgd_minibatch_size",
    "train_batch_size_per_learner": "train_batch_size",
    "num_rollout_workers": "num_env_runners",
    "num_steps_sampled_before_learning_starts": "learning_starts",
}
NEW_STACK = (
    "enable_rl_module_and_learner",
    "enable_env_runner_and_connector_v2",
    "_enable_new_api_stack",
    "_enable_learner_api",
    "_enable_rl_module_api",
)


class AlgorithmConfig:
    """RLlib's builder for one algorithm's config; see the module docstring.

    Args:
        algo_class: the trainer class (or its name, "PPO"); a subclass such as PPOConfig
            names its own.
    """

    algo_name = ""

    def __init__(self, algo_class: type | str | None = None):
        name = algo_class if isinstance(algo_class, str) else self.algo_name
        self.algo_class = algo_class if isinstance(algo_class, type) else _algorithm(name)
        self.env: Any = None
        self.config: dict[str, Any] = {}

    # -- what RLlib's builder methods set ---------------------------------------------------
    def _set(self, method: str, settings: dict[str, Any]) -> AlgorithmConfig:
        from rlkit.algorithms.config.checking import unknown_key_error
        from rlkit.algorithms.config.rllib_keys import drop_fixed, resolve_aliases

        keys = self.algo_class.config_keys()
        where = self.algo_class.__name__
        renamed = {RENAMES.get(k, k): v for k, v in settings.items()}
        for name, value in drop_fixed(resolve_aliases(renamed, where)).items():
            if name not in keys:
                err = unknown_key_error(name, keys, where, self.algo_class.NOT_KEYS)
                raise ValueError(f"{type(self).__name__}.{method}(): {err}") from None
            keys[name].check(value, where)
            self.config[name] = copy.deepcopy(value)
        return self

    def environment(self, env: Any = None, **settings: Any) -> AlgorithmConfig:
        """The env (a gymnasium id, a registered name or an env class) and env_config."""
        if env is not None:
            self.env = env
        return self._set("environment", settings)

    def training(self, **settings: Any) -> AlgorithmConfig:
        """Learning keys: lr, gamma, lambda_, model, train_batch_size, num_epochs, ..."""
        return self._set("training", settings)

    def env_runners(self, **settings: Any) -> AlgorithmConfig:
        """Sampling keys: num_env_runners, num_envs_per_env_runner, rollout_fragment_length."""
        return self._set("env_runners", settings)

    def rollouts(self, **settings: Any) -> AlgorithmConfig:
        """RLlib 2.0-2.9's name of env_runners (num_rollout_workers, num_envs_per_worker)."""
        return self._set("rollouts", settings)

    def resources(self, **settings: Any) -> AlgorithmConfig:
        """num_gpus (0: the learner on the CPU, 1: on CUDA)."""
        return self._set("resources", settings)

    def evaluation(self, **settings: Any) -> AlgorithmConfig:
        """evaluation_interval, evaluation_duration(_unit), evaluation_config."""
        return self._set("evaluation", settings)

    def framework(self, framework: str | None = None, **settings: Any) -> AlgorithmConfig:
        """Set framework "torch" (rlkit is PyTorch only: another framework is an error)."""
        if framework is not None:
            settings["framework"] = framework
        return self._set("framework", settings)

    def debugging(self, **settings: Any) -> AlgorithmConfig:
        """Set seed (RLlib's debugging keys rlkit lacks are errors with advice)."""
        return self._set("debugging", settings)

    def reporting(self, **settings: Any) -> AlgorithmConfig:
        """min_sample_timesteps_per_iteration (older name timesteps_per_iteration)."""
        return self._set("reporting", settings)

    def offline_data(self, **settings: Any) -> AlgorithmConfig:
        """Set input (BC's offline data) and output (write sampled batches)."""
        return self._set("offline_data", settings)

    def exploration(self, **settings: Any) -> AlgorithmConfig:
        """exploration_config (DQN's epsilon schedule); explore=True is what training does."""
        return self._set("exploration", settings)

    def api_stack(self, **settings: Any) -> AlgorithmConfig:
        """RLlib's API-stack switches: rlkit is the old (ModelV2) stack, so only False fits."""
        for name, value in settings.items():
            if name not in NEW_STACK:
                raise ValueError(
                    f"{type(self).__name__}.api_stack() takes {NEW_STACK}, not {name!r}"
                )
            if value:
                raise ValueError(
                    f"{type(self).__name__}.api_stack({name}=True): rlkit implements RLlib's "
                    f"old API stack (ModelV2 models, custom_model); set {name}=False or drop "
                    f"the call"
                )
        return self

    experimental = api_stack  # RLlib 2.5-2.9's place for _enable_new_api_stack

    # -- dict view and build ----------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The config dict the trainer takes (with "env" when one was set)."""
        out = copy.deepcopy(self.config)
        if self.env is not None:
            out["env"] = self.env
        return out

    def update_from_dict(self, config: dict[str, Any]) -> AlgorithmConfig:
        """Set many keys at once (RLlib's; "env" included)."""
        config = dict(config)
        return self.environment(config.pop("env", None))._set("update_from_dict", config)

    def copy(self, copy_frozen: bool | None = None) -> AlgorithmConfig:
        """A deep copy (RLlib's; ``copy_frozen`` is accepted: rlkit configs never freeze)."""
        return copy.deepcopy(self)

    def build(self, env: Any = None) -> Any:
        """The trainer: ``algo_class(env=..., config=self.to_dict())``."""
        config = self.to_dict()
        return self.algo_class(
            env=env if env is not None else config.pop("env", None), config=config
        )

    build_algo = build  # RLlib 2.40's name

    def __getitem__(self, name: str) -> Any:
        """``config["lr"]``: the value set, else the algorithm's default."""
        if name == "env":
            return self.env
        if name in self.config:
            return self.config[name]
        return self.algo_class.config_keys()[RENAMES.get(name, name)].default

    def __getattr__(self, name: str) -> Any:
        """``config.lr``, as RLlib's attributes (the value set, else the default)."""
        if name.startswith("_") or name in ("algo_class", "env", "config"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError:
            raise AttributeError(
                f"{type(self).__name__} has no key or method {name!r} (rlkit's keys for "
                f"{self.algo_class.__name__}: docs/CONFIG.md)"
            ) from None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(env={self.env!r}, {self.config!r})"


def _algorithm(name: str) -> type:
    if name not in ALGORITHMS:
        raise ValueError(
            f"rlkit has no algorithm {name!r}; it has {', '.join(ALGORITHMS)} (RLlib's others, "
            f"A3C, IMPALA, SAC, APPO..., are not part of this teaching kit)"
        )
    return ALGORITHMS[name]


def get_trainable_cls(name: str) -> type:
    """RLlib's ``ray.tune.registry.get_trainable_cls("PPO")``: the trainer class."""
    return _algorithm(name)


class PPOConfig(AlgorithmConfig):
    """RLlib's PPOConfig (see AlgorithmConfig)."""

    algo_name = "PPO"


class PGConfig(AlgorithmConfig):
    """RLlib's PGConfig (see AlgorithmConfig)."""

    algo_name = "PG"


class A2CConfig(AlgorithmConfig):
    """RLlib's A2CConfig (see AlgorithmConfig)."""

    algo_name = "A2C"


class DQNConfig(AlgorithmConfig):
    """RLlib's DQNConfig (see AlgorithmConfig)."""

    algo_name = "DQN"


class BCConfig(AlgorithmConfig):
    """RLlib's BCConfig (see AlgorithmConfig)."""

    algo_name = "BC"


CONFIG_CLASSES = {c.algo_name: c for c in (PPOConfig, PGConfig, A2CConfig, DQNConfig, BCConfig)}
