"""Arrivals: the one format-agnostic description of how sound reaches the listener.

Every source reaches the listener as a set of *arrivals*: copies of its signal that
come in with a delay, a gain (optionally per frequency band) and a direction. The
free field gives one arrival per source; a room model (image sources, ray tracing)
gives thousands through the same type; a moving source or a turning head gives a
sequence of :class:`Arrivals` at successive times. Encoders turn arrivals into
channels of an output format, so every format works with every propagation model.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from soundstage.errors import ParameterError

#: Octave-band centre frequencies in Hz used for per-band gains (ISO 266 preferred values).
OCTAVE_BANDS_HZ = np.array([125.0, 250.0, 500.0, 1000.0, 2000.0, 4000.0, 8000.0, 16000.0])


@dataclass(frozen=True)
class Arrivals:
    """A set of arrivals of one source at the listener, in the head frame.

    Attributes
    ----------
    delay_s : np.ndarray, shape (K,)
        Arrival times in seconds after the source emits (propagation delay).
    gain : np.ndarray, shape (K,) or (K, B)
        Linear pressure gain of each arrival: broadband with shape (K,), or per band
        with shape (K, B) at the centre frequencies ``band_centers_hz`` (negative in every band
        for an inverted arrival).
    direction : np.ndarray, shape (K, 3)
        Unit vectors *from the listener towards where each arrival comes from*, in the
        head frame (x forward, y left, z up).
    distance_m : np.ndarray, shape (K,)
        Path length of each arrival in metres (used by near-field HRTFs).
    band_centers_hz : np.ndarray or None, shape (B,)
        Band centres in Hz when ``gain`` is per band, else None.
    """

    delay_s: np.ndarray
    gain: np.ndarray
    direction: np.ndarray
    distance_m: np.ndarray
    band_centers_hz: np.ndarray | None = field(default=None)

    def __post_init__(self) -> None:
        k = np.shape(self.delay_s)[0] if np.ndim(self.delay_s) == 1 else -1
        if k < 0:
            raise ParameterError("Arrivals.delay_s must be one-dimensional (one delay per arrival)")
        if np.shape(self.direction) != (k, 3):
            raise ParameterError(f"Arrivals.direction must have shape ({k}, 3), got {np.shape(self.direction)}")
        if np.shape(self.distance_m) != (k,):
            raise ParameterError(f"Arrivals.distance_m must have shape ({k},), got {np.shape(self.distance_m)}")
        gain_shape = np.shape(self.gain)
        if self.band_centers_hz is None:
            if gain_shape != (k,):
                raise ParameterError(f"Arrivals.gain must have shape ({k},) without bands, got {gain_shape}")
        elif gain_shape != (k, len(self.band_centers_hz)):
            raise ParameterError(
                f"Arrivals.gain must have shape ({k}, {len(self.band_centers_hz)}) with bands, got {gain_shape}"
            )
        if np.any(np.asarray(self.delay_s) < 0):
            raise ParameterError("Arrivals.delay_s must not be negative (arrivals cannot precede emission)")

    def __len__(self) -> int:
        return int(np.shape(self.delay_s)[0])

    @property
    def is_banded(self) -> bool:
        """True when the gains are given per frequency band."""
        return self.band_centers_hz is not None

    def broadband_gain(self) -> np.ndarray:
        """Gains collapsed to one per arrival (RMS over bands when banded), shape (K,)."""
        if self.band_centers_hz is None:
            return np.asarray(self.gain, dtype=float)
        return np.sqrt(np.mean(np.asarray(self.gain, dtype=float) ** 2, axis=1))

    @classmethod
    def concatenate(cls, parts: list[Arrivals]) -> Arrivals:
        """Join several sets of arrivals (e.g. direct sound and reflections) into one."""
        if not parts:
            raise ParameterError("Arrivals.concatenate needs at least one set of arrivals")
        bands = parts[0].band_centers_hz
        for part in parts[1:]:
            same = (bands is None and part.band_centers_hz is None) or (
                bands is not None and part.band_centers_hz is not None and np.array_equal(bands, part.band_centers_hz)
            )
            if not same:
                raise ParameterError("Arrivals.concatenate needs the same bands in every part")
        return cls(
            delay_s=np.concatenate([p.delay_s for p in parts]),
            gain=np.concatenate([p.gain for p in parts]),
            direction=np.concatenate([p.direction for p in parts]),
            distance_m=np.concatenate([p.distance_m for p in parts]),
            band_centers_hz=bands,
        )
