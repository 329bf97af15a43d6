"""The hyperparameter sets the benchmarks run, written once and translated for each library.

Both libraries train PPO on CartPole-v1 with the same network: two separate 64-64 tanh MLPs
(actor and critic), one torch thread, on the CPU.

| set | envs x steps | epochs x minibatch | lr | clip | gamma, lambda | ent |
|---|---|---|---|---|---|---|
| cleanrl | 4 x 128 | 4 x 128 | 2.5e-4 linear | 0.2 | 0.99, 0.95 | 0.01 |
| zoo | 8 x 32 | 20 x 256 | 1e-3 linear | 0.2 linear | 0.98, 0.8 | 0.0 |

cleanrl: the defaults of cleanrl/ppo.py. zoo: rl-baselines3-zoo's hyperparams/ppo.yml entry for
CartPole-v1 (its budget: 1e5 steps).

Both sets: vf_coef 0.5, max_grad_norm 0.5, Adam eps 1e-5 (SB3's and CleanRL's choice),
advantages normalised per minibatch, no value
clipping (CleanRL clips the value loss, but SB3 and rlkit clip it in different ways, so neither
run does). Linear schedules run from the start value to 0 over the run's step budget, as SB3's
do over ``total_timesteps``.

Translation notes:
- rlkit's value loss is ``0.5 * mean((V - target)^2)``, SB3's is ``mean((V - target)^2)``;
  rlkit's ``vf_loss_coeff`` is therefore ``2 * vf_coef``, which makes the two losses equal.
- rlkit counts only real transitions in ``timesteps_total`` (gymnasium's autoreset rows are
  dropped), SB3 counts every vector-env step: a small advantage for SB3 in steps per second.
"""

from __future__ import annotations

from typing import Any

NET = [64, 64]
ADAM_EPS = 1e-5  # SB3's PPO and CleanRL's ppo.py both set it
SCHEDULE_END = 1e-8  # where SB3's linear schedules reach 0: rlkit's schedules take values > 0

HPARAMS: dict[str, dict[str, Any]] = {
    "cleanrl": {
        "num_envs": 4,
        "n_steps": 128,
        "n_epochs": 4,
        "batch_size": 128,
        "lr": 2.5e-4,
        "lr_linear": True,
        "clip": 0.2,
        "clip_linear": False,
        "gamma": 0.99,
        "gae_lambda": 0.95,
        "ent_coef": 0.01,
        "vf_coef": 0.5,
        "max_grad_norm": 0.5,
    },
    "zoo": {
        "num_envs": 8,
        "n_steps": 32,
        "n_epochs": 20,
        "batch_size": 256,
        "lr": 1e-3,
        "lr_linear": True,
        "clip": 0.2,
        "clip_linear": True,
        "gamma": 0.98,
        "gae_lambda": 0.8,
        "ent_coef": 0.0,
        "vf_coef": 0.5,
        "max_grad_norm": 0.5,
    },
}


def rlkit_config(hp_name: str, seed: int, budget: int) -> dict[str, Any]:
    """The rlkit PPO config of a set; ``"default"`` is rlkit's own defaults (only the seed)."""
    if hp_name == "default":
        return {"seed": seed}
    hp = HPARAMS[hp_name]
    config = {
        "num_envs": hp["num_envs"],
        "rollout_fragment_length": hp["n_steps"],
        "num_sgd_iter": hp["n_epochs"],
        "sgd_minibatch_size": hp["batch_size"],
        "lr": hp["lr"],
        "clip_param": hp["clip"],
        "gamma": hp["gamma"],
        "lambda": hp["gae_lambda"],
        "entropy_coeff": hp["ent_coef"],
        "vf_loss_coeff": 2 * hp["vf_coef"],  # see the module docstring
        "grad_clip": hp["max_grad_norm"],
        "adam_epsilon": ADAM_EPS,
        "normalize_advantages": True,
        "vf_clip_param": None,
        "model": {"fcnet_hiddens": NET, "fcnet_activation": "tanh", "vf_share_layers": False},
        "seed": seed,
        "device": "cpu",
        "num_threads": 1,
    }
    if hp["lr_linear"]:
        config["lr_schedule"] = [[0, hp["lr"]], [budget, SCHEDULE_END]]
    if hp["clip_linear"]:
        config["clip_param_schedule"] = [[0, hp["clip"]], [budget, SCHEDULE_END]]
    return config


def _linear(start: float):
    # SB3 calls a schedule with progress_remaining, which falls from 1 to 0 over the run.
    return lambda progress_remaining: progress_remaining * start


def without_log_folder(model):
    """SB3's ``model`` with a logger that writes nowhere, returned.

    With no ``tensorboard_log``, SB3's ``learn()`` makes ``<tmp>/SB3-<date-time>`` for a logger
    that writes nothing there: every benchmark run left one behind in the shared /tmp.
    """
    from stable_baselines3.common.logger import Logger

    model.set_logger(Logger(folder=None, output_formats=[]))
    return model


def sb3_ppo(hp_name: str, seed: int):
    """SB3's PPO for a set, on a DummyVecEnv of CartPole-v1 (with SB3's Monitor wrappers)."""
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import DummyVecEnv

    hp = HPARAMS[hp_name]
    env = make_vec_env("CartPole-v1", n_envs=hp["num_envs"], seed=seed, vec_env_cls=DummyVecEnv)
    model = PPO(
        "MlpPolicy",
        env,
        learning_rate=_linear(hp["lr"]) if hp["lr_linear"] else hp["lr"],
        n_steps=hp["n_steps"],
        batch_size=hp["batch_size"],
        n_epochs=hp["n_epochs"],
        gamma=hp["gamma"],
        gae_lambda=hp["gae_lambda"],
        clip_range=_linear(hp["clip"]) if hp["clip_linear"] else hp["clip"],
        ent_coef=hp["ent_coef"],
        vf_coef=hp["vf_coef"],
        max_grad_norm=hp["max_grad_norm"],
        normalize_advantage=True,
        policy_kwargs={"net_arch": {"pi": NET, "vf": NET}, "activation_fn": torch.nn.Tanh},
        device="cpu",
        seed=seed,
        verbose=0,
    )
    return without_log_folder(model)
