"""HRIRs on a fixed grid of direction cells, computed once per head and reused.

A room gives each source hundreds to thousands of reflections, and interpolating a measured
HRTF for each one (triangle search, minimum-phase mix, fractional onset delays) costs about
half a millisecond per direction. Reflections after the first few are not heard one by one, so
they take the HRIR of the nearest *cell* of a near-uniform spherical grid (a Fibonacci lattice
of :data:`N_CELLS` points, about 3.2° apart, so no direction is more than 2.5° from its
cell's centre — finer than the measured grids themselves and than localisation blur). A head
that can be kept on disk (it has a ``cache_key``: the sphere, a SOFA file) gets every cell's HRIR
pair at once, the first time on this machine, and reads them back memory-mapped after
(:func:`~soundstage.acoustics.hrtf.head_cache.cached_array`); any other head interpolates a cell
the first time an arrival falls into it and keeps it while it lives.

Cells hold the far-field response (plane waves); models whose response depends on distance
(the rigid sphere) are exact for the arrivals rendered one by one and far-field for cells.
"""

from __future__ import annotations

import threading

import numpy as np

from soundstage.acoustics.hrtf.base import HRTF
from soundstage.acoustics.sphere_points import fibonacci_directions

#: Number of direction cells on the sphere.
N_CELLS = 4096
#: Directions looked up together (bounds the memory of the dot products).
_QUERY_CHUNK = 2048



def nearest_directions(queries: np.ndarray, directions: np.ndarray) -> np.ndarray:
    """Index (K,) of the nearest of unit ``directions`` (M, 3) to each query (K, 3): the largest dot product.

    A few matrix products, no search tree (whose import would cost a render's start-up more than the products).

    >>> int(nearest_directions(np.array([[0.1, 0.0, 1.0]]), np.eye(3))[0])
    2
    """
    queries = np.asarray(queries, dtype=float)
    transposed = np.ascontiguousarray(np.asarray(directions, dtype=float).T)
    index = np.empty(len(queries), dtype=np.int64)
    for lo in range(0, len(queries), _QUERY_CHUNK):
        index[lo : lo + _QUERY_CHUNK] = np.argmax(queries[lo : lo + _QUERY_CHUNK] @ transposed, axis=1)
    return index


class DirectionCells:
    """The direction cells of one head and the HRIRs computed for them so far.

    Parameters
    ----------
    hrtf : HRTF
        The head.
    n_cells : int, default N_CELLS
        Number of cells.
    """

    def __init__(self, hrtf: HRTF, n_cells: int = N_CELLS) -> None:
        from soundstage.acoustics.hrtf.head_cache import cached_array

        self.hrtf = hrtf
        self.centres = fibonacci_directions(n_cells)
        self._lock = threading.Lock()  # renders in threads may share a head
        if hrtf.cache_key is not None:
            # A head that can be kept on disk gets every cell at once, once per machine, read back memory-mapped.
            self._hrirs = cached_array(hrtf, f"cells{n_cells}", self._every_cell, memory_map=True)
            self._known = np.ones(n_cells, dtype=bool)
        else:
            self._hrirs = np.zeros((n_cells, 2, hrtf.n_taps))
            self._known = np.zeros(n_cells, dtype=bool)

    def _every_cell(self) -> np.ndarray:
        hrirs = np.empty((len(self.centres), 2, self.hrtf.n_taps))
        for lo in range(0, len(self.centres), _QUERY_CHUNK):
            centres = self.centres[lo : lo + _QUERY_CHUNK]
            hrirs[lo : lo + _QUERY_CHUNK] = self.hrtf.hrirs(centres, np.full(len(centres), np.inf))
        return hrirs

    def cell_of(self, directions: np.ndarray) -> np.ndarray:
        """Index of the cell of each direction (K, 3), shape (K,)."""
        return nearest_directions(directions, self.centres)

    def hrirs(self, directions: np.ndarray) -> np.ndarray:
        """Far-field HRIRs of the cells of ``directions`` (K, 3), shape (K, 2, n_taps).

        Cells met for the first time are interpolated from the head in one batch.
        """
        cells = self.cell_of(directions)
        with self._lock:
            wanted = np.zeros(len(self._known), dtype=bool)
            wanted[cells] = True
            missing = np.flatnonzero(wanted & ~self._known)  # (np.unique would import numpy.ma: 8 ms)
            if len(missing):
                self._hrirs[missing] = self.hrtf.hrirs(self.centres[missing], np.full(len(missing), np.inf))
                self._known[missing] = True
            return self._hrirs[cells]


def direction_cells(hrtf: HRTF) -> DirectionCells:
    """The direction cells of ``hrtf``, created on first use and kept while the head lives."""
    return hrtf.kept("direction_cells", lambda: DirectionCells(hrtf))
