"""Trainers (fast tier): sampling, advantages, losses, checkpoints, errors, CLI."""

from __future__ import annotations

import math
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
import torch
from countdown_env import CountdownEnv  # registers env 'countdown'
from gymnasium.spaces import Box, Discrete

from rlkit import ModelCatalog, register_env
from rlkit.algorithms import A2C, PG, PPO
from rlkit.models import FullyConnectedNetwork, RecurrentModel

TINY = {"num_envs": 2, "rollout_fragment_length": 16, "model": {"fcnet_hiddens": [8]}}


@pytest.mark.parametrize("algo", [PG, A2C, PPO])
def test_each_algorithm_trains_and_reports_the_result_keys(algo):
    trainer = algo(env="CartPole-v1", config={**TINY, "seed": 0})
    result = trainer.train()
    for key in (
        "episode_reward_mean",
        "episode_len_mean",
        "episodes_total",
        "timesteps_total",
        "training_iteration",
        "time_total_s",
        "policy_loss",
        "entropy",
        "total_loss",
    ):
        assert key in result, key
    assert result["training_iteration"] == 1 and result["timesteps_total"] > 0
    assert math.isfinite(result["policy_loss"])


def test_ppo_reports_kl_and_clip_fraction():
    result = PPO(env="CartPole-v1", config={**TINY, "seed": 0}).train()
    assert result["kl"] >= -1e-6 and 0.0 <= result["clip_fraction"] <= 1.0


def test_same_seed_gives_identical_results():
    a = [PPO(env="CartPole-v1", config={**TINY, "seed": 3}).train() for _ in range(1)]
    b = [PPO(env="CartPole-v1", config={**TINY, "seed": 3}).train() for _ in range(1)]
    for key in ("policy_loss", "vf_loss", "entropy", "kl", "timesteps_total"):
        assert a[0][key] == b[0][key]


def test_unknown_config_key_and_bad_device_are_clear_errors():
    with pytest.raises(ValueError, match=r"'num_sgd_iters'.*did you mean 'num_sgd_iter'"):
        PPO(env="CartPole-v1", config={"num_sgd_iters": 3})
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match=r"no CUDA GPU.*'auto' or 'cpu'"):
            PPO(env="CartPole-v1", config={**TINY, "device": "cuda"})
    assert PPO(env="CartPole-v1", config={**TINY, "device": "auto"}).device.type in ("cpu", "cuda")
    with pytest.raises(ValueError, match=r"'adam_epsilon' takes a finite number > 0; got -1"):
        PPO(env="CartPole-v1", config={**TINY, "adam_epsilon": -1})
    trainer = PPO(env="CartPole-v1", config={**TINY, "adam_epsilon": 1e-5})
    assert trainer.optimizer.param_groups[0]["eps"] == 1e-5


class ExtraLossModel(FullyConnectedNetwork):
    """Adds a loss pulling every logits weight towards 5, and reports it as a metric."""

    def custom_loss(self, policy_loss, loss_inputs):
        assert loss_inputs["obs"].shape[1:] == (4,)
        self.pull = ((self.logits_layer().weight - 5.0) ** 2).mean()
        return policy_loss + 10.0 * self.pull

    def logits_layer(self):
        return self._logits

    def metrics(self):
        return {"pull_loss": self.pull.detach()}


def test_custom_loss_changes_gradients_and_metrics_reach_results():
    ModelCatalog.register_custom_model("extra_loss", ExtraLossModel)
    config = {
        **TINY,
        "seed": 0,
        "lr": 0.01,
        "model": {"custom_model": "extra_loss", "fcnet_hiddens": [8]},
    }
    plain = PPO(env="CartPole-v1", config={**TINY, "seed": 0, "lr": 0.01})
    custom = PPO(env="CartPole-v1", config=config)
    result = custom.train()
    plain.train()
    assert "pull_loss" in result and result["pull_loss"] > 0
    w_custom = custom.model.logits_layer().weight
    # 10 Adam steps of lr 0.01 pull every weight up by about 0.1; the plain model's move
    # in no common direction.
    assert w_custom.mean() > plain.model._logits.weight.mean() + 0.05


class ExplodingModel(FullyConnectedNetwork):
    explode = False

    def forward(self, input_dict, state, seq_lens):
        if ExplodingModel.explode and input_dict.get("is_training"):
            ExplodingModel.explode = False
            raise RuntimeError("boom")
        return super().forward(input_dict, state, seq_lens)


def test_exception_inside_train_leaves_trainer_usable():
    ModelCatalog.register_custom_model("exploding", ExplodingModel)
    trainer = PPO(env="CartPole-v1", config={**TINY, "model": {"custom_model": "exploding"}})
    trainer.train()
    ExplodingModel.explode = True
    with pytest.raises(RuntimeError, match="boom"):
        trainer.train()
    result = trainer.train()
    assert result["training_iteration"] == 2 and math.isfinite(result["total_loss"])


class InterruptingEnv(CountdownEnv):
    interrupt_at = None

    def step(self, action):
        if InterruptingEnv.interrupt_at == 0:
            InterruptingEnv.interrupt_at = None
            raise KeyboardInterrupt
        if InterruptingEnv.interrupt_at is not None:
            InterruptingEnv.interrupt_at -= 1
        return super().step(action)


def test_keyboard_interrupt_during_sampling_then_train_continues():
    trainer = PPO(env=InterruptingEnv, config={**TINY, "env_config": {"length": 5}})
    trainer.train()
    steps = trainer.timesteps_total
    InterruptingEnv.interrupt_at = 7
    with pytest.raises(KeyboardInterrupt):
        trainer.train()
    result = trainer.train()
    assert result["timesteps_total"] > steps and result["training_iteration"] == 2


def test_cli_train_writes_checkpoint_and_curve(tmp_path):
    out = tmp_path / "run"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "rlkit",
            "train",
            "--algo",
            "PPO",
            "--env",
            "CartPole-v1",
            "--stop-timesteps",
            "1500",
            "--config",
            '{"num_envs": 2, "rollout_fragment_length": 64}',
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert (out / "checkpoint" / "checkpoint.pt").exists()
    assert (out / "curve.png").read_bytes()[:4] == b"\x89PNG"
    assert "steps" in proc.stdout and "[" in proc.stdout


class TinyGRU(RecurrentModel):
    """A custom recurrent model in the seed's style: forward_rnn + get_initial_state."""

    def __init__(self, obs_space, action_space, num_outputs, model_config, name):
        super().__init__(obs_space, action_space, num_outputs, model_config, name)
        self.gru = torch.nn.GRU(int(np.prod(obs_space.shape)), 8, batch_first=True)
        self.logits = torch.nn.Linear(8, num_outputs)
        self.value = torch.nn.Linear(8, 1)

    def get_initial_state(self):
        return [torch.zeros(8)]

    def forward_rnn(self, inputs, state, seq_lens):
        out, h = self.gru(inputs, state[0].unsqueeze(0))  # [B, T, F] -> [B, T, 8]
        self._features = out.reshape(-1, 8)
        return self.logits(out), [h[0]]

    def value_function(self):
        return self.value(self._features).squeeze(1)


def test_custom_recurrent_model_trains_and_state_resets_at_episode_ends():
    ModelCatalog.register_custom_model("tiny_gru", TinyGRU)
    config = {
        **TINY,
        "num_envs": 1,
        "rollout_fragment_length": 10,
        "seed": 0,
        "env_config": {"length": 3},
        "model": {"custom_model": "tiny_gru", "max_seq_len": 4},
    }
    trainer = PPO(env="countdown", config=config)
    result = trainer.train()
    assert math.isfinite(result["policy_loss"])
    batch = trainer.sample()
    state = batch["state_in"][0][:, 0]  # [T, 8], the state before each row
    valid, term = batch["valid"][:, 0], batch["terminated"][:, 0]
    for t in range(1, 10):
        if not valid[t - 1]:  # the autoreset row: a new episode starts from zeros
            assert np.all(state[t] == 0.0), t
        elif not term[t - 1]:  # inside an episode the state is carried
            assert np.abs(state[t]).sum() > 0, t
    assert (~valid).sum() >= 2


class NoInitEnv(gym.Env):
    observation_space = Box(-1, 1, (2,), np.float32)
    action_space = Discrete(2)

    def reset(self, *, seed=None, options=None):
        return np.zeros(2, np.float32), {}

    def step(self, action):
        return np.zeros(2, np.float32), 0.0, True, False, {}


def test_make_env_handles_classes_without_init_and_wrapped_creators():
    from gymnasium.wrappers import TimeLimit

    from rlkit.envs import make_env

    assert isinstance(make_env(NoInitEnv), NoInitEnv)
    register_env("wrapped_countdown", lambda cfg: TimeLimit(CountdownEnv(cfg), 5))
    env = make_env("wrapped_countdown", render_mode="rgb_array")
    assert env.render_mode == "rgb_array"
