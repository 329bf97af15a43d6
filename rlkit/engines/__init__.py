"""Engines: what runs the policy's model while acting and the learner's gradient step.

Two engines compute the same numbers:

- ``torch`` (rlkit.engines.torch_engine): the model's own ``forward``, the distribution
  classes, the algorithm's ``loss`` and autograd. It runs everything, exactly as written:
  set ``config={"engine": "torch"}`` to step through that code in a debugger, or to see an
  edit to ``PPO.loss`` take effect.
- ``numpy`` (rlkit.engines.numpy.engine): a hand-written twin of the built-in
  FullyConnectedNetwork (tanh / relu / linear, float32, on the CPU, no hooks), of the
  Categorical and DiagGaussian distributions and of PPO's and A2C's losses with their
  gradients. For the small networks of RL it is 2-3x faster, because torch's per-operator
  overhead dwarfs the arithmetic.

The config key ``engine`` chooses: "auto" (the default) takes numpy only where it is an
exact twin of what torch would run, and torch everywhere else; "torch" always torch;
"numpy" numpy or a ValueError saying why it cannot. The choice, and why "auto" made it, is
in every ``train()`` result (``result["engine"]``, ``result["engine_reason"]``), in
``explain()`` and in ``trace()``.

    engine = select_engine("auto", policy, algorithm)   # once per train()
    engine.actions(policy, obs, ...)    # the policy asks for outputs
    engine.step(algorithm, minibatch)   # the learner asks for a step
"""

from __future__ import annotations

from typing import Any

from rlkit.distributions import Categorical, DiagGaussian, dist_name
from rlkit.engines.numpy.engine import NumpyEngine
from rlkit.engines.numpy.loss import loss_twin
from rlkit.engines.numpy.mlp import why_not
from rlkit.engines.torch_engine import Actions, TorchEngine

ENGINES = ("auto", "torch", "numpy")
NUMPY_DISTRIBUTIONS = (Categorical, DiagGaussian)
Engine = TorchEngine | NumpyEngine


def check_engine(value: object) -> str:
    """The ``engine`` config value, or ValueError naming the key and its choices."""
    if value not in ENGINES:
        raise ValueError(
            f"config key 'engine' takes 'auto' (numpy where it is an exact twin, else torch), "
            f"'torch' or 'numpy'; got {value!r}"
        )
    return value


def numpy_mismatch(policy: Any, algorithm: Any = None) -> str | None:
    """Why numpy cannot compute what torch would; None where it is an exact twin.

    Checks the policy's model and distribution, and with ``algorithm`` also its learner.
    """
    why = why_not(policy.model)
    if why is not None:
        return why
    if getattr(policy, "byte_scale", None) is not None:
        return "observations are uint8 frames, which only the torch model scales"
    if policy.dist_class not in NUMPY_DISTRIBUTIONS:
        return f"the action distribution {dist_name(policy.dist_class)} has no numpy twin"
    if algorithm is None:
        return None
    name = type(algorithm).__name__
    if loss_twin(algorithm) is None:
        return f"{name}'s loss has no numpy twin (PPO and A2C, as written, have one)"
    if algorithm.model is not policy.model:
        return f"the learner's model is on {algorithm.device}"
    frozen = [n for n, p in algorithm.model.named_parameters() if not p.requires_grad]
    if frozen:
        return f"parameter '{frozen[0]}' is frozen (requires_grad False)"
    return None


def select_engine(requested: str, policy: Any, algorithm: Any = None) -> Engine:
    """The engine for ``policy`` (and ``algorithm``'s learner) under config ``engine``.

    Args:
        requested: "auto", "torch" or "numpy".
        policy: the Policy whose model and distribution the engine runs.
        algorithm: the trainer whose gradient step it runs (None: acting only).

    Raises:
        ValueError: "numpy" asked for where it is not an exact twin, saying why.
    """
    if check_engine(requested) == "torch":
        return TorchEngine("engine='torch' in the config: every model, distribution and loss")
    why = numpy_mismatch(policy, algorithm)
    twin = None if algorithm is None else loss_twin(algorithm)
    if requested == "numpy":
        if why is not None:
            raise ValueError(
                f"engine='numpy' cannot run this: {why}. The numpy engine runs the built-in "
                f"FullyConnectedNetwork on the CPU with a Categorical or DiagGaussian "
                f"distribution, and PPO's or A2C's loss; set engine='auto' (numpy only where "
                f"it is an exact twin) or 'torch'"
            )
        return NumpyEngine("engine='numpy' in the config", strict=True, loss_twin=twin)
    if why is not None:
        return TorchEngine(f"auto: {why}, so torch runs it")
    what = f"and {type(algorithm).__name__}'s loss " if algorithm is not None else ""
    return NumpyEngine(
        f"auto: the built-in MLP with {dist_name(policy.dist_class)} {what}on the CPU has an "
        f"exact numpy twin; engine='torch' runs the torch code instead",
        loss_twin=twin,
    )


__all__ = [
    "ENGINES",
    "Actions",
    "Engine",
    "NumpyEngine",
    "TorchEngine",
    "check_engine",
    "numpy_mismatch",
    "select_engine",
]
