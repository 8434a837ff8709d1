"""The rigid-sphere head: an analytic HRTF after Duda & Martens (1998).

The head is a rigid sphere of radius ``a`` with the ears as points on its surface. For a
point source at distance ``r`` from the centre, the pressure at a surface point at angle
``θ`` from the source direction, divided by the free-field pressure at the centre of the
(absent) head, is (Duda & Martens, JASA 104(5), eq. 5, written for numpy's ``e^{+iωt}``)

.. math::

    H(\\rho, \\mu, \\theta) = -\\frac{\\rho}{\\mu} e^{i\\mu\\rho}
        \\sum_{m=0}^{\\infty} (2m + 1) P_m(\\cos\\theta) \\frac{h_m(\\mu\\rho)}{h_m'(\\mu)},

with ``ρ = r / a``, ``μ = k a`` and ``h_m = j_m - i y_m`` the spherical Hankel function of
the *second* kind: with ``e^{+iωt}`` the outgoing wave is ``e^{-ikr}``, and the first kind
would time-reverse the response (and flip the sign of every ITD). For far sources
(``ρ > FAR_FIELD_RHO``) the plane-wave limit ``h_m(x) → i^{m+1} e^{-ix} / x`` is used.

The series is summed with ratio recurrences rather than with ``j_m`` and ``y_m``
themselves, which overflow for ``m ≫ μ`` long before the terms stop mattering:
``R_m(x) = h_m(x) / h_{m-1}(x)`` obeys ``R_m = (2m - 1) / x - 1 / R_{m-1}`` (``R_0 = i``),
and ``h_m'(x) = h_m(x) (1 / R_m(x) - (m + 1) / x)``.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict

import numpy as np

from soundstage.acoustics.hrtf.base import HRTF
from soundstage.conventions import DEFAULT_HEAD_RADIUS, SPEED_OF_SOUND, unit_vectors
from soundstage.errors import ParameterError

#: Sources farther than this many head radii use the plane-wave limit. The point-source
#: correction there is at most 0.45 dB (it shrinks like 1 / ρ), so crossing it is inaudible.
FAR_FIELD_RHO = 50.0
#: Sources closer than this many head radii are placed at it: the series converges like
#: ``ρ^-m`` and a source touching the head is not a physical configuration anyway.
MIN_RHO = 1.25
#: The series stops once every coefficient is below this (|P_m| ≤ 1, |H| is O(1)).
SERIES_TOLERANCE = 1e-9
#: Hard cap on the number of series terms.
MAX_TERMS = 400
#: Fraction of the band (below Nyquist) over which the response is faded to zero, so the
#: Nyquist bin is real and the IR does not ring with the full-band sphere response.
NYQUIST_TAPER = 0.1
#: Samples of margin before the earliest possible ear arrival (keeps the band-limited onset causal).
ONSET_MARGIN = 24
#: Distances processed together when the source is in the near field (bounds memory).
_NEAR_CHUNK = 32
#: Near-field distances whose series coefficients a head keeps (about 0.5 MB each at 48 kHz).
_NEAR_CACHE_SIZE = 64


def sphere_coefficients(mu: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """Series coefficients ``c_m(μ, ρ)`` with ``H = Σ_m c_m P_m(cos θ)``.

    Parameters
    ----------
    mu : np.ndarray, shape (F,)
        Normalised frequencies ``k a``, all > 0.
    rho : np.ndarray, shape (U,)
        Normalised source distances ``r / a`` (> 1); ``inf`` selects the plane-wave limit.

    Returns
    -------
    np.ndarray, shape (U, M, F), complex
        Coefficients for ``m = 0 .. M - 1``, where ``M`` is the number of terms needed for
        ``SERIES_TOLERANCE`` (capped at ``MAX_TERMS``).

    Examples
    --------
    >>> c = sphere_coefficients(np.array([1e-4]), np.array([np.inf]))
    >>> h_facing = c[0, :, 0].sum()     # cos θ = 1: the ear facing the source
    >>> bool(abs(abs(h_facing) - 1.0) < 1e-6)   # no head at DC: |H| -> 1
    True
    >>> round(float(np.angle(h_facing)) / 1e-4, 3)   # leads by 1.5 a / c at low frequency (Kuhn 1977)
    1.5
    """
    mu = np.asarray(mu, dtype=float)[None, :]
    rho = np.asarray(rho, dtype=float)[:, None]
    far = np.isinf(rho)
    x = np.where(far, 1.0, rho) * mu  # argument of the source-side Hankel function (unused when far)
    r_mu = np.full(mu.shape, 1j, dtype=complex)
    r_x = np.full(np.broadcast_shapes(x.shape, mu.shape), 1j, dtype=complex)
    # G_m = S_m / h_m(μ): the source factor (prefactor × h_m(μρ)) over the Hankel function at the surface.
    g = np.broadcast_to(-np.exp(1j * mu) / mu, r_x.shape).astype(complex)
    coefficients = []
    mu_max = float(mu.max())
    for m in range(MAX_TERMS):
        if m > 0:
            r_mu = (2 * m - 1) / mu - 1.0 / r_mu
            # Far field: R_m(∞) stays i (h_m ~ i^{m+1} e^{-ix} / x).
            r_x = np.where(far, 1j, (2 * m - 1) / x - 1.0 / r_x)
            g = g * r_x / r_mu
        c = (2 * m + 1) * g / (1.0 / r_mu - (m + 1) / mu)
        coefficients.append(c)
        if m > mu_max and np.max(np.abs(c)) < SERIES_TOLERANCE:
            break
    return np.stack(coefficients, axis=1)


def legendre_series(cos_theta: np.ndarray, n_terms: int) -> np.ndarray:
    """Legendre polynomials ``P_0 .. P_{n_terms-1}`` at ``cos_theta``, shape (..., n_terms)."""
    x = np.asarray(cos_theta, dtype=float)
    out = np.empty((*x.shape, n_terms))
    out[..., 0] = 1.0
    if n_terms > 1:
        out[..., 1] = x
    for m in range(1, n_terms - 1):
        out[..., m + 1] = ((2 * m + 1) * x * out[..., m] - m * out[..., m - 1]) / (m + 1)
    return out


class SphereHRTF(HRTF):
    """Rigid-sphere head (Duda & Martens 1998) with point-source near field.

    Parameters
    ----------
    sample_rate : int
        Sample rate of the HRIRs in Hz.
    head_radius : float, default 0.0875
        Sphere radius in metres (0.05 to 0.15).
    ear_azimuth_deg : float, default 90.0
        Azimuth of the left ear (the right ear is at minus this). 100° gives the slightly
        rearward placement of Brown & Duda (1998).
    ear_elevation_deg : float, default 0.0
        Elevation of both ears in degrees.
    n_taps : int, default 512
        HRIR length in samples.
    speed_of_sound : float, default 343.0
        In m/s.

    Attributes
    ----------
    latency_s : float
        Bulk delay in every HRIR, in seconds: sound reaching the head centre appears at this
        time. It exceeds ``head_radius / speed_of_sound`` so that the ear nearer the source,
        which hears it up to that much *earlier* than the centre, is still causal.

    Notes
    -----
    Each HRIR is the response on an rfft grid of ``2 * n_taps`` points, normalised to the
    free-field pressure at the head centre (so ``|H| → 1`` at DC), delayed by ``latency_s``,
    faded out over the top ``NYQUIST_TAPER`` of the band, transformed and cut to ``n_taps``
    with a half-Hann fade over its last eighth. Distances below ``MIN_RHO`` head radii are
    treated as that distance; beyond ``FAR_FIELD_RHO`` radii (and ``inf``) the plane-wave
    limit is used.

    Examples
    --------
    >>> head = SphereHRTF(48000)
    >>> h = head.hrirs(np.array([[0.0, 1.0, 0.0]]), np.array([2.0]))   # source on the left
    >>> h.shape
    (1, 2, 512)
    >>> bool(np.abs(h[0, 0]).max() > np.abs(h[0, 1]).max())            # left ear louder
    True
    """

    def __init__(
        self,
        sample_rate: int,
        *,
        head_radius: float = DEFAULT_HEAD_RADIUS,
        ear_azimuth_deg: float = 90.0,
        ear_elevation_deg: float = 0.0,
        n_taps: int = 512,
        speed_of_sound: float = SPEED_OF_SOUND,
    ) -> None:
        if not (isinstance(sample_rate, int | np.integer) and 1000 <= sample_rate <= 768_000):
            raise ParameterError(f"sample_rate must be an integer in 1000..768000 Hz, got {sample_rate!r}")
        if not (np.isfinite(head_radius) and 0.05 <= head_radius <= 0.15):
            raise ParameterError(f"head_radius must be between 0.05 and 0.15 m, got {head_radius!r}")
        if not (np.isfinite(ear_azimuth_deg) and 45.0 <= ear_azimuth_deg <= 135.0):
            raise ParameterError(f"ear_azimuth_deg must be between 45 and 135 degrees, got {ear_azimuth_deg!r}")
        if not (np.isfinite(ear_elevation_deg) and -45.0 <= ear_elevation_deg <= 45.0):
            raise ParameterError(f"ear_elevation_deg must be between -45 and 45 degrees, got {ear_elevation_deg!r}")
        if not (np.isfinite(speed_of_sound) and 100.0 < speed_of_sound < 2000.0):
            raise ParameterError(f"speed_of_sound must be between 100 and 2000 m/s, got {speed_of_sound!r}")
        self.name = "sphere"
        self.sample_rate = int(sample_rate)
        self.head_radius = float(head_radius)
        self.ear_azimuth_deg = float(ear_azimuth_deg)
        self.ear_elevation_deg = float(ear_elevation_deg)
        self.speed_of_sound = float(speed_of_sound)
        latency_samples = math.ceil(self.head_radius / self.speed_of_sound * self.sample_rate) + ONSET_MARGIN
        if not (isinstance(n_taps, int | np.integer) and n_taps >= 4 * latency_samples):
            raise ParameterError(
                f"n_taps must be an integer of at least {4 * latency_samples} at {sample_rate} Hz, got {n_taps!r}"
            )
        self._n_taps = int(n_taps)
        self._latency_samples = latency_samples
        self.latency_s = latency_samples / self.sample_rate
        self._ears = unit_vectors(
            np.array([self.ear_azimuth_deg, -self.ear_azimuth_deg]), np.full(2, self.ear_elevation_deg)
        )
        n_fft = 2 * self._n_taps
        self._n_fft = n_fft
        freqs = np.fft.rfftfreq(n_fft, 1.0 / self.sample_rate)
        self._mu = 2.0 * np.pi * freqs[1:] * self.head_radius / self.speed_of_sound
        self._far_coefficients = sphere_coefficients(self._mu, np.array([np.inf]))[0]
        # Bulk delay (causality) and the Nyquist fade, applied to every response.
        taper = np.ones_like(freqs)
        start = (1.0 - NYQUIST_TAPER) * freqs[-1]
        top = freqs > start
        taper[top] = 0.5 * (1.0 + np.cos(np.pi * (freqs[top] - start) / (freqs[-1] - start)))
        self._spectral_shape = taper * np.exp(-2j * np.pi * freqs * latency_samples / self.sample_rate)
        self.cache_key = (
            f"sphere-{self.sample_rate}-{self.head_radius!r}-{self.ear_azimuth_deg!r}-{self.ear_elevation_deg!r}-"
            f"{self._n_taps}-{self.speed_of_sound!r}"
        )
        self._near_cache: OrderedDict[float, np.ndarray] = OrderedDict()
        self._near_lock = threading.Lock()  # sources rendered in threads share the head
        fade = self._n_taps // 8
        self._window = np.ones(self._n_taps)
        self._window[-fade:] = 0.5 * (1.0 + np.cos(np.pi * (np.arange(fade) + 1) / fade))

    @property
    def n_taps(self) -> int:
        """Length of every HRIR in samples."""
        return self._n_taps

    def transfer_functions(self, directions: np.ndarray, distances: np.ndarray) -> np.ndarray:
        """Complex ear responses normalised to the free field at the head centre, no bulk delay.

        Parameters
        ----------
        directions : np.ndarray, shape (K, 3)
            Vectors from the head centre towards the sources (normalised here).
        distances : np.ndarray, shape (K,)
            Source distances in metres (``inf`` for plane waves).

        Returns
        -------
        np.ndarray, shape (K, 2, n_taps + 1), complex
            ``H`` on the bins of ``np.fft.rfftfreq(2 * n_taps, 1 / sample_rate)``, left ear first.
        """
        directions = np.asarray(directions, dtype=float)
        distances = np.asarray(distances, dtype=float)
        k = directions.shape[0] if directions.ndim == 2 else -1
        if directions.shape != (k, 3) or distances.shape != (k,):
            raise ParameterError(
                f"directions must have shape (K, 3) and distances (K,), got {directions.shape} and {distances.shape}"
            )
        norms = np.linalg.norm(directions, axis=1)
        if not (np.all(np.isfinite(directions)) and np.all(norms > 0)):
            raise ParameterError("directions must be finite, non-zero vectors")
        if np.any(np.isnan(distances)) or np.any(distances <= 0):
            raise ParameterError("distances must be positive (inf for a plane wave)")
        cos_theta = np.clip((directions / norms[:, None]) @ self._ears.T, -1.0, 1.0)  # (K, 2)
        rho = np.maximum(distances / self.head_radius, MIN_RHO)
        rho = np.where(rho > FAR_FIELD_RHO, np.inf, rho)
        out = np.empty((k, 2, len(self._mu) + 1), dtype=complex)
        out[..., 0] = 1.0  # DC: the head is invisible at infinite wavelength
        far = np.isinf(rho)
        if np.any(far):
            coeffs = self._far_coefficients
            out[far, :, 1:] = legendre_series(cos_theta[far], coeffs.shape[0]) @ coeffs
        near_rho, inverse = np.unique(rho[~far], return_inverse=True)
        near_index = np.flatnonzero(~far)
        for chunk in range(0, len(near_rho), _NEAR_CHUNK):
            for offset, coeffs in enumerate(self._near_coefficients(near_rho[chunk : chunk + _NEAR_CHUNK])):
                rows = near_index[inverse.ravel() == chunk + offset]
                out[rows, :, 1:] = legendre_series(cos_theta[rows], coeffs.shape[0]) @ coeffs
        return out

    def _near_coefficients(self, rho: np.ndarray) -> list[np.ndarray]:
        """Series coefficients (M, F) at each normalised distance, the recent ones kept for reuse.

        A moving source asks for the same few distances block after block (the block engine rounds
        them to 5 % steps); the series costs milliseconds per distance, a lookup nothing.
        """
        with self._near_lock:
            missing = [float(r) for r in rho if float(r) not in self._near_cache]
            if missing:
                fresh = sphere_coefficients(self._mu, np.array(missing))
                for r, coeffs in zip(missing, fresh, strict=True):
                    self._near_cache[r] = coeffs
            found = []
            for r in rho:
                self._near_cache.move_to_end(float(r))
                found.append(self._near_cache[float(r)])
            while len(self._near_cache) > _NEAR_CACHE_SIZE:
                self._near_cache.popitem(last=False)
            return found

    def hrirs(self, directions: np.ndarray, distances: np.ndarray) -> np.ndarray:
        """HRIRs for a batch of directions, shape (K, 2, n_taps), left ear first.

        See :meth:`HRTF.hrirs`. Sound reaching the head centre appears at ``latency_s``.
        """
        spectra = self.transfer_functions(directions, distances) * self._spectral_shape
        return np.fft.irfft(spectra, n=self._n_fft, axis=-1)[..., : self._n_taps] * self._window
