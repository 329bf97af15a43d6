"""Trainers own their random numbers (rlkit.utils.seeding): threads never change results.

Four trainers trained in four threads at once give exactly what the same four give one after
the other, for both engines, for categorical and Gaussian sampling, and for DQN's exploration
and replay draws; nothing process-wide is swapped (torch's global generator is untouched).
"""

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch

from rlkit.algorithms import DQN, PPO
from rlkit.utils.seeding import generator, new_generator, private_rng

SMALL = {"num_envs": 2, "rollout_fragment_length": 32, "sgd_minibatch_size": 32, "num_sgd_iter": 2}
DQN_SMALL = {
    "num_envs": 2,
    "rollout_fragment_length": 16,
    "learning_starts": 32,
    "train_batch_size": 16,
    "exploration_config": {"epsilon_timesteps": 200},
}


def run(make, seed, barrier=None):
    """Build, (wait for the others), train 2 iterations: losses and every weight."""
    trainer = make(seed)
    try:
        if barrier is not None:
            barrier.wait(timeout=120)  # all four train at the same time
        results = [trainer.train() for _ in range(2)]
        weights = {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}
        action = trainer.compute_single_action(np.zeros(trainer.policy.model.obs_space.shape))
    finally:
        trainer.stop()
    numbers = [
        (r["timesteps_total"], r.get("policy_loss"), r.get("vf_loss"), r.get("mean_q"))
        for r in results
    ]
    return numbers, weights, np.asarray(action).tolist()


def assert_threads_equal_sequence(make):
    sequential = [run(make, seed) for seed in range(4)]
    barrier = threading.Barrier(4)
    with ThreadPoolExecutor(4) as pool:
        threaded = list(pool.map(lambda s: run(make, s, barrier), range(4)))
    for seed, (a, b) in enumerate(zip(sequential, threaded)):
        assert a[0] == b[0], f"seed {seed}: results differ in a thread"
        assert a[1].keys() == b[1].keys()
        for key in a[1]:
            assert torch.equal(a[1][key], b[1][key]), f"seed {seed}: weight {key} differs"
        assert a[2] == b[2]
    assert sequential[0][0] != sequential[1][0]  # the seeds do matter
    # Building seeds torch's global generator (for the user's own code); training drew nothing
    # from it: it is still exactly as some trainer's torch.manual_seed(seed) left it.
    now = torch.get_rng_state()
    assert any(torch.equal(now, torch.Generator().manual_seed(s).get_state()) for s in range(4))


@pytest.mark.parametrize("engine", ["numpy", "torch"])
def test_four_ppo_trainers_in_threads_equal_four_in_sequence(engine):
    assert_threads_equal_sequence(
        lambda seed: PPO(env="CartPole-v1", config={**SMALL, "seed": seed, "engine": engine})
    )


@pytest.mark.slow
def test_gaussian_actions_and_dqn_exploration_are_owned_too():
    assert_threads_equal_sequence(
        lambda seed: PPO(env="Pendulum-v1", config={**SMALL, "seed": seed})
    )
    assert_threads_equal_sequence(
        lambda seed: DQN(env="CartPole-v1", config={**DQN_SMALL, "seed": seed})
    )


def test_private_rng_is_per_thread_and_nests():
    class Owner:
        def __init__(self, seed):
            self._generator = new_generator(seed)

    a, b = Owner(1), Owner(2)
    assert generator() is None
    with private_rng(a):
        assert generator() is a._generator
        seen = []
        other = threading.Thread(target=lambda: seen.append(generator()))
        other.start()
        other.join()
        assert seen == [None]  # another thread is not in a's block
        with private_rng(b):
            assert generator() is b._generator
        assert generator() is a._generator
    assert generator() is None
    with pytest.raises(KeyError), private_rng(a):
        raise KeyError("the block ends cleanly")
    assert generator() is None
    expected = torch.rand(3, generator=torch.Generator().manual_seed(1))
    assert torch.equal(torch.rand(3, generator=Owner(1)._generator), expected)
