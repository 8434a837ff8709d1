"""The HRTF interface shared by the analytic sphere and measured (SOFA) heads."""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TypeVar

import numpy as np

_T = TypeVar("_T")
#: Guards what heads keep (renders in threads share heads); re-entrant, as a made thing may ask for another.
_KEPT_LOCK = threading.RLock()


class HRTF(ABC):
    """A head-related transfer function set, queried by direction and distance.

    Attributes
    ----------
    name : str
        Human-readable name (``"sphere"``, ``"mit_kemar"``, a file name...).
    sample_rate : int
        Sample rate of the returned HRIRs in Hz.
    latency_s : float
        Time into each HRIR, in seconds, that corresponds to sound reaching the centre of
        the head. The binaural encoder subtracts it from the propagation delay so that
        arrival times stay physical. 0 for measured sets (whose own onset is kept as is).
    """

    name: str
    sample_rate: int
    latency_s: float = 0.0
    #: Names what this head computes for itself in the disk cache (direction cells, diffuse statistics),
    #: or None to keep nothing on disk (a head made from arrays in memory).
    cache_key: str | None = None

    def kept(self, name: str, make: Callable[[], _T]) -> _T:
        """What ``make()`` gives for this head, made the first time ``name`` is asked for and kept while the head
        lives (its direction cells, real-time table, diffuse-field statistics)."""
        with _KEPT_LOCK:
            kept = self.__dict__.setdefault("_kept", {})
            if name not in kept:
                kept[name] = make()
            return kept[name]

    @property
    @abstractmethod
    def n_taps(self) -> int:
        """Length of every HRIR in samples."""

    @abstractmethod
    def hrirs(self, directions: np.ndarray, distances: np.ndarray) -> np.ndarray:
        """Head-related impulse responses for a batch of directions.

        Parameters
        ----------
        directions : np.ndarray, shape (K, 3)
            Unit vectors from the head centre towards the sources, head frame
            (x forward, y left, z up).
        distances : np.ndarray, shape (K,)
            Source distances in metres (used by near-field models, ignored by far-field sets).

        Returns
        -------
        np.ndarray, shape (K, 2, n_taps)
            HRIRs, left ear first, at ``sample_rate``.
        """
