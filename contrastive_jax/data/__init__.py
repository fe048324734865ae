"""Data: sources (offline sets, tfds, captions), the grain pipeline and on-device augmentation.

A *source* is a grain random-access source: ``len(source)`` and ``source[i] ->
{"image": uint8 [H, W, C], "label": int32 []}`` (plus ``"text": int32 [L]`` for caption
sources), with ``source.info`` (``SourceInfo``). Sources are built by name through
``contrastive_jax.registry.DATASETS``.
"""

from contrastive_jax.data.sources import ArraySource, Source, SourceInfo, build_source

__all__ = ["ArraySource", "Source", "SourceInfo", "build_source"]
