"""The torch device a config's ``device`` key names."""

from __future__ import annotations

import torch


def resolve_device(name: str) -> torch.device:
    """The torch device of a config's ``device``: "auto" is CUDA when available, else CPU.

    "cuda" without a GPU is a clear error.
    """
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if not isinstance(name, str) or not (name == "cpu" or name.startswith("cuda")):
        raise ValueError(f"config key 'device' takes 'auto', 'cpu' or 'cuda[:index]'; got {name!r}")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(
            f"config asks for device '{name}' but this kernel has no CUDA GPU (torch "
            f"{torch.__version__}, cuda available: False); use device 'auto' or 'cpu'"
        )
    return torch.device(name)
