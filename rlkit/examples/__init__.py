"""Runnable examples: one module per code block or example program of the seed document.

Each module holds its model / distribution / preprocessor classes at module level (import
them in a notebook), registers them with ``ModelCatalog`` on import, and has a ``main`` you
run from the command line::

    python -m rlkit.examples.<name> [--algo ALGO] [--stop-reward R] [--stop-timesteps N] [--seed S]

The teaching environments live in ``rlkit.examples.envs`` and are registered with
``rlkit.register_env`` under their class names.
"""

# module -> what it shows (the seed's section in brackets)
EXAMPLES = {
    "custom_model": "a registered custom model with custom_model_config kwargs and its own "
    "value branch, trained with PPO or A2C [PyTorch Models]",
    "nested_observations": "Dict and Tuple observations read by name from input_dict['obs'] "
    "(NestedSpaceEnv and MiniGrid) [Built-in Models and Preprocessors]",
    "recurrent_model": "a custom RecurrentModel (forward_rnn, get_initial_state) next to "
    "use_lstm on a memory task [Recurrent Models]",
    "batch_norm": "BatchNorm layers switched by is_training: statistics update in learning, "
    "frozen in sampling [Batch Normalization]",
    "custom_preprocessor": "a custom Preprocessor and the env wrapper that replaces it, same "
    "model input [Custom Preprocessors]",
    "custom_action_dist": "a registered ActionDistribution that sets num_outputs and reads "
    "model.model_config [Custom Action Distributions]",
    "supervised_loss": "imitation of offline expert data in custom_loss; PG with and without "
    "it [Supervised Model Losses]",
    "self_supervised_loss": "autoencoder reconstruction and L2 losses in custom_loss "
    "[Self-Supervised Model Losses]",
    "parametric_actions": "action masks and action embeddings in the observation; masking "
    "only, embeddings only, both; PPO/A2C/PG/DQN [Variable-length / Parametric Action Spaces]",
    "autoregressive_actions": "a2 sampled conditioned on a1 through the model's action_model "
    "[Autoregressive Action Distributions]",
}

__all__ = ["EXAMPLES"]
