"""Free-field propagation: one direct arrival per source."""

from __future__ import annotations

import numpy as np

from soundstage.acoustics.air_absorption import air_absorption_db_per_m
from soundstage.acoustics.arrivals import OCTAVE_BANDS_HZ, Arrivals
from soundstage.conventions import SPEED_OF_SOUND
from soundstage.errors import ParameterError

#: Distance in metres at which a source's gain is 0 dB (point-source 1/r law).
REFERENCE_DISTANCE = 1.0


def free_field_arrivals(
    source_position: np.ndarray,
    listener_position: np.ndarray,
    listener_rotation: np.ndarray,
    *,
    head_radius: float,
    speed_of_sound: float = SPEED_OF_SOUND,
    air_absorption: bool = False,
    temperature_c: float = 20.0,
    relative_humidity: float = 50.0,
) -> Arrivals:
    """The direct sound of a point source in the free field.

    Parameters
    ----------
    source_position, listener_position : np.ndarray, shape (3,)
        World positions in metres.
    listener_rotation : np.ndarray, shape (3, 3)
        Head-to-world rotation (:func:`soundstage.conventions.rotation_matrix`).
    head_radius : float
        Head radius in metres; a source closer than this is inside the head.
    speed_of_sound : float, default 343
        In m/s.
    air_absorption : bool, default False
        Attenuate per octave band after ISO 9613-1 at ``temperature_c`` (°C) and
        ``relative_humidity`` (%).

    Returns
    -------
    Arrivals
        One arrival: delay r/c in seconds, gain 1/r (0 dB at 1 m), direction in the
        head frame.

    Raises
    ------
    ParameterError
        If the source is inside the head.
    """
    offset = np.asarray(source_position, dtype=float) - np.asarray(listener_position, dtype=float)
    distance = float(np.linalg.norm(offset))
    if distance < head_radius:
        raise ParameterError(
            f"source is {distance:.3f} m from the listener, inside the head (radius {head_radius} m); "
            "move it further away"
        )
    direction = np.asarray(listener_rotation).T @ (offset / distance)
    gain = REFERENCE_DISTANCE / distance
    bands = None
    gains = np.array([gain])
    if air_absorption:
        bands = OCTAVE_BANDS_HZ
        attenuation_db = (
            air_absorption_db_per_m(bands, temperature_c=temperature_c, relative_humidity=relative_humidity) * distance
        )
        gains = gain * 10.0 ** (-attenuation_db[None, :] / 20.0)
    return Arrivals(
        delay_s=np.array([distance / speed_of_sound]),
        gain=gains,
        direction=direction[None, :],
        distance_m=np.array([distance]),
        band_centers_hz=bands,
    )
