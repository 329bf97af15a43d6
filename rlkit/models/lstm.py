"""LSTMWrapper: ``use_lstm: True`` -- an LSTM on top of any feature model.

    inner model: obs -> features [N, D]
    (+ previous action [N, A] one-hot for Discrete/MultiDiscrete, flat for Box)
    (+ previous reward [N, 1])
    -> fold to [B, T, D'] -> nn.LSTM (state h, c: [B, cell]) -> [B, T, cell] -> [N, cell]
    -> logits Linear -> outputs [N, num_outputs];  value Linear -> value [N]

The wrapper is plain composition: ``inner`` is an already-built ``Model`` (a built-in built
with ``num_outputs=None``, or a custom model built with ``num_outputs=lstm_cell_size``) and a
submodule, so its parameters train with the LSTM.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from gymnasium import spaces
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from rlkit.models.base import Model
from rlkit.models.fcnet import linear, num_mean_outputs, policy_outputs, value_outputs
from rlkit.models.sequences import add_time_dimension
from rlkit.utils.seeding import reset_parameters_


def prev_action_width(action_space) -> int:
    """Width of the previous-action input: one-hot for (Multi)Discrete, flat for Box."""
    if isinstance(action_space, spaces.Discrete):
        return int(action_space.n)
    if isinstance(action_space, spaces.MultiDiscrete):
        return int(np.sum(action_space.nvec))
    if isinstance(action_space, spaces.Box):
        return int(np.prod(action_space.shape))
    raise ValueError(
        f"lstm_use_prev_action supports Discrete, MultiDiscrete and Box action spaces; got "
        f"{action_space}. Set lstm_use_prev_action=False, or feed the previous action to a "
        f"custom model yourself"
    )


class LSTMWrapper(Model):
    """Run an LSTM over the features of ``inner`` (RLlib's ``use_lstm`` wrapper).

    Args:
        inner: a built ``Model`` whose outputs ``[N, inner.num_outputs]`` are the features.
        obs_space, action_space, num_outputs, model_config, name: as for ``Model``.
            ``lstm_cell_size``, ``lstm_use_prev_action`` and ``lstm_use_prev_reward`` come
            from ``model_config``.

    Inputs: ``input_dict`` as for ``inner``, plus ``prev_actions`` (``[N]`` int for Discrete,
    ``[N, k]`` for MultiDiscrete, ``[N, *A]`` for Box) and ``prev_rewards`` (``[N]``) when the
    flags ask for them; ``state = [h, c]`` each ``[B, cell]``; ``seq_lens [B]`` (None: every
    row is a one-step sequence). Padding steps (beyond ``seq_lens``) do not change the state
    returned and give zero LSTM outputs.
    """

    def __init__(self, inner: Model, obs_space, action_space, num_outputs, model_config, name):
        super().__init__(obs_space, action_space, num_outputs, model_config, name)
        if not isinstance(inner, Model) or not inner.num_outputs:
            raise ValueError(
                f"LSTMWrapper '{name}' needs a built rlkit Model with a feature width "
                f"(num_outputs) to wrap; got {type(inner).__name__} with num_outputs="
                f"{getattr(inner, 'num_outputs', None)}"
            )
        cfg = self.model_config
        self.inner = inner
        self.cell_size = cfg["lstm_cell_size"]
        self.use_prev_action = cfg["lstm_use_prev_action"]
        self.use_prev_reward = cfg["lstm_use_prev_reward"]
        action_width = prev_action_width(action_space) if self.use_prev_action else 0
        in_size = inner.num_outputs + action_width + int(self.use_prev_reward)
        # nn.LSTM takes no skip_init: its own init (global generator) is drawn again from ours
        self.lstm = reset_parameters_(nn.LSTM(in_size, self.cell_size, batch_first=True))
        num_means = num_mean_outputs(num_outputs, cfg, f"model '{name}'")
        self._logits = linear(self.cell_size, num_means, 0.01) if num_means else None
        free_log_std = bool(num_means) and cfg["free_log_std"]
        self.log_std = nn.Parameter(torch.zeros(num_means)) if free_log_std else None
        if not num_outputs:
            self.num_outputs = self.cell_size
        self._value_head = linear(self.cell_size, 1, 1.0)
        # vf_share_layers False: the value head reads the LSTM output without sending its
        # gradient back into the LSTM, so the value loss (whose scale follows the returns)
        # cannot swamp the policy's gradient in the shared recurrent layers.
        self.vf_share_layers = cfg["vf_share_layers"]
        self._value_input = None

    def get_initial_state(self) -> list[torch.Tensor]:
        """``[h, c]``, zeros ``[cell_size]`` each, on the model's device."""
        weight = self._value_head.weight
        return [weight.new_zeros(self.cell_size), weight.new_zeros(self.cell_size)]

    def forward(self, input_dict, state, seq_lens):
        """Run the inner model, then the LSTM over time; return outputs and the next state.

        Args:
            input_dict: the inner model's inputs (e.g. ``obs_flat [N, F]``), plus
                ``prev_actions`` (one per row) and ``prev_rewards [N]`` when the
                lstm_use_prev_* flags are on.
            state: ``[h, c]``, each ``[B, cell_size]``.
            seq_lens: ``[B]`` sequence lengths of the ``N = B*T`` rows; None: every row is
                its own one-step sequence (``B = N``).

        Returns:
            (outputs ``[N, num_outputs]``, ``[h, c]`` each ``[B, cell_size]``, the state after
            each sequence's last real step).
        """
        features, _ = self.inner(input_dict, [], seq_lens)  # [N, D]
        rows = features.shape[0]
        parts = [features]
        if self.use_prev_action:
            prev_actions = self._required(input_dict, "prev_actions")
            parts.append(self._encode_actions(prev_actions, rows))  # [N, A]
        if self.use_prev_reward:
            prev_rewards = self._required(input_dict, "prev_rewards")
            parts.append(prev_rewards.reshape(rows, 1).float())  # [N] -> [N, 1]
        x = torch.cat(parts, dim=1) if len(parts) > 1 else features  # [N, D']
        if seq_lens is None:
            x = x.unsqueeze(1)  # [N, D'] -> [N, 1, D'], one step per row
        else:
            x = add_time_dimension(x, seq_lens)  # [N, D'] -> [B, T, D']
        if len(state) != 2:
            raise ValueError(
                f"LSTMWrapper '{self.name}' takes state [h, c], each [B, "
                f"{self.cell_size}]; got {len(state)} tensors"
            )
        h0, c0 = state[0].unsqueeze(0), state[1].unsqueeze(0)  # [B, cell] -> [1, B, cell]
        out, (h, c) = self._run_lstm(x, (h0, c0), seq_lens)
        out = out.reshape(rows, self.cell_size)  # [B, T, cell] -> [N, cell]
        self._value_input = out if self.vf_share_layers else out.detach()
        return policy_outputs(out, self._logits, self.log_std), [h[0], c[0]]

    def _run_lstm(self, x, hc, seq_lens):
        T = x.shape[1]
        if seq_lens is None or T == 1 or bool((seq_lens == T).all()):
            return self.lstm(x, hc)
        # Packing stops each sequence at its length, so the returned state is the one after
        # the last real step, not after the padding.
        lengths = torch.as_tensor(seq_lens).cpu()
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        out, hc = self.lstm(packed, hc)
        out, _ = pad_packed_sequence(out, batch_first=True, total_length=T)  # [B, T, cell]
        return out, hc

    def _required(self, input_dict, key: str) -> torch.Tensor:
        if input_dict.get(key) is None:
            flag = "lstm_use_prev_action" if key == "prev_actions" else "lstm_use_prev_reward"
            what = (
                "the previous action of each row"
                if key == "prev_actions"
                else "float tensor [N], the previous reward of each row"
            )
            raise ValueError(
                f"LSTMWrapper '{self.name}' has {flag}=True, so input_dict needs '{key}': "
                f"{what} (zeros at an episode start); pass it or set {flag}=False"
            )
        return torch.as_tensor(input_dict[key], device=self._value_head.weight.device)

    def _encode_actions(self, actions: torch.Tensor, rows: int) -> torch.Tensor:
        """Previous actions -> ``[N, A]`` float: one-hot for (Multi)Discrete, flat for Box."""
        space = self.action_space
        if isinstance(space, spaces.Discrete):
            index = actions.reshape(rows).long() - int(space.start)  # [N]
            return F.one_hot(index, int(space.n)).float()  # [N] -> [N, n]
        if isinstance(space, spaces.MultiDiscrete):
            index = actions.reshape(rows, -1).long()  # [N, k]
            nvec = np.asarray(space.nvec).reshape(-1)
            start = np.asarray(space.start).reshape(-1)
            one_hots = [F.one_hot(index[:, i] - int(start[i]), int(n)) for i, n in enumerate(nvec)]
            return torch.cat(one_hots, dim=1).float()  # k x [N, n_i] -> [N, sum(n_i)]
        return actions.reshape(rows, -1).float()  # Box: [N, *A] -> [N, A]

    def value_function(self) -> torch.Tensor:
        """Return ``[N]`` values for the rows of the last forward call."""
        return value_outputs(self, self._value_input, None, self._value_head)

    def custom_loss(self, policy_loss, loss_inputs):
        """The wrapped model's custom loss, so its supervised terms still apply."""
        return self.inner.custom_loss(policy_loss, loss_inputs)

    def metrics(self) -> dict:
        """The wrapped model's metrics."""
        return self.inner.metrics()
