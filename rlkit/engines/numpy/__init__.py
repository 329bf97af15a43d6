"""The numpy engine: an exact twin of the torch code for the built-in MLP, opt-in and fast.

- ``mlp``: ``NumpyMLP``, the built-in FullyConnectedNetwork by numpy on its own parameters,
  forward and backward (notebook 12 reads it as the hand-written backward pass).
- ``loss``: PPO's and A2C's losses and their gradients (``LOSS_TWINS``).
- ``engine``: ``NumpyEngine``, the engine interface over the two.
"""
