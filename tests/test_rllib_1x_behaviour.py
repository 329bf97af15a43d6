"""RLlib 1.x behaviour that ported code meets (issue 28): fragments of one env per worker,
Beta.inputs, a custom distribution's logp on a Tuple space, recurrent minibatches counted in
real steps, nested chop_into_sequences, MeanStdFilter's newer names, policy checkpoints and
RLlib keys set to what rlkit always does."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

from rlkit.algorithms import PG, PPO
from rlkit.algorithms.onpolicy import fitting_num_envs, sequence_groups
from rlkit.catalog import ModelCatalog
from rlkit.distributions import ActionDistribution, Categorical
from rlkit.filters import MeanStdFilter, NoFilter
from rlkit.models.sequences import chop_into_sequences


@pytest.mark.parametrize(
    "config, envs, steps",
    [
        ({"rollout_fragment_length": 5, "train_batch_size": 5}, 1, 5),
        ({"rollout_fragment_length": 5, "train_batch_size": 100}, 5, 100),
        ({"rollout_fragment_length": 5, "train_batch_size": 100, "num_envs_per_worker": 1}, 1, 100),
    ],
)
def test_one_env_per_worker_configs_sample_whole_fragments(config, envs, steps):
    trainer = PG(env="CartPole-v1", config={**config, "seed": 0})
    batch = trainer.sample(trainer.steps_per_env)
    trainer.stop()
    assert trainer.config["num_envs"] == envs
    assert batch["rewards"].size == steps  # [T, E] rows: whole fragments, the batch exactly


def test_fitting_num_envs_prefers_exact_then_most_envs():
    assert fitting_num_envs(100, 5, 8) == 5  # 5 envs x 5 steps x 4 rounds = 100
    assert fitting_num_envs(5, 5, 8) == 1
    assert fitting_num_envs(64, 8, 8) == 8
    with pytest.raises(ValueError, match="within 10%"):  # num_envs chosen: it is kept
        PPO(
            env="CartPole-v1",
            config={"rollout_fragment_length": 5, "train_batch_size": 100, "num_envs": 6},
        )


def test_beta_inputs_are_rllibs_concentrations():
    from rlkit.distributions import Beta

    raw = torch.tensor([[0.0, 2.0, -1.0, 3.0]])
    dist = Beta(raw, None)
    expected = torch.log1p(torch.exp(raw)) + 1.0  # softplus + 1
    assert torch.allclose(dist.inputs, expected)
    alpha, beta = dist.inputs.chunk(2, dim=-1)
    assert torch.allclose(dist.dist.concentration1, alpha)
    assert torch.allclose(dist.dist.concentration0, beta)


class PairDist(ActionDistribution):
    """A custom distribution over Tuple(Discrete(2), Discrete(3)), written RLlib's way."""

    seen: list = []

    @staticmethod
    def required_model_output_shape(action_space, model_config):
        return 5

    def _parts(self):
        return Categorical(self.inputs[:, :2]), Categorical(self.inputs[:, 2:])

    def sample(self):
        a, b = self._parts()
        return (a.sample(), b.sample())

    def deterministic_sample(self):
        a, b = self._parts()
        return (a.deterministic_sample(), b.deterministic_sample())

    def logp(self, actions):
        PairDist.seen.append(tuple(actions.shape))  # RLlib's example indexes actions[:, 0]
        a, b = self._parts()
        return a.logp(actions[:, 0].long()) + b.logp(actions[:, 1].long())

    def entropy(self):
        a, b = self._parts()
        return a.entropy() + b.entropy()

    def kl(self, other):
        a, b = self._parts()
        c, d = other._parts()
        return a.kl(c) + b.kl(d)


class PairEnv(gym.Env):
    observation_space = gym.spaces.Box(-1, 1, (2,), np.float32)
    action_space = gym.spaces.Tuple([gym.spaces.Discrete(2), gym.spaces.Discrete(3)])

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(2, np.float32), {}

    def step(self, action):
        return np.zeros(2, np.float32), float(action[0] + action[1]), True, False, {}


def test_custom_distribution_on_a_tuple_space_gets_flat_actions_in_logp():
    ModelCatalog.register_custom_action_dist("pair_dist", PairDist)
    config = {
        "num_envs": 2,
        "rollout_fragment_length": 4,
        "model": {"custom_action_dist": "pair_dist"},
    }
    trainer = PPO(env=PairEnv, config=config)
    PairDist.seen = []
    result = trainer.train()
    trainer.stop()
    assert PairDist.seen and all(len(s) == 2 and s[1] == 2 for s in PairDist.seen)  # [B, 2]
    assert np.isfinite(result["policy_loss"])


def test_recurrent_minibatches_count_real_steps(monkeypatch):
    from rlkit.algorithms import onpolicy

    assert [g.tolist() for g in sequence_groups(np.array([4, 4, 2]), 10)] == [[0, 1, 2]]
    assert [g.tolist() for g in sequence_groups(np.array([2, 4, 4]), 6)] == [[0, 1], [2]]
    assert [g.tolist() for g in sequence_groups(np.array([3, 3]), None)] == [[0, 1]]
    # RLlib's case: one 10-step fragment at max_seq_len 4, sgd_minibatch_size 10: one minibatch.
    config = {
        "num_envs": 1,
        "rollout_fragment_length": 10,
        "train_batch_size": 10,
        "sgd_minibatch_size": 10,
        "num_sgd_iter": 1,
        "model": {"use_lstm": True, "max_seq_len": 4, "lstm_cell_size": 8, "fcnet_hiddens": [8]},
        "seed": 0,
    }
    trainer = PPO(env="CartPole-v1", config=config)
    seen = []
    real = onpolicy.minibatches

    def recording(lb, size, device):
        for mb in real(lb, size, device):
            seen.append(mb["seq_lens"].tolist())
            yield mb

    monkeypatch.setattr(onpolicy, "minibatches", recording)
    trainer.train()
    trainer.stop()
    assert len(seen) == 1 and sum(seen[0]) == 10  # e.g. [4, 4, 2] in one minibatch


def test_chop_into_sequences_handles_nested_data():
    obs = {"pos": np.arange(5.0), "grid": (np.arange(10.0).reshape(5, 2),)}
    f_pad, s_init, lens = chop_into_sequences(
        feature_columns=[obs, np.arange(5)],
        state_columns=[{"h": np.arange(5) * 10}],
        max_seq_len=2,
        episode_ids=[0, 0, 0, 1, 1],
        handle_nested_data=True,
    )
    assert lens.tolist() == [2, 1, 2]
    assert f_pad[0]["pos"].tolist() == [0, 1, 2, 0, 3, 4]
    assert f_pad[0]["grid"][0].tolist() == [[0, 1], [2, 3], [4, 5], [0, 0], [6, 7], [8, 9]]
    assert s_init[0]["h"].tolist() == [0, 20, 30]
    with pytest.raises(ValueError, match="handle_nested_data=True"):
        chop_into_sequences(
            feature_columns=[obs], state_columns=[], max_seq_len=2, episode_ids=[0] * 5
        )


def test_mean_std_filter_has_rllibs_newer_names():
    f = MeanStdFilter((2,))
    f(np.array([[1.0, 2.0], [3.0, 4.0]]))
    assert f.buffer.n == 2
    f.reset_buffer()
    assert f.buffer.n == 0 and f.rs.n == 2  # the delta goes, the statistics stay
    copy = f.as_serializable()
    assert copy is not f and copy.rs.n == 2 and np.allclose(copy.rs.mean, [2.0, 3.0])
    assert isinstance(NoFilter((2,)).as_serializable(), NoFilter)


def test_policy_export_checkpoint_round_trips(tmp_path):
    trainer = PPO(
        env="CartPole-v1",
        config={"num_envs": 2, "rollout_fragment_length": 8, "observation_filter": "MeanStdFilter"},
    )
    trainer.train()
    policy = trainer.get_policy()
    path = policy.export_checkpoint(str(tmp_path / "export"))
    other = PPO(env="CartPole-v1", config={"num_envs": 2, "observation_filter": "MeanStdFilter"})
    other.get_policy().set_state(torch.load(path, weights_only=True))
    obs = np.array([0.1, 0.0, -0.1, 0.2], np.float32)
    assert other.compute_single_action(obs) == trainer.compute_single_action(obs)
    for a, b in zip(other.policy.model.parameters(), policy.model.parameters()):
        assert torch.equal(a, b)
    assert other.policy.filter.rs.n == policy.filter.rs.n
    trainer.stop()
    other.stop()


@pytest.mark.parametrize(
    "key, value, accepted",
    [
        ("use_gae", True, True),
        ("use_gae", False, False),
        ("clip_actions", True, True),
        ("batch_mode", "truncate_episodes", True),
        ("batch_mode", "complete_episodes", False),
        ("explore", True, True),
    ],
)
def test_rllib_keys_at_what_rlkit_always_does_are_accepted(key, value, accepted):
    if accepted:
        PPO(env="CartPole-v1", config={key: value, "num_envs": 1}).stop()
        return
    from rlkit.algorithms.config.rllib_keys import FIXED

    fixed = f"{key}={FIXED[key]!r}, what rlkit always does, is accepted"
    with pytest.raises(ValueError, match=fixed):
        PPO(env="CartPole-v1", config={key: value})
