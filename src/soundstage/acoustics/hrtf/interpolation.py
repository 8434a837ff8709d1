"""HRIRs between measured directions: barycentric interpolation on the sphere.

The measured directions are triangulated by the convex hull of their unit vectors. A
query direction is a ray from the centre; it passes through exactly one triangle, and
its barycentric weights there say how much of each corner to take. The corners' HRIRs
are not averaged as they are (that comb-filters, see
:mod:`soundstage.acoustics.hrtf.minimum_phase`): their minimum-phase parts and their
delays are interpolated separately and the interpolated delay is applied again. The
delay of each ear puts its minimum-phase filter's onset where the measured HRIR's onset
is (first crossing of -20 dB below the peak after a 6 kHz Gaussian low-pass, see
:func:`~soundstage.acoustics.hrtf.minimum_phase.onset_samples`), so onsets and the ITD
between them move linearly between the corners. (Delays fitted to the low-frequency
phase are not used: measured sets carry little energy below a few hundred hertz, and in
the MIT KEMAR set such fits, even of the interaural phase, jump by tens of samples
between neighbouring directions.) A query within ``EXACT_MATCH_RAD`` of a measured
direction gets that measurement verbatim.

Incomplete sets
    Many sets do not cover the whole sphere (the MIT KEMAR stops at -40° elevation). The
    hull then has large triangles spanning the gap (a flat "lid" under the head). Such
    *gap triangles* (an angular circumradius over three times the median and over 15°)
    are not used: a query that falls in one is projected onto the nearest point of the
    usable triangles (on an edge at the border of the gap) and interpolated there, so
    below -40° one hears the HRIRs of the lowest measured ring (continuously, except for
    small jumps deep inside the gap where two border edges are equally near). Sets whose
    directions do not surround the head (a hemisphere) get a virtual vertex opposite
    their mean direction to close the hull; triangles touching it are gap triangles too.
    Sets that cannot be triangulated at all (a single ring) fall back to the nearest
    measured direction, with a warning.
"""

from __future__ import annotations

import warnings

import numpy as np

from soundstage.acoustics.hrtf.minimum_phase import delay_irs, minimum_phase, onset_samples
from soundstage.errors import ParameterError

#: Queries closer than this (radians) to a measured direction get that HRIR verbatim.
EXACT_MATCH_RAD = 1e-6
INTERPOLATION_METHODS = ("barycentric", "nearest")
_GAP_MEDIAN_FACTOR = 3.0
_GAP_MIN_DEG = 15.0
_CHUNK = 512
_ONSET_LEAD = 32


def _unit(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=float)
    return vectors / np.linalg.norm(vectors, axis=-1, keepdims=True)


def _circumradius_rad(corners: np.ndarray) -> np.ndarray:
    """Angular radius of the small circle through each triangle's three unit-vector corners, shape (T,)."""
    a, b, c = corners[:, 0], corners[:, 1], corners[:, 2]
    normal = np.cross(b - a, c - a)
    normal /= np.linalg.norm(normal, axis=1, keepdims=True)
    return np.arccos(np.clip(np.abs(np.einsum("ij,ij->i", normal, a)), -1.0, 1.0))


class DirectionInterpolator:
    """Interpolates a set of HRIRs measured at unique directions.

    Parameters
    ----------
    directions : np.ndarray, shape (M, 3)
        Measured directions (any length; normalised here). Must be unique.
    hrirs : np.ndarray, shape (M, 2, N)
        The HRIRs, left ear first.
    sample_rate : float
        Sample rate of ``hrirs`` in Hz.
    method : {"barycentric", "nearest"}
        ``"barycentric"``: minimum-phase + onset interpolation over the triangle holding the
        query; ``"nearest"``: the HRIR of the nearest measured direction.

    Examples
    --------
    >>> dirs = np.array([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]], float)
    >>> irs = np.zeros((6, 2, 32)); irs[:, :, 4] = 1.0
    >>> interp = DirectionInterpolator(dirs, irs, 48000)
    >>> interp(np.array([[0.0, 1.0, 0.0]])).shape
    (1, 2, 32)
    """

    def __init__(
        self, directions: np.ndarray, hrirs: np.ndarray, sample_rate: float, method: str = "barycentric"
    ) -> None:
        if method not in INTERPOLATION_METHODS:
            raise ParameterError(f"interpolation must be one of {INTERPOLATION_METHODS}, got {method!r}")
        self.directions = _unit(directions)
        self.hrirs = np.asarray(hrirs, dtype=float)
        m = len(self.directions)
        if self.hrirs.ndim != 3 or self.hrirs.shape[:2] != (m, 2):
            raise ParameterError(f"hrirs must have shape ({m}, 2, N), got {self.hrirs.shape}")
        from scipy.spatial import cKDTree  # here: a head restored from the disk cache never needs it

        if cKDTree(self.directions).query_pairs(2.0 * np.sin(EXACT_MATCH_RAD / 2.0)):
            raise ParameterError("measured directions must be unique (merge or drop duplicates first)")
        self.method = method
        self.triangles: np.ndarray | None = None
        if method == "barycentric":
            self._triangulate()
        if self.triangles is not None:
            self.min_phase = minimum_phase(self.hrirs)
            # The delay that puts each minimum-phase filter's onset where the measurement's is.
            self.delays = _ear_delays(self.hrirs, self.min_phase)

    @property
    def n_taps(self) -> int:
        """Length of the HRIRs in samples."""
        return self.hrirs.shape[-1]

    def state(self) -> dict[str, np.ndarray]:
        """Everything this interpolator computed, as arrays (to keep on disk and restore without recomputing)."""
        state = {"directions": self.directions, "hrirs": self.hrirs, "method": np.array(self.method)}
        if self.triangles is not None:
            state.update(
                triangles=self.triangles,
                usable=self.usable,
                inverse=self._inverse,
                min_phase=self.min_phase,
                delays=self.delays,
            )
        return state

    @classmethod
    def from_state(cls, state) -> DirectionInterpolator:
        """The interpolator :meth:`state` described, rebuilt without triangulating or decomposing again."""
        self = cls.__new__(cls)
        self.directions = np.asarray(state["directions"], dtype=float)
        self.hrirs = np.asarray(state["hrirs"], dtype=float)
        self.method = str(state["method"])
        self.triangles = None
        if "triangles" in state:
            self.triangles = np.asarray(state["triangles"], dtype=np.int64)
            self.usable = np.asarray(state["usable"], dtype=bool)
            self._inverse = np.asarray(state["inverse"], dtype=float)
            self.min_phase = np.asarray(state["min_phase"], dtype=float)
            self.delays = np.asarray(state["delays"], dtype=float)
        return self

    def _triangulate(self) -> None:
        from scipy.spatial import ConvexHull, QhullError

        points = self.directions
        n_real = len(points)
        hull = None
        for extra in (np.empty((0, 3)), -_unit_or_none(points.mean(axis=0))):
            candidate = np.vstack([points, extra])
            try:
                hull = ConvexHull(candidate)
            except (QhullError, ValueError):
                continue
            if np.all(hull.equations[:, 3] < -1e-9):  # the centre is strictly inside
                break
            hull = None
        if hull is None:
            warnings.warn(
                "the measured directions cannot be triangulated (too few or all in one plane); "
                "using the nearest measured HRIR",
                stacklevel=3,
            )
            return
        vertices = np.vstack([points, hull.points[n_real:]])
        triangles = hull.simplices
        corners = vertices[triangles]
        radius = _circumradius_rad(corners)
        usable = np.all(triangles < n_real, axis=1)
        if np.any(usable):
            limit = max(_GAP_MEDIAN_FACTOR * np.median(radius[usable]), np.deg2rad(_GAP_MIN_DEG))
            usable &= radius <= limit
        if not np.any(usable):
            warnings.warn(
                "the measured directions leave no usable triangles; using the nearest measured HRIR", stacklevel=3
            )
            return
        self.triangles = triangles
        self.usable = usable
        # Barycentric weights of a point p in triangle t are inv(corners[t].T) @ p.
        self._inverse = np.linalg.inv(np.transpose(corners, (0, 2, 1)))

    def weights(self, directions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Corner indices and barycentric weights of each query.

        Parameters
        ----------
        directions : np.ndarray, shape (K, 3)
            Query directions.

        Returns
        -------
        indices : np.ndarray of int, shape (K, 3)
            Measured directions at the corners of the triangle used.
        weights : np.ndarray, shape (K, 3)
            Non-negative weights summing to 1.
        """
        if self.triangles is None:
            raise ParameterError("this interpolator has no triangulation (method 'nearest' or degenerate set)")
        queries = _unit(directions)
        # The triangle the ray passes through is the one where all three weights are >= 0,
        # i.e. the one with the largest smallest weight. (Picking the face whose plane the ray
        # meets first is not enough: grids have coplanar quads split into two triangles.)
        face = np.empty(len(queries), dtype=np.int64)
        for start in range(0, len(queries), _CHUNK // 2):
            block = queries[start : start + _CHUNK // 2]
            smallest = np.einsum("tij,kj->kti", self._inverse, block).min(axis=2)
            face[start : start + _CHUNK // 2] = np.argmax(smallest, axis=1)
        w = np.einsum("kij,kj->ki", self._inverse[face], queries)
        w = np.clip(w, 0.0, None)
        w /= w.sum(axis=1, keepdims=True)
        gap = ~self.usable[face]
        if np.any(gap):
            face[gap], w[gap] = self._project(queries[gap])
        return self.triangles[face], w

    def _project(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Nearest point on the usable triangles' edges, and its weights, for queries that fell into a gap.

        A query in a gap lies outside every usable triangle, so its nearest usable point is on
        an edge: for the edge from ``a`` to ``b`` that is where the great circle through ``a``
        and ``b`` comes closest to the query (clamped to the edge).
        """
        usable = np.flatnonzero(self.usable)
        starts = self.directions[self.triangles[usable]]  # (T, 3 corners, xyz)
        ends = np.roll(starts, -1, axis=1)  # edge e runs from corner e to corner e + 1
        normals = _unit(np.cross(starts, ends))
        faces = np.empty(len(queries), dtype=np.int64)
        weights = np.zeros((len(queries), 3))
        for lo in range(0, len(queries), 64):
            block = queries[lo : lo + 64]
            d = block[:, None, None, :]
            # The query projected onto each edge's great-circle plane...
            q = d - np.sum(d * normals, axis=-1, keepdims=True) * normals
            # ... and the edge parameter s where a + s (b - a) points along it.
            num = -np.sum(np.cross(starts, q) * normals, axis=-1)
            den = np.sum(np.cross(ends - starts, q) * normals, axis=-1)
            with np.errstate(invalid="ignore", divide="ignore"):
                s = np.clip(np.where(np.abs(den) > 1e-15, num / den, 0.0), 0.0, 1.0)
            points = _unit(starts + s[..., None] * (ends - starts))
            closeness = np.sum(points * d, axis=-1).reshape(len(block), -1)  # (k, T * 3)
            best = np.argmax(closeness, axis=1)
            triangle, edge = np.divmod(best, 3)
            rows = np.arange(len(block))
            weights[lo + rows, edge] = 1.0 - s[rows, triangle, edge]
            weights[lo + rows, (edge + 1) % 3] = s[rows, triangle, edge]
            faces[lo : lo + 64] = usable[triangle]
        return faces, weights

    def nearest(self, directions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Index of the nearest measured direction and the angle to it in radians, shapes (K,)."""
        # The chord between unit vectors gives small angles accurately (arccos of a dot does not).
        from soundstage.acoustics.hrtf.direction_cells import nearest_directions

        queries = _unit(directions)
        index = nearest_directions(queries, self.directions)
        chord = np.linalg.norm(queries - self.directions[index], axis=1)
        return np.asarray(index, dtype=np.int64), 2.0 * np.arcsin(np.clip(chord / 2.0, 0.0, 1.0))

    def __call__(self, directions: np.ndarray) -> np.ndarray:
        """HRIRs at the query directions, shape (K, 2, N)."""
        directions = np.asarray(directions, dtype=float)
        if directions.ndim != 2 or directions.shape[1] != 3:
            raise ParameterError(f"directions must have shape (K, 3), got {directions.shape}")
        index, angle = self.nearest(directions)
        if self.triangles is None:
            return self.hrirs[index].copy()
        out = np.empty((len(directions), 2, self.n_taps))
        exact = angle < EXACT_MATCH_RAD
        out[exact] = self.hrirs[index[exact]]
        todo = np.flatnonzero(~exact)
        if len(todo):
            corners, w = self.weights(directions[todo])
            min_phase = np.einsum("kj,kjen->ken", w, self.min_phase[corners])
            delays = np.einsum("kj,kje->ke", w, self.delays[corners])
            out[todo] = delay_irs(min_phase, delays)
        return out


def _ear_delays(hrirs: np.ndarray, min_phase: np.ndarray) -> np.ndarray:
    """Delays (M, 2) in samples that put each minimum-phase filter's onset where the measured one's is."""
    # The minimum-phase filters start at tap 0, where the low-pass used to find onsets would
    # smear part of them to negative times: measure them with some lead-in.
    lead = np.zeros((*min_phase.shape[:-1], _ONSET_LEAD))
    min_phase_onset = onset_samples(np.concatenate([lead, min_phase], axis=-1)) - _ONSET_LEAD
    return onset_samples(hrirs) - min_phase_onset


def _unit_or_none(vector: np.ndarray) -> np.ndarray:
    """``vector`` normalised, or +z when it is (nearly) zero, shape (1, 3)."""
    norm = np.linalg.norm(vector)
    return (vector / norm if norm > 1e-9 else np.array([0.0, 0.0, 1.0]))[None, :]
