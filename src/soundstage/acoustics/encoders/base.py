"""The encoder interface: arrivals in, one impulse response per output channel out."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

import numpy as np

from soundstage.acoustics.arrivals import Arrivals
from soundstage.acoustics.delay import HALF_WIDTH, fractional_delay_kernels, sum_delayed
from soundstage.acoustics.encoders.band_filter import arrival_filters, response_length
from soundstage.acoustics.encoders.diffuse_field import (
    DIFFUSE_QUADRATURE_DEGREE,
    DIFFUSE_SOURCE_DISTANCE_M,
    check_band_centers,
    spectral_diffuse_covariance,
)
from soundstage.acoustics.encoders.tdesign import spherical_quadrature
from soundstage.conventions import SPEED_OF_SOUND


class Encoder(ABC):
    """Turns the arrivals of one source into impulse responses for every output channel.

    Subclasses set ``name``, ``channel_labels`` and ``channel_mask`` and implement
    :meth:`impulse_response`. The renderer convolves each source's signal with the
    responses and sums over sources, so an encoder never sees audio.

    Attributes
    ----------
    name : str
        Format name as given on the command line (``"binaural"``, ``"5.1"``, ``"hoa3"``...).
    sample_rate : int
        Output sample rate in Hz.
    channel_labels : tuple of str
        One label per output channel, in file order.
    channel_mask : int
        WAVE_FORMAT_EXTENSIBLE dwChannelMask for the file, 0 when the channels are not
        loudspeaker feeds (binaural, ambisonics, omni).
    """

    name: str
    sample_rate: int
    channel_labels: tuple[str, ...]
    channel_mask: int = 0
    #: Taps the encoder's own filters add after an arrival (crossovers, an LFE low-pass), 0 for none.
    filter_tail_taps: int = 0

    @property
    def n_channels(self) -> int:
        """Number of output channels."""
        return len(self.channel_labels)

    def diffuse_covariance(self, band_centers_hz: np.ndarray) -> np.ndarray:
        """Covariance of the output channels in an isotropic diffuse field, per frequency band.

        The field is made of plane waves of equal power from all directions, normalised so
        that an omnidirectional pressure channel at the head centre receives power 1. This
        generic definition *measures* the encoder: plane waves from a spherical quadrature
        (of degree ``DIFFUSE_QUADRATURE_DEGREE``, at ``DIFFUSE_SOURCE_DISTANCE_M``, see
        :mod:`~soundstage.acoustics.encoders.diffuse_field`) are rendered one by one with
        :meth:`impulse_response`, and ``C(f) = Re Σ_q w_q H_q(f) H_q(f)^H`` is band-averaged with
        :func:`~soundstage.acoustics.encoders.diffuse_field.band_average`. Encoders override it
        with their own exact or intended statistics.

        Parameters
        ----------
        band_centers_hz : np.ndarray, shape (B,)
            Positive, increasing band centre frequencies in Hz.

        Returns
        -------
        np.ndarray, shape (B, n_channels, n_channels)
            Real, symmetric, positive semi-definite covariance of each band.

        Raises
        ------
        ParameterError
            For band centres that are not positive and increasing, or none below
            0.45 × ``sample_rate``.
        """
        centers = check_band_centers(band_centers_hz, self.sample_rate)
        points, weights = spherical_quadrature(DIFFUSE_QUADRATURE_DEGREE)
        responses = []
        for point in points:
            # The propagation delay keeps encoders that hear some waves early (spaced microphones) causal.
            wave = Arrivals(
                np.array([DIFFUSE_SOURCE_DISTANCE_M / SPEED_OF_SOUND]),
                np.ones(1),
                point[None, :],
                np.array([DIFFUSE_SOURCE_DISTANCE_M]),
            )
            responses.append(self.impulse_response(wave))
        n_taps = max(r.shape[1] for r in responses)
        stacked = np.zeros((len(points), self.n_channels, n_taps))
        for q, response in enumerate(responses):
            stacked[q, :, : response.shape[1]] = response
        return spectral_diffuse_covariance(stacked, weights, centers, self.sample_rate)

    @abstractmethod
    def impulse_response(self, arrivals: Arrivals) -> np.ndarray:
        """Impulse responses from the source to every channel.

        Parameters
        ----------
        arrivals : Arrivals
            The arrivals of one source in the head frame.

        Returns
        -------
        np.ndarray, shape (n_channels, n_taps)
            Responses at ``sample_rate``; tap 0 is the moment the source emits, so
            propagation delays are included.
        """

    def arrival_responses(self, arrivals: Arrivals, n_taps: int) -> np.ndarray:
        """Each arrival's response on its own (not summed), shape (K, n_channels, n_taps).

        What the block engine of moving sources needs to crossfade arrivals one by one; the sum over
        arrivals is :meth:`impulse_response`. This generic version encodes the arrivals one at a time;
        encoders override it with a batched one.
        """
        out = np.zeros((len(arrivals), self.n_channels, n_taps))
        for k in range(len(arrivals)):
            gain = np.asarray(arrivals.gain)[k : k + 1]
            single = Arrivals(
                arrivals.delay_s[k : k + 1],
                gain,
                arrivals.direction[k : k + 1],
                arrivals.distance_m[k : k + 1],
                arrivals.band_centers_hz,
            )
            response = self.impulse_response(single)
            n = min(response.shape[1], n_taps)
            out[k, :, :n] = response[:, :n]
        return out


class PanningEncoder(Encoder):
    """An encoder whose channels differ only by a gain per arrival direction.

    Amplitude panning (stereo pan pot, VBAP) and ambisonic encoding both weight every
    arrival's delayed, band-filtered impulse by direction-dependent gains; subclasses give
    those gains in :meth:`channel_gains` and inherit the response.
    """

    @abstractmethod
    def channel_gains(self, directions: np.ndarray) -> np.ndarray:
        """Gains of every channel for unit ``directions`` (K, 3), shape (K, n_channels)."""

    def impulse_response(self, arrivals: Arrivals) -> np.ndarray:
        """Gain-weighted arrivals in every channel, shape (n_channels, n_taps), float64.

        See :meth:`Encoder.impulse_response`.
        """
        if len(arrivals) == 0:
            return np.zeros((self.n_channels, 1))
        return arrival_placer(arrivals, self.sample_rate)(self.channel_gains(arrivals.direction))

    def arrival_responses(self, arrivals: Arrivals, n_taps: int) -> np.ndarray:
        """Each arrival's gain-weighted, delayed, band-filtered impulse, shape (K, n_channels, n_taps).

        See :meth:`Encoder.arrival_responses`.
        """
        filters = arrival_filters(arrivals, self.sample_rate)
        whole = np.floor(filters.delay_samples).astype(np.int64)
        pieces = fractional_delay_kernels(filters.delay_samples - whole)
        if filters.kernels is not None:
            pieces = _batch_convolve(pieces, filters.kernels)
        pieces = pieces * filters.gain[:, None]
        weighted = pieces[:, None, :] * self.channel_gains(arrivals.direction)[:, :, None]
        return _place_each(whole - HALF_WIDTH + 1, weighted, n_taps)

    def diffuse_covariance(self, band_centers_hz: np.ndarray) -> np.ndarray:
        """Diffuse-field covariance of the channel gains: the sphere mean of ``g(d) g(d)ᵀ``.

        The gains do not depend on frequency, so neither does the covariance: every band gets
        the same matrix. The mean uses the spherical quadrature of degree
        ``DIFFUSE_QUADRATURE_DEGREE`` (exact for gains that are polynomials of half that
        degree, e.g. spherical harmonics up to order 15). See :meth:`Encoder.diffuse_covariance`.

        Parameters
        ----------
        band_centers_hz : np.ndarray, shape (B,)
            Positive, increasing band centre frequencies in Hz.

        Returns
        -------
        np.ndarray, shape (B, n_channels, n_channels)
        """
        centers = check_band_centers(band_centers_hz, self.sample_rate)
        points, weights = spherical_quadrature(DIFFUSE_QUADRATURE_DEGREE)
        gains = self.channel_gains(points)
        covariance = np.einsum("q,qc,qd->cd", weights, gains, gains)
        return np.repeat(covariance[None], len(centers), axis=0)


def arrival_placer(arrivals: Arrivals, sample_rate: int) -> Callable[[np.ndarray], np.ndarray]:
    """A function placing the arrivals' delayed, band-filtered impulses with per-channel weights.

    The filters are designed once; the returned function maps weights (K, n_channels) to
    responses (n_channels, n_taps), each arrival also scaled by its own gain. Encoders that
    need several weightings of the same arrivals (dual-band panning, an LFE feed) call it
    once per weighting.
    """
    filters = arrival_filters(arrivals, sample_rate)
    n_taps = response_length(filters.delay_samples, filters.kernel_length)

    def place(weights: np.ndarray) -> np.ndarray:
        return sum_delayed(filters.delay_samples, weights * filters.gain[:, None], n_taps, filters.kernels)

    return place


def _batch_convolve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-by-row full convolution of (K, ..., La) with (K, Lb) kernels, along the last axis."""
    from soundstage import fft

    n_out = a.shape[-1] + b.shape[-1] - 1
    n_fft = fft.next_fast_len(n_out)
    spectrum = fft.rfft(a, n_fft, axis=-1) * fft.rfft(b, n_fft, axis=-1).reshape(
        (b.shape[0],) + (1,) * (a.ndim - 2) + (-1,)
    )
    return fft.irfft(spectrum, n_fft, axis=-1)[..., :n_out]


def _place_each(start_samples: np.ndarray, kernels: np.ndarray, n_taps: int) -> np.ndarray:
    """Kernels (K, C, L) each placed at its start in its own response, shape (K, C, n_taps)."""
    out = np.zeros((kernels.shape[0], kernels.shape[1], n_taps))
    length = kernels.shape[2]
    for k, start in enumerate(np.asarray(start_samples, dtype=np.int64).tolist()):
        lo, hi = max(start, 0), min(start + length, n_taps)
        if hi > lo:
            out[k, :, lo:hi] = kernels[k, :, lo - start : hi - start]
    return out
