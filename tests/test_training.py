"""Trainers (fast tier): sampling, advantages, losses, checkpoints, errors, CLI."""

from __future__ import annotations

import collections
import math
import os
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.spaces import Box, Discrete

from rlkit import ModelCatalog, register_env
from rlkit.algorithms import A2C, PG, PPO
from rlkit.algorithms.onpolicy import compute_gae, sequence_index
from rlkit.models import FullyConnectedNetwork, Model, RecurrentModel

TINY = {"num_envs": 2, "rollout_fragment_length": 16, "model": {"fcnet_hiddens": [8]}}


class CountdownEnv(gym.Env):
    """obs = steps left; reward 1 per step; terminates after `length` steps, or is truncated
    at `limit` steps when limit < length."""

    observation_space = Box(0, 100, (1,), np.float32)
    action_space = Discrete(2)

    def __init__(self, config=None):
        config = config or {}
        self.length = config.get("length", 3)
        self.limit = config.get("limit", 100)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.array([self.length], np.float32), {}

    def step(self, action):
        self.t += 1
        obs = np.array([self.length - self.t], np.float32)
        return obs, 1.0, self.t >= self.length, self.t >= self.limit, {}


register_env("countdown", lambda config: CountdownEnv(config))


def test_gae_matches_hand_computation_and_keeps_truncation_apart():
    rewards = np.array([[1.0], [1.0], [1.0]], np.float32)
    values = np.array([[0.5], [0.4], [0.3]], np.float32)
    next_values = np.array([[0.4], [0.3], [9.0]], np.float32)
    gamma, lam = 0.9, 0.8
    term = np.array([[False], [False], [True]])
    trunc = np.zeros_like(term)
    adv, ret = compute_gae(rewards, values, next_values, term, trunc, gamma, lam)
    d2 = 1.0 - 0.3  # terminated: no bootstrap
    d1 = 1.0 + 0.9 * 0.3 - 0.4
    d0 = 1.0 + 0.9 * 0.4 - 0.5
    expected = [d0 + 0.72 * (d1 + 0.72 * d2), d1 + 0.72 * d2, d2]
    assert np.allclose(adv[:, 0], expected, atol=1e-6)
    assert np.allclose(ret, adv + values)
    # The same episode truncated at the last step bootstraps with V(final obs) = 9.
    adv_t, _ = compute_gae(rewards, values, next_values, trunc, term, gamma, lam)
    assert math.isclose(adv_t[2, 0], 1.0 + 0.9 * 9.0 - 0.3, rel_tol=1e-6)


def test_sampler_marks_autoreset_rows_and_counts_episodes():
    trainer = PPO(
        env="countdown",
        config={
            **TINY,
            "num_envs": 1,
            "rollout_fragment_length": 8,
            "env_config": {"length": 3},
            "seed": 0,
        },
    )
    batch = trainer.sample()
    # Episode of 3 steps, then one autoreset row: valid pattern 1,1,1,0 repeating.
    assert batch["valid"][:, 0].tolist() == [True, True, True, False] * 2
    assert batch["terminated"][:, 0].tolist() == [False, False, True, False] * 2
    assert batch["rewards"][:, 0].tolist() == [1, 1, 1, 0] * 2
    ids = batch["eps_id"][:, 0]
    assert ids[0] == ids[1] == ids[2] and len({ids[0], ids[3], ids[4]}) == 3
    # Row after the terminal step sees the final obs (0 steps left).
    assert batch["obs"][3, 0, 0] == 0.0
    assert trainer.sampler.stats()["episodes_total"] == 2
    assert trainer.sampler.stats()["episode_reward_mean"] == 3.0
    assert trainer.timesteps_total == 6


def test_truncated_rows_bootstrap_with_value_of_final_obs():
    trainer = PPO(
        env="countdown",
        config={
            **TINY,
            "num_envs": 1,
            "rollout_fragment_length": 6,
            "env_config": {"length": 10, "limit": 2},
        },
    )
    batch = trainer.sample()
    assert batch["truncated"][:, 0].tolist() == [False, True, False] * 2
    # next_vf of the truncated row is the value the model predicted on the final obs.
    assert batch["next_vf"][1, 0] == batch["vf_preds"][2, 0]
    assert batch["next_vf"][1, 0] != 0.0


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


def test_save_restore_gives_identical_actions_and_next_result(tmp_path):
    config = {**TINY, "seed": 1, "observation_filter": "MeanStdFilter"}
    trainer = PPO(env="CartPole-v1", config=config)
    trainer.train()
    path = trainer.save(str(tmp_path))
    assert os.path.basename(path) == "checkpoint.pt"
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".tmp")]
    restored = PPO(env="CartPole-v1", config={**config, "seed": 99})
    restored.restore(path)
    obs = np.array([0.01, -0.2, 0.03, 0.4], np.float32)
    assert trainer.compute_single_action(obs) == restored.compute_single_action(obs)
    a, b = trainer.train(), restored.train()
    for key in (
        "policy_loss",
        "vf_loss",
        "kl",
        "timesteps_total",
        "training_iteration",
        "episodes_total",
    ):
        assert a[key] == b[key], key


def test_corrupted_or_foreign_checkpoint_is_a_clear_error_and_changes_nothing(tmp_path):
    trainer = PPO(env="CartPole-v1", config={**TINY, "seed": 0})
    path = trainer.save(str(tmp_path))
    before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    with open(path, "rb") as f:
        data = f.read()
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="truncated, corrupted"):
        trainer.restore(str(truncated))
    pickled = tmp_path / "pickled.pt"  # an arbitrary object: torch's own message would advise
    torch.save({"obj": collections.OrderedDict, "fn": print}, pickled)  # weights_only=False
    with pytest.raises(ValueError, match="truncated, corrupted") as info:
        trainer.restore(str(pickled))
    assert "weights_only" not in str(info.value) and "objects other than tensors" in str(info.value)
    foreign = tmp_path / "foreign.pt"
    torch.save({"weights": torch.zeros(3)}, foreign)
    with pytest.raises(ValueError, match="not an rlkit checkpoint"):
        trainer.restore(str(foreign))
    other = A2C(env="CartPole-v1", config={**TINY})
    with pytest.raises(ValueError, match="written by PPO"):
        other.restore(path)
    after = trainer.model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_sequence_index_chops_at_episode_ends_and_max_seq_len():
    eps = np.array([[7, 7, 7, 7, 8, 8]])  # one env: episode 7 (4 steps), episode 8 (2 steps)
    index, mask, seq_lens = sequence_index(eps, max_seq_len=3)
    assert index.tolist() == [[0, 1, 2], [3, 3, 3], [4, 5, 5]]
    assert mask.tolist() == [[True, True, True], [True, False, False], [True, True, False]]
    assert seq_lens.tolist() == [3, 1, 2]


@pytest.mark.parametrize("algo", [PG, A2C, PPO])
def test_recurrent_models_train_with_every_on_policy_algorithm(algo):
    config = {
        **TINY,
        "seed": 0,
        "model": {"use_lstm": True, "lstm_cell_size": 8, "max_seq_len": 4, "fcnet_hiddens": [8]},
    }
    trainer = algo(env="CartPole-v1", config=config)
    assert math.isfinite(trainer.train()["policy_loss"])
    obs = np.zeros(4, np.float32)
    action, state, extra = trainer.compute_single_action(obs)
    assert action in (0, 1) and [tuple(s.shape) for s in state] == [(8,), (8,)]
    action2, state2, _ = trainer.compute_single_action(obs, state=state)
    assert not torch.equal(state[0], state2[0])


class ModelWithoutValue(Model):
    def __init__(self, obs_space, action_space, num_outputs, model_config, name):
        super().__init__(obs_space, action_space, num_outputs, model_config, name)
        self.net = torch.nn.Linear(obs_space.shape[0], num_outputs)

    def forward(self, input_dict, state, seq_lens):
        return self.net(input_dict["obs_flat"]), state


def test_pg_needs_no_value_function_but_ppo_says_why_it_does():
    ModelCatalog.register_custom_model("no_value", ModelWithoutValue)
    config = {**TINY, "model": {"custom_model": "no_value"}}
    assert math.isfinite(PG(env="CartPole-v1", config=config).train()["policy_loss"])
    with pytest.raises(NotImplementedError, match="value_function"):
        PPO(env="CartPole-v1", config=config).train()


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


def test_state_is_carried_across_iterations():
    config = {
        **TINY,
        "num_envs": 1,
        "rollout_fragment_length": 4,
        "seed": 0,
        "env_config": {"length": 50},
        "model": {"use_lstm": True, "lstm_cell_size": 4, "fcnet_hiddens": [4]},
    }
    trainer = PPO(env="countdown", config=config)
    trainer.train()
    batch = trainer.sample()
    assert np.abs(batch["state_in"][0][0, 0]).sum() > 0  # not reset between fragments


def test_async_vector_envs_sample_like_sync_ones():
    sync = PPO(env="CartPole-v1", config={**TINY, "seed": 5, "vector_mode": "sync"})
    asyn = PPO(env="CartPole-v1", config={**TINY, "seed": 5, "vector_mode": "async"})
    torch.manual_seed(0)
    a = sync.sample()
    torch.manual_seed(0)
    b = asyn.sample()
    asyn.stop()
    assert np.array_equal(a["obs"], b["obs"]) and np.array_equal(a["actions"], b["actions"])


def test_deterministic_distribution_is_refused_by_policy_gradient_algorithms():
    config = {**TINY, "model": {"custom_action_dist": "Deterministic", "fcnet_hiddens": [4]}}
    with pytest.raises(ValueError, match="Deterministic.*policy gradient is zero"):
        PPO(env="Pendulum-v1", config=config)


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
