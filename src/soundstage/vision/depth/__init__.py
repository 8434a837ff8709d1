"""Depth backends, by name: ``file`` (a depth camera's map), ``geometric`` (offline ground-plane prior)
and ``transformers`` (Hugging Face depth models; imported only when created, since it needs torch).

>>> DEPTH_BACKENDS.names()
['file', 'geometric', 'transformers']
"""

from __future__ import annotations

from typing import Any

from soundstage.vision.depth.file import FileDepth
from soundstage.vision.depth.geometric import GeometricDepth
from soundstage.vision.stages import DepthBackend, Registry

__all__ = ["DEPTH_BACKENDS", "FileDepth", "GeometricDepth"]


def _transformers_depth(**options: Any) -> DepthBackend:
    """Build the transformers backend; its module (and torch) is imported only now."""
    from soundstage.vision.depth.transformers_depth import TransformersDepth

    return TransformersDepth(**options)


#: The depth stage's backends: ``DEPTH_BACKENDS.create(name, **options)``.
DEPTH_BACKENDS = Registry("depth")
DEPTH_BACKENDS.register("file", FileDepth)
DEPTH_BACKENDS.register("geometric", GeometricDepth)
DEPTH_BACKENDS.register("transformers", _transformers_depth)
