"""The speed-ups keep behaviour: Categorical draws, rollout values, clipping, the quick path."""

import copy

import gymnasium as gym
import numpy as np
import pytest
import torch

from rlkit.algorithms import PPO
from rlkit.distributions import Categorical
from rlkit.engines.learner import FusedAdam, clip_grad_norm


def test_categorical_sample_draws_what_torch_categorical_draws(seed):
    logits = torch.randn(64, 5) * 3
    dist = Categorical(logits)
    torch.manual_seed(7)
    ours = dist.sample()
    torch.manual_seed(7)
    theirs = torch.distributions.Categorical(logits=dist.log_probs).sample()
    assert torch.equal(ours, theirs)
    assert torch.equal(dist.sampled_action_logp(), dist.logp(ours))


@pytest.mark.parametrize("share", [False, True])  # one pass afterwards / each step's forward
def test_sampler_values_equal_a_forward_per_row(seed, share):
    model = {"fcnet_hiddens": [8], "vf_share_layers": share}
    trainer = PPO(env="CartPole-v1", config={"seed": 0, "num_envs": 3, "model": model})
    assert trainer.get_policy().model.value_shares_forward() is share
    batch = trainer.sampler.sample(6)
    model = trainer.get_policy().model
    with torch.inference_mode():
        rows = []
        for obs in batch["obs"]:
            model({"obs": torch.as_tensor(obs)}, [], None)
            rows.append(model.value_function().numpy())
    np.testing.assert_allclose(batch["vf_preds"], np.stack(rows), rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(batch["next_vf"][:-1], batch["vf_preds"][1:])
    last = trainer.get_policy().preprocess(trainer.sampler.obs, update_filter=False)
    with torch.inference_mode():  # the last row's next value: V(the obs the envs are at now)
        model({"obs": torch.as_tensor(last)}, [], None)
        now = model.value_function().numpy()
    np.testing.assert_allclose(batch["next_vf"][-1], now, rtol=1e-6, atol=1e-7)


def test_clip_grad_norm_matches_torch(seed):
    net_a, net_b = torch.nn.Linear(4, 3), torch.nn.Linear(4, 3)
    net_b.load_state_dict(net_a.state_dict())
    x = torch.randn(8, 4) * 10
    for net in (net_a, net_b):
        net(x).pow(2).sum().backward()
    ours = clip_grad_norm(list(net_a.parameters()), 0.5)
    theirs = torch.nn.utils.clip_grad_norm_(net_b.parameters(), 0.5)
    assert ours == float(theirs) > 0.5  # the norm before, and it did clip
    for p, q in zip(net_a.parameters(), net_b.parameters()):
        assert torch.equal(p.grad, q.grad)  # the same float32 scale, bit for bit


def test_clip_grad_norm_leaves_small_gradients_alone(seed):
    net = torch.nn.Linear(4, 3)
    net(torch.randn(8, 4) * 1e-3).sum().backward()
    before = [p.grad.clone() for p in net.parameters()]
    norm = clip_grad_norm(list(net.parameters()), 100.0)
    assert norm == pytest.approx(float(torch.cat([g.reshape(-1) for g in before]).norm()))
    for p, b in zip(net.parameters(), before):
        assert torch.equal(p.grad, b)


def test_fused_adam_steps_weights_as_torch_adam_bit_for_bit(seed):
    """The short step of FusedAdam and torch's own Adam(fused=True) give the same weights."""
    nets = [torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.Tanh(), torch.nn.Linear(16, 2))]
    nets.append(copy.deepcopy(nets[0]))
    ours = FusedAdam(nets[0].parameters(), lr=1e-2, eps=1e-5, fused=True)
    theirs = torch.optim.Adam(nets[1].parameters(), lr=1e-2, eps=1e-5, fused=True)
    calls = []
    ours.register_step_post_hook(lambda opt, args, kwargs: calls.append(1))
    x = torch.randn(32, 4)
    for i in range(6):
        for opt in (ours, theirs):
            opt.param_groups[0]["lr"] = 1e-2 / (i + 1)  # schedules write the group's lr
        for net, opt in zip(nets, (ours, theirs)):
            opt.zero_grad(set_to_none=True)
            net(x).pow(2).mean().backward()
            opt.step()
    assert len(calls) == 6  # torch's hooks still run around the short step
    for p, q in zip(nets[0].parameters(), nets[1].parameters()):
        assert torch.equal(p, q)
    assert ours.state_dict()["state"][0]["step"] == theirs.state_dict()["state"][0]["step"] == 6


def test_compute_single_action_quick_path_matches_compute_actions(seed):
    trainer = PPO(env="CartPole-v1", config={"seed": 0, "model": {"fcnet_hiddens": [8]}})
    obs, _ = gym.make("CartPole-v1").reset(seed=3)
    actions, _, _ = trainer.get_policy().compute_actions(
        obs[None], explore=False, update_filter=False
    )
    assert trainer.compute_single_action(obs) == int(actions[0])
