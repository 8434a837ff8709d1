"""Ambisonic encoding: each arrival as a plane wave in AmbiX (ACN/SN3D) or first-order FuMa.

A plane wave from direction ``u`` with signal ``s(t)`` has the ambisonic signals
``b_acn(t) = Y_acn(u) s(t)``; an arrival's impulse response in channel ``acn`` is therefore
its delayed (and band-filtered) impulse weighted by the spherical harmonic of its direction.
Arrivals are treated as plane waves: no near-field (distance) compensation is applied.
"""

from __future__ import annotations

import numpy as np

from soundstage.acoustics.encoders import check_sample_rate
from soundstage.acoustics.encoders.base import PanningEncoder
from soundstage.acoustics.encoders.diffuse_field import check_band_centers
from soundstage.acoustics.encoders.spherical_harmonics import (
    FUMA_TO_ACN,
    FUMA_W_GAIN,
    direction_harmonics,
    real_spherical_harmonics,
)
from soundstage.acoustics.encoders.tdesign import spherical_quadrature
from soundstage.errors import ParameterError

__all__ = ["CONVENTIONS", "AmbisonicEncoder", "real_spherical_harmonics"]

#: Channel conventions: AmbiX (ACN order, SN3D) for any order, FuMa for first order only.
CONVENTIONS = ("ambix", "fuma")


class AmbisonicEncoder(PanningEncoder):
    """Encode arrivals as plane waves into ambisonics of order N.

    Parameters
    ----------
    sample_rate : int
        Output sample rate in Hz.
    order : int
        Ambisonic order N ≥ 1; the output has (N + 1)² channels.
    convention : {"ambix", "fuma"}, default "ambix"
        ``ambix``: ACN channel order, SN3D normalisation, labels ``ACN0`` …;
        ``fuma``: first order only, channels W X Y Z with W at -3 dB.

    Raises
    ------
    ParameterError
        For an order below 1, an unknown convention or FuMa above first order.

    Examples
    --------
    >>> from soundstage.acoustics.arrivals import Arrivals
    >>> enc = AmbisonicEncoder(48000, 1)
    >>> left = Arrivals(np.array([0.0]), np.array([1.0]), np.array([[0.0, 1.0, 0.0]]), np.array([1.0]))
    >>> ir = enc.impulse_response(left)
    >>> enc.channel_labels, ir.sum(axis=1).round(6)   # W = Y = 1 for a source on the left
    (('ACN0', 'ACN1', 'ACN2', 'ACN3'), array([1., 1., 0., 0.]))
    """

    def __init__(self, sample_rate: int, order: int, *, convention: str = "ambix") -> None:
        self.sample_rate = check_sample_rate(sample_rate)
        if not (isinstance(order, int | np.integer) and not isinstance(order, bool) and order >= 1):
            raise ParameterError(f"ambisonic order must be an integer of at least 1, got {order!r}")
        if convention not in CONVENTIONS:
            raise ParameterError(f"ambisonic convention must be 'ambix' or 'fuma', got {convention!r}")
        if convention == "fuma" and order != 1:
            raise ParameterError(
                f"the fuma convention exists for first order only, got order {order}; use ambix for higher orders"
            )
        self.order = int(order)
        self.convention = convention
        self.name = "foa" if order == 1 else f"hoa{order}"
        if convention == "fuma":
            self.channel_labels = ("W", "X", "Y", "Z")
        else:
            self.channel_labels = tuple(f"ACN{i}" for i in range((order + 1) ** 2))
        self.channel_mask = 0

    def channel_gains(self, directions: np.ndarray) -> np.ndarray:
        """Encoding gains of plane waves from ``directions`` (K, 3), shape (K, n_channels)."""
        gains = direction_harmonics(self.order, directions, "sn3d")
        if self.convention == "fuma":
            gains = gains[:, FUMA_TO_ACN]
            gains[:, 0] *= FUMA_W_GAIN
        return gains

    def diffuse_covariance(self, band_centers_hz: np.ndarray) -> np.ndarray:
        """Covariance of the ambisonic channels in an isotropic diffuse field, shape (B, C, C).

        The sphere mean of ``g(d) g(d)ᵀ`` with the encoding gains ``g``, computed with a
        quadrature of degree 2N, which is exact for products of order-N harmonics. Real
        spherical harmonics are orthogonal, so the matrix is diagonal: ``1 / (2l + 1)`` for the
        SN3D channels of degree ``l`` (N3D would give 1), and ``1 / 2`` for FuMa's W at -3 dB.
        It is the same in every band (plane-wave encoding has no frequency dependence).

        Parameters
        ----------
        band_centers_hz : np.ndarray, shape (B,)
            Positive, increasing band centre frequencies in Hz.

        Examples
        --------
        >>> AmbisonicEncoder(48000, 1).diffuse_covariance(np.array([1000.0]))[0].diagonal().round(6)
        array([1.      , 0.333333, 0.333333, 0.333333])
        """
        centers = check_band_centers(band_centers_hz, self.sample_rate)
        points, weights = spherical_quadrature(2 * self.order)
        gains = self.channel_gains(points)
        covariance = np.einsum("q,qc,qd->cd", weights, gains, gains)
        return np.repeat(covariance[None], len(centers), axis=0)
