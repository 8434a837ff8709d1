"""Following sounding objects through a clip: regions per analysed frame → tracks → smoothed paths.

Each analysed frame gives candidate regions (the image pipeline's region stage) with their centroid,
box, mean colour and distance. Regions are associated with the tracks so far by the Hungarian method
on a cost that adds how far a region is from where the track is predicted to be (constant velocity from
its last two detections, in image diagonals), how little its box overlaps the track's last box, and how
different its colour is; pairs beyond the gate start new tracks. Once every frame is seen, each track is
smoothed backwards (Rauch–Tung–Striebel), so a path uses the frames after a moment as well as before.

The state of each track is ``(u, v, z)`` — image position in pixels and distance in metres — with a
velocity for each, filtered independently per coordinate.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: Largest jump between analysed frames a region may make and still continue a track, in image diagonals.
GATE_DIAGONALS = 0.25
#: Analysed frames a track may miss before it ends.
MAX_MISSES = 2
#: Fewest analysed frames a track must be seen in to be kept.
MIN_HITS = 3
#: Standard deviation of a measurement: pixels (as a share of the diagonal) and relative distance.
_MEASUREMENT_STD = np.array([0.01, 0.01, 0.15])
#: Standard deviation of the acceleration the model allows, per second², in the same units.
_ACCELERATION_STD = np.array([0.5, 0.5, 0.5])


@dataclass(frozen=True)
class Detection:
    """One region in one analysed frame.

    Attributes
    ----------
    time : float
        Seconds from the start of the clip.
    centre : np.ndarray, shape (3,)
        ``(u, v)`` in analysed pixels and the distance ``z`` in metres.
    box : tuple of float
        ``(u0, v0, u1, v1)`` in analysed pixels.
    colour : np.ndarray, shape (3,)
        Mean RGB in [0, 1] over the region.
    score : float
        The region finder's score.
    """

    time: float
    centre: np.ndarray
    box: tuple[float, float, float, float]
    colour: np.ndarray
    score: float


@dataclass
class Track:
    """A sounding object followed through the clip: its detections and its smoothed path."""

    detections: dict[int, Detection] = field(default_factory=dict)  # analysed-frame index → detection
    misses: int = 0
    times: np.ndarray | None = None  # (N,) seconds, from its first to its last detection
    path: np.ndarray | None = None  # (N, 3) smoothed (u, v, z)

    @property
    def hits(self) -> int:
        return len(self.detections)

    @property
    def score(self) -> float:
        """How much the track is worth following: frames seen times the regions' mean score."""
        return self.hits * float(np.mean([d.score for d in self.detections.values()]))

    def last(self) -> Detection:
        return self.detections[max(self.detections)]


def track_detections(frames: list[list[Detection]], times: np.ndarray, diagonal: float) -> list[Track]:
    """Associate the detections of successive analysed frames into smoothed tracks, best first.

    Parameters
    ----------
    frames : list of list of Detection
        The regions of each analysed frame, in time order.
    times : np.ndarray, shape (F,)
        Each analysed frame's time in seconds.
    diagonal : float
        The analysed frames' diagonal in pixels (the scale of the gate and of the costs).
    """
    from scipy.optimize import linear_sum_assignment

    live: list[Track] = []
    ended: list[Track] = []
    for index, detections in enumerate(frames):
        if live and detections:
            cost = np.array([[_cost(track, d, times, diagonal) for d in detections] for track in live])
            rows, cols = linear_sum_assignment(np.where(np.isfinite(cost), cost, 1e9))
            pairs = [(r, c) for r, c in zip(rows, cols, strict=True) if np.isfinite(cost[r, c])]
        else:
            pairs = []
        matched_tracks = {r for r, _ in pairs}
        matched = {c for _, c in pairs}
        for r, c in pairs:
            live[r].detections[index] = detections[c]
            live[r].misses = 0
        for r, track in enumerate(live):
            if r not in matched_tracks:
                track.misses += 1
        ended += [t for t in live if t.misses > MAX_MISSES]
        live = [t for t in live if t.misses <= MAX_MISSES]
        live += [Track({index: d}) for c, d in enumerate(detections) if c not in matched]
    kept = [t for t in ended + live if t.hits >= min(MIN_HITS, len(frames))]
    for track in kept:
        _smooth(track, times, diagonal)
    return sorted(kept, key=lambda t: -t.score)


def _predict(track: Track, time: float, times: np.ndarray) -> np.ndarray:
    """Where a track's last two detections say it is at ``time`` (constant velocity)."""
    keys = sorted(track.detections)
    last = track.detections[keys[-1]]
    if len(keys) < 2:
        return last.centre
    before = track.detections[keys[-2]]
    dt = times[keys[-1]] - times[keys[-2]]
    velocity = (last.centre - before.centre) / dt if dt > 0 else 0.0
    return last.centre + velocity * (time - times[keys[-1]])


def _cost(track: Track, detection: Detection, times: np.ndarray, diagonal: float) -> float:
    predicted = _predict(track, detection.time, times)
    distance = float(np.hypot(*(detection.centre[:2] - predicted[:2]))) / diagonal
    if distance > GATE_DIAGONALS:
        return np.inf
    overlap = _iou(track.last().box, detection.box)
    colour = float(np.linalg.norm(detection.colour - track.last().colour))
    return distance / GATE_DIAGONALS + (1.0 - overlap) + colour


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _smooth(track: Track, times: np.ndarray, diagonal: float) -> None:
    """Kalman filter then RTS smoother over the analysed frames from the track's first to last detection."""
    first, last = min(track.detections), max(track.detections)
    span = np.arange(first, last + 1)
    measured = np.full((len(span), 3), np.nan)
    for i, frame in enumerate(span):
        if frame in track.detections:
            measured[i] = track.detections[frame].centre
    scale = np.array([diagonal, diagonal, max(float(np.nanmedian(measured[:, 2])), 1e-3)])
    track.times = times[span]
    track.path = kalman_smooth(track.times, measured / scale, _MEASUREMENT_STD, _ACCELERATION_STD) * scale


def kalman_smooth(
    times: np.ndarray, measurements: np.ndarray, measurement_std: np.ndarray, acceleration_std: np.ndarray
) -> np.ndarray:
    """Constant-velocity Kalman filter and Rauch–Tung–Striebel smoother, each coordinate on its own.

    Parameters
    ----------
    times : np.ndarray, shape (N,)
        Increasing times in seconds.
    measurements : np.ndarray, shape (N, D)
        Measured positions; NaN rows are frames where the object was not seen (prediction only).
    measurement_std : np.ndarray, shape (D,)
        Standard deviation of a measurement, per coordinate.
    acceleration_std : np.ndarray, shape (D,)
        Standard deviation of the (white) acceleration the motion model allows, per coordinate and second².

    Returns
    -------
    np.ndarray, shape (N, D)
        Smoothed positions.

    Examples
    --------
    >>> t = np.arange(5.0)
    >>> kalman_smooth(t, np.stack([2 * t], axis=1), np.array([0.01]), np.array([0.01])).ravel().round(3)
    array([0., 2., 4., 6., 8.])
    """
    n, dims = measurements.shape
    out = np.empty((n, dims))
    h = np.array([[1.0, 0.0]])
    for d in range(dims):
        r = measurement_std[d] ** 2
        q = acceleration_std[d] ** 2
        seen = np.flatnonzero(np.isfinite(measurements[:, d]))
        x = np.array([measurements[seen[0], d] if len(seen) else 0.0, 0.0])
        p = np.diag([r, 1.0])
        states, covariances, predictions, predicted_covs, transitions = [], [], [], [], []
        for i in range(n):
            dt = times[i] - times[i - 1] if i else 0.0
            f = np.array([[1.0, dt], [0.0, 1.0]])
            noise = q * np.array([[dt**4 / 4, dt**3 / 2], [dt**3 / 2, dt**2]])
            x_pred, p_pred = f @ x, f @ p @ f.T + noise
            z = measurements[i, d]
            if np.isfinite(z):
                gain = p_pred @ h.T / (h @ p_pred @ h.T + r)
                x = x_pred + (gain * (z - h @ x_pred)).ravel()
                p = (np.eye(2) - gain @ h) @ p_pred
            else:
                x, p = x_pred, p_pred
            states.append(x)
            covariances.append(p)
            predictions.append(x_pred)
            predicted_covs.append(p_pred)
            transitions.append(f)
        smoothed = states[-1]
        p_s = covariances[-1]
        out[-1, d] = smoothed[0]
        for i in range(n - 2, -1, -1):
            f = transitions[i + 1]
            c = covariances[i] @ f.T @ np.linalg.inv(predicted_covs[i + 1])
            smoothed = states[i] + c @ (smoothed - predictions[i + 1])
            p_s = covariances[i] + c @ (p_s - predicted_covs[i + 1]) @ c.T
            out[i, d] = smoothed[0]
    return out
