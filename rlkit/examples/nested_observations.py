"""Nested observations: Dict and Tuple observation spaces read by name in a custom model.

What the seed says, in plain words: the built-in preprocessor *flattens* a Tuple or Dict
observation into one vector (each Discrete leaf one-hot encoded, Dict keys in sorted order),
because that is what batches and filters need. A custom model gets the structure back:
``input_dict["obs"]`` holds the same dict/tuple nesting as the env's observation (one tensor
``[B, ...]`` per leaf, Discrete leaves as one-hot ``[B, n]``), and ``input_dict["obs_flat"]``
the flat vector ``[B, F]``. So the model can give each part its own layers.

Two envs:

- ``NestedSpaceEnv`` (``rlkit.examples.envs``): ``{"cue": Discrete(3), "sensors":
  Tuple((Box(2,), Discrete(2)))}``; the rewarded button depends on every leaf.
- MiniGrid (``MiniGrid-Empty-5x5-v0``): ``{"direction": Discrete(4), "image": Box(7, 7, 3)}``
  once the text ``mission`` is dropped and the image cast to float (``make_minigrid``).

Run it:  python -m rlkit.examples.nested_observations --env NestedSpaceEnv
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import torch
from torch import nn

import rlkit.examples.envs  # noqa: F401  (registers NestedSpaceEnv)
from rlkit.catalog import ModelCatalog
from rlkit.envs import make_env, register_env
from rlkit.examples.common import example_parser, make_trainer, train
from rlkit.models import Model
from rlkit.models.fcnet import linear


class NestedSpaceModel(Model):
    """One small encoder per leaf of NestedSpaceEnv's observation, then a shared trunk.

        obs["cue"]          [B, 3] one-hot -> Linear -> [B, H]
        obs["sensors"][0]   [B, 2] position -> Linear -> [B, H]
        obs["sensors"][1]   [B, 2] one-hot flag -> Linear -> [B, H]
        concat [B, 3H] -> tanh MLP -> logits [B, num_outputs], value [B]

    Args:
        hidden: width H of each encoder and of the trunk (``custom_model_config``).
    """

    def __init__(self, obs_space, action_space, num_outputs, model_config, name, hidden=32):
        super().__init__(obs_space, action_space, num_outputs, model_config, name)
        # The preprocessed obs_space is a flat Box; the nested layout is kept beside it.
        original = obs_space.original_space
        position_space, flag_space = original["sensors"]
        self.cue_encoder = linear(original["cue"].n, hidden)
        self.position_encoder = linear(position_space.shape[0], hidden)
        self.flag_encoder = linear(flag_space.n, hidden)
        self.trunk = nn.Sequential(nn.Tanh(), linear(3 * hidden, hidden), nn.Tanh())
        self.logits = linear(hidden, num_outputs, 0.01)
        self.value_head = linear(hidden, 1)
        self._features = None

    def forward(self, input_dict, state, seq_lens):
        """Encode each leaf of the nested observation, then the logits.

        Shapes: obs["cue"] [B, 3], obs["sensors"] ([B, 2], [B, 2]) -> logits [B, num_outputs].
        """
        obs = input_dict["obs"]  # the Dict again, one tensor per leaf
        position, flag = obs["sensors"]  # a Tuple leaf unpacks like the env's tuple
        parts = [
            self.cue_encoder(obs["cue"]),  # [B, 3] -> [B, H]
            self.position_encoder(position),  # [B, 2] -> [B, H]
            self.flag_encoder(flag),  # [B, 2] -> [B, H]
        ]
        self._features = self.trunk(torch.cat(parts, dim=1))  # [B, 3H] -> [B, H]
        return self.logits(self._features), state

    def value_function(self) -> torch.Tensor:
        """Values [B] from the last forward's joined features."""
        return self.value_head(self._features).squeeze(1)  # [B, 1] -> [B]


class MiniGridModel(Model):
    """A small conv net over MiniGrid's egocentric 7x7 view, plus the agent's direction.

        obs["image"]      [B, 7, 7, 3] -> permute [B, 3, 7, 7] -> 2 convs -> [B, 32*3*3]
        obs["direction"]  [B, 4] one-hot
        concat [B, 292] -> Linear+tanh [B, H] -> logits [B, num_outputs], value [B]

    Args:
        hidden: width H of the dense layer (``custom_model_config``).
    """

    def __init__(self, obs_space, action_space, num_outputs, model_config, name, hidden=64):
        super().__init__(obs_space, action_space, num_outputs, model_config, name)
        original = obs_space.original_space
        height, width, channels = original["image"].shape
        self.conv = nn.Sequential(
            nn.Conv2d(channels, 16, kernel_size=3),
            nn.ReLU(),  # 7x7 -> 5x5
            nn.Conv2d(16, 32, kernel_size=3),
            nn.ReLU(),  # 5x5 -> 3x3
            nn.Flatten(),  # [B, 32, 3, 3] -> [B, 288]
        )
        conv_out = 32 * (height - 4) * (width - 4)
        self.dense = nn.Sequential(linear(conv_out + original["direction"].n, hidden), nn.Tanh())
        self.logits = linear(hidden, num_outputs, 0.01)
        self.value_head = linear(hidden, 1)
        self._features = None

    def forward(self, input_dict, state, seq_lens):
        """Convolve the egocentric view, join the direction, then the logits.

        Shapes: obs["image"] [B, 7, 7, 3], obs["direction"] [B, 4] -> logits [B, num_outputs].
        """
        image = input_dict["obs"]["image"].permute(0, 3, 1, 2)  # [B, H, W, C] -> [B, C, H, W]
        direction = input_dict["obs"]["direction"]  # [B, 4] one-hot
        features = torch.cat([self.conv(image), direction], dim=1)  # [B, 288 + 4]
        self._features = self.dense(features)  # [B, hidden]
        return self.logits(self._features), state

    def value_function(self) -> torch.Tensor:
        """Values [B] from the last forward's dense features."""
        return self.value_head(self._features).squeeze(1)  # [B, 1] -> [B]


def make_minigrid(env_config: dict) -> gym.Env:
    """A MiniGrid env whose observation is ``Dict(direction, image float32 in [0, 1])``.

    env_config: ``id`` (default "MiniGrid-Empty-5x5-v0").
    """
    env = make_env(env_config.get("id", "MiniGrid-Empty-5x5-v0"))
    # The mission is text, which no preprocessor encodes; Empty-5x5's is always the same.
    env = gym.wrappers.FilterObservation(env, ["direction", "image"])
    # Cell codes are small integers (object 0-10, colour 0-5, state 0-2), not pixel
    # brightness: scale them to [0, 1] as floats instead of treating them as an RGB image.
    image_space = gym.spaces.Box(0.0, 1.0, env.observation_space["image"].shape, np.float32)
    space = gym.spaces.Dict({"direction": env.observation_space["direction"], "image": image_space})
    return gym.wrappers.TransformObservation(
        env,
        lambda obs: {"direction": obs["direction"], "image": obs["image"].astype(np.float32) / 10},
        space,
    )


ModelCatalog.register_custom_model("nested_space_model", NestedSpaceModel)
ModelCatalog.register_custom_model("minigrid_model", MiniGridModel)
register_env("MiniGridNested", make_minigrid)

# env -> (custom model, default stop reward, default step budget)
ENVS = {
    "NestedSpaceEnv": ("nested_space_model", 9.0, 100_000),
    "MiniGridNested": ("minigrid_model", 0.9, 200_000),
}


def config(env: str, seed: int = 0) -> dict:
    """PPO/A2C config with the env's model."""
    cfg = {"seed": seed, "model": {"custom_model": ENVS[env][0]}}
    if env == "NestedSpaceEnv":
        # Every step is a fresh, independent question: the reward of this step is all an
        # action earns, so no discounting of later rewards (gamma 0) gives clean advantages.
        cfg.update(gamma=0.0, lr=1e-3)
    return cfg


def main(argv=None) -> list[dict]:
    """Train on a nested-observation env from the command line; returns every result."""
    # --stop-reward / --stop-timesteps default to the chosen env's values in ENVS.
    parser = example_parser(__doc__, ["PPO", "A2C"], None, None)
    parser.add_argument("--env", choices=list(ENVS), default="NestedSpaceEnv")
    args = parser.parse_args(argv)
    _, reward, steps = ENVS[args.env]
    stop_reward = reward if args.stop_reward is None else args.stop_reward
    stop_steps = steps if args.stop_timesteps is None else args.stop_timesteps
    trainer = make_trainer(args.algo, args.env, config(args.env, args.seed))
    print(trainer.get_policy().explain())
    return train(trainer, stop_reward, stop_steps)


if __name__ == "__main__":
    main()
