"""The README's run-records examples (and docs/RECORDS.md's torch-alone one) run as written:
two logged runs, their pandas comparison (the numbers the README prints), an export and a GIF,
and the exported policy run by onnxruntime and by torch in a Python that never imports rlkit."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from rlkit.records.runs import load_results

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def blocks(path: Path) -> dict[str, str]:
    """The python blocks of a markdown file whose first line is ``# records: <name>``."""
    found = re.findall(r"```python\n# records: ([^\n]+)\n(.*?)```", path.read_text(), re.S)
    return {name: code for name, code in found}


def run_without_rlkit(code: str, cwd: Path) -> str:
    """Run ``code`` in a fresh, isolated Python; fail if rlkit was imported. Returns stdout."""
    check = "\nimport sys\nassert 'rlkit' not in sys.modules, 'the snippet imported rlkit'\n"
    done = subprocess.run(
        [sys.executable, "-I", "-c", code + check],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_readme_run_records_run_as_written(tmp_path, monkeypatch, capsys):
    code = blocks(ROOT / "README.md")
    assert set(code) == {
        "log two runs",
        "compare with pandas",
        "export and record",
        "run the exported policy without rlkit",
    }
    monkeypatch.chdir(tmp_path)
    exec(code["log two runs"], {})
    exec(code["compare with pandas"], {})
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].split() == ["lr3e-4", "lr3e-3"]
    rows = [line.split() for line in printed[2:]]
    runs = {name: load_results(tmp_path / "runs" / f"ppo_{name}") for name in ("lr3e-4", "lr3e-3")}
    assert [int(r[0]) for r in rows] == list(range(1, 9))
    for column, name in ((1, "lr3e-4"), (2, "lr3e-3")):
        logged = [r["episode_reward_mean"] for r in runs[name]]
        np.testing.assert_allclose([float(r[column]) for r in rows], logged, atol=0.051)
        assert logged[-1] > logged[0] + 15  # both learn within 8 iterations (random: ~22)

    exec(code["export and record"], {})
    action = int(capsys.readouterr().out.strip().splitlines()[-1])
    assert sorted(p.name for p in (tmp_path / "exported").iterdir()) == [
        "model.onnx",
        "model.pt",
        "policy_spec.json",
    ]
    with Image.open(tmp_path / "cartpole.gif") as gif:
        assert gif.n_frames > 10 and gif.size == (240, 160)
    printed = run_without_rlkit(code["run the exported policy without rlkit"], tmp_path)
    assert int(printed.strip()) == action


def test_docs_torch_alone_gives_compute_single_actions_action(tmp_path):
    from rlkit.algorithms import PPO

    config = {"seed": 0, "num_envs": 2, "observation_filter": "MeanStdFilter"}
    trainer = PPO(env="Pendulum-v1", config=config)
    for _ in range(2):
        trainer.train()
    trainer.export_policy_model(str(tmp_path / "exported_pendulum"))
    expected = trainer.compute_single_action(np.array([0.6, 0.8, -1.5], np.float32))
    trainer.stop()
    code = blocks(ROOT / "docs" / "RECORDS.md")["torch alone"]
    printed = run_without_rlkit(code, tmp_path)
    got = np.array(json.loads(re.sub(r"\s+", ",", printed.strip().replace("[,", "["))))
    np.testing.assert_allclose(got.ravel(), np.ravel(expected), rtol=1e-5, atol=1e-5)
