"""What every algorithm shares, the parts of ``rlkit.algorithms.base.Algorithm``.

| module | what it holds |
|---|---|
| ``building`` | the vector env, the policy over its spaces, and the sampler |
| ``acting`` | ``compute_single_action``: one action for one observation |
| ``results`` | the dict ``train()`` returns, and its statistics |
| ``evaluation`` | the evaluation workers and their keys (RLlib's meaning) |
| ``hooks`` | callbacks (RLlib's ``DefaultCallbacks``) around sampling and training |
| ``memory`` | what a config needs in memory, checked before anything is allocated |
| ``snapshot`` | a ``train()`` or ``restore()`` that fails leaves the trainer as it was |
| ``checkpoint`` | ``save`` / ``restore``, written atomically |
| ``rllib_api`` | RLlib's method names on a trainer (``get_weights``, ``workers``, ...) |

Nothing is imported here, so importing one part loads only what it needs.
"""
