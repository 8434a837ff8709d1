"""Point sets on the sphere that integrate polynomials exactly (spherical designs and quadratures).

A weighted point set ``(u_q, w_q)`` integrates a polynomial ``f`` of degree ≤ t exactly when
``Σ_q w_q f(u_q)`` equals the mean of ``f`` over the sphere. Equal weights make it a
spherical t-design. They are used to check spherical-harmonic orthonormality (products of
order-N harmonics have degree 2N) and as virtual loudspeakers for ambisonic decoding.

Available here, all constructed (nothing is downloaded):

* the octahedron, a 3-design (6 points);
* the icosahedron, a 5-design (12 points);
* the Gauss–Legendre × uniform-azimuth product quadrature, exact to any degree t with
  ``ceil((t + 1) / 2)`` rings of ``t + 1`` points (non-uniform weights).
"""

from __future__ import annotations

import math

import numpy as np

from soundstage.errors import ParameterError


def octahedron() -> np.ndarray:
    """The 6 vertices of the regular octahedron (a spherical 3-design), shape (6, 3).

    Examples
    --------
    >>> octahedron().shape
    (6, 3)
    """
    eye = np.eye(3)
    return np.concatenate([eye, -eye])


def icosahedron() -> np.ndarray:
    """The 12 vertices of the regular icosahedron (a spherical 5-design), unit vectors, shape (12, 3).

    The vertices are the cyclic permutations of ``(0, ±1, ±φ)`` with the golden ratio ``φ``.
    """
    phi = (1.0 + math.sqrt(5.0)) / 2.0
    points = []
    for a in (-1.0, 1.0):
        for b in (-phi, phi):
            points.extend([(0.0, a, b), (a, b, 0.0), (b, 0.0, a)])
    points = np.array(points)
    return points / np.linalg.norm(points, axis=1, keepdims=True)


def gauss_product_quadrature(degree: int) -> tuple[np.ndarray, np.ndarray]:
    """A product quadrature exact for all spherical polynomials of degree ≤ ``degree``.

    Gauss–Legendre nodes in ``z = sin(elevation)`` (exact for polynomials in z up to degree
    ``2 n - 1`` with ``n`` rings) times ``degree + 1`` equally spaced azimuths per ring (exact
    for trigonometric polynomials of degree ≤ ``degree``).

    Parameters
    ----------
    degree : int
        Polynomial degree t ≥ 0 to integrate exactly.

    Returns
    -------
    points : np.ndarray, shape (Q, 3)
        Unit vectors, ``Q = ceil((t + 1) / 2) * (t + 1)``.
    weights : np.ndarray, shape (Q,)
        Positive weights summing to 1.

    Examples
    --------
    >>> points, weights = gauss_product_quadrature(6)
    >>> points.shape, float(weights.sum().round(12))
    ((28, 3), 1.0)
    """
    if not (isinstance(degree, int | np.integer) and degree >= 0):
        raise ParameterError(f"quadrature degree must be a non-negative integer, got {degree!r}")
    n_rings = max(math.ceil((degree + 1) / 2), 1)
    n_azimuths = degree + 1
    z, z_weights = np.polynomial.legendre.leggauss(n_rings)
    # Offset alternate rings by half a step: same exactness, points spread more evenly.
    azimuth = 2.0 * np.pi * (np.arange(n_azimuths)[None, :] + 0.5 * (np.arange(n_rings)[:, None] % 2)) / n_azimuths
    ring = np.sqrt(1.0 - z * z)[:, None]
    points = np.stack(
        [ring * np.cos(azimuth), ring * np.sin(azimuth), np.broadcast_to(z[:, None], azimuth.shape)], axis=-1
    ).reshape(-1, 3)
    weights = np.repeat(z_weights / 2.0 / n_azimuths, n_azimuths)
    return points, weights


def spherical_quadrature(degree: int) -> tuple[np.ndarray, np.ndarray]:
    """The smallest point set here that integrates degree ``degree`` exactly.

    Parameters
    ----------
    degree : int
        Polynomial degree t ≥ 0.

    Returns
    -------
    points : np.ndarray, shape (Q, 3)
        Unit vectors: the octahedron for t ≤ 3, the icosahedron for t ≤ 5, else the product
        quadrature of :func:`gauss_product_quadrature`.
    weights : np.ndarray, shape (Q,)
        Weights summing to 1 (equal for the two designs).

    Examples
    --------
    >>> [len(spherical_quadrature(t)[0]) for t in (2, 4, 6)]
    [6, 12, 28]
    """
    if not (isinstance(degree, int | np.integer) and degree >= 0):
        raise ParameterError(f"quadrature degree must be a non-negative integer, got {degree!r}")
    if degree <= 3:
        points = octahedron()
    elif degree <= 5:
        points = icosahedron()
    else:
        return gauss_product_quadrature(degree)
    return points, np.full(len(points), 1.0 / len(points))
