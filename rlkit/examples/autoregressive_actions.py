"""Autoregressive action distribution: sample a2 conditioned on the sampled a1.

What the seed says, in plain words: with an action made of parts, ``Tuple(a1, a2)``, the
default distribution samples the parts independently. When a2 should depend on a1,
``a2 ~ P(a2 | a1, obs)``, two pieces work together:

- a custom *model* whose output is not logits but a *context* vector encoding the
  observation, plus an ``action_model(context, a1)`` that returns the logits of a1 and of a2
  given a1;
- a custom *distribution* that calls ``model.action_model``: sampling an N-part action takes
  N passes (a1 first, then a2 given the sampled a1), while ``logp`` of a known action takes
  one pass, because a1 is known and can be fed in directly.

    P(a1, a2 | obs) = P(a1 | context) * P(a2 | a1, context),  context = tanh(W obs)  [B, 16]

The env is ``CorrelatedActionsEnv`` (obs: a random bit; +5 when a1 equals the bit, +5 when a2
equals a1; 21 steps, so 210 at best).

Run it:  python -m rlkit.examples.autoregressive_actions
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import torch

import rlkit.examples.envs  # noqa: F401  (registers CorrelatedActionsEnv)
from rlkit.catalog import ModelCatalog
from rlkit.distributions import ActionDistribution, Categorical
from rlkit.examples.common import example_parser, make_trainer, train
from rlkit.models import Model
from rlkit.models.fcnet import linear

CONTEXT_SIZE = 16
BINARY_PAIR = gym.spaces.Tuple((gym.spaces.Discrete(2), gym.spaces.Discrete(2)))


class AutoregressiveActionModel(Model):
    """Outputs a context ``[B, 16]``; ``action_model`` maps (context, a1) to both logits.

        obs_flat [B, F] -> Linear+tanh -> context [B, 16]      (forward's output)
        context -> value Linear -> [B]
        action_model(context [B, 16], a1 [B, 1]):
            a1_logits = Linear(context)                         [B, 2]
            a2_logits = Linear(tanh(Linear([context, a1])))     [B, 2]

    a2 reads both a1 and the context, ``P(a2 | a1, obs)``, the form the seed recommends
    (its minimal example feeds a1 alone).
    """

    def __init__(self, obs_space, action_space, num_outputs, model_config, name, a2_hidden=16):
        super().__init__(obs_space, action_space, num_outputs, model_config, name)
        if action_space != BINARY_PAIR:
            raise ValueError(
                f"AutoregressiveActionModel '{name}' supports Tuple(Discrete(2), Discrete(2)) "
                f"actions only; got {action_space}"
            )
        self.context_layer = linear(int(np.prod(obs_space.shape)), num_outputs)
        self.value_head = linear(num_outputs, 1)
        self.a1_logits = linear(num_outputs, 2, 0.01)
        self.a2_hidden = linear(num_outputs + 1, a2_hidden)
        self.a2_logits = linear(a2_hidden, 2, 0.01)
        self._context = None

    def forward(self, input_dict, state, seq_lens):
        """A context vector for the distribution to sample from.

        Shapes: input_dict["obs_flat"] [B, F] -> context [B, 16]; state passed through ([]).
        """
        # Normally "logits"; for an autoregressive distribution, a context to sample from.
        self._context = torch.tanh(self.context_layer(input_dict["obs_flat"]))  # [B, 16]
        return self._context, state

    def value_function(self) -> torch.Tensor:
        """Values [B] from the last forward's context."""
        return self.value_head(self._context).squeeze(1)  # [B, 1] -> [B]

    def action_model(self, context: torch.Tensor, a1: torch.Tensor):
        """Logits of a1 and of a2 given ``a1``.

        Args:
            context: ``[B, 16]``, the model's output.
            a1: ``[B, 1]`` float, the first action (zeros when only a1's logits are wanted).

        Returns:
            (a1_logits ``[B, 2]``, a2_logits ``[B, 2]``).
        """
        a2_hidden = torch.tanh(self.a2_hidden(torch.cat([context, a1], dim=1)))  # [B, 17] -> [B, H]
        return self.a1_logits(context), self.a2_logits(a2_hidden)


class BinaryAutoregressiveDistribution(ActionDistribution):
    """``P(a1, a2) = P(a1) * P(a2 | a1)``, read through ``model.action_model``.

    Actions: ``sample()`` returns the tuple ``(a1 [B], a2 [B])`` int64 (the trainer stores it
    flattened, ``[B, 2]`` float32); ``logp`` takes either form.
    """

    @staticmethod
    def required_model_output_shape(action_space, model_config):
        """The context width the model must output (its num_outputs)."""
        return CONTEXT_SIZE  # the context width: this sets the model's num_outputs

    def _a1_distribution(self) -> Categorical:
        zeros = torch.zeros(self.inputs.shape[0], 1, device=self.inputs.device)  # a1 unknown yet
        a1_logits, _ = self.model.action_model(self.inputs, zeros)
        return Categorical(a1_logits)

    def _a2_distribution(self, a1: torch.Tensor) -> Categorical:
        a1_vec = a1.float().unsqueeze(1)  # [B] -> [B, 1]
        _, a2_logits = self.model.action_model(self.inputs, a1_vec)
        return Categorical(a2_logits)

    def _sample(self, deterministic: bool):
        # Two passes: a1 first, then a2 from a distribution that saw the sampled a1.
        a1_dist = self._a1_distribution()
        a1 = a1_dist.deterministic_sample() if deterministic else a1_dist.sample()  # [B]
        a2_dist = self._a2_distribution(a1)
        a2 = a2_dist.deterministic_sample() if deterministic else a2_dist.sample()  # [B]
        # Kept from the sampling passes, so tests can compare it with the one-pass logp.
        self._sampled_logp = a1_dist.logp(a1) + a2_dist.logp(a2)
        return a1, a2

    def sample(self):
        """Draw a1, then a2 given a1: a tuple of two [B] int64 tensors."""
        return self._sample(deterministic=False)

    def deterministic_sample(self):
        """The most likely a1, then the most likely a2 given it: a tuple of two [B] int64."""
        return self._sample(deterministic=True)

    def sampled_action_logp(self) -> torch.Tensor:
        """Log-probability of the last sample, as the sampling passes computed it: ``[B]``."""
        if getattr(self, "_sampled_logp", None) is None:
            raise RuntimeError(
                "BinaryAutoregressiveDistribution.sampled_action_logp() needs an action: call "
                "sample() or deterministic_sample() first"
            )
        return self._sampled_logp

    def logp(self, actions):
        """One pass: a1 is known, so both logits come from a single action_model call."""
        if isinstance(actions, (tuple, list)):
            actions = torch.stack([torch.as_tensor(a) for a in actions], dim=1)  # 2 x [B] -> [B, 2]
        actions = torch.as_tensor(actions, device=self.inputs.device).long()  # [B, 2]
        a1, a2 = actions[:, 0], actions[:, 1]
        a1_logits, a2_logits = self.model.action_model(self.inputs, a1.float().unsqueeze(1))
        return Categorical(a1_logits).logp(a1) + Categorical(a2_logits).logp(a2)  # [B]

    def entropy(self):
        """Exact: H(a1) + sum over a1 of P(a1) * H(a2 | a1) (two values of a1 to enumerate)."""
        a1_dist = self._a1_distribution()
        probs = a1_dist.log_probs.exp()  # [B, 2]
        entropy = a1_dist.entropy()
        for value in (0, 1):
            a1 = torch.full((self.inputs.shape[0],), value, device=self.inputs.device)
            entropy = entropy + probs[:, value] * self._a2_distribution(a1).entropy()
        return entropy  # [B]

    # kl is left out on purpose: the inputs are a context, not the distribution's parameters,
    # so two contexts from different model weights cannot be compared through one
    # action_model. PPO then reports the sample estimate mean(logp_old - logp) instead.


ModelCatalog.register_custom_model("autoregressive_model", AutoregressiveActionModel)
ModelCatalog.register_custom_action_dist("binary_autoreg_dist", BinaryAutoregressiveDistribution)


def config(seed: int = 0) -> dict:
    """A trainer config with the autoregressive model and distribution registered above."""
    return {
        "seed": seed,
        "model": {
            "custom_model": "autoregressive_model",
            "custom_action_dist": "binary_autoreg_dist",
        },
        # Every reward follows from this step's action alone: a short horizon keeps values
        # (and the value loss, which shares the context layer) small and advantages clean.
        "gamma": 0.5,
        "lr": 1e-3,
    }


def main(argv=None) -> list[dict]:
    """Train on CorrelatedActionsEnv from the command line; returns every result."""
    args = example_parser(__doc__, ["PPO", "A2C", "PG"], 200.0, 200_000).parse_args(argv)
    trainer = make_trainer(args.algo, "CorrelatedActionsEnv", config(args.seed))
    print(trainer.get_policy().explain())
    return train(trainer, args.stop_reward, args.stop_timesteps)


if __name__ == "__main__":
    main()
