"""Print docs/CONFIG.md: ``python -m rlkit.algorithms.config_docs > docs/CONFIG.md``."""

from rlkit.algorithms.keys import markdown

if __name__ == "__main__":
    print(markdown(), end="")
