"""Image sources → arrivals: what every specular model (shoebox, mesh, ground) shares.

An image source at distance ``r`` from the listener arrives after ``r / c`` with pressure gain
``1/r`` (0 dB at 1 m) times the reflection coefficients of the surfaces its path met (given
here as their summed logarithm per band, since losses multiply per bounce), times air
absorption over ``r``, from the direction of the image as the listener's head sees it.
"""

from __future__ import annotations

import numpy as np

from soundstage.acoustics.arrivals import OCTAVE_BANDS_HZ, Arrivals
from soundstage.conventions import SPEED_OF_SOUND


def image_source_arrivals(
    images: np.ndarray,
    log_reflection: np.ndarray,
    listener_position: np.ndarray,
    listener_rotation: np.ndarray,
    *,
    speed_of_sound: float = SPEED_OF_SOUND,
    air_absorption_db_per_m: np.ndarray | None = None,
) -> Arrivals:
    """Arrivals of image sources at a listener.

    Parameters
    ----------
    images : np.ndarray, shape (K, 3)
        Image-source positions in metres (room/world frame).
    log_reflection : np.ndarray, shape (K, B)
        Natural log of each path's total pressure reflection coefficient in each band of
        :data:`~soundstage.acoustics.arrivals.OCTAVE_BANDS_HZ` (0 for the direct sound).
    listener_position : np.ndarray, shape (3,)
        In metres.
    listener_rotation : np.ndarray, shape (3, 3)
        Head-to-world rotation (:func:`soundstage.conventions.rotation_matrix`).
    speed_of_sound : float, default 343
        In m/s.
    air_absorption_db_per_m : np.ndarray or None, shape (B,)
        Attenuation of air in each band, or None for none.

    Returns
    -------
    Arrivals
        Banded, in the order of ``images``.

    Examples
    --------
    >>> a = image_source_arrivals(np.array([[3.0, 4.0, 0.0]]), np.zeros((1, 8)), np.zeros(3), np.eye(3))
    >>> float(a.distance_m[0]), float(a.gain[0, 0]), a.direction[0].tolist()
    (5.0, 0.2, [0.6, 0.8, 0.0])
    """
    offset = np.asarray(images, dtype=float).reshape(-1, 3) - np.asarray(listener_position, dtype=float)
    distance = np.linalg.norm(offset, axis=1)
    gain = np.exp(np.asarray(log_reflection, dtype=float)) / distance[:, None]
    if air_absorption_db_per_m is not None:
        gain = gain * 10.0 ** (-np.outer(distance, np.asarray(air_absorption_db_per_m, dtype=float)) / 20.0)
    # Row vectors times R are R.T @ v: room frame to head frame.
    direction = (offset / distance[:, None]) @ np.asarray(listener_rotation, dtype=float)
    return Arrivals(distance / speed_of_sound, gain, direction, distance, OCTAVE_BANDS_HZ)
