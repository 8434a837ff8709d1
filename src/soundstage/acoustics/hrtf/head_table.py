"""A head tabulated for real time: minimum-phase spectra and ear delays on a dense grid of directions.

Asking a head for an HRIR pair costs about a millisecond per direction (a rigid sphere sums its series, a
measured set is triangulated and interpolated); a stream of hundreds of moving sources asks for hundreds
every block. This table asks the head once, at :data:`N_DIRECTIONS` near-uniform directions (a Fibonacci
lattice, about 3.2° apart), and keeps each HRIR as what interpolates cleanly: its minimum-phase filter, as a
spectrum on the stream's FFT grid, and each ear's onset delay (the ITD lives there; see
:mod:`soundstage.acoustics.hrtf.minimum_phase`). A query is answered, for many directions at once, by the
barycentric weights of the lattice triangle its direction passes through: the three corners' spectra and
delays are mixed with those weights and the delay is put back as an exact (fractional) phase ramp.

What it leaves out, and says so: the head's response is taken at :data:`REFERENCE_DISTANCE_M` (a rigid
sphere's near field, a few dB of low-frequency ILD within a metre, is not followed), and the all-pass part
of each HRIR beyond its onset delay is dropped (as in every minimum-phase renderer).
"""

from __future__ import annotations

import numpy as np

from soundstage.acoustics.hrtf.base import HRTF
from soundstage.acoustics.hrtf.interpolation import _ear_delays
from soundstage.acoustics.hrtf.minimum_phase import energy_taps, minimum_phase
from soundstage.acoustics.sphere_points import fibonacci_directions

#: Directions in the table (a Fibonacci lattice: neighbours about 3.2° apart).
N_DIRECTIONS = 4096
#: Distance, in metres, at which the head is tabulated.
REFERENCE_DISTANCE_M = 2.0
#: Energy of each minimum-phase filter kept when it is cut short (the rest, at its end, is dropped).
KEPT_ENERGY = 1.0 - 1e-6
#: Vertices near a query whose triangles are searched for the one it passes through.
_NEAR_VERTICES = 3


class HeadTable:
    """A head as minimum-phase spectra plus ear delays at fixed directions, answered for many directions at once.

    Parameters
    ----------
    hrtf : HRTF
        The head.
    n_directions : int
        Points of the direction lattice.

    Attributes
    ----------
    filter_taps : int
        Length of the minimum-phase filters kept (the rest holds less than ``1 - KEPT_ENERGY`` of their energy).
    delays : np.ndarray, shape (n_directions, 2)
        Each ear's onset delay in samples relative to the sound's arrival at the head centre (negative for
        the ear nearer the source).

    Examples
    --------
    >>> from soundstage.acoustics.hrtf import load_hrtf
    >>> table = HeadTable(load_hrtf("sphere", 16000), n_directions=256)
    >>> left = table.ear_delays(np.array([[0.0, 1.0, 0.0]]))[0]   # a source on the left
    >>> bool(left[0] < 0 < left[1])                                # the left ear hears it first
    True
    """

    def __init__(self, hrtf: HRTF, *, n_directions: int = N_DIRECTIONS) -> None:
        from scipy.spatial import ConvexHull, cKDTree

        from soundstage.acoustics.hrtf.head_cache import cached_array

        self.sample_rate = int(hrtf.sample_rate)
        self.directions = fibonacci_directions(n_directions)
        # Made once per machine for a head that can be kept on disk (seconds for a measured set).
        made = cached_array(hrtf, f"table{n_directions}-{REFERENCE_DISTANCE_M:g}m", lambda: self._decompose(hrtf))
        self.delays = np.asarray(made[..., -1], dtype=float)
        self._filters = np.ascontiguousarray(made[..., :-1], dtype=np.float32)
        self.filter_taps = self._filters.shape[-1]
        self._tree = cKDTree(self.directions)
        hull = ConvexHull(self.directions)
        self._triangles = hull.simplices
        corners = self.directions[self._triangles]  # (T, 3 corners, xyz)
        # Barycentric weights of a direction d in triangle t are inverse[t] @ d (then normalised).
        self._inverse = np.linalg.inv(np.transpose(corners, (0, 2, 1)))
        # Triangles around each vertex, padded by repeating the first (a repeat changes no choice).
        around: list[list[int]] = [[] for _ in range(n_directions)]
        for t, triangle in enumerate(self._triangles):
            for vertex in triangle:
                around[vertex].append(t)
        width = max(len(a) for a in around)
        self._around = np.array([a + [a[0]] * (width - len(a)) for a in around], dtype=np.int64)
        self._spectra: tuple[int, np.ndarray] | None = None  # (n_fft, spectra): one stream's FFT size

    def _decompose(self, hrtf: HRTF) -> np.ndarray:
        """The head's minimum-phase filters, cut where they hold ``KEPT_ENERGY``, with each ear's delay (in
        samples, from the head centre) as one more tap at the end: shape (M, 2, filter_taps + 1), float32."""
        distances = np.full(len(self.directions), REFERENCE_DISTANCE_M)
        hrirs = np.asarray(hrtf.hrirs(self.directions, distances), dtype=float)
        filters = minimum_phase(hrirs)
        delays = _ear_delays(hrirs, filters) - float(hrtf.latency_s) * self.sample_rate
        taps = energy_taps(filters, KEPT_ENERGY)
        return np.concatenate([filters[..., :taps], delays[..., None]], axis=-1).astype(np.float32)

    def corners(self, directions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The lattice triangle each direction passes through: corner indices (K, 3) and weights (K, 3).

        The triangle is searched among those around the query's nearest vertices (on a near-uniform lattice
        the one it passes through is always there); weights are non-negative and sum to 1.
        """
        unit = directions / np.linalg.norm(directions, axis=1, keepdims=True)
        _, near = self._tree.query(unit, k=_NEAR_VERTICES)
        candidates = self._around[near].reshape(len(unit), -1)  # (K, n)
        weights = np.einsum("knij,kj->kni", self._inverse[candidates], unit)
        best = np.argmax(weights.min(axis=2), axis=1)
        rows = np.arange(len(unit))
        w = np.clip(weights[rows, best], 0.0, None)
        w /= w.sum(axis=1, keepdims=True)
        return self._triangles[candidates[rows, best]], w

    def ear_delays(self, directions: np.ndarray) -> np.ndarray:
        """Each ear's delay (K, 2) in samples relative to the head centre, for head-frame ``directions`` (K, 3)."""
        index, w = self.corners(np.asarray(directions, dtype=float))
        return np.einsum("kj,kje->ke", w, self.delays[index])

    def kernel_spectra(self, directions: np.ndarray, n_fft: int, lead: float) -> np.ndarray:
        """Each direction's HRTF pair as spectra (K, 2, n_fft // 2 + 1), complex64, on the rfft grid of ``n_fft``.

        The sound that reaches the head centre at time 0 sits at sample ``lead`` of the kernel: ``lead`` must
        exceed ``-delays.min()`` (the earliest ear) and ``lead + delays.max() + filter_taps`` must fit ``n_fft``.
        """
        index, w = self.corners(np.asarray(directions, dtype=float))
        k, bins = len(index), n_fft // 2 + 1
        # Mixing the corners is a (1 × 3) @ (3 × everything) product per query, on the spectra as float32 pairs.
        spectra = self._filter_spectra(n_fft).reshape(len(self.directions), -1).view(np.float32)
        mixed = np.matmul(w.astype(np.float32)[:, None, :], spectra[index]).view(np.complex64).reshape(k, 2, bins)
        delay = (lead + np.einsum("kj,kje->ke", w, self.delays[index])).astype(np.float32)
        phase = delay[..., None] * ((-2.0 * np.pi / n_fft) * np.arange(bins, dtype=np.float32))
        ramp = np.empty(phase.shape, dtype=np.complex64)
        ramp.real = np.cos(phase)
        ramp.imag = np.sin(phase)
        mixed *= ramp
        return mixed

    def _filter_spectra(self, n_fft: int) -> np.ndarray:
        """The filters' spectra on the rfft grid of ``n_fft`` (M, 2, F), complex64, kept for the latest size."""
        if self._spectra is None or self._spectra[0] != n_fft:
            import scipy.fft  # a stream's process has SciPy already; numpy's float32 transform is slower

            self._spectra = (n_fft, scipy.fft.rfft(self._filters, n_fft, axis=-1))  # float32 in: complex64 out
        return self._spectra[1]


def head_table(hrtf: HRTF) -> HeadTable:
    """The :class:`HeadTable` of ``hrtf``, made on first use and kept while the head lives."""
    return hrtf.kept("head_table", lambda: HeadTable(hrtf))
