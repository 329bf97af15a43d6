"""Classroom exercises that check themselves: write a function, then ``check_<name>(fn)``.

    >>> import numpy as np
    >>> from rlkit.exercises import check_one_hot
    >>> def one_hot(x, n):
    ...     return np.eye(n, dtype=np.float32)[x]
    >>> check_one_hot(one_hot)       # prints a verdict and returns it (truthy when passed)

Each check runs the student's function on several cases, compares the result with stored
expected answers (numbers in ``expected.json``: the package holds no answer key) and says what
differs -- type, shape, dtype, a value or, where gradients must flow, a gradient -- and where,
with a hint when the answer matches a common mistake. The verdict's ``score`` (passed cases /
cases) is feedback for self-study, not a grade: a wrong formula can be right on some cases.
Grades come from ``rlkit.grading`` (``python -m rlkit grading build``: nbgrader or Otter
releases whose hidden cases are all or nothing per check). The exercise notebooks are in
``notebooks/exercises/``; solutions for teachers are in ``solutions/`` at the top of the
repository (not installed with the package).

| exercise | the student writes | part of rlkit it mirrors |
|---|---|---|
| one_hot | ``one_hot(x [B], n) -> [B, n]`` | OneHotPreprocessor |
| running_mean_std | ``(count, mean, var, batch) -> (count, mean, var)`` | MeanStdFilter |
| categorical_logp | ``(logits [B, n], actions [B]) -> [B]`` | Categorical.logp |
| categorical_entropy | ``(logits [B, n]) -> [B]`` | Categorical.entropy |
| masked_logits | ``(logits [B, n], mask [B, n]) -> [B, n]`` | parametric actions |
| gae | ``(rewards [T], values [T+1], terminated [T], gamma, lam) -> [T]`` | compute_gae |
| ppo_clip_loss | ``(logp, old_logp, advantages, clip_param) -> scalar`` | PPO.loss |
| chop_sequences | ``(episode_ids [N], max_seq_len) -> seq_lens [B]`` | sequence_lengths |
| autoregressive_sample | ``(context, action_model) -> [B, 2]`` | autoregressive dists |
| autoregressive_logp | ``(context, action_model, actions [B, 2]) -> [B]`` | autoregressive dists |
"""

from rlkit.exercises.autoregressive import (
    AUTOREGRESSIVE_LOGP,
    AUTOREGRESSIVE_SAMPLE,
    ToyActionModel,
    check_autoregressive_logp,
    check_autoregressive_sample,
)
from rlkit.exercises.checking import Exercise, Verdict
from rlkit.exercises.components import (
    CATEGORICAL_ENTROPY,
    CATEGORICAL_LOGP,
    MASKED_LOGITS,
    ONE_HOT,
    RUNNING_MEAN_STD,
    check_categorical_entropy,
    check_categorical_logp,
    check_masked_logits,
    check_one_hot,
    check_running_mean_std,
)
from rlkit.exercises.learning import (
    CHOP_SEQUENCES,
    GAE,
    PPO_CLIP_LOSS,
    check_chop_sequences,
    check_gae,
    check_ppo_clip_loss,
)

EXERCISES: dict[str, Exercise] = {
    ex.name: ex
    for ex in (
        ONE_HOT,
        RUNNING_MEAN_STD,
        CATEGORICAL_LOGP,
        CATEGORICAL_ENTROPY,
        MASKED_LOGITS,
        GAE,
        PPO_CLIP_LOSS,
        CHOP_SEQUENCES,
        AUTOREGRESSIVE_SAMPLE,
        AUTOREGRESSIVE_LOGP,
    )
}

CHECKS = {
    "one_hot": check_one_hot,
    "running_mean_std": check_running_mean_std,
    "categorical_logp": check_categorical_logp,
    "categorical_entropy": check_categorical_entropy,
    "masked_logits": check_masked_logits,
    "gae": check_gae,
    "ppo_clip_loss": check_ppo_clip_loss,
    "chop_sequences": check_chop_sequences,
    "autoregressive_sample": check_autoregressive_sample,
    "autoregressive_logp": check_autoregressive_logp,
}

__all__ = [
    "CHECKS",
    "EXERCISES",
    "Exercise",
    "ToyActionModel",
    "Verdict",
    "check_autoregressive_logp",
    "check_autoregressive_sample",
    "check_categorical_entropy",
    "check_categorical_logp",
    "check_chop_sequences",
    "check_gae",
    "check_masked_logits",
    "check_one_hot",
    "check_ppo_clip_loss",
    "check_running_mean_std",
]
