"""RLlib's config keys in rlkit: the ones it maps, the renamed ones, and the ones it lacks.

An RLlib config moved over keeps its common keys (``framework``, ``num_gpus``, ``env``,
``num_workers`` / ``num_env_runners``, ``num_envs_per_worker`` / ``num_envs_per_env_runner``,
``timesteps_per_iteration`` / ``min_sample_timesteps_per_iteration``, ``train_batch_size``):
they are in the algorithms' key tables (rlkit.algorithms.config.keys). RLlib keys that rlkit
does not implement are listed in ``RLLIB_ONLY`` with what to do instead, so a config that sets
one fails with that advice, never with a guess at a similarly spelled rlkit key.
"""

from __future__ import annotations

from typing import Any

# Older RLlib names -> the name rlkit's table uses (the same meaning).
ALIASES: dict[str, str] = {
    "num_workers": "num_env_runners",
    "num_envs_per_worker": "num_envs_per_env_runner",
    "timesteps_per_iteration": "min_sample_timesteps_per_iteration",
    "evaluation_num_workers": "evaluation_num_env_runners",
}

_TF = "a TensorFlow setting, and rlkit runs PyTorch only; remove it"
_EVAL = (
    "rlkit evaluates in this process, after train() (evaluation_interval, "
    "evaluation_duration, evaluation_config) or when asked (trainer.evaluate()); remove it"
)
_RAY = "a Ray resource setting; a local rlkit run samples in this process: remove it"
_STACK = "an RLlib API-stack switch; rlkit has one stack: remove it"
_CALLBACKS = (
    "rlkit has no callbacks: put your code in the loop around train() (its result holds "
    "episode_reward_mean, the losses and Model.metrics()), or subclass the algorithm and "
    "extend training_step()"
)
_OFFLINE = "rlkit's offline data feeds BC (config 'input'); off-policy estimation is not there"
_ENV_WRAP = "wrap the env instead (gymnasium.wrappers: %s) and pass the wrapped env"

# RLlib keys rlkit does not implement -> what to do instead.
# RLlib's Ray resource requests (also what `migrate` deletes, rlkit.migrate.table).
RAY_RESOURCE_KEYS = (
    "num_cpus_per_worker",
    "num_cpus_per_env_runner",
    "num_gpus_per_worker",
    "num_gpus_per_env_runner",
    "num_cpus_for_driver",
    "num_cpus_for_local_worker",
    "custom_resources_per_worker",
    "custom_resources_per_env_runner",
    "placement_strategy",
)

RLLIB_ONLY: dict[str, str] = {
    # resources and workers
    **dict.fromkeys(RAY_RESOURCE_KEYS, _RAY),
    "remote_worker_envs": "set vector_mode 'async' to run each env copy in its own process",
    "remote_env_batch_wait_ms": "set vector_mode 'async' to run each env copy in its own process",
    "sample_async": "rlkit samples synchronously, then learns; remove it",
    "create_env_on_driver": "the trainer always makes its envs in this process; remove it",
    **dict.fromkeys(
        (
            "ignore_worker_failures",
            "recreate_failed_workers",
            "recreate_failed_env_runners",
            "restart_failed_env_runners",
            "restart_failed_sub_environments",
        ),
        "a failed env step raises, and the next train() resets the envs and continues; remove it",
    ),
    **dict.fromkeys(
        (
            "num_learner_workers",
            "num_learners",
            "num_gpus_per_learner_worker",
            "num_gpus_per_learner",
            "num_cpus_per_learner",
        ),
        "rlkit has one learner; place it with device (or num_gpus)",
    ),
    # frameworks and API stacks
    **dict.fromkeys(
        ("tf_session_args", "local_tf_session_args", "eager_tracing", "eager_max_retraces"),
        _TF,
    ),
    **dict.fromkeys(
        (
            "_enable_new_api_stack",
            "enable_rl_module_and_learner",
            "enable_env_runner_and_connector_v2",
            "_disable_preprocessor_api",
            "_disable_action_flattening",
            "_disable_execution_plan_api",
            "simple_optimizer",
            "_fake_gpus",
        ),
        _STACK,
    ),
    # logging, callbacks, evaluation
    "log_level": "rlkit does not log through Python logging; train() returns every figure",
    "callbacks": _CALLBACKS,
    "custom_metrics": _CALLBACKS,
    "keep_per_episode_custom_metrics": _CALLBACKS,
    **dict.fromkeys(
        (
            "evaluation_parallel_to_training",
            "custom_eval_function",
            "always_attach_evaluation_results",
            "in_evaluation",
        ),
        _EVAL,
    ),
    **dict.fromkeys(
        ("metrics_num_episodes_for_smoothing", "metrics_smoothing_episodes"),
        "episode_reward_mean is the mean of the last 100 finished episodes, always",
    ),
    **dict.fromkeys(
        ("min_time_s_per_iteration", "min_time_s_per_reporting"),
        "an rlkit iteration is sized in env steps: set min_sample_timesteps_per_iteration",
    ),
    **dict.fromkeys(
        ("min_train_timesteps_per_iteration", "min_train_timesteps_per_reporting"),
        "an rlkit iteration is sized in sampled env steps: set min_sample_timesteps_per_iteration",
    ),
    # episodes and env wrappers
    "horizon": "give the env a time limit (gymnasium.wrappers.TimeLimit or max_episode_steps); "
    "rlkit bootstraps the truncated episodes",
    "soft_horizon": "rlkit keeps terminated and truncated apart and bootstraps truncated "
    "episodes; give the env a time limit",
    "no_done_at_end": "rlkit keeps terminated and truncated apart; a time limit on the env "
    "truncates (and bootstraps)",
    "batch_mode": "rlkit samples fixed-length fragments, RLlib's 'truncate_episodes'; remove it",
    "clip_rewards": _ENV_WRAP % "TransformReward(env, numpy.sign) or ClipReward",
    "clip_actions": _ENV_WRAP % "ClipAction",
    "normalize_actions": _ENV_WRAP % "RescaleAction",
    "observation_space": "rlkit reads the spaces from the env",
    "action_space": "rlkit reads the spaces from the env",
    "disable_env_checking": "rlkit checks the spaces when it builds the trainer; remove it",
    "render_env": "watch episodes with rlkit.widgets.EpisodeReplay",
    "record_env": _ENV_WRAP % "RecordVideo",
    "compress_observations": "rlkit stores observations uncompressed; remove it",
    "synchronize_filters": "with local sampling there is one filter: nothing to synchronise",
    # multi-agent and offline
    **dict.fromkeys(
        ("multiagent", "policies", "policy_mapping_fn", "policies_to_train"),
        "rlkit trains one policy; multi-agent training is not implemented",
    ),
    **dict.fromkeys(
        (
            "input_evaluation",
            "off_policy_estimation_methods",
            "input_config",
            "actions_in_input_normalized",
            "postprocess_inputs",
            "shuffle_buffer_size",
        ),
        _OFFLINE,
    ),
    # exploration, optimisation
    "explore": "training always explores (samples actions); act greedily with "
    "trainer.compute_single_action(obs, explore=False)",
    "optimizer": "rlkit trains with Adam: set lr, lr_schedule and adam_epsilon",
    "grad_clip_by": "grad_clip limits the global gradient norm (RLlib's 'global_norm')",
    "sgd_stepsize": "rlkit's name is lr",
    # PPO, A2C
    "kl_coeff": "rlkit's PPO has no KL penalty, only the clipped objective (clip_param); "
    "train() reports 'kl'",
    "kl_target": "rlkit's PPO has no KL penalty, only the clipped objective (clip_param)",
    "use_kl_loss": "rlkit's PPO has no KL penalty, only the clipped objective (clip_param)",
    "use_gae": "PPO and A2C always use GAE; lambda 1.0 gives Monte-Carlo advantages",
    "use_critic": "PPO and A2C always learn a critic; PG learns without one",
    "entropy_coeff_schedule": "not implemented; set a constant entropy_coeff",
    "vf_share_layers": "set it in the model config: 'model': {'vf_share_layers': True}",
    "shuffle_sequences": "rlkit always shuffles the minibatches",
    "num_epochs": "rlkit's name is num_sgd_iter (epochs per batch)",
    "minibatch_size": "rlkit's name is sgd_minibatch_size",
    # DQN
    "num_steps_sampled_before_learning_starts": "rlkit's name is learning_starts",
    "n_step": "rlkit's DQN learns from 1-step targets",
    "noisy": "rlkit's DQN explores epsilon-greedily (exploration_config)",
    "sigma0": "rlkit's DQN explores epsilon-greedily (exploration_config)",
    "num_atoms": "rlkit's DQN learns expected Q-values, not distributions",
    "v_min": "rlkit's DQN learns expected Q-values, not distributions",
    "v_max": "rlkit's DQN learns expected Q-values, not distributions",
    "tau": "rlkit's DQN copies the target network every target_network_update_freq steps",
    "td_error_loss_fn": "rlkit's DQN uses the Huber loss",
    "categorical_distribution_temperature": "rlkit's DQN acts epsilon-greedily",
    **dict.fromkeys(
        (
            "prioritized_replay",
            "prioritized_replay_alpha",
            "prioritized_replay_beta",
            "prioritized_replay_eps",
            "replay_buffer_config",
            "worker_side_prioritization",
            "replay_sequence_length",
            "store_buffer_in_checkpoints",
        ),
        "rlkit's DQN replays uniformly from a buffer of buffer_size transitions",
    ),
    "before_learn_on_batch": "subclass DQN and override update()",
}


# RLlib keys whose RLlib value is what rlkit always does: that value is accepted (and means
# exactly that), any other is an error with the RLLIB_ONLY advice.
FIXED: dict[str, Any] = {
    "use_gae": True,
    "use_critic": True,
    "clip_actions": True,
    "normalize_actions": False,
    "batch_mode": "truncate_episodes",
    "explore": True,
    "_disable_preprocessor_api": False,
    "shuffle_sequences": True,
}


def drop_fixed(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` less the RLlib keys set to what rlkit always does (``FIXED``)."""
    return {
        k: v
        for k, v in config.items()
        if not (k in FIXED and type(v) is type(FIXED[k]) and v == FIXED[k])
    }


def rllib_advice(key: str) -> str | None:
    """What to do instead of RLlib's ``key``, or None when RLlib has no such key we know."""
    tip = RLLIB_ONLY.get(key)
    if tip and key in FIXED:
        tip += f" ({key}={FIXED[key]!r}, what rlkit always does, is accepted)"
    return tip


def resolve_aliases(config: dict[str, Any], where: str) -> dict[str, Any]:
    """``config`` with RLlib's older names (``ALIASES``) renamed; both names at once must agree.

    Raises:
        ValueError: a key and its alias both given with different values.
    """
    out = dict(config)
    for old, new in ALIASES.items():
        if old not in out:
            continue
        value = out.pop(old)
        if new in out and out[new] != value:
            raise ValueError(
                f"{where} config sets both '{old}' ({value!r}) and '{new}' ({out[new]!r}); "
                f"they are one setting ('{old}' is RLlib's older name): keep one"
            )
        out[new] = value
    return out
