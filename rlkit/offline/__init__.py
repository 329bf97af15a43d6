"""Offline data: experiences written while training (``output``) and read back (``input``).

- ``json_lines``: ``JsonWriter`` and ``JsonReader``, rlkit's JSON-lines format.
- ``rllib_lines``: RLlib's JSON ``SampleBatch`` lines mapped onto rlkit's fields (the reader
  takes either format).

RLlib's path, ``ray.rllib.offline.JsonReader``, becomes ``rlkit.offline.JsonReader``.
"""

from __future__ import annotations

from rlkit.offline.json_lines import JsonReader, JsonWriter

__all__ = ["JsonReader", "JsonWriter"]
