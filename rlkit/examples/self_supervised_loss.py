"""Self-supervised losses: an autoencoder and an L2 penalty added through ``custom_loss``.

What the seed says, in plain words: ``custom_loss`` is not only for labelled data. A model can
add losses it makes up from its own inputs, such as the reconstruction error of an
autoencoder or an L2 regularisation of its weights, and report them in ``metrics()``.

The policy and value heads read a small code ``z`` of the observation; a decoder tries to
rebuild the observation from ``z``:

    obs_flat [B, F] -> encoder (Linear+tanh, Linear+tanh) -> z [B, latent_size]
        z -> Linear+tanh -> logits Linear [B, num_outputs]
        z -> decoder (Linear+tanh, Linear) -> reconstruction [B, F]
    obs_flat [B, F] -> value branch (its own Linear+tanh x 2) -> value [B]

The value branch has its own layers: the value loss's large gradients would otherwise
dominate the shared code (rlkit's PPO keeps the critic separate by default for that reason).
Observations go through ``MeanStdFilter``, so every reading the decoder must rebuild has
about unit variance however far the cart learns to travel: an error of 1.0 is what
predicting the mean would give.

    total = policy_loss + recon_coeff * mean((reconstruction - obs)^2)
                        + l2_coeff * sum(w^2 over the weight matrices)

The reconstruction error, reported as ``recon_loss``, falls as training goes on: the code
``z`` learns to keep what describes the state, which is also what the policy needs.

Run it:  python -m rlkit.examples.self_supervised_loss
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from rlkit.catalog import ModelCatalog
from rlkit.examples.common import example_parser, make_trainer, train
from rlkit.models import Model
from rlkit.models.fcnet import linear


class AutoencoderModel(Model):
    """Policy and value on an autoencoder's code; reconstruction and L2 losses in custom_loss.

    Args:
        hidden: width of the encoder's and decoder's hidden layer (``custom_model_config``).
        latent_size: width of the code ``z``.
        recon_coeff: weight of the reconstruction loss.
        l2_coeff: weight of the L2 penalty.
    """

    def __init__(
        self,
        obs_space,
        action_space,
        num_outputs,
        model_config,
        name,
        hidden=64,
        latent_size=16,
        recon_coeff=1.0,
        l2_coeff=1e-4,
    ):
        super().__init__(obs_space, action_space, num_outputs, model_config, name)
        obs_size = int(np.prod(obs_space.shape))
        self.encoder = nn.Sequential(
            linear(obs_size, hidden), nn.Tanh(), linear(hidden, latent_size), nn.Tanh()
        )
        self.decoder = nn.Sequential(
            linear(latent_size, hidden), nn.Tanh(), linear(hidden, obs_size)
        )
        self.policy_head = nn.Sequential(
            linear(latent_size, hidden), nn.Tanh(), linear(hidden, num_outputs, 0.01)
        )
        self.value_branch = nn.Sequential(
            linear(obs_size, hidden),
            nn.Tanh(),
            linear(hidden, hidden),
            nn.Tanh(),
            linear(hidden, 1),
        )
        self.recon_coeff, self.l2_coeff = recon_coeff, l2_coeff
        self._obs = None
        self._metrics: dict[str, torch.Tensor] = {}

    def forward(self, input_dict, state, seq_lens):
        """Encode the observation and read the logits from the code.

        Shapes: input_dict["obs_flat"] [B, F] -> code [B, latent] -> logits [B, num_outputs].
        """
        self._obs = input_dict["obs_flat"]  # [B, F]
        z = self.encoder(self._obs)  # [B, F] -> [B, latent]
        return self.policy_head(z), state

    def value_function(self) -> torch.Tensor:
        """Values [B] from the last forward's observations."""
        return self.value_branch(self._obs).squeeze(1)  # [B, 1] -> [B]

    def reconstruction_error(self, obs: torch.Tensor) -> torch.Tensor:
        """Mean squared error of rebuilding ``obs: [B, F]`` from its code; a scalar."""
        return ((self.decoder(self.encoder(obs)) - obs) ** 2).mean()

    def custom_loss(self, policy_loss, loss_inputs):
        """The policy loss plus the autoencoder's reconstruction error and an L2 penalty.

        Shapes: policy_loss [] (scalar); loss_inputs["obs_flat"] [N, F]; returns [].
        """
        # loss_inputs["obs_flat"] is the training batch's observations [N, F]: the targets
        # of the autoencoder cost no labels at all.
        recon_loss = self.reconstruction_error(loss_inputs["obs_flat"])
        # Weight matrices only: penalising biases does not limit how sharp the net is.
        l2_loss = sum(
            (p**2).sum() for name, p in self.named_parameters() if name.endswith("weight")
        )
        self._metrics = {
            "policy_loss": policy_loss.detach(),
            "recon_loss": recon_loss.detach(),
            "l2_loss": l2_loss.detach(),
        }
        return policy_loss + self.recon_coeff * recon_loss + self.l2_coeff * l2_loss

    def metrics(self):
        """The last custom_loss terms (recon_loss, l2_loss), reported by train()."""
        return dict(self._metrics)


ModelCatalog.register_custom_model("autoencoder_model", AutoencoderModel)


def config(seed: int = 0) -> dict:
    """A trainer config with the autoencoder model and a MeanStdFilter."""
    return {
        "seed": seed,
        "observation_filter": "MeanStdFilter",
        "model": {"custom_model": "autoencoder_model"},
    }


def main(argv=None) -> list[dict]:
    """Train on CartPole and report the reconstruction error; returns every result."""
    args = example_parser(__doc__, ["PPO", "A2C", "PG"], 195.0, 200_000).parse_args(argv)
    trainer = make_trainer(args.algo, "CartPole-v1", config(args.seed))
    history = train(trainer, args.stop_reward, args.stop_timesteps, show=("recon_loss", "l2_loss"))
    first, last = history[0]["recon_loss"], history[-1]["recon_loss"]
    print(f"reconstruction error: {first:.4f} in the first iteration, {last:.4f} in the last")
    return history


if __name__ == "__main__":
    main()
