"""Custom preprocessor, and the env wrapper the seed recommends instead.

What the seed says, in plain words: you can register your own ``Preprocessor`` (implement
``_init_shape``, the shape of one output, and ``transform``, one observation in, one array
out) and name it in the config as ``"custom_preprocessor"``, but custom preprocessors are
*deprecated*: they can clash with the built-in handling of nested spaces. Wrap the
environment instead (a ``gymnasium.ObservationWrapper``): the env then emits what you want,
and every built-in part of the pipeline just works.

Both versions below do the same thing for CartPole. Its four readings live on very different
scales (cart position up to 2.4, pole angle up to 0.21 rad). Dividing each by its scale
(``CARTPOLE_SCALES``: the termination limits for position and angle, typical magnitudes for
the velocities) puts all four in about [-1, 1], so no input dominates the first layer.

    custom preprocessor:  CartPole-v1 -> Box(4) -> CartPoleScalePreprocessor -> [4] -> model
    wrapper (preferred):  CartPole-v1 -> CartPoleScaleWrapper -> Box(4) -> NoPreprocessor -> model

The model sees exactly the same input either way (the tests check it).

Run it:  python -m rlkit.examples.custom_preprocessor --variant wrapper
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from rlkit.catalog import ModelCatalog
from rlkit.envs import make_env, register_env
from rlkit.examples.common import example_parser, make_trainer, train
from rlkit.preprocessors import Preprocessor

# Cart position, cart velocity, pole angle, pole angular velocity: the env ends an episode at
# |x| > 2.4 and |angle| > 0.2095; the velocities rarely exceed these magnitudes.
CARTPOLE_SCALES = np.array([2.4, 3.0, 0.2095, 3.5], np.float32)


def scale_cartpole(observation) -> np.ndarray:
    """One CartPole observation ``[4]`` -> each reading divided by its scale, float32 ``[4]``."""
    return (np.asarray(observation, np.float32) / CARTPOLE_SCALES).astype(np.float32)


class CartPoleScalePreprocessor(Preprocessor):
    """The deprecated way: a registered preprocessor that rescales CartPole's readings."""

    def _init_shape(self, obs_space, options):
        if not (isinstance(obs_space, gym.spaces.Box) and obs_space.shape == (4,)):
            raise ValueError(
                f"CartPoleScalePreprocessor reads CartPole's Box(4) observation; got "
                f"{obs_space}. Use it only with CartPole"
            )
        return (4,)  # the shape of one preprocessed observation (it may differ from the env's)

    def transform(self, observation):
        """One raw observation -> its float32 features, shape ``self.shape``."""
        return scale_cartpole(observation)  # [4]


class CartPoleScaleWrapper(gym.ObservationWrapper):
    """The recommended way: the env itself emits the rescaled readings."""

    def __init__(self, env: gym.Env):
        super().__init__(env)
        low = (env.observation_space.low / CARTPOLE_SCALES).astype(np.float32)
        high = (env.observation_space.high / CARTPOLE_SCALES).astype(np.float32)
        self.observation_space = gym.spaces.Box(low, high, (4,), np.float32)

    def observation(self, observation):
        """The same transform as a gymnasium ObservationWrapper applies it."""
        return scale_cartpole(observation)  # [4]


ModelCatalog.register_custom_preprocessor("cartpole_scale", CartPoleScalePreprocessor)
register_env(
    "CartPoleScaled", lambda env_config: CartPoleScaleWrapper(make_env("CartPole-v1", env_config))
)

VARIANTS = {
    # variant: (env name, model config)
    "preprocessor": ("CartPole-v1", {"custom_preprocessor": "cartpole_scale"}),
    "wrapper": ("CartPoleScaled", {}),
}


def config(variant: str = "wrapper", seed: int = 0) -> dict:
    """Trainer config for CartPole with either variant."""
    _, model = VARIANTS[variant]
    return {"seed": seed, "model": {**model, "fcnet_hiddens": [64, 64]}}


def main(argv=None) -> list[dict]:
    """Train with the custom preprocessor from the command line; returns every result."""
    parser = example_parser(__doc__, ["PPO", "A2C", "PG"], 195.0, 200_000)
    parser.add_argument("--variant", choices=list(VARIANTS), default="wrapper")
    args = parser.parse_args(argv)
    env, _ = VARIANTS[args.variant]
    trainer = make_trainer(args.algo, env, config(args.variant, args.seed))
    print(trainer.get_policy().explain())
    return train(trainer, args.stop_reward, args.stop_timesteps)


if __name__ == "__main__":
    main()
