"""The one table of RLlib names and their rlkit counterparts.

``python -m rlkit migrate`` rewrites with it, and docs/MIGRATING_FROM_RLLIB.md shows it (the
doc's table is ``markdown_table()``'s output; a test keeps the two equal). Each entry:
``(RLlib dotted path, rlkit dotted path or None, note)``; None means "no counterpart": the tool
leaves the code alone and lists it with the note.
"""

from __future__ import annotations

from rlkit.algorithms.config.rllib_keys import RAY_RESOURCE_KEYS

_ALGOS = [("ppo", "PPO"), ("pg", "PG"), ("dqn", "DQN")]
TF_NOTE = "rlkit is PyTorch only: write the model as an rlkit.models.Model (a torch module)"
TUNE_NOTE = (
    "loop over trainer.train() and stop on the result; for sweeps on Ray Tune, "
    "rlkit.scaling.rlkit_trainable(algo) (the ray extra)"
)

NAMES: list[tuple[str, str | None, str]] = [
    # trainers: the old agents.* modules and the newer algorithms.* ones
    *[(f"ray.rllib.agents.{m}", f"rlkit.algorithms.{m}", "module") for m, _ in _ALGOS],
    *[(f"ray.rllib.algorithms.{m}", f"rlkit.algorithms.{m}", "module") for m, _ in _ALGOS],
    *[
        (f"ray.rllib.agents.{m}.{a}Trainer", f"rlkit.algorithms.{m}.{a}Trainer", "")
        for m, a in _ALGOS
    ],
    *[(f"ray.rllib.algorithms.{m}.{a}", f"rlkit.algorithms.{m}.{a}", "") for m, a in _ALGOS],
    ("ray.rllib.agents.a3c", "rlkit.algorithms.a2c", "module; rlkit has A2C, not A3C"),
    ("ray.rllib.agents.a3c.A2CTrainer", "rlkit.algorithms.a2c.A2CTrainer", ""),
    ("ray.rllib.agents.a3c.a2c.A2CTrainer", "rlkit.algorithms.a2c.A2CTrainer", ""),
    ("ray.rllib.agents", "rlkit.algorithms", "module: agents.ppo.PPOTrainer and the others"),
    ("ray.rllib.algorithms.a2c", "rlkit.algorithms.a2c", "module"),
    ("ray.rllib.algorithms.a2c.A2C", "rlkit.algorithms.a2c.A2C", ""),
    ("ray.rllib.agents.marwil", "rlkit.algorithms.bc", "module; BC only"),
    ("ray.rllib.agents.marwil.BCTrainer", "rlkit.algorithms.bc.BCTrainer", ""),
    ("ray.rllib.algorithms.bc", "rlkit.algorithms.bc", "module"),
    ("ray.rllib.algorithms.bc.BC", "rlkit.algorithms.bc.BC", ""),
    *[(f"ray.rllib.agents.{m}.{m}", f"rlkit.algorithms.{m}", "module") for m, _ in _ALGOS],
    *[(f"ray.rllib.algorithms.{m}.{m}", f"rlkit.algorithms.{m}", "module") for m, _ in _ALGOS],
    *[
        (f"ray.rllib.agents.{m}.DEFAULT_CONFIG", f"rlkit.algorithms.{m}.DEFAULT_CONFIG", "")
        for m, _ in _ALGOS
    ],
    # RLlib 2.x's config builders
    *[
        (f"ray.rllib.algorithms.{m}.{a}Config", f"rlkit.algorithms.{m}.{a}Config", "builder")
        for m, a in [*_ALGOS, ("a2c", "A2C"), ("bc", "BC")]
    ],
    ("ray.rllib.agents.ppo.PPOConfig", "rlkit.algorithms.ppo.PPOConfig", "builder"),
    (
        "ray.rllib.algorithms.algorithm_config.AlgorithmConfig",
        "rlkit.algorithms.AlgorithmConfig",
        "",
    ),
    ("ray.rllib.algorithms.algorithm.Algorithm", "rlkit.algorithms.Algorithm", ""),
    ("ray.rllib.agents.trainer.Trainer", "rlkit.algorithms.Algorithm", ""),
    ("ray.tune.registry.get_trainable_cls", "rlkit.algorithms.get_trainable_cls", ""),
    # models
    ("ray.rllib.models.ModelCatalog", "rlkit.ModelCatalog", ""),
    ("ray.rllib.models.MODEL_DEFAULTS", "rlkit.MODEL_DEFAULTS", ""),
    ("ray.rllib.models.catalog.ModelCatalog", "rlkit.ModelCatalog", ""),
    ("ray.rllib.models.catalog.MODEL_DEFAULTS", "rlkit.MODEL_DEFAULTS", ""),
    ("ray.rllib.models.modelv2.ModelV2", "rlkit.models.Model", "a torch.nn.Module"),
    ("ray.rllib.models.ModelV2", "rlkit.models.Model", "a torch.nn.Module"),
    (
        "ray.rllib.algorithms.dqn.dqn_torch_model.DQNTorchModel",
        "rlkit.models.Model",
        "rlkit's DQN adds its Q head from hiddens / dueling",
    ),
    ("ray.rllib.models.torch.torch_modelv2.TorchModelV2", "rlkit.models.Model", ""),
    (
        "ray.rllib.models.torch.complex_input_net.ComplexInputNetwork",
        "rlkit.models.ComplexInputNetwork",
        "",
    ),
    ("ray.rllib.models.torch.misc.normc_initializer", "rlkit.migrate.compat.normc_initializer", ""),
    ("ray.rllib.models.torch.recurrent_net.RecurrentNetwork", "rlkit.models.RecurrentModel", ""),
    (
        "ray.rllib.models.torch.fcnet.FullyConnectedNetwork",
        "rlkit.models.FullyConnectedNetwork",
        "",
    ),
    ("ray.rllib.models.torch.visionnet.VisionNetwork", "rlkit.models.VisionNetwork", ""),
    (
        "ray.rllib.models.torch.misc.SlimFC",
        "rlkit.migrate.compat.SlimFC",
        "or torch.nn.Linear and an activation",
    ),
    *[
        (f"ray.rllib.models.tf.{m}", None, TF_NOTE)
        for m in (
            "tf_modelv2.TFModelV2",
            "fcnet.FullyConnectedNetwork",
            "visionnet.VisionNetwork",
            "recurrent_net.RecurrentNetwork",
            "complex_input_net.ComplexInputNetwork",
            "TFModelV2",
        )
    ],
    (
        "ray.rllib.models.modelv2.restore_original_dimensions",
        "rlkit.preprocessors.restore_original_dimensions",
        "calling the model does it already",
    ),
    # action distributions
    (
        "ray.rllib.models.action_dist.ActionDistribution",
        "rlkit.distributions.ActionDistribution",
        "",
    ),
    (
        "ray.rllib.models.torch.torch_action_dist.TorchDistributionWrapper",
        "rlkit.distributions.ActionDistribution",
        "",
    ),
    *[
        (f"ray.rllib.models.torch.torch_action_dist.Torch{n}", f"rlkit.distributions.{n}", "")
        for n in (
            "Categorical",
            "MultiCategorical",
            "DiagGaussian",
            "SquashedGaussian",
            "Beta",
            "Deterministic",
            "MultiActionDistribution",
        )
    ],
    # preprocessors, filters, sequences, offline data
    ("ray.rllib.models.preprocessors.Preprocessor", "rlkit.preprocessors.Preprocessor", ""),
    ("ray.rllib.models.preprocessors.get_preprocessor", "rlkit.preprocessors.get_preprocessor", ""),
    *[
        (f"ray.rllib.utils.filter.{n}", f"rlkit.filters.{n}", "")
        for n in ("MeanStdFilter", "NoFilter", "RunningStat")
    ],
    (
        "ray.rllib.policy.rnn_sequencing.chop_into_sequences",
        "rlkit.models.sequences.chop_into_sequences",
        "RLlib's signature",
    ),
    (
        "ray.rllib.policy.rnn_sequencing.add_time_dimension",
        "rlkit.models.sequences.add_time_dimension",
        "takes (x, seq_lens)",
    ),
    ("ray.rllib.offline.JsonReader", "rlkit.offline.JsonReader", "reads RLlib's JSON lines too"),
    ("ray.rllib.offline.JsonWriter", "rlkit.offline.JsonWriter", "takes (directory, env_name)"),
    (
        "ray.rllib.policy.sample_batch.SampleBatch",
        "rlkit.migrate.compat.SampleBatch",
        "rlkit's batches are dicts of arrays; SampleBatch.OBS == 'obs'",
    ),
    ("ray.rllib.policy.SampleBatch", "rlkit.migrate.compat.SampleBatch", ""),
    ("ray.rllib.env.env_context.EnvContext", "rlkit.migrate.compat.EnvContext", "a dict"),
    ("ray.rllib.env.EnvContext", "rlkit.migrate.compat.EnvContext", "a dict"),
    # utilities
    ("ray.rllib.utils.torch_utils.FLOAT_MIN", "rlkit.utils.torch_utils.FLOAT_MIN", ""),
    ("ray.rllib.utils.torch_utils.FLOAT_MAX", "rlkit.utils.torch_utils.FLOAT_MAX", ""),
    *[
        (f"ray.rllib.utils.{m}try_import_torch", "rlkit.utils.torch_utils.try_import_torch", "")
        for m in ("framework.", "")
    ],
    *[
        (
            f"ray.rllib.utils.{m}try_import_tf",
            "rlkit.migrate.compat.try_import_tf",
            "(None, None, None): rlkit is PyTorch only",
        )
        for m in ("framework.", "")
    ],
    ("ray.rllib.utils.framework.TensorType", "rlkit.migrate.compat.TensorType", "Any"),
    *[
        (f"ray.rllib.utils.{m}override", "rlkit.utils.torch_utils.override", "")
        for m in ("annotations.", "")
    ],
    *[
        (f"{m}.{f}", f"rlkit.migrate.compat.{f}", "RLlib's recursive merge")
        for m in ("ray.tune.utils", "ray.tune.utils.util", "ray.rllib.utils")
        for f in ("merge_dicts", "deep_update")
    ],
    ("ray.tune.registry.register_env", "rlkit.register_env", ""),
    ("ray.tune.logger.pretty_print", "rlkit.migrate.compat.pretty_print", ""),
    ("ray.tune.register_env", "rlkit.register_env", ""),
    ("ray.tune", None, TUNE_NOTE),
    ("ray.tune.run", None, TUNE_NOTE),
]

# RLlib keys that only steer Ray or logging, never what is learned: migrate deletes them (from
# config dicts, config["key"] = ... lines and builder calls) and says so.
REMOVABLE_KEYS: dict[str, str] = {
    **dict.fromkeys(
        ("num_cpus", *RAY_RESOURCE_KEYS),
        "a Ray resource request; a local rlkit run samples in this process",
    ),
    **dict.fromkeys(
        (
            "ignore_worker_failures",
            "recreate_failed_workers",
            "recreate_failed_env_runners",
            "restart_failed_env_runners",
            "restart_failed_sub_environments",
        ),
        "Ray fault tolerance; rlkit's runners are rebuilt when they die",
    ),
    **dict.fromkeys(
        ("tf_session_args", "local_tf_session_args", "eager_tracing", "eager_max_retraces"),
        "a TensorFlow setting; rlkit is PyTorch only",
    ),
    "log_level": "RLlib's logging level; rlkit returns every figure from train()",
    "disable_env_checking": "rlkit checks envs as it steps them",
}

# RLlib 2.x builder methods whose keyword arguments are config keys.
BUILDER_METHODS = (
    "environment",
    "training",
    "env_runners",
    "rollouts",
    "resources",
    "evaluation",
    "framework",
    "debugging",
    "reporting",
    "exploration",
    "offline_data",
)

# Methods RLlib renamed or rlkit names differently: obj.<old>(...) -> obj.<new>(...).
METHODS: dict[str, str] = {"compute_action": "compute_single_action"}

# String values rewritten anywhere in the script.
VALUES: dict[str, str] = {
    "CartPole-v0": "CartPole-v1",  # gymnasium has only v1
    "Pendulum-v0": "Pendulum-v1",
}

# Config values rewritten under a key: {"framework": "tf"} -> {"framework": "torch"}.
CONFIG_VALUES: dict[str, dict[str, str]] = {
    "framework": {"tf": "torch", "tf2": "torch", "tfe": "torch"}
}

# RLlib's keys rlkit accepts with their RLlib meaning (issue 15, "Config"), beyond its defaults.
RLLIB_CONFIG_KEYS = (
    "framework",
    "num_workers",
    "num_env_runners",
    "num_envs_per_worker",
    "num_envs_per_env_runner",
    "num_gpus",
    "env",
    "timesteps_per_iteration",
    "min_sample_timesteps_per_iteration",
)


# gym, the package before gymnasium: its modules become gymnasium's (same names).
GYM_MODULES = ("gym",)


def lookup() -> dict[str, tuple[str | None, str]]:
    """RLlib dotted path -> (rlkit dotted path or None, note).

    Every name of ``ray.rllib.utils.typing`` is there too: RLlib's aliases map to
    rlkit.migrate.compat's, and the ``typing`` names it re-exports (Dict, List...) to typing's.
    """
    import typing

    from rlkit.migrate.compat import TYPING_NAMES

    table = {old: (new, note) for old, new, note in NAMES}
    for name in TYPING_NAMES:
        table[f"ray.rllib.utils.typing.{name}"] = (f"rlkit.migrate.compat.{name}", "type alias")
    for name in typing.__all__:
        table[f"ray.rllib.utils.typing.{name}"] = (f"typing.{name}", "")
    return table


def markdown_table() -> str:
    """The table as markdown, for docs/MIGRATING_FROM_RLLIB.md."""
    rows = ["| RLlib | rlkit | note |", "|---|---|---|"]
    for old, new, note in NAMES:
        rows.append(f"| `{old}` | {f'`{new}`' if new else '(none)'} | {note} |")
    for old, new in METHODS.items():
        rows.append(f"| `.{old}(...)` | `.{new}(...)` | method |")
    for old, new in VALUES.items():
        rows.append(f'| `"{old}"` | `"{new}"` | env id |')
    rows.append("| `ray.init()`, `ray.shutdown()` | removed | rlkit needs no cluster |")
    return "\n".join(rows) + "\n"
