"""Real spherical harmonics in ACN order (AmbiX), SN3D or N3D normalised, and FuMa first order.

For degree ``l`` and order ``m`` (``-l ≤ m ≤ l``, ACN ``l (l + 1) + m``)

.. math::

    Y_l^m(\\varphi, \\vartheta) = N_l^{|m|} \\, P_l^{|m|}(\\sin\\vartheta)
        \\begin{cases} \\cos(m \\varphi) & m \\ge 0 \\\\ \\sin(|m| \\varphi) & m < 0 \\end{cases}

with azimuth ``φ`` (positive to the left), elevation ``ϑ``, the associated Legendre
functions ``P_l^m`` *without* the Condon–Shortley phase (AmbiX has none) and
``N_l^m = sqrt((2 - δ_m0) (l - m)! / (l + m)!)`` (SN3D; N3D multiplies by ``sqrt(2 l + 1)``).
The products ``N P`` are computed directly with the Schmidt semi-normalised recurrence, so
no factorial overflows at any order.

FuMa (Furse–Malham) is supported for first order only: channels W, X, Y, Z with W scaled
by 1/√2 (-3 dB) and X, Y, Z equal to SN3D's.
"""

from __future__ import annotations

import numpy as np

from soundstage.errors import ParameterError

#: Normalisations accepted by :func:`real_spherical_harmonics`.
NORMALIZATIONS = ("sn3d", "n3d")
#: FuMa channel order expressed as ACN indices: W, X, Y, Z = ACN 0, 3, 1, 2.
FUMA_TO_ACN = np.array([0, 3, 1, 2])
#: FuMa's W gain relative to SN3D's.
FUMA_W_GAIN = 1.0 / np.sqrt(2.0)


def acn_degrees(order: int) -> np.ndarray:
    """Degree ``l`` of every ACN channel up to ``order``, shape ((order + 1)²,).

    Examples
    --------
    >>> acn_degrees(2)
    array([0, 1, 1, 1, 2, 2, 2, 2, 2])
    """
    return np.concatenate([np.full(2 * degree + 1, degree) for degree in range(order + 1)])


def schmidt_legendre(order: int, x: np.ndarray) -> np.ndarray:
    """Schmidt semi-normalised associated Legendre functions without Condon–Shortley phase.

    Parameters
    ----------
    order : int
        Highest degree N.
    x : np.ndarray, shape (...)
        Arguments in [-1, 1] (``sin(elevation)`` for spherical harmonics).

    Returns
    -------
    np.ndarray, shape (..., N + 1, N + 1)
        ``out[..., l, m] = sqrt((l - m)! / (l + m)!) P_l^m(x)`` for ``m ≤ l``, 0 above the diagonal.

    Examples
    --------
    >>> p = schmidt_legendre(2, np.array(0.5))
    >>> bool(np.isclose(p[2, 0], (3 * 0.25 - 1) / 2))   # P_2(x) = (3x² - 1) / 2
    True
    """
    x = np.asarray(x, dtype=float)
    s = np.sqrt(np.clip(1.0 - x * x, 0.0, None))
    out = np.zeros((*x.shape, order + 1, order + 1))
    out[..., 0, 0] = 1.0
    for m in range(order + 1):
        if m > 0:
            out[..., m, m] = np.sqrt((2 * m - 1) / (2 * m)) * s * out[..., m - 1, m - 1]
        if m + 1 <= order:
            out[..., m + 1, m] = np.sqrt(2 * m + 1) * x * out[..., m, m]
        for degree in range(m + 2, order + 1):
            out[..., degree, m] = (
                (2 * degree - 1) * x * out[..., degree - 1, m]
                - np.sqrt((degree - 1) ** 2 - m * m) * out[..., degree - 2, m]
            ) / np.sqrt(degree * degree - m * m)
    return out


def real_spherical_harmonics(
    order: int,
    azimuth_rad: np.ndarray | float,
    elevation_rad: np.ndarray | float,
    normalization: str = "sn3d",
) -> np.ndarray:
    """Real spherical harmonics up to ``order`` in ACN channel order.

    Parameters
    ----------
    order : int
        Ambisonic order N ≥ 0.
    azimuth_rad : float or np.ndarray, shape (...)
        Azimuth in radians, counter-clockwise from the front (+π/2 = left).
    elevation_rad : float or np.ndarray, shape (...)
        Elevation in radians above the horizontal plane.
    normalization : {"sn3d", "n3d"}, default "sn3d"
        SN3D (AmbiX; every degree has peak value 1) or N3D (orthonormal to 4π).

    Returns
    -------
    np.ndarray, shape (..., (N + 1)²)
        Channel ``acn = l (l + 1) + m`` holds ``Y_l^m``.

    Raises
    ------
    ParameterError
        For a negative order or an unknown normalisation.

    Examples
    --------
    >>> y = real_spherical_harmonics(1, np.pi / 2, 0.0)   # a source on the left
    >>> y.round(12)   # W, Y, Z, X
    array([1., 1., 0., 0.])
    """
    if not (isinstance(order, int | np.integer) and order >= 0):
        raise ParameterError(f"ambisonic order must be a non-negative integer, got {order!r}")
    if normalization not in NORMALIZATIONS:
        raise ParameterError(f"normalization must be one of {', '.join(NORMALIZATIONS)}, got {normalization!r}")
    azimuth, elevation = np.broadcast_arrays(
        np.asarray(azimuth_rad, dtype=float), np.asarray(elevation_rad, dtype=float)
    )
    legendre = schmidt_legendre(order, np.sin(elevation))
    out = np.empty((*azimuth.shape, (order + 1) ** 2))
    for degree in range(order + 1):
        scale = np.sqrt(2 * degree + 1) if normalization == "n3d" else 1.0
        centre = degree * (degree + 1)
        out[..., centre] = scale * legendre[..., degree, 0]
        for m in range(1, degree + 1):
            # sqrt(2) is the (2 - δ_m0) factor of the real (cos/sin) harmonics.
            radial = scale * np.sqrt(2.0) * legendre[..., degree, m]
            out[..., centre + m] = radial * np.cos(m * azimuth)
            out[..., centre - m] = radial * np.sin(m * azimuth)
    return out


def direction_harmonics(order: int, directions: np.ndarray, normalization: str = "sn3d") -> np.ndarray:
    """Real spherical harmonics of direction vectors, shape (K, (N + 1)²).

    Parameters
    ----------
    order : int
        Ambisonic order N.
    directions : np.ndarray, shape (K, 3)
        Vectors (x forward, y left, z up) towards the sources; need not be unit length.
    normalization : {"sn3d", "n3d"}
        See :func:`real_spherical_harmonics`.
    """
    directions = np.asarray(directions, dtype=float)
    azimuth = np.arctan2(directions[..., 1], directions[..., 0])
    elevation = np.arctan2(directions[..., 2], np.hypot(directions[..., 0], directions[..., 1]))
    return real_spherical_harmonics(order, azimuth, elevation, normalization)


def ambix_to_fuma(signals: np.ndarray) -> np.ndarray:
    """First-order AmbiX (ACN/SN3D: W Y Z X) to FuMa (W X Y Z, W at -3 dB).

    Parameters
    ----------
    signals : np.ndarray, shape (4, ...)
        AmbiX channels first.

    Returns
    -------
    np.ndarray, shape (4, ...)

    Raises
    ------
    ParameterError
        If there are not exactly 4 channels (FuMa is supported for first order only).
    """
    signals = np.asarray(signals)
    _check_first_order(signals)
    out = signals[FUMA_TO_ACN].astype(np.result_type(signals, float), copy=True)
    out[0] *= FUMA_W_GAIN
    return out


def fuma_to_ambix(signals: np.ndarray) -> np.ndarray:
    """First-order FuMa (W X Y Z, W at -3 dB) to AmbiX (ACN/SN3D: W Y Z X).

    Parameters
    ----------
    signals : np.ndarray, shape (4, ...)
        FuMa channels first.

    Returns
    -------
    np.ndarray, shape (4, ...)

    Raises
    ------
    ParameterError
        If there are not exactly 4 channels.
    """
    signals = np.asarray(signals)
    _check_first_order(signals)
    out = np.empty(signals.shape, dtype=np.result_type(signals, float))
    out[FUMA_TO_ACN] = signals
    out[0] /= FUMA_W_GAIN
    return out


def _check_first_order(signals: np.ndarray) -> None:
    if signals.ndim < 1 or signals.shape[0] != 4:
        raise ParameterError(
            f"FuMa is supported for first order only (4 channels), got {signals.shape[0] if signals.ndim else 0} "
            "channels; use the ambix convention for higher orders"
        )
