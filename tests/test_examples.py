"""Fast tests of rlkit.examples: every env, model and distribution builds and trains one tiny
step, and the numbers each example relies on hold against closed forms."""

import warnings

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env

from rlkit.algorithms import ALGORITHMS
from rlkit.algorithms.dqn import epsilon_greedy
from rlkit.catalog import ModelCatalog
from rlkit.envs import make_env
from rlkit.examples import EXAMPLES
from rlkit.examples import autoregressive_actions as ar
from rlkit.examples import batch_norm as bn
from rlkit.examples import custom_action_dist as cad
from rlkit.examples import custom_model as cm
from rlkit.examples import custom_preprocessor as cp
from rlkit.examples import nested_observations as nested
from rlkit.examples import parametric_actions as pa
from rlkit.examples import recurrent_model as rnn
from rlkit.examples import self_supervised_loss as ssl
from rlkit.examples import supervised_loss as sl
from rlkit.examples.envs import (
    TEACHING_ENVS,
    CorrelatedActionsEnv,
    NestedSpaceEnv,
    ParametricActionsCartPole,
    RepeatAfterMeEnv,
)
from rlkit.policy import Policy

# Settings that make one train() call take a fraction of a second.
TINY = {
    "PPO": dict(num_envs=2, rollout_fragment_length=16, num_sgd_iter=1, sgd_minibatch_size=16),
    "A2C": dict(num_envs=2, rollout_fragment_length=8),
    "PG": dict(num_envs=2, rollout_fragment_length=16),
    "DQN": dict(
        num_envs=2,
        rollout_fragment_length=8,
        learning_starts=8,
        train_batch_size=8,
        min_sample_timesteps_per_iteration=0,
    ),
}


def train_once(algo: str, env, config: dict) -> dict:
    trainer = ALGORITHMS[algo](env=env, config={**config, **TINY[algo]})
    result = trainer.train()
    trainer.stop()
    assert result["timesteps_total"] > 0
    return result


def test_every_example_module_is_listed_and_has_main():
    import importlib
    import pkgutil

    import rlkit.examples

    modules = {m.name for m in pkgutil.iter_modules(rlkit.examples.__path__)}
    assert modules - {"envs", "common"} == set(EXAMPLES)
    for name in EXAMPLES:
        module = importlib.import_module(f"rlkit.examples.{name}")
        assert callable(module.main) and module.__doc__


# -- the teaching envs ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "cls, config",
    [
        (RepeatAfterMeEnv, {}),
        (NestedSpaceEnv, {}),
        (CorrelatedActionsEnv, {}),
        (ParametricActionsCartPole, {"all_valid": True}),  # the checker picks random slots
    ],
)
def test_envs_pass_gymnasium_checker_and_are_registered(cls, config):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # CartPole's infinite Box bounds warn
        check_env(cls(config), skip_render_check=True)
    assert isinstance(make_env(cls.__name__, config).unwrapped, cls)
    assert set(TEACHING_ENVS) == {
        "RepeatAfterMeEnv",
        "NestedSpaceEnv",
        "ParametricActionsCartPole",
        "CorrelatedActionsEnv",
    }


def test_unknown_env_config_key_is_named():
    with pytest.raises(ValueError, match="repeat_delay"):
        RepeatAfterMeEnv({"repeat_dealy": 2})


@pytest.mark.parametrize("delay", [1, 3])
def test_repeat_after_me_rewards(delay):
    env = RepeatAfterMeEnv({"repeat_delay": delay, "episode_len": 12})
    for sign in (1, -1):  # repeat the token (best) or its opposite (worst)
        obs, _ = env.reset(seed=0)
        seen, total, done = [obs], 0.0, False
        while not done:
            t = len(seen) - 1
            target = seen[t - delay] if t >= delay else 0
            action = target if sign == 1 else 1 - target
            obs, reward, done, _, _ = env.step(action)
            seen.append(obs)
            total += reward
        assert total == sign * env.max_return == sign * (12 - delay)


def test_nested_space_env_reward_follows_every_leaf():
    env = NestedSpaceEnv({"episode_len": 50})
    obs, _ = env.reset(seed=1)
    total = 0.0
    for _ in range(50):
        position, flag = obs["sensors"]
        expected = (obs["cue"] + flag + int(position[0] < 0)) % 3  # the documented rule
        assert env.target(obs) == expected
        obs, reward, done, _, _ = env.step(expected)
        total += reward
    assert total == 50 and done


def test_parametric_env_slots_masks_and_embeddings():
    env = ParametricActionsCartPole({"max_avail_actions": 6})
    cart = gym.make("CartPole-v1")
    obs, _ = env.reset(seed=3)
    cart_obs, _ = cart.reset(seed=3)
    rng = np.random.default_rng(0)
    for _ in range(20):
        mask, avail = obs["action_mask"], obs["avail_actions"]
        np.testing.assert_array_equal(obs["cart"], cart_obs)
        assert mask.sum() == 2 and not avail[mask == 0].any()
        left = int(np.flatnonzero((avail == env.embeddings[0]).all(axis=1))[0])
        right = int(np.flatnonzero((avail == env.embeddings[1]).all(axis=1))[0])
        assert mask[left] == mask[right] == 1 and left != right
        invalid = int(np.flatnonzero(mask == 0)[0])
        with pytest.raises(ValueError, match="holds no action"):
            env.step(invalid)
        real = int(rng.integers(2))  # 0 pushes left, 1 right
        obs, reward, terminated, _, _ = env.step(left if real == 0 else right)
        cart_obs, cart_reward, cart_terminated, _, _ = cart.step(real)
        assert reward == cart_reward and terminated == cart_terminated
        if terminated:
            break


def test_parametric_env_all_valid_fills_every_slot():
    env = ParametricActionsCartPole({"max_avail_actions": 8, "all_valid": True})
    obs, _ = env.reset(seed=0)
    assert obs["action_mask"].sum() == 8
    kinds = [int((row == env.embeddings[1]).all()) for row in obs["avail_actions"]]
    assert set(kinds) == {0, 1}  # both real actions present, every slot one of them


def test_correlated_actions_env_rewards():
    env = CorrelatedActionsEnv()
    obs, _ = env.reset(seed=0)
    rng = np.random.default_rng(0)
    total, steps, done = 0.0, 0, False
    while not done:
        a1, a2 = (int(x) for x in rng.integers(2, size=2))
        expected = 5.0 * (a1 == obs) + 5.0 * (a2 == a1)
        obs, reward, done, _, _ = env.step((a1, a2))
        assert reward == expected
        total, steps = total + reward, steps + 1
    assert steps == 21 and env.max_return == 210


# -- custom model -----------------------------------------------------------------------------
def test_custom_model_config_kwargs_reach_the_model():
    space = gym.spaces.Box(-1, 1, (4,), np.float32)
    config = {
        "custom_model": "my_model",
        "custom_model_config": {"hiddens": [32], "value_hiddens": [16, 8], "activation": "relu"},
    }
    model = ModelCatalog.get_model(space, gym.spaces.Discrete(2), 2, config)
    assert [m.out_features for m in model.policy_branch if isinstance(m, torch.nn.Linear)] == [32]
    assert [m.out_features for m in model.value_branch if isinstance(m, torch.nn.Linear)] == [16, 8]
    assert isinstance(model.policy_branch[1], torch.nn.ReLU)
    logits, _ = model({"obs": torch.zeros(5, 4)})
    assert logits.shape == (5, 2) and model.value_function().shape == (5,)
    # The value branch is separate: it has no parameter in common with the policy branch.
    policy_ids = {id(p) for p in model.policy_branch.parameters()}
    assert not policy_ids & {id(p) for p in model.value_branch.parameters()}
    with pytest.raises(ValueError, match="value_hidden"):
        ModelCatalog.get_model(
            space,
            gym.spaces.Discrete(2),
            2,
            {"custom_model": "my_model", "custom_model_config": {"value_hidden": [8]}},
        )


@pytest.mark.parametrize("algo", ["PPO", "A2C"])
def test_custom_model_trains(algo, seed):
    result = train_once(algo, "CartPole-v1", cm.config(seed, algo))
    assert np.isfinite(result["policy_loss"])


# -- nested observations ----------------------------------------------------------------------
class RecordingNestedModel(nested.NestedSpaceModel):
    def forward(self, input_dict, state, seq_lens):
        self.seen = input_dict["obs"]
        return super().forward(input_dict, state, seq_lens)


def test_nested_model_reads_each_leaf_by_name(seed):
    ModelCatalog.register_custom_model("recording_nested", RecordingNestedModel)
    env = NestedSpaceEnv()
    policy = Policy(
        env.observation_space, env.action_space, {"model": {"custom_model": "recording_nested"}}
    )
    raw = [env.reset(seed=i)[0] for i in range(4)]
    batch = {
        "cue": np.array([o["cue"] for o in raw]),
        "sensors": (
            np.stack([o["sensors"][0] for o in raw]),
            np.array([o["sensors"][1] for o in raw]),
        ),
    }
    policy.compute_actions(batch)
    seen = policy.model.seen
    np.testing.assert_array_equal(seen["cue"].numpy(), np.eye(3)[batch["cue"]])
    np.testing.assert_allclose(seen["sensors"][0].numpy(), batch["sensors"][0])
    np.testing.assert_array_equal(seen["sensors"][1].numpy(), np.eye(2)[batch["sensors"][1]])


@pytest.mark.parametrize("env", ["NestedSpaceEnv", "MiniGridNested"])
def test_nested_examples_train(env, seed):
    result = train_once("PPO", env, nested.config(env, seed))
    assert np.isfinite(result["vf_loss"])


def test_minigrid_maker_gives_a_dict_of_float_image_and_direction():
    env = nested.make_minigrid({})
    obs, _ = env.reset(seed=0)
    assert set(obs) == {"direction", "image"} and obs["image"].dtype == np.float32
    assert env.observation_space["image"].contains(obs["image"])


# -- recurrent model --------------------------------------------------------------------------
def test_rnn_model_over_a_sequence_equals_step_by_step(seed):
    space = gym.spaces.Box(0, 1, (2,), np.float32)
    model = rnn.RNNModel(space, gym.spaces.Discrete(2), 2, {}, "rnn", fc_size=8, lstm_state_size=6)
    assert [tuple(s.shape) for s in model.get_initial_state()] == [(6,), (6,)]
    x = torch.rand(1, 5, 2)  # [B=1, T=5, F]
    state = [s[None] for s in model.get_initial_state()]
    whole, _ = model.forward_rnn(x, state, torch.tensor([5]))  # [1, 5, 2]
    steps = []
    for t in range(5):
        out, state = model.forward_rnn(x[:, t : t + 1], state, torch.tensor([1]))
        steps.append(out)
    torch.testing.assert_close(whole, torch.cat(steps, dim=1))


@pytest.mark.parametrize("model", ["custom", "use_lstm"])
def test_recurrent_examples_train(model, seed):
    result = train_once("PPO", "RepeatAfterMeEnv", rnn.config(model, seed))
    assert np.isfinite(result["policy_loss"])


# -- batch norm -------------------------------------------------------------------------------
def test_batch_norm_stats_update_in_training_and_stay_frozen_in_sampling(seed):
    trainer = ALGORITHMS["A2C"](env="CartPole-v1", config={**bn.config(seed), **TINY["A2C"]})
    model = trainer.get_policy().model
    before = bn.bn_stats(model)
    trainer.sample()
    trainer.compute_single_action(np.zeros(4, np.float32))
    assert not bn.stats_changed(before, bn.bn_stats(model))  # sampling: frozen
    trainer.train()  # A2C: one sample (frozen) and one gradient step (one update)
    after = bn.bn_stats(model)
    assert bn.stats_changed(before, after)
    tracked = [int(v) for k, v in after.items() if k.endswith("num_batches_tracked")]
    assert tracked == [1, 1]
    trainer.stop()


def test_batch_norm_in_sampling_treats_rows_independently(seed):
    space = gym.spaces.Box(-1, 1, (4,), np.float32)
    model = bn.BatchNormModel(space, gym.spaces.Discrete(2), 2, {}, "bn")
    obs = torch.randn(6, 4)
    together, _ = model({"obs": obs})
    alone, _ = model({"obs": obs[:1]})
    torch.testing.assert_close(together[:1], alone)  # running stats: no batch mixing
    train_together, _ = model({"obs": obs, "is_training": True})
    assert not torch.allclose(train_together, together)  # batch stats in training


# -- custom preprocessor ----------------------------------------------------------------------
def test_custom_preprocessor_and_wrapper_give_the_same_model_input():
    env_name, model_config = cp.VARIANTS["preprocessor"]
    raw_env = make_env(env_name)
    wrapped_env = make_env(cp.VARIANTS["wrapper"][0])
    with_preprocessor = Policy(
        raw_env.observation_space, raw_env.action_space, {"model": model_config}
    )
    with_wrapper = Policy(wrapped_env.observation_space, wrapped_env.action_space)
    raw = np.stack([raw_env.reset(seed=i)[0] + i * 0.1 for i in range(5)])  # [5, 4]
    wrapped = np.stack([wrapped_env.observation(o) for o in raw])
    a, b = with_preprocessor.preprocess(raw), with_wrapper.preprocess(wrapped)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(a, raw / np.array([2.4, 3.0, 0.2095, 3.5]), rtol=1e-6)
    trace_a = with_preprocessor.trace(raw[0])[2].output  # the "filter" stage: model input
    trace_b = with_wrapper.trace(wrapped[0])[2].output
    np.testing.assert_array_equal(trace_a, trace_b)


@pytest.mark.parametrize("variant", ["preprocessor", "wrapper"])
def test_custom_preprocessor_examples_train(variant, seed):
    train_once("PPO", cp.VARIANTS[variant][0], cp.config(variant, seed))


# -- custom action distribution ---------------------------------------------------------------
def test_temperature_categorical_reads_model_config(seed):
    space = gym.spaces.Box(-1, 1, (4,), np.float32)
    dist_class, num_outputs = ModelCatalog.get_action_dist(
        gym.spaces.Discrete(3), cad.config(0.5)["model"]
    )
    assert dist_class is cad.TemperatureCategorical and num_outputs == 3
    model = ModelCatalog.get_model(space, gym.spaces.Discrete(3), 3, cad.config(0.5)["model"])
    logits = torch.randn(4, 3)
    dist = dist_class(logits, model)
    expected = np.log(
        np.exp(logits.numpy() / 0.5) / np.exp(logits.numpy() / 0.5).sum(1, keepdims=True)
    )
    np.testing.assert_allclose(dist.log_probs.numpy(), expected, rtol=1e-5, atol=1e-6)
    actions = dist.sample()
    np.testing.assert_allclose(
        dist.sampled_action_logp().numpy(), expected[np.arange(4), actions.numpy()], rtol=1e-5
    )
    np.testing.assert_allclose(
        dist.entropy().numpy(), -(np.exp(expected) * expected).sum(1), rtol=1e-5
    )
    with pytest.raises(ValueError, match="num_outputs"):
        dist_class(torch.randn(4, 5), model)


def test_custom_action_dist_trains(seed):
    train_once("PPO", "CartPole-v1", cad.config(0.8, seed))


# -- supervised loss --------------------------------------------------------------------------
def test_expert_data_round_trip_and_imitation_loss(tmp_path, seed):
    from rlkit.offline import JsonReader

    path = sl.write_expert_data(str(tmp_path), episodes=2)
    data = JsonReader(path).read_all()
    assert len(data["obs"]) > 50
    np.testing.assert_array_equal(data["actions"], [sl.expert_action(o) for o in data["obs"]])
    space = gym.spaces.Box(-np.inf, np.inf, (4,), np.float32)
    model_config = sl.config(path)["model"]
    model_config["custom_model_config"]["imitation_weight"] = 2.0
    model = ModelCatalog.get_model(space, gym.spaces.Discrete(2), 2, model_config)
    torch.manual_seed(7)
    loss = model.custom_loss(torch.tensor(0.25), {})
    torch.manual_seed(7)
    rows = model.reader.sample(model.expert_batch_size)
    logits, _ = model({"obs": torch.as_tensor(rows["obs"])})
    nll = -torch.log_softmax(logits, 1)[torch.arange(len(logits)), torch.as_tensor(rows["actions"])]
    torch.testing.assert_close(loss, 0.25 + 2.0 * nll.mean())
    assert set(model.metrics()) == {"policy_loss", "imitation_loss"}


def test_supervised_loss_trains_with_pg_and_reports_both_losses(tmp_path, seed):
    path = sl.write_expert_data(str(tmp_path), episodes=2)
    result = train_once("PG", "CartPole-v1", sl.config(path, seed))
    assert np.isfinite(result["imitation_loss"]) and np.isfinite(result["policy_loss"])


# -- self-supervised loss ---------------------------------------------------------------------
def test_self_supervised_loss_is_policy_plus_reconstruction_plus_l2(seed):
    space = gym.spaces.Box(-np.inf, np.inf, (4,), np.float32)
    config = {
        "custom_model": "autoencoder_model",
        "custom_model_config": {"recon_coeff": 0.5, "l2_coeff": 0.01},
    }
    model = ModelCatalog.get_model(space, gym.spaces.Discrete(2), 2, config)
    obs = torch.randn(32, 4)
    loss = model.custom_loss(torch.tensor(1.0), {"obs_flat": obs})
    recon = ((model.decoder(model.encoder(obs)) - obs) ** 2).mean()
    l2 = sum((p**2).sum() for n, p in model.named_parameters() if n.endswith("weight"))
    torch.testing.assert_close(loss, 1.0 + 0.5 * recon + 0.01 * l2)
    assert set(model.metrics()) == {"policy_loss", "recon_loss", "l2_loss"}


def test_self_supervised_example_trains(seed):
    result = train_once("PPO", "CartPole-v1", ssl.config(seed))
    assert np.isfinite(result["recon_loss"]) and result["l2_loss"] > 0


# -- parametric actions -----------------------------------------------------------------------
def parametric_policy(mode: str, n: int = 6) -> tuple[Policy, ParametricActionsCartPole]:
    env = ParametricActionsCartPole({"max_avail_actions": n, **pa.MODES[mode][1]})
    config = pa.config("PPO", mode, max_avail_actions=n)
    return Policy(env.observation_space, env.action_space, {"model": config["model"]}), env


def random_parametric_batch(env, count: int) -> dict:
    raws = [env.reset(seed=i)[0] for i in range(count)]
    return {k: np.stack([r[k] for r in raws]) for k in raws[0]}


def test_parametric_logits_are_intent_dot_embeddings_plus_float_min_mask(seed):
    policy, env = parametric_policy("both")
    batch = random_parametric_batch(env, 8)
    obs = policy.preprocess(batch)
    logits, _ = policy.model({"obs": torch.as_tensor(obs)})
    intent, _ = policy.model.action_embed_model({"obs": torch.as_tensor(batch["cart"])})
    dots = np.einsum("bne,be->bn", batch["avail_actions"], intent.detach().numpy())
    valid = batch["action_mask"] == 1
    np.testing.assert_allclose(logits.detach().numpy()[valid], dots[valid], rtol=1e-5, atol=1e-6)
    assert (logits.detach().numpy()[~valid] <= np.finfo(np.float32).min / 2).all()


@pytest.mark.parametrize("mode", ["both", "masking"])
def test_parametric_policy_never_chooses_an_invalid_slot(mode, seed):
    policy, env = parametric_policy(mode)
    batch = random_parametric_batch(env, 64)
    # Sharpen nothing, bias nothing: an untrained policy is the most likely to stray.
    for explore in (True, False):
        for _ in range(20):
            actions, _, _ = policy.compute_actions(batch, explore=explore)
            assert (batch["action_mask"][np.arange(64), actions] == 1).all()
    q, _ = policy.model({"obs": torch.as_tensor(policy.preprocess(batch))})
    for _ in range(20):
        actions, _ = epsilon_greedy(q, epsilon=1.0)  # DQN's uniformly random actions
        assert (batch["action_mask"][np.arange(64), actions.numpy()] == 1).all()


def test_parametric_modes_build_and_need_one_of_the_two():
    for mode in pa.MODES:
        policy, env = parametric_policy(mode)
        logits, _ = policy.model(
            {"obs": torch.as_tensor(policy.preprocess(random_parametric_batch(env, 3)))}
        )
        assert logits.shape == (3, 6)
    with pytest.raises(ValueError, match="use_masking and use_embeddings"):
        ModelCatalog.get_model(
            policy.preprocessor.observation_space,
            env.action_space,
            6,
            {
                "custom_model": "pa_model",
                "custom_model_config": {"use_masking": False, "use_embeddings": False},
            },
        )


@pytest.mark.parametrize("algo", ["PPO", "A2C", "PG", "DQN"])
def test_parametric_example_trains(algo, seed):
    train_once(algo, "ParametricActionsCartPole", pa.config(algo, "both", seed))


# -- autoregressive actions -------------------------------------------------------------------
def autoregressive_dist(batch: int = 64):
    policy = Policy(gym.spaces.Discrete(2), ar.BINARY_PAIR, {"model": ar.config()["model"]})
    obs = policy.preprocess(np.arange(batch) % 2)
    context, _ = policy.model({"obs": torch.as_tensor(obs)})
    return policy, policy.dist_class(context, policy.model), context


def test_autoregressive_sampled_logp_equals_one_pass_logp(seed):
    policy, dist, _ = autoregressive_dist()
    for method in (dist.sample, dist.deterministic_sample):
        a1, a2 = method()
        sampled = dist.sampled_action_logp()
        torch.testing.assert_close(sampled, dist.logp((a1, a2)))
        flat = policy.flatten_actions((a1, a2))  # the learner layout: float32 [B, 2]
        assert flat.dtype == torch.float32 and flat.shape == (64, 2)
        torch.testing.assert_close(sampled, dist.logp(flat))


def test_autoregressive_logp_of_a2_depends_on_a1_and_probabilities_sum_to_one(seed):
    _, dist, context = autoregressive_dist(4)
    joint = {}
    for a1 in (0, 1):
        for a2 in (0, 1):
            joint[a1, a2] = dist.logp(torch.tensor([[a1, a2]] * 4, dtype=torch.float32))
    a1_logp = torch.log_softmax(dist.model.action_model(context, torch.zeros(4, 1))[0], dim=1)
    a2_given = {a1: joint[a1, 0] - a1_logp[:, a1] for a1 in (0, 1)}  # log P(a2=0 | a1)
    assert (a2_given[0] - a2_given[1]).abs().min() > 1e-6
    total = sum(lp.exp() for lp in joint.values())
    torch.testing.assert_close(total, torch.ones(4))
    entropy = -sum(lp.exp() * lp for lp in joint.values())
    torch.testing.assert_close(dist.entropy(), entropy)


def test_autoregressive_example_trains(seed):
    result = train_once("PPO", "CorrelatedActionsEnv", ar.config(seed))
    assert np.isfinite(result["policy_loss"])
