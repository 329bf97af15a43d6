"""TensorBoard, started on rlkit's run folders, shows the runs in a real browser (Debian's
Chromium): the README's screenshot is taken the same way (tests/tensorboard_view.py)."""

from __future__ import annotations

import pytest
from PIL import Image
from tensorboard_view import screenshot

from rlkit.algorithms import PG

pytestmark = pytest.mark.browser


def test_tensorboard_shows_the_logged_runs(tmp_path):
    for name, lr in (("pg_small_lr", 1e-4), ("pg_large_lr", 1e-2)):
        options = {"logdir": str(tmp_path / "runs" / name)}
        config = {"num_envs": 2, "seed": 0, "lr": lr, "logger_config": options}
        trainer = PG(env="CartPole-v1", config=config)
        for _ in range(3):
            trainer.train()
        trainer.stop()
    text = screenshot(str(tmp_path / "runs"), str(tmp_path / "tensorboard.png"))
    assert "pg_small_lr" in text and "pg_large_lr" in text
    assert "episode_reward_mean" in text and "entropy" in text
    with Image.open(tmp_path / "tensorboard.png") as png:
        assert png.size == (1280, 760)
        colours = png.convert("RGB").getcolors(maxcolors=1 << 16)
    assert colours is None or len(colours) > 50  # a drawn page, not a blank one
