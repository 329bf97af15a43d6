"""rlkit.scaling without a cluster: Ray stays optional, runners' pieces work in-process.

The Ray cluster tests are in tests/test_ray.py (marker ``ray``).
"""

import copy
import pickle
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
import torch

from rlkit.algorithms import PPO
from rlkit.sampling import Sampler
from rlkit.scaling.runners import EPS_ID_STRIDE, EnvRunner, join_batches, pack_uint8, unpack_uint8


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd="."
    )


def test_ray_is_optional():
    """A base install loads no ray module; Ray features without Ray name the install."""
    # sys.modules["ray"] = None makes "import ray" fail as in an install without Ray.
    out = run_python(
        "import sys, rlkit\n"
        "from rlkit.algorithms import PPO\n"
        "import rlkit.widgets, rlkit.scaling\n"
        "print(sorted(m for m in sys.modules if m == 'ray' or m.startswith('ray.')))\n"
        "sys.modules['ray'] = None\n"
        "for make in (lambda: PPO(env='CartPole-v1', config={'num_env_runners': 2}),\n"
        "             lambda: rlkit.scaling.rlkit_trainable('PPO')):\n"
        "    try:\n"
        "        make()\n"
        "    except ImportError as err:\n"
        "        print('ImportError:', err)\n"
        "small = {'num_env_runners': 0, 'num_envs': 2, 'rollout_fragment_length': 8}\n"
        "print(PPO(env='CartPole-v1', config=small).train()['timesteps_total'])\n"
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 4 and lines[0] == "[]"
    for line in lines[1:3]:
        assert line.startswith("ImportError:") and 'pip install "rlkit[ray]"' in line
    assert "num_env_runners=2" in lines[1] and "Ray Tune" in lines[2]
    assert int(lines[3]) > 0  # 0 runners: the local sampler, no Ray needed


@pytest.mark.parametrize("code", ["k", "k/255", "(k-128)/128"])
def test_uint8_transport_is_exact(code):
    k = np.random.default_rng(0).integers(0, 256, size=(16, 4, 84, 84, 1), dtype=np.uint8)
    x = k.astype(np.float32)
    x = {"k": x, "k/255": x / 255.0, "(k-128)/128": (x - 128.0) / 128.0}[code].astype(np.float32)
    packed = pack_uint8(x)
    assert isinstance(packed, tuple) and packed[1] == code and packed[2].dtype == np.uint8
    back = unpack_uint8(packed)
    assert back.dtype == np.float32 and np.array_equal(back, x)
    noisy = x + np.float32(1e-3)  # not a uint8 image: travels as it is
    assert pack_uint8(noisy) is noisy


class Frames(gym.Env):
    """84x84x4 uint8 frames of noise, episodes of 50 steps (an Atari-sized observation)."""

    observation_space = gym.spaces.Box(0, 255, (84, 84, 4), np.uint8)
    action_space = gym.spaces.Discrete(3)

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self.np_random.integers(0, 256, (84, 84, 4), dtype=np.uint8), {}

    def step(self, action):
        self.t += 1
        obs = self.np_random.integers(0, 256, (84, 84, 4), dtype=np.uint8)
        return obs, 1.0, False, self.t >= 50, {}


def spec(env, num_envs, seed, algorithm=PPO):
    return {
        "env": env,
        "env_config": {},
        "env_creators": {},
        "num_envs": num_envs,
        "vector_mode": "sync",
        "seed": seed,
        "generation": 0,
        "num_threads": 1,
        "algorithm": algorithm,
        "config": None,
    }


def weights(policy):
    return {k: v.numpy() for k, v in policy.model.state_dict().items()}


def test_runner_matches_local_sampler_and_reports_a_filter_delta():
    trainer = PPO(
        env="CartPole-v1", config={"num_envs": 3, "seed": 4, "observation_filter": "MeanStdFilter"}
    )
    policy = trainer.policy
    runners = [EnvRunner(i, spec("CartPole-v1", 3, 4), copy.deepcopy(policy)) for i in range(2)]
    outs = [r.sample(weights(policy), policy.filter, 40, True, None) for r in runners]
    batch = join_batches([o["batch"] for o in outs])
    outer = torch.get_rng_state()
    torch.manual_seed(4)  # runner 0's seeds: envs 4, 5, 6 and torch 4
    local = Sampler("CartPole-v1", copy.deepcopy(policy), 3, vector_mode="sync", seed=4).sample(40)
    torch.set_rng_state(outer)
    for key in ("obs", "unfiltered_obs", "actions", "action_logp", "rewards", "eps_id", "valid"):
        np.testing.assert_array_equal(batch[key][:, :3], local[key], err_msg=key)
    assert batch["obs"].shape == (40, 6, 4) and batch["last_obs"].shape == (6, 4)
    assert batch["eps_id"][:, 3:].min() >= EPS_ID_STRIDE  # runner 1's ids do not collide
    assert sum(len(o["episodes"]) for o in outs) > 0  # CartPole ends episodes within 40 steps
    for o in outs:  # each delta holds exactly what that runner filtered
        assert o["filter"].buffer.n == 40 * 3
    assert all(r.policy.filter.buffer.n == 0 for r in runners)  # cleared once sent


def test_a_1024_step_batch_of_frames_travels_under_30_mb():
    trainer = PPO(env=Frames, config={"num_envs": 8, "seed": 0, "model": {"dim": 84}})
    runner = EnvRunner(0, spec(Frames, 8, 0), copy.deepcopy(trainer.policy))
    out = runner.sample(weights(trainer.policy), trainer.policy.filter, 16, True, None)
    assert out["batch"]["obs"].dtype == np.uint8  # the frames themselves, never float32
    # 128 steps sampled (kept short for the fast tier); every field grows with the steps, so
    # 1,024 steps take 8x the bytes (the filter and episode lists are smaller still).
    size = len(pickle.dumps(out, protocol=5))
    assert size * 8 <= 30 * 2**20, f"{size * 8 / 2**20:.1f} MB for 1,024 steps"
    batch = join_batches([out["batch"]])
    assert batch["obs"].dtype == np.uint8 and batch["obs"].shape == (16, 8, 84, 84, 4)
    assert batch["unfiltered_obs"] is batch["obs"]  # NoFilter: the same values, sent once
