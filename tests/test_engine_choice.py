"""The engine is a named, visible choice: config ``engine`` picks it, every train() result,
explain() and trace() name it and say why, and "numpy" where it cannot run is an error."""

import gymnasium as gym
import numpy as np
import pytest

from rlkit import ModelCatalog
from rlkit.algorithms import A2C, PG, PPO
from rlkit.models.fcnet import FullyConnectedNetwork
from rlkit.policy import Policy

SMALL = {"seed": 0, "num_envs": 2, "rollout_fragment_length": 16, "model": {"fcnet_hiddens": [8]}}


class Doubled(FullyConnectedNetwork):
    """A user's model: the built-in MLP with its outputs doubled."""

    def forward(self, input_dict, state, seq_lens):
        outputs, state = super().forward(input_dict, state, seq_lens)
        return 2.0 * outputs, state


AUTO = {"engine": "auto"}
CHOICES = [
    # (algorithm, env, config, engine that runs, words of the reason)
    (PPO, "CartPole-v1", {}, "torch", "engine='torch': every model, distribution and loss"),
    (A2C, "Pendulum-v1", {}, "torch", "engine='torch': every model, distribution and loss"),
    (PPO, "CartPole-v1", AUTO, "numpy", "auto: the built-in MLP with Categorical and PPO's loss"),
    (A2C, "Pendulum-v1", AUTO, "numpy", "auto: the built-in MLP with DiagGaussian and A2C's loss"),
    (PPO, "CartPole-v1", {"engine": "numpy"}, "numpy", "engine='numpy' in the config"),
    (PG, "CartPole-v1", AUTO, "torch", "auto: PG's loss has no numpy twin"),
    (PPO, "CartPole-v1", {**AUTO, "model": {"use_lstm": True}}, "torch", "auto: the model is LSTM"),
    (
        PPO,
        "Pendulum-v1",
        {**AUTO, "model": {"custom_action_dist": "Beta"}},
        "torch",
        "Beta has no numpy",
    ),
    (PPO, "CartPole-v1", {**AUTO, "model": {"fcnet_activation": "elu"}}, "torch", "than Linear"),
]


@pytest.mark.parametrize(
    "algo,env,config,name,reason",
    CHOICES,
    ids=[f"{c[0].__name__}-{c[3]}-{i}" for i, c in enumerate(CHOICES)],  # fmt: skip
)
def test_each_choice_is_named_in_results_explain_and_trace(algo, env, config, name, reason):
    model = {**SMALL["model"], **config.get("model", {})}
    trainer = algo(env=env, config={**SMALL, **config, "model": model})
    result = trainer.train()
    assert result["engine"] == name
    assert reason in result["engine_reason"]
    policy = trainer.get_policy()
    assert policy.engine is trainer.engine  # acting and learning run on one engine
    assert f"engine        {name} ({result['engine_reason']})" in str(policy.explain())
    obs, _ = gym.make(env).reset(seed=0)
    model_stage = next(s for s in policy.trace(obs) if s.name == "model")
    assert model_stage.details["engine"] == name
    assert model_stage.details["engine_reason"] == result["engine_reason"]


@pytest.mark.parametrize(
    "algo,env,model,why",
    [
        (PG, "CartPole-v1", {}, "PG's loss has no numpy twin"),
        (PPO, "CartPole-v1", {"use_lstm": True}, "the model is LSTMWrapper"),
        (PPO, "Pendulum-v1", {"custom_action_dist": "Beta"}, "Beta has no numpy twin"),
        (PPO, "CartPole-v1", {"custom_model": "engine_doubled"}, "the model is Doubled"),
        (PPO, "Pendulum-v1", {"free_log_std": True}, "free_log_std"),
    ],
)
def test_numpy_where_it_is_no_exact_twin_is_an_error_at_build_time(algo, env, model, why):
    ModelCatalog.register_custom_model("engine_doubled", Doubled)
    with pytest.raises(ValueError, match="engine='numpy' cannot run this") as err:
        algo(env=env, config={**SMALL, "engine": "numpy", "model": model})
    assert why in str(err.value)
    assert "engine='auto'" in str(err.value) and "'torch'" in str(err.value)


def test_an_unknown_engine_names_the_key_and_the_choices():
    with pytest.raises(ValueError, match="config key 'engine' takes 'auto'.*got 'jax'"):
        PPO(env="CartPole-v1", config={"engine": "jax"})
    box = gym.spaces.Box(-1.0, 1.0, (4,), np.float32)
    with pytest.raises(ValueError, match="config key 'engine'"):
        Policy(box, gym.spaces.Discrete(2), {"engine": "fast"})


def test_a_hook_after_build_makes_auto_choose_torch_and_numpy_an_error(seed):
    auto = PPO(env="CartPole-v1", config={**SMALL, **AUTO})
    seen = []
    auto.get_policy().model.register_forward_hook(lambda *args: seen.append(1))
    result = auto.train()
    assert result["engine"] == "torch" and "forward hook" in result["engine_reason"]
    assert seen  # the hook saw the rollout's forwards

    strict = PPO(env="CartPole-v1", config={**SMALL, "engine": "numpy"})
    strict.get_policy().model.register_forward_hook(lambda *args: None)
    with pytest.raises(ValueError, match="forward hook is registered on the model"):
        strict.train()
    with pytest.raises(RuntimeError, match="engine='numpy' cannot run the model any more"):
        strict.get_policy().compute_actions(np.zeros((1, 4), np.float32))


def test_engine_torch_runs_the_code_a_student_reads(monkeypatch):
    """An edit to PPO.loss or FullyConnectedNetwork.forward runs by default and with
    engine="torch"; "auto" (an opt-in) runs their numpy twin instead."""
    calls = {"loss": 0, "forward": 0}
    loss, forward = PPO.loss, FullyConnectedNetwork.forward

    def counted_loss(self, *args):
        calls["loss"] += 1
        return loss(self, *args)

    def counted_forward(self, *args):
        calls["forward"] += 1
        return forward(self, *args)

    monkeypatch.setattr(PPO, "loss", counted_loss)
    monkeypatch.setattr(FullyConnectedNetwork, "forward", counted_forward)
    for engine, runs in ((None, True), ("auto", False), ("torch", True)):
        config = SMALL if engine is None else {**SMALL, "engine": engine}
        trainer = PPO(env="CartPole-v1", config=config)
        calls.update(loss=0, forward=0)
        result = trainer.train()
        assert (calls["loss"] > 0) is runs and (calls["forward"] > 0) is runs, (engine, calls)
        assert result["engine"] == ("numpy" if engine == "auto" else "torch")
