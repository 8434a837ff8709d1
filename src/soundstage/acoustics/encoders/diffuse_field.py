"""Diffuse-field statistics: band weights, band averages and channel covariances in an isotropic field.

The late reverberant tail of a room (:mod:`soundstage.acoustics.room.late_reverb`) is noise
whose channels must be as correlated as each output format's channels are in a diffuse
field. Encoders state that per band with ``Encoder.diffuse_covariance``; this module holds
what they share: the power-complementary band weights (one octave each, 1/3-octave cos²/sin²
crossovers at the band edges), averaging over a band with them, and the covariance of
frequency responses measured over a spherical quadrature.
"""

from __future__ import annotations

import numpy as np

from soundstage.errors import ParameterError

#: Degree of the spherical quadrature over which diffuse-field statistics of direction-dependent
#: gains and responses are averaged when no exact degree is known (496 points; see tdesign.py).
DIFFUSE_QUADRATURE_DEGREE = 30
#: Distance in metres of the plane waves making up the diffuse field (far field for any head model).
DIFFUSE_SOURCE_DISTANCE_M = 5.0
#: Bands whose centre is at or above this fraction of the sample rate cannot be resolved below Nyquist.
RESOLVABLE_FRACTION = 0.45
#: Width of the crossover between neighbouring bands, as a fraction of the log-distance between their
#: centres (1/3 octave for octave bands), in :func:`band_weights`.
CROSSOVER_WIDTH = 1.0 / 3.0
#: Frequency bins per lowest band centre on the band-averaging grid (resolves the lowest band's weights).
_BINS_PER_LOWEST_CENTRE = 8


def check_band_centers(band_centers_hz: np.ndarray, sample_rate: int) -> np.ndarray:
    """Band centres as a float array, checked: 1-D, positive, increasing, at least one resolvable.

    Raises
    ------
    ParameterError
        Naming the fault, for centres that are not like that.
    """
    centers = np.asarray(band_centers_hz, dtype=float)
    if centers.ndim != 1 or centers.size == 0:
        raise ParameterError(f"band_centers_hz must be a 1-D array of band centres in Hz, got shape {centers.shape}")
    if not (np.all(np.isfinite(centers)) and np.all(centers > 0) and np.all(np.diff(centers) > 0)):
        raise ParameterError("band_centers_hz must be finite, positive and increasing (Hz)")
    if centers[0] >= RESOLVABLE_FRACTION * sample_rate:
        raise ParameterError(
            f"band_centers_hz: no band centre below {RESOLVABLE_FRACTION} x the sample rate {sample_rate} Hz; "
            "use lower bands or a higher sample rate"
        )
    return centers


def band_weights(
    frequencies_hz: np.ndarray,
    band_centers_hz: np.ndarray,
    sample_rate: int,
    *,
    crossover_width: float | None = None,
) -> np.ndarray:
    """Power-complementary band weights on a frequency grid: a crossover between each pair of neighbours.

    Between adjacent centres ``c_b < c_b+1`` the power moves from band ``b`` to band ``b + 1``
    as ``cos²``/``sin²`` of a quarter turn, over a transition centred on their geometric mean
    (the octave-band edge ``c_b √2`` for octave bands) and ``crossover_width`` of the
    log-frequency distance between them wide. Band ``b``'s weight is therefore 1 at its centre
    and 0 at the other centres; the lowest band is held at 1 down to DC and the highest band
    whose centre is below 0.45 × ``sample_rate`` at 1 up to Nyquist; bands above that cannot
    be resolved and get weight 0. The weights of the resolvable bands sum to 1 at every
    frequency, so a power spectrum built as ``Σ_b weight_b(f) value_b`` has no dips between
    centres, and ``sqrt(weight_b)`` are the magnitudes of a power-complementary filter bank.

    Why not weights linear in log-frequency from centre to centre: those spread each band
    over two octaves, so an octave-band analysis of a signal shaped by them (ISO 3382 T30 of a
    reverberant tail, say) mixes in half of each neighbour at its band edges; with decay
    times differing by a third between neighbours that biases the measured T30 by up to 18 %.
    The narrower crossovers keep each band within its own octave.

    Parameters
    ----------
    frequencies_hz : np.ndarray, shape (F,)
        Non-negative frequencies in Hz.
    band_centers_hz : np.ndarray, shape (B,)
        Positive, increasing band centres in Hz.
    sample_rate : int
        In Hz.
    crossover_width : float or None
        Transition width as a fraction (0, 1] of the log-distance between neighbouring
        centres; None uses :data:`CROSSOVER_WIDTH` (1/3 octave for octave bands).

    Returns
    -------
    np.ndarray, shape (B, F)

    Examples
    --------
    >>> f = np.array([0.0, 250.0, 396.0, 500.0, 631.0, 1000.0, 4000.0])
    >>> band_weights(f, np.array([250.0, 1000.0]), 48000).round(3)   # edge 500 Hz, transition 397-630 Hz
    array([[1. , 1. , 1. , 0.5, 0. , 0. , 0. ],
           [0. , 0. , 0. , 0.5, 1. , 1. , 1. ]])
    """
    width = CROSSOVER_WIDTH if crossover_width is None else float(crossover_width)
    if not 0.0 < width <= 1.0:
        raise ParameterError(f"crossover_width must be in (0, 1], got {crossover_width!r}")
    centers = np.asarray(band_centers_hz, dtype=float)
    resolvable = np.flatnonzero(centers < RESOLVABLE_FRACTION * sample_rate)
    log_freqs = np.log2(np.maximum(np.asarray(frequencies_hz, dtype=float), 1e-9))
    log_centers = np.log2(centers[resolvable])
    # upper[i]: share of the band above crossover i (between resolvable centres i and i + 1), 0 → 1.
    middle = 0.5 * (log_centers[:-1] + log_centers[1:])
    half_width = 0.5 * width * np.diff(log_centers)
    position = np.clip((log_freqs[None, :] - (middle - half_width)[:, None]) / (2.0 * half_width[:, None]), 0.0, 1.0)
    upper = np.sin(0.5 * np.pi * position) ** 2
    # Transitions never overlap, so at most one factor is fractional and the products sum to 1.
    below = np.concatenate([np.ones((1, log_freqs.size)), upper])  # share above the crossover under each band
    above = np.concatenate([1.0 - upper, np.ones((1, log_freqs.size))])  # share below the crossover over it
    weights = np.zeros((len(centers), log_freqs.size))
    weights[resolvable] = below * above
    return weights


def band_average(
    values: np.ndarray, frequencies_hz: np.ndarray, band_centers_hz: np.ndarray, sample_rate: int
) -> np.ndarray:
    """Average a quantity given on a uniform frequency grid over each band, weighted by :func:`band_weights`.

    The weights multiply a linear-frequency (uniform) grid, integrated by the trapezoidal
    rule, so band ``b``'s value is what a white signal shaped by band ``b``'s weight would
    carry on average. A band above 0.45 × ``sample_rate`` gets the value of the highest
    resolvable band (whose weight reaches Nyquist).

    Parameters
    ----------
    values : np.ndarray, shape (F, ...)
        The quantity at each grid frequency.
    frequencies_hz : np.ndarray, shape (F,)
        Uniformly spaced frequencies from 0 to Nyquist, in Hz.
    band_centers_hz : np.ndarray, shape (B,)
        Band centres in Hz, checked by :func:`check_band_centers`.
    sample_rate : int
        In Hz.

    Returns
    -------
    np.ndarray, shape (B, ...)
    """
    weights = band_weights(frequencies_hz, band_centers_hz, sample_rate)
    resolvable = np.asarray(band_centers_hz) < RESOLVABLE_FRACTION * sample_rate
    highest = int(np.flatnonzero(resolvable)[-1])
    weights[~resolvable] = weights[highest]
    # Trapezoidal rule: the grid's end points (DC, Nyquist) stand for half a bin each.
    weights[:, [0, -1]] *= 0.5
    weights /= weights.sum(axis=1, keepdims=True)
    return np.tensordot(weights, np.asarray(values), axes=(1, 0))


def averaging_grid(band_centers_hz: np.ndarray, sample_rate: int, min_length: int = 1) -> int:
    """FFT length whose rfft grid resolves the lowest band (8 bins per lowest centre), at least ``min_length``.

    Examples
    --------
    >>> averaging_grid(np.array([125.0, 250.0]), 48000)
    4096
    """
    lowest = float(np.min(band_centers_hz))
    needed = max(int(np.ceil(_BINS_PER_LOWEST_CENTRE * sample_rate / lowest)), int(min_length), 2)
    return 1 << (needed - 1).bit_length()


def spectral_diffuse_covariance(
    responses: np.ndarray, weights: np.ndarray, band_centers_hz: np.ndarray, sample_rate: int
) -> np.ndarray:
    """Band-averaged diffuse-field covariance of channels whose responses to plane waves are known.

    ``C(f) = Re Σ_q w_q H_q(f) H_q(f)^H`` on an rfft grid (:func:`averaging_grid`), then
    :func:`band_average`. Common delays cancel; relative ones (an ITD, a microphone spacing)
    become the coherence's fall with frequency.

    Parameters
    ----------
    responses : np.ndarray, shape (Q, C, L)
        Impulse response of every channel to a plane wave from each quadrature direction.
    weights : np.ndarray, shape (Q,)
        Quadrature weights summing to 1.
    band_centers_hz : np.ndarray, shape (B,)
        Band centres in Hz.
    sample_rate : int
        In Hz.

    Returns
    -------
    np.ndarray, shape (B, C, C)
        Real, symmetric covariance per band.
    """
    n_fft = averaging_grid(band_centers_hz, sample_rate, responses.shape[-1])
    spectra = np.fft.rfft(responses, n_fft, axis=-1)  # (Q, C, F)
    by_frequency = np.moveaxis(spectra, -1, 0)  # (F, Q, C)
    # Batched matrix products (F of them, C × Q by Q × C) are far faster than an einsum over Q, C, C, F.
    cross = (np.swapaxes(by_frequency.conj(), 1, 2) @ (by_frequency * weights[:, None])).real
    covariance = band_average(cross, np.fft.rfftfreq(n_fft, 1.0 / sample_rate), band_centers_hz, sample_rate)
    return 0.5 * (covariance + np.swapaxes(covariance, 1, 2))
