"""Per-band gains → linear-phase FIR filters, and the per-arrival filters every encoder places.

Air absorption and wall reflections attenuate each octave band differently, so an
arrival may carry gains ``(B,)`` at band centres instead of one broadband gain. Each such
arrival becomes a short symmetric (linear-phase) FIR:

1. the gain is interpolated in dB over log-frequency on a dense rfft grid (held flat below
   the lowest and above the highest centre), giving a real, zero-phase magnitude response;
2. its inverse transform is centred, cut to ``n_taps`` (odd) and Kaiser-windowed;
3. because windowing smooths the response over about ``sample_rate / n_taps`` Hz, which
   matters between the 125 Hz and 250 Hz bands, one linear correction follows: a weighted
   sum of "hat" filters (each designed the same way from a gain of 1 at one centre and 0 at
   the others) that makes the magnitude at every centre below 0.45 × ``sample_rate``
   exactly the requested gain.

The filter's group delay is exactly ``(n_taps - 1) / 2`` samples at every frequency; the
encoders advance each arrival by that much so that its timing is unchanged.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from soundstage.acoustics.arrivals import Arrivals
from soundstage.acoustics.delay import HALF_WIDTH
from soundstage.errors import ParameterError

#: Kaiser window shape parameter: a good trade between smoothing and truncation ripple.
_KAISER_BETA = 4.0
#: Gains below this (relative to the arrival's loudest band) are treated as this, in dB.
_FLOOR_DB = -120.0
#: Length of a truncated Linkwitz–Riley response, in periods of its cutoff (it is below -200 dB by then).
CROSSOVER_PERIODS = 8.0


def band_filter_length(sample_rate: int, band_centers_hz: np.ndarray) -> int:
    """Default (odd) length of the band filters: one period of the lowest band either side.

    Parameters
    ----------
    sample_rate : int
        In Hz.
    band_centers_hz : np.ndarray, shape (B,)
        Band centre frequencies in Hz.

    Returns
    -------
    int
        ``2 * ceil(sample_rate / min(band_centers_hz)) + 1`` taps, which resolves adjacent
        octave bands down to the lowest one (769 taps at 48 kHz for a 125 Hz band).

    Examples
    --------
    >>> band_filter_length(48000, np.array([125.0, 250.0, 500.0]))
    769
    """
    lowest = float(np.min(band_centers_hz))
    return 2 * math.ceil(sample_rate / lowest) + 1


def band_filters(
    band_gains: np.ndarray,
    band_centers_hz: np.ndarray,
    sample_rate: int,
    *,
    n_taps: int | None = None,
) -> np.ndarray:
    """Linear-phase FIR filters whose magnitude follows per-band gains.

    Parameters
    ----------
    band_gains : np.ndarray, shape (K, B)
        Linear (pressure) gain of each of K filters at each band centre, ≥ 0.
    band_centers_hz : np.ndarray, shape (B,)
        Increasing band centre frequencies in Hz.
    sample_rate : int
        In Hz.
    n_taps : int or None
        Odd filter length; None uses :func:`band_filter_length`.

    Returns
    -------
    np.ndarray, shape (K, n_taps)
        Symmetric filters with their centre (group delay) at tap ``(n_taps - 1) // 2``.

    Raises
    ------
    ParameterError
        For negative or non-finite gains, unsorted centres or an even ``n_taps``.

    Examples
    --------
    >>> h = band_filters(np.array([[1.0, 0.5]]), np.array([1000.0, 2000.0]), 48000)
    >>> h.shape, bool(np.allclose(h[0], h[0, ::-1]))   # symmetric: linear phase
    ((1, 97), True)
    """
    gains = np.asarray(band_gains, dtype=float)
    centers = np.asarray(band_centers_hz, dtype=float)
    if gains.ndim != 2 or centers.ndim != 1 or gains.shape[1] != centers.shape[0]:
        raise ParameterError(f"band_gains must have shape (K, {centers.size}), got {gains.shape}")
    if not (np.all(np.isfinite(gains)) and np.all(gains >= 0)):
        raise ParameterError("band_gains must be finite and non-negative (linear pressure gains)")
    if not (np.all(centers > 0) and np.all(np.diff(centers) > 0)):
        raise ParameterError("band_centers_hz must be positive and increasing")
    if n_taps is None:
        n_taps = band_filter_length(sample_rate, centers)
    if not (isinstance(n_taps, int | np.integer) and n_taps >= 3 and n_taps % 2 == 1):
        raise ParameterError(f"n_taps must be an odd integer of at least 3, got {n_taps!r}")

    # Design on the shape relative to each filter's loudest band (so zero gains are a floor
    # in dB, not -inf) and scale back at the end.
    scale = gains.max(axis=1) if gains.size else np.zeros(len(gains))
    safe = np.where(scale > 0, scale, 1.0)
    target_db = 20.0 * np.log10(np.maximum(gains / safe[:, None], 10.0 ** (_FLOOR_DB / 20.0)))

    grid = _DesignGrid.build(tuple(centers.tolist()), int(sample_rate), int(n_taps))
    filters = grid.design(10.0 ** (_interp_rows(grid.log_freqs, grid.log_centers, target_db) / 20.0))
    if grid.correction is not None:
        # One linear correction with the hat-function basis makes every resolvable centre exact.
        resolvable = grid.resolvable
        error = 10.0 ** (target_db[:, resolvable] / 20.0) - filters @ grid.cosines.T
        filters += (error @ grid.correction) @ grid.basis
    return filters * scale[:, None]


@dataclass(frozen=True)
class _DesignGrid:
    """Everything about a band-filter design that depends only on the bands, rate and length."""

    log_freqs: np.ndarray  # (F,) log2 of the rfft grid frequencies
    log_centers: np.ndarray  # (B,)
    half: int
    window: np.ndarray  # (n_taps,)
    resolvable: np.ndarray  # (B,) bool: centres safely below Nyquist
    cosines: np.ndarray  # (R, n_taps): zero-phase response at resolvable centre r is h @ cosines[r]
    basis: np.ndarray  # (R, n_taps): designed hat functions (1 at one centre, 0 at the others)
    correction: np.ndarray | None  # (R, R): maps centre errors to basis coefficients

    @classmethod
    @functools.lru_cache(maxsize=16)
    def build(cls, centers: tuple[float, ...], sample_rate: int, n_taps: int) -> _DesignGrid:
        centers_hz = np.asarray(centers)
        n_fft = 1 << (2 * n_taps - 1).bit_length()
        log_freqs = np.log2(np.maximum(np.fft.rfftfreq(n_fft, 1.0 / sample_rate), 1e-6))
        resolvable = centers_hz < 0.45 * sample_rate
        half = (n_taps - 1) // 2
        cosines = np.cos(2.0 * np.pi * np.outer(centers_hz[resolvable] / sample_rate, np.arange(n_taps) - half))
        grid = cls(
            log_freqs,
            np.log2(centers_hz),
            half,
            np.kaiser(n_taps, _KAISER_BETA),
            resolvable,
            cosines,
            np.zeros((0, n_taps)),
            None,
        )
        if not np.any(resolvable):
            return grid
        # Hats interpolate linearly (in amplitude, over log-frequency) between neighbouring centres.
        hats = _interp_rows(log_freqs, grid.log_centers, np.eye(len(centers))[resolvable])
        basis = grid.design(hats)
        response = basis @ cosines.T  # (R basis, R centres); near the identity
        return cls(
            grid.log_freqs, grid.log_centers, half, grid.window, resolvable, cosines, basis, np.linalg.inv(response)
        )

    def design(self, magnitude: np.ndarray) -> np.ndarray:
        """Windowed, centred linear-phase filters from zero-phase magnitudes on the grid, (K, F) → (K, n_taps)."""
        impulse = np.fft.irfft(magnitude, n=2 * (self.log_freqs.size - 1), axis=-1)
        centred = np.concatenate([impulse[:, -self.half :], impulse[:, : self.half + 1]], axis=1)
        return centred * self.window


def linkwitz_riley(cutoff_hz: float, sample_rate: int, kind: str = "lowpass") -> np.ndarray:
    """Impulse response of a 4th-order Linkwitz–Riley low- or high-pass (two cascaded Butterworth biquads).

    Both are -6 dB at the cutoff with 24 dB/octave slopes, and the low- and high-pass sum to
    an all-pass (flat magnitude), which makes them a crossover.

    Parameters
    ----------
    cutoff_hz : float
        Crossover frequency in Hz, below ``sample_rate / 2``.
    sample_rate : int
        In Hz.
    kind : {"lowpass", "highpass"}, default "lowpass"

    Returns
    -------
    np.ndarray, shape (n_taps,)
        The causal IIR impulse response truncated after ``8 / cutoff_hz`` seconds.

    Examples
    --------
    >>> h = linkwitz_riley(120.0, 48000)
    >>> len(h), bool(abs(h.sum() - 1.0) < 1e-6)   # unity gain at DC
    (3200, True)
    """
    from scipy.signal import butter, sosfilt

    section = butter(2, cutoff_hz, btype=kind, fs=sample_rate, output="sos")
    impulse = np.zeros(math.ceil(CROSSOVER_PERIODS * sample_rate / cutoff_hz))
    impulse[0] = 1.0
    return sosfilt(np.concatenate([section, section]), impulse)


def _interp_rows(x: np.ndarray, xp: np.ndarray, fp: np.ndarray) -> np.ndarray:
    """Row-wise linear interpolation of ``fp`` (K, B) given at ``xp`` (B,) onto ``x`` (F,), held flat outside."""
    index = np.clip(np.searchsorted(xp, x, side="right") - 1, 0, max(len(xp) - 2, 0))
    if len(xp) == 1:
        return np.repeat(fp, len(x), axis=1)
    t = np.clip((x - xp[index]) / (xp[index + 1] - xp[index]), 0.0, 1.0)
    return fp[:, index] * (1.0 - t) + fp[:, index + 1] * t


@dataclass(frozen=True)
class ArrivalFilters:
    """What an encoder needs to place the arrivals of one source with :func:`~soundstage.acoustics.delay.sum_delayed`.

    Attributes
    ----------
    delay_samples : np.ndarray, shape (K,)
        Where each arrival's kernel starts, in samples: the propagation delay, less the band
        filter's centre for banded arrivals so that the filtered arrival lands on time.
    gain : np.ndarray, shape (K,)
        Broadband gain to apply (1 for banded arrivals, whose gain is in the kernel).
    kernels : np.ndarray or None, shape (K, L)
        Band filters, or None for broadband arrivals (a plain impulse).
    """

    delay_samples: np.ndarray
    gain: np.ndarray
    kernels: np.ndarray | None

    @property
    def kernel_length(self) -> int:
        """Length of each kernel in samples (1 for a plain impulse)."""
        return 1 if self.kernels is None else int(self.kernels.shape[-1])


def arrival_filters(arrivals: Arrivals, sample_rate: int) -> ArrivalFilters:
    """Delays, broadband gains and band filters of a set of arrivals at ``sample_rate``.

    Parameters
    ----------
    arrivals : Arrivals
        The arrivals of one source.
    sample_rate : int
        In Hz.

    Returns
    -------
    ArrivalFilters

    Examples
    --------
    >>> from soundstage.acoustics.arrivals import Arrivals
    >>> a = Arrivals(np.array([0.01]), np.array([0.5]), np.array([[1.0, 0, 0]]), np.array([3.43]))
    >>> f = arrival_filters(a, 48000)
    >>> float(f.delay_samples[0]), float(f.gain[0]), f.kernels is None
    (480.0, 0.5, True)
    """
    delay = np.asarray(arrivals.delay_s, dtype=float) * sample_rate
    if not arrivals.is_banded:
        return ArrivalFilters(delay, np.asarray(arrivals.gain, dtype=float), None)
    gains = np.asarray(arrivals.gain, dtype=float)
    # An arrival whose gains are ≤ 0 in every band is inverted (scattered energy arrives with random phase):
    # its filter is designed on the magnitudes and the sign kept as its broadband gain.
    polarity = np.where(np.all(gains <= 0.0, axis=1) & np.any(gains < 0.0, axis=1), -1.0, 1.0)
    kernels = band_filters(gains * polarity[:, None], np.asarray(arrivals.band_centers_hz), sample_rate)
    centre = (kernels.shape[1] - 1) // 2
    return ArrivalFilters(delay - centre, polarity, kernels)


def response_length(delay_samples: np.ndarray, kernel_length: int) -> int:
    """Taps needed to hold every arrival placed at ``delay_samples`` with kernels of ``kernel_length``.

    Parameters
    ----------
    delay_samples : np.ndarray, shape (K,) or (K, C)
        Start of each kernel in samples.
    kernel_length : int
        Length of the kernels (1 for plain impulses).

    Returns
    -------
    int
        The last arrival's interpolator tail plus its kernel fits; at least 1.

    Examples
    --------
    >>> response_length(np.array([10.5, 100.0]), 1)
    117
    """
    delays = np.asarray(delay_samples, dtype=float)
    if delays.size == 0:
        return 1
    # sum_delayed places a piece of 2 * HALF_WIDTH + L - 1 taps starting at floor(d) - HALF_WIDTH + 1.
    return max(int(np.floor(delays.max())) + HALF_WIDTH + kernel_length, 1)
