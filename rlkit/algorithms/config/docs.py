"""docs/CONFIG.md from the key tables: ``python -m rlkit.algorithms.config.docs > docs/CONFIG.md``.

A test (tests/test_config_keys.py) checks that the file is up to date.
"""

from __future__ import annotations

from collections.abc import Iterable

from rlkit.algorithms.config.keys import COMMON_KEYS, Key
from rlkit.algorithms.config.registry import ALGORITHMS
from rlkit.algorithms.config.rllib_keys import ALIASES, RLLIB_ONLY
from rlkit.utils.config import MODEL_DEFAULTS


def markdown() -> str:
    """The text of docs/CONFIG.md: every algorithm's keys, from the tables.

    Written by ``python -m rlkit.algorithms.config.docs > docs/CONFIG.md``; a test checks that
    the file is up to date.
    """
    from rlkit.algorithms.common.evaluation import EVALUATION_KEYS

    lines = [
        "# Config keys",
        "",
        "Generated from the key tables in `rlkit/algorithms/` by",
        "`python -m rlkit.algorithms.config.docs > docs/CONFIG.md`. A trainer checks every key",
        "when it is built: an unknown key or a value of the wrong type or range is a `ValueError`",
        "naming the key, the value and what it takes. In code:",
        '`rlkit.algorithms.algorithm_keys("PPO")`.',
        "",
        "## Common keys (every algorithm)",
        "",
        *_rows(COMMON_KEYS.values()),
        "",
        "## Evaluation keys (every algorithm; rlkit.algorithms.common.evaluation)",
        "",
        *_rows(EVALUATION_KEYS),
    ]
    shared = {**COMMON_KEYS, **{k.name: k for k in EVALUATION_KEYS}}
    for name, cls in ALGORITHMS.items():
        own = [k for n, k in cls.config_keys().items() if shared.get(n) != k]
        lines += ["", f"## {name}", "", "Its own keys, and common keys whose default it changes:"]
        lines += ["", *_rows(own)]
        for key, tip in cls.NOT_KEYS.items():
            lines.append(f"- `{key}` is not one of {name}'s keys: {tip}.")
    lines += ["", "## Model keys (config['model'])", "", "| key | default |", "|---|---|"]
    lines += [f"| `{k}` | `{v!r}` |" for k, v in MODEL_DEFAULTS.items()]
    lines += ["", "## RLlib's names", "", "Older RLlib names, accepted with the same meaning:", ""]
    lines += [f"- `{old}` -> `{new}`" for old, new in ALIASES.items()]
    lines += ["", "RLlib keys rlkit does not implement (setting one is an error saying this):", ""]
    lines += [f"- `{key}`: {tip}" for key, tip in sorted(RLLIB_ONLY.items())]
    return "\n".join(lines) + "\n"


def _rows(keys: Iterable[Key]) -> list[str]:
    out = ["| key | default | takes | meaning |", "|---|---|---|---|"]
    for key in keys:
        out.append(f"| `{key.name}` | `{key.default!r}` | {key.takes()} | {key.doc} |")
    return out


if __name__ == "__main__":
    print(markdown(), end="")
