"""Fixture submissions for the grading tier: what students write in the answer cells.

``SUBMISSIONS[assignment][student]`` maps each answer cell (by function name) to the student's
code; a function left out keeps the release's stub. ``EXPECTED[assignment][student]`` is the
score each must get: these are the documented scores in docs/TEACHING.md ("What a submission
scores").
"""

from __future__ import annotations

GAE_RIGHT = """def gae(rewards, values, terminated, gamma, lam):
    T = len(rewards)
    out = np.zeros(T, dtype=np.float32)
    last = 0.0
    for t in reversed(range(T)):
        alive = 1.0 - float(terminated[t])
        delta = rewards[t] + gamma * values[t + 1] * alive - values[t]
        last = delta + gamma * lam * alive * last
        out[t] = last
    return out
"""

GAE_WARNS = "import torch\nimport warnings\n\n" + GAE_RIGHT.replace(
    "    T = len(rewards)\n",
    "    T = len(rewards)\n"
    "    torch.tensor(torch.as_tensor(rewards))  # torch's UserWarning, written to stderr\n"
    "    warnings.warn('my own warning', UserWarning)\n",
)

PPO_RIGHT = """def ppo_clip_loss(logp, old_logp, advantages, clip_param):
    ratio = torch.exp(logp - old_logp)
    clipped = torch.clamp(ratio, 1 - clip_param, 1 + clip_param)
    return -torch.min(ratio * advantages, clipped * advantages).mean()
"""

LOGP_RIGHT = """def categorical_logp(logits, actions):
    return torch.log_softmax(logits, dim=1)[torch.arange(len(actions)), actions]
"""

ENTROPY_RIGHT = """def categorical_entropy(logits):
    log_p = torch.log_softmax(logits, dim=1)
    return -(log_p.exp() * log_p).sum(dim=1)
"""

SUBMISSIONS = {
    "ex05_gae": {
        "right": {"gae": GAE_RIGHT},
        "right_but_warns": {"gae": GAE_WARNS},
        "no_lambda": {"gae": GAE_RIGHT.replace("gamma * lam * alive", "gamma * alive")},
        "masks_only_the_bootstrap": {"gae": GAE_RIGHT.replace("lam * alive * last", "lam * last")},
        "a_python_list": {"gae": GAE_RIGHT.replace("return out", "return out.tolist()")},
        "untouched_stub": {},
        "syntax_error": {
            "gae": "def gae(rewards, values, terminated, gamma, lam):\n    return [\n"
        },
        "endless_loop": {
            "gae": "def gae(rewards, values, terminated, gamma, lam):\n"
            "    t = 0\n    while t < len(rewards):\n        pass\n"
        },
        # A loop before the def: nbgrader's cell limit stops it and gae is never defined.
        "endless_loop_in_the_cell": {"gae": "while True:\n    pass\n\n" + GAE_RIGHT},
    },
    "ex06_ppo_clip_loss": {
        "right": {"ppo_clip_loss": PPO_RIGHT},
        "no_clip": {
            "ppo_clip_loss": "def ppo_clip_loss(logp, old_logp, advantages, clip_param):\n"
            "    return -(torch.exp(logp - old_logp) * advantages).mean()\n"
        },
        "under_no_grad": {
            "ppo_clip_loss": PPO_RIGHT.replace(
                "    ratio = torch.exp", "    with torch.no_grad():\n        ratio = torch.exp"
            )
            .replace("    clipped =", "        clipped =")
            .replace("    return", "        return")
        },
    },
    "ex03_categorical": {
        "right": {"categorical_logp": LOGP_RIGHT, "categorical_entropy": ENTROPY_RIGHT},
        "naive_entropy": {
            "categorical_logp": LOGP_RIGHT,
            "categorical_entropy": "def categorical_entropy(logits):\n"
            "    p = torch.softmax(logits, dim=1)\n"
            "    return -(p * torch.log(p)).sum(dim=1)\n",
        },
    },
}

EXPECTED = {
    "ex05_gae": {
        "right": 10,
        "right_but_warns": 10,
        "no_lambda": 0,
        "masks_only_the_bootstrap": 0,
        "a_python_list": 0,
        "untouched_stub": 0,
        "syntax_error": 0,
        "endless_loop": 0,
        "endless_loop_in_the_cell": 0,
    },
    "ex06_ppo_clip_loss": {"right": 10, "no_clip": 0, "under_no_grad": 0},
    "ex03_categorical": {"right": 10, "naive_entropy": 5},  # logp's 5 points, entropy's 0
}

# With the teacher's weights (1, 1, 1, 3, 1) on gae's five graded cases: a GAE without lambda
# is right only where lam = 1 (the fourth case), so it earns 10 * 3 / 7 points.
PARTIAL_WEIGHTS = (1, 1, 1, 3, 1)
EXPECTED_PARTIAL = {"right": 10, "no_lambda": round(10 * 3 / 7, 4), "untouched_stub": 0}
