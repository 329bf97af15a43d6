"""The optimisation step every algorithm shares: the model's custom loss, backward, clip, step.

``Model.custom_loss(loss, loss_inputs)`` receives the algorithm's loss and returns the one that
is optimised (the seed's supervised / self-supervised losses); ``Model.metrics()`` is reported
in ``train()``'s result.
"""

from __future__ import annotations

import math
from typing import Any

import torch


class NonFiniteUpdateError(FloatingPointError):
    """A gradient step was refused: its loss or its gradient held NaN or infinity.

    Raised before ``optimizer.step()``, so no weight changes; ``Algorithm.train()`` then also
    undoes the iteration's earlier steps (rlkit.algorithms.snapshot), leaving the trainer as it
    was before the call.
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


def make_adam(model: torch.nn.Module, lr: float, eps: float = 1e-8) -> torch.optim.Adam:
    """Adam over ``model``'s parameters, fused into one kernel where torch has one.

    The fused update does in one call what the default does in a dozen small ones per
    parameter tensor: for the small networks of RL it halves the time of an optimizer step.
    """
    params = list(model.parameters())
    fused = bool(params) and all(
        p.is_floating_point() and p.device.type in ("cpu", "cuda") for p in params
    )
    return torch.optim.Adam(params, lr=lr, eps=eps, fused=fused or None)


def clip_grad_norm(params: list[torch.Tensor], max_norm: float) -> torch.Tensor:
    """Scale the gradients so that their global L2 norm is at most ``max_norm``.

    What ``torch.nn.utils.clip_grad_norm_`` computes, in three calls over the whole list when
    every gradient shares one device and dtype (torch's version regroups the tensors on each
    call, which for a small network takes longer than the clipping). Returns the norm before.
    """
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return torch.zeros(())
    first = grads[0]
    if any(g.device != first.device or g.dtype != first.dtype or g.is_sparse for g in grads):
        return torch.nn.utils.clip_grad_norm_(params, max_norm)
    total = torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))
    if math.isinf(max_norm):
        return total
    # min(1, max_norm / norm), the 1e-6 as in torch; a tensor, so no device sync on CUDA.
    torch._foreach_mul_(grads, (max_norm / (total + 1e-6)).clamp_(max=1.0))
    return total


def optimise(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    loss: torch.Tensor,
    loss_inputs: dict[str, Any],
    grad_clip: float | None,
    params: list[torch.Tensor] | None = None,
) -> torch.Tensor:
    """Apply ``model.custom_loss``, then one gradient step; returns the optimised loss (detached).

    Args:
        model: the learner's model; its custom_loss decides what is optimised.
        loss: the algorithm's scalar loss.
        loss_inputs: the batch as the model's forward saw it (custom losses read it).
        grad_clip: max global gradient norm, or None.
        params: the parameters to clip (default: all of the model's).
    """
    loss = model.custom_loss(loss, loss_inputs)
    if not (isinstance(loss, torch.Tensor) and loss.dim() == 0):
        shape = list(loss.shape) if isinstance(loss, torch.Tensor) else ""
        raise ValueError(
            f"{type(model).__name__}.custom_loss returned {type(loss).__name__}{shape}; it "
            f"must return one scalar tensor (the loss to optimise)"
        )
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    params = params if params is not None else list(model.parameters())
    # Clipping by infinity computes the norm and scales nothing: the guard needs the norm.
    norm = clip_grad_norm(params, grad_clip or math.inf)
    check_update(float(loss.detach()), float(norm), params)
    optimizer.step()
    return loss.detach()


def model_metrics(model: torch.nn.Module) -> dict[str, float]:
    """The model's metrics() as floats (tensors are converted)."""
    out = {}
    for k, v in (model.metrics() or {}).items():
        out[k] = float(v.detach()) if isinstance(v, torch.Tensor) else float(v)
    return out
