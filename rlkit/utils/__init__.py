"""Plumbing every other part of rlkit stands on; nothing here imports the rest of rlkit.

- ``config``: ``MODEL_DEFAULTS``, ``check_keys`` ("did you mean"), ``merge_model_config``.
- ``seeding``: ``private_rng``, the private torch RNG stream of a trainer or a remote runner.
- ``threads``: ``limit_threads``, the thread pools rlkit uses while it trains or acts.
- ``guards``: checks where data enters (non-finite rewards and observations, env mistakes).
- ``devices``: ``resolve_device``, the torch device of the config key ``device``.
- ``torch_utils``: RLlib's small torch names (``FLOAT_MIN``, ``try_import_torch``, ``override``).

The package imports none of them: ``import rlkit.utils.config`` loads that module alone.
"""
