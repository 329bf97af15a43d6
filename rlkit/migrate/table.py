"""The one table of RLlib names and their rlkit counterparts.

``python -m rlkit migrate`` rewrites with it, and docs/MIGRATING_FROM_RLLIB.md shows it (the
doc's table is ``markdown_table()``'s output; a test keeps the two equal). Each entry:
``(RLlib dotted path, rlkit dotted path or None, note)``; None means "no counterpart": the tool
leaves the code alone and lists it with the note.
"""

from __future__ import annotations

_ALGOS = [("ppo", "PPO"), ("pg", "PG"), ("dqn", "DQN")]
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
    ("ray.rllib.algorithms.a2c", "rlkit.algorithms.a2c", "module"),
    ("ray.rllib.algorithms.a2c.A2C", "rlkit.algorithms.a2c.A2C", ""),
    ("ray.rllib.agents.marwil", "rlkit.algorithms.bc", "module; BC only"),
    ("ray.rllib.agents.marwil.BCTrainer", "rlkit.algorithms.bc.BCTrainer", ""),
    ("ray.rllib.algorithms.bc", "rlkit.algorithms.bc", "module"),
    ("ray.rllib.algorithms.bc.BC", "rlkit.algorithms.bc.BC", ""),
    ("ray.rllib.agents.ppo.PPOConfig", None, "pass a config dict: PPO(env=..., config={...})"),
    ("ray.rllib.algorithms.ppo.PPOConfig", None, "pass a config dict: PPO(env=..., config={...})"),
    # models
    ("ray.rllib.models.ModelCatalog", "rlkit.ModelCatalog", ""),
    ("ray.rllib.models.MODEL_DEFAULTS", "rlkit.MODEL_DEFAULTS", ""),
    ("ray.rllib.models.catalog.ModelCatalog", "rlkit.ModelCatalog", ""),
    ("ray.rllib.models.catalog.MODEL_DEFAULTS", "rlkit.MODEL_DEFAULTS", ""),
    ("ray.rllib.models.modelv2.ModelV2", "rlkit.models.Model", "a torch.nn.Module"),
    ("ray.rllib.models.torch.torch_modelv2.TorchModelV2", "rlkit.models.Model", ""),
    ("ray.rllib.models.torch.recurrent_net.RecurrentNetwork", "rlkit.models.RecurrentModel", ""),
    (
        "ray.rllib.models.torch.fcnet.FullyConnectedNetwork",
        "rlkit.models.FullyConnectedNetwork",
        "",
    ),
    ("ray.rllib.models.torch.visionnet.VisionNetwork", "rlkit.models.VisionNetwork", ""),
    ("ray.rllib.models.torch.misc.SlimFC", None, "use torch.nn.Linear and an activation"),
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
        None,
        "rlkit's batches are dicts of arrays: use the column names as keys",
    ),
    # utilities
    ("ray.rllib.utils.torch_utils.FLOAT_MIN", "rlkit.utils.torch_utils.FLOAT_MIN", ""),
    ("ray.rllib.utils.torch_utils.FLOAT_MAX", "rlkit.utils.torch_utils.FLOAT_MAX", ""),
    ("ray.rllib.utils.framework.try_import_torch", "rlkit.utils.torch_utils.try_import_torch", ""),
    ("ray.rllib.utils.framework.try_import_tf", None, "rlkit is PyTorch only"),
    ("ray.rllib.utils.annotations.override", "rlkit.utils.torch_utils.override", ""),
    ("ray.tune.registry.register_env", "rlkit.register_env", ""),
    ("ray.tune", None, TUNE_NOTE),
    ("ray.tune.run", None, TUNE_NOTE),
]

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


def lookup() -> dict[str, tuple[str | None, str]]:
    """RLlib dotted path -> (rlkit dotted path or None, note)."""
    return {old: (new, note) for old, new, note in NAMES}


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
