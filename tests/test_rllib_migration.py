"""RLlib-era code, written as an RLlib user writes it, runs on rlkit after the import swap.

Each test is one item of the migration guide (docs/MIGRATING_FROM_RLLIB.md): RLlib's module
names, model signatures, numpy initial states, list-form custom_loss, RLlib's JSON lines...
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from torch import nn

from rlkit.catalog import ModelCatalog
from rlkit.models import Model

# ---- names RLlib code imports or calls ------------------------------------------------------


def test_module_level_trainer_and_default_config():
    from rlkit.algorithms import a2c, bc, dqn, pg, ppo

    for module, name in ((ppo, "PPO"), (pg, "PG"), (a2c, "A2C"), (dqn, "DQN"), (bc, "BC")):
        assert getattr(module, f"{name}Trainer") is getattr(module, name)
        assert {"lr", "model", "num_envs"} <= set(module.DEFAULT_CONFIG)
        assert ("gamma" in module.DEFAULT_CONFIG) == (name != "BC")  # BC learns no values
    assert ppo.DEFAULT_CONFIG["clip_param"] == 0.2 and dqn.DEFAULT_CONFIG["buffer_size"] > 0
    # RLlib's idiom: copy the module's DEFAULT_CONFIG, edit, pass it back whole.
    config = ppo.DEFAULT_CONFIG.copy()
    config["model"]["fcnet_hiddens"] = [8]
    config.update(num_envs=2, rollout_fragment_length=16, sgd_minibatch_size=32, seed=0)
    trainer = ppo.PPOTrainer(env="CartPole-v1", config=config)
    result = trainer.train()
    assert 24 <= result["timesteps_total"] <= 32  # 2 envs x 16 steps, less autoreset rows
    trainer.stop()
    # The edit stayed in the user's copy: a fresh import's defaults are RLlib-sized again.
    assert ppo.PPO.DEFAULT_CONFIG["model"] == {"vf_share_layers": False}


def test_save_without_directory_writes_under_results_dir(tmp_path, monkeypatch):
    from rlkit.algorithms import pg

    monkeypatch.setenv("RLKIT_RESULTS_DIR", str(tmp_path))
    config = {
        "num_envs": 1,
        "rollout_fragment_length": 8,
        "seed": 0,
        "model": {"fcnet_hiddens": [4]},
    }
    trainer = pg.PGTrainer(env="CartPole-v1", config=config)
    trainer.train()
    path = trainer.save()
    assert path.startswith(str(tmp_path)) and path.endswith("checkpoint_000001/checkpoint.pt")
    assert trainer.logdir.startswith(str(tmp_path / "PG_CartPole-v1_"))
    again = pg.PGTrainer(env="CartPole-v1", config=config)
    again.restore(path)
    assert again.iteration == 1
    trainer.stop()
    again.stop()


def test_catalog_get_preprocessor_takes_an_env():
    env = gym.make("FrozenLake-v1")
    prep = ModelCatalog.get_preprocessor(env)
    assert prep.shape == (16,) and prep.transform(3).tolist() == [0] * 3 + [1] + [0] * 12
    with pytest.raises(TypeError, match="get_preprocessor_for_space"):
        ModelCatalog.get_preprocessor(env.observation_space)


class TwoHeads(Model):
    """RLlib's parametric-actions idiom: a model that builds a sub-model through the catalog."""

    def __init__(self, obs_space, action_space, num_outputs, model_config, name, width=8):
        super().__init__(obs_space, action_space, num_outputs, model_config, name)
        self.width = width
        self.body = ModelCatalog.get_model_v2(
            obs_space,
            action_space,
            num_outputs,
            {"fcnet_hiddens": [width]},
            framework="torch",
            name="body",
        )

    def forward(self, input_dict, state, seq_lens):
        out, _ = self.body({"obs": input_dict["obs"]})
        return out, state

    def value_function(self):
        return self.body.value_function()


def test_get_model_v2_rllib_signature():
    obs_space, act_space = gym.spaces.Box(-1, 1, (3,)), gym.spaces.Discrete(2)
    ModelCatalog.register_custom_model("two_heads_rllib", TwoHeads)
    config = {"custom_model": "two_heads_rllib"}
    # RLlib passes extra constructor arguments as **model_kwargs.
    model = ModelCatalog.get_model_v2(obs_space, act_space, 2, config, "torch", "m", width=5)
    assert isinstance(model, TwoHeads) and model.width == 5
    out, _ = model({"obs": torch.zeros(4, 3)})
    assert out.shape == (4, 2)
    built = ModelCatalog.get_model_v2(obs_space, act_space, 2, {}, default_model=TwoHeads)
    assert isinstance(built, TwoHeads)
    with pytest.raises(ValueError, match="PyTorch only"):
        ModelCatalog.get_model_v2(obs_space, act_space, 2, {}, framework="tf")
    with pytest.raises(ValueError, match="not a parameter of TwoHeads"):
        ModelCatalog.get_model_v2(obs_space, act_space, 2, config, "torch", "m", depth=2)


def test_float_min_masks_logits_without_inf():
    from rlkit.utils.torch_utils import FLOAT_MAX, FLOAT_MIN

    assert FLOAT_MIN == -FLOAT_MAX and FLOAT_MIN < -3.4e38
    logits = torch.zeros(1, 3, requires_grad=True)
    mask = torch.tensor([[1.0, 0.0, 1.0]])
    masked = logits + torch.clamp(torch.log(mask), min=FLOAT_MIN)
    probs = torch.softmax(masked, dim=1)
    assert probs.tolist() == [[0.5, 0.0, 0.5]]
    probs[0, 0].backward()
    assert torch.isfinite(logits.grad).all()


def test_chop_into_sequences_rllib_signature():
    from rlkit.models.sequences import chop_into_sequences

    eps_ids = [1, 1, 1, 5, 5, 5, 5, 5]
    f_pad, s_init, seq_lens = chop_into_sequences(
        episode_ids=eps_ids,
        unroll_ids=np.ones_like(eps_ids),
        agent_indices=[0] * 8,
        feature_columns=[
            [11, 12, 13, 21, 22, 23, 24, 25],
            [[1], [2], [3], [4], [5], [6], [7], [8]],
        ],
        state_columns=[[90, 91, 92, 80, 81, 82, 83, 84]],
        max_seq_len=4,
    )
    assert seq_lens.tolist() == [3, 4, 1] and seq_lens.dtype == np.int32
    assert f_pad[0].tolist() == [11, 12, 13, 0, 21, 22, 23, 24, 25, 0, 0, 0]
    assert f_pad[1].shape == (12, 1) and f_pad[1][:, 0].tolist()[:5] == [1, 2, 3, 0, 4]
    assert s_init[0].tolist() == [90, 80, 84]
    # dynamic_max=False pads to max_seq_len; a new unroll id starts a new sequence.
    f_pad, s_init, seq_lens = chop_into_sequences(
        episode_ids=[3, 3, 3],
        unroll_ids=[0, 0, 1],
        feature_columns=[[1.0, 2.0, 3.0]],
        state_columns=[],
        max_seq_len=3,
        dynamic_max=False,
    )
    assert seq_lens.tolist() == [2, 1] and f_pad[0].tolist() == [1, 2, 0, 3, 0, 0]


# ---- behaviour RLlib code relies on -----------------------------------------------------------


class TwoStepEnv(gym.Env):
    """Episodes of two steps observing 8 then 9: RLlib's models see [8, 9, 0, 0], seq_lens 2."""

    observation_space = gym.spaces.Box(0.0, 10.0, (1,), np.float32)
    action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.array([8.0], np.float32), {}

    def step(self, action):
        self.t += 1
        obs = np.array([8.0 + self.t], np.float32)
        return obs, float(action), self.t >= 2, False, {}


class SpyGRU(Model):
    """Written as RLlib's TorchRNN examples are: numpy initial state, forward_rnn over [B, T]."""

    seen: list = []

    def __init__(self, obs_space, action_space, num_outputs, model_config, name):
        super().__init__(obs_space, action_space, num_outputs, model_config, name)
        self.gru = nn.GRU(1, 4, batch_first=True)
        self.head = nn.Linear(4, num_outputs)
        self.vf = nn.Linear(4, 1)

    def get_initial_state(self):
        return [np.zeros(4, np.float32)]  # RLlib's examples return numpy arrays

    def forward(self, input_dict, state, seq_lens):
        from rlkit.models import add_time_dimension

        flat = input_dict["obs_flat"]
        inputs = add_time_dimension(flat, seq_lens)  # [B*T, 1] -> [B, T, 1]
        if inputs.shape[1] > 1:
            SpyGRU.seen.append((inputs[..., 0].detach().clone(), seq_lens.clone()))
        out, h = self.gru(inputs, state[0].unsqueeze(0))
        self._value = self.vf(out).reshape(-1)
        return self.head(out).reshape(flat.shape[0], -1), [h[0]]

    def value_function(self):
        return self._value


def test_recurrent_model_gets_real_seq_lens_and_zero_padding():
    from rlkit.algorithms import ppo

    ModelCatalog.register_custom_model("spy_gru_rllib", SpyGRU)
    SpyGRU.seen.clear()
    config = {
        "num_envs": 1,
        "rollout_fragment_length": 12,
        "sgd_minibatch_size": 64,
        "num_sgd_iter": 1,
        "seed": 0,
        "model": {"custom_model": "spy_gru_rllib", "max_seq_len": 4},
    }
    trainer = ppo.PPOTrainer(env=TwoStepEnv, config=config)
    trainer.train()
    inputs, seq_lens = SpyGRU.seen[-1]
    assert inputs.shape[1] == 4 and len(seq_lens) >= 3
    for row, length in zip(inputs.tolist(), seq_lens.tolist()):
        assert (row, length) == ([8.0, 9.0, 0.0, 0.0], 2)
    # A numpy initial state also serves single-action inference, and state goes back in.
    action, state, _ = trainer.compute_single_action(np.array([8.0], np.float32))
    assert action in (0, 1) and isinstance(state[0], torch.Tensor) and state[0].shape == (4,)
    action, state, _ = trainer.compute_single_action(np.array([9.0], np.float32), state=state)
    assert state[0].shape == (4,)
    trainer.stop()


class L2Model(Model):
    """A custom loss written in one of the two forms; metrics() reports the L2 term."""

    list_form = True

    def __init__(self, obs_space, action_space, num_outputs, model_config, name):
        super().__init__(obs_space, action_space, num_outputs, model_config, name)
        self.net = nn.Linear(obs_space.shape[0], num_outputs)
        self.l2 = torch.zeros(())

    def forward(self, input_dict, state, seq_lens):
        return self.net(input_dict["obs_flat"]), state

    def custom_loss(self, policy_loss, loss_inputs):
        self.l2 = sum(p.pow(2).sum() for p in self.parameters())
        if self.list_form:  # RLlib's torch form: a list in, a list out
            return [loss_ + 0.5 * self.l2 for loss_ in policy_loss]
        return policy_loss + 0.5 * self.l2

    def metrics(self):
        return {"l2": self.l2.item()}


class L2TensorModel(L2Model):
    list_form = False


def test_custom_loss_list_form_and_tensor_form_train_the_same():
    from rlkit.algorithms import pg
    from rlkit.engines.learner import apply_custom_loss

    ModelCatalog.register_custom_model("l2_list", L2Model)
    ModelCatalog.register_custom_model("l2_tensor", L2TensorModel)
    weights, results = [], []
    for name in ("l2_list", "l2_tensor"):
        config = {"num_envs": 2, "rollout_fragment_length": 32, "seed": 3, "lr": 0.05}
        trainer = pg.PGTrainer(
            env="CartPole-v1", config={**config, "model": {"custom_model": name}}
        )
        for _ in range(2):
            results.append(trainer.train())
        weights.append(trainer.get_policy().model.net.weight.detach().clone())
        trainer.stop()
    torch.testing.assert_close(weights[0], weights[1], rtol=0, atol=0)
    # The L2 pulls weights in: both forms report it, flat and where RLlib reports it.
    result = results[1]
    assert result["info"]["learner"]["default_policy"]["model"]["l2"] == result["l2"] > 0
    assert result["info"]["learner"]["default_policy"]["learner_stats"]["l2"] == result["l2"]
    # The value optimised is policy_loss + 0.5 * L2 in both forms.
    model = L2Model(gym.spaces.Box(-1, 1, (2,)), gym.spaces.Discrete(2), 2, {}, "m")
    l2 = sum(float(p.detach().pow(2).sum()) for p in model.parameters())
    total = apply_custom_loss(model, torch.tensor(1.5), {})
    assert type(total) is torch.Tensor and total.item() == pytest.approx(1.5 + 0.5 * l2)
    model.custom_loss = lambda loss, inputs: [loss, loss]
    with pytest.raises(ValueError, match="returned 2 losses"):
        apply_custom_loss(model, torch.tensor(1.0), {})


# ---- offline data in RLlib's JSON format ------------------------------------------------------


def expert_action(obs: np.ndarray) -> int:
    """A CartPole controller that keeps the pole up: push towards where the pole falls."""
    return int(obs[2] + 0.5 * obs[3] > 0)


def write_rllib_lines(path, episodes: int, new_columns: bool, seed: int = 0) -> None:
    """Expert CartPole episodes as RLlib writes them: one SampleBatch per line."""
    import json

    env = gym.make("CartPole-v1", max_episode_steps=60)
    with open(path, "w") as f:
        for ep in range(episodes):
            obs, _ = env.reset(seed=seed + ep)
            rows = {k: [] for k in ("obs", "new_obs", "actions", "rewards", "eps_id", "t")}
            ends, infos = [], []
            for t in range(1000):
                action = expert_action(obs)
                new_obs, reward, terminated, truncated, _ = env.step(action)
                for key, value in zip(
                    rows, (obs.tolist(), new_obs.tolist(), action, reward, 1000 + ep, t)
                ):
                    rows[key].append(value)
                ends.append((terminated, truncated))
                infos.append({"TimeLimit.truncated": True} if truncated else {})
                obs = new_obs
                if terminated or truncated:
                    break
            line = {"type": "SampleBatch", **rows, "action_prob": [1.0] * len(ends)}
            if new_columns:
                line["terminateds"] = [a for a, _ in ends]
                line["truncateds"] = [b for _, b in ends]
                line["eps_id"] = [f"episode-{ep}"] * len(ends)  # RLlib's new stack: strings
            else:
                line["dones"] = [a or b for a, b in ends]
                line["infos"] = infos
            f.write(json.dumps(line) + "\n")


@pytest.mark.parametrize("new_columns", [False, True], ids=["dones", "terminateds"])
def test_reader_reads_rllib_sample_batch_lines(tmp_path, new_columns):
    from rlkit.offline import JsonReader

    path = tmp_path / "rllib.json"
    write_rllib_lines(path, episodes=2, new_columns=new_columns)
    data = JsonReader(str(path)).read_all()
    n = len(data["rewards"])
    assert data["obs"].shape == (n, 4) and data["actions"].dtype == np.int64
    assert data["action_logp"].tolist() == [0.0] * n  # log(action_prob 1.0)
    # Both episodes hit the 60-step limit: truncated at their last row, never terminated.
    assert n == 120 and not data["terminated"].any()
    assert np.flatnonzero(data["truncated"]).tolist() == [59, 119]
    first, last = data["eps_id"][0], data["eps_id"][-1]
    assert (data["eps_id"] == first).sum() == 60 and (data["eps_id"] == last).sum() == 60
    assert first != last and (new_columns or (first, last) == (1000, 1001))


def test_reader_rllib_line_errors_name_the_problem(tmp_path):
    import json

    from rlkit.offline import JsonReader

    def read(line):
        path = tmp_path / "bad.json"
        path.write_text(json.dumps(line) + "\n")
        return JsonReader(str(path)).read_all()

    good = {"obs": [[0.0]], "actions": [0], "rewards": [1.0], "dones": [True], "eps_id": [3]}
    with pytest.raises(ValueError, match=r"column 'obs' is compressed.*output_compress_columns"):
        read({**good, "action_logp": [0.0], "obs": "BCJNGGhAkAAAAAAAAAB..."})
    with pytest.raises(ValueError, match=r"lacks column\(s\) action_logp \(or action_prob\)"):
        read(good)
    with pytest.raises(ValueError, match=r"policies \['a', 'b'\]"):
        read({"type": "MultiAgentBatch", "policy_batches": {"a": good, "b": good}})
    one = read(
        {"type": "MultiAgentBatch", "policy_batches": {"p": {**good, "action_logp": [-1.0]}}}
    )
    assert one["terminated"].tolist() == [True] and one["action_logp"].tolist() == [-1.0]


def test_bc_imitates_an_expert_from_rllib_json_lines(tmp_path):
    from rlkit.algorithms import bc

    write_rllib_lines(tmp_path / "expert.json", episodes=10, new_columns=False)
    config = {
        "input": str(tmp_path / "expert.json"),
        "num_envs": 1,
        "rollout_fragment_length": 8,
        "seed": 0,
        "model": {"fcnet_hiddens": [32]},
    }
    trainer = bc.BCTrainer(env="CartPole-v1", config=config)
    for _ in range(10):
        trainer.train()
    from rlkit.offline import JsonReader

    write_rllib_lines(tmp_path / "held_out.json", episodes=3, new_columns=True, seed=100)
    obs = JsonReader(str(tmp_path / "held_out.json")).read_all()["obs"]
    agree = np.mean([trainer.compute_single_action(o) == expert_action(o) for o in obs])
    assert agree > 0.85, agree  # an untrained policy agrees about half the time
    trainer.stop()


# ---- distributions and preprocessors -------------------------------------------------------


def log_softmax(x):
    x = np.asarray(x, np.float64)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


def test_multicategorical_logp_takes_rllibs_list_of_components():
    from rlkit.distributions import MultiCategorical

    logits = torch.tensor([[0.0, 1.0, 0.5, -1.0, 2.0], [1.0, 0.0, 0.0, 0.0, 0.0]])
    dist = MultiCategorical(logits, None, input_lens=[2, 3])
    components = [torch.tensor([1, 0]), torch.tensor([2, 1])]  # RLlib: one [B] per component
    expected = [
        log_softmax([0.0, 1.0])[1] + log_softmax([0.5, -1.0, 2.0])[2],
        log_softmax([1.0, 0.0])[0] + log_softmax([0.0, 0.0, 0.0])[1],
    ]
    np.testing.assert_allclose(dist.logp(components).numpy(), expected, rtol=1e-6)
    np.testing.assert_allclose(dist.logp(torch.stack(components, 1)).numpy(), expected, rtol=1e-6)


NESTED_ACTIONS = gym.spaces.Tuple(
    (
        gym.spaces.Discrete(2),
        gym.spaces.Dict({"b": gym.spaces.Box(-1, 1, (2,)), "a": gym.spaces.Discrete(3)}),
    )
)


def test_multi_action_distribution_has_one_child_per_leaf():
    from rlkit.distributions import Categorical, DiagGaussian, MultiActionDistribution

    # RLlib's construction: flat lists over the leaves (depth first, Dict keys sorted).
    inputs = torch.randn(4, 2 + 3 + 4)
    dist = MultiActionDistribution(
        inputs,
        None,
        action_space=NESTED_ACTIONS,
        child_distributions=[Categorical, Categorical, DiagGaussian],
        input_lens=[2, 3, 4],
    )
    assert len(dist.children) == 3
    actions = dist.sample()
    assert actions[0].shape == (4,) and set(actions[1]) == {"a", "b"}
    assert actions[1]["b"].shape == (4, 2)
    by_leaf = (
        Categorical(inputs[:, :2]).logp(actions[0])
        + Categorical(inputs[:, 2:5]).logp(actions[1]["a"])
        + DiagGaussian(inputs[:, 5:]).logp(actions[1]["b"])
    )
    torch.testing.assert_close(dist.logp(actions), by_leaf)
    torch.testing.assert_close(dist.sampled_action_logp(), by_leaf)


def test_registered_multi_action_subclass_is_filled_in_with_its_children():
    from rlkit.distributions import MultiActionDistribution

    class HalfEntropy(MultiActionDistribution):
        def entropy(self):
            return 0.5 * super().entropy()

    ModelCatalog.register_custom_action_dist("half_entropy_rllib", HalfEntropy)
    dist_class, width = ModelCatalog.get_action_dist(
        NESTED_ACTIONS, {"custom_action_dist": "half_entropy_rllib"}
    )
    assert width == 9
    dist = dist_class(torch.zeros(3, width), None)
    assert isinstance(dist, HalfEntropy) and len(dist.children) == 3
    # Uniform logits and unit Gaussians: entropy ln 2 + ln 3 + 2 * 0.5 * ln(2 pi e), halved.
    full = np.log(2) + np.log(3) + np.log(2 * np.pi * np.e)
    np.testing.assert_allclose(dist.entropy().numpy(), [0.5 * full] * 3, rtol=1e-5)


def test_beta_inputs_stay_a_tensor():
    from rlkit.distributions import Beta

    dist = Beta(np.zeros((2, 4), np.float32), None)
    assert isinstance(dist.inputs, torch.Tensor) and dist.inputs.shape == (2, 4)
    # RLlib's .inputs are the concentrations: softplus(0) + 1 = log(2) + 1.
    assert torch.allclose(dist.inputs, torch.full((2, 4), float(np.log(2.0)) + 1.0))


def test_required_model_output_shape_may_return_rllibs_shape_tuple():
    from rlkit.distributions import ActionDistribution, DiagGaussian

    class TupleShaped(DiagGaussian):
        @staticmethod
        def required_model_output_shape(action_space, model_config):
            return (2 * action_space.shape[0],)  # RLlib's distributions return shapes

    class NumpyInt(DiagGaussian):
        @staticmethod
        def required_model_output_shape(action_space, model_config):
            return np.prod(action_space.shape) * 2  # a numpy integer

    space = gym.spaces.Box(-1, 1, (3,))
    for i, (cls, expected) in enumerate(((TupleShaped, (6,)), (NumpyInt, 6))):
        ModelCatalog.register_custom_action_dist(f"shaped_rllib_{i}", cls)
        config = {"custom_action_dist": f"shaped_rllib_{i}"}
        # RLlib returns the distribution's answer as it is: a tuple stays a tuple.
        assert ModelCatalog.get_action_dist(space, config)[1] == expected
        # The model's output width is its product either way.
        parts = ModelCatalog.assemble(gym.spaces.Box(-1, 1, (2,)), space, config)
        assert parts.num_outputs == parts.model.num_outputs == 6

    class Wrong(ActionDistribution):
        @staticmethod
        def required_model_output_shape(action_space, model_config):
            return "six"

    ModelCatalog.register_custom_action_dist("wrong_rllib", Wrong)
    with pytest.raises(ValueError, match="positive int"):
        ModelCatalog.get_action_dist(space, {"custom_action_dist": "wrong_rllib"})


class IntBoxBandit(gym.Env):
    """One-step episodes; reward -|a - target| summed, for an integer Box action in [-2, 2]."""

    observation_space = gym.spaces.Box(0.0, 1.0, (1,), np.float32)
    action_space = gym.spaces.Box(-2, 2, (2,), np.int64)
    target = np.array([1, -2])

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.ones(1, np.float32), {}

    def step(self, action):
        assert self.action_space.contains(np.asarray(action, np.int64)), action
        reward = -float(np.abs(np.asarray(action) - self.target).sum())
        return np.ones(1, np.float32), reward, True, False, {}


def test_integer_box_actions_get_a_multicategorical_and_learn():
    from rlkit.algorithms import ppo
    from rlkit.distributions import dist_name

    dist_class, width = ModelCatalog.get_action_dist(IntBoxBandit.action_space, {})
    assert dist_name(dist_class) == "MultiCategorical" and width == 10
    actions = dist_class(torch.zeros(500, 10), None).sample()
    assert actions.shape == (500, 2) and actions.min() == -2 and actions.max() == 2
    config = {"num_envs": 8, "rollout_fragment_length": 16, "lr": 0.01, "seed": 0}
    trainer = ppo.PPOTrainer(env=IntBoxBandit, config={**config, "model": {"fcnet_hiddens": [16]}})
    for _ in range(15):
        result = trainer.train()
    assert trainer.compute_single_action(np.ones(1, np.float32)).tolist() == [1, -2]
    assert result["episode_reward_mean"] > -1.0  # a uniform policy scores -2.4 on average
    trainer.stop()


def test_atari_ram_observations_are_scaled_like_rllib():
    ram = gym.spaces.Box(0, 255, (128,), np.uint8)
    prep = ModelCatalog.get_preprocessor_for_space(ram)
    obs = np.arange(128, dtype=np.uint8) * 2  # 0, 2, ..., 254
    out = prep.transform(obs)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, (obs.astype(np.float32) - 128) / 128)
    assert out.min() == -1.0 and out.max() < 1.0


# ---- module paths: python -m rlkit migrate ----------------------------------------------------

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]


def readme_block(marker: str) -> str:
    """The python block after ``<!-- marker -->`` in the README."""
    text = (ROOT / "README.md").read_text()
    after = text.split(f"<!-- {marker} -->", 1)[1]
    return after.split("```python\n", 1)[1].split("```", 1)[0]


def test_migrate_turns_the_readme_rllib_script_into_the_rlkit_one_which_runs(
    tmp_path, capsys, monkeypatch
):
    import runpy

    from rlkit.__main__ import main

    old, new = tmp_path / "train_rllib.py", tmp_path / "train_rlkit.py"
    old.write_text(readme_block("rllib-before"))
    assert main(["migrate", str(old), "-o", str(new)]) == 0  # 0: nothing left by hand
    assert new.read_text() == readme_block("rllib-after")
    report = capsys.readouterr().err
    assert "nothing left to do by hand" in report and "removed ray.init()" in report
    monkeypatch.chdir(tmp_path)
    runpy.run_path(str(new), run_name="__main__")  # the migrated script trains and acts
    assert capsys.readouterr().out.splitlines()[-1] in ("action: 0", "action: 1")


def test_migrate_lists_what_it_cannot_map_with_line_numbers():
    from rlkit.migrate.compat import RLlibNameError
    from rlkit.migrate.rewrite import migrate_source

    source = (
        "import ray\n"
        "from ray import tune\n"
        "from ray.rllib.models.tf.tf_modelv2 import TFModelV2\n"
        "from ray.rllib.utils.torch_utils import FLOAT_MIN, FLOAT_MAX\n"
        "from ray.rllib.agents.ppo import PPOTrainer\n"
        'config = {"lr": 1e-3, "framework": "tf", "callbacks": object,\n'
        '          "model": {"fcnet_hiddens": [8], "fcnet_hidens": [8]}}\n'
        'config["monitor"] = True\n'
        "class TFModel(TFModelV2):\n"
        "    pass\n"
        "ray.shutdown()\n"
    )
    new, report = migrate_source(source)
    assert "from rlkit.utils.torch_utils import FLOAT_MIN, FLOAT_MAX\n" in new
    assert "from rlkit.algorithms.ppo import PPOTrainer\n" in new
    assert '"framework": "torch"' in new and "ray.shutdown" not in new
    assert "import ray" not in new  # nothing uses ray any more
    todo = "\n".join(report.unmapped)
    assert "line 3: ray.rllib.models.tf.tf_modelv2.TFModelV2: rlkit is PyTorch only" in todo
    assert "line 2: ray.tune: loop over trainer.train()" in todo
    assert "line 6: config key 'callbacks'" in todo and "'lr'" not in todo
    assert "line 6: model config key 'fcnet_hidens'" in todo
    assert "line 8: config key 'monitor'" in todo
    # What has no counterpart is a stand-in: the script loads (a TF class nobody builds costs
    # nothing), and using it raises rlkit's named error with the line, not "No module named".
    namespace: dict = {}
    exec(compile(new, "migrated.py", "exec"), namespace)
    with pytest.raises(RLlibNameError, match=r"TFModelV2 \(imported at line 3\).*PyTorch only"):
        namespace["TFModel"]()
    with pytest.raises(RLlibNameError, match=r"ray.tune \(imported at line 2\).*trainer.train"):
        namespace["tune"].run("PPO", config=namespace["config"])


def test_migration_guide_shows_the_tools_table():
    from rlkit.migrate.table import markdown_table

    guide = (ROOT / "docs" / "MIGRATING_FROM_RLLIB.md").read_text()
    start, end = "<!-- migrate-table:start -->\n", "<!-- migrate-table:end -->"
    assert guide.split(start, 1)[1].split(end, 1)[0] == markdown_table()
