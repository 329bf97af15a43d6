"""Print docs/CONFIG.md: ``python -m rlkit.algorithms.config.docs > docs/CONFIG.md``."""

from rlkit.algorithms.config.keys import markdown

if __name__ == "__main__":
    print(markdown(), end="")
