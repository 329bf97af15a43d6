"""Custom action distribution: your own last stage, from model outputs to actions.

What the seed says, in plain words: subclass ``ActionDistribution``, give it a static
``required_model_output_shape(action_space, model_config)`` (that number becomes the model's
``num_outputs``: the distribution decides how wide the model's output is), implement
``sample``, ``logp`` and ``entropy``, register it with
``ModelCatalog.register_custom_action_dist`` and name it as ``"custom_action_dist"``. The
distribution is built as ``dist_class(inputs, model)``: it gets the model, so it can read
``model.model_config`` or any attribute of the model (the autoregressive example calls the
model's layers).

``TemperatureCategorical`` is a softmax over ``logits / temperature``. The temperature is
read from ``model.model_config["custom_model_config"]["temperature"]``: one config entry sets
up both the model and its distribution. Below 1 the policy is greedier, above 1 it explores
more.

Run it:  python -m rlkit.examples.custom_action_dist --temperature 0.7
"""

from __future__ import annotations

import gymnasium as gym
import torch

from rlkit.catalog import ModelCatalog
from rlkit.distributions import ActionDistribution
from rlkit.examples.common import example_parser, make_trainer, train
from rlkit.examples.custom_model import CustomTorchModel


class TemperatureCategorical(ActionDistribution):
    """Categorical over ``inputs / temperature``.

    Args:
        inputs: ``[B, n]`` logits.
        model: the model that produced them; ``model.model_config["custom_model_config"]
            ["temperature"]`` (default 1.0) sets the temperature.
    """

    @staticmethod
    def required_model_output_shape(action_space, model_config):
        """One logit per action: num_outputs = n."""
        if not isinstance(action_space, gym.spaces.Discrete):
            raise ValueError(
                f"TemperatureCategorical needs a Discrete action space; got {action_space}"
            )
        return int(action_space.n)  # one logit per action: this sets the model's num_outputs

    def __init__(self, inputs, model):
        super().__init__(inputs, model)
        # The seed's `assert model.num_outputs == 7`, as an error that says what to fix.
        if model.num_outputs != inputs.shape[1]:
            raise ValueError(
                f"TemperatureCategorical got inputs [B, {inputs.shape[1]}] from a model with "
                f"num_outputs={model.num_outputs}; the model must output one logit per action"
            )
        self.temperature = float(model.model_config["custom_model_config"].get("temperature", 1.0))
        if not self.temperature > 0:
            raise ValueError(
                f"custom_model_config 'temperature' must be > 0; got {self.temperature}"
            )
        self.log_probs = torch.log_softmax(inputs / self.temperature, dim=1)  # [B, n]

    def sample(self):
        """Draw one action per row: [B] int64."""
        return self._record(torch.multinomial(self.log_probs.exp(), 1).squeeze(1))  # [B] int64

    def deterministic_sample(self):
        """The most likely action per row: [B] int64."""
        return self._record(self.log_probs.argmax(dim=1))  # [B]

    def logp(self, actions):
        """Log-probabilities [B] of ``actions: [B]`` under the tempered softmax."""
        actions = torch.as_tensor(actions, device=self.log_probs.device).long()  # [B]
        return self.log_probs.gather(1, actions[:, None]).squeeze(1)  # [B, 1] -> [B]

    def entropy(self):
        """Entropy per row: [B]."""
        return -(self.log_probs.exp() * self.log_probs).sum(dim=1)  # [B]

    def kl(self, other):
        """KL(self || other) per row: [B]."""
        return (self.log_probs.exp() * (self.log_probs - other.log_probs)).sum(dim=1)  # [B]


class TemperatureModel(CustomTorchModel):
    """custom_model.py's model, also accepting the ``temperature`` its distribution reads."""

    def __init__(
        self,
        obs_space,
        action_space,
        num_outputs,
        model_config,
        name,
        temperature=1.0,
        hiddens=(64, 64),
    ):
        super().__init__(obs_space, action_space, num_outputs, model_config, name, hiddens)
        # The distribution reads the same value from model_config; keeping it here shows it
        # in print(model) and lets a notebook check what the policy was built with.
        self.temperature = temperature


ModelCatalog.register_custom_action_dist("temperature_categorical", TemperatureCategorical)
ModelCatalog.register_custom_model("temperature_model", TemperatureModel)


def config(temperature: float = 1.0, seed: int = 0) -> dict:
    """A trainer config with the tempered distribution at ``temperature``."""
    return {
        "seed": seed,
        "model": {
            "custom_model": "temperature_model",
            "custom_model_config": {"temperature": temperature},
            "custom_action_dist": "temperature_categorical",
        },
    }


def main(argv=None) -> list[dict]:
    """Train with the custom distribution from the command line; returns every result."""
    parser = example_parser(__doc__, ["PPO", "A2C", "PG"], 195.0, 200_000)
    parser.add_argument("--temperature", type=float, default=1.0)
    args = parser.parse_args(argv)
    trainer = make_trainer(args.algo, "CartPole-v1", config(args.temperature, args.seed))
    print(trainer.get_policy().explain())
    return train(trainer, args.stop_reward, args.stop_timesteps)


if __name__ == "__main__":
    main()
