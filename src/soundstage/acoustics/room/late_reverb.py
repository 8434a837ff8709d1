"""The late reverberant tail: decaying Gaussian noise with each output format's diffuse-field coherence.

After the *mixing time* a room's reflections are so dense that the field at the listener is
statistically diffuse: plane waves from all directions with random phases, their energy
decaying exponentially at a rate set by each band's reverberation time. Rendering every
one of them as an image source is wasteful and, beyond the orders computed, incomplete;
instead the tail is synthesised as noise with the right statistics:

* **level** — the energy per second arriving in band ``b`` at the mixing time,
  ``energy_rate_b``, measured from the early arrivals just before it
  (:func:`energy_rate_at`), so the tail continues the image sources without a level step;
* **decay** — ``exp(-13.8155 (t - t_mix) / T_b)`` in energy (60 dB in ``T_b`` seconds);
* **spectrum** — band values joined by power-complementary crossovers
  (:func:`~soundstage.acoustics.encoders.diffuse_field.band_weights`): each band holds its value over
  its own octave and hands over to its neighbour across a 1/3-octave transition at the band
  edge, with no dip (the weights sum to 1), so an octave-band analysis of the tail finds each
  band's own level and decay time;
* **inter-channel coherence** — the encoder's
  :meth:`~soundstage.acoustics.encoders.base.Encoder.diffuse_covariance`: per band, the
  channels' covariance in an isotropic diffuse field (the interaural coherence of a head,
  the ``sin(kd)/kd`` of a spaced pair, the ``1/(2l+1)`` of SN3D ambisonics, decorrelated
  loudspeaker feeds).

Synthesis, per band: C independent white Gaussian noises are mixed by a square root of the
band covariance and shaped in the frequency domain by ``sqrt(w_b(f))`` (the band weight), a zero-phase,
exactly power-complementary filter (so there is no group delay to compensate and no filter
transient: the band noise is stationary from its first sample); then each band gets its
own envelope and the bands are summed. Different bands use independent noises, so where two
bands overlap their powers add, which is what makes the crossovers power-complementary.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from soundstage import fft
from soundstage.acoustics.arrivals import Arrivals
from soundstage.acoustics.encoders.diffuse_field import RESOLVABLE_FRACTION, band_weights, check_band_centers
from soundstage.errors import ParameterError

if TYPE_CHECKING:
    from soundstage.acoustics.encoders.base import Encoder

#: Energy decay constant: 60 dB is a factor exp(6 ln 10) = exp(13.8155) in energy.
ENERGY_DECAY_60DB = 6.0 * math.log(10.0)
#: Fraction of the tail (after the mixing time) faded out at its end, so truncation makes no click.
FADE_OUT_FRACTION = 0.05


@dataclass(frozen=True)
class DiffuseDecay:
    """Statistics of one source's diffuse late field (omni, per band).

    Attributes
    ----------
    mixing_time_s : float
        The tail starts here, in seconds after the source emits; early arrivals stop here.
    rt60_s : np.ndarray, shape (B,)
        Decay time per band in seconds (60 dB of energy decay).
    energy_rate : np.ndarray, shape (B,)
        Omni energy arriving per second at ``mixing_time_s`` in each band: the sum of
        ``gain_b²`` of the arrivals per second, with ``gain`` the linear pressure gain of
        :class:`~soundstage.acoustics.arrivals.Arrivals`.
    band_centers_hz : np.ndarray, shape (B,)
        Band centre frequencies in Hz, positive and increasing.

    Raises
    ------
    ParameterError
        For a negative or non-finite mixing time, non-positive decay times, negative energy
        rates, bad band centres or arrays of different lengths.
    """

    mixing_time_s: float
    rt60_s: np.ndarray
    energy_rate: np.ndarray
    band_centers_hz: np.ndarray

    def __post_init__(self) -> None:
        if not (np.isscalar(self.mixing_time_s) and np.isfinite(self.mixing_time_s) and self.mixing_time_s >= 0):
            raise ParameterError(f"DiffuseDecay.mixing_time_s must be a finite time >= 0 s, got {self.mixing_time_s!r}")
        centers = np.asarray(self.band_centers_hz, dtype=float)
        if centers.ndim != 1 or centers.size == 0:
            raise ParameterError(
                f"DiffuseDecay.band_centers_hz must be 1-D with one centre per band, got shape {centers.shape}"
            )
        for name in ("rt60_s", "energy_rate"):
            values = np.asarray(getattr(self, name), dtype=float)
            if values.shape != centers.shape:
                raise ParameterError(
                    f"DiffuseDecay.{name} must have shape {centers.shape} (one value per band), got {values.shape}"
                )
            object.__setattr__(self, name, values)
        if not (np.all(np.isfinite(self.rt60_s)) and np.all(self.rt60_s > 0)):
            raise ParameterError("DiffuseDecay.rt60_s must be finite and positive (seconds of 60 dB decay)")
        if not (np.all(np.isfinite(self.energy_rate)) and np.all(self.energy_rate >= 0)):
            raise ParameterError("DiffuseDecay.energy_rate must be finite and non-negative (energy per second)")
        if not (np.all(np.isfinite(centers)) and np.all(centers > 0) and np.all(np.diff(centers) > 0)):
            raise ParameterError("DiffuseDecay.band_centers_hz must be finite, positive and increasing (Hz)")
        object.__setattr__(self, "mixing_time_s", float(self.mixing_time_s))
        object.__setattr__(self, "band_centers_hz", centers)


def energy_rate_at(arrivals: Arrivals, mixing_time_s: float, rt60_s: np.ndarray) -> np.ndarray:
    """Energy per second of the early arrivals at the mixing time, per band, extrapolated with the known decay.

    The arrivals in the window ``[t_mix / 2, t_mix)`` carry energy ``S_b = Σ g_kb²``. Assuming
    the reverberant energy density decays as ``E0_b exp(-13.8155 (t - t_mix) / T_b)``, the
    window holds ``E0_b ∫_{t_mix/2}^{t_mix} exp(-13.8155 (t - t_mix) / T_b) dt``, which gives
    ``E0_b``: the level the tail must start at so that it continues the image sources without
    a step. The window should hold reflections only; a direct sound later than ``t_mix / 2``
    would be counted as reverberation.

    Parameters
    ----------
    arrivals : Arrivals
        The early arrivals of one source (image sources). Banded gains (K, B) must have
        B = ``len(rt60_s)`` bands; broadband gains (K,) are taken as the same gain in every
        band, and still give one value per band of ``rt60_s`` (each extrapolated with its own
        decay time).
    mixing_time_s : float
        Mixing time in seconds after emission, > 0.
    rt60_s : np.ndarray, shape (B,)
        Decay time per band in seconds, > 0.

    Returns
    -------
    np.ndarray, shape (B,)
        ``E0_b``, energy (sum of squared pressure gains) per second.

    Raises
    ------
    ParameterError
        For a bad mixing time or decay times, banded gains with another number of bands, or
        no arrival in the window (the mixing time is too short for the room, or too few
        reflection orders were computed to reach it).

    Examples
    --------
    >>> from soundstage.acoustics.arrivals import Arrivals
    >>> delays = np.arange(0.05, 0.1, 0.001)   # one unit arrival per millisecond
    >>> a = Arrivals(delays, np.ones(50), np.tile([1.0, 0.0, 0.0], (50, 1)), delays * 343.0)
    >>> energy_rate_at(a, 0.1, np.array([1e6])).round(1)   # no decay: 1000 per second
    array([1000.])
    """
    if not (np.isscalar(mixing_time_s) and np.isfinite(mixing_time_s) and mixing_time_s > 0):
        raise ParameterError(f"mixing_time_s must be a finite time > 0 s, got {mixing_time_s!r}")
    rt60 = np.asarray(rt60_s, dtype=float)
    if rt60.ndim != 1 or rt60.size == 0:
        raise ParameterError(f"rt60_s must be 1-D with one decay time per band, got shape {rt60.shape}")
    if not (np.all(np.isfinite(rt60)) and np.all(rt60 > 0)):
        raise ParameterError("rt60_s must be finite and positive (seconds of 60 dB decay)")
    gain = np.asarray(arrivals.gain, dtype=float)
    if arrivals.is_banded:
        if gain.shape[1] != rt60.size:
            raise ParameterError(
                f"the arrivals have {gain.shape[1]} bands but rt60_s has {rt60.size}; give one decay time per band"
            )
        energy = gain**2
    else:
        energy = np.repeat(gain[:, None] ** 2, rt60.size, axis=1)
    delay = np.asarray(arrivals.delay_s, dtype=float)
    in_window = (delay >= 0.5 * mixing_time_s) & (delay < mixing_time_s)
    if not np.any(in_window):
        raise ParameterError(
            f"no arrival between {500.0 * mixing_time_s:.1f} and {1000.0 * mixing_time_s:.1f} ms to set the tail's "
            "level: the mixing time is too short for the room, or raise the image-source order to reach it"
        )
    window_energy = energy[in_window].sum(axis=0)
    rate = ENERGY_DECAY_60DB / rt60
    # ∫_{t_mix/2}^{t_mix} exp(-rate (t - t_mix)) dt = expm1(rate t_mix / 2) / rate.
    return window_energy * rate / np.expm1(rate * 0.5 * mixing_time_s)


@functools.lru_cache(maxsize=8)
def _band_amplitudes(centers: tuple[float, ...], sample_rate: int, n_fft: int) -> np.ndarray:
    """``sqrt(band_weights)`` on an rfft grid, kept for the next source of the same room (read-only)."""
    amplitude = np.sqrt(band_weights(np.fft.rfftfreq(n_fft, 1.0 / sample_rate), np.asarray(centers), sample_rate))
    amplitude.flags.writeable = False
    return amplitude


def tail_length(decay: DiffuseDecay, sample_rate: int) -> int:
    """Default tail length in samples: until 60 dB of decay after the mixing time in the slowest band.

    Examples
    --------
    >>> d = DiffuseDecay(0.05, np.array([0.5, 1.0]), np.ones(2), np.array([500.0, 1000.0]))
    >>> tail_length(d, 48000)
    50400
    """
    return math.ceil((decay.mixing_time_s + float(np.max(decay.rt60_s))) * sample_rate)


def covariance_root(covariance: np.ndarray) -> np.ndarray:
    """Symmetric square root ``M`` of covariance matrices, ``M Mᵀ = C``, robust to rank deficiency.

    From the eigen-decomposition, with eigenvalues below zero (rounding) clipped to zero, so
    a rank-deficient covariance (a head's two ears at DC, fully coherent) is fine.

    Parameters
    ----------
    covariance : np.ndarray, shape (..., C, C)
        Real symmetric positive semi-definite matrices.

    Returns
    -------
    np.ndarray, shape (..., C, C)

    Examples
    --------
    >>> m = covariance_root(np.array([[1.0, 1.0], [1.0, 1.0]]))   # rank 1
    >>> (m @ m.T).round(12)
    array([[1., 1.],
           [1., 1.]])
    """
    values, vectors = np.linalg.eigh(0.5 * (covariance + np.swapaxes(covariance, -1, -2)))
    return (vectors * np.sqrt(np.clip(values, 0.0, None))[..., None, :]) @ np.swapaxes(vectors, -1, -2)


def diffuse_tail(
    encoder: Encoder,
    decay: DiffuseDecay,
    *,
    rng: np.random.Generator,
    n_taps: int | None = None,
) -> np.ndarray:
    """Synthesise one source's late reverberant tail in every output channel of ``encoder``.

    Band ``b`` of channel pair ``(c, c')`` has cross power spectral density
    ``energy_rate_b · C_b[c, c'] · exp(-13.8155 (t - t_mix) / T_b)`` at its centre (in
    energy per second, with ``C_b`` the encoder's diffuse covariance), joined to its
    neighbours by the power-complementary crossovers of
    :func:`~soundstage.acoustics.encoders.diffuse_field.band_weights`. So an omni channel receives exactly
    ``energy_rate_b`` per second at ``t_mix`` in band ``b``, continuing the early arrivals.

    Bands whose centre is at or above ``RESOLVABLE_FRACTION`` (0.45, in
    :mod:`~soundstage.acoustics.encoders.diffuse_field`) × ``sample_rate`` are dropped: the
    highest band below that already extends flat up to Nyquist, and above Nyquist there is nothing to
    render. The tail starts abruptly at the mixing time (where the early arrivals stop) and
    is faded out with a half cosine over its last 5 % so a truncated tail does not click.

    Parameters
    ----------
    encoder : Encoder
        The output format; provides ``sample_rate``, ``n_channels`` and
        :meth:`~soundstage.acoustics.encoders.base.Encoder.diffuse_covariance`.
    decay : DiffuseDecay
        Mixing time, decay times and energy rates of the source's diffuse field.
    rng : np.random.Generator
        Source of the noise (seed it for reproducible renders).
    n_taps : int or None
        Length in samples; None lasts until 60 dB of decay in the slowest band
        (:func:`tail_length`).

    Returns
    -------
    np.ndarray, shape (n_channels, n_taps)
        float64 at ``encoder.sample_rate``; tap 0 is the moment the source emits, taps before
        ``mixing_time_s`` are zero.

    Raises
    ------
    ParameterError
        For an ``rng`` that is not a numpy Generator, a bad ``n_taps``, or bands of which none
        is below ``RESOLVABLE_FRACTION`` × ``sample_rate``.

    Examples
    --------
    >>> from soundstage.acoustics.encoders.omni import OmniEncoder
    >>> d = DiffuseDecay(0.01, np.array([0.3, 0.2]), np.array([1.0, 0.5]), np.array([500.0, 2000.0]))
    >>> tail = diffuse_tail(OmniEncoder(16000), d, rng=np.random.default_rng(0))
    >>> tail.shape, bool(np.all(tail[:, :160] == 0.0)), bool(tail[0, 160] != 0.0)
    ((1, 4960), True, True)
    """
    if not isinstance(rng, np.random.Generator):
        raise ParameterError(f"rng must be a numpy Generator (np.random.default_rng(seed)), got {type(rng).__name__}")
    sample_rate = int(encoder.sample_rate)
    centers = check_band_centers(decay.band_centers_hz, sample_rate)
    if n_taps is None:
        n_taps = tail_length(decay, sample_rate)
    if not (isinstance(n_taps, int | np.integer) and not isinstance(n_taps, bool) and n_taps >= 1):
        raise ParameterError(f"n_taps must be a positive integer number of samples, got {n_taps!r}")
    n_channels = encoder.n_channels
    out = np.zeros((n_channels, int(n_taps)))
    start = math.ceil(decay.mixing_time_s * sample_rate)
    length = int(n_taps) - start
    if length <= 0:
        return out
    covariance = np.asarray(encoder.diffuse_covariance(centers), dtype=float)
    if covariance.shape != (len(centers), n_channels, n_channels):
        raise ParameterError(
            f"encoder {encoder.name!r} returned a diffuse covariance of shape {covariance.shape}, "
            f"expected {(len(centers), n_channels, n_channels)}"
        )
    mixing = covariance_root(covariance)

    # Circular (frequency-domain) filtering of white noise is exact and stationary: no transient,
    # no group delay, and the band weights are applied exactly rather than through a windowed FIR design.
    n_fft = fft.next_fast_len(length)
    n_fft += n_fft % 2  # even, so the last rfft bin is Nyquist (real)
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    amplitude = _band_amplitudes(tuple(centers.tolist()), int(sample_rate), n_fft)  # (B, F)
    # Scale of the rfft bins of unit-variance white noise: var n/2 per real part inside, n at DC and Nyquist.
    bin_scale = np.full(len(freqs), math.sqrt(n_fft / 2.0))
    bin_scale[[0, -1]] = math.sqrt(n_fft)
    real_bins = np.zeros(len(freqs), dtype=bool)
    real_bins[[0, -1]] = True

    elapsed = (start + np.arange(length)) / sample_rate - decay.mixing_time_s
    resolvable = centers < RESOLVABLE_FRACTION * sample_rate
    for band in np.flatnonzero(resolvable & (decay.energy_rate > 0)):
        support = np.flatnonzero(amplitude[band] > 0)
        lo, hi = int(support[0]), int(support[-1]) + 1
        noise = rng.standard_normal((2, n_channels, hi - lo))
        noise[1][:, real_bins[lo:hi]] = 0.0
        # Transformed back in single precision (numpy's FFT keeps it): noise needs no more, and it halves the
        # work that is most of a room render's per-source cost.
        spectrum = np.zeros((n_channels, len(freqs)), dtype=np.complex64)
        spectrum[:, lo:hi] = (mixing[band] @ (noise[0] + 1j * noise[1])) * (bin_scale * amplitude[band])[lo:hi]
        band_noise = fft.irfft(spectrum, n_fft, axis=-1)[:, :length]
        envelope = np.sqrt(decay.energy_rate[band] / sample_rate) * np.exp(
            -0.5 * ENERGY_DECAY_60DB * elapsed / decay.rt60_s[band]
        )
        band_noise *= envelope
        out[:, start:] += band_noise
    n_fade = max(round(FADE_OUT_FRACTION * length), 1)
    out[:, int(n_taps) - n_fade :] *= 0.5 * (1.0 + np.cos(np.pi * (np.arange(n_fade) + 1) / n_fade))
    return out
