"""Atari: DeepMind preprocessing, one source of truth for spaces, and errors at build time."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.spaces import Box, Discrete

from rlkit import atari
from rlkit.algorithms import A2C, DQN, PPO
from rlkit.envs import make_env, make_vec_env
from rlkit.policy import Policy
from rlkit.widgets.building import Choices, build_policy

pytest.importorskip("ale_py")

PONG = "ALE/Pong-v5"
FRAMES = Box(0, 255, (84, 84, 4), np.uint8)
TINY = {"num_envs": 2, "rollout_fragment_length": 4, "seed": 0}


@pytest.mark.parametrize("mode", ["vector", "sync"])
@pytest.mark.parametrize(
    "model, shape", [({}, (84, 84, 4)), ({"dim": 42, "framestack": False}, (42, 42, 1))]
)
def test_every_builder_delivers_the_same_space(mode, model, shape):
    config = {"model": model}
    vec = make_vec_env(PONG, 2, None, mode, config=config)
    single = make_env(PONG, config=config)
    expected = Box(0, 255, shape, np.uint8)
    assert vec.single_observation_space == expected == single.observation_space
    obs, _ = vec.reset(seed=0)
    assert obs.shape == (2, *shape) and obs.dtype == np.uint8
    # [E, H, W, C] in that order in memory (ale-py plays [E, C, H, W]): a strided view would
    # be copied again by every minibatch before the channels-last conv stack
    assert obs.flags.c_contiguous
    assert vec.step(np.zeros(2, dtype=np.int64))[0].flags.c_contiguous
    first = single.reset(seed=0)[0]
    assert first.shape == shape and first.flags.c_contiguous
    vec.close()
    single.close()


@pytest.mark.smoke
@pytest.mark.parametrize("mode, where", [("auto", "native vector env"), ("sync", "gymnasium")])
def test_trainer_policy_is_built_from_the_sampler_space(mode, where):
    trainer = PPO(env=PONG, config={**TINY, "vector_mode": mode, "num_sgd_iter": 1})
    assert trainer.policy.observation_space == trainer.sampler.env.single_observation_space
    assert trainer.policy.observation_space == FRAMES
    text = trainer.policy.explain()
    assert "DeepMind preprocessing" in text and where in text and "(84, 84, 4)" in text
    assert trainer.policy.trace(trainer.sampler.obs[0])[0].shape == (84, 84, 4)
    result = trainer.train()
    assert result["timesteps_total"] == 8
    batch = trainer.sample(trainer.steps_per_env)
    assert batch["obs"].dtype == np.uint8 and batch["obs"].flags.c_contiguous
    # The Playground builds the same policy from the same choices.
    policy, error = build_policy(Choices(PONG, "PPO", dict(TINY)))
    assert error == "" and policy.observation_space == trainer.policy.observation_space
    trainer.stop()


@pytest.mark.smoke
def test_ppo_on_pong_runs_with_defaults():
    trainer = PPO(env=PONG, config={"num_sgd_iter": 1})  # everything else as a user gets it
    result = trainer.train()
    assert result["timesteps_total"] == 8 * 128
    trainer.stop()


@pytest.mark.smoke
def test_checkpoint_records_the_space(tmp_path):
    trainer = A2C(env=PONG, config=TINY)
    path = trainer.save(str(tmp_path))
    other = A2C(env=PONG, config={**TINY, "model": {"framestack": 2, "conv_filters": None}})
    with pytest.raises(ValueError, match=r"observations Box\(0, 255, \(84, 84, 4\)"):
        other.restore(path)
    trainer.restore(path)
    trainer.stop()
    other.stop()


@pytest.mark.smoke
def test_raw_frames_with_preprocessor_pref_rllib():
    trainer = DQN(env=PONG, config={**TINY, "preprocessor_pref": "rllib"})
    assert trainer.policy.observation_space.shape == (210, 160, 3)
    assert trainer.policy.preprocessor.shape == (84, 84, 3)
    assert "DeepMind" not in trainer.policy.explain()
    trainer.stop()


# -- DeepMindTraining on a scripted vector env: closed-form checks --------------------------
class ScriptedLives(gym.vector.VectorEnv):
    """One env whose step t returns rewards[t] and lives[t]; the game ends at lives 0."""

    def __init__(self, rewards, lives):
        self.num_envs = 1
        self.rewards, self.lives = rewards, lives
        self.single_observation_space = Box(0, 255, (1, 2, 2), np.uint8)
        self.single_action_space = Discrete(4)
        self.observation_space = gym.vector.utils.batch_space(self.single_observation_space, 1)
        self.action_space = gym.vector.utils.batch_space(self.single_action_space, 1)
        self.actions: list[int] = []
        self.t = 0

    def reset(self, *, seed=None, options=None):
        self.t = 0
        return np.zeros((1, 1, 2, 2), np.uint8), {"lives": np.array([3])}

    def step(self, actions):
        self.actions.append(int(actions[0]))
        reward, lives = self.rewards[self.t], self.lives[self.t]
        self.t += 1
        obs = np.full((1, 1, 2, 2), self.t, np.uint8)
        done = np.array([lives == 0])
        return obs, np.array([reward]), done, np.array([False]), {"lives": np.array([lives])}


def test_episodic_life_clipping_and_the_real_score():
    rewards = [4.0, 0.0, -2.0, 7.0, 0.0, 1.0, 0.0, 3.0]
    lives = [3, 2, 2, 2, 1, 1, 1, 0]  # lives lost at steps 1 and 4; the game ends at step 7
    settings = atari.DeepMindSettings(dim=2, framestack=1)
    env = atari.DeepMindTraining(ScriptedLives(rewards, lives), settings, True, restart_action=1)
    obs, _ = env.reset()
    assert obs.shape == (1, 2, 2, 1)
    out = [env.step(np.array([3])) for _ in rewards]
    learn = [float(o[1][0]) for o in out]
    terminated = [bool(o[2][0]) for o in out]
    # Signs; the row after a lost life (DeepMind's reset step) is not learned from.
    assert learn == [1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    assert terminated == [False, True, False, False, True, False, False, True]
    assert env.env.actions == [3, 3, 1, 3, 3, 1, 3, 3]  # FIRE after each lost life
    info = out[-1][4]
    assert info["_episode"][0] and info["episode"]["r"][0] == sum(rewards)  # the game's score
    assert info["episode"]["l"][0] == len(rewards)
    assert all("episode" not in o[4] for o in out[:-1])


def test_native_and_wrapper_frames_agree():
    # Same game, no sticky actions and no random no-ops: both builds play the same frames,
    # up to resize rounding (the first stack differs: ale-py pads it with black frames).
    settings = atari.DeepMindSettings(noop_max=0)
    config = {"repeat_action_probability": 0.0}
    envs = [atari.make_atari_vec_env(PONG, 1, settings, config, m) for m in ("vector", "sync")]
    for env in envs:
        env.reset(seed=0)
    for _ in range(4):  # fill the stack with played frames
        frames = [env.step(np.array([0]))[0].astype(np.float64) for env in envs]
    assert np.abs(frames[0] - frames[1]).mean() < 2.0  # out of 255
    for env in envs:
        env.close()


# -- bad input: clear errors at build time ---------------------------------------------------
def test_framestack_on_a_non_atari_env():
    with pytest.raises(ValueError, match=r"'framestack'=4.*'CartPole-v1' is not an ALE id"):
        PPO(env="CartPole-v1", config={"model": {"framestack": 4}})


def test_framestack_that_the_env_already_stacks():
    stacked = Box(0, 255, (84, 84, 4), np.uint8)
    with pytest.raises(ValueError, match="FrameStackObservation"):
        Policy(stacked, Discrete(2), {"model": {"framestack": 2}})
    assert Policy(stacked, Discrete(2), {"model": {"framestack": 4}}).preprocessor.shape == (
        84,
        84,
        4,
    )


def test_channel_first_frames_are_named():
    with pytest.raises(ValueError, match=r"channel-first.*moveaxis"):
        Policy(Box(0, 255, (4, 84, 84), np.uint8), Discrete(2))


def test_grayscale_false_under_deepmind():
    with pytest.raises(ValueError, match="'grayscale'=False.*preprocessor_pref"):
        PPO(env=PONG, config={**TINY, "model": {"grayscale": False}})


def test_dim_preprocessing_cannot_produce():
    with pytest.raises(ValueError, match=r"'dim'=300.*ALE/Pong-v5.*dim <= 160"):
        PPO(env=PONG, config={**TINY, "model": {"dim": 300}})


def test_conv_stack_that_does_not_fit_the_frames():
    filters = [[16, [8, 8], 4], [32, [4, 4], 2], [256, [11, 11], 1]]  # the 84x84 stack
    with pytest.raises(ValueError, match=r"conv_filters layer 2.*For 42x42 images use"):
        PPO(env=PONG, config={**TINY, "model": {"dim": 42, "conv_filters": filters}})


def test_missing_rom(monkeypatch):
    from ale_py import roms

    monkeypatch.setattr(roms, "get_rom_path", lambda game: None)
    with pytest.raises(ValueError, match=r"'ALE/Pong-v5' needs the Atari ROM 'pong'.*pip install"):
        PPO(env=PONG, config=TINY)


def test_frameskip_in_env_config_under_deepmind():
    with pytest.raises(ValueError, match="env_config key 'frameskip'"):
        PPO(env=PONG, config={**TINY, "env_config": {"frameskip": 1}})


def test_preprocessor_pref_is_checked():
    with pytest.raises(ValueError, match="'preprocessor_pref'"):
        PPO(env=PONG, config={**TINY, "preprocessor_pref": "deep"})


def test_sampler_reports_the_real_score():
    from rlkit.sampling import Sampler

    rewards = [4.0, 0.0, -2.0, 7.0, 0.0, 1.0, 0.0, 3.0]
    lives = [3, 2, 2, 2, 1, 1, 1, 0]
    settings = atari.DeepMindSettings(dim=2, framestack=1)
    env = atari.DeepMindTraining(ScriptedLives(rewards, lives), settings, True, restart_action=1)
    policy = Policy(env.single_observation_space, env.single_action_space)
    sampler = Sampler("scripted", policy, num_envs=1, seed=0, vec_env=env)
    batch = sampler.sample(len(rewards))
    stats = sampler.stats()
    assert stats["episode_reward_mean"] == 13.0 and stats["episodes_total"] == 1
    assert stats["episode_len_mean"] == 8
    assert batch["valid"][:, 0].tolist() == [True, True, False, True, True, False, True, True]
    assert batch["rewards"][:, 0].tolist() == [1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]


@pytest.mark.smoke
def test_gpu_benchmark_checks_losses_on_any_machine():
    # benchmarks/gpu.py compares CUDA with the CPU; its check runs here CPU against CPU.
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu.py"
    spec = importlib.util.spec_from_file_location("gpu_benchmark", path)
    gpu = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gpu)
    tiny = {"num_envs": 2, "rollout_fragment_length": 16}
    a, b = (gpu.check("cpu", 0, env=PONG, **tiny) for _ in range(2))
    assert set(a["losses"]) == {"policy_loss", "vf_loss", "entropy"}
    assert gpu.agree(a, b) == [] and a["frames_per_s"] > 0
    other = gpu.check("cpu", 1, env=PONG, **tiny)  # another seed: another batch
    assert gpu.agree(a, other)


def _atari_benchmark():
    """benchmarks/atari.py as a module."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "atari.py"
    spec = importlib.util.spec_from_file_location("atari_benchmark", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    return bench


def test_atari_benchmarks_sb3_network_is_sb3s():
    # benchmarks/atari.py's rlkit-sb3cnn row: SB3's CnnPolicy network as an rlkit custom model.
    from rlkit.catalog import ModelCatalog
    from rlkit.models.base import Model

    _atari_benchmark().register_sb3_cnn()
    model = ModelCatalog.get_model(
        Box(-1.0, 1.0, (84, 84, 4), np.float32), Discrete(4), 4, {"custom_model": "sb3_nature_cnn"}
    )
    assert isinstance(model, Model)
    # SB3's NatureCNN: convs 4*32*8*8+32, 32*64*4*4+64, 64*64*3*3+64, dense 3136*512+512
    # (1,684,128 weights), then the heads 512*4+4 and 512+1.
    features = 8_224 + 32_832 + 36_928 + 1_606_144
    assert sum(p.numel() for p in model.parameters()) == features + 2_052 + 513


@pytest.mark.smoke
def test_atari_benchmark_rows_run_end_to_end():
    # The benchmark as it is run (fresh processes, rows alternating, the summary it prints),
    # each default row for 256 frames (64 env steps, --tiny: 2 envs x 16 steps).
    import json
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    bench = _atari_benchmark()
    command = [sys.executable, bench.__file__, "--tiny", "--rounds", "1", "--steps", "64"]
    sb3_folders = set(Path(tempfile.gettempdir()).glob("SB3-*"))
    out = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    assert set(Path(tempfile.gettempdir()).glob("SB3-*")) == sb3_folders  # no logger folder
    summary = json.loads(out.stdout.strip().splitlines()[-1])["summary"]["quiet"]
    assert list(summary) == list(bench.DEFAULT_ROWS)
    for row, figures in summary.items():
        assert figures["frames_per_s"] > 0 and figures["peak_mb"] > 100, (row, figures)
        assert figures["vs_sb3"] == pytest.approx(
            figures["frames_per_s"] / summary["sb3"]["frames_per_s"]
        )
    assert summary["rlkit-1thread"]["torch_threads"] == "1"
    assert "| rlkit-sb3cnn |" in out.stdout  # the table


def test_playground_policy_sees_the_trainers_frames():
    config = {"model": {"dim": 42, "framestack": 2, "grayscale": True}}
    policy, error = build_policy(Choices(PONG, "PPO", config))
    assert error == "" and policy.observation_space == Box(0, 255, (42, 42, 2), np.uint8)
    assert policy.preprocessor.shape == (42, 42, 2)
