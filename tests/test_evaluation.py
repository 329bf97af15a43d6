"""Evaluation as RLlib runs it (rlkit.algorithms.common.evaluation), and RLlib 2.x's builders,
result keys, ``algo.workers`` and ``get_policy(policy_id)`` (rlkit.algorithms.algorithm_config,
rlkit.algorithms.common.rllib_api)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

from rlkit.algorithms import DQN, PPO, get_trainable_cls
from rlkit.algorithms.ppo import PPOConfig
from rlkit.catalog import ModelCatalog
from rlkit.envs import register_env
from rlkit.models import Model

TINY = {"num_envs": 2, "rollout_fragment_length": 16, "seed": 0, "model": {"fcnet_hiddens": [8]}}


class CountingEnv(gym.Env):
    """Episodes of 5 steps, reward 1 per step; records every action it is given."""

    actions: list[int] = []

    def __init__(self, config=None):
        self.observation_space = gym.spaces.Box(-1, 1, (2,), np.float32)
        self.action_space = gym.spaces.Discrete(2)
        self.t = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.zeros(2, np.float32), {}

    def step(self, action):
        CountingEnv.actions.append(int(action))
        self.t += 1
        return np.full(2, 0.5, np.float32), 1.0, self.t >= 5, False, {}


class Prefers1(Model):
    """Logits [0, 1] whatever the input: action 1 with probability 0.73, greedy action 1."""

    def __init__(self, obs_space, action_space, num_outputs, model_config, name):
        super().__init__(obs_space, action_space, num_outputs, model_config, name)
        self.bias = torch.nn.Parameter(torch.tensor([0.0, 1.0]))
        self.vf = torch.nn.Linear(2, 1)
        self._v = None

    def forward(self, input_dict, state, seq_lens):
        obs = input_dict["obs"]  # [B, 2]
        self._v = self.vf(obs).squeeze(-1)  # [B]
        return self.bias.expand(obs.shape[0], 2) + 0 * obs.sum(-1, keepdim=True), state

    def value_function(self):
        return self._v


register_env("counting_env", lambda config: CountingEnv(config))
ModelCatalog.register_custom_model("prefers_1", Prefers1)


def test_evaluation_runs_every_interval_with_exact_episode_count():
    config = {**TINY, "evaluation_interval": 2, "evaluation_duration": 3}
    trainer = PPO(env="counting_env", config={**config, "lr": 1e-9})
    first, second = trainer.train(), trainer.train()
    trainer.stop()
    assert "evaluation" not in first
    ev = second["evaluation"]
    assert ev["episodes_this_iter"] == 3 and ev["timesteps_this_iter"] == 15
    assert ev["episode_reward_mean"] == ev["episode_return_mean"] == 5.0
    assert ev["episode_len_mean"] == 5.0 and ev["hist_stats"]["episode_reward"] == [5.0] * 3
    assert ev["env_runners"]["episode_return_mean"] == 5.0


@pytest.mark.parametrize("explore, greedy_only", [(None, True), (True, False)])
def test_evaluation_does_not_explore_unless_asked(explore, greedy_only):
    overrides = {} if explore is None else {"explore": explore}
    config = {
        **TINY,
        "model": {"custom_model": "prefers_1"},
        "evaluation_duration": 40,
        "evaluation_config": overrides,
    }
    trainer = PPO(env="counting_env", config=config)
    CountingEnv.actions = []
    trainer.evaluate()
    trainer.stop()
    taken = CountingEnv.actions
    assert len(taken) == 200
    # Greedy: always 1. Sampling at p(1) = 0.73: 200 draws all 1 has probability 1e-27.
    assert (set(taken) == {1}) == greedy_only


def test_evaluation_in_timesteps_and_frozen_filter():
    config = {
        **TINY,
        "observation_filter": "MeanStdFilter",
        "evaluation_interval": 1,
        "evaluation_duration": 12,
        "evaluation_duration_unit": "timesteps",
        "evaluation_config": {"num_envs": 2},
    }
    trainer = PPO(env="counting_env", config=config)
    result = trainer.train()
    count = trainer.policy.filter.rs.n
    again = trainer.evaluate()["evaluation"]
    assert trainer.policy.filter.rs.n == count  # evaluating never grows it
    trainer.stop()
    for ev in (result["evaluation"], again):
        assert ev["timesteps_this_iter"] == 12 and ev["episodes_this_iter"] == 2


def test_dqn_evaluates_greedily():
    config = {
        "num_envs": 1,
        "seed": 0,
        "evaluation_interval": 1,
        "evaluation_duration": 2,
        "min_sample_timesteps_per_iteration": 0,
        "model": {"custom_model": "prefers_1"},
    }
    trainer = DQN(env="counting_env", config=config)
    CountingEnv.actions = []
    result = trainer.train()
    trainer.stop()
    assert result["evaluation"]["episodes_this_iter"] == 2
    assert CountingEnv.actions[-10:] == [1] * 10  # epsilon 1.0 at the start, yet greedy here


@pytest.mark.parametrize(
    "config, message",
    [
        ({"evaluation_config": {"lr": 0.1}}, "'lr' is not one rlkit's evaluation uses"),
        ({"evaluation_config": {"explore": "yes"}}, "'explore' takes True or False"),
        ({"evaluation_num_workers": 2}, "evaluates in this process"),
        ({"evaluation_duration_unit": "steps"}, "evaluation_duration_unit"),
        ({"evaluation_parallel_to_training": True}, "rlkit evaluates in this process"),
    ],
)
def test_evaluation_keys_are_checked_like_other_keys(config, message):
    with pytest.raises(ValueError, match=message):
        PPO(env="CartPole-v1", config=config)


def test_algorithm_config_builder_builds_the_trainer():
    config = (
        PPOConfig()
        .api_stack(enable_rl_module_and_learner=False, enable_env_runner_and_connector_v2=False)
        .environment("counting_env", env_config={})
        .env_runners(num_env_runners=0, num_envs_per_env_runner=2, rollout_fragment_length=16)
        .training(lr=1e-3, lambda_=0.9, num_epochs=2, minibatch_size=16, model=TINY["model"])
        .resources(num_gpus=0)
        .evaluation(evaluation_interval=1, evaluation_duration=2)
        .debugging(seed=0)
    )
    assert config.lr == 1e-3 and config["num_sgd_iter"] == 2 and config.clip_param == 0.2
    algo = config.build()
    assert algo.config["lambda"] == 0.9 and algo.config["sgd_minibatch_size"] == 16
    assert algo.config["num_envs"] == 2 and algo.config["device"] == "cpu"
    result = algo.train()
    algo.stop()
    # RLlib 2.x's nested keys beside rlkit's flat ones.
    assert result["env_runners"]["episode_return_mean"] == result["episode_reward_mean"] == 5.0
    assert result["env_runners"]["episode_reward_mean"] == 5.0
    assert result["evaluation"]["env_runners"]["episode_return_mean"] == 5.0


def test_get_trainable_cls_and_default_config_copy():
    cls = get_trainable_cls("PPO")
    assert cls is PPO
    base = cls.get_default_config()
    assert type(base).__name__ == "PPOConfig" and base.gamma == 0.99
    changed = base.copy().training(gamma=0.5).environment("counting_env")
    assert changed.gamma == 0.5 and base.gamma == 0.99
    assert changed.to_dict() == {"gamma": 0.5, "env": "counting_env"}
    with pytest.raises(ValueError, match="has no algorithm 'SAC'"):
        get_trainable_cls("SAC")


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: PPOConfig().training(kl_coeff=0.2), r"training\(\): .*no KL penalty"),
        (lambda: PPOConfig().training(gamma="0.9"), "'gamma' takes"),
        (lambda: PPOConfig().api_stack(enable_rl_module_and_learner=True), "old API stack"),
        (lambda: PPOConfig().framework("tf2"), "PyTorch only"),
    ],
)
def test_builder_errors_name_the_call_and_key(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_get_policy_by_id_and_workers_foreach_worker():
    trainer = PPO(env="counting_env", config={**TINY, "vector_mode": "sync"})
    assert trainer.get_policy(policy_id="default_policy") is trainer.get_policy()
    with pytest.raises(KeyError, match="one policy, 'default_policy'"):
        trainer.get_policy("player_2")
    ids = trainer.workers.foreach_worker(lambda w: w.foreach_env(lambda env: type(env).__name__))
    assert ids == [["CountingEnv", "CountingEnv"]]
    models = trainer.workers.foreach_worker(lambda w: w.get_policy().model)
    assert models == [trainer.policy.model]
    assert trainer.env_runner_group.local_worker().policy_map == {"default_policy": trainer.policy}
    trainer.stop()


def test_learner_info_has_rllibs_custom_metrics():
    trainer = PPO(env="counting_env", config=TINY)
    info = trainer.train()["info"]["learner"]["default_policy"]
    trainer.stop()
    assert info["custom_metrics"] == {} and "policy_loss" in info["learner_stats"]


def test_recurrent_model_evaluates_with_its_state():
    model = {"use_lstm": True, "lstm_cell_size": 4, "fcnet_hiddens": [4], "max_seq_len": 5}
    config = {**TINY, "model": model, "evaluation_interval": 1, "evaluation_duration": 3}
    trainer = PPO(env="counting_env", config=config)
    ev = trainer.train()["evaluation"]
    trainer.stop()
    assert ev["episodes_this_iter"] == 3 and ev["episode_len_mean"] == 5.0
