"""The RLlib-era script corpus (tests/rllib_corpus/, README.md there): each script is migrated
with ``python -m rlkit migrate``'s rewrite and run as written, with a tiny budget given on its
own command line (``--stop-iters 2``). No hand edits: the migration report must list nothing
left to do, and the script must run to its last line.

The one replacement, done here and nowhere else: ``sumo_a2c_lstm.py`` needs SUMO (a traffic
simulator and its ``traci`` bindings), which cannot be installed here; ``sumo_stub_modules``
puts a small ``sumo_rl.SumoEnvironment`` (same constructor keywords, a gymnasium env with
four signal phases and a hidden queue) and ``traci.trafficlight.Phase`` in ``sys.modules``
and points ``SUMO_HOME`` at a temporary folder.
"""

from __future__ import annotations

import collections
import runpy
import sys
import tempfile
import types
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from rlkit.migrate.rewrite import migrate_source

CORPUS = Path(__file__).resolve().parent / "rllib_corpus"

# script -> a line its last print writes (a regex), proving it ran to the end.
SCRIPTS = {
    "bloodbank_action_mask.py": r"^model: TorchActionMaskModel$",
    "multigrid_complex_input.py": r"^1 \S+ \d+$",
    "multigrid_lstm.py": r"^first action: [01]$",
    "pcgrl_conv_old_gym.py": r"^rollout return -?\d",
    "sumo_a2c_lstm.py": r"^training_iteration: 2$",
    "pistonball_cnn_ppoconfig.py": r"^policy outputs per worker: \[2\]$",
    "leduc_masked_dqn.py": r"^greedy action: [012]$",
    "custom_loss_pg.py": r"^exported policy_state.pt$",
}


class SumoEnvironment(gym.Env):
    """Stand-in for sumo_rl's SumoEnvironment: pick the green phase of a crossing whose
    queues the agent sees only through the phase it chose and the last reward."""

    def __init__(
        self,
        net_file,
        route_file,
        out_csv_name=None,
        single_agent=True,
        use_gui=False,
        num_seconds=20000,
        phases=None,
        **kwargs,
    ):
        self.phases = phases or []
        self.horizon = max(1, num_seconds // 40)
        self.observation_space = gym.spaces.Box(0.0, 1.0, (len(self.phases) + 1,), np.float32)
        self.action_space = gym.spaces.Discrete(len(self.phases))

    def _obs(self):
        obs = np.zeros(len(self.phases) + 1, np.float32)
        obs[self.phase] = 1.0
        obs[-1] = self.t / self.horizon
        return obs

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.queues = self.np_random.uniform(0, 1, len(self.phases))
        self.phase, self.t = 0, 0
        return self._obs(), {}

    def step(self, action):
        self.phase, self.t = int(action), self.t + 1
        self.queues += self.np_random.uniform(0, 0.3, len(self.phases))
        self.queues[self.phase] = max(0.0, self.queues[self.phase] - 0.8)
        return self._obs(), -float(self.queues.sum()), False, self.t >= self.horizon, {}


@pytest.fixture
def sumo_stub_modules(monkeypatch, tmp_path):
    """SUMO's Python packages, replaced (see the module docstring)."""
    sumo_rl = types.ModuleType("sumo_rl")
    sumo_rl.SumoEnvironment = SumoEnvironment
    traci = types.ModuleType("traci")
    traci.trafficlight = types.SimpleNamespace(
        Phase=collections.namedtuple("Phase", ["duration", "state"])
    )
    monkeypatch.setitem(sys.modules, "sumo_rl", sumo_rl)
    monkeypatch.setitem(sys.modules, "traci", traci)
    monkeypatch.setenv("SUMO_HOME", str(tmp_path))


def test_corpus_readme_lists_every_script():
    readme = (CORPUS / "README.md").read_text()
    scripts = sorted(p.name for p in CORPUS.glob("*.py"))
    assert scripts == sorted(SCRIPTS) and len(scripts) >= 8
    for name in scripts:
        assert f"`{name}`" in readme


@pytest.mark.corpus
@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_script_migrates_and_runs_unchanged(name, tmp_path, monkeypatch, capsys, sumo_stub_modules):
    import re

    new, report = migrate_source((CORPUS / name).read_text())
    assert report.unmapped == [], report.text()
    assert "ray" not in re.findall(r"^\s*(?:import|from) (\w+)", new, re.M)
    script = tmp_path / name
    script.write_text(new)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RLKIT_RESULTS_DIR", str(tmp_path / "results"))
    (tmp_path / "tmp").mkdir()  # the scripts' tempfile.mkdtemp() folders, removed with tmp_path
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    monkeypatch.setattr(sys, "argv", [str(script), "--stop-iters", "2"])
    runpy.run_path(str(script), run_name="__main__")
    out = capsys.readouterr().out
    assert re.search(SCRIPTS[name], out, re.M), out[-2000:]
