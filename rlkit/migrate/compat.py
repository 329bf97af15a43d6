"""RLlib's small helpers that only migrated code needs, under rlkit's roof.

``python -m rlkit migrate`` points these RLlib imports here (the table: rlkit.migrate.table):

- type aliases of ``ray.rllib.utils.typing`` (``ModelConfigDict``, ``TensorType``, ...);
- ``merge_dicts`` / ``deep_update`` (``ray.tune.utils``), RLlib's recursive config merge;
- ``try_import_tf``: ``(None, None, None)``, what RLlib returns where TensorFlow is missing;
- ``SlimFC`` / ``normc_initializer`` (``ray.rllib.models.torch.misc``): a Linear layer with
  RLlib's initialiser and an optional activation;
- ``SampleBatch``: a dict with RLlib's column-name constants (``SampleBatch.OBS == "obs"``);
- ``EnvContext``: the env_config dict with RLlib's ``worker_index`` / ``num_workers``;
- ``unported(...)``: what an RLlib name without an rlkit counterpart becomes. Importing it
  works (so a TF class the script never builds costs nothing); using it raises
  ``RLlibNameError`` naming the RLlib name, the script's line and what to write instead.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

# ---- ray.rllib.utils.typing ---------------------------------------------------------------
ModelConfigDict = dict  # the "model" sub-config
AlgorithmConfigDict = dict
TrainerConfigDict = dict
PartialAlgorithmConfigDict = dict
EnvConfigDict = dict
ModelWeights = dict
TensorType = Any  # a torch.Tensor in rlkit
TensorStructType = Any
EnvType = Any
PolicyID = str
AgentID = Any
ResultDict = dict
SampleBatchType = dict
ModelInputDict = dict
ViewRequirementsDict = dict
TYPING_NAMES = (
    "ModelConfigDict",
    "AlgorithmConfigDict",
    "TrainerConfigDict",
    "PartialAlgorithmConfigDict",
    "EnvConfigDict",
    "ModelWeights",
    "TensorType",
    "TensorStructType",
    "EnvType",
    "PolicyID",
    "AgentID",
    "ResultDict",
    "SampleBatchType",
    "ModelInputDict",
    "ViewRequirementsDict",
)


class RLlibNameError(NotImplementedError):
    """An RLlib name that rlkit has no counterpart for was used (see ``unported``)."""


# ---- ray.tune.utils ---------------------------------------------------------------------
def deep_update(original: dict, new_dict: dict, *args: Any, **kwargs: Any) -> dict:
    """Update ``original`` in place with ``new_dict``, merging nested dicts (RLlib's).

    RLlib's extra arguments (``new_keys_allowed`` and the override lists) are accepted; every
    key is allowed, as with RLlib's defaults.
    """
    for key, value in new_dict.items():
        if isinstance(value, dict) and isinstance(original.get(key), dict):
            deep_update(original[key], value)
        else:
            original[key] = value
    return original


def merge_dicts(dict1: dict, dict2: dict) -> dict:
    """A deep copy of ``dict1`` updated with ``dict2``, nested dicts merged (RLlib's).

    Example:
        >>> merge_dicts({"model": {"a": 1, "b": 2}}, {"model": {"b": 3}, "lr": 0.1})
        {'model': {'a': 1, 'b': 3}, 'lr': 0.1}
    """
    return deep_update(copy.deepcopy(dict1), copy.deepcopy(dict2))


# ---- ray.tune.logger ------------------------------------------------------------------------
def pretty_print(result: dict, indent: int = 0) -> str:
    """A train() result as indented ``key: value`` lines (RLlib's, without YAML).

    Example:
        >>> print(pretty_print({"a": 1, "b": {"c": 2.5}}))
        a: 1
        b:
          c: 2.5
    """
    lines = []
    for key, value in result.items():
        if isinstance(value, dict):
            lines.append(" " * indent + f"{key}:")
            if value:
                lines.append(pretty_print(value, indent + 2))
        else:
            lines.append(" " * indent + f"{key}: {value}")
    return "\n".join(lines)


# ---- ray.rllib.utils.framework --------------------------------------------------------------
def try_import_tf(error: bool = False) -> tuple[None, None, None]:
    """``(tf1, tf, tf_version)`` as RLlib returns them without TensorFlow: all None.

    rlkit is PyTorch only; ``error=True`` raises as RLlib's does.
    """
    if error:
        raise ImportError("rlkit is PyTorch only: write the model as an rlkit.models.Model")
    return None, None, None


# ---- ray.rllib.models.torch.misc ------------------------------------------------------------
def normc_initializer(std: float = 1.0) -> Callable[[torch.Tensor], None]:
    """RLlib's initialiser: normal rows rescaled to norm ``std`` (in place)."""

    def initializer(tensor: torch.Tensor) -> None:
        with torch.no_grad():
            tensor.normal_(0, 1)
            tensor *= std / torch.sqrt(tensor.pow(2).sum(1, keepdim=True))

    return initializer


class SlimFC(nn.Module):
    """RLlib's SlimFC: ``activation(Linear(x))`` with a chosen initialiser.

    Args:
        in_size: input features.
        out_size: output features.
        initializer: called on the weight in place (default: xavier uniform, as RLlib).
        activation_fn: None, an nn.Module class (nn.ReLU) or "relu" / "tanh" / "linear".
        use_bias: add a bias.
        bias_init: the bias's initial value.

    Shapes: ``[B, in_size] -> [B, out_size]``.
    """

    def __init__(
        self,
        in_size: int,
        out_size: int,
        initializer: Callable | None = None,
        activation_fn: Any = None,
        use_bias: bool = True,
        bias_init: float = 0.0,
    ):
        super().__init__()
        linear = nn.Linear(in_size, out_size, bias=use_bias)
        (initializer or nn.init.xavier_uniform_)(linear.weight)
        if use_bias:
            nn.init.constant_(linear.bias, bias_init)
        layers: list[nn.Module] = [linear]
        if isinstance(activation_fn, str):
            activation_fn = {"relu": nn.ReLU, "tanh": nn.Tanh, "linear": None}[activation_fn]
        if activation_fn is not None:
            layers.append(activation_fn())
        self._model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, in_size] -> [B, out_size]``."""
        return self._model(x)


# ---- ray.rllib.policy.sample_batch / ray.rllib.env.env_context ------------------------------
class SampleBatch(dict):
    """RLlib's SampleBatch as rlkit's batches are: a dict of arrays, column names as constants.

    ``loss_inputs[SampleBatch.OBS]`` is ``loss_inputs["obs"]``. RLlib's ``dones`` column is
    split in rlkit (and gymnasium) into ``terminated`` and ``truncated``.
    """

    OBS = "obs"
    CUR_OBS = "obs"
    NEXT_OBS = "new_obs"
    ACTIONS = "actions"
    REWARDS = "rewards"
    PREV_ACTIONS = "prev_actions"
    PREV_REWARDS = "prev_rewards"
    TERMINATEDS = "terminated"
    TRUNCATEDS = "truncated"
    EPS_ID = "eps_id"
    ACTION_LOGP = "action_logp"
    ACTION_DIST_INPUTS = "action_dist_inputs"
    VF_PREDS = "vf_preds"
    SEQ_LENS = "seq_lens"

    @property
    def count(self) -> int:
        """Rows in the batch (the first column's length)."""
        return len(next(iter(self.values()))) if self else 0


class EnvContext(dict):
    """RLlib's EnvContext: the env_config dict, with the worker's place (one local worker)."""

    worker_index = 0
    num_workers = 0
    vector_index = 0
    remote = False


# ---- names rlkit has no counterpart for ---------------------------------------------------------
class _Unported(type):
    """Metaclass: creating a subclass works; calling, or reading an attribute, raises."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        raise RLlibNameError(cls._rlkit_message)

    def __getattr__(cls, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        raise RLlibNameError(cls._rlkit_message)


def unported(rllib_name: str, advice: str, line: int | None = None) -> type:
    """A stand-in for ``rllib_name``: importing it works, using it raises RLlibNameError.

    Args:
        rllib_name: the RLlib dotted name, e.g. "ray.rllib.models.tf.tf_modelv2.TFModelV2".
        advice: what to write instead (the migration table's note).
        line: the line of the migrated script that imported it.
    """
    where = f" (imported at line {line})" if line else ""
    message = f"{rllib_name}{where} has no rlkit counterpart: {advice}"
    short = rllib_name.rsplit(".", 1)[-1]
    return _Unported(short, (), {"_rlkit_message": message, "__module__": __name__})
