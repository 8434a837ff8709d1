"""Heads processed once and kept on disk: a render with a SOFA file starts in milliseconds, not half a second.

Making a SOFA head ready costs more than a short render: reading the HDF5 file (and importing h5py), resampling
every HRIR to the output rate, splitting each into minimum phase and onset delays, triangulating the measured
directions (and importing SciPy's Qhull). What that makes is kept in ``$SOUNDSTAGE_CACHE/heads`` (default
``~/.cache/soundstage/heads``), one NumPy archive per file content, output rate and interpolation, named by the
file's SHA-256: an edited file is a new name, so it is processed again; an entry that cannot be read is made
again; a cache that cannot be written leaves the head right, only not kept.

What any head (the built-in sphere too) computes for itself is kept beside it under the head's ``cache_key``
(:func:`cached_array`): the HRIRs of every direction cell (read back memory-mapped: a render touches the
cells its reflections fall in) and the diffuse-field statistics per band set.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from soundstage.cache import load_or_make

#: Changes whenever what is kept changes its layout: older entries are then ignored.
CACHE_VERSION = 1
#: The modules whose code makes what is kept: an entry made by other code (an upgrade, an edit) is not used.
_MAKERS = (
    "soundstage.acoustics.hrtf.sphere",
    "soundstage.acoustics.hrtf.sofa",
    "soundstage.acoustics.hrtf.interpolation",
    "soundstage.acoustics.hrtf.minimum_phase",
    "soundstage.acoustics.hrtf.direction_cells",
    "soundstage.acoustics.hrtf.head_table",
    "soundstage.acoustics.encoders.diffuse_field",
    "soundstage.acoustics.encoders.tdesign",
)


def code_version() -> str:
    """A short hash of the source of the modules that make what the cache keeps (read once per process)."""
    from soundstage.cache import code_version as version_of

    return version_of(_MAKERS, CACHE_VERSION)


def head_cache_path(path: Path, sample_rate: int, interpolation: str) -> Path:
    """Where the processed head of SOFA file ``path`` at ``sample_rate`` is kept."""
    from soundstage.cache import kept_path

    return kept_path("heads", path, f"{int(sample_rate)}-{interpolation}", _MAKERS, CACHE_VERSION)


def load_sofa_head(path: Path, sample_rate: int, interpolation: str, name: str | None = None):
    """The SOFA head in ``path`` at ``sample_rate``, from the disk cache when it has it, else made and kept there.

    Returns
    -------
    SofaHRTF
    """
    from soundstage.acoustics.hrtf.sofa import SofaHRTF

    name = name or Path(path).stem
    cached = head_cache_path(path, sample_rate, interpolation)

    def load() -> SofaHRTF:
        with np.load(cached, allow_pickle=False) as state:
            return SofaHRTF.from_state(state, name=name)

    def make() -> tuple[SofaHRTF, dict[str, np.ndarray]]:
        head = SofaHRTF.from_file(path, sample_rate, interpolation=interpolation, name=name)
        return head, head.state()

    head = load_or_make(cached, load, make)
    head.cache_key = cached.stem
    return head


def cached_array(head, kind: str, make: Callable[[], np.ndarray], *, memory_map: bool = False) -> np.ndarray:
    """What ``make()`` computes for ``head``, from the disk cache when the head has a ``cache_key`` and it was kept.

    ``kind`` names the array among the head's (it must change with whatever ``make`` depends on besides the
    head); with ``memory_map`` the kept array is read lazily, page by page, and is read-only.
    """
    key = getattr(head, "cache_key", None)
    if key is None:
        return make()
    from soundstage.cache import cache_dir

    target = cache_dir("heads") / f"{key}-{kind}-{code_version()}.npy"

    def made() -> tuple[np.ndarray, np.ndarray]:
        array = make()
        return array, array

    return load_or_make(target, lambda: np.load(target, mmap_mode="r" if memory_map else None), made)
