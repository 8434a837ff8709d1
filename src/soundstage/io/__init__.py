"""Audio input and output.

* :mod:`soundstage.io.audio` — load mono sources from files, check arrays, resample.
* :mod:`soundstage.io.wav` — WAV writer/reader with WAVE_FORMAT_EXTENSIBLE channel masks.
* :mod:`soundstage.io.atomic` — write-to-temporary-then-rename output, output folders.
* :mod:`soundstage.io.export` — write a render (level check, normalisation).

The submodules load on first use, so ``import soundstage.io`` stays cheap.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_LAZY = {
    "load_audio": "soundstage.io.audio",
    "resample": "soundstage.io.audio",
    "validate_signal": "soundstage.io.audio",
    "write_wav": "soundstage.io.wav",
    "read_wav": "soundstage.io.wav",
    "read_wav_header": "soundstage.io.wav",
    "WavInfo": "soundstage.io.wav",
    "atomic_write": "soundstage.io.atomic",
    "ensure_dir": "soundstage.io.atomic",
    "write_render": "soundstage.io.export",
}

__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'soundstage.io' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
