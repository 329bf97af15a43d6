"""The numpy engine (rlkit.engines) computes what the torch engine computes: outputs, values,
actions and their logp, PPO's and A2C's losses, statistics and every parameter's gradient;
and "auto" never chooses it where it would not run the user's model, distribution or loss."""

import gymnasium as gym
import numpy as np
import pytest
import torch

from rlkit import ModelCatalog
from rlkit.algorithms import A2C, PPO
from rlkit.distributions import Categorical, DiagGaussian
from rlkit.engines.numpy.loss import a2c_loss, ppo_loss
from rlkit.engines.numpy.mlp import (
    _TANH_BY_EXP,
    NumpyMLP,
    _tanh,
    log_softmax,
    row_max,
    row_sum,
    sample_categorical,
)
from rlkit.models.fcnet import FullyConnectedNetwork
from rlkit.policy import Policy

BOX4 = gym.spaces.Box(-1.0, 1.0, (4,), np.float32)
CONFIGS = {
    "separate tanh": {"fcnet_hiddens": [16, 8], "vf_share_layers": False},
    "shared relu": {"fcnet_hiddens": [16, 8], "vf_share_layers": True, "fcnet_activation": "relu"},
    "no_final_linear": {"fcnet_hiddens": [16, 3], "no_final_linear": True},
    # 32-64 rows x 256 units: above _TANH_BY_EXP, so tanh runs as 2 / (1 + exp(-2z)) - 1
    "wide tanh": {"fcnet_hiddens": [256, 8], "vf_share_layers": False},
    "post_fcnet linear": {
        "fcnet_hiddens": [8],
        "post_fcnet_hiddens": [6],
        "post_fcnet_activation": "linear",
    },
}


def _model(config: dict, n: int = 3) -> FullyConnectedNetwork:
    model = ModelCatalog.get_model(BOX4, gym.spaces.Discrete(n), n, config)
    for p in model.parameters():  # RLlib's init makes the logits tiny: move off it
        p.data.add_(torch.randn_like(p) * 0.3)
    return model


@pytest.mark.parametrize("name", CONFIGS)
def test_outputs_and_values_equal_torch(seed, name):
    model = _model(CONFIGS[name])
    engine = NumpyMLP.of(model)
    assert engine is not None
    obs = np.random.randn(32, 4).astype(np.float32)
    outputs, values = engine.forward(obs)
    with torch.no_grad():
        t_out, _ = model({"obs": torch.as_tensor(obs)})
        t_values = model.value_function()
    np.testing.assert_allclose(outputs, t_out.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(values, t_values.numpy(), rtol=1e-5, atol=1e-6)


def test_tanh_by_exp_matches_numpy_tanh_everywhere():
    z = np.concatenate(
        [
            np.linspace(-60, 60, _TANH_BY_EXP),
            [0.0, -0.0, 1e-30, -1e-30, 89.0, -89.0, np.inf, -np.inf],
        ]
    ).astype(np.float32)
    with np.errstate(all="raise"):  # no overflow warning escapes for very negative inputs
        got = _tanh(z.copy())
    np.testing.assert_allclose(got, np.tanh(z), rtol=0, atol=3e-7)
    assert got[-2] == 1.0 and got[-1] == -1.0
    small = np.float32([0.5, -2.0])
    np.testing.assert_array_equal(_tanh(small.copy()), np.tanh(small))


@pytest.mark.parametrize("n", [1, 2, 3, 7, 8, 11])
def test_row_reductions_are_bit_for_bit_numpys(n):
    rng = np.random.default_rng(n)
    z = (rng.standard_normal((300, n)) * rng.choice([1e-4, 1.0, 1e4], (300, n))).astype(np.float32)
    np.testing.assert_array_equal(row_sum(z), z.sum(axis=1))
    np.testing.assert_array_equal(row_max(z), z.max(axis=1))
    z[5, n - 1] = np.nan
    assert np.isnan(row_max(z)[5]) and np.isnan(row_sum(z)[5])
    assert not np.isnan(row_max(z)[6])


def _mb(model, rng, dist_class, N=64, n=3):
    """A minibatch whose old policy is the model's, perturbed; actions sampled from it."""
    obs = torch.as_tensor(rng.standard_normal((N, 4)), dtype=torch.float32)
    with torch.no_grad():
        old_inputs = model({"obs": obs})[0] + 0.3 * torch.randn(N, n)
        old_values = model.value_function() + 0.5 * torch.randn(N)
        old = dist_class(old_inputs)
        actions = old.sample()
        if dist_class is Categorical:
            actions = torch.as_tensor(rng.integers(0, n, N))  # every action, likely or not
        logp = old.logp(actions)
    return {
        "obs": obs,
        "actions": actions,
        "action_logp": logp,
        "advantages": torch.as_tensor(rng.standard_normal(N) * 2 + 0.5, dtype=torch.float32),
        "value_targets": torch.as_tensor(rng.standard_normal(N), dtype=torch.float32),
        "action_dist_inputs": old_inputs,
        "vf_preds": old_values,
        "prev_actions": actions,
        "prev_rewards": torch.zeros(N),
        "state_in": [],
        "seq_lens": None,
    }


def _twin_case(algo, dist_class, name, config):
    """(trainer, model, minibatch, numpy loss function) for a loss-twin comparison."""
    env = "CartPole-v1" if dist_class is Categorical else "Pendulum-v1"
    trainer = algo(
        env=env, config={"seed": 0, "num_envs": 1, "rollout_fragment_length": 8, **config}
    )
    assert trainer.policy.dist_class is dist_class
    n = 3 if dist_class is Categorical else 4  # a Gaussian over 2 action dims
    model = _model(CONFIGS[name], n=n)
    if dist_class is DiagGaussian and model._logits is not None:
        with torch.no_grad():  # some log stds above 2 (clamped: zero gradient), some inside
            model._logits.weight[2:] *= 4.0
            model._logits.bias[2:] = torch.tensor([0.0, 2.5])
    trainer.model = model  # the losses read config, policy.dist_class and model only
    trainer.policy.model = model
    if algo is PPO:
        fn = lambda mb, out, v: ppo_loss(mb, out, v, trainer.config, trainer.clip, dist_class)  # noqa: E731
    else:
        fn = lambda mb, out, v: a2c_loss(mb, out, v, trainer.config, dist_class)  # noqa: E731
    return trainer, model, _mb(model, np.random.default_rng(1), dist_class, n=n), fn


PPO_CONFIGS = [
    {},
    {"entropy_coeff": 0.05, "vf_clip_param": 0.2, "vf_loss_coeff": 1.0},
    {"normalize_advantages": False, "clip_param": 0.05},
]
A2C_CONFIGS = [{}, {"entropy_coeff": 0.0, "vf_loss_coeff": 1.0}]
LOSS_CASES = [
    (algo, dist, config)
    for dist in (Categorical, DiagGaussian)
    for algo, configs in ((PPO, PPO_CONFIGS), (A2C, A2C_CONFIGS))
    for config in configs
]


@pytest.mark.parametrize("name", CONFIGS)
@pytest.mark.parametrize(
    "algo,dist_class,config",
    LOSS_CASES,
    ids=[f"{a.__name__}-{d.__name__}-{i}" for i, (a, d, _) in enumerate(LOSS_CASES)],
)
def test_loss_twins_and_gradients_equal_autograd(seed, name, algo, dist_class, config):
    trainer, model, mb, numpy_loss = _twin_case(algo, dist_class, name, config)

    dist, values, _ = trainer.forward(mb)
    total, stats = trainer.loss(mb, dist, values)
    model.zero_grad()
    total.backward()
    expected = {name: p.grad.clone() for name, p in model.named_parameters()}

    engine = NumpyMLP.of(model)
    keep = {}
    outputs, np_values = engine.forward(mb["obs"].numpy(), keep=keep)
    np_total, np_stats, d_out, d_values = numpy_loss(mb, outputs, np_values)
    for p in model.parameters():
        p.grad.fill_(123.0)  # the engine must replace, not add to, what is there
    engine.backward(keep, d_out, d_values)

    assert np_total == pytest.approx(float(total.detach()), rel=1e-5, abs=1e-5)
    assert set(np_stats) == set(stats)
    for key, value in stats.items():
        assert np_stats[key] == pytest.approx(float(value), rel=1e-4, abs=1e-5), key
    if algo is PPO:
        assert 0.0 < np_stats["clip_fraction"] < 1.0  # both branches of the clip were exercised
    if dist_class is DiagGaussian and model._logits is not None:
        log_std = outputs[:, 2:]
        assert (log_std > 2.0).any() and ((log_std > -20) & (log_std < 2)).any()
    # float32 sums of 256-row products in two orders: an element near 0 whose terms are ~5 can
    # differ by ~1e-5 (the 2048-weight wide tanh layer), hence atol 2e-5 beside rtol 1e-4.
    for key, p in model.named_parameters():
        np.testing.assert_allclose(
            p.grad.numpy(), expected[key].numpy(), rtol=1e-4, atol=2e-5, err_msg=key
        )


def test_clip_grads_matches_torch(seed):
    model = _model(CONFIGS["separate tanh"])
    engine = NumpyMLP.of(model)
    twin = _model(CONFIGS["separate tanh"])
    for p, q in zip(model.parameters(), twin.parameters()):
        p.grad = torch.randn_like(p)
        q.grad = p.grad.clone()
    norm = engine.clip_grads(0.5)
    torch_norm = torch.nn.utils.clip_grad_norm_(list(twin.parameters()), 0.5)
    assert norm == pytest.approx(float(torch_norm), rel=1e-5)
    for p, q in zip(model.parameters(), twin.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-5, atol=1e-7)


def test_categorical_sampling_follows_the_probabilities(seed):
    log_probs = log_softmax(np.array([[0.0, 1.0, 2.0, -30.0]] * 20000, np.float32))
    actions = sample_categorical(log_probs, explore=True)
    freq = np.bincount(actions, minlength=4) / len(actions)
    np.testing.assert_allclose(freq[:3], np.exp(log_probs[0, :3]), atol=0.012)
    assert freq[3] == 0.0
    assert (sample_categorical(log_probs[:3], explore=False) == 2).all()
    with pytest.raises(RuntimeError, match="NaN"):
        sample_categorical(np.full((1, 2), np.nan, np.float32), explore=True)


@pytest.mark.parametrize(
    "action_space",
    [gym.spaces.Discrete(3), gym.spaces.Box(-2.0, 2.0, (2,), np.float32)],
    ids=["Categorical", "DiagGaussian"],
)
def test_policy_actions_and_logp_agree_with_the_torch_distribution(seed, action_space):
    policy = Policy(BOX4, action_space, {"model": {"fcnet_hiddens": [16]}, "engine": "auto"})
    assert policy.engine.name == "numpy"
    obs = np.random.randn(50, 4).astype(np.float32)
    env_actions, _, extra = policy.compute_actions(obs, with_value=True)
    with torch.no_grad():
        inputs, _ = policy.model({"obs": torch.as_tensor(obs)})
        dist = policy.dist_class(inputs, policy.model)
        logp = dist.logp(torch.as_tensor(extra["actions"]))
        values = policy.model.value_function()
        mode = policy.flatten_actions(dist.deterministic_sample()).numpy()
    np.testing.assert_allclose(extra["action_logp"], logp.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(extra["vf_preds"], values.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(extra["action_dist_inputs"], inputs.numpy(), rtol=1e-5, atol=1e-6)
    greedy = policy.act(obs, explore=False)
    if isinstance(action_space, gym.spaces.Box):
        np.testing.assert_allclose(greedy, np.clip(mode, -2, 2), rtol=1e-5, atol=1e-6)
        assert env_actions.min() >= -2.0 and env_actions.max() <= 2.0
    else:
        np.testing.assert_array_equal(greedy, mode)


# A policy that opts in to the numpy engine where it is an exact twin (the default is torch).
AUTO8 = {"model": {"fcnet_hiddens": [8]}, "engine": "auto"}


class _Subclassed(FullyConnectedNetwork):
    def forward(self, input_dict, state, seq_lens):
        outputs, state = super().forward(input_dict, state, seq_lens)
        return outputs * 0.0, state  # the user's change must be what runs


def test_users_models_and_hooks_are_never_bypassed(seed):
    ModelCatalog.register_custom_model("numpy_engine_subclass", _Subclassed)
    policy = Policy(
        BOX4,
        gym.spaces.Discrete(3),
        {"model": {"custom_model": "numpy_engine_subclass"}, "engine": "auto"},
    )
    assert policy.engine.name == "torch"
    assert "the model is _Subclassed" in policy.engine.reason
    _, _, extra = policy.compute_actions(np.ones((4, 4), np.float32))
    assert np.all(extra["action_dist_inputs"] == 0.0)

    policy = Policy(BOX4, gym.spaces.Discrete(3), AUTO8)
    engine = policy.engine
    assert engine.mlp(policy.model) is not None
    seen = []
    handle = policy.model.register_forward_hook(lambda *args: seen.append(1))
    assert engine.mlp(policy.model) is None  # the "auto" engine hands the call to torch
    policy.compute_actions(np.ones((2, 4), np.float32))
    assert seen == [1]
    handle.remove()
    # the hook removed: the engine runs the model again
    assert engine.mlp(policy.model) is not None

    # A replaced layer or a reassigned weight: the engine reads the new ones.
    policy.model._logits = torch.nn.Linear(8, 3)
    with torch.no_grad():
        policy.model._value_head.weight = torch.nn.Parameter(torch.full((1, 8), 2.0))
    obs = np.ones((3, 4), np.float32)
    engine = NumpyMLP.of(policy.model)
    assert engine.logits.weight is policy.model._logits.weight
    with torch.no_grad():
        outputs, _ = policy.model({"obs": torch.as_tensor(obs)})
        values = policy.model.value_function().numpy()
    np.testing.assert_allclose(engine.forward(obs)[0], outputs.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(engine.forward(obs)[1], values, rtol=1e-5, atol=1e-6)


def test_a_pinned_rollout_checks_the_model_once_and_a_hook_before_it_is_seen(seed):
    policy = Policy(BOX4, gym.spaces.Discrete(3), AUTO8)
    mlp = policy.engine.mlp(policy.model)
    calls = []
    check = mlp._valid
    mlp._valid = lambda: calls.append(1) or check()
    with policy.pin_engine():
        for _ in range(5):
            assert policy.engine.mlp(policy.model) is mlp
            policy.compute_actions(np.ones((2, 4), np.float32))
    assert calls == [1]  # once, at entry, not once per step
    assert policy.engine._pinned == []
    # A hook registered before the rollout is honoured by all of it, and by the values.
    seen = []
    policy.model.register_forward_hook(lambda *args: seen.append(1))
    with policy.pin_engine():
        assert policy.engine.mlp(policy.model) is None
        policy.compute_actions(np.ones((2, 4), np.float32))
        policy.compute_values(np.ones((2, 4), np.float32))
    assert seen == [1, 1]


def test_a_pin_holds_only_in_the_thread_that_pinned(seed):
    import threading

    policy = Policy(BOX4, gym.spaces.Discrete(3), AUTO8)
    seen = []
    with policy.pin_engine():
        assert policy.engine.mlp(policy.model) is not None

        # Another thread (the notebook, while a dashboard trains) hooks the model: its own
        # calls see the hook at once; the pinned rollout keeps its engine.
        def other():
            policy.model.register_forward_hook(lambda *args: seen.append(1))
            seen.append(policy.engine.mlp(policy.model))
            policy.compute_actions(np.ones((2, 4), np.float32))

        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
        assert seen == [None, 1]  # no engine in that thread, and its forward ran the hook
        assert policy.engine.mlp(policy.model) is not None
    assert policy.engine.mlp(policy.model) is None  # after the rollout the hook is seen here too


def test_engine_sees_optimizer_steps_and_load_state_dict(seed):
    model = _model(CONFIGS["separate tanh"])
    engine = NumpyMLP.of(model)
    obs = np.random.randn(5, 4).astype(np.float32)
    before = engine.forward(obs)[0].copy()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.1)  # what an optimizer step does: in place
    after = NumpyMLP.of(model).forward(obs)[0]
    assert not np.allclose(before, after)
    with torch.no_grad():
        np.testing.assert_allclose(
            after, model({"obs": torch.as_tensor(obs)})[0].numpy(), rtol=1e-5, atol=1e-6
        )
    other = _model(CONFIGS["separate tanh"])
    model.load_state_dict(other.state_dict())
    with torch.no_grad():
        np.testing.assert_allclose(
            NumpyMLP.of(model).forward(obs)[0],
            other({"obs": torch.as_tensor(obs)})[0].numpy(),
            rtol=1e-5,
            atol=1e-6,
        )


def test_other_setups_take_the_torch_path(seed):
    # free_log_std, a Beta distribution, a double-precision model: torch runs them.
    box = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
    policy = Policy(BOX4, box, {"model": {"free_log_std": True}, "engine": "auto"})
    assert policy.engine.name == "torch" and "free_log_std" in policy.engine.reason
    policy = Policy(BOX4, box, {"model": {"custom_action_dist": "Beta"}, "engine": "auto"})
    assert policy.engine.name == "torch" and "Beta has no numpy twin" in policy.engine.reason
    model = _model(CONFIGS["separate tanh"]).double()
    assert NumpyMLP.of(model) is None
    assert Policy(BOX4, gym.spaces.Discrete(2), {}).dist_class is not DiagGaussian


def test_ppo_with_custom_loss_or_frozen_layers_learns_through_autograd(seed):
    trainer = PPO(env="CartPole-v1", config={"seed": 0, **AUTO8})
    assert trainer.choose_engine().name == "numpy"
    trainer.model._hidden[0].weight.requires_grad_(False)
    result = trainer.train()
    assert result["engine"] == "torch" and "'_hidden.0.weight' is frozen" in result["engine_reason"]

    class Custom(PPO):
        def loss(self, mb, dist, values):
            return super().loss(mb, dist, values)

    class CustomForward(PPO):
        def forward(self, mb):
            return super().forward(mb)

    for cls in (Custom, CustomForward):
        engine = cls(env="CartPole-v1", config={"seed": 0, "engine": "auto"}).engine
        assert engine.name == "torch"
        assert f"{cls.__name__}'s loss has no numpy twin" in engine.reason


@pytest.mark.parametrize(
    "algo,env,config",
    [
        (PPO, "Pendulum-v1", {"num_sgd_iter": 3, "sgd_minibatch_size": 64}),
        (A2C, "CartPole-v1", {}),
        (A2C, "Pendulum-v1", {"microbatch_size": 32}),
    ],
    ids=["PPO-DiagGaussian", "A2C-Categorical", "A2C-DiagGaussian-microbatches"],
)
def test_a_training_iteration_on_the_numpy_path_equals_the_torch_path(algo, env, config):
    config = {"seed": 3, "num_envs": 2, "rollout_fragment_length": 64, **config}
    config["model"] = {"fcnet_hiddens": [32, 32]}
    fast = algo(env=env, config={**config, "engine": "numpy"})
    slow = algo(env=env, config=config)  # the default: torch
    assert fast.engine.name == "numpy" and slow.engine.name == "torch"
    before = [p.detach().clone() for p in fast.model.parameters()]
    fast_stats, slow_stats = fast.train(), slow.train()
    for key in ("policy_loss", "vf_loss", "entropy"):
        assert fast_stats[key] == pytest.approx(slow_stats[key], rel=1e-3, abs=1e-5), key
    assert any(not torch.equal(p, b) for p, b in zip(fast.model.parameters(), before))
    for (key, p), q in zip(fast.model.named_parameters(), slow.model.parameters()):
        np.testing.assert_allclose(p.detach(), q.detach(), rtol=1e-4, atol=2e-5, err_msg=key)


def test_pg_learns_through_autograd():
    from rlkit.algorithms import PG

    assert PG(env="CartPole-v1", config={"seed": 0, "engine": "auto"}).engine.name == "torch"
