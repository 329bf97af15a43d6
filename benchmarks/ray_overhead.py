"""What remote env runners cost: the fixed overhead of one iteration and sampling throughput.

    .venv/bin/python benchmarks/ray_overhead.py            # about 3 minutes on 2 cores
    .venv/bin/python benchmarks/ray_overhead.py --quick    # fewer repeats

Measured, each as the median over repeats (milliseconds):

- fixed overhead: ``trainer.sampler.sample(1)`` with 1 runner x 1 env, i.e. weights out
  through the object store, one env step, the batch and the filter delta back, joined;
  minus the same 1-step sample of a local Sampler. For the CartPole MLP (64-64) and for the
  Atari VisionNetwork (84x84x4 uint8 frames, a stand-in env, no emulator: 2.0M weights,
  8 MB).
  "same node": Ray on one node (the runner beside the driver). "across nodes": a head plus
  worker nodes on this machine (LocalCluster), the runner on another node than the driver,
  so weights and batches cross between two object stores.
- memory: RSS and PSS of one runner process (CartPole, 8 envs).
- sampling throughput: env steps per second of ``sample(128)`` with 8 envs per runner, for
  the local sampler, 1 runner and 2 runners (2 worker nodes of 1 CPU each); and the local
  sampler's steps per second with the VisionNetwork (the per-step cost of the Atari case).

Prints one line per figure and a JSON line at the end.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import gymnasium as gym
import numpy as np

from rlkit.algorithms import PPO


class Frames(gym.Env):
    """Atari-sized observations (84x84x4 uint8 noise) and 6 actions, without an emulator."""

    observation_space = gym.spaces.Box(0, 255, (84, 84, 4), np.uint8)
    action_space = gym.spaces.Discrete(6)

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        return self.np_random.integers(0, 256, (84, 84, 4), dtype=np.uint8), {}

    def step(self, action):
        obs = self.np_random.integers(0, 256, (84, 84, 4), dtype=np.uint8)
        return obs, 0.0, False, False, {}


SETUPS = {
    "cartpole_mlp": ("CartPole-v1", {"model": {"fcnet_hiddens": [64, 64]}}),
    "atari_vision": (Frames, {"model": {"dim": 84}}),
}


def median_ms(fn, repeats: int) -> float:
    fn()  # warm-up (first call pays imports and allocations)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def one_step_overhead(name: str, runners: int, repeats: int) -> float:
    env, config = SETUPS[name]
    base = {**config, "num_envs": 1, "seed": 0, "vector_mode": "sync"}
    local = PPO(env=env, config=base)
    remote = PPO(env=env, config={**base, "num_env_runners": runners})
    try:
        local_ms = median_ms(lambda: local.sampler.sample(1), repeats)
        remote_ms = median_ms(lambda: remote.sampler.sample(1), repeats)
    finally:
        local.stop()
        remote.stop()
    return remote_ms - local_ms


def throughput(name: str, runners: int, repeats: int, steps: int = 128) -> float:
    env, config = SETUPS[name]
    config = {**config, "num_envs": 8, "seed": 0, "num_env_runners": runners}
    trainer = PPO(env=env, config=config)
    try:
        ms = median_ms(lambda: trainer.sampler.sample(steps), repeats)
    finally:
        trainer.stop()
    return steps * 8 * max(runners, 1) / (ms / 1e3)


def runner_memory_mb() -> tuple[float, float]:
    """(RSS, PSS) in MB of one CartPole runner process (8 envs) after an iteration."""
    import psutil

    trainer = PPO(env="CartPole-v1", config={"num_env_runners": 1, "num_envs": 8, "seed": 0})
    try:
        trainer.train()
        info = psutil.Process(trainer.sampler.where()[0]["pid"]).memory_full_info()
    finally:
        trainer.stop()
    return info.rss / 2**20, info.pss / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args()
    repeats = 20 if args.quick else 100
    from rlkit.scaling import LocalCluster, init_local_ray

    out: dict[str, float] = {}
    ray = init_local_ray(num_cpus=2)  # one node: the runner beside the driver
    try:
        for name in SETUPS:
            key = f"{name}_overhead_ms_same_node"
            out[key] = one_step_overhead(name, 1, repeats)
            print(f"{name}: fixed overhead, same node    {out[key]:7.1f} ms")
        rss, pss = out["runner_rss_mb"], out["runner_pss_mb"] = runner_memory_mb()
        print(f"one runner process: {rss:.0f} MB RSS, {pss:.0f} MB PSS")
    finally:
        ray.shutdown()
    with LocalCluster(num_nodes=2, cpus_per_node=1, head_cpus=0):
        for name in SETUPS:
            key = f"{name}_overhead_ms_across_nodes"
            out[key] = one_step_overhead(name, 1, repeats)
            print(f"{name}: fixed overhead, across nodes {out[key]:7.1f} ms")
        for runners in (0, 1, 2):
            key = f"cartpole_steps_per_s_{runners}_runners"
            out[key] = throughput("cartpole_mlp", runners, max(3, repeats // 10))
            print(f"CartPole sampling, {runners} runner(s) x 8 envs: {out[key]:9.0f} steps/s")
    out["atari_vision_steps_per_s_local"] = throughput("atari_vision", 0, 3, steps=16)
    print(
        f"Atari VisionNetwork sampling, local, 8 envs: {out['atari_vision_steps_per_s_local']:.0f}"
    )
    print(json.dumps({k: round(v, 2) for k, v in out.items()}))


if __name__ == "__main__":
    main()
