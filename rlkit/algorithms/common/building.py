"""What a trainer is built from: the vector env, the policy over its spaces, the sampler.

One source of truth for the spaces: the policy sees what the sampler delivers (for Atari, the
DeepMind frames of ale-py's vector env).
"""

from __future__ import annotations

from typing import Any

from rlkit.algorithms.common.memory import check_built_spaces, make_checked_vec_env
from rlkit.atari import env_note, policy_model_config
from rlkit.overlap import OverlappedSampler, can_overlap
from rlkit.policy import Policy
from rlkit.sampling import Sampler


def make_policy(env: Any, config: dict[str, Any]) -> tuple[Any, Policy]:
    """(the vector env the sampler will step, the Policy built from its spaces).

    Args:
        env: the trainer's env (an id, a registered name or a class).
        config: the trainer's checked config.
    """
    vec_env = make_checked_vec_env(env, config)  # the memory it will need, checked first
    try:
        check_built_spaces(config, vec_env)
        policy = Policy(
            vec_env.single_observation_space,
            vec_env.single_action_space,
            {
                "model": policy_model_config(env, config),
                "observation_filter": config["observation_filter"],
                "num_threads": config["num_threads"],
                "engine": config["engine"],
            },
        )
        policy.env_note = env_note(env, config, vec_env)
        # num_threads="auto" sizes the learner's pool by one gradient step's rows.
        policy.threads.resize(learner_rows(config), config["num_envs"])
    except BaseException:
        vec_env.close()
        raise
    return vec_env, policy


def learner_rows(config: dict[str, Any]) -> int:
    """Rows of one gradient step: a minibatch, else the train batch, else one rollout."""
    rows = config.get("sgd_minibatch_size") or config.get("train_batch_size")
    return int(rows or config["num_envs"] * config["rollout_fragment_length"])


def make_sampler(trainer: Any, env: Any, vec_env: Any, seed: int | None) -> Any:
    """The Sampler over ``vec_env``, or with ``num_env_runners`` Ray actors behind its API."""
    config = trainer.config
    if config["num_env_runners"] > 0:  # N Ray actors behind the Sampler's interface
        from rlkit.scaling.runners import EnvRunnerGroup  # Ray: imported only when asked for

        vec_env.close()  # the runners step envs of their own
        return EnvRunnerGroup(trainer, env, config["num_env_runners"])
    setting, why_not = config["sample_overlap"], can_overlap(vec_env, config)
    if setting and not isinstance(setting, str) and why_not:  # True (or numpy's True)
        vec_env.close()
        raise ValueError(f"config 'sample_overlap' True: cannot overlap, because {why_not}")
    if not setting or why_not:  # False, or "auto" where the envs cannot
        args = (config["num_envs"], config["env_config"], config["vector_mode"])
        return Sampler(env, trainer.policy, *args, seed, config=config, vec_env=vec_env)
    vec_env.close()  # the trainer's policy was built from its spaces; two halves step instead
    return OverlappedSampler.build(env, trainer.policy, config, seed)
