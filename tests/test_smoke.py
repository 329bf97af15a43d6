"""Smoke tier: every env rlkit offers trains one iteration with each algorithm that fits it.

The envs are read, never listed by hand: the Playground picker's own list
(``rlkit.widgets.picker.DEFAULT_ENVS``) and every gymnasium id named in the README, the tour and
the notebooks. A new entry in any of them is tested without anyone adding it here. Budgets are
tiny (2 envs x 8 steps): this tier checks that the pieces fit together, not that they learn.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import gymnasium as gym
import pytest

from rlkit.algorithms import ALGORITHMS
from rlkit.envs import make_env, register_env
from rlkit.widgets.picker import DEFAULT_ENVS

pytestmark = pytest.mark.smoke

ROOT = Path(__file__).resolve().parents[1]
# A gymnasium id in quotes: "CartPole-v1", 'ALE/Pong-v5', "MiniGrid-Empty-5x5-v0".
ENV_ID = re.compile(r"""["']((?:[A-Za-z]+/)?[A-Z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*-v\d+)["']""")
TINY = {"num_envs": 2, "rollout_fragment_length": 8, "seed": 0}
PER_ALGORITHM = {
    "PG": {},
    "A2C": {},
    "PPO": {"num_sgd_iter": 1, "sgd_minibatch_size": 8},
    "DQN": {
        "learning_starts": 8,
        "train_batch_size": 8,
        "buffer_size": 64,
        "min_sample_timesteps_per_iteration": 0,  # one training step, not RLlib's 1000 steps
    },
    "BC": {"num_sgd_iter": 2, "sgd_minibatch_size": 8},  # "input": written by PG first
}


def _text_of(path: Path) -> str:
    if path.suffix != ".ipynb":
        return path.read_text(encoding="utf-8")
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return "\n".join("".join(cell["source"]) for cell in cells)


def offered_env_ids() -> list[str]:
    """The picker's envs and every env id the README, the tour and the notebooks use."""
    ids = {env for env in DEFAULT_ENVS if isinstance(env, str)}
    sources = [ROOT / "README.md", ROOT / "rlkit" / "tour.py"]
    sources += sorted((ROOT / "notebooks").rglob("*.ipynb"))
    for path in sources:
        if ".ipynb_checkpoints" not in path.parts:
            ids.update(ENV_ID.findall(_text_of(path)))
    return sorted(ids)


def test_the_list_holds_what_users_see():
    ids = offered_env_ids()
    assert set(DEFAULT_ENVS) <= set(ids) and "CartPole-v1" in ids and "ALE/Pong-v5" in ids


def _trainable(env_id: str) -> str:
    """``env_id``, or a registered name for it with the Dict keys rlkit cannot encode
    filtered out (the fix rlkit's error proposes, e.g. MiniGrid's text ``mission``)."""
    from rlkit.preprocessors import _supported

    probe = make_env(env_id)
    space = probe.observation_space
    probe.close()
    if _supported(space):
        return env_id
    keep = [key for key, child in space.spaces.items() if _supported(child)]
    name = f"{env_id}+FilterObservation"
    register_env(name, lambda cfg: gym.wrappers.FilterObservation(make_env(env_id, cfg), keep))
    return name


def _fits(algo: str, env_id: str) -> bool:
    if algo != "DQN":
        return True
    probe = make_env(env_id)
    discrete = isinstance(probe.action_space, gym.spaces.Discrete)
    probe.close()
    return discrete


CASES = [(env, algo) for env in offered_env_ids() for algo in ALGORITHMS if _fits(algo, env)]


@pytest.mark.parametrize("env_id, algo", CASES)
def test_every_offered_env_trains_one_iteration(env_id, algo, tmp_path):
    env = _trainable(env_id)
    config = {**TINY, **PER_ALGORITHM[algo]}
    if algo == "BC":  # behaviour cloning learns from what another trainer wrote
        writer = ALGORITHMS["PG"](env=env, config={**TINY, "output": str(tmp_path)})
        writer.train()
        writer.stop()
        config["input"] = str(tmp_path)
    trainer = ALGORITHMS[algo](env=env, config=config)
    assert trainer.policy.observation_space == trainer.sampler.env.single_observation_space
    result = trainer.train()
    trainer.stop()
    assert result["training_iteration"] == 1
    numbers = {k: v for k, v in result.items() if isinstance(v, float) and "episode" not in k}
    assert numbers and all(math.isfinite(v) for v in numbers.values()), numbers
    if algo != "BC":  # every env stepped (autoreset rows, in short episodes, are not counted)
        assert 0 < result["timesteps_total"] <= TINY["num_envs"] * TINY["rollout_fragment_length"]
