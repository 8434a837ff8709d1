"""Binaural encoding: every arrival filtered by the head-related impulse responses of its direction."""

from __future__ import annotations

import hashlib

import numpy as np

from soundstage import fft
from soundstage.acoustics.arrivals import Arrivals
from soundstage.acoustics.delay import HALF_WIDTH, fractional_delay_kernels, place_kernels
from soundstage.acoustics.encoders import check_sample_rate
from soundstage.acoustics.encoders.band_filter import arrival_filters
from soundstage.acoustics.encoders.base import Encoder
from soundstage.acoustics.encoders.diffuse_field import (
    DIFFUSE_SOURCE_DISTANCE_M,
    check_band_centers,
    spectral_diffuse_covariance,
)
from soundstage.acoustics.encoders.tdesign import spherical_quadrature
from soundstage.acoustics.hrtf.base import HRTF
from soundstage.errors import ParameterError

#: Degree of the spherical quadrature over which a head's diffuse-field statistics are averaged (231
#: directions). Each direction costs an HRTF interpolation; for MIT KEMAR, degree 30 (496 directions)
#: changes the band coherences by < 0.005 up to 8 kHz (0.07 at 16 kHz) and the ear powers by < 0.1 dB.
HEAD_QUADRATURE_DEGREE = 20
#: Arrivals of a source (the earliest) whose HRIRs are interpolated at their exact direction and distance.
EXACT_ARRIVALS = 16



class BinauralEncoder(Encoder):
    """Left and right ear signals from an HRTF set.

    Each arrival is the HRIR pair of its direction and distance, scaled by its gain (or
    convolved with its band filter) and placed at ``delay_s - hrtf.latency_s``: the HRTF's
    latency is where its responses put sound reaching the head centre, so removing it keeps
    arrival times physical. When that start is negative (a source nearer than the latency
    allows), the HRIR's leading samples, which come before the near ear hears anything,
    are dropped rather than the arrival being moved, so timing stays exact.

    Parameters
    ----------
    sample_rate : int
        Output sample rate in Hz; must equal ``hrtf.sample_rate``.
    hrtf : HRTF
        The head.

    Raises
    ------
    ParameterError
        If the HRTF is at another sample rate.
    """

    def __init__(self, sample_rate: int, hrtf: HRTF) -> None:
        self.sample_rate = check_sample_rate(sample_rate)
        if not isinstance(hrtf, HRTF):
            raise ParameterError(f"hrtf must be an HRTF (e.g. load_hrtf('sphere', rate)), got {type(hrtf).__name__}")
        if int(hrtf.sample_rate) != self.sample_rate:
            raise ParameterError(
                f"hrtf {hrtf.name!r} is at {hrtf.sample_rate} Hz but the output is at {self.sample_rate} Hz; "
                "load the HRTF at the output sample rate"
            )
        self.hrtf = hrtf
        self.name = "binaural"
        self.channel_labels = ("L", "R")
        self.channel_mask = 0

    def impulse_response(self, arrivals: Arrivals) -> np.ndarray:
        """Binaural impulse responses, shape (2, n_taps), float64, left ear first.

        See :meth:`Encoder.impulse_response`.
        """
        if len(arrivals) == 0:
            return np.zeros((2, 1))
        start, kernels = self._arrival_kernels(arrivals)
        return place_kernels(start, kernels, max(int(start.max()) + kernels.shape[-1], 1))

    def arrival_responses(self, arrivals: Arrivals, n_taps: int) -> np.ndarray:
        """Each arrival's HRIR pair, band-filtered and placed at its delay, shape (K, 2, n_taps).

        See :meth:`Encoder.arrival_responses`.
        """
        from soundstage.acoustics.encoders.base import _place_each

        start, kernels = self._arrival_kernels(arrivals)
        return _place_each(start, kernels, n_taps)

    def _arrival_kernels(self, arrivals: Arrivals) -> tuple[np.ndarray, np.ndarray]:
        """Where each arrival's kernel starts (K,) and the kernels (K, 2, n): HRIRs, band filter, fraction."""
        filters = arrival_filters(arrivals, self.sample_rate)
        hrirs = self._hrirs(arrivals)
        delay = filters.delay_samples - self.hrtf.latency_s * self.sample_rate
        whole = np.floor(delay).astype(np.int64)
        # One batch of FFTs per source combines each arrival's HRIR pair, band filter and
        # fractional-delay interpolator into one kernel per ear (all linear, so the order is free).
        parts = [hrirs, fractional_delay_kernels(delay - whole)[:, None, :]]
        if filters.kernels is not None:
            parts.append(filters.kernels[:, None, :])
        n_out = sum(part.shape[-1] for part in parts) - len(parts) + 1
        n_fft = fft.next_fast_len(n_out)
        spectra = np.ones((1, 1, n_fft // 2 + 1), dtype=complex)
        for part in parts:
            spectra = spectra * fft.rfft(part, n_fft, axis=-1)
        kernels = fft.irfft(spectra, n_fft, axis=-1)[..., :n_out] * filters.gain[:, None, None]
        return whole - HALF_WIDTH + 1, kernels

    def _hrirs(self, arrivals: Arrivals) -> np.ndarray:
        """HRIR pairs (K, 2, n_taps): interpolated exactly for the earliest arrivals, by direction cell after.

        The :data:`EXACT_ARRIVALS` earliest arrivals (the direct sound and the first
        reflections, which listeners localise) get the head's own interpolation at their exact
        direction and distance; later ones, heard only as part of the room, take the HRIR of their
        direction cell (:mod:`soundstage.acoustics.hrtf.direction_cells`), computed once per head.
        """
        from soundstage.acoustics.hrtf.direction_cells import direction_cells

        if len(arrivals) <= EXACT_ARRIVALS:
            return np.asarray(self.hrtf.hrirs(arrivals.direction, arrivals.distance_m), dtype=float)
        by_time = np.argsort(arrivals.delay_s, kind="stable")
        exact, cells = by_time[:EXACT_ARRIVALS], by_time[EXACT_ARRIVALS:]
        hrirs = np.empty((len(arrivals), 2, self.hrtf.n_taps))
        hrirs[exact] = self.hrtf.hrirs(arrivals.direction[exact], arrivals.distance_m[exact])
        hrirs[cells] = direction_cells(self.hrtf).hrirs(arrivals.direction[cells])
        return hrirs

    def diffuse_covariance(self, band_centers_hz: np.ndarray) -> np.ndarray:
        """Covariance of the two ear signals in an isotropic diffuse field, shape (B, 2, 2).

        ``C(f) = Re Σ_q w_q H_q(f) H_q(f)^H`` from the head's HRIRs at the points of a
        spherical quadrature of degree :data:`HEAD_QUADRATURE_DEGREE`
        (far field, ``DIFFUSE_SOURCE_DISTANCE_M``),
        averaged over each band with the weights of
        :func:`~soundstage.acoustics.encoders.diffuse_field.band_average`. The diagonal is each ear's
        diffuse-field power response (near 1 at low frequency for a head normalised to the
        free field at its centre); ``C_LR / sqrt(C_LL C_RR)`` is the diffuse-field interaural
        coherence, near 1 at low frequency and near 0 above about 700 Hz.

        The result is cached with the head, per band set (HRIR interpolation at hundreds of
        directions is the costly part for a measured head); a copy is returned.

        Parameters
        ----------
        band_centers_hz : np.ndarray, shape (B,)
            Positive, increasing band centre frequencies in Hz.
        """
        from soundstage.acoustics.hrtf.head_cache import cached_array

        centers = check_band_centers(band_centers_hz, self.sample_rate)

        def compute() -> np.ndarray:
            points, weights = spherical_quadrature(HEAD_QUADRATURE_DEGREE)
            distances = np.full(len(points), DIFFUSE_SOURCE_DISTANCE_M)
            hrirs = np.asarray(self.hrtf.hrirs(points, distances), dtype=float)
            return spectral_diffuse_covariance(hrirs, weights, centers, self.sample_rate)

        bands = hashlib.sha256(np.ascontiguousarray(centers, dtype=float).tobytes()).hexdigest()[:16]
        name = f"diffuse{HEAD_QUADRATURE_DEGREE}-{bands}"
        return np.array(self.hrtf.kept(name, lambda: np.array(cached_array(self.hrtf, name, compute))))
