"""Directions that a localizer estimates, and the angular errors every benchmark reports.

One helper per kind of error, used everywhere, so that "error" means the same thing in
every table: the great-circle angle between two directions on the sphere, the circular
difference of two azimuths, and the difference of two lateral angles (what ITD and ILD
alone can tell, see :func:`soundstage.conventions.lateral_angle_deg`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from soundstage.conventions import unit_vectors


def angular_error_deg(direction: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Great-circle angle between directions, in degrees.

    Parameters
    ----------
    direction, reference : np.ndarray, shape (..., 3)
        Vectors (any length but zero) in the same frame; broadcast against each other.

    Returns
    -------
    np.ndarray, shape (...)
        Angles in [0, 180] degrees.

    Examples
    --------
    >>> float(angular_error_deg(np.array([1.0, 0.0, 0.0]), np.array([0.0, 2.0, 0.0])))
    90.0
    """
    direction = np.asarray(direction, dtype=float)
    reference = np.asarray(reference, dtype=float)
    # atan2 of |a x b| and a . b is accurate for small and for near-opposite angles alike.
    cross = np.linalg.norm(np.cross(direction, reference), axis=-1)
    dot = np.sum(direction * reference, axis=-1)
    return np.rad2deg(np.arctan2(cross, dot))


def direction_error_deg(
    azimuth_deg: np.ndarray | float,
    elevation_deg: np.ndarray | float,
    reference_azimuth_deg: np.ndarray | float,
    reference_elevation_deg: np.ndarray | float,
) -> np.ndarray:
    """Great-circle angle between two directions given as azimuth and elevation, in degrees.

    Examples
    --------
    >>> float(np.round(direction_error_deg(170.0, 0.0, -170.0, 0.0), 9))
    20.0
    """
    return angular_error_deg(
        unit_vectors(azimuth_deg, elevation_deg), unit_vectors(reference_azimuth_deg, reference_elevation_deg)
    )


def azimuth_error_deg(azimuth_deg: np.ndarray | float, reference_deg: np.ndarray | float) -> np.ndarray:
    """Circular absolute difference of azimuths, in [0, 180] degrees.

    Examples
    --------
    >>> float(azimuth_error_deg(350.0, -5.0))
    5.0
    """
    difference = np.asarray(azimuth_deg, dtype=float) - np.asarray(reference_deg, dtype=float)
    return np.abs((difference + 180.0) % 360.0 - 180.0)


def mirror_front_back(azimuth_deg: np.ndarray | float) -> np.ndarray:
    """The azimuth with the same lateral angle on the other side of the interaural axis.

    ITD and ILD cannot tell ``az`` from ``180° - az`` (the cone of confusion); a binaural
    localizer reports the frontal one and benchmarks score both against this mirror.

    Examples
    --------
    >>> float(mirror_front_back(30.0)), float(mirror_front_back(-150.0))
    (150.0, -30.0)
    """
    mirrored = 180.0 - np.asarray(azimuth_deg, dtype=float)
    return (mirrored + 180.0) % 360.0 - 180.0


@dataclass(frozen=True)
class DirectionEstimate:
    """One source direction found by a localizer, in the listener frame.

    Attributes
    ----------
    azimuth_deg : float
        Degrees, positive to the left, in (-180, 180]. A binaural estimate is frontal
        (in [-90, 90]) with ``front_back_ambiguous`` set.
    elevation_deg : float or None
        Degrees up, or None when the method cannot observe it (binaural cues, 2-D
        loudspeaker layouts).
    lateral_deg : float
        Angle from the median plane, positive to the left, in [-90, 90].
    confidence : float
        In [0, 1]: the share of the analysed energy that supports this estimate, times
        how consistent that support is (the method's docstring says exactly how).
    front_back_ambiguous : bool
        True when front and back cannot be told apart (ITD/ILD only).
    """

    azimuth_deg: float
    elevation_deg: float | None
    lateral_deg: float
    confidence: float
    front_back_ambiguous: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready fields."""
        return {
            key: (float(value) if isinstance(value, (float, np.floating)) else value)
            for key, value in asdict(self).items()
        }


@dataclass
class Localization:
    """What a localizer found in a recording: sources strongest first, and how.

    Attributes
    ----------
    sources : list of DirectionEstimate
        Strongest (most energy) first; empty when nothing passed the gates.
    method : str
        Which localizer produced it (e.g. ``"binaural-itd-ild"``, ``"pseudo-intensity"``,
        ``"gerzon-vectors"``).
    summary : dict
        Further JSON-ready figures (frames analysed, frames kept, thresholds...).
    tracks : dict of str to np.ndarray
        Per-frame arrays for plots (times, per-frame estimates...); not serialised.
    """

    sources: list[DirectionEstimate]
    method: str
    summary: dict[str, Any] = field(default_factory=dict)
    tracks: dict[str, np.ndarray] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``{"method": ..., "sources": [...], **summary}``."""
        return {"method": self.method, "sources": [s.to_dict() for s in self.sources], **self.summary}
