"""The first surface each ray meets in a mesh room: a compiled loop over rays and planes.

A ray tracer asks this once per reflection for every ray in flight (about 80 times per ray in a
reverberant seminar room), so it is the tracer's inner loop. Written with NumPy arrays over
(rays × planes) it spent most of its time moving those arrays through memory; compiled by Numba,
each ray stops at the nearest plane so far and tests a plane's triangles only when the hit falls
inside the plane's bounding rectangle: 14× faster on the BRAS seminar room (102 planes), the same
hits. The loop lets go of the interpreter (``nogil``), so the tracer's parts run truly side by side
on threads. Compiled on first use and kept in ``$SOUNDSTAGE_CACHE/numba`` (unless ``NUMBA_CACHE_DIR`` says
otherwise; without a writable place it compiles in every process); Numba is imported only here, when a room is
traced.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable

import numpy as np

from soundstage.cache import cache_dir

# Numba keeps compiled code beside the source by default, which fails where the package is installed read-only.
os.environ.setdefault("NUMBA_CACHE_DIR", str(cache_dir("numba")))

from numba import njit  # after the cache folder is set: Numba reads it on import

#: A ray meets a plane from the room's side only when it moves towards the plane's front faster than this
#: (cosine between the ray and the plane's inward normal): grazing rays slide along it instead.
GRAZING_COSINE = 1e-7


def _compiled(function: Callable) -> Callable:
    """``function`` compiled without the interpreter lock, its machine code kept on disk where it can be."""
    try:
        return njit(nogil=True, cache=True)(function)
    except RuntimeError:  # no writable cache folder: compile once per process instead
        return njit(nogil=True)(function)


@_compiled
def first_hits(
    origin: np.ndarray,
    direction: np.ndarray,
    normals: np.ndarray,
    offsets: np.ndarray,
    axes: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    first_triangle: np.ndarray,
    triangle_count: np.ndarray,
    edge_normals: np.ndarray,
    edge_offsets: np.ndarray,
    tolerance: float,
    edge_tolerance: float,
    distance: np.ndarray,
    plane: np.ndarray,
) -> None:
    """Write the distance to (``inf`` if none) and the plane of the first surface each ray meets.

    Parameters
    ----------
    origin, direction : np.ndarray, shape (N, 3)
        Ray starts (metres) and unit directions.
    normals : np.ndarray, shape (P, 3)
        Unit normal of each plane, pointing into the room; plane ``p`` is ``normals[p] · x = offsets[p]``.
    offsets : np.ndarray, shape (P,)
    axes : np.ndarray, shape (P, 2, 3)
        Two orthonormal vectors in each plane: its own 2-D coordinates.
    low, high : np.ndarray, shape (P, 2)
        Each plane's bounding rectangle in those coordinates (with some slack).
    first_triangle, triangle_count : np.ndarray of int, shape (P,)
        Plane ``p``'s triangles are rows ``first_triangle[p]`` … ``+ triangle_count[p]`` of the edge tables.
    edge_normals : np.ndarray, shape (T, 3, 2)
        Inward unit normal of each triangle edge in its plane's coordinates.
    edge_offsets : np.ndarray, shape (T, 3)
        A point ``q`` is inside a triangle when ``edge_normals[t, e] · q ≥ edge_offsets[t, e]`` for its 3 edges.
    tolerance : float
        Hits closer than this (metres) are the surface the ray leaves.
    edge_tolerance : float
        Slack of the inside test (metres), so that a hit on the edge between two triangles counts.
    distance : np.ndarray, shape (N,)
        Out: metres to the hit.
    plane : np.ndarray of int, shape (N,)
        Out: the plane hit (0 where none).
    """
    for i in range(origin.shape[0]):
        ox, oy, oz = origin[i, 0], origin[i, 1], origin[i, 2]
        dx, dy, dz = direction[i, 0], direction[i, 1], direction[i, 2]
        best = math.inf
        best_plane = 0
        for p in range(normals.shape[0]):
            toward = dx * normals[p, 0] + dy * normals[p, 1] + dz * normals[p, 2]
            if toward > -GRAZING_COSINE:  # parallel, or moving away from its front
                continue
            height = ox * normals[p, 0] + oy * normals[p, 1] + oz * normals[p, 2] - offsets[p]
            t = -height / toward
            if not (t > tolerance) or t >= best:  # behind, the surface it leaves, or farther than a hit found
                continue
            px, py, pz = ox + t * dx, oy + t * dy, oz + t * dz
            u = px * axes[p, 0, 0] + py * axes[p, 0, 1] + pz * axes[p, 0, 2]
            if u < low[p, 0] or u > high[p, 0]:
                continue
            v = px * axes[p, 1, 0] + py * axes[p, 1, 1] + pz * axes[p, 1, 2]
            if v < low[p, 1] or v > high[p, 1]:
                continue
            start = first_triangle[p]
            for triangle in range(start, start + triangle_count[p]):
                inside = True
                for edge in range(3):
                    margin = (
                        edge_normals[triangle, edge, 0] * u
                        + edge_normals[triangle, edge, 1] * v
                        - edge_offsets[triangle, edge]
                    )
                    if margin < -edge_tolerance:
                        inside = False
                        break
                if inside:
                    best = t
                    best_plane = p
                    break
        distance[i] = best
        plane[i] = best_plane
