"""How a scene moves: positions and head orientations as functions of time.

Trajectories are keyframes interpolated in world coordinates (``linear``, or a natural cubic
``spline`` through them), held before the first and after the last keyframe. Two keyframes at the
same time are a jump: the path is cut there into separately interpolated segments, and the jump's time
is reported so that the renderer switches instead of gliding. Spherical keyframes ``{az, el, dist}``
are taken from the listener's position at the keyframe's time, along the world axes.

Head orientations are interpolated along the shortest turn between keyframes (spherical linear
interpolation of rotations), so a head tracker's log plays back as it was recorded.
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from soundstage.conventions import rotation_matrix, spherical_to_cartesian
from soundstage.errors import InputFileError
from soundstage.scene.model import (
    CartesianPosition,
    OrientationKeyframe,
    OrientationTrack,
    Scene,
    Trajectory,
)

#: Points sampled per spline segment when checking that a path stays inside a room.
_CHECK_POINTS = 32


@dataclass(frozen=True)
class PointPath:
    """A point moving through keyframes: :meth:`at` gives positions at any times.

    Attributes
    ----------
    segment_starts : np.ndarray, shape (S,)
        Time in seconds at which each segment (a run of keyframes between jumps) begins.
    segments : list of callables
        Segment ``s`` maps times within it (seconds, shape (N,)) to positions (N, 3) in metres.
    segment_ends : np.ndarray, shape (S,)
        Time of each segment's last keyframe; positions are held after it.
    jump_times : np.ndarray, shape (S - 1,)
        Times of the jumps (the starts of every segment but the first).
    """

    segment_starts: np.ndarray
    segment_ends: np.ndarray
    segments: tuple[Callable[[np.ndarray], np.ndarray], ...]

    @property
    def jump_times(self) -> np.ndarray:
        return self.segment_starts[1:]

    @property
    def is_static(self) -> bool:
        return len(self.segments) == 1 and bool(np.allclose(np.ptp(self.sample_points(), axis=0), 0.0))

    def at(self, times: np.ndarray | float) -> np.ndarray:
        """Positions in metres at ``times`` (seconds), shape (N, 3) (or (3,) for a scalar time).

        At a jump's own time the position is already the new one.
        """
        t = np.asarray(times, dtype=float)
        flat = np.atleast_1d(t)
        if len(self.segments) == 1:  # no jumps: one segment, held at its ends
            out = self.segments[0](np.clip(flat, self.segment_starts[0], self.segment_ends[0]))
            return out[0] if t.ndim == 0 else out
        which = np.clip(np.searchsorted(self.segment_starts, flat, side="right") - 1, 0, len(self.segments) - 1)
        out = np.empty((len(flat), 3))
        for s, segment in enumerate(self.segments):
            mask = which == s
            if mask.any():
                out[mask] = segment(np.clip(flat[mask], self.segment_starts[s], self.segment_ends[s]))
        return out[0] if t.ndim == 0 else out

    def sample_points(self) -> np.ndarray:
        """The keyframes and points between them (spline overshoot included), shape (N, 3)."""
        times = [
            np.linspace(start, end, _CHECK_POINTS)
            for start, end in zip(self.segment_starts, self.segment_ends, strict=True)
        ]
        return self.at(np.concatenate(times))


def static_path(position: np.ndarray) -> PointPath:
    """A path that stays at ``position`` (metres, shape (3,))."""
    point = np.asarray(position, dtype=float).reshape(3)
    return PointPath(np.zeros(1), np.zeros(1), (lambda t: np.repeat(point[None, :], len(t), axis=0),))


def keyframe_path(times: np.ndarray, points: np.ndarray, interpolate: str = "linear") -> PointPath:
    """A path through ``points`` (K, 3) at ``times`` (K,) seconds; equal consecutive times make a jump.

    Parameters
    ----------
    times : np.ndarray, shape (K,)
        Non-decreasing keyframe times in seconds.
    points : np.ndarray, shape (K, 3)
        Positions in metres.
    interpolate : {"linear", "spline"}
        Straight lines, or a natural cubic spline (with two keyframes in a segment: a line).
    """
    times = np.asarray(times, dtype=float)
    points = np.asarray(points, dtype=float)
    cuts = [0, *(np.nonzero(np.diff(times) == 0)[0] + 1).tolist(), len(times)]
    starts, ends, segments = [], [], []
    for lo, hi in itertools.pairwise(cuts):
        t, p = times[lo:hi], points[lo:hi]
        starts.append(t[0])
        ends.append(t[-1])
        segments.append(_segment(t, p, interpolate))
    return PointPath(np.array(starts), np.array(ends), tuple(segments))


def _segment(times: np.ndarray, points: np.ndarray, interpolate: str) -> Callable[[np.ndarray], np.ndarray]:
    if len(times) == 1:
        point = points[0]
        return lambda t: np.repeat(point[None, :], len(t), axis=0)
    if interpolate == "spline" and len(times) >= 3:
        from scipy.interpolate import CubicSpline

        spline = CubicSpline(times, points, axis=0, bc_type="natural")
        return lambda t: spline(t)
    return lambda t: np.stack([np.interp(t, times, points[:, axis]) for axis in range(3)], axis=-1)


def listener_path(scene: Scene) -> PointPath:
    """Where the listener's head is over time."""
    trajectory = scene.listener.trajectory
    if trajectory is None:
        return static_path(_xyz(scene.listener.position))
    times = np.array([k.t for k in trajectory.keyframes])
    points = np.array([_xyz(k.position) for k in trajectory.keyframes])
    return keyframe_path(times, points, trajectory.interpolate)


def source_path(scene: Scene, index: int, listener: PointPath | None = None) -> PointPath:
    """Where source ``index`` is over time, world metres (spherical keyframes from the listener at their time)."""
    source = scene.sources[index]
    listener = listener_path(scene) if listener is None else listener
    if source.trajectory is None:
        return static_path(_world(source.position, listener.at(0.0)))
    return trajectory_path(source.trajectory, listener)


def trajectory_path(trajectory: Trajectory, listener: PointPath) -> PointPath:
    """The path of a source's trajectory, spherical keyframes placed around the listener at their time."""
    times = np.array([k.t for k in trajectory.keyframes])
    points = np.array([_world(k.position, listener.at(k.t)) for k in trajectory.keyframes])
    return keyframe_path(times, points, trajectory.interpolate)


@dataclass(frozen=True)
class HeadTurn:
    """The head's orientation over time: :meth:`rotations` gives head-to-world matrices.

    Attributes
    ----------
    times : np.ndarray, shape (K,)
        Keyframe times in seconds (one keyframe: the head never turns).
    matrices : np.ndarray, shape (K, 3, 3)
        Head-to-world rotation at each keyframe (:func:`soundstage.conventions.rotation_matrix`).
    """

    times: np.ndarray
    matrices: np.ndarray

    @property
    def is_static(self) -> bool:
        return len(self.times) == 1

    def rotations(self, times: np.ndarray) -> np.ndarray:
        """Head-to-world rotations at ``times`` (seconds), shape (N, 3, 3); held outside the keyframes."""
        t = np.atleast_1d(np.asarray(times, dtype=float))
        if self.is_static:
            return np.repeat(self.matrices[:1], len(t), axis=0)
        from scipy.spatial.transform import Rotation, Slerp

        slerp = Slerp(self.times, Rotation.from_matrix(self.matrices))
        return slerp(np.clip(t, self.times[0], self.times[-1])).as_matrix()


def head_turn(scene: Scene) -> HeadTurn:
    """The listener's orientation over time: ``orientation``, or its ``orientation_track``."""
    listener = scene.listener
    track = listener.orientation_track
    if track is None:
        o = listener.orientation
        return HeadTurn(np.zeros(1), rotation_matrix(o.yaw, o.pitch, o.roll)[None])
    if not isinstance(track, OrientationTrack):
        track = read_orientation_csv(scene.resolve_path(track))
    times = np.array([k.t for k in track.keyframes])
    matrices = np.stack([rotation_matrix(k.yaw, k.pitch, k.roll) for k in track.keyframes])
    return HeadTurn(times, matrices)


def read_orientation_csv(path: Path) -> OrientationTrack:
    """Read a head-tracking log: a CSV with a header naming ``t`` and any of ``yaw, pitch, roll``.

    Parameters
    ----------
    path : Path
        The file; times in seconds (increasing), angles in degrees (yaw + left, pitch + up,
        roll + left ear up).

    Raises
    ------
    InputFileError
        For a missing file, a missing ``t`` column, an unknown column, a value that is not a
        number, or times that do not increase; the message names the line.
    """
    from pydantic import ValidationError

    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as error:
        raise InputFileError(
            f"{path}: listener.orientation_track cannot be read ({error.strerror or error}); give a CSV "
            "file with the columns t, yaw, pitch, roll"
        ) from None
    rows = list(csv.reader(line for line in text.splitlines() if line.strip() and not line.startswith("#")))
    if not rows:
        raise InputFileError(f"{path}: is empty; give a header t,yaw,pitch,roll and one row per time")
    header = [name.strip().lower() for name in rows[0]]
    known = {"t", "yaw", "pitch", "roll"}
    if "t" not in header or not set(header) <= known:
        raise InputFileError(
            f"{path}: line 1: the header must name t and any of yaw, pitch, roll (got {', '.join(header)})"
        )
    keyframes = []
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise InputFileError(f"{path}: line {line}: has {len(row)} values for {len(header)} columns")
        try:
            values = {name: float(value) for name, value in zip(header, row, strict=True)}
        except ValueError:
            raise InputFileError(f"{path}: line {line}: {','.join(row)!r} holds a value that is not a number") from None
        try:
            keyframes.append(OrientationKeyframe(**values))
        except ValidationError as error:
            problem = error.errors()[0]
            raise InputFileError(f"{path}: line {line}: {problem['loc'][0]}: {problem['msg']}") from None
    if not keyframes:
        raise InputFileError(f"{path}: has a header but no rows; add one row per time")
    try:
        return OrientationTrack(keyframes=keyframes)
    except ValidationError:
        raise InputFileError(f"{path}: the times in column t must increase from line to line") from None


def _xyz(position: CartesianPosition) -> np.ndarray:
    return np.array([position.x, position.y, position.z], dtype=float)


def _world(position: object, listener_xyz: np.ndarray) -> np.ndarray:
    if isinstance(position, CartesianPosition):
        return _xyz(position)
    return np.asarray(listener_xyz, dtype=float) + spherical_to_cartesian(position.az, position.el, position.dist)
