"""Near-uniform directions on the sphere: the Fibonacci lattice every direction grid of the renderer uses
(the head's direction cells, the ray tracer's rays and arrival cells)."""

from __future__ import annotations

import math

import numpy as np


def fibonacci_directions(count: int) -> np.ndarray:
    """``count`` unit vectors spread evenly over the sphere (a Fibonacci lattice), shape (count, 3).

    Point ``k`` sits at height ``z = 1 − 2 (k + ½) / count`` (equal areas between heights) and turns by the golden
    angle from the one before, so no two points crowd and the lattice covers the sphere evenly at any count.

    Examples
    --------
    >>> d = fibonacci_directions(32)
    >>> d.shape, bool(np.allclose(np.linalg.norm(d, axis=1), 1.0)), bool(abs(d.mean(axis=0)).max() < 0.05)
    ((32, 3), True, True)
    """
    k = np.arange(count) + 0.5
    z = 1.0 - 2.0 * k / count
    azimuth = math.pi * (1.0 + math.sqrt(5.0)) * k
    radius = np.sqrt(1.0 - z**2)
    return np.stack([radius * np.cos(azimuth), radius * np.sin(azimuth), z], axis=1)
