"""The speed-ups keep behaviour: Categorical draws, rollout values, clipping, the quick path."""

import gymnasium as gym
import numpy as np
import torch

from rlkit.algorithms import PPO
from rlkit.distributions import Categorical
from rlkit.engines.learner import clip_grad_norm


def test_categorical_sample_draws_what_torch_categorical_draws(seed):
    logits = torch.randn(64, 5) * 3
    dist = Categorical(logits)
    torch.manual_seed(7)
    ours = dist.sample()
    torch.manual_seed(7)
    theirs = torch.distributions.Categorical(logits=dist.log_probs).sample()
    assert torch.equal(ours, theirs)
    assert torch.equal(dist.sampled_action_logp(), dist.logp(ours))


def test_sampler_values_equal_a_forward_per_row(seed):
    trainer = PPO(
        env="CartPole-v1", config={"seed": 0, "num_envs": 3, "model": {"fcnet_hiddens": [8]}}
    )
    batch = trainer.sampler.sample(6)
    model = trainer.get_policy().model
    with torch.inference_mode():
        rows = []
        for obs in batch["obs"]:
            model({"obs": torch.as_tensor(obs)}, [], None)
            rows.append(model.value_function().numpy())
    np.testing.assert_allclose(batch["vf_preds"], np.stack(rows), rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(batch["next_vf"][:-1], batch["vf_preds"][1:])


def test_clip_grad_norm_matches_torch(seed):
    net_a, net_b = torch.nn.Linear(4, 3), torch.nn.Linear(4, 3)
    net_b.load_state_dict(net_a.state_dict())
    x = torch.randn(8, 4) * 10
    for net in (net_a, net_b):
        net(x).pow(2).sum().backward()
    ours = clip_grad_norm(list(net_a.parameters()), 0.5)
    theirs = torch.nn.utils.clip_grad_norm_(net_b.parameters(), 0.5)
    assert torch.allclose(ours, theirs)
    for p, q in zip(net_a.parameters(), net_b.parameters()):
        assert torch.allclose(p.grad, q.grad)


def test_compute_single_action_quick_path_matches_compute_actions(seed):
    trainer = PPO(env="CartPole-v1", config={"seed": 0, "model": {"fcnet_hiddens": [8]}})
    obs, _ = gym.make("CartPole-v1").reset(seed=3)
    actions, _, _ = trainer.get_policy().compute_actions(
        obs[None], explore=False, update_filter=False
    )
    assert trainer.compute_single_action(obs) == int(actions[0])
