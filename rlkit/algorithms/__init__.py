"""The trainers: PG, A2C, PPO (on-policy), DQN (off-policy) and BC (offline)."""

from rlkit.algorithms.a2c import A2C
from rlkit.algorithms.algorithm_config import (
    A2CConfig,
    AlgorithmConfig,
    BCConfig,
    DQNConfig,
    PGConfig,
    PPOConfig,
    get_trainable_cls,
)
from rlkit.algorithms.base import COMMON_CONFIG, Algorithm
from rlkit.algorithms.bc import BC
from rlkit.algorithms.config.keys import algorithm_keys, register_algorithms
from rlkit.algorithms.dqn import DQN
from rlkit.algorithms.pg import PG
from rlkit.algorithms.ppo import PPO

ALGORITHMS = {"PG": PG, "A2C": A2C, "PPO": PPO, "DQN": DQN, "BC": BC}
register_algorithms(ALGORITHMS)

# RLlib's trainer names, so the seed's code runs after swapping the imports
# (``ppo.PPOTrainer(env=..., config=...)`` -> ``PPOTrainer(env=..., config=...)``).
PGTrainer, A2CTrainer, PPOTrainer, DQNTrainer, BCTrainer = PG, A2C, PPO, DQN, BC

__all__ = [
    "A2C",
    "A2CConfig",
    "AlgorithmConfig",
    "BCConfig",
    "DQNConfig",
    "PGConfig",
    "PPOConfig",
    "get_trainable_cls",
    "ALGORITHMS",
    "BC",
    "COMMON_CONFIG",
    "DQN",
    "PG",
    "PPO",
    "Algorithm",
    "algorithm_keys",
    "A2CTrainer",
    "BCTrainer",
    "DQNTrainer",
    "PGTrainer",
    "PPOTrainer",
]
