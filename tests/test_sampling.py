"""rlkit.sampling: rollouts from vector envs into time-major batches.

Autoreset rows are marked invalid, episodes are counted where they end, a truncated step
bootstraps from the value of its final observation, recurrent state carries across fragments,
and sync and async vector envs sample the same batch.
"""

from __future__ import annotations

import numpy as np
import torch
from countdown_env import CountdownEnv  # noqa: F401  (registers env 'countdown')

from rlkit.algorithms import PPO

TINY = {"num_envs": 2, "rollout_fragment_length": 16, "model": {"fcnet_hiddens": [8]}}


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
