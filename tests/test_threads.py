"""rlkit limits every thread pool (torch, BLAS, OpenMP) to ``num_threads`` while it trains or
acts, and leaves the user's own settings as they were outside its calls (rlkit.utils.threads)."""

import numpy as np
import pytest
import torch
from threadpoolctl import threadpool_info, threadpool_limits

from rlkit import ModelCatalog
from rlkit.algorithms import PPO
from rlkit.models.fcnet import FullyConnectedNetwork
from rlkit.utils.threads import limit_threads

SEEN: list[dict[str, int]] = []


def pools() -> dict[str, int]:
    """{user_api or "torch": threads} of every pool loaded in this process."""
    sizes = {info["user_api"]: info["num_threads"] for info in threadpool_info()}
    sizes["torch"] = torch.get_num_threads()
    return sizes


class PoolSpy(FullyConnectedNetwork):
    """The built-in MLP, noting the pool sizes each forward runs with."""

    def forward(self, input_dict, state, seq_lens):
        SEEN.append(pools())
        return super().forward(input_dict, state, seq_lens)


@pytest.fixture
def users_settings():
    """A user who set 2 threads for torch, BLAS and OpenMP before using rlkit."""
    torch_before = torch.get_num_threads()
    with threadpool_limits(limits=2):
        torch.set_num_threads(2)
        assert set(pools().values()) == {2}
        yield pools()
    torch.set_num_threads(torch_before)


@pytest.mark.parametrize("num_threads", [1, 3])
def test_train_and_single_actions_run_with_num_threads_then_restore(
    seed, users_settings, num_threads
):
    ModelCatalog.register_custom_model("pool_spy", PoolSpy)
    trainer = PPO(
        env="CartPole-v1",
        config={
            "seed": 0,
            "num_envs": 2,
            "rollout_fragment_length": 4,
            "num_sgd_iter": 1,
            "num_threads": num_threads,
            "model": {"custom_model": "pool_spy", "fcnet_hiddens": [8]},
        },
    )
    assert pools() == users_settings  # building a trainer changes nothing
    SEEN.clear()
    trainer.train()
    assert SEEN, "the spy model never ran"
    assert all(set(sizes.values()) == {num_threads} for sizes in SEEN), SEEN
    assert pools() == users_settings
    # One observation: torch's pool is limited; BLAS and OpenMP keep the user's sizes (one
    # row's products never start a second BLAS thread, and flipping the pools costs more
    # than the call: rlkit.utils.threads).
    SEEN.clear()
    trainer.compute_single_action(np.zeros(4, np.float32))
    assert SEEN and all(sizes["torch"] == num_threads for sizes in SEEN)
    assert all(sizes["blas"] == users_settings["blas"] for sizes in SEEN)
    assert pools() == users_settings
    trainer.stop()


def test_the_limit_nests_and_restores_after_an_exception(users_settings):
    with pytest.raises(RuntimeError), limit_threads(1):
        with limit_threads(4):  # a call inside a call sizes torch's pool alone
            # (torch's setter sizes the OpenMP pool it shares too; BLAS keeps the outer limit)
            assert pools() == {"torch": 4, "openmp": 4, "blas": 1}
        assert set(pools().values()) == {1}
        raise RuntimeError("inside")
    assert pools() == users_settings


def test_num_threads_must_be_a_positive_int():
    with pytest.raises(ValueError, match="'num_threads' takes 'auto' or an int >= 1; got 0"):
        PPO(env="CartPole-v1", config={"num_threads": 0})
