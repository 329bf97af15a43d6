"""The Model base classes: what every network between the filter and the action distribution is.

A ``Model`` is a ``torch.nn.Module`` with RLlib's calling convention::

    outputs, state = model(input_dict, state, seq_lens)

| input | shape | meaning |
|---|---|---|
| ``input_dict["obs"]`` | ``[B, *obs_shape]`` float32, or nested | the (filtered) observation |
| ``input_dict["obs_flat"]`` | ``[B, F]`` float32 | the same, flattened |
| ``input_dict["prev_actions"]`` | ``[B]`` int or ``[B, A]`` | optional, for recurrent models |
| ``input_dict["prev_rewards"]`` | ``[B]`` float32 | optional, for recurrent models |
| ``input_dict["is_training"]`` | bool | train-mode switch (batch norm, dropout) |
| ``state`` | list of ``[B, ...]`` | recurrent state, ``[]`` for feed-forward models |
| ``seq_lens`` | ``[B]`` int64 or None | sequence lengths, recurrent models only |
| ``outputs`` | ``[B, num_outputs]`` | logits / distribution inputs |

Subclasses implement ``forward`` (and ``value_function`` for algorithms with a critic).
Calling the model (``__call__``) fills in what the caller left out before ``forward`` runs,
and checks what ``forward`` returned, so a shape mistake is reported where it is made.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from torch import nn

from rlkit.models.sequences import add_time_dimension
from rlkit.spaces import value_leaves
from rlkit.utils.config import merge_model_config

InputDict = dict[str, Any]  # "obs", "obs_flat", "prev_actions", "prev_rewards", "is_training"
State = list[torch.Tensor]  # recurrent state, each [B, ...]; [] for a feed-forward model


class Model(nn.Module):
    """Base class of every rlkit model (RLlib's ``TorchModelV2``).

    Args:
        obs_space: the preprocessed observation space (a float32 Box; for Tuple/Dict
            observations it carries ``.original_space``).
        action_space: the environment's action space.
        num_outputs: width of the output the action distribution needs; ``None`` for a
            feature extractor (built-in models then set it to their feature width).
        model_config: the model config; missing keys take ``MODEL_DEFAULTS`` values and
            unknown keys are an error. ``None`` means all defaults.
        name: a name used in error messages.

    Calling the model fills in what the caller left out: ``obs_flat`` from ``obs`` (or the
    nested ``obs`` from a flat one), numpy arrays -> float32 tensors on the model's device,
    ``is_training=False``, and ``state=None`` -> the initial state repeated over the batch
    (``[]`` for a feed-forward model). The caller's dict is not changed.

    Train/eval mode: every call puts the model in ``train()`` mode iff
    ``input_dict["is_training"]`` is true (default False) and leaves it there, so a later
    ``model.eval()`` lasts only until the next call; pass ``is_training`` on to the
    sub-models you call.

    Stored frames: when the policy keeps image observations as uint8 (rlkit.preprocessors
    .ByteScale: no filter, frames that need only scaling) it sets ``byte_scale``, and a uint8
    ``obs`` is scaled on the model's device as it comes in (``decode_obs``). ``forward``
    always reads the float32 values ``obs_space`` describes.
    """

    byte_scale = None  # a ByteScale when stored obs are unscaled uint8 frames (set by Policy)

    def __init__(
        self,
        obs_space: spaces.Space,
        action_space: spaces.Space,
        num_outputs: int | None,
        model_config: dict | None,
        name: str,
    ):
        super().__init__()
        self.obs_space = obs_space
        self.action_space = action_space
        self.num_outputs = num_outputs
        self.model_config = merge_model_config(model_config)
        self.name = name

    # ---- what subclasses implement -------------------------------------------------------

    def forward(
        self, input_dict: InputDict, state: State, seq_lens: torch.Tensor | None
    ) -> tuple[torch.Tensor, State]:
        """Compute the model outputs.

        Args:
            input_dict: dict with ``obs``, ``obs_flat``, ``is_training`` (and optionally
                ``prev_actions``, ``prev_rewards``); see the module docstring for shapes.
            state: list of ``[B, ...]`` recurrent state tensors (``[]`` if not recurrent).
            seq_lens: ``[B]`` int64 sequence lengths, or None.

        Returns:
            (outputs ``[B, num_outputs]``, new state list).

        Shapes:
            input_dict["obs"]: [B, *obs_space.shape] float32 (nested spaces: a dict/tuple
                of [B, ...] leaves, in input_dict["obs"] after restore).
            input_dict["obs_flat"]: [B, F] float32, F = prod(obs_space.shape).
            input_dict["prev_actions"]: [B, *action_shape] int64 or float32.
            input_dict["prev_rewards"]: [B] float32.
            state[i]: [B, ...] float32.
            seq_lens: [B] int64, or None for a feed-forward model.
            outputs: [B, num_outputs] float32.
        """
        raise NotImplementedError(
            f"{type(self).__name__} must implement forward(self, input_dict, state, seq_lens) "
            f"returning (outputs [B, num_outputs], state)"
        )

    def value_function(self) -> torch.Tensor:
        """Return ``[B]`` value estimates for the inputs of the last forward call."""
        raise NotImplementedError(
            f"model '{self.name}' ({type(self).__name__}) has no value_function(); implement "
            f"value_function(self) -> Tensor[B] (the value of the last forward's inputs) to "
            f"use it with an algorithm that has a critic (A2C, PPO)"
        )

    def value_shares_forward(self) -> bool:
        """Whether ``value_function()`` is only a head on features the forward computed.

        Then a rollout keeps each step's values (they cost one small layer) instead of
        running the model over the whole rollout again for them. False unless a model says
        so; the built-in networks do when ``vf_share_layers`` is True.
        """
        return False

    def custom_loss(self, policy_loss: Any, loss_inputs: dict[str, Any]) -> Any:
        """Return the loss to minimise; override to add supervised or self-supervised terms.

        Args:
            policy_loss: the algorithm's scalar loss.
            loss_inputs: the training batch (dict of ``[N, ...]`` tensors).

        Returns:
            The loss to minimise, the same kind as ``policy_loss``.

        Shapes:
            ``policy_loss``: ``[]`` (a scalar tensor). ``loss_inputs["obs"]``: ``[N, *obs_shape]``,
            ``loss_inputs["actions"]``: ``[N, *action_shape]``, one row per training step.
        """
        return policy_loss

    def metrics(self) -> dict[str, float]:
        """Return a dict of scalars reported by ``train()``; override to add your own."""
        return {}

    def get_initial_state(self) -> list[torch.Tensor]:
        """Return the initial recurrent state, a list of tensors WITHOUT the batch dim."""
        return []

    def initial_state_tensors(self) -> list[torch.Tensor]:
        """``get_initial_state()`` as tensors on the model's device.

        RLlib's examples return numpy arrays (``[np.zeros(cell, np.float32)]``); they are
        converted here, floating arrays to float32, so the rest of rlkit sees tensors.
        """
        device = self._device()
        out = []
        for s in self.get_initial_state():
            if isinstance(s, torch.Tensor):
                out.append(s.to(device))
                continue
            s = np.asarray(s)
            dtype = torch.float32 if np.issubdtype(s.dtype, np.floating) else None
            out.append(torch.as_tensor(s, dtype=dtype, device=device))
        return out

    def is_recurrent(self) -> bool:
        """True if the model carries state between calls."""
        return len(self.get_initial_state()) > 0

    def __getstate__(self):
        # Tensors a forward cached for value_function() hang on that forward's autograd graph:
        # deepcopy (a DQN target network) and pickle refuse them, and a copy has not run that
        # forward anyway. Dropping them makes value_function() ask for a new forward.
        state = dict(super().__getstate__())
        for key, value in state.items():
            if isinstance(value, torch.Tensor) and not value.is_leaf:
                state[key] = None
        return state

    # ---- the call: fill in, run, check ---------------------------------------------------

    def __call__(self, input_dict, state=None, seq_lens=None):
        """Fill in ``input_dict``/``state``, run ``forward`` (hooks included) and check it.

        Returns:
            (outputs ``[N, num_outputs]``, state list) where ``N`` = rows of ``obs``.
        """
        input_dict = self._complete_input_dict(input_dict)
        rows = input_dict["obs_flat"].shape[0]
        if seq_lens is not None and not isinstance(seq_lens, torch.Tensor):
            seq_lens = torch.as_tensor(np.asarray(seq_lens), dtype=torch.int64)
        state = self._complete_state(state, rows if seq_lens is None else len(seq_lens))
        training = bool(input_dict["is_training"])
        if self.training != training:
            self.train(training)
        result = super().__call__(input_dict, state, seq_lens)
        return self._check_result(result, rows)

    def _device(self) -> torch.device:
        # Cached: walking self.parameters() at every call costs as much as a small layer.
        # _apply (behind .to(), .cuda(), .cpu()) and state-dict loading clear the cache.
        device = self.__dict__.get("_device_cache")
        if device is None:
            param = next(self.parameters(), None)
            device = param.device if param is not None else torch.device("cpu")
            self.__dict__["_device_cache"] = device
        return device

    def _apply(self, fn, *args, **kwargs):
        self._forget_parameters()
        return super()._apply(fn, *args, **kwargs)

    def _load_from_state_dict(self, *args, **kwargs):
        self._forget_parameters()  # load_state_dict(assign=True) swaps tensors
        return super()._load_from_state_dict(*args, **kwargs)

    def _forget_parameters(self) -> None:
        # What was derived from the parameter tensors: the device.
        self.__dict__.pop("_device_cache", None)

    def _complete_input_dict(self, input_dict) -> dict[str, Any]:
        # A shallow copy: the caller's dict is never changed (any mapping is accepted).
        input_dict = dict(input_dict)
        if "obs" not in input_dict:
            raise ValueError(
                f"model '{self.name}' ({type(self).__name__}) was called without "
                f"input_dict['obs']; pass {{'obs': tensor [B, *obs_shape]}}"
            )
        device = self._device()
        obs = self.decode_obs(input_dict["obs"])
        original = getattr(self.obs_space, "original_space", None)
        if isinstance(obs, torch.Tensor):
            self._check_batch_dim(obs)
            if isinstance(original, (spaces.Tuple, spaces.Dict)):
                from rlkit.preprocessors import restore_original_dimensions

                input_dict.setdefault("obs_flat", obs)
                obs = restore_original_dimensions(obs, self.obs_space)
            elif "obs_flat" not in input_dict:
                input_dict["obs_flat"] = obs.reshape(obs.shape[0], -1)  # [B, *shape] -> [B, F]
        elif "obs_flat" not in input_dict:
            leaves = value_leaves(obs)
            rows = leaves[0].shape[0]
            # [B, *leaf_shape] each -> [B, F], in canonical order (Dict keys sorted).
            input_dict["obs_flat"] = torch.cat([leaf.reshape(rows, -1) for leaf in leaves], 1)
        input_dict["obs"] = obs
        input_dict["obs_flat"] = _to_float32(input_dict["obs_flat"], device)
        input_dict.setdefault("is_training", False)
        for key, dtype in (("prev_actions", None), ("prev_rewards", torch.float32)):
            if isinstance(input_dict.get(key), np.ndarray):
                input_dict[key] = torch.as_tensor(input_dict[key], dtype=dtype, device=device)
        return input_dict

    def decode_obs(self, obs: Any) -> Any:
        """Observations as stored -> the float32 tensor(s) ``forward`` reads, on this device.

        uint8 frames are scaled by ``byte_scale`` when it is set; everything else (numpy or
        tensors, nested dicts/tuples) is converted to float32 as it is.
        """
        device = self._device()
        if self.byte_scale is not None and getattr(obs, "dtype", None) in (np.uint8, torch.uint8):
            return self.byte_scale(torch.as_tensor(obs, device=device))
        return _to_float32(obs, device)

    def _check_batch_dim(self, obs: torch.Tensor) -> None:
        shape = tuple(getattr(self.obs_space, "shape", None) or ())
        if shape and tuple(obs.shape) == shape:
            raise ValueError(
                f"model '{self.name}' ({type(self).__name__}) got one observation of shape "
                f"{list(obs.shape)} without a batch dimension; pass obs[None] (shape "
                f"{[1, *shape]})"
            )

    def _complete_state(self, state, batch_size: int) -> list[torch.Tensor]:
        if state is None:
            state = []
        if isinstance(state, tuple):
            state = list(state)
        if not isinstance(state, list):
            raise ValueError(
                f"model '{self.name}' ({type(self).__name__}) was called with "
                f"state of type {type(state).__name__}; pass a list of tensors"
            )
        if not state:
            # A recurrent model called without state starts from its initial state.
            # [*state_shape] -> [B, *state_shape]; repeat, not expand: cuDNN wants contiguous state.
            return [s.repeat(batch_size, *(1,) * s.dim()) for s in self.initial_state_tensors()]
        if any(isinstance(s, np.ndarray) for s in state):  # RLlib hands state back as numpy
            state = [
                _to_float32(s, self._device()) if isinstance(s, np.ndarray) else s for s in state
            ]
        return state

    def _check_result(self, result, rows: int):
        where = f"model '{self.name}' ({type(self).__name__})"
        if not (isinstance(result, (tuple, list)) and len(result) == 2):
            raise ValueError(
                f"{where} forward returned {type(result).__name__}; it must "
                f"return (outputs [B, num_outputs], state list)"
            )
        outputs, state = result
        if not isinstance(outputs, torch.Tensor):
            raise ValueError(
                f"{where} returned outputs of type {type(outputs).__name__}; "
                f"forward must return a tensor [B, num_outputs] first"
            )
        width = self.num_outputs if self.num_outputs else outputs.shape[-1]
        if outputs.dim() != 2 or outputs.shape[0] != rows or outputs.shape[1] != width:
            raise ValueError(
                f"{where} returned outputs of shape {list(outputs.shape)} but the action "
                f"distribution needs [{rows}, {width}] (num_outputs={self.num_outputs})"
            )
        if isinstance(state, tuple):
            state = list(state)
        if not isinstance(state, list):
            raise ValueError(
                f"{where} returned state of type {type(state).__name__}; forward "
                f"must return the state as a list of tensors ([] if none)"
            )
        return outputs, state


class RecurrentModel(Model):
    """A model that runs over time (RLlib's ``RecurrentNetwork``).

    Subclasses implement ``get_initial_state`` and ``forward_rnn``; ``forward`` folds the
    flat ``[N, F]`` rows (``N = B*T``, padded as ``pad_batch`` makes them) into ``[B, T, F]``
    and back. With ``seq_lens=None`` every row is its own sequence of one step (``T = 1``).
    """

    def forward(
        self, input_dict: InputDict, state: State, seq_lens: torch.Tensor | None
    ) -> tuple[torch.Tensor, State]:
        """Fold the rows into sequences, run ``forward_rnn`` and unfold its outputs.

        Shapes:
            ``input_dict["obs_flat"]``: ``[N, F]`` with ``N = B*T`` (padded sequences laid out
            row-major); ``seq_lens``: ``[B]`` int64; outputs: ``[N, num_outputs]``.
        """
        flat = input_dict["obs_flat"]  # [N, F]
        if seq_lens is None:
            seq_lens = torch.ones(flat.shape[0], dtype=torch.int64)
        inputs = add_time_dimension(flat, seq_lens)  # [N, F] -> [B, T, F]
        outputs, state = self.forward_rnn(inputs, state, seq_lens)
        return outputs.reshape(flat.shape[0], -1), state  # [B, T, n] -> [N, n]

    def forward_rnn(
        self, inputs: torch.Tensor, state: State, seq_lens: torch.Tensor
    ) -> tuple[torch.Tensor, State]:
        """Run the network over time.

        Args:
            inputs: ``[B, T, F]`` float32 observations.
            state: list of ``[B, ...]`` state tensors.
            seq_lens: ``[B]`` int64, the real steps of each sequence (the rest is padding).

        Returns:
            (outputs ``[B, T, num_outputs]``, new state list of ``[B, ...]``).
        """
        raise NotImplementedError(
            f"{type(self).__name__} must implement forward_rnn(self, inputs [B, T, F], state, "
            f"seq_lens) returning (outputs [B, T, num_outputs], state)"
        )


def _to_float32(x, device: torch.device):
    """Numpy arrays and non-float32 tensors -> float32 tensors; nested dicts/tuples walked."""
    if isinstance(x, np.ndarray):
        return torch.as_tensor(x, dtype=torch.float32, device=device)
    if isinstance(x, torch.Tensor):
        return x if x.dtype == torch.float32 else x.float()
    if isinstance(x, dict):
        return {key: _to_float32(value, device) for key, value in x.items()}
    if isinstance(x, (tuple, list)):
        return type(x)(_to_float32(value, device) for value in x)
    raise ValueError(
        f"observation of type {type(x).__name__} cannot be fed to a model; pass "
        f"a tensor/array [B, *obs_shape] or a dict/tuple of them"
    )
