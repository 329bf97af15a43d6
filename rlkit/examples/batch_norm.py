"""Batch norm: layers that behave differently while learning and while acting.

What the seed says, in plain words: a custom model may use batch normalization, switched by
``input_dict["is_training"]``. In training mode a BatchNorm layer normalises with the
statistics of the current batch and updates its *running* mean and variance; in evaluation
mode it normalises with those running statistics and leaves them alone.

rlkit does the switching for you: calling a model puts it in ``train()`` mode exactly when
``input_dict["is_training"]`` is true. The trainers pass ``is_training=True`` in the learning
pass and ``False`` while sampling actions, so

- the running statistics change during learning (one update per minibatch), and
- they stay frozen while the policy samples (the statistics are not moved by whichever
  states the envs happen to visit, and one env's observation does not change another's
  action).

``bn_stats(model)`` reads the statistics so you can watch both happen.

Run it:  python -m rlkit.examples.batch_norm
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from rlkit.catalog import ModelCatalog
from rlkit.examples.common import example_parser, make_trainer, train
from rlkit.models import Model
from rlkit.models.fcnet import linear


class BatchNormModel(Model):
    """Two hidden layers, each Linear -> BatchNorm1d -> ReLU; a shared value head.

        obs_flat [B, F] -> [Linear -> BatchNorm1d -> ReLU] x len(hiddens) -> features [B, H]
            -> logits Linear [B, num_outputs];  value Linear [B, 1] -> [B]

    Args:
        hiddens: widths of the hidden layers (``custom_model_config``).
    """

    def __init__(self, obs_space, action_space, num_outputs, model_config, name, hiddens=(64, 64)):
        super().__init__(obs_space, action_space, num_outputs, model_config, name)
        layers: list[nn.Module] = []
        in_size = int(np.prod(obs_space.shape))
        for width in hiddens:
            # ReLU, not tanh, after the normalisation: unit-variance inputs push a tanh into
            # its flat ends often enough to slow learning (PPO took twice the steps here).
            layers += [linear(in_size, width), nn.BatchNorm1d(width), nn.ReLU()]
            in_size = width
        self.hidden = nn.Sequential(*layers)
        self.logits = linear(in_size, num_outputs, 0.01)
        self.value_head = linear(in_size, 1)
        self._features = None

    def forward(self, input_dict, state, seq_lens):
        """Logits through batch-normalised hidden layers.

        Shapes: input_dict["obs_flat"] [B, F] -> logits [B, num_outputs]; state passed through.
        """
        # Model.__call__ has already called self.train(input_dict["is_training"]), so every
        # BatchNorm1d below uses batch statistics in learning and running ones in sampling.
        self._features = self.hidden(input_dict["obs_flat"])  # [B, F] -> [B, H]
        return self.logits(self._features), state

    def value_function(self) -> torch.Tensor:
        """Values [B] from the last forward's normalised features."""
        return self.value_head(self._features).squeeze(1)  # [B, 1] -> [B]


def bn_stats(model: nn.Module) -> dict[str, torch.Tensor]:
    """Copies of every BatchNorm layer's running mean/var and update count, by layer name."""
    stats = {}
    for name, module in model.named_modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            stats[f"{name}.running_mean"] = module.running_mean.clone()
            stats[f"{name}.running_var"] = module.running_var.clone()
            stats[f"{name}.num_batches_tracked"] = module.num_batches_tracked.clone()
    return stats


def stats_changed(before: dict, after: dict) -> bool:
    """True if any running statistic differs between two ``bn_stats`` snapshots."""
    return any(not torch.equal(before[k], after[k]) for k in before)


ModelCatalog.register_custom_model("bn_model", BatchNormModel)


def config(seed: int = 0) -> dict:
    """A trainer config with the batch-norm model."""
    return {"seed": seed, "model": {"custom_model": "bn_model"}}


def main(argv=None) -> list[dict]:
    """Show that sampling leaves the running statistics alone, then train; returns results."""
    args = example_parser(__doc__, ["PPO", "A2C", "PG"], 195.0, 200_000).parse_args(argv)
    trainer = make_trainer(args.algo, "CartPole-v1", config(args.seed))
    model = trainer.get_policy().model
    before = bn_stats(model)
    trainer.sample()  # acting only: is_training False
    print(f"after sampling, running statistics changed: {stats_changed(before, bn_stats(model))}")
    history = train(trainer, args.stop_reward, args.stop_timesteps)
    after = bn_stats(model)
    print(f"after learning, running statistics changed: {stats_changed(before, after)}")
    tracked = {k: int(v) for k, v in after.items() if k.endswith("num_batches_tracked")}
    print(f"minibatch updates per BatchNorm layer: {tracked}")
    return history


if __name__ == "__main__":
    main()
