"""Unit tests for rlkit.models: built-in networks, the Model call contract, LSTM, sequences."""

import ast
import copy

import numpy as np
import pytest
import torch
from gymnasium import spaces
from torch import nn

from rlkit.models import (
    FullyConnectedNetwork,
    LSTMWrapper,
    Model,
    RecurrentModel,
    VisionNetwork,
    add_time_dimension,
    conv_output_shapes,
    get_activation,
    get_filter_config,
    mask,
    pad_batch,
    sequence_lengths,
    suggest_conv_filters,
)

BOX4 = spaces.Box(-1.0, 1.0, (4,), np.float32)


def fcnet(num_outputs=2, **config):
    config.setdefault("fcnet_hiddens", [8, 8])
    return FullyConnectedNetwork(BOX4, spaces.Discrete(2), num_outputs, config, "fc")


def linears(module):
    return [m for m in module.modules() if isinstance(m, nn.Linear)]


# ---- activations and init ---------------------------------------------------------------


@pytest.mark.parametrize(
    "name, x, expected",
    [
        ("tanh", 1.0, np.tanh(1.0)),
        ("relu", -1.0, 0.0),
        ("elu", -1.0, np.exp(-1.0) - 1.0),
        ("swish", 1.0, 1.0 / (1.0 + np.exp(-1.0))),
        ("silu", 2.0, 2.0 / (1.0 + np.exp(-2.0))),
        ("sigmoid", 0.0, 0.5),
        ("linear", -3.0, -3.0),
        (None, 5.0, 5.0),
    ],
)
def test_get_activation_matches_closed_form(name, x, expected):
    assert get_activation(name)(torch.tensor(x)).item() == pytest.approx(expected, abs=1e-6)


def test_get_activation_unknown_name_lists_valid_ones():
    with pytest.raises(ValueError, match="unknown activation 'relu6'.*tanh"):
        get_activation("relu6")


def test_fcnet_init_normc_rows_and_zero_bias(seed):
    model = fcnet(3, vf_share_layers=False)
    hidden = linears(model._hidden)
    for layer in hidden + linears(model._value_tower):
        assert torch.allclose(layer.weight.norm(dim=1), torch.ones(layer.out_features))
        assert torch.all(layer.bias == 0)
    assert torch.allclose(model._logits.weight.norm(dim=1), torch.full((3,), 0.01))
    assert model._value_head.weight.norm().item() == pytest.approx(1.0)


# ---- FullyConnectedNetwork ----------------------------------------------------------------


def test_fcnet_matches_numpy_forward(seed):
    model = fcnet(3, fcnet_hiddens=[5], post_fcnet_hiddens=[4], post_fcnet_activation="relu")
    obs = np.random.randn(6, 4).astype(np.float32)
    out, state = model({"obs": obs})
    (w1, b1), (w2, b2), (w3, b3) = [
        (m.weight.detach().numpy(), m.bias.detach().numpy()) for m in linears(model)[:3]
    ]
    expected = np.maximum(np.tanh(obs @ w1.T + b1) @ w2.T + b2, 0.0) @ w3.T + b3
    np.testing.assert_allclose(out.detach().numpy(), expected, atol=1e-5)
    assert state == []


@pytest.mark.parametrize(
    "config, num_outputs, width, n_linear",
    [
        ({}, 2, 2, 3 + 1),  # two hidden, logits, value head
        ({"fcnet_hiddens": [16]}, 5, 5, 2 + 1),
        ({"fcnet_hiddens": []}, 3, 3, 1 + 1),
        ({"post_fcnet_hiddens": [6]}, 4, 4, 4 + 1),
        ({"no_final_linear": True}, 2, 2, 2 + 1),
        ({"free_log_std": True}, 6, 6, 3 + 1),
        ({"vf_share_layers": False}, 2, 2, 3 + 3),
    ],
)
def test_fcnet_output_widths(config, num_outputs, width, n_linear):
    model = fcnet(num_outputs, **config)
    out, _ = model({"obs": torch.zeros(7, 4)})
    assert out.shape == (7, width)
    assert model.value_function().shape == (7,)
    assert len(linears(model)) == n_linear


def test_fcnet_feature_extractor_takes_last_hidden_width():
    model = fcnet(None, fcnet_hiddens=[8, 12], post_fcnet_hiddens=[5])
    out, _ = model({"obs": torch.zeros(3, 4)})
    assert model.num_outputs == 5 and out.shape == (3, 5)
    assert model._logits is None and model._value_head is None
    with pytest.raises(ValueError, match="feature extractor.*no value head"):
        model.value_function()


def test_fcnet_no_final_linear_last_hidden_is_output(seed):
    model = fcnet(3, fcnet_hiddens=[8, 8], no_final_linear=True)
    widths = [layer.out_features for layer in linears(model._hidden)]
    assert widths == [8, 3] and model._logits is None
    out, _ = model({"obs": torch.randn(50, 4) * 10})
    assert out.abs().max() <= 1.0  # tanh of the last hidden layer, no linear after it


def test_fcnet_free_log_std_is_a_learned_state_independent_parameter(seed):
    model = fcnet(6, free_log_std=True)
    assert model.log_std.shape == (3,) and torch.all(model.log_std == 0)
    assert model._logits.out_features == 3
    with torch.no_grad():
        model.log_std.copy_(torch.tensor([0.1, -0.2, 0.3]))
    out, _ = model({"obs": torch.randn(4, 4)})
    assert torch.equal(out[:, 3:], torch.tensor([[0.1, -0.2, 0.3]]).expand(4, 3))
    out[:, 3:].sum().backward()
    assert torch.allclose(model.log_std.grad, torch.full((3,), 4.0))


def test_fcnet_free_log_std_odd_outputs_is_an_error():
    with pytest.raises(ValueError, match="free_log_std needs an even num_outputs.*=3"):
        fcnet(3, free_log_std=True)


def test_fcnet_separate_value_network_has_its_own_parameters(seed):
    model = fcnet(2, vf_share_layers=False)
    value_params = {id(p) for p in model._value_tower.parameters()}
    policy_params = {id(p) for p in model._hidden.parameters()}
    assert value_params and not value_params & policy_params
    model({"obs": torch.randn(5, 4)})
    model.value_function().sum().backward()
    assert all(p.grad is None for p in model._hidden.parameters())
    assert all(p.grad is not None for p in model._value_tower.parameters())


def test_fcnet_shared_value_head_trains_shared_layers(seed):
    model = fcnet(2, vf_share_layers=True)
    model({"obs": torch.randn(5, 4)})
    model.value_function().sum().backward()
    assert all(p.grad is not None for p in model._hidden.parameters())


def test_fcnet_wrong_input_width_names_the_model():
    with pytest.raises(ValueError, match="'fc'.*built for 4 input features.*\\[3, 5\\]"):
        fcnet(2)({"obs": torch.zeros(3, 5)})


def test_value_function_before_forward_and_deepcopy_after_forward():
    model = fcnet(2)
    with pytest.raises(ValueError, match="call the model on a batch before value_function"):
        model.value_function()
    model({"obs": torch.zeros(2, 4)})
    clone = copy.deepcopy(model)  # the cached features of the forward are not copied
    assert torch.equal(clone._logits.weight, model._logits.weight)
    with pytest.raises(ValueError, match="before value_function"):
        clone.value_function()


# ---- VisionNetwork ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "size, last_hw",
    [(84, (1, 1)), (42, (1, 1)), (64, (3, 3)), (96, (1, 1)), (10, (1, 1))],
)
def test_vision_default_stacks(size, last_hw):
    filters = get_filter_config((size, size, 3))
    shapes = conv_output_shapes((size, size), filters)
    assert shapes[-1][1:] == last_hw
    space = spaces.Box(0.0, 1.0, (size, size, 3), np.float32)
    model = VisionNetwork(space, spaces.Discrete(5), 5, None, "vision")
    out, _ = model({"obs": torch.zeros(2, size, size, 3)})
    assert out.shape == (2, 5) and model.value_function().shape == (2,)
    name, shape = model.layer_shapes[-2]
    assert name == ("squeeze 1x1" if last_hw == (1, 1) else "flatten")
    assert shape == (filters[-1][0] * last_hw[0] * last_hw[1],)


def test_conv_output_shapes_match_torch_layers():
    filters = [[4, [5, 3], [2, 1]], [6, 3, 3], [8, [2, 4], 2]]
    shapes = conv_output_shapes((23, 17), filters)
    # same: ceil(23/2)=12, ceil(17/1)=17; ceil(12/3)=4, ceil(17/3)=6; valid: (4-2)//2+1=2, 2
    assert shapes == [(4, 12, 17), (6, 4, 6), (8, 2, 2)]
    model = VisionNetwork(
        spaces.Box(0.0, 1.0, (23, 17, 2)), spaces.Discrete(2), 2, {"conv_filters": filters}, "v"
    )
    x = torch.zeros(1, 2, 23, 17)
    seen = []
    for layer in model._trunk_net[0]:
        x = layer(x)
        if isinstance(layer, nn.Conv2d):
            seen.append(tuple(x.shape[1:]))
    assert seen == shapes


def test_vision_stack_that_does_not_fit_proposes_a_working_one():
    space = spaces.Box(0.0, 1.0, (42, 42, 3), np.float32)
    config = {"conv_filters": [[16, [8, 8], 4], [32, [4, 4], 2], [256, [11, 11], 1]]}
    with pytest.raises(ValueError, match="model 'v' \\(VisionNetwork\\).*layer 2") as info:
        VisionNetwork(space, spaces.Discrete(2), 2, config, "v")
    message = str(info.value)
    assert "6x6 input" in message and "11x11 kernel" in message
    proposed = ast.literal_eval(message.split('"conv_filters": ')[1])
    model = VisionNetwork(space, spaces.Discrete(2), 2, {"conv_filters": proposed}, "v")
    assert model({"obs": torch.zeros(1, 42, 42, 3)})[0].shape == (1, 2)


@pytest.mark.parametrize("h, w", [(7, 7), (1, 1), (50, 30), (210, 160), (12, 11)])
def test_suggested_stacks_fit_and_end_at_1x1(h, w):
    assert conv_output_shapes((h, w), suggest_conv_filters(h, w))[-1][1:] == (1, 1)


def test_vision_options_post_fcnet_features_and_separate_value_tower(seed):
    space = spaces.Box(0.0, 1.0, (10, 10, 2), np.float32)
    config = {"post_fcnet_hiddens": [7], "vf_share_layers": False}
    model = VisionNetwork(space, spaces.Discrete(3), 3, config, "v")
    assert [n for n, _ in model.layer_shapes][-2:] == ["fc1", "logits"]
    out, _ = model({"obs": np.random.rand(4, 10, 10, 2)})
    assert out.shape == (4, 3)
    model.value_function().sum().backward()
    assert all(p.grad is None for p in model._trunk_net.parameters())
    features = VisionNetwork(space, spaces.Discrete(3), None, {}, "v")
    out, _ = features({"obs": torch.zeros(1, 10, 10, 2)})
    assert features.num_outputs == 32 and out.shape == (1, 32)


def test_vision_no_final_linear_uses_last_conv_or_explains():
    space84 = spaces.Box(0.0, 1.0, (84, 84, 1), np.float32)
    model = VisionNetwork(space84, spaces.Discrete(6), 6, {"no_final_linear": True}, "v")
    assert model._logits is None and model.layer_shapes[-2][1] == (6, 1, 1)
    assert model({"obs": torch.zeros(2, 84, 84, 1)})[0].shape == (2, 6)
    space64 = spaces.Box(0.0, 1.0, (64, 64, 1), np.float32)
    with pytest.raises(ValueError, match="must reach 1x1, but it gives 3x3"):
        VisionNetwork(space64, spaces.Discrete(6), 6, {"no_final_linear": True}, "v")


def test_vision_rejects_wrong_image_shape():
    model = VisionNetwork(spaces.Box(0.0, 1.0, (10, 10, 3)), spaces.Discrete(2), 2, {}, "v")
    with pytest.raises(ValueError, match=r"built for images \[10, 10, 3\].*\[2, 10, 10, 1\]"):
        model({"obs": torch.zeros(2, 10, 10, 1)})


# ---- the Model call contract --------------------------------------------------------------


class WrongWidth(Model):
    def forward(self, input_dict, state, seq_lens):
        return torch.zeros(input_dict["obs_flat"].shape[0], 5), state


class DictState(Model):
    def forward(self, input_dict, state, seq_lens):
        return torch.zeros(input_dict["obs_flat"].shape[0], self.num_outputs), {"h": 0}


class Recorder(Model):
    """Remembers the input_dict its forward saw."""

    def forward(self, input_dict, state, seq_lens):
        self.seen = input_dict
        return input_dict["obs_flat"].sum(1, keepdim=True), tuple(state)


def test_wrong_output_width_names_model_class_and_shapes():
    model = WrongWidth(BOX4, spaces.Discrete(2), 2, None, "my_model")
    expected = (
        "model 'my_model' (WrongWidth) returned outputs of shape [32, 5] but the action "
        "distribution needs [32, 2] (num_outputs=2)"
    )
    with pytest.raises(ValueError) as info:
        model({"obs": torch.zeros(32, 4)})
    assert str(info.value) == expected


def test_state_that_is_not_a_list_is_an_error():
    model = DictState(BOX4, spaces.Discrete(2), 2, None, "my_model")
    with pytest.raises(ValueError, match="'my_model' \\(DictState\\).*dict.*a list of tensors"):
        model({"obs": torch.zeros(3, 4)})
    with pytest.raises(ValueError, match="'my_model'.*str.*a list of tensors"):
        Recorder(BOX4, spaces.Discrete(2), 1, None, "my_model")({"obs": torch.zeros(3, 4)}, "h")


def test_call_fills_input_dict_without_touching_the_callers():
    model = Recorder(BOX4, spaces.Discrete(2), 1, None, "rec")
    given = {"obs": np.ones((3, 4))}
    out, state = model(given, (torch.zeros(3, 2),))
    assert set(given) == {"obs"} and isinstance(given["obs"], np.ndarray)
    seen = model.seen
    assert isinstance(seen["obs"], torch.Tensor) and seen["obs"].dtype == torch.float32
    assert seen["is_training"] is False and "prev_actions" not in seen
    assert torch.equal(out, torch.full((3, 1), 4.0))
    assert isinstance(state, list) and state[0].shape == (3, 2)
    assert model.model_config["fcnet_hiddens"] == [256, 256]  # None -> MODEL_DEFAULTS


def test_call_flattens_images_and_nested_observations_in_canonical_order():
    image_space = spaces.Box(0.0, 1.0, (2, 3, 1), np.float32)
    model = Recorder(image_space, spaces.Discrete(2), 1, None, "rec")
    model({"obs": torch.arange(12.0).reshape(2, 2, 3, 1)})
    assert model.seen["obs"].shape == (2, 2, 3, 1) and model.seen["obs_flat"].shape == (2, 6)
    obs = {"b": torch.ones(2, 1), "a": (torch.zeros(2, 2), torch.full((2, 2, 1), 2.0))}
    model({"obs": obs})
    expected = torch.tensor([[0.0, 0.0, 2.0, 2.0, 1.0]]).expand(2, 5)
    assert torch.equal(model.seen["obs_flat"], expected) and model.seen["obs"] is not obs


def test_call_restores_flat_tuple_and_dict_observations():
    from rlkit.preprocessors import get_preprocessor

    space = spaces.Dict({"pos": spaces.Box(-1.0, 1.0, (2,)), "cell": spaces.Discrete(3)})
    prep = get_preprocessor(space)(space)
    flat = np.stack([prep.transform(space.sample()) for _ in range(4)])
    model = Recorder(prep.observation_space, spaces.Discrete(2), 1, None, "rec")
    model({"obs": flat})
    seen = model.seen
    assert set(seen["obs"]) == {"pos", "cell"} and seen["obs"]["cell"].shape == (4, 3)
    assert torch.equal(seen["obs_flat"], torch.as_tensor(flat, dtype=torch.float32))


def test_single_observation_without_batch_dim_is_explained():
    with pytest.raises(ValueError, match=r"without a batch dimension; pass obs\[None\]"):
        fcnet(2)({"obs": np.zeros(4)})


def test_default_value_function_says_what_to_implement():
    model = WrongWidth(BOX4, spaces.Discrete(2), 2, None, "m")
    with pytest.raises(NotImplementedError, match="implement value_function.*critic"):
        model.value_function()
    assert model.custom_loss(1.5, {}) == 1.5 and model.metrics() == {}
    assert model.get_initial_state() == [] and not model.is_recurrent()


class BatchNormModel(Model):
    def __init__(self, obs_space, action_space, num_outputs, model_config, name):
        super().__init__(obs_space, action_space, num_outputs, model_config, name)
        self.net = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Linear(8, num_outputs))

    def forward(self, input_dict, state, seq_lens):
        return self.net(input_dict["obs_flat"]), state


def test_batch_norm_follows_is_training(seed):
    model = BatchNormModel(BOX4, spaces.Discrete(2), 2, None, "bn")
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(5):
        out, _ = model({"obs": torch.randn(16, 4) * 3 + 1, "is_training": True})
        assert model.training and model.net[1].training
        optimizer.zero_grad()
        out.pow(2).mean().backward()
        optimizer.step()
    obs = torch.randn(16, 4) * 3 + 1
    with torch.no_grad():
        train_out, _ = model({"obs": obs, "is_training": True})
        eval_out, _ = model({"obs": obs})
    assert not model.training and not model.net[1].training
    assert model.net[1].num_batches_tracked.item() == 6
    assert not torch.allclose(train_out, eval_out, atol=1e-3)
    batch = model.net[0](obs)  # eval uses the running statistics, train the batch's
    mean, var = batch.mean(0), batch.var(0, unbiased=False)
    expected = model.net[2](
        (batch - mean) / torch.sqrt(var + 1e-5) * model.net[1].weight + model.net[1].bias
    )
    assert torch.allclose(train_out, expected, atol=1e-4)


# ---- LSTMWrapper --------------------------------------------------------------------------


def lstm(action_space=None, num_outputs=3, **config):
    action_space = action_space or spaces.Discrete(3)
    config = {"fcnet_hiddens": [6], "lstm_cell_size": 5, **config}
    inner = FullyConnectedNetwork(BOX4, action_space, None, config, "inner")
    return LSTMWrapper(inner, BOX4, action_space, num_outputs, config, "lstm")


def test_lstm_state_shapes_and_inner_parameters_train(seed):
    model = lstm()
    assert [s.shape for s in model.get_initial_state()] == [(5,), (5,)]
    assert model.is_recurrent()
    obs, seq_lens = torch.randn(6, 4), torch.tensor([2, 2, 2])
    out, state = model({"obs": obs}, None, seq_lens)
    assert out.shape == (6, 3) and [s.shape for s in state] == [(3, 5), (3, 5)]
    zeros = [torch.zeros(3, 5), torch.zeros(3, 5)]  # what state=None stands for
    assert torch.equal(model({"obs": obs}, zeros, seq_lens)[0], out)
    assert not torch.equal(model({"obs": obs}, state, seq_lens)[0], out)
    assert model.value_function().shape == (6,)
    out.sum().backward()
    assert all(p.grad is not None for p in model.inner.parameters())


def sequence_vs_steps(model, obs, extra, B, T):
    """Outputs of one [B*T] call and of T single-step calls carrying the state."""
    seq_out, seq_state = model({"obs": obs, **extra}, None, torch.full((B,), T))
    seq_value = model.value_function()
    state, step_outs, step_values = None, [], []
    rows = torch.arange(B) * T  # row of step t of each sequence: b*T + t
    for t in range(T):
        step = {k: v[rows + t] for k, v in {"obs": obs, **extra}.items()}
        out, state = model(step, state)
        step_outs.append(out)
        step_values.append(model.value_function())
    step_out = torch.stack(step_outs, 1).reshape(B * T, -1)  # [B, T, n] -> [N, n]
    step_value = torch.stack(step_values, 1).reshape(B * T)
    return (seq_out, seq_value, seq_state), (step_out, step_value, state)


def test_lstm_sequence_equals_single_steps_with_state(seed):
    model = lstm(lstm_use_prev_action=True, lstm_use_prev_reward=True)
    B, T = 3, 4
    extra = {"prev_actions": torch.randint(0, 3, (B * T,)), "prev_rewards": torch.randn(B * T)}
    (out, value, state), (step_out, step_value, step_state) = sequence_vs_steps(
        model, torch.randn(B * T, 4), extra, B, T
    )
    torch.testing.assert_close(out, step_out, atol=1e-5, rtol=0)
    torch.testing.assert_close(value, step_value, atol=1e-5, rtol=0)
    for a, b in zip(state, step_state):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=0)


def test_lstm_padded_sequence_returns_state_after_last_real_step(seed):
    model = lstm()
    obs = torch.randn(6, 4)
    _, state = model({"obs": obs}, None, [3, 1])  # rows 4, 5 are padding
    _, short = model({"obs": obs[3:4]}, None)
    torch.testing.assert_close(state[0][1], short[0][0], atol=1e-6, rtol=0)


def lstm_inputs(model, input_dict):
    seen = []
    handle = model.lstm.register_forward_pre_hook(lambda module, args: seen.append(args[0]))
    model(input_dict)
    handle.remove()
    return seen[0][:, 0]  # [N, 1, D'] -> [N, D']


@pytest.mark.parametrize(
    "space, prev, expected",
    [
        (spaces.Discrete(3), [2, 0], [[0, 0, 1], [1, 0, 0]]),
        (spaces.Discrete(3, start=1), np.array([1, 3]), [[1, 0, 0], [0, 0, 1]]),
        (spaces.MultiDiscrete([2, 3]), [[1, 2], [0, 0]], [[0, 1, 0, 0, 1], [1, 0, 1, 0, 0]]),
        (spaces.Box(-1.0, 1.0, (2,)), [[0.5, -0.5], [1.0, 0.0]], [[0.5, -0.5], [1.0, 0.0]]),
    ],
)
def test_lstm_prev_action_encoding(space, prev, expected):
    model = lstm(space, 2, lstm_use_prev_action=True, lstm_use_prev_reward=True)
    prev = prev if isinstance(prev, np.ndarray) else torch.tensor(prev)
    inputs = lstm_inputs(
        model,
        {"obs": torch.zeros(2, 4), "prev_actions": prev, "prev_rewards": torch.tensor([1.5, -2.0])},
    )
    width = len(expected[0])
    assert inputs.shape == (2, 6 + width + 1)
    assert torch.equal(inputs[:, 6:-1], torch.tensor(expected, dtype=torch.float32))
    assert torch.equal(inputs[:, -1], torch.tensor([1.5, -2.0]))


def test_lstm_missing_prev_action_says_what_to_pass():
    model = lstm(lstm_use_prev_action=True)
    with pytest.raises(ValueError, match="lstm_use_prev_action=True.*needs 'prev_actions'"):
        model({"obs": torch.zeros(2, 4)})
    with pytest.raises(ValueError, match="lstm_use_prev_reward=True.*needs 'prev_rewards'"):
        lstm(lstm_use_prev_reward=True)({"obs": torch.zeros(2, 4)})


def test_lstm_free_log_std_and_delegated_loss_and_metrics():
    class WithLoss(FullyConnectedNetwork):
        def custom_loss(self, policy_loss, loss_inputs):
            return policy_loss + 1.0

        def metrics(self):
            return {"aux": 2.0}

    config = {"fcnet_hiddens": [6], "lstm_cell_size": 5}
    inner = WithLoss(BOX4, spaces.Box(-1.0, 1.0, (2,)), 5, config, "inner")
    config["free_log_std"] = True  # the wrapper's outputs are the distribution's inputs
    model = LSTMWrapper(inner, BOX4, spaces.Box(-1.0, 1.0, (2,)), 4, config, "lstm")
    out, _ = model({"obs": torch.zeros(3, 4)})
    assert out.shape == (3, 4) and torch.equal(out[:, 2:], torch.zeros(3, 2))
    assert model.custom_loss(1.0, {}) == 2.0 and model.metrics() == {"aux": 2.0}


# ---- RecurrentModel -----------------------------------------------------------------------


class GRUModel(RecurrentModel):
    """seed's custom_rnn_model: dense -> GRU -> logits, with a value head."""

    def __init__(self, obs_space, action_space, num_outputs, model_config, name):
        super().__init__(obs_space, action_space, num_outputs, model_config, name)
        self.fc = nn.Linear(4, 8)
        self.gru = nn.GRU(8, 6, batch_first=True)
        self.logits = nn.Linear(6, num_outputs)
        self.value = nn.Linear(6, 1)

    def get_initial_state(self):
        return [torch.zeros(6)]

    def forward_rnn(self, inputs, state, seq_lens):
        out, h = self.gru(torch.relu(self.fc(inputs)), state[0].unsqueeze(0))  # [B, T, 6]
        self._features = out
        return self.logits(out), [h[0]]

    def value_function(self):
        return self.value(self._features).reshape(-1)  # [B, T, 1] -> [N]


def test_recurrent_model_sequence_equals_single_steps(seed):
    model = GRUModel(BOX4, spaces.Discrete(2), 2, None, "gru")
    B, T = 2, 5
    (out, value, state), (step_out, step_value, step_state) = sequence_vs_steps(
        model, torch.randn(B * T, 4), {}, B, T
    )
    assert out.shape == (B * T, 2) and state[0].shape == (B, 6)
    torch.testing.assert_close(out, step_out, atol=1e-5, rtol=0)
    torch.testing.assert_close(value, step_value, atol=1e-5, rtol=0)
    torch.testing.assert_close(state[0], step_state[0], atol=1e-5, rtol=0)


# ---- sequences ----------------------------------------------------------------------------


def test_chop_pad_mask_worked_example():
    episode_ids = np.array([7, 7, 7, 7, 9, 9])
    seq_lens = sequence_lengths(episode_ids, 3)
    assert seq_lens.tolist() == [3, 1, 2]
    padded = pad_batch({"obs": np.arange(1, 7)[:, None] * 1.0, "ep": episode_ids}, seq_lens)
    assert padded["obs"][:, 0].tolist() == [1, 2, 3, 4, 0, 0, 5, 6, 0]
    assert padded["ep"].tolist() == [7, 7, 7, 7, 0, 0, 9, 9, 0]
    assert padded["ep"].dtype == episode_ids.dtype
    assert mask(seq_lens, 3).tolist() == [[1, 1, 1], [1, 0, 0], [1, 1, 0]]
    torch_mask = mask(torch.as_tensor(seq_lens), 4)
    assert torch_mask.dtype == torch.bool and torch_mask.sum().item() == 6
    folded = add_time_dimension(torch.as_tensor(padded["obs"]), seq_lens)  # [3, 3, 1]
    assert folded.shape == (3, 3, 1) and folded[2, :, 0].tolist() == [5, 6, 0]


def test_chop_cuts_at_unroll_boundaries_and_pad_to_fixed_length():
    seq_lens = sequence_lengths([1, 1, 1, 1, 1], 4, unroll_ids=np.array([0, 0, 1, 1, 1]))
    assert seq_lens.tolist() == [2, 3]
    padded = pad_batch({"x": torch.arange(1.0, 6.0)}, seq_lens, max_seq_len=4)["x"]
    assert padded.tolist() == [1, 2, 0, 0, 3, 4, 5, 0]
    with pytest.raises(ValueError, match="max_seq_len=2"):
        pad_batch({"x": np.zeros(5)}, seq_lens, max_seq_len=2)
    with pytest.raises(ValueError, match="'x' has 4 rows but seq_lens sum to 5"):
        pad_batch({"x": np.zeros(4)}, seq_lens)
    with pytest.raises(ValueError, match="7 rows cannot be split into 2 sequences"):
        add_time_dimension(torch.zeros(7), seq_lens)
