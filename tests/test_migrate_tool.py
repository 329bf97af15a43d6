"""``python -m rlkit migrate``: the imports RLlib users write, gym -> gymnasium, old-gym envs,
stand-ins for names without a counterpart, and a CLI that never overwrites a user's file."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

from rlkit.migrate.compat import SampleBatch, SlimFC, merge_dicts, try_import_tf
from rlkit.migrate.rewrite import migrate_source


class Done:
    """What one ``python -m rlkit migrate`` run printed and returned."""

    def __init__(self, returncode: int, out: str, err: str):
        self.returncode, self.stdout, self.stderr = returncode, out, err


def migrate_cli(*args: str, cwd: Path) -> Done:
    """``python -m rlkit migrate ARGS`` in ``cwd``, in this process (rlkit.__main__.main)."""
    import contextlib
    import io

    from rlkit.__main__ import main

    out, err = io.StringIO(), io.StringIO()
    here = os.getcwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["migrate", *args])
    finally:
        os.chdir(here)
    return Done(code, out.getvalue(), err.getvalue())


IMPORTS = (
    "from ray.rllib.utils.typing import ModelConfigDict, TensorType, Dict, List\n"
    "from ray.rllib.utils.framework import TensorType as TT\n"
    "from ray.tune.utils import merge_dicts\n"
    "from ray.rllib.utils import try_import_torch, override\n"
    "from ray.rllib.models import ModelV2, ModelCatalog\n"
    "from ray.rllib.models.torch.misc import SlimFC\n"
    "from ray.rllib.models.torch.complex_input_net import ComplexInputNetwork\n"
    "from ray.rllib.policy.sample_batch import SampleBatch\n"
    "from ray.rllib.algorithms.ppo import PPOConfig\n"
    "from ray.tune.registry import get_trainable_cls\n"
    "import gym\n"
    "from gym.spaces import Dict as DictSpace\n"
)


def test_every_import_rllib_users_write_is_rewritten_and_runs():
    new, report = migrate_source(IMPORTS + "torch, nn = try_import_torch()\n")
    assert report.unmapped == [] and "ray" not in new.replace("gymnasium", "")
    assert "from typing import Dict, List\n" in new
    assert "from rlkit.models import Model\n" in new and "import gymnasium as gym\n" in new
    assert "from gymnasium.spaces import Dict as DictSpace\n" in new
    namespace: dict = {}
    exec(compile(new, "migrated.py", "exec"), namespace)
    assert namespace["DictSpace"] is gym.spaces.Dict and namespace["torch"] is torch
    assert namespace["get_trainable_cls"]("PPO").__name__ == "PPO"
    assert namespace["ComplexInputNetwork"].__name__ == "ComplexInputNetwork"


def test_compat_helpers_behave_as_rllibs():
    assert merge_dicts({"model": {"a": 1, "b": 2}, "x": 1}, {"model": {"b": 3}}) == {
        "model": {"a": 1, "b": 3},
        "x": 1,
    }
    base = {"model": {"a": 1}}
    merge_dicts(base, {"model": {"a": 2}})
    assert base == {"model": {"a": 1}}  # a copy, as RLlib's
    assert try_import_tf() == (None, None, None)
    fc = SlimFC(3, 2, activation_fn=torch.nn.ReLU, bias_init=0.5)
    x = torch.randn(4, 3)
    w, b = fc._model[0].weight.detach().numpy(), fc._model[0].bias.detach().numpy()
    expected = np.maximum(x.numpy() @ w.T + b, 0)  # relu(x W^T + b)
    assert np.allclose(fc(x).detach().numpy(), expected, atol=1e-6) and b.tolist() == [0.5, 0.5]
    assert SampleBatch({"obs": np.zeros(5)})[SampleBatch.OBS].shape == (5,)


def test_complex_input_network_towers_and_feature_width():
    from rlkit.models import ComplexInputNetwork
    from rlkit.preprocessors import get_preprocessor

    space = gym.spaces.Dict(
        {
            "image": gym.spaces.Box(0, 1, (10, 10, 3), np.float32),
            "pos": gym.spaces.Box(-1, 1, (2,), np.float32),
            "k": gym.spaces.Discrete(3),
        }
    )
    obs_space = get_preprocessor(space)(space).observation_space
    config = {"fcnet_hiddens": [8], "post_fcnet_hiddens": [16]}
    model = ComplexInputNetwork(obs_space, gym.spaces.Discrete(2), None, config, "cin")
    assert model.num_outputs == model.post_fc_stack.num_outputs == 16
    kinds = [type(t).__name__ for t in model.towers]
    assert kinds == ["VisionNetwork", "FullyConnectedNetwork", "FullyConnectedNetwork"]
    obs = {
        "image": torch.rand(4, 10, 10, 3),
        "k": torch.tensor([0, 1, 2, 0]),
        "pos": torch.zeros(4, 2),
    }
    out, _ = model({"obs": obs})
    assert out.shape == (4, 16) and model.value_function().shape == (4,)


def test_old_gym_env_runs_through_the_adapter():
    from rlkit.algorithms import PPO

    class OldEnv(gym.Env):
        def __init__(self, config=None):
            self.observation_space = gym.spaces.Box(-1, 1, (2,), np.float32)
            self.action_space = gym.spaces.Discrete(2)
            self.seeds, self.t = [], 0

        def seed(self, seed=None):
            self.seeds.append(seed)

        def reset(self):
            self.t = 0
            return np.zeros(2, np.float32)

        def step(self, action):
            self.t += 1
            cut = self.t >= 4
            return np.zeros(2, np.float32), 1.0, cut, {"TimeLimit.truncated": cut}

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trainer = PPO(env=OldEnv, config={"num_envs": 2, "rollout_fragment_length": 12, "seed": 7})
        batch = trainer.sample()
    envs = trainer.sampler.env.unwrapped.envs
    trainer.stop()
    assert any("pre-0.26 API" in str(w.message) for w in caught)
    assert [e.unwrapped.seeds[0] for e in envs] == [7, 8]  # reset(seed=...) reached env.seed
    # done with TimeLimit.truncated is a truncation (bootstrapped), never a termination.
    assert batch["truncated"].any() and not batch["terminated"].any()


def test_cli_never_overwrites_and_keeps_a_backup(tmp_path):
    script = tmp_path / "train.py"
    script.write_text("import gym\nfrom ray.rllib.agents.ppo import PPOTrainer\n")
    other = tmp_path / "mine.py"
    other.write_text("precious = True\n")
    done = migrate_cli("train.py", "-o", "mine.py", cwd=tmp_path)
    assert done.returncode == 2 and "mine.py exists" in done.stderr and "--force" in done.stderr
    assert other.read_text() == "precious = True\n"
    done = migrate_cli("train.py", "-o", "train.py", cwd=tmp_path)
    assert done.returncode == 2 and "use --in-place" in done.stderr
    assert migrate_cli("train.py", "-o", "mine.py", "--force", cwd=tmp_path).returncode == 0
    assert "import gymnasium as gym" in other.read_text()
    done = migrate_cli("train.py", "--in-place", cwd=tmp_path)
    assert done.returncode == 0
    assert "rlkit.algorithms.ppo" in script.read_text()
    assert (tmp_path / "train.py.rllib.bak").read_text().startswith("import gym\n")
    again = migrate_cli("train.py", "--in-place", cwd=tmp_path)
    assert again.returncode == 2 and "backup" in again.stderr
    assert (tmp_path / "train.py.rllib.bak").read_text().startswith("import gym\n")


def test_cli_syntax_error_is_one_line_with_file_and_line(tmp_path):
    (tmp_path / "broken.py").write_text("import ray\nconfig = {'lr': 0.1\nprint(config)\n")
    done = migrate_cli("broken.py", cwd=tmp_path)
    assert done.returncode == 2 and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert (
        len(lines) == 1 and lines[0].startswith("broken.py:2:") and "Traceback" not in done.stderr
    )


def test_builder_chain_and_evaluation_keys_migrate_without_report():
    source = (
        "from ray.rllib.algorithms.ppo import PPOConfig\n"
        "config = (PPOConfig().environment('CartPole-v1').env_runners(num_env_runners=0)\n"
        "          .training(lr=1e-3).evaluation(evaluation_interval=1))\n"
        "config2 = {'lr': 1e-3, 'evaluation_interval': 2,\n"
        "           'evaluation_config': {'explore': False}}\n"
    )
    new, report = migrate_source(source)
    assert report.unmapped == []
    assert "from rlkit.algorithms.ppo import PPOConfig" in new


@pytest.mark.parametrize("time_major", [False, True])
def test_add_time_dimension_takes_rllibs_keywords(time_major):
    from rlkit.models import add_time_dimension

    x = torch.arange(6)
    out = add_time_dimension(x, seq_lens=[2, 1], framework="torch", time_major=time_major)
    expected = [[0, 1, 2], [3, 4, 5]]
    assert out.tolist() == (np.array(expected).T.tolist() if time_major else expected)
    with pytest.raises(ValueError, match="PyTorch only"):
        add_time_dimension(x, seq_lens=[2, 1], framework="tf")


def test_keys_that_only_steer_ray_or_logging_are_removed_and_others_reported():
    source = (
        "import ray.rllib.agents.ppo as ppo\n"
        "from ray.rllib.algorithms.ppo import PPOConfig\n"
        "config = ppo.DEFAULT_CONFIG.copy()\n"
        'config["log_level"] = "WARN"\n'
        'c2 = {"lr": 1e-3, "num_cpus_per_worker": 1, "kl_coeff": 0.2}\n'
        "algo = (PPOConfig().debugging(log_level='ERROR')\n"
        "        .resources(num_gpus=0, num_cpus=4)\n"
        "        .training(lr=1e-3, kl_coeff=0.3))\n"
    )
    new, report = migrate_source(source)
    assert "log_level" not in new and "num_cpus" not in new
    assert ".resources(num_gpus=0)" in new and ".debugging()" in new
    done = "\n".join(report.rewrites)
    assert "line 4: removed config['log_level']" in done and "line 7: removed num_cpus=" in done
    todo = "\n".join(report.unmapped)
    assert "line 5: config key 'kl_coeff': rlkit's PPO has no KL penalty" in todo
    assert "line 8: config key 'kl_coeff'" in todo


def test_an_env_on_the_old_gym_package_is_refused_with_what_to_write():
    from rlkit.envs import make_env

    OldBase = type("Env", (), {"__module__": "gym.core"})  # stands in for gym.Env
    OldEnv = type("OldEnv", (OldBase,), {"__module__": "__main__"})
    with pytest.raises(TypeError, match="OldEnv subclasses the old 'gym' package's Env.*gymnasium"):
        make_env(OldEnv)
    with pytest.raises(TypeError, match="returned OldEnv, not a gymnasium.Env; .*rlkit migrate"):
        from rlkit.envs import register_env

        register_env("old_gym_env", lambda config: OldEnv())
        make_env("old_gym_env")
