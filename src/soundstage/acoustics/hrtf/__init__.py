"""Heads for binaural rendering: the analytic rigid sphere and measured SOFA sets.

>>> head = load_hrtf("sphere", 48000)
>>> head.name, head.n_taps
('sphere', 512)

SOFA reading (h5py) and triangulation (scipy.spatial) load only when a head is first processed; processed
heads are kept on disk (:mod:`soundstage.acoustics.hrtf.head_cache`).
"""

from __future__ import annotations

import functools
import os
from importlib import import_module
from pathlib import Path
from typing import Any

from soundstage.acoustics.hrtf.base import HRTF
from soundstage.acoustics.hrtf.registry import fetch_hrtf, get_entry, list_hrtfs, registered_names
from soundstage.acoustics.hrtf.sphere import SphereHRTF
from soundstage.conventions import DEFAULT_HEAD_RADIUS
from soundstage.errors import ParameterError

_LAZY = {
    "SofaHRTF": "soundstage.acoustics.hrtf.sofa",
    "write_sofa": "soundstage.acoustics.hrtf.sofa",
    "read_sofa": "soundstage.acoustics.hrtf.sofa",
}

__all__ = ["HRTF", "SofaHRTF", "SphereHRTF", "fetch_hrtf", "list_hrtfs", "load_hrtf", "read_sofa", "write_sofa"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@functools.lru_cache(maxsize=8)
def _sphere(sample_rate: int, head_radius: float, ear_azimuth_deg: float) -> SphereHRTF:
    """One sphere head per parameter set, so what is cached with a head (direction cells, diffuse-field
    statistics) serves every render of the process. The head is immutable after construction."""
    return SphereHRTF(sample_rate, head_radius=head_radius, ear_azimuth_deg=ear_azimuth_deg)


@functools.lru_cache(maxsize=4)
def _sofa_file(
    path: str, size: int, mtime_ns: int, sample_rate: int, interpolation: str, name: str | None = None
) -> HRTF:
    """A SOFA head loaded once per process for each file version and rate (a batch worker renders many scenes
    with one head; the file's size and time in the key load an edited file again), processed once per file
    content and rate on disk (:mod:`soundstage.acoustics.hrtf.head_cache`)."""
    from soundstage.acoustics.hrtf.head_cache import load_sofa_head

    return load_sofa_head(Path(path), sample_rate, interpolation, name)


def _cached_sofa(path: Path, sample_rate: int, interpolation: str, name: str | None = None) -> HRTF:
    from soundstage.io.inputs import record_input

    # Read now or kept from before (in this process or on disk), the render depends on the file: recorded, so
    # that an output is never written over it.
    record_input(path)
    status = path.stat()
    return _sofa_file(str(path.resolve()), status.st_size, status.st_mtime_ns, int(sample_rate), interpolation, name)


def load_hrtf(
    spec: str | os.PathLike | HRTF,
    sample_rate: int,
    *,
    head_radius: float = DEFAULT_HEAD_RADIUS,
    ear_azimuth_deg: float = 90.0,
    interpolation: str = "barycentric",
) -> HRTF:
    """The head named by ``spec``, producing HRIRs at ``sample_rate``.

    Parameters
    ----------
    spec : str, PathLike or HRTF
        ``"sphere"`` (the built-in rigid sphere), a registered set (see :func:`list_hrtfs`;
        downloaded into the cache on first use), the path of a ``.sofa`` file, or a head
        already loaded (returned as it is, so callers load a measured set once).
    sample_rate : int
        Output sample rate in Hz.
    head_radius : float, default 0.0875
        Sphere radius in metres (sphere only).
    ear_azimuth_deg : float, default 90.0
        Ear azimuth in degrees (sphere only).
    interpolation : {"barycentric", "nearest"}
        Interpolation between measured directions (SOFA sets only).

    Returns
    -------
    HRTF

    Raises
    ------
    ParameterError
        When ``spec`` is none of the above, or a loaded head is at another sample rate.
    """
    from soundstage.sample_rate import check_sample_rate

    sample_rate = check_sample_rate(sample_rate)
    if isinstance(spec, HRTF):
        if int(spec.sample_rate) != int(sample_rate):
            raise ParameterError(
                f"the HRTF {spec.name!r} is at {spec.sample_rate} Hz but the signal is at {sample_rate} Hz; "
                "load it at the signal's rate"
            )
        return spec
    if not isinstance(spec, str | os.PathLike):
        raise ParameterError(
            f"hrtf: give 'sphere', a registered name, a .sofa path or a loaded HRTF, got {type(spec).__name__}"
        )
    text = os.fspath(spec)
    if text == "sphere":
        return _sphere(int(sample_rate), float(head_radius), float(ear_azimuth_deg))
    if text in registered_names():
        entry = get_entry(text)
        return _cached_sofa(Path(fetch_hrtf(text)), sample_rate, interpolation, entry.name)
    path = Path(text).expanduser()
    if path.suffix.lower() == ".sofa" and path.is_file():
        return _cached_sofa(path, sample_rate, interpolation)
    what = "is not an existing .sofa file" if path.suffix.lower() == ".sofa" else "is not a known head"
    raise ParameterError(
        f"HRTF {text!r} {what}; use 'sphere', a registered set ({', '.join(registered_names())}) "
        "or the path of a .sofa file"
    )
