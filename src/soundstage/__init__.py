"""Soundstage: spatial audio from mono sounds and a scene.

>>> import numpy as np
>>> from soundstage import Scene, render
>>> scene = Scene(sources=[{"audio": np.ones(1000), "sample_rate": 48000,
...                         "position": {"az": 90, "el": 0, "dist": 2}}])
>>> result = render(scene, format="omni", progress=False)
>>> result.audio.shape[0], result.sample_rate
(1, 48000)

The heavy parts load lazily so that ``import soundstage`` and the CLI start fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "Scene": "soundstage.scene.model",
    "Source": "soundstage.scene.model",
    "Listener": "soundstage.scene.model",
    "load_scene": "soundstage.scene.files",
    "save_scene": "soundstage.scene.files",
    "render": "soundstage.acoustics.render",
    "RenderResult": "soundstage.acoustics.render",
    "decode_to_binaural": "soundstage.acoustics.render",
    "impulse_responses": "soundstage.acoustics.render",
    "ImageJob": "soundstage.vision.pipeline",
    "image_to_scene": "soundstage.vision.pipeline",
    "write_render": "soundstage.io.export",
    "load_hrtf": "soundstage.acoustics.hrtf",
    "make_encoder": "soundstage.acoustics.encoders",
    "ambisonics_to_binaural": "soundstage.acoustics.encoders.ambisonic_decoder",
    "SoundstageError": "soundstage.errors",
}

__all__ = [*_LAZY, "__version__"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'soundstage' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
