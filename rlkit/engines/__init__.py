"""Engines: what runs the policy's model while acting and the learner's gradient step.

Two engines compute the same numbers:

- ``torch`` (rlkit.engines.torch_engine), the default: the model's own ``forward``, the
  distribution classes, the algorithm's ``loss`` and autograd (rlkit.engines.learner). It
  runs everything exactly as written: a breakpoint in ``PPO.loss`` stops there, an edit to
  ``FullyConnectedNetwork.forward`` takes effect.
- ``numpy`` (rlkit.engines.numpy), opt-in: a hand-written twin of the built-in
  FullyConnectedNetwork (tanh / relu / linear, float32, on the CPU, no hooks), of the
  Categorical and DiagGaussian distributions and of PPO's and A2C's losses with their
  gradients. For the small networks of RL it is 2-3x faster, because torch's per-operator
  overhead dwarfs the arithmetic.

The config key ``engine`` chooses: "torch" (the default) always torch; "numpy" numpy or a
ValueError saying why it cannot; "auto" numpy only where it is an exact twin of what torch
would run, torch everywhere else. The choice, and why it was made, is in every ``train()``
result (``result["engine"]``, ``result["engine_reason"]``), in ``explain()`` and in
``trace()``.

An engine is given what it runs, never the policy or the trainer: ``Acting`` (the model, its
distribution class and the policy's lock) and ``Learner`` (rlkit.engines.learner: the model,
the optimizer, ``grad_clip``, the algorithm's ``loss`` and its numpy twin, if any).

    engine = select_engine("torch", acting, learner)   # once per train()
    engine.actions(acting, obs, ...)    # the policy asks for outputs
    engine.step(learner, minibatch)     # every algorithm's gradient step, one call
"""

from __future__ import annotations

from rlkit.distributions import Categorical, DiagGaussian, dist_name
from rlkit.engines.learner import Learner
from rlkit.engines.numpy.engine import NumpyEngine
from rlkit.engines.numpy.mlp import why_not
from rlkit.engines.torch_engine import Acting, Actions, TorchEngine

ENGINES = ("auto", "torch", "numpy")
NUMPY_DISTRIBUTIONS = (Categorical, DiagGaussian)
Engine = TorchEngine | NumpyEngine


def check_engine(value: object) -> str:
    """The ``engine`` config value, or ValueError naming the key and its choices."""
    if value not in ENGINES:
        raise ValueError(
            f"config key 'engine' takes 'torch' (the code as written, the default), 'numpy' "
            f"(the fast twin of the built-in MLP) or 'auto' (numpy where it is an exact twin, "
            f"else torch); got {value!r}"
        )
    return value


def numpy_mismatch(acting: Acting, learner: Learner | None = None) -> str | None:
    """Why numpy cannot compute what torch would; None where it is an exact twin.

    Checks the policy's model and distribution, and with ``learner`` also its gradient step.
    """
    why = why_not(acting.model)
    if why is not None:
        return why
    if acting.model.byte_scale is not None:
        return "observations are uint8 frames, which only the torch model scales"
    if acting.dist_class not in NUMPY_DISTRIBUTIONS:
        return f"the action distribution {dist_name(acting.dist_class)} has no numpy twin"
    if learner is None:
        return None
    if learner.twin is None:
        return f"{learner.name}'s loss has no numpy twin (PPO and A2C, as written, have one)"
    if learner.model is not acting.model:
        device = next(learner.model.parameters()).device
        return f"the learner's model is on {device}"
    frozen = [n for n, p in learner.model.named_parameters() if not p.requires_grad]
    if frozen:
        return f"parameter '{frozen[0]}' is frozen (requires_grad False)"
    return None


def select_engine(requested: str, acting: Acting, learner: Learner | None = None) -> Engine:
    """The engine for a policy's acting (and a learner's steps) under config ``engine``.

    Args:
        requested: "torch", "numpy" or "auto".
        acting: the policy's model, distribution class and lock.
        learner: the trainer's gradient step (None: acting only).

    Raises:
        ValueError: "numpy" asked for where it is not an exact twin, saying why.
    """
    if check_engine(requested) == "torch":
        return TorchEngine("engine='torch': every model, distribution and loss as written")
    why = numpy_mismatch(acting, learner)
    if requested == "numpy":
        if why is not None:
            raise ValueError(
                f"engine='numpy' cannot run this: {why}. The numpy engine runs the built-in "
                f"FullyConnectedNetwork on the CPU with a Categorical or DiagGaussian "
                f"distribution, and PPO's or A2C's loss; set engine='torch' (the default) or "
                f"engine='auto' (numpy only where it is an exact twin)"
            )
        return NumpyEngine("engine='numpy' in the config", strict=True)
    if why is not None:
        return TorchEngine(f"auto: {why}, so torch runs it")
    what = f"and {learner.name}'s loss " if learner is not None else ""
    return NumpyEngine(
        f"auto: the built-in MLP with {dist_name(acting.dist_class)} {what}on the CPU has an "
        f"exact numpy twin; engine='torch' runs the torch code instead",
    )


__all__ = [
    "ENGINES",
    "Acting",
    "Actions",
    "Engine",
    "Learner",
    "NumpyEngine",
    "TorchEngine",
    "check_engine",
    "numpy_mismatch",
    "select_engine",
]
