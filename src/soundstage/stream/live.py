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
        # The scene path's own jumps: the engine keeps each of its paths within one segment of them.
        return self.base.jump_times

    def move_to(self, time: float, xyz: np.ndarray, centre: np.ndarray) -> None:
        """From ``time`` (stream seconds) glide to ``xyz`` (world metres) around the listener at ``centre``.

        The glide turns about the listener and changes distance steadily (never a straight line that
        could pass through the head): it is never nearer than the nearer of its two ends.
        """
        xyz = np.asarray(xyz, dtype=float).reshape(3)
        centre = np.asarray(centre, dtype=float).reshape(3)
        with self._lock:
            here = self._at_locked(np.array([time]))[0]
            points = _arc(here - centre, xyz - centre) + centre
            steps = np.linalg.norm(np.diff(points, axis=0), axis=1)
            ramp = max(RAMP_S, float(np.sum(steps)) / self.speed_limit)
            offsets = time + ramp * np.concatenate([[0.0], np.cumsum(steps)]) / max(float(np.sum(steps)), 1e-12)
            if self._times is None:
                earlier_times, earlier_points = np.zeros(0), np.zeros((0, 3))
            else:
                keep = (self._times < time) & (self._times >= time - KEEP_S)
                earlier_times, earlier_points = self._times[keep], self._points[keep]
            self._times = np.concatenate([earlier_times, offsets])
            self._points = np.vstack([earlier_points, points])

    def at(self, times: np.ndarray | float) -> np.ndarray:
        scalar = np.ndim(times) == 0
        with self._lock:
            out = self._at_locked(np.atleast_1d(np.asarray(times, dtype=float)))
        return out[0] if scalar else out

    def _at_locked(self, t: np.ndarray) -> np.ndarray:
        base = np.atleast_2d(self.base.at(t))
        if self._times is None:
            return base
        live = np.stack([np.interp(t, self._times, self._points[:, axis]) for axis in range(3)], axis=-1)
        # Sound still on its way left the source before the first move: it comes from the scene's path.
        return np.where((t < self._times[0])[:, None], base, live)

    def sample_points(self) -> np.ndarray:
        return self.base.sample_points() if self._points is None else self._points


def _arc(start: np.ndarray, end: np.ndarray, step_deg: float = 5.0) -> np.ndarray:
    """Points from ``start`` to ``end`` (offsets from the listener) turning about it, distance changing linearly.

    >>> path = _arc(np.array([2.0, 0, 0]), np.array([-2.0, 0, 0]))
    >>> bool(np.min(np.linalg.norm(path, axis=1)) > 1.99)
    True
    """
    d0, d1 = float(np.linalg.norm(start)), float(np.linalg.norm(end))
    u0 = start / d0 if d0 > 0 else np.array([1.0, 0.0, 0.0])
    u1 = end / d1 if d1 > 0 else u0
    angle = float(np.arccos(np.clip(u0 @ u1, -1.0, 1.0)))
    n = max(2, int(np.ceil(np.degrees(angle) / step_deg)) + 1)
    fractions = np.linspace(0.0, 1.0, n)
    if angle < 1e-9:
        directions = np.repeat(u0[None], n, axis=0)
    else:
        axis = np.cross(u0, u1)
        if np.linalg.norm(axis) < 1e-9:  # opposite: turn about the vertical (or any axis across u0)
            axis = np.cross(u0, [0.0, 0.0, 1.0]) if abs(u0[2]) < 0.9 else np.cross(u0, [1.0, 0.0, 0.0])
        axis = axis / np.linalg.norm(axis)
        ortho = np.cross(axis, u0)
        directions = np.cos(angle * fractions)[:, None] * u0 + np.sin(angle * fractions)[:, None] * ortho
    return directions * (d0 + (d1 - d0) * fractions)[:, None]


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
        base = self.base.rotations(t)
        if self._times is None:
            return base
        from scipy.spatial.transform import Slerp

        live = Slerp(self._times, self._rotations)(np.clip(t, self._times[0], self._times[-1])).as_matrix()
        return np.where((t < self._times[0])[:, None, None], base, live)


def scene_rotator_matrix(yaw_deg: float, pitch_deg: float, roll_deg: float) -> np.ndarray:
    """Head-to-world rotation of the IEM SceneRotator's yaw, pitch, roll (degrees).

    The SceneRotator's angles are the Z-Y-X Euler angles of its quaternion in the x-forward, y-left, z-up
    frame, each a right-handed turn: yaw about z (+ left), pitch about y (+ tips the nose down), roll about x
    (+ raises the left ear). So its pitch is this project's with the sign turned, and ``/SceneRotator/ypr`` and
    ``/SceneRotator/quaternions`` describe the same pose.

    >>> from soundstage.conventions import quaternion_matrix
    >>> q = quaternion_matrix(np.cos(np.radians(10)), 0.0, np.sin(np.radians(10)), 0.0)  # 20° about +y
    >>> np.allclose(q, scene_rotator_matrix(0, 20, 0)) and np.allclose(q, rotation_matrix(0, -20, 0))
    True
    """
    return rotation_matrix(yaw_deg, -pitch_deg, roll_deg)
