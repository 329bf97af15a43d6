"""Discrete actions: Categorical (one choice among n) and MultiCategorical (MultiDiscrete)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import torch

from rlkit.distributions.base import (
    ActionDistribution,
    _as_inputs,
    _check_kind,
    _out_of_range,
    _space_error,
)
from rlkit.utils.seeding import generator


class Categorical(ActionDistribution):
    """One choice among ``n``: softmax over ``inputs / temperature``.

    Action masking (the seed's idiom) works: a masked action's logit is float32 min (or has
    ``max(log(mask), float32 min)`` added). Such an action is never sampled nor chosen by
    ``deterministic_sample`` while any action is unmasked, and logp, entropy and kl stay finite.

    Args:
        inputs: [B, n] logits.
        model: the producing model (unused).
        temperature: > 0; below 1 sharpens, above 1 flattens the distribution.
    """

    def __init__(self, inputs: Any, model: Any = None, temperature: float = 1.0):
        super().__init__(inputs, model)
        if not temperature > 0:
            raise ValueError(f"Categorical temperature must be > 0; got {temperature!r}")
        logits = _as_inputs(inputs, "Categorical")
        finfo = torch.finfo(logits.dtype)
        if temperature != 1.0:
            logits = logits / temperature
        # A masked float_min logit divided by a temperature < 1 becomes -inf (and -inf can come
        # straight from a log(mask)), and a row of -inf turns into NaN: keep every logit finite.
        self.logits = logits.clamp(finfo.min, finfo.max)  # [B, n]
        self._log_probs: torch.Tensor | None = None
        self._torch_dist = None

    @property
    def log_probs(self) -> torch.Tensor:
        """``[B, n]`` log-probabilities, computed on first use (the argmax action needs none).

        float_min - logsumexp can round to -inf; clamped log-probs keep logp finite and spare
        kl the 0 * (-inf) and (-inf) - (-inf) NaNs where both sides mask an action.
        """
        if self._log_probs is None:
            finfo = torch.finfo(self.logits.dtype)
            self._log_probs = torch.log_softmax(self.logits, dim=1).clamp(min=finfo.min)
        return self._log_probs

    @property
    def dist(self) -> torch.distributions.Categorical:
        """The equivalent ``torch.distributions.Categorical``, built on first use.

        Sampling and logp do not need it, and building it costs more than they do.
        """
        if self._torch_dist is None:
            self._torch_dist = torch.distributions.Categorical(
                logits=self.log_probs, validate_args=False
            )
        return self._torch_dist

    @dist.setter
    def dist(self, value: torch.distributions.Categorical) -> None:
        self._torch_dist = value

    @staticmethod
    def required_model_output_shape(action_space: gym.Space, model_config: Any = None) -> int:
        """One logit per action: n for Discrete(n)."""
        if not isinstance(action_space, gym.spaces.Discrete):
            raise _space_error("Categorical", "a Discrete action space", action_space)
        return int(action_space.n)

    def sample(self) -> torch.Tensor:
        """Returns: [B] int64."""
        # The exponential race torch.multinomial runs for one draw, argmax(p / q) with
        # q ~ Exp(1): the same draws for the same seed, minus its probability checks, which
        # cost more than the draw. Only a NaN can get past the clamps in __init__.
        probs = torch.softmax(self.log_probs, dim=1)  # [B, n]
        if bool(torch.isnan(probs).any()):
            raise RuntimeError(
                "Categorical.sample: the probability tensor contains nan because the model "
                "output NaN logits; the model has diverged (lower lr, set grad_clip, or check "
                "the inputs for NaN)"
            )
        # [B, n] ~ Exp(1), drawn on the CPU (where the trainer's generator lives)
        q = torch.empty(probs.shape, dtype=probs.dtype).exponential_(generator=generator())
        q = q.to(probs.device)
        return self._record((probs / q).argmax(dim=1))  # [B]

    def deterministic_sample(self) -> torch.Tensor:
        """Returns: [B] int64, the argmax action (of the logits: the log-probs keep their order)."""
        return self._record(self.logits.argmax(dim=1))

    def logp(self, actions: Any) -> torch.Tensor:
        """Args: actions: [B] (or [B, 1]) integer indices in [0, n). Returns: [B]."""
        n = self.log_probs.shape[1]
        actions = torch.as_tensor(actions, device=self.log_probs.device)
        if actions.dim() == 2 and actions.shape[1] == 1:
            actions = actions[:, 0]  # [B, 1] -> [B]
        actions = actions.long()
        if actions.shape != self.log_probs.shape[:1]:
            raise ValueError(
                f"Categorical.logp expects actions of shape [B] = "
                f"{list(self.log_probs.shape[:1])}; got {list(actions.shape)}"
            )
        if actions.numel() and _out_of_range(actions, n):
            raise ValueError(
                f"Categorical.logp got actions {actions.unique().tolist()} but only "
                f"0..{n - 1} exist (n={n})"
            )
        return self.log_probs.gather(1, actions[:, None])[:, 0]  # [B, 1] -> [B]

    def sampled_action_logp(self) -> torch.Tensor:
        """Returns: [B], logp of the action last drawn here (it needs none of logp's checks)."""
        last = self._last_sample
        if last is None:
            return super().sampled_action_logp()  # its message says what to call first
        return self.log_probs.gather(1, last[:, None])[:, 0]  # [B, 1] -> [B]

    def entropy(self) -> torch.Tensor:
        """Returns: [B], -sum p log p (a masked action adds 0 * float_min = 0)."""
        return -(self.log_probs.exp() * self.log_probs).sum(dim=1)

    def kl(self, other: Categorical) -> torch.Tensor:
        """Returns: [B], sum p (log p - log q); huge but finite where q masks what p allows."""
        _check_kind(self, other)
        diff = self.log_probs - other.log_probs  # finite: both are clamped to >= float_min
        return (self.log_probs.exp() * diff).sum(dim=1)


class MultiCategorical(ActionDistribution):
    """Independent Categoricals, one per MultiDiscrete entry; inputs are their logits side by side.

    Args:
        inputs: [B, sum(input_lens)] logits.
        model: the producing model (unused).
        input_lens: number of choices of each sub-action, e.g. [3, 2] for MultiDiscrete([3, 2]).
        temperature: passed to every Categorical.
        action_space: an integer ``Box`` (RLlib's argument): each element is one sub-action
            with ``high - low + 1`` choices, and actions are ``[B, *shape]`` in
            ``[low, high]``. None: actions are ``[B, K]`` indices from 0.
    """

    def __init__(
        self,
        inputs: Any,
        model: Any = None,
        input_lens: Sequence[int] | None = None,
        temperature: float = 1.0,
        action_space: gym.Space | None = None,
    ):
        super().__init__(inputs, model)
        self.box = action_space if isinstance(action_space, gym.spaces.Box) else None
        inputs = _as_inputs(inputs, "MultiCategorical")
        if not input_lens:
            raise ValueError(
                "MultiCategorical needs input_lens, the number of choices of each "
                "sub-action, e.g. input_lens=[3, 2] for MultiDiscrete([3, 2])"
            )
        self.input_lens = [int(n) for n in input_lens]
        if sum(self.input_lens) != inputs.shape[1]:
            raise ValueError(
                f"MultiCategorical got {inputs.shape[1]} inputs per row but "
                f"input_lens={self.input_lens} sum to {sum(self.input_lens)}"
            )
        self.cats = [
            Categorical(part, model, temperature) for part in inputs.split(self.input_lens, dim=1)
        ]  # K x [B, n_k]

    @staticmethod
    def required_model_output_shape(action_space: gym.Space, model_config: Any = None) -> int:
        """sum(nvec) logits for MultiDiscrete(nvec)."""
        if not isinstance(action_space, gym.spaces.MultiDiscrete):
            raise _space_error("MultiCategorical", "a MultiDiscrete action space", action_space)
        return int(action_space.nvec.sum())

    def _to_actions(self, index: torch.Tensor) -> torch.Tensor:
        """[B, K] indices -> actions: the same, or [B, *shape] values from low for a Box."""
        if self.box is None:
            return index
        low = torch.as_tensor(self.box.low.reshape(-1), dtype=torch.int64, device=index.device)
        return (index + low).reshape(index.shape[0], *self.box.shape)  # [B, K] -> [B, *shape]

    def sample(self) -> torch.Tensor:
        """Returns: [B, K] int64, K = len(input_lens) ([B, *shape] for an integer Box)."""
        index = torch.stack([cat.sample() for cat in self.cats], dim=1)
        return self._record(self._to_actions(index))

    def deterministic_sample(self) -> torch.Tensor:
        """Returns: [B, K] int64 ([B, *shape] for an integer Box)."""
        index = torch.stack([cat.deterministic_sample() for cat in self.cats], dim=1)
        return self._record(self._to_actions(index))

    def logp(self, actions: Any) -> torch.Tensor:
        """Return the log-probability of ``actions``, summed over sub-actions: [B].

        Args:
            actions: [B, K] integer indices ([B, *shape] values for an integer Box), or
                RLlib's form: a list of K tensors [B], one per sub-action.
        """
        if isinstance(actions, (list, tuple)):
            actions = torch.stack([torch.as_tensor(a) for a in actions], dim=1)  # K x [B] -> [B, K]
        actions = torch.as_tensor(actions).reshape(len(self.cats[0].log_probs), -1)  # [B, K]
        if self.box is not None:
            actions = actions - torch.as_tensor(self.box.low.reshape(-1), device=actions.device)
        if actions.shape[1] != len(self.cats):
            raise ValueError(
                f"MultiCategorical.logp expects [B, {len(self.cats)}] actions; got "
                f"{list(actions.shape)}"
            )
        return sum(cat.logp(actions[:, k]) for k, cat in enumerate(self.cats))

    def entropy(self) -> torch.Tensor:
        """Returns: [B], the sum over sub-actions."""
        return sum(cat.entropy() for cat in self.cats)

    def kl(self, other: MultiCategorical) -> torch.Tensor:
        """Returns: [B], the sum over sub-actions."""
        _check_kind(self, other)
        if other.input_lens != self.input_lens:
            raise ValueError(
                f"MultiCategorical.kl needs equal input_lens; got {self.input_lens} "
                f"and {other.input_lens}"
            )
        return sum(p.kl(q) for p, q in zip(self.cats, other.cats))
