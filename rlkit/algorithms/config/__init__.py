"""The algorithms' config tables: what each key means, its default and the values it takes.

- ``keys``: ``Key`` and the tables every algorithm declares (``table``, ``defaults``).
- ``rllib_keys``: RLlib's keys rlkit accepts, maps or refuses with a reason.
- ``checking``: the checks of a whole config (unknown keys, "did you mean", model keys).
- ``docs``: ``docs/CONFIG.md`` generated from the tables
  (``python -m rlkit.algorithms.config.docs``).
"""
