"""The gradient step every algorithm takes: its loss, the model's custom loss, backward, clip, step.

PG, A2C, PPO, DQN and BC each describe their step as a ``Learner`` (the model, its optimizer,
``grad_clip`` and ``loss(mb) -> (loss, stats, loss_inputs)``) and take it through one call,
``engine.step(learner, mb)`` (rlkit.engines). The torch engine runs ``torch_step``: the loss as
written, then ``optimise``. ``Model.custom_loss(loss, loss_inputs)`` receives the algorithm's
loss and returns the one that is optimised (the seed's supervised / self-supervised losses);
``Model.metrics()`` is reported in ``train()``'s result. ``check_update`` is the guard every
step passes, the numpy engine's too.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from rlkit.models.base import Model

# loss(mb) -> (scalar loss tensor, statistics, loss_inputs: the batch as the model saw it)
LossFn = Callable[[dict[str, Any]], tuple[torch.Tensor, dict[str, Any], dict[str, Any]]]
# twin(mb, outputs [N, n], values [N]) -> (total, statistics, d total / d outputs [N, n],
# d total / d values [N]): a loss computed by numpy with its gradient (rlkit.engines.numpy.loss)
TwinFn = Callable[
    [dict[str, Any], np.ndarray, np.ndarray],
    tuple[float, dict[str, float], np.ndarray, np.ndarray],
]


@dataclass(frozen=True)
class Learner:
    """What one gradient step of an algorithm needs; the engine is given nothing else.

    Attributes:
        name: the algorithm's name, for messages ("PPO").
        model: the learner's model (on the learner's device); its parameters are optimised.
        optimizer: the optimizer over ``model``'s parameters.
        grad_clip: max global gradient norm, or None.
        loss: ``loss(mb) -> (loss, stats, loss_inputs)``: forward and loss on a minibatch.
        twin: the numpy twin of ``loss`` for the built-in MLP, or None (torch runs ``loss``).
        params: the trainable parameters (``requires_grad``), listed once when the learner is
            made (a trainer makes one per ``train()``), not walked again at every step.
    """

    name: str
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    grad_clip: float | None
    loss: LossFn
    twin: TwinFn | None = None
    params: tuple[torch.Tensor, ...] = field(default=())

    def __post_init__(self) -> None:
        if not self.params:
            trainable = tuple(p for p in self.model.parameters() if p.requires_grad)
            object.__setattr__(self, "params", trainable)


class NonFiniteUpdateError(FloatingPointError):
    """A gradient step was refused: its loss or its gradient held NaN or infinity.

    Raised before ``optimizer.step()``, so no weight changes; ``Algorithm.train()`` then also
    undoes the iteration's earlier steps (rlkit.algorithms.common.snapshot), leaving the
    trainer as it was before the call.
    """


def check_update(loss: float, grad_norm: float, params: list[torch.Tensor]) -> None:
    """Raise NonFiniteUpdateError unless ``loss`` and the global ``grad_norm`` are finite.

    The one guard every optimizer step passes (torch autograd in ``optimise``, the numpy
    engine's step in rlkit.algorithms.onpolicy): its message names the first parameter with a
    non-finite gradient and the likely causes.
    """
    if math.isfinite(loss) and math.isfinite(grad_norm):
        return
    what = f"the loss is {loss}" if not math.isfinite(loss) else "the loss is finite"
    bad = next(
        (i for i, p in enumerate(params) if p.grad is not None and not p.grad.isfinite().all()),
        None,
    )
    grad = (
        f"the gradient of parameter {bad} (shape {list(params[bad].shape)}) is not finite"
        if bad is not None
        else "every gradient is finite"
    )
    raise NonFiniteUpdateError(
        f"refused a gradient step: {what} and {grad}, so no weight was changed and this "
        f"train() call was undone. Non-finite data is stopped where it enters (env rewards and "
        f"observations, offline files), so the usual causes are a learning rate too large "
        f"(the loss diverged: lower 'lr', set 'grad_clip') or a custom loss or model that "
        f"computes NaN (log of 0, division by 0)"
    )


class FusedAdam(torch.optim.Adam):
    """``torch.optim.Adam(fused=True)``, its step taken by the fused kernel without the detours.

    ``torch.optim.Adam.step`` groups the tensors by device and reads every option around its
    one fused kernel, at every minibatch; with ``zero_grad`` that took 188 us per PPO
    minibatch of the RL Zoo CartPole set on the 2-core CPU, this class 121 us (2026-12-06,
    a 1.4 ms step). This step hands the same tensors to the same kernel
    (``torch._fused_adam_``, after ``step += 1`` as torch does), so the weights come out bit
    for bit the same; state, ``state_dict()``, hooks and ``param_groups`` (``lr`` read at
    every step) are torch's. Anything the short path does not cover (a closure, the first
    step, which creates the state, amsgrad, weight decay, maximize, capturable, tensor lr,
    mixed devices) goes to torch's own step.
    """

    def step(self, closure=None):  # noqa: D102 (torch's docstring)
        work = None if closure is not None else self._fused_work()
        if work is None:
            step = torch.optim.Adam.step
            if getattr(step, "hooked", False):  # torch wrapped it for its hooks: they ran
                step = step.__wrapped__
            return step(self, closure)
        with torch.no_grad():
            for group, (params, grads, avgs, sqs, steps) in work:
                beta1, beta2 = group["betas"]
                torch._foreach_add_(steps, 1)
                torch._fused_adam_(
                    params, grads, avgs, sqs, [], steps,
                    amsgrad=False, lr=group["lr"], beta1=beta1, beta2=beta2,
                    weight_decay=0.0, eps=group["eps"], maximize=False,
                    grad_scale=None, found_inf=None,
                )  # fmt: skip
        return None

    def _fused_work(self) -> list | None:
        """Per group (group, params, grads, exp_avgs, exp_avg_sqs, steps); None: torch's step."""
        if getattr(self, "grad_scale", None) is not None or getattr(self, "found_inf", None):
            return None
        work, state, device = [], self.state, None
        for group in self.param_groups:
            if (
                not group["fused"]
                or group["amsgrad"]
                or group["weight_decay"]
                or group["maximize"]
                or group["capturable"]
                or group["differentiable"]
                or group["decoupled_weight_decay"]
                or isinstance(group["lr"], torch.Tensor)
            ):
                return None
            lists: tuple[list, ...] = ([], [], [], [], [])
            for p in group["params"]:
                grad = p.grad
                if grad is None:
                    continue
                st = state.get(p)
                if not st or grad.is_sparse or p.dtype != torch.float32:
                    return None  # the first step makes the state; torch handles the rest
                device = device or p.device
                if p.device != device:
                    return None
                for bucket, t in zip(lists, (p, grad, st["exp_avg"], st["exp_avg_sq"], st["step"])):
                    bucket.append(t)
            if lists[0]:
                work.append((group, lists))
        return work

    def zero_grad(self, set_to_none: bool = True) -> None:  # noqa: D102 (torch's docstring)
        if not set_to_none:
            return super().zero_grad(set_to_none)
        for group in self.param_groups:
            for p in group["params"]:
                p.grad = None


def make_adam(model: torch.nn.Module, lr: float, eps: float = 1e-8) -> torch.optim.Adam:
    """Adam over ``model``'s parameters, fused into one kernel where torch has one.

    The fused update does in one call what the default does in a dozen small ones per
    parameter tensor: for the small networks of RL it halves the time of an optimizer step
    (``FusedAdam`` also skips torch's per-call bookkeeping around that kernel).
    """
    params = list(model.parameters())
    fused = bool(params) and all(
        p.is_floating_point() and p.device.type in ("cpu", "cuda") for p in params
    )
    if fused:
        return FusedAdam(params, lr=lr, eps=eps, fused=True)
    return torch.optim.Adam(params, lr=lr, eps=eps)


def clip_grad_norm(params: list[torch.Tensor], max_norm: float) -> float:
    """Scale the gradients so that their global L2 norm is at most ``max_norm``.

    What ``torch.nn.utils.clip_grad_norm_`` computes, in three calls over the whole list when
    every gradient shares one device and dtype (torch's version regroups the tensors on each
    call, which for a small network takes longer than the clipping). Returns the norm before,
    as a float: the guard (``check_update``) reads it at every step anyway, so the scale is
    worked out on the host, in float32 as torch does it, and applied only when it is below 1.
    """
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return 0.0
    first = grads[0]
    if any(g.device != first.device or g.dtype != first.dtype or g.is_sparse for g in grads):
        return float(torch.nn.utils.clip_grad_norm_(params, max_norm))
    total = float(torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads))))
    if math.isinf(max_norm) or not math.isfinite(total):
        return total  # nothing to scale; a non-finite norm is refused by the guard
    # torch's min(1, max_norm / (norm + 1e-6)), each operation rounded to float32 as there
    scale = np.float32(max_norm) / (np.float32(total) + np.float32(1e-6))
    if scale < 1.0:
        torch._foreach_mul_(grads, float(scale))
    return total


class PolicyLoss(torch.Tensor):
    """The scalar loss handed to ``custom_loss``, readable in both of its forms.

    rlkit's form treats it as one tensor (``return policy_loss + 0.1 * l2``); RLlib's torch
    form treats it as the list of one loss per optimizer (``policy_loss[0]``,
    ``[loss + aux for loss in policy_loss]``). A scalar that is also a one-element sequence
    serves both without guessing which form the model was written in.
    """

    def __getitem__(self, index):
        if self.dim() == 0 and isinstance(index, int) and index in (0, -1):
            return self
        return super().__getitem__(index)

    def __iter__(self):
        return iter([self]) if self.dim() == 0 else super().__iter__()

    def __len__(self) -> int:
        return 1 if self.dim() == 0 else super().__len__()


def apply_custom_loss(model: torch.nn.Module, loss: torch.Tensor, loss_inputs: Any) -> torch.Tensor:
    """``model.custom_loss(loss, loss_inputs)`` in rlkit's form or RLlib's list form.

    Returns:
        the scalar tensor to optimise (a one-element list or tuple is unpacked).
    """
    if getattr(type(model), "custom_loss", None) is Model.custom_loss:
        return loss  # the base class's custom_loss returns the loss it is given
    out = model.custom_loss(loss.as_subclass(PolicyLoss), loss_inputs)
    where = f"{type(model).__name__}.custom_loss"
    if isinstance(out, (list, tuple)):
        if len(out) != 1:
            raise ValueError(
                f"{where} returned {len(out)} losses; rlkit trains one optimizer, so return "
                f"one loss (a scalar tensor, or RLlib's list form with one entry)"
            )
        out = out[0]
    if not (isinstance(out, torch.Tensor) and out.dim() == 0):
        shape = list(out.shape) if isinstance(out, torch.Tensor) else ""
        raise ValueError(
            f"{where} returned {type(out).__name__}{shape}; it must return one scalar tensor "
            f"(the loss to optimise), or a list holding one"
        )
    return out.as_subclass(torch.Tensor)


def optimise(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    loss: torch.Tensor,
    loss_inputs: dict[str, Any],
    grad_clip: float | None,
    params: list[torch.Tensor] | tuple[torch.Tensor, ...] | None = None,
) -> torch.Tensor:
    """Apply ``model.custom_loss``, then one gradient step; returns the optimised loss (detached).

    Args:
        model: the learner's model; its custom_loss decides what is optimised.
        optimizer: the optimizer that takes the step on the model's parameters.
        loss: the algorithm's scalar loss.
        loss_inputs: the batch as the model's forward saw it (custom losses read it).
        grad_clip: max global gradient norm, or None.
        params: the parameters to clip (default: all of the model's).
    """
    loss = apply_custom_loss(model, loss, loss_inputs)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    params = params if params is not None else list(model.parameters())
    # Clipping by infinity computes the norm and scales nothing: the guard needs the norm.
    norm = clip_grad_norm(params, grad_clip or math.inf)
    check_update(float(loss.detach()), norm, params)
    optimizer.step()
    return loss.detach()


def torch_step(learner: Learner, mb: dict[str, Any]) -> dict[str, Any]:
    """One gradient step as written: ``learner.loss(mb)``, then ``optimise``.

    Returns the loss's statistics and "total_loss" (the loss that was optimised, detached).
    """
    total, stats, loss_inputs = learner.loss(mb)
    stats["total_loss"] = optimise(
        learner.model, learner.optimizer, total, loss_inputs, learner.grad_clip, learner.params
    )
    return stats


def model_metrics(model: torch.nn.Module) -> dict[str, float]:
    """The model's metrics() as floats (tensors are converted)."""
    out = {}
    for k, v in (model.metrics() or {}).items():
        out[k] = float(v.detach()) if isinstance(v, torch.Tensor) else float(v)
    return out
