"""docs/DESIGN.md's recipes, each followed once: a toy component added exactly as the recipe says.

If a recipe stops working (a step is missing, a hook was renamed), its test here fails.
"""

from __future__ import annotations

import copy

import gymnasium as gym
import ipywidgets as widgets
import numpy as np
import pytest
import torch
from torch import nn

from rlkit import ModelCatalog
from rlkit.algorithms import PPO
from rlkit.algorithms.config.keys import Key, defaults, table
from rlkit.algorithms.onpolicy import OnPolicyAlgorithm
from rlkit.algorithms.pg import reward_to_go
from rlkit.distributions import ActionDistribution
from rlkit.models import Model

TINY = {
    "num_envs": 2,
    "rollout_fragment_length": 16,
    "train_batch_size": 32,
    "sgd_minibatch_size": 16,
    "num_sgd_iter": 1,
    "seed": 0,
}


# -- Recipe: a new action distribution -------------------------------------------------------
class BernoulliDistribution(ActionDistribution):
    """Discrete(2) actions from ONE logit: P(action = 1) = sigmoid(logit)."""

    @staticmethod
    def required_model_output_shape(action_space, model_config):
        """One logit, whatever the config."""
        return 1

    def _p1(self) -> torch.Tensor:
        return torch.sigmoid(self.inputs[:, 0])  # [B, 1] -> [B]

    def sample(self):
        """[B] int64 draws."""
        return self._record(torch.bernoulli(self._p1()).long())

    def deterministic_sample(self):
        """[B] int64, 1 where P(1) > 0.5."""
        return self._record((self._p1() > 0.5).long())

    def logp(self, actions):
        """[B] log-probabilities of ``actions: [B]``."""
        logit = self.inputs[:, 0]
        return torch.where(
            actions.long() == 1, nn.functional.logsigmoid(logit), nn.functional.logsigmoid(-logit)
        )

    def entropy(self):
        """[B] entropies."""
        p = self._p1()
        return -(p * p.clamp_min(1e-12).log() + (1 - p) * (1 - p).clamp_min(1e-12).log())

    def kl(self, other):
        """[B] KL(self || other)."""
        p, q = self._p1(), other._p1()
        return p * (p / q).log() + (1 - p) * ((1 - p) / (1 - q)).log()


def test_recipe_new_distribution_closed_forms_and_one_training_iteration():
    ModelCatalog.register_custom_action_dist("bernoulli", BernoulliDistribution)
    dist = BernoulliDistribution(torch.tensor([[0.0], [np.log(3.0)]], dtype=torch.float32), None)
    # sigmoid(0) = 1/2, sigmoid(log 3) = 3/4: closed forms of logp and entropy.
    assert torch.allclose(dist.logp(torch.tensor([1, 1])), torch.log(torch.tensor([0.5, 0.75])))
    h = torch.tensor([np.log(2.0), -(0.75 * np.log(0.75) + 0.25 * np.log(0.25))]).float()
    assert torch.allclose(dist.entropy(), h)
    actions = dist.sample()
    assert torch.equal(dist.sampled_action_logp(), dist.logp(actions))

    trainer = PPO(
        env="CartPole-v1",
        config={**TINY, "model": {"custom_action_dist": "bernoulli", "fcnet_hiddens": [8]}},
    )
    policy = trainer.get_policy()
    assert policy.dist_class is BernoulliDistribution and policy.num_outputs == 1
    assert "BernoulliDistribution" in policy.explain()
    result = trainer.train()
    assert result["timesteps_total"] > 0 and np.isfinite(result["total_loss"])


# -- Recipe: a new model ---------------------------------------------------------------------
class LinearModel(Model):
    """Logits and value as linear functions of the observation (no hidden layer)."""

    def __init__(self, obs_space, action_space, num_outputs, model_config, name):
        super().__init__(obs_space, action_space, num_outputs, model_config, name)
        in_size = int(np.prod(obs_space.shape))
        self.logits = nn.Linear(in_size, num_outputs)
        self.value = nn.Linear(in_size, 1)
        self._obs = None

    def forward(self, input_dict, state, seq_lens):
        """Shapes: obs_flat [B, F] -> logits [B, num_outputs]."""
        self._obs = input_dict["obs_flat"]
        return self.logits(self._obs), state

    def value_function(self):
        """Values [B] of the last forward's observations."""
        return self.value(self._obs).squeeze(1)  # [B, 1] -> [B]


def test_recipe_new_model_is_built_checked_and_trained():
    ModelCatalog.register_custom_model("linear", LinearModel)
    trainer = PPO(env="CartPole-v1", config={**TINY, "model": {"custom_model": "linear"}})
    model = trainer.get_policy().model
    assert type(model) is LinearModel  # the user's class ran, no fallback
    before = model.logits.weight.detach().clone()
    trainer.train()
    assert not torch.equal(before, model.logits.weight)  # PPO's step reached its parameters
    obs = torch.zeros(3, 4)
    out, _ = model({"obs": obs}, [], None)
    assert out.shape == (3, 2) and model.value_function().shape == (3,)
    assert "custom model 'linear'" in trainer.get_policy().explain()


# -- Recipe: a new algorithm -----------------------------------------------------------------
class MeanBaselinePG(OnPolicyAlgorithm):
    """REINFORCE with reward-to-go and the batch mean as baseline (a toy of the recipe)."""

    KEYS = (Key("baseline", True, "subtract the batch mean of the returns", "bool"),)
    DEFAULT_CONFIG = defaults(table(OnPolicyAlgorithm.KEYS, KEYS))
    needs_value = False

    def training_step(self) -> dict[str, float]:
        """Sample, returns, one gradient step on the whole batch."""
        batch = self.sample(self.steps_per_env)
        returns = reward_to_go(batch, self.config["gamma"])  # [T, E]
        lb = self.learner_batch(batch, returns, returns)
        return self.learn(lb, 1, None)

    def loss(self, mb, dist, values):
        """-mean(logp(a) * (G - mean G)). Shapes: every column [N]; returns a scalar."""
        returns = mb["advantages"]
        if self.config["baseline"]:
            returns = returns - returns.mean()
        policy_loss = -(dist.logp(mb["actions"]) * returns).mean()
        self.last_loss_inputs = (mb, returns)
        return policy_loss, {"policy_loss": policy_loss.detach()}


def test_recipe_new_algorithm_runs_its_own_loss_and_checks_its_keys():
    config = {"num_envs": 2, "rollout_fragment_length": 16, "seed": 0, "baseline": True}
    trainer = MeanBaselinePG(env="CartPole-v1", config=config)
    before = [p.detach().clone() for p in trainer.get_policy().model.parameters()]
    result = trainer.train()
    assert result["engine"] == "torch"  # a new loss has no numpy twin: torch runs it
    mb, centred = trainer.last_loss_inputs
    assert abs(float(centred.mean())) < 1e-5  # its own loss ran, with its own key
    after = list(trainer.get_policy().model.parameters())
    assert any(not torch.equal(b, a) for b, a in zip(before, after))
    with pytest.raises(ValueError, match="baseline"):
        MeanBaselinePG(env="CartPole-v1", config={"baseline": "yes"})


# -- Recipe: a new widget --------------------------------------------------------------------
def action_probabilities(policy, obs) -> np.ndarray:
    """The plain function first: P(a | obs) [n] of a Categorical policy, from trace()."""
    stage = next(s for s in policy.trace(obs) if s.name == "distribution")  # by name
    return stage.details["probs"]


class ActionProbabilities(widgets.VBox):
    """A toy widget: a button that draws a CartPole observation and shows P(a | obs)."""

    def __init__(self, policy):
        self.policy = copy.deepcopy(policy)  # a view never touches the trainer's model
        self.env = gym.make("CartPole-v1")
        self.button = widgets.Button(description="new observation")
        self.table = widgets.HTML("press the button")
        self.button.on_click(self._draw)
        self._seed = 0
        super().__init__([self.button, self.table])

    def _draw(self, _=None) -> None:
        self.obs, _ = self.env.reset(seed=self._seed)
        self._seed += 1
        probs = action_probabilities(self.policy, self.obs)
        self.table.value = " ".join(f"P({a})={p:.3f}" for a, p in enumerate(probs))


def test_recipe_new_widget_shows_the_policy_s_probabilities_without_touching_it():
    trainer = PPO(env="CartPole-v1", config={**TINY, "model": {"fcnet_hiddens": [8]}})
    policy = trainer.get_policy()
    view = ActionProbabilities(policy)
    view.button.click()  # drive it as a student would
    obs = torch.as_tensor(view.obs[None], dtype=torch.float32)
    logits, _ = policy.model({"obs": obs}, [], None)
    expected = torch.softmax(logits, dim=1)[0].detach().numpy()  # numpy reference
    shown = [float(part.split("=")[1]) for part in view.table.value.split()]
    assert np.allclose(shown, expected, atol=1e-3)
    assert view.policy.model is not policy.model
