"""A2C with RLlib's LSTM wrapper (previous action and reward fed in) on a traffic-signal env
(RLlib 1.x API: ray.rllib.agents.a3c, register_env, pretty_print).

Written for rlkit's migration corpus after LucasAlegre/sumo-rl (MIT; see README.md),
experiments/a3c_2way-single-intersection.py: the same RLlib constructs (SUMO_HOME check,
SumoEnvironment from sumo_rl built in a register_env lambda, traci phases, the A3C agents
package, gym.spaces import, print(pretty_print(result)) every iteration), with use_lstm,
lstm_use_prev_action and lstm_use_prev_reward; own code. SUMO cannot be installed here: the
test harness puts a small SumoEnvironment in its place (tests/test_rllib_corpus.py).
"""

import argparse
import os
import sys

if "SUMO_HOME" in os.environ:
    tools = os.path.join(os.environ["SUMO_HOME"], "tools")
    sys.path.append(tools)
else:
    sys.exit("Please declare the environment variable 'SUMO_HOME'")

import ray
import traci
from gym import spaces  # noqa: F401
from ray.rllib.agents.a3c import A2CTrainer
from ray.tune.logger import pretty_print
from ray.tune.registry import register_env
from sumo_rl import SumoEnvironment

parser = argparse.ArgumentParser()
parser.add_argument("--stop-iters", type=int, default=100)

if __name__ == "__main__":
    args = parser.parse_args()
    ray.init()
    register_env(
        "2way-single-intersection",
        lambda _: SumoEnvironment(
            net_file="nets/2way-single-intersection/single-intersection.net.xml",
            route_file="nets/2way-single-intersection/single-intersection-gen.rou.xml",
            out_csv_name="outputs/2way-single-intersection/a2c",
            single_agent=True,
            use_gui=False,
            num_seconds=400,
            phases=[
                traci.trafficlight.Phase(32, "GGrrrrGGrrrr"),
                traci.trafficlight.Phase(2, "yyrrrryyrrrr"),
                traci.trafficlight.Phase(32, "rrGrrrrrGrrr"),
                traci.trafficlight.Phase(2, "rryrrrrryrrr"),
            ],
        ),
    )
    trainer = A2CTrainer(
        env="2way-single-intersection",
        config={
            "lr": 0.0001,
            "num_workers": 0,
            "framework": "torch",
            "rollout_fragment_length": 20,
            "model": {
                "use_lstm": True,
                "lstm_cell_size": 32,
                "max_seq_len": 10,
                "lstm_use_prev_action": True,
                "lstm_use_prev_reward": True,
            },
        },
    )
    for _ in range(args.stop_iters):
        result = trainer.train()
        print(pretty_print(result))
    ray.shutdown()
