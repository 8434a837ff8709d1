"""Paths and head turns that are written while they play: what the block engine reads in a live stream.

The block engine asks where a source is (``path.at(times)``) and how the head is turned
(``head.rotations(times)``) at times within and just before the block it renders. A live path answers
from the scene's own path until a position arrives, then from the keyframes the arrivals made: each
update glides from where the source was to where it is sent over a short ramp (long enough that it
never moves faster than half the speed of sound, which the engine's delay lines could not follow). A
live head turn does the same with orientations, by spherical interpolation. Both keep only the last
few seconds of keyframes, so a stream that runs for hours does not grow.
"""

from __future__ import annotations

import threading

import numpy as np

from soundstage.conventions import rotation_matrix

#: Shortest glide to a new position or orientation, in seconds (a step would click).
RAMP_S = 0.02
#: Keyframes older than this are forgotten, in seconds (the engine looks back only by the longest delay).
KEEP_S = 4.0


class LivePath:
    """A point that follows its scene path until it is moved, then the positions it is sent.

    Parameters
    ----------
    base : PointPath
        The scene's path (used until the first :meth:`move_to`).
    speed_limit : float
        Fastest glide between positions, m/s.
    """

    def __init__(self, base, *, speed_limit: float) -> None:
        self.base = base
        self.speed_limit = float(speed_limit)
        self.segment_starts = np.zeros(1)
        self.segment_ends = np.zeros(1)
        self.segments = (self.at,)
        self._times: np.ndarray | None = None
        self._points: np.ndarray | None = None
        self._lock = threading.Lock()

    @property
    def jump_times(self) -> np.ndarray:
        return np.zeros(0)

    def move_to(self, time: float, xyz: np.ndarray) -> None:
        """From ``time`` (stream seconds) glide to ``xyz`` (world metres)."""
        xyz = np.asarray(xyz, dtype=float).reshape(3)
        with self._lock:
            here = self._at_locked(np.array([time]))[0]
            ramp = max(RAMP_S, float(np.linalg.norm(xyz - here)) / self.speed_limit)
            if self._times is None:
                times, points = np.array([time]), here[None, :]
            else:
                keep = (self._times < time) & (self._times >= time - KEEP_S)
                times = np.append(self._times[keep], time)
                points = np.vstack([self._points[keep], here])
            self._times = np.append(times, time + ramp)
            self._points = np.vstack([points, xyz])

    def at(self, times: np.ndarray | float) -> np.ndarray:
        scalar = np.ndim(times) == 0
        with self._lock:
            out = self._at_locked(np.atleast_1d(np.asarray(times, dtype=float)))
        return out[0] if scalar else out

    def _at_locked(self, t: np.ndarray) -> np.ndarray:
        if self._times is None:
            return np.atleast_2d(self.base.at(t))
        return np.stack([np.interp(t, self._times, self._points[:, axis]) for axis in range(3)], axis=-1)

    def sample_points(self) -> np.ndarray:
        return self.at(np.zeros(1)) if self._points is None else self._points


class LiveHeadTurn:
    """The head's orientation: the scene's until it is turned, then the orientations it is sent."""

    def __init__(self, base) -> None:
        self.base = base
        self._times: np.ndarray | None = None
        self._rotations = None
        self._lock = threading.Lock()

    @property
    def is_static(self) -> bool:
        return self._times is None and self.base.is_static

    def turn_to(self, time: float, matrix: np.ndarray) -> None:
        """From ``time`` (stream seconds) turn smoothly to the head-to-world rotation ``matrix``."""
        from scipy.spatial.transform import Rotation

        with self._lock:
            now = Rotation.from_matrix(self._rotations_locked(np.array([time]))[0])
            target = Rotation.from_matrix(np.asarray(matrix, dtype=float))
            if self._times is None:
                times, rotations = [time], [now]
            else:
                keep = (self._times < time) & (self._times >= time - KEEP_S)
                times = [*self._times[keep], time]
                rotations = [self._rotations[i] for i in np.flatnonzero(keep)] + [now]
            self._times = np.array([*times, time + RAMP_S])
            self._rotations = Rotation.concatenate([*rotations, target])

    def rotations(self, times: np.ndarray) -> np.ndarray:
        with self._lock:
            return self._rotations_locked(np.atleast_1d(np.asarray(times, dtype=float)))

    def _rotations_locked(self, t: np.ndarray) -> np.ndarray:
        if self._times is None:
            return self.base.rotations(t)
        if len(self._times) == 1:
            return np.repeat(self._rotations.as_matrix()[None], len(t), axis=0)
        from scipy.spatial.transform import Slerp

        return Slerp(self._times, self._rotations)(np.clip(t, self._times[0], self._times[-1])).as_matrix()


def ypr_matrix(yaw_deg: float, pitch_deg: float, roll_deg: float) -> np.ndarray:
    """Head-to-world rotation of yaw (+ left), pitch (+ up), roll (+ left ear up), degrees."""
    return rotation_matrix(yaw_deg, pitch_deg, roll_deg)


def quaternion_matrix(w: float, x: float, y: float, z: float) -> np.ndarray:
    """Head-to-world rotation of a unit quaternion ``w x y z`` in the listener frame (x forward, y left, z up).

    >>> np.allclose(quaternion_matrix(np.cos(np.pi / 4), 0, 0, np.sin(np.pi / 4)), ypr_matrix(90, 0, 0))
    True
    """
    from scipy.spatial.transform import Rotation

    q = np.array([x, y, z, w], dtype=float)
    norm = float(np.linalg.norm(q))
    if not np.isfinite(norm) or norm < 1e-9:
        raise ValueError("a quaternion of length 0")
    return Rotation.from_quat(q / norm).as_matrix()
