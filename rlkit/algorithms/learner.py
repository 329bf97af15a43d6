"""The optimisation step every algorithm shares: the model's custom loss, backward, clip, step.

``Model.custom_loss(loss, loss_inputs)`` receives the algorithm's loss and returns the one that
is optimised (the seed's supervised / self-supervised losses); ``Model.metrics()`` is reported
in ``train()``'s result.
"""

from __future__ import annotations

from typing import Any

import torch


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
    if grad_clip:
        clip_grad_norm(params if params is not None else list(model.parameters()), grad_clip)
    optimizer.step()
    return loss.detach()


def model_metrics(model: torch.nn.Module) -> dict[str, float]:
    """The model's metrics() as floats (tensors are converted)."""
    out = {}
    for k, v in (model.metrics() or {}).items():
        out[k] = float(v.detach()) if isinstance(v, torch.Tensor) else float(v)
    return out
