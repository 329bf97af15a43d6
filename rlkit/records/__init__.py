"""rlkit.records: what a run leaves behind, in the formats the field's tools read.

- ``rlkit.records.logger``: each ``train()`` result to a run folder as ``result.json``,
  ``progress.csv`` and TensorBoard events, the config as ``params.json`` (RLlib's layout).
- ``rlkit.records.runs``: past runs read back from their folders (for pandas or the dashboard).
- ``rlkit.records.export``: a policy's model as TorchScript or ONNX, runnable without rlkit.
- ``rlkit.records.video``: an episode as a GIF or MP4 (``rlkit.record_episode``).
- ``rlkit.records.files``: writing a file so that it is either whole or absent.

Nothing is imported here: each module loads its optional package (tensorboard, onnx, imageio)
only when it is used.
"""
