"""Heads for training data, named by short specs so a manifest line says which head rendered it.

``sphere:RADIUS_CM:EAR_DEG`` is the rigid sphere with that radius (cm) and ear azimuth (degrees);
anything else is what :func:`soundstage.acoustics.hrtf.load_hrtf` takes (a registered name, a SOFA
file). Different radii and ear positions are different heads: their ITDs and ILDs differ.
"""

from __future__ import annotations

from functools import lru_cache

from soundstage.errors import ParameterError

#: Heads of the training and validation splits when none are given.
DEFAULT_TRAIN_HEADS = ("sphere:8.0:90", "sphere:8.75:95", "sphere:9.5:100", "sphere:8.5:85")
#: Head of the test split when none is given: a sphere none of the training heads is.
DEFAULT_TEST_HEAD = "sphere:9.0:105"


def parse_sphere(spec: str) -> tuple[float, float] | None:
    """``(radius_m, ear_azimuth_deg)`` of a ``sphere:R:E`` spec, None for other specs."""
    if not spec.startswith("sphere:"):
        return None
    try:
        _, radius_cm, ear = spec.split(":")
        radius, ear_deg = float(radius_cm) / 100.0, float(ear)
    except ValueError:
        raise ParameterError(f"head {spec!r}: write sphere:RADIUS_CM:EAR_DEG, e.g. sphere:8.75:90") from None
    if not (0.03 < radius < 0.2 and 60.0 <= ear_deg <= 120.0):
        raise ParameterError(f"head {spec!r}: radius must be 3–20 cm and the ear azimuth 60–120°")
    return radius, ear_deg


@lru_cache(maxsize=8)
def load_head(spec: str, sample_rate: int):
    """The head of a spec at ``sample_rate``, loaded once per process."""
    from soundstage.acoustics.hrtf import load_hrtf

    sphere = parse_sphere(spec)
    if sphere is not None:
        return load_hrtf("sphere", sample_rate, head_radius=sphere[0], ear_azimuth_deg=sphere[1])
    return load_hrtf(spec, sample_rate)
