"""VisionNetwork PPO on Atari frames, on CUDA and on the CPU, from the same seed.

    .venv/bin/python benchmarks/gpu.py                 # CUDA against CPU (CPU alone without CUDA)
    .venv/bin/python benchmarks/gpu.py --iterations 5  # more iterations for the speed figures

rlkit samples on the CPU and learns on ``config["device"]``. With the same seed both trainers
sample the same first batch, so the first iteration's losses must agree within float
tolerance. The check runs that iteration as one minibatch of the whole batch with a learning
rate of 1e-30 (the losses are then of the initial weights, whatever order a device shuffles
minibatches in) and with TF32 off (true float32 on the GPU); the script exits 1 when the
losses differ by more than 1e-4 relative. Then, at the real settings (TF32 as torch's default),
it prints per device the learner's seconds per iteration (the part a GPU speeds up), env
frames per second of the whole iteration, and the learner speed-up.

Settings: ``ALE/Breakout-v5`` with rlkit's DeepMind frames (84x84x4), RL Zoo's Atari PPO (8 envs
x 128 steps, 4 epochs of 256 rows, lr 2.5e-4, clip 0.1), the Nature CNN widths with a shared
value head.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time

import torch

from rlkit.algorithms import PPO

CONFIG = {
    "num_envs": 8,
    "rollout_fragment_length": 128,
    "num_sgd_iter": 4,
    "sgd_minibatch_size": 256,
    "lr": 2.5e-4,
    "clip_param": 0.1,
    "entropy_coeff": 0.01,
    "adam_epsilon": 1e-5,
    "model": {
        "vf_share_layers": True,
        "conv_filters": [[32, [8, 8], 4], [64, [4, 4], 2], [64, [3, 3], 1]],
        "post_fcnet_hiddens": [512],
    },
}
LOSSES = ("policy_loss", "vf_loss", "entropy")


def run(device: str, iterations: int, seed: int, env: str = "ALE/Breakout-v5", **over) -> dict:
    """Train ``iterations`` iterations on ``device``; losses of the first, times of each."""
    trainer = PPO(env=env, config={**CONFIG, **over, "seed": seed, "device": device})
    learn_s: list[float] = []
    learn = trainer.learn

    def timed_learn(*args, **kwargs):
        start = time.perf_counter()
        out = learn(*args, **kwargs)
        if trainer.device.type == "cuda":
            torch.cuda.synchronize()
        learn_s.append(time.perf_counter() - start)
        return out

    trainer.learn = timed_learn
    results = [trainer.train() for _ in range(iterations)]
    trainer.stop()
    # The first iteration also warms up kernels: the speed figures are of the later ones.
    later = results[1:] or results
    steps = results[-1]["timesteps_total"] - (results[0]["timesteps_total"] if results[1:] else 0)
    seconds = sum(r["time_this_iter_s"] for r in later)
    return {
        "device": device,
        "losses": {k: float(results[0][k]) for k in LOSSES if k in results[0]},
        "learn_s_per_iter": sum(learn_s[1:] or learn_s) / len(learn_s[1:] or learn_s),
        "frames_per_s": 4 * steps / seconds,
    }


def check(device: str, seed: int, env: str = "ALE/Breakout-v5", **over) -> dict:
    """Losses of the first iteration at the initial weights (see the module docstring)."""
    batch = CONFIG["num_envs"] * CONFIG["rollout_fragment_length"]
    one_step = {"sgd_minibatch_size": batch, "num_sgd_iter": 1, "lr": 1e-30, **over}
    if "num_envs" in over or "rollout_fragment_length" in over:
        one_step["sgd_minibatch_size"] = over.get("num_envs", CONFIG["num_envs"]) * over.get(
            "rollout_fragment_length", CONFIG["rollout_fragment_length"]
        )
    tf32 = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    try:
        return run(device, 1, seed, env, **one_step)
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = tf32


def agree(a: dict, b: dict, rtol: float = 1e-4, atol: float = 1e-6) -> list[str]:
    """The losses of ``a`` and ``b`` that differ beyond float tolerance (empty: they agree)."""
    return [
        f"{k}: {a['losses'][k]:.6g} vs {b['losses'][k]:.6g}"
        for k in a["losses"]
        if not math.isclose(a["losses"][k], b["losses"][k], rel_tol=rtol, abs_tol=atol)
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--iterations", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print(json.dumps(run("cpu", args.iterations, args.seed)))
        print("no CUDA device: CPU figures only; the CUDA comparison has not run")
        return 0
    first = [check(device, args.seed) for device in ("cpu", "cuda")]
    print(json.dumps(first))
    bad = agree(*first)
    cpu, cuda = (run(device, args.iterations, args.seed) for device in ("cpu", "cuda"))
    print(json.dumps(cpu))
    print(json.dumps(cuda))
    print(f"GPU: {torch.cuda.get_device_name(0)}, torch {torch.__version__}")
    print(f"first-iteration losses agree: {'yes' if not bad else 'NO: ' + '; '.join(bad)}")
    print(
        f"learner s/iter: CPU {cpu['learn_s_per_iter']:.3f}, CUDA {cuda['learn_s_per_iter']:.3f}"
        f" -> speed-up {cpu['learn_s_per_iter'] / cuda['learn_s_per_iter']:.1f}x"
    )
    print(f"env frames/s: CPU {cpu['frames_per_s']:,.0f}, CUDA {cuda['frames_per_s']:,.0f}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
