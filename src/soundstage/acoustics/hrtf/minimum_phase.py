"""Minimum-phase plus delay: the split that lets measured HRIRs be interpolated.

Averaging two HRIRs whose onsets differ by a fraction of a millisecond sums two delayed
copies of nearly the same filter, which is a comb filter. Splitting each HRIR into a
minimum-phase filter (its magnitude response with the least possible delay) and a pure
onset delay per ear (the ITD lives there), interpolating the two separately and putting
the delay back avoids that.
"""

from __future__ import annotations

import numpy as np

from soundstage import fft


def _next_pow2(n: int) -> int:
    return 1 << max(int(n) - 1, 1).bit_length()


def minimum_phase(irs: np.ndarray, *, oversample: int = 4, floor_db: float = -120.0) -> np.ndarray:
    """Minimum-phase impulse responses with the same magnitude response (homomorphic method).

    The real cepstrum of ``log|H|`` is folded onto positive quefrencies and exponentiated
    back. It is computed on ``oversample`` times the IR length so that the cepstrum, which
    is infinitely long in principle, aliases little.

    Parameters
    ----------
    irs : np.ndarray, shape (..., N)
        Impulse responses.
    oversample : int, default 4
        FFT length as a multiple of ``N``, rounded up to a power of two (so 4 to 8 times ``N``).
    floor_db : float, default -120.0
        Magnitudes are floored this far below each response's peak before the logarithm
        (a true zero has no logarithm).

    Returns
    -------
    np.ndarray, shape (..., N)
        The minimum-phase responses, cut to ``N`` samples.

    Examples
    --------
    >>> h = np.zeros(64); h[10] = 1.0; h[11] = 0.5        # a delayed minimum-phase filter
    >>> np.round(minimum_phase(h)[:3], 6) + 0.0
    array([1. , 0.5, 0. ])
    """
    irs = np.asarray(irs, dtype=float)
    n = irs.shape[-1]
    n_fft = _next_pow2(oversample * n)
    magnitude = np.abs(fft.rfft(irs, n=n_fft, axis=-1))
    floor = magnitude.max(axis=-1, keepdims=True) * 10.0 ** (floor_db / 20.0)
    cepstrum = fft.irfft(np.log(np.maximum(magnitude, np.maximum(floor, 1e-300))), n=n_fft, axis=-1)
    # Fold: keep c[0] and c[n/2], double the positive quefrencies, drop the negative ones.
    fold = np.zeros(n_fft)
    fold[0] = 1.0
    fold[1 : n_fft // 2] = 2.0
    fold[n_fft // 2] = 1.0
    spectrum = np.exp(fft.rfft(cepstrum * fold, axis=-1))
    return fft.irfft(spectrum, n=n_fft, axis=-1)[..., :n]


def energy_taps(filters: np.ndarray, kept: float = 1.0 - 1e-6) -> int:
    """Taps that hold ``kept`` of every filter's energy (..., N): minimum-phase filters cut there lose only their
    quiet end.

    >>> energy_taps(np.array([[1.0, 0.1, 1e-6, 0.0]]), kept=0.999)
    2
    """
    energy = np.cumsum(np.asarray(filters, dtype=float) ** 2, axis=-1)
    return int(np.max(np.argmax(energy >= kept * energy[..., -1:], axis=-1))) + 1


def onset_samples(
    irs: np.ndarray,
    *,
    threshold_db: float = -20.0,
    smoothing: float | None = 0.125,
    oversample: int = 8,
) -> np.ndarray:
    """Fractional onset of each impulse response: where it first reaches ``threshold_db`` below its peak.

    The IR is first smoothed by a zero-phase Gaussian low-pass (a Gaussian impulse response
    has no ringing, so pre-echoes cannot trigger the threshold and the onset moves smoothly
    with the direction of the source; perceptual studies of ITD estimators favour such
    low-passed threshold onsets), then upsampled by ``oversample`` (FFT, zero-padded) and
    the crossing is interpolated linearly between the two samples around it.

    Parameters
    ----------
    irs : np.ndarray, shape (..., N)
        Impulse responses.
    threshold_db : float, default -20.0
        Threshold relative to the peak magnitude, in dB.
    smoothing : float or None, default 0.125
        -3 dB frequency of the Gaussian low-pass as a fraction of the sample rate (0.125 is
        6 kHz at 48 kHz); None for no smoothing.
    oversample : int, default 8
        Upsampling factor.

    Returns
    -------
    np.ndarray, shape (...)
        Onsets in samples at the original rate.

    Examples
    --------
    >>> h = np.zeros(64); h[20] = 1.0
    >>> float(np.round(onset_samples(h, smoothing=None, threshold_db=-6.0), 1))   # sinc(0.6) = 0.5
    19.4
    """
    irs = np.asarray(irs, dtype=float)
    shape = irs.shape[:-1]
    flat = irs.reshape(-1, irs.shape[-1])
    # Only the part up to the latest peak (plus some reach) can hold an onset.
    keep = min(flat.shape[-1], int(np.max(np.argmax(np.abs(flat), axis=-1), initial=0)) + 32)
    n_fft = _next_pow2(2 * keep + 64)
    spectrum = fft.rfft(flat[:, :keep], n=n_fft, axis=-1)
    if smoothing is not None:
        freqs = np.fft.rfftfreq(n_fft)
        spectrum = spectrum * np.exp(-0.5 * np.log(2.0) * (freqs / smoothing) ** 2)
    up = np.abs(fft.irfft(spectrum, n=oversample * n_fft, axis=-1))[:, : oversample * (keep + 16)]
    level = up.max(axis=-1, keepdims=True) * 10.0 ** (threshold_db / 20.0)
    first = np.argmax(up >= level, axis=-1)
    rows = np.arange(len(first))
    before = np.maximum(first - 1, 0)
    lo, hi = up[rows, before], up[rows, first]
    with np.errstate(invalid="ignore", divide="ignore"):
        fraction = np.where((first > 0) & (hi > lo), (level[:, 0] - lo) / (hi - lo), 1.0)
    onset = (before + np.clip(fraction, 0.0, 1.0)) / oversample
    onset = np.where(first == 0, 0.0, onset)
    return onset.reshape(shape)


def delay_irs(irs: np.ndarray, delays_samples: np.ndarray, n_taps: int | None = None) -> np.ndarray:
    """Delay impulse responses by fractional numbers of samples (FFT phase shift, zero-padded).

    Parameters
    ----------
    irs : np.ndarray, shape (..., N)
        Impulse responses.
    delays_samples : np.ndarray, shape (...)
        Delay of each response in samples; may be fractional.
    n_taps : int or None
        Length of the result (default ``N``); what is delayed past it is cut.

    Returns
    -------
    np.ndarray, shape (..., n_taps)

    Examples
    --------
    >>> h = np.zeros(16); h[0] = 1.0
    >>> np.round(delay_irs(h, np.array(3.0)), 12)[:5] + 0.0
    array([0., 0., 0., 1., 0.])
    """
    irs = np.asarray(irs, dtype=float)
    delays = np.asarray(delays_samples, dtype=float)
    n = irs.shape[-1]
    n_taps = n if n_taps is None else int(n_taps)
    # Padding takes the delayed tail and the pre-ringing of fractional shifts off the part we keep.
    span = max(n, n_taps) + int(np.ceil(np.max(np.abs(delays), initial=0.0))) + 64
    n_fft = _next_pow2(2 * span)
    freqs = np.fft.rfftfreq(n_fft)
    spectrum = fft.rfft(irs, n=n_fft, axis=-1) * np.exp(-2j * np.pi * freqs * delays[..., None])
    return fft.irfft(spectrum, n=n_fft, axis=-1)[..., :n_taps]
