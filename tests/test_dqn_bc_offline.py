"""DQN, BC and the offline JSON reader/writer (fast tier)."""

from __future__ import annotations

import json
import math
import os

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.spaces import Box, Dict, Discrete

from rlkit import ModelCatalog
from rlkit.algorithms import BC, DQN, PPO
from rlkit.algorithms.dqn import ReplayBuffer, epsilon_at, epsilon_greedy, q_targets, replay_rows
from rlkit.distributions import Categorical
from rlkit.models import Model
from rlkit.offline import JsonReader, JsonWriter

# One training step per iteration (8 env steps), so a test sees each step's numbers.
FAST_DQN = {
    "model": {"fcnet_hiddens": [16]},
    "num_envs": 2,
    "seed": 0,
    "min_sample_timesteps_per_iteration": 0,
}


# -- offline: JsonWriter / JsonReader ---------------------------------------------------------


def _valid_rows_env_major(batch, key):
    """Reference: loop env by env, step by step, keeping valid rows."""
    T, E = batch["valid"].shape
    return [batch[key][t, e] for e in range(E) for t in range(T) if batch["valid"][t, e]]


def test_ppo_output_round_trips_the_valid_rows_env_major(tmp_path):
    out = str(tmp_path / "out")
    config = {
        "num_envs": 2,
        "rollout_fragment_length": 16,
        "output": out,
        "seed": 0,
        "observation_filter": "MeanStdFilter",
    }
    trainer = PPO(env="CartPole-v1", config=config)
    written = []
    write = trainer.writer.write
    trainer.writer.write = lambda batch: (written.append(batch), write(batch))
    for _ in range(4):
        trainer.train()
    trainer.stop()
    # Random CartPole episodes last ~20 steps: some batch holds an autoreset (invalid) row.
    assert any(not b["valid"].all() for b in written)
    reader = JsonReader(out)
    assert len(reader.files) == 1 and os.path.basename(reader.files[0]).startswith("CartPole-v1-")
    lines = [reader.next() for _ in written]
    for batch, line in zip(written, lines):
        assert line["obs"].dtype == np.float32 and line["obs"].shape[1:] == (4,)
        # The writer stores what the preprocessor made, not the (MeanStdFilter) filtered obs.
        unfiltered = np.stack(_valid_rows_env_major(batch, "unfiltered_obs"))
        np.testing.assert_array_equal(line["obs"], unfiltered)
        assert not np.allclose(line["obs"], np.stack(_valid_rows_env_major(batch, "obs")))
        for key in ("actions", "rewards", "terminated", "truncated", "eps_id", "action_logp"):
            np.testing.assert_array_equal(line[key], np.array(_valid_rows_env_major(batch, key)))
        assert line["actions"].dtype == np.int64 and line["terminated"].dtype == np.bool_
    everything = reader.read_all()
    assert len(everything["rewards"]) == trainer.timesteps_total
    np.testing.assert_array_equal(reader.next()["obs"], lines[0]["obs"])  # cycles forever
    assert reader.obs_shape == (4,)
    with open(reader.files[0]) as f:
        first = json.loads(f.readline())
    assert first["env"] == "CartPole-v1" and first["obs_shape"] == [4]


def _write_lines(path, lines):
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


GOOD = {
    "env": "X",
    "obs_shape": [2],
    "obs": [[0.0, 1.0], [2.0, 3.0]],
    "actions": [0, 1],
    "rewards": [1.0, 1.0],
    "terminated": [False, True],
    "truncated": [False, False],
    "eps_id": [0, 0],
    "action_logp": [-0.7, -0.7],
}


@pytest.mark.parametrize(
    "bad, message",
    [
        ('{"obs": [[0.0, 1.0]', "not valid JSON"),
        (json.dumps({k: v for k, v in GOOD.items() if k != "rewards"}), "missing key(s) rewards"),
        (json.dumps({**GOOD, "actions": [0]}), "ragged"),
        (json.dumps({**GOOD, "obs": [[0.0, 1.0], [2.0]]}), "obs"),
    ],
)
def test_malformed_line_names_file_and_line(tmp_path, bad, message):
    path = str(tmp_path / "data.jsonl")
    _write_lines(path, [json.dumps(GOOD), "", bad])
    reader = JsonReader(path)
    assert reader.next()["rewards"].tolist() == [1.0, 1.0]
    with pytest.raises(ValueError) as err:
        reader.read_all()
    assert f"{path}, line 3" in str(err.value) and message in str(err.value)


def test_reader_inputs_glob_directory_list_and_missing(tmp_path):
    for name in ("a.jsonl", "b.jsonl"):
        _write_lines(str(tmp_path / name), [json.dumps(GOOD)])
    assert len(JsonReader(str(tmp_path / "*.jsonl")).read_all()["rewards"]) == 4
    assert len(JsonReader(str(tmp_path)).files) == 2
    assert len(JsonReader([str(tmp_path / "a.jsonl"), str(tmp_path / "b.jsonl")]).files) == 2
    pattern = str(tmp_path / "nothing-*.jsonl")
    with pytest.raises(FileNotFoundError, match="nothing-"):
        JsonReader(pattern)
    with pytest.raises(FileNotFoundError, match="missing.jsonl"):
        JsonReader([str(tmp_path / "a.jsonl"), str(tmp_path / "missing.jsonl")])


def test_reader_sample_draws_real_rows_reproducibly(tmp_path):
    path = str(tmp_path / "d.jsonl")
    _write_lines(path, [json.dumps(GOOD), json.dumps({**GOOD, "obs": [[4.0, 5.0], [6.0, 7.0]]})])
    reader = JsonReader(path)
    rows = reader.sample(50, generator=torch.Generator().manual_seed(3))
    again = reader.sample(50, generator=torch.Generator().manual_seed(3))
    assert rows["obs"].shape == (50, 2)
    np.testing.assert_array_equal(rows["obs"], again["obs"])
    assert set(rows["obs"][:, 0].tolist()) == {0.0, 2.0, 4.0, 6.0}  # 50 draws of 4 rows
    np.testing.assert_array_equal(rows["obs"][:, 1], rows["obs"][:, 0] + 1)  # rows stay whole


# -- DQN pieces --------------------------------------------------------------------------------


def test_epsilon_schedule_numbers():
    assert epsilon_at(0, 1.0, 0.02, 10_000) == 1.0
    assert epsilon_at(5_000, 1.0, 0.02, 10_000) == pytest.approx(0.51)
    assert epsilon_at(2_500, 1.0, 0.02, 10_000) == pytest.approx(0.755)
    assert epsilon_at(10_000, 1.0, 0.02, 10_000) == pytest.approx(0.02)
    assert epsilon_at(50_000, 1.0, 0.02, 10_000) == pytest.approx(0.02)
    trainer = DQN(
        env="CartPole-v1",
        config={**FAST_DQN, "exploration_config": {"epsilon_timesteps": 100, "final_epsilon": 0.1}},
    )
    seen = []
    for _ in range(20):
        before = trainer.timesteps_total
        seen.append((before, trainer.train()["epsilon"]))
    for t, eps in seen:
        assert eps == pytest.approx(1.0 - 0.9 * min(t / 100, 1.0))
    assert seen[-1][1] == pytest.approx(0.1)
    trainer.stop()


@pytest.mark.parametrize(
    "exploration, message",
    [
        ({"final_epsilo": 0.1}, "did you mean 'final_epsilon'"),
        ({"type": "SoftQ"}, "'SoftQ' is not supported"),
        ({"initial_epsilon": 1.5}, "'initial_epsilon' takes a number in"),
    ],
)
def test_exploration_config_errors_are_named(exploration, message):
    with pytest.raises(ValueError, match=message):
        DQN(env="CartPole-v1", config={**FAST_DQN, "exploration_config": exploration})


def test_replay_next_obs_wiring_on_a_hand_made_batch():
    # T=3, E=2. Env 1 terminates at t=0: row (1, 1) is the autoreset row (obs = final obs 21),
    # row (2, 1) starts a new episode. Env 0 is truncated at t=1 (bootstraps: terminated False).
    obs = np.array([[[0.0], [10.0]], [[1.0], [21.0]], [[2.0], [30.0]]], np.float32)  # [3, 2, 1]
    batch = {
        "obs": obs,
        "last_obs": np.array([[3.0], [31.0]], np.float32),
        "actions": np.array([[0, 1], [1, 0], [0, 1]]),
        "rewards": np.array([[1, 2], [3, 0], [5, 6]], np.float32),
        "terminated": np.array([[False, True], [False, False], [False, False]]),
        "truncated": np.array([[False, False], [True, False], [False, False]]),
        "valid": np.array([[True, True], [True, False], [True, True]]),
    }
    rows = replay_rows(batch)
    got = sorted(
        zip(
            rows["obs"][:, 0].tolist(),
            rows["actions"].tolist(),
            rows["rewards"].tolist(),
            rows["next_obs"][:, 0].tolist(),
            rows["terminated"].tolist(),
        )
    )
    assert got == [
        (0.0, 0, 1.0, 1.0, False),
        (1.0, 1, 3.0, 2.0, False),  # truncated: next_obs is row 2's obs, no termination flag
        (2.0, 0, 5.0, 3.0, False),  # last row: next_obs = last_obs
        (10.0, 1, 2.0, 21.0, True),  # terminal step: next_obs = final obs of the autoreset row
        (30.0, 1, 6.0, 31.0, False),
    ]


def test_replay_buffer_ring_keeps_the_newest():
    buf = ReplayBuffer(5, (1,))

    def rows(values):
        v = np.asarray(values, np.float32)
        return {
            "obs": v[:, None],
            "next_obs": v[:, None] + 0.5,
            "actions": v.astype(np.int64),
            "rewards": v,
            "terminated": v > 100,
        }

    buf.add(rows([1, 2, 3]))
    buf.add(rows([4, 5, 6, 7]))
    assert len(buf) == 5 and sorted(buf.data["rewards"].tolist()) == [3, 4, 5, 6, 7]
    buf.add(rows(range(10, 22)))  # more than capacity at once: the last 5 survive
    assert sorted(buf.data["rewards"].tolist()) == [17, 18, 19, 20, 21]
    sample = buf.sample(64)
    np.testing.assert_array_equal(sample["next_obs"][:, 0], sample["rewards"] + 0.5)


def test_double_q_target_matches_hand_computation():
    rewards = torch.tensor([1.0, 0.5])
    terminated = torch.tensor([False, True])
    q_next_target = torch.tensor([[2.0, 5.0, 3.0], [4.0, 1.0, 9.0]])
    q_next_online = torch.tensor([[0.0, 1.0, 7.0], [8.0, 0.0, 0.0]])
    gamma = 0.9
    double = q_targets(rewards, terminated, q_next_target, gamma, q_next_online)
    # Row 0: online argmax = 2 -> target Q 3.0; row 1 terminated: no bootstrap.
    torch.testing.assert_close(double, torch.tensor([1.0 + 0.9 * 3.0, 0.5]))
    plain = q_targets(rewards, terminated, q_next_target, gamma)
    torch.testing.assert_close(plain, torch.tensor([1.0 + 0.9 * 5.0, 0.5]))


# -- masked epsilon-greedy ---------------------------------------------------------------------


class MaskedEnv(gym.Env):
    """4 actions; the obs carries a random action mask (at least one 1). A masked action
    is a bug: the env raises."""

    def __init__(self, config=None):
        self.observation_space = Dict({"action_mask": Box(0, 1, (4,)), "obs": Box(-1, 1, (3,))})
        self.action_space = Discrete(4)

    def _obs(self):
        mask = (self.np_random.random(4) < 0.5).astype(np.float32)
        mask[self.np_random.integers(4)] = 1.0
        self.mask = mask
        return {"action_mask": mask, "obs": self.np_random.uniform(-1, 1, 3).astype(np.float32)}

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self._obs(), {}

    def step(self, action):
        if self.mask[action] == 0:
            raise AssertionError(f"masked action {action} taken")
        self.t += 1
        return self._obs(), float(action == 0), False, self.t >= 10, {}


class MaskedQModel(Model):
    """Q-values of the real obs, with float32.min added where the mask is 0 (the seed's idiom)."""

    def __init__(self, obs_space, action_space, num_outputs, model_config, name):
        super().__init__(obs_space, action_space, num_outputs, model_config, name)
        self.net = torch.nn.Linear(3, num_outputs)

    def forward(self, input_dict, state, seq_lens):
        q = self.net(input_dict["obs"]["obs"])
        mask = input_dict["obs"]["action_mask"]
        return q + torch.clamp(torch.log(mask), min=torch.finfo(torch.float32).min), state


ModelCatalog.register_custom_model("masked_q_test", MaskedQModel)


def test_masked_actions_are_never_chosen():
    trainer = DQN(
        env=MaskedEnv,
        config={
            "model": {"custom_model": "masked_q_test"},
            "num_envs": 2,
            "seed": 0,
            "learning_starts": 8,
            "train_batch_size": 8,
            "min_sample_timesteps_per_iteration": 0,
        },
    )
    rng = np.random.default_rng(0)
    n = 12_000
    mask = (rng.random((n, 4)) < 0.5).astype(np.float32)
    mask[np.arange(n), rng.integers(4, size=n)] = 1.0
    obs = {"action_mask": mask, "obs": rng.uniform(-1, 1, (n, 3)).astype(np.float32)}
    for epsilon in (1.0, 0.0):
        trainer.epsilon = epsilon
        actions, _, extra = trainer.explore_actions(obs, update_filter=False)
        assert mask[np.arange(n), actions].all()
        num_valid = mask.sum(1)
        if epsilon == 1.0:  # uniform over the available actions: logp = -log(#available)
            np.testing.assert_allclose(extra["action_logp"], -np.log(num_valid), rtol=1e-5)
            two = num_valid == 2  # rows with two choices: each about half of the time
            first = mask[two].argmax(1)
            share = (actions[two] == first).mean()
            assert abs(share - 0.5) < 5 * math.sqrt(0.25 / two.sum())
        else:
            q = extra["action_dist_inputs"]
            np.testing.assert_array_equal(actions, np.where(mask > 0, q, -np.inf).argmax(1))
            np.testing.assert_allclose(extra["action_logp"], 0.0, atol=1e-6)
    for _ in range(5):  # the env itself raises on a masked action; replay holds none either
        trainer.train()
    stored = trainer.buffer.data
    size = len(trainer.buffer)
    assert size > 0 and stored["obs"][np.arange(size), stored["actions"][:size]].all()
    trainer.stop()


def test_epsilon_greedy_all_masked_row_is_an_error():
    q = torch.tensor([[1.0, 2.0], [torch.finfo(torch.float32).min] * 2])
    with pytest.raises(ValueError, match=r"row\(s\) \[1\]"):
        epsilon_greedy(q, 0.5)


# -- DQN trainer -------------------------------------------------------------------------------


ModelCatalog.register_custom_action_dist("dqn_test_categorical", Categorical)


@pytest.mark.parametrize(
    "env, model, message",
    [
        ("Pendulum-v1", {}, "DQN needs a Discrete action space.*use PPO, A2C or PG"),
        ("CartPole-v1", {"use_lstm": True, "lstm_cell_size": 8}, "recurrent"),
        ("CartPole-v1", {"custom_action_dist": "dqn_test_categorical"}, "custom_action_dist"),
    ],
)
def test_dqn_check_policy_errors(env, model, message):
    with pytest.raises(ValueError, match=message):
        DQN(env=env, config={**FAST_DQN, "model": model})


class LossProbeModel(Model):
    """A small Q-network whose custom_loss adds a constant and whose metrics count calls."""

    def __init__(self, obs_space, action_space, num_outputs, model_config, name):
        super().__init__(obs_space, action_space, num_outputs, model_config, name)
        self.net = torch.nn.Linear(obs_space.shape[0], num_outputs)
        self.calls = 0

    def forward(self, input_dict, state, seq_lens):
        return self.net(input_dict["obs_flat"]), state

    def custom_loss(self, policy_loss, loss_inputs):
        self.calls += 1
        assert loss_inputs["obs"].shape[0] == loss_inputs["actions"].shape[0] == 16
        return policy_loss + 100.0

    def metrics(self):
        return {"custom_loss_calls": torch.tensor(float(self.calls))}


ModelCatalog.register_custom_model("dqn_loss_probe", LossProbeModel)


def test_short_dqn_run_has_finite_stats_and_honours_custom_loss():
    config = {
        "num_envs": 2,
        "seed": 0,
        "learning_starts": 32,
        "train_batch_size": 16,
        "training_intensity": 2.0,
        "target_network_update_freq": 24,
        "model": {"custom_model": "dqn_loss_probe"},
        "min_sample_timesteps_per_iteration": 0,
    }
    trainer = DQN(env="CartPole-v1", config=config)
    results = [trainer.train() for _ in range(12)]
    assert math.isnan(results[0]["loss"]) and results[0]["num_updates"] == 0  # still filling
    last = results[-1]
    for key in ("loss", "mean_q", "mean_td_error", "epsilon", "timesteps_total"):
        assert math.isfinite(last[key]), key
    assert last["loss"] >= 100.0  # the custom loss is the one reported (and optimised)
    # training_intensity 2: 2 * 8 new steps / 16 per update = 1 update per iteration.
    assert sum(r["num_updates"] for r in results) == last["custom_loss_calls"] > 0
    assert last["replay_size"] == trainer.timesteps_total
    # The target net was synced at the last multiple of 24 steps: same weights as then.
    assert trainer.last_target_update > 0
    trainer.stop()


# -- BC ----------------------------------------------------------------------------------------


def _write_dataset(directory, obs, actions, env_name="CartPole-v1"):
    """Write [N, ...] rows as one time-major batch (T=N, E=1) with JsonWriter."""
    n = len(obs)
    batch = {
        "unfiltered_obs": obs[:, None],
        "actions": actions[:, None],
        "rewards": np.ones((n, 1), np.float32),
        "terminated": np.zeros((n, 1), bool),
        "truncated": np.zeros((n, 1), bool),
        "valid": np.ones((n, 1), bool),
        "eps_id": np.zeros((n, 1), np.int64),
        "action_logp": np.zeros((n, 1), np.float32),
    }
    with JsonWriter(directory, env_name) as writer:
        writer.write(batch)
    return writer.path


def test_bc_clones_a_deterministic_expert(tmp_path):
    rng = np.random.default_rng(0)
    obs = rng.normal(0, 1, (2000, 4)).astype(np.float32) * [1.0, 2.0, 0.2, 2.0]
    obs = obs.astype(np.float32)
    path = _write_dataset(str(tmp_path), obs, (obs[:, 0] > 0).astype(np.int64))
    config = {
        "input": path,
        "num_envs": 1,
        "rollout_fragment_length": 8,
        "seed": 0,
        "observation_filter": "MeanStdFilter",
        "model": {"fcnet_hiddens": [32]},
        "num_sgd_iter": 50,
        "sgd_minibatch_size": 128,
        "lr": 3e-3,
    }
    trainer = BC(env="CartPole-v1", config=config)
    # Filter statistics come from the dataset, fitted once (detail 2).
    assert trainer.policy.filter.rs.n == 2000
    np.testing.assert_allclose(trainer.policy.filter.rs.mean, obs.mean(0), rtol=1e-5, atol=1e-6)
    for _ in range(6):
        result = trainer.train()
    assert trainer.policy.filter.rs.n == 2000  # evaluation did not update it
    assert result["num_samples_trained"] == 6 * 50 * 128
    assert result["timesteps_total"] == trainer.timesteps_total > 0
    test_obs = rng.normal(0, 1, (500, 4)).astype(np.float32)
    actions, _, _ = trainer.policy.compute_actions(test_obs, explore=False, update_filter=False)
    assert (actions == (test_obs[:, 0] > 0)).mean() >= 0.95
    trainer.stop()


def test_bc_box_actions(tmp_path):
    rng = np.random.default_rng(1)
    obs = rng.uniform(-1, 1, (1000, 3)).astype(np.float32)
    actions = (1.5 * obs[:, :1]).astype(np.float32)  # Pendulum's torque in [-2, 2]
    path = _write_dataset(str(tmp_path), obs, actions, "Pendulum-v1")
    config = {
        "input": path,
        "num_envs": 1,
        "rollout_fragment_length": 4,
        "seed": 0,
        "model": {"fcnet_hiddens": [32]},
        "num_sgd_iter": 100,
        "lr": 3e-3,
    }
    trainer = BC(env="Pendulum-v1", config=config)
    for _ in range(3):
        result = trainer.train()
    assert math.isfinite(result["bc_loss"]) and "accuracy" not in result
    mean = trainer.policy.compute_actions(obs[:200], explore=False, update_filter=False)[0]
    assert np.abs(mean - actions[:200]).mean() < 0.2
    trainer.stop()


def test_bc_errors(tmp_path):
    with pytest.raises(ValueError, match=r"BC needs offline data: set config\['input'\]"):
        BC(env="CartPole-v1")
    path = _write_dataset(str(tmp_path), np.zeros((5, 3), np.float32), np.zeros(5, np.int64))
    with pytest.raises(ValueError, match=r"shape \[3\].*makes \[4\]"):
        BC(env="CartPole-v1", config={"input": path})
    with pytest.raises(FileNotFoundError, match="nope"):
        BC(env="CartPole-v1", config={"input": str(tmp_path / "nope*.jsonl")})


def test_bc_honours_custom_loss_and_metrics(tmp_path):
    obs = np.random.default_rng(2).normal(0, 1, (64, 4)).astype(np.float32)
    path = _write_dataset(str(tmp_path), obs, (obs[:, 1] > 0).astype(np.int64))
    config = {
        "input": path,
        "num_envs": 1,
        "rollout_fragment_length": 4,
        "num_sgd_iter": 5,
        "sgd_minibatch_size": 16,
        "model": {"custom_model": "dqn_loss_probe"},
    }
    trainer = BC(env="CartPole-v1", config=config)
    result = trainer.train()
    assert result["total_loss"] == pytest.approx(result["bc_loss"] + 100.0, rel=1e-5)
    assert result["custom_loss_calls"] == 5.0
    trainer.stop()
