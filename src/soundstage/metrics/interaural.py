"""Interaural cues of a binaural signal: time difference, level difference per band, coherence.

Definitions (signs follow :mod:`soundstage.conventions`: positive means the LEFT side)

* **ITD** by GCC-PHAT (Knapp & Carter 1976): the cross-spectrum ``conj(L) R`` is whitened
  (divided by its magnitude) and transformed back; the lag of its maximum within
  ``±max_lag_s`` is how much later the right ear hears the signal. ITD > 0: the left ear
  leads. The peak is refined below one sample by a parabola through the best whole-sample
  lag and its neighbours, then Newton steps on the band-limited (Fourier) interpolation of
  the correlation.
* **ILD** per band: ``10 log10(P_left / P_right)`` of the power in each band, > 0 when the
  left ear is louder. ``"erb"`` bands are rectangular FFT bands one ERB wide (Glasberg &
  Moore 1990: ERB-number ``21.4 log10(1 + 0.00437 f)``), centred on whole ERB-numbers from
  50 Hz up to the lesser of 16 kHz and 90 % of Nyquist; ``"octave"`` bands are centred on
  ``1000 · 2^k`` Hz with edges a half octave either side, kept while their top edge is below
  Nyquist.
* **Interaural coherence** (ISO 3382-1's IACC, over the whole band): the largest absolute
  value of the normalised cross-correlation ``Σ l(t) r(t + τ) / sqrt(Σ l² Σ r²)`` for
  ``|τ| ≤ max_lag_s``, in [0, 1]; 1 for a delayed, scaled copy, near 0 for independent noise.

References
----------
Knapp, C. H. & Carter, G. C. (1976). The generalized correlation method for estimation of
time delay. IEEE Trans. ASSP 24(4), 320-327.
Glasberg, B. R. & Moore, B. C. J. (1990). Derivation of auditory filter shapes from
notched-noise data. Hearing Research 47, 103-138.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.fft import irfft, next_fast_len, rfft

from soundstage.errors import ParameterError

#: Frames and signals whose mean power is below this (-200 dB FS) count as silent.
SILENCE_POWER = 1e-20
#: Level reported for a silent frame, in dB FS (a floor rather than -inf, so plots and sums work).
SILENT_LEVEL_DB = -200.0
#: Whitening floor of GCC-PHAT, relative to the mean cross-spectrum magnitude: bins far weaker
#: than this (e.g. the band an anti-aliasing filter removed) keep their small weight instead of
#: having numerical noise blown up to full weight.
PHAT_FLOOR = 1e-3
#: Frames whose reference level is more than this many dB below the loudest frame are left
#: out of :func:`cue_errors` (silence and fades carry no cue).
CUE_GATE_DB = 40.0
#: Newton steps refining a correlation peak below one sample (each at least doubles the correct digits).
_NEWTON_STEPS = 3
_ERB_LOW_HZ = 50.0
_ERB_HIGH_HZ = 16000.0


@dataclass
class InterauralCues:
    """Interaural cues frame by frame.

    Attributes
    ----------
    times_s : np.ndarray, shape (n_frames,)
        Centre of each frame in seconds.
    itd_s : np.ndarray, shape (n_frames,)
        GCC-PHAT ITD in seconds (> 0: left ear leads); NaN in silent frames.
    ild_db : np.ndarray, shape (n_frames,)
        Mean over ERB bands (each band weighted equally, in dB) of the band ILDs, > 0 when
        the left ear is louder; NaN in silent frames. Averaging band ILDs rather than taking
        the broadband power ratio keeps the value independent of the source's spectrum.
    coherence : np.ndarray, shape (n_frames,)
        Interaural coherence in [0, 1]; NaN in silent frames.
    level_db : np.ndarray, shape (n_frames,)
        Frame level in dB FS: mean square over both ears of the windowed frame, divided by the
        window's mean square (so 0 dB is a signal of mean square 1, e.g. ±1 full-scale DC);
        ``SILENT_LEVEL_DB`` for silent frames.
    """

    times_s: np.ndarray
    itd_s: np.ndarray
    ild_db: np.ndarray
    coherence: np.ndarray
    level_db: np.ndarray


def gcc_phat_itd(left: np.ndarray, right: np.ndarray, sample_rate: int, *, max_lag_s: float = 1e-3) -> float:
    """Interaural time difference by GCC-PHAT, with a sub-sample peak.

    Parameters
    ----------
    left, right : np.ndarray, shape (n_samples,)
        The two ear signals.
    sample_rate : int
        In Hz.
    max_lag_s : float, default 1e-3
        The peak is searched within ``±max_lag_s`` seconds.

    Returns
    -------
    float
        ITD in seconds, > 0 when the left ear leads.

    Raises
    ------
    ParameterError
        For signals of other shapes or lengths, non-finite samples, or silence.

    Examples
    --------
    >>> x = np.random.default_rng(0).standard_normal(4000)
    >>> round(gcc_phat_itd(x[5:], x[:-5], 16000) * 16000, 3)   # the right ear hears it 5 samples later
    5.0
    """
    left, right = _check_pair(left, right, sample_rate, max_lag_s)
    n = next_fast_len(2 * left.size)
    cross = np.conj(rfft(left, n)) * rfft(right, n)
    lag, _ = correlation_peak(phat_weight(cross), n, max_lag_s * sample_rate)
    return float(lag[()] / sample_rate)


def interaural_coherence(left: np.ndarray, right: np.ndarray, sample_rate: int, *, max_lag_s: float = 1e-3) -> float:
    """Largest absolute normalised cross-correlation of the ears within ``±max_lag_s``.

    Parameters
    ----------
    left, right : np.ndarray, shape (n_samples,)
        The two ear signals.
    sample_rate : int
        In Hz.
    max_lag_s : float, default 1e-3
        Lag range in seconds.

    Returns
    -------
    float
        In [0, 1].

    Raises
    ------
    ParameterError
        For signals of other shapes or lengths, non-finite samples, or silence.

    Examples
    --------
    >>> x = np.random.default_rng(0).standard_normal(4000)
    >>> round(interaural_coherence(x[3:], 0.5 * x[:-3], 16000), 3)
    1.0
    """
    left, right = _check_pair(left, right, sample_rate, max_lag_s)
    n = next_fast_len(2 * left.size)
    cross = np.conj(rfft(left, n)) * rfft(right, n)
    _, peak = correlation_peak(cross, n, max_lag_s * sample_rate, absolute=True)
    norm = np.sqrt(np.sum(left**2) * np.sum(right**2))
    return float(np.clip(peak[()] / norm, 0.0, 1.0))


def band_ild_db(
    left: np.ndarray, right: np.ndarray, sample_rate: int, *, bands: str = "erb"
) -> tuple[np.ndarray, np.ndarray]:
    """Interaural level difference per ERB or octave band.

    Parameters
    ----------
    left, right : np.ndarray, shape (n_samples,)
        The two ear signals.
    sample_rate : int
        In Hz.
    bands : {"erb", "octave"}, default "erb"
        Band layout (see the module docstring).

    Returns
    -------
    centres_hz : np.ndarray, shape (n_bands,)
        Band centre frequencies in Hz (bands without any FFT bin are left out).
    ild_db : np.ndarray, shape (n_bands,)
        ``10 log10(P_left / P_right)``; NaN in a band where both ears carry no energy (below
        1e-12 of the strongest band), clipped to ±120 dB where only one ear does.

    Raises
    ------
    ParameterError
        For an unknown ``bands``, mismatched signals or silence.

    Examples
    --------
    >>> x = np.random.default_rng(0).standard_normal(8000)
    >>> centres, ild = band_ild_db(2.0 * x, x, 16000, bands="octave")
    >>> centres[:3], bool(np.allclose(ild, 20 * np.log10(2.0)))
    (array([ 31.25,  62.5 , 125.  ]), True)
    """
    left, right = _check_pair(left, right, sample_rate, 1e-3)
    freqs = np.fft.rfftfreq(left.size, 1.0 / sample_rate)
    centres, matrix = band_matrix(freqs, sample_rate, bands)
    powers = np.stack([np.abs(rfft(left)) ** 2, np.abs(rfft(right)) ** 2]) @ matrix.T
    return centres, ild_from_band_powers(powers[0], powers[1])


def interaural_cues(
    binaural: np.ndarray, sample_rate: int, *, frame_s: float = 0.02, hop_s: float = 0.01
) -> InterauralCues:
    """ITD, ILD, coherence and level frame by frame.

    Each frame is Hann-windowed; the cues are those of :func:`gcc_phat_itd`,
    :func:`band_ild_db` (ERB bands, averaged in dB) and :func:`interaural_coherence` with
    ``max_lag_s = 1 ms``, computed on the windowed frame.

    Parameters
    ----------
    binaural : np.ndarray, shape (2, n_samples)
        Left ear first.
    sample_rate : int
        In Hz.
    frame_s : float, default 0.02
        Frame length in seconds (at least 2.5 ms so the ±1 ms search fits).
    hop_s : float, default 0.01
        Hop between frames in seconds.

    Returns
    -------
    InterauralCues

    Raises
    ------
    ParameterError
        For a signal that is not two-channel, too short for one frame, or bad frame sizes.

    Examples
    --------
    >>> x = np.random.default_rng(0).standard_normal(8000)
    >>> cues = interaural_cues(np.stack([x[4:], x[:-4]]), 16000)
    >>> cues.itd_s.shape, bool(np.all(np.abs(cues.itd_s * 16000 - 4) < 0.05))
    ((48,), True)
    """
    return frame_cues(binaural, sample_rate, frame_s=frame_s, hop_s=hop_s)


def cue_errors(pred: np.ndarray, ref: np.ndarray, sample_rate: int) -> dict[str, float]:
    """How far the interaural cues of a prediction are from those of a reference render.

    Both are analysed with :func:`interaural_cues` (20 ms frames, 10 ms hop). Only frames
    where the *reference* is within ``CUE_GATE_DB`` (40 dB) of its loudest frame count, so
    silence does not. A frame the prediction leaves silent has no cue of its own and is
    scored as centred and incoherent (ITD 0, ILD 0 dB, coherence 0).

    Parameters
    ----------
    pred, ref : np.ndarray, shape (2, n_samples)
        Binaural signals of the same length, left ear first.
    sample_rate : int
        In Hz, shared by both.

    Returns
    -------
    dict
        ``"itd_error_us"``: mean absolute ITD difference in microseconds;
        ``"ild_error_db"``: mean over frames and ERB bands (bands where the reference has
        energy) of the absolute band-ILD difference, in dB;
        ``"coherence_error"``: mean absolute coherence difference.

    Raises
    ------
    ParameterError
        For mismatched shapes, non-binaural input, or a silent reference.

    Examples
    --------
    >>> x = np.random.default_rng(0).standard_normal(8000)
    >>> ref = np.stack([x[8:], x[:-8]])
    >>> errors = cue_errors(ref, ref, 16000)
    >>> sorted(errors), errors["itd_error_us"]
    (['coherence_error', 'ild_error_db', 'itd_error_us'], 0.0)
    """
    pred = _check_binaural(pred, "prediction")
    ref = _check_binaural(ref, "reference")
    if pred.shape != ref.shape:
        raise ParameterError(
            f"prediction has shape {pred.shape} but reference has {ref.shape}; trim or pad them to the same length"
        )
    ref_cues, ref_bands = frame_cues(ref, sample_rate, with_bands=True)
    pred_cues, pred_bands = frame_cues(pred, sample_rate, with_bands=True)
    loud = ref_cues.level_db > SILENT_LEVEL_DB
    if not np.any(loud):
        raise ParameterError("the reference is silent, so its interaural cues (and the errors) are undefined")
    used = loud & (ref_cues.level_db >= ref_cues.level_db[loud].max() - CUE_GATE_DB)
    itd = np.nan_to_num(pred_cues.itd_s[used], nan=0.0)
    coherence = np.nan_to_num(pred_cues.coherence[used], nan=0.0)
    band_ref = ref_bands[used]
    band_pred = np.nan_to_num(pred_bands[used], nan=0.0)
    scored = np.isfinite(band_ref)
    return {
        "itd_error_us": float(np.mean(np.abs(itd - ref_cues.itd_s[used])) * 1e6),
        "ild_error_db": float(np.mean(np.abs(band_pred - band_ref)[scored])) if np.any(scored) else 0.0,
        "coherence_error": float(np.mean(np.abs(coherence - ref_cues.coherence[used]))),
    }


# --- building blocks shared with the binaural localizer ---------------------------------------


def frame_cues(
    binaural: np.ndarray,
    sample_rate: int,
    *,
    frame_s: float = 0.02,
    hop_s: float = 0.01,
    itd_band_hz: tuple[float, float] | None = None,
    ild_band_hz: tuple[float, float] | None = None,
    with_bands: bool = False,
):
    """:func:`interaural_cues` with the ITD and ILD restricted to frequency ranges.

    Parameters
    ----------
    binaural, sample_rate, frame_s, hop_s
        As in :func:`interaural_cues`.
    itd_band_hz : (low, high) or None
        GCC-PHAT uses only bins in this range (None: all).
    ild_band_hz : (low, high) or None
        The frame ILD averages only ERB bands whose centre is in this range (None: all).
    with_bands : bool
        Also return the per-band ILDs, shape (n_frames, n_bands).

    Returns
    -------
    InterauralCues, or (InterauralCues, np.ndarray) when ``with_bands``.
    """
    binaural = _check_binaural(binaural, "binaural signal")
    _check_rate(sample_rate)
    frame = int(np.round(frame_s * sample_rate))
    hop = int(np.round(hop_s * sample_rate))
    max_lag = 1e-3 * sample_rate
    if not np.isfinite(frame_s) or frame < 2.5 * max_lag or frame < 8:
        raise ParameterError(f"frame_s={frame_s} is too short; use at least 0.0025 s (the ±1 ms search must fit)")
    if not np.isfinite(hop_s) or hop < 1:
        raise ParameterError(f"hop_s={hop_s} is shorter than one sample; use e.g. 0.01")
    n_samples = binaural.shape[1]
    if n_samples < frame:
        raise ParameterError(
            f"the signal has {n_samples} samples, fewer than one {frame_s * 1000:g} ms frame ({frame}); "
            "give a clip of at least one frame (from Python, frame_s sets the frame)"
        )
    starts = np.arange(0, n_samples - frame + 1, hop)
    window = np.hanning(frame + 2)[1:-1]  # no zero end points: every sample counts
    frames = binaural[:, starts[:, None] + np.arange(frame)] * window  # (2, F, frame)
    n = next_fast_len(2 * frame)
    spectra = rfft(frames, n, axis=-1)
    freqs = np.fft.rfftfreq(n, 1.0 / sample_rate)
    power = np.mean(frames**2, axis=(0, 2)) / np.mean(window**2)
    silent = power < SILENCE_POWER
    cross = np.conj(spectra[0]) * spectra[1]

    # ITD: whitened and band-limited cross-spectrum.
    band = np.ones(freqs.shape, bool) if itd_band_hz is None else (freqs >= itd_band_hz[0]) & (freqs <= itd_band_hz[1])
    itd, _ = correlation_peak(phat_weight(cross, band), n, max_lag)
    # Coherence: plain cross-correlation normalised by the frame energies.
    _, peak = correlation_peak(cross, n, max_lag, absolute=True)
    energy = np.sqrt(np.sum(frames[0] ** 2, axis=-1) * np.sum(frames[1] ** 2, axis=-1))
    coherence = np.clip(peak / np.where(energy > 0, energy, 1.0), 0.0, 1.0)
    # ILD: ERB-band powers, averaged in dB over bands with energy.
    centres, matrix = band_matrix(freqs, sample_rate, "erb")
    bands_ild = ild_from_band_powers(np.abs(spectra[0]) ** 2 @ matrix.T, np.abs(spectra[1]) ** 2 @ matrix.T)
    chosen = bands_ild
    if ild_band_hz is not None:
        chosen = bands_ild[:, (centres >= ild_band_hz[0]) & (centres <= ild_band_hz[1])]
    has_energy = np.any(np.isfinite(chosen), axis=1)
    ild = np.full(len(starts), np.nan)
    ild[has_energy] = np.nanmean(chosen[has_energy], axis=1)

    cues = InterauralCues(
        times_s=(starts + frame / 2) / sample_rate,
        itd_s=np.where(silent, np.nan, itd / sample_rate),
        ild_db=np.where(silent, np.nan, ild),
        coherence=np.where(silent, np.nan, coherence),
        level_db=np.where(silent, SILENT_LEVEL_DB, 10 * np.log10(np.maximum(power, SILENCE_POWER))),
    )
    if with_bands:
        return cues, np.where(silent[:, None], np.nan, bands_ild)
    return cues


def phat_weight(cross: np.ndarray, band: np.ndarray | None = None) -> np.ndarray:
    """Whiten a cross-spectrum (PHAT), optionally keeping only the bins in ``band``.

    Parameters
    ----------
    cross : np.ndarray, shape (..., n_bins), complex
        Cross-spectra ``conj(L) R``.
    band : np.ndarray of bool, shape (n_bins,), optional
        Bins to keep; the others get weight 0.

    Returns
    -------
    np.ndarray, same shape
        ``cross / max(|cross|, floor)`` with ``floor = PHAT_FLOOR`` times the mean magnitude
        over the kept bins, per spectrum.
    """
    magnitude = np.abs(cross)
    if band is not None:
        magnitude = magnitude * band
    floor = PHAT_FLOOR * np.mean(magnitude, axis=-1, keepdims=True)
    weighted = cross / np.maximum(magnitude, np.where(floor > 0, floor, 1.0))
    return weighted * band if band is not None else weighted


def correlation_peak(
    cross: np.ndarray, n: int, max_lag: float, *, absolute: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Lag and height of the largest value of a correlation given by its spectrum.

    The largest value at whole-sample lags is refined by a parabola through it and its
    neighbours, then by Newton steps on the band-limited (Fourier) interpolation of the
    correlation, ``c(τ) = (1/n) Σ_k w_k Re(X_k e^{iω_k τ})`` with ``ω_k = 2πk / n``, whose
    first two derivatives are the same sum with ``X_k`` times ``iω_k`` and ``-ω_k²``.

    Parameters
    ----------
    cross : np.ndarray, shape (..., n // 2 + 1), complex
        One-sided spectrum of the correlation (``conj(L) R`` or a weighted version).
    n : int
        Transform length the spectrum was taken with.
    max_lag : float
        Search range in samples (``|lag| ≤ max_lag``).
    absolute : bool, default False
        Look for the largest absolute value instead of the largest value.

    Returns
    -------
    lag : np.ndarray, shape (...)
        Peak lag in (fractional) samples; > 0 when ``R`` lags ``L``.
    height : np.ndarray, shape (...)
        Interpolated correlation value (absolute when ``absolute``) at the peak.
    """
    limit = int(np.floor(max_lag))
    lags = np.arange(-limit, limit + 1)
    values = irfft(cross, n, axis=-1)[..., lags % n]
    score = np.abs(values) if absolute else values
    best = np.argmax(score, axis=-1)
    # Maximise sign · c, so that a negative extreme counts when looking for the largest |c|.
    sign = np.sign(np.take_along_axis(values, best[..., None], -1)[..., 0]) if absolute else np.ones(best.shape)
    sign = np.where(sign == 0, 1.0, sign)
    around = np.clip(best[..., None] + np.array([-1, 0, 1]), 0, lags.size - 1)
    y0, y1, y2 = np.moveaxis(sign[..., None] * np.take_along_axis(values, around, -1), -1, 0)
    curvature = y0 - 2 * y1 + y2
    start = 0.5 * (y0 - y2) / np.where(curvature < 0, curvature, -np.inf)
    lag = lags[best] + np.clip(start, -0.5, 0.5)

    omega = 2 * np.pi * np.arange(cross.shape[-1]) / n
    weights = np.full(omega.shape, 2.0 / n)
    weights[0] = 1.0 / n
    if n % 2 == 0:
        weights[-1] = 1.0 / n
    spectrum = sign[..., None] * cross * weights
    for _ in range(_NEWTON_STEPS):
        turn = spectrum * np.exp(1j * omega * lag[..., None])
        slope = np.real(np.sum(turn * (1j * omega), axis=-1))
        bend = np.real(np.sum(turn * -(omega**2), axis=-1))
        # Only step where the curve is concave (a maximum is near); never more than half a sample.
        lag = lag + np.clip(-slope / np.where(bend < 0, bend, -np.inf), -0.5, 0.5)
        lag = np.clip(lag, -max_lag, max_lag)
    height = np.real(np.sum(spectrum * np.exp(1j * omega * lag[..., None]), axis=-1))
    return lag, height


def band_matrix(freqs: np.ndarray, sample_rate: int, bands: str) -> tuple[np.ndarray, np.ndarray]:
    """Which FFT bins make up each band.

    Parameters
    ----------
    freqs : np.ndarray, shape (n_bins,)
        Bin frequencies in Hz.
    sample_rate : int
        In Hz.
    bands : {"erb", "octave"}
        Band layout (see the module docstring).

    Returns
    -------
    centres_hz : np.ndarray, shape (n_bands,)
    matrix : np.ndarray, shape (n_bands, n_bins)
        1 where a bin belongs to a band; bands without any bin are left out.
    """
    nyquist = sample_rate / 2
    if bands == "erb":
        top = min(_ERB_HIGH_HZ, 0.9 * nyquist)
        numbers = np.arange(np.ceil(erb_number(_ERB_LOW_HZ)), np.floor(erb_number(top)) + 1)
        centres = erb_number_to_hz(numbers)
        low, high = erb_number_to_hz(numbers - 0.5), erb_number_to_hz(numbers + 0.5)
    elif bands == "octave":
        centres = 1000.0 * 2.0 ** np.arange(-5, 5)
        low, high = centres / np.sqrt(2), centres * np.sqrt(2)
        keep = high <= nyquist
        centres, low, high = centres[keep], low[keep], high[keep]
    else:
        raise ParameterError(f"bands={bands!r} is not known; use 'erb' or 'octave'")
    matrix = ((freqs >= low[:, None]) & (freqs < high[:, None])).astype(float)
    occupied = matrix.sum(axis=1) > 0
    return centres[occupied], matrix[occupied]


def ild_from_band_powers(left_power: np.ndarray, right_power: np.ndarray) -> np.ndarray:
    """``10 log10(left / right)`` per band, NaN where neither ear has energy, else within ±120 dB.

    The floor is 1e-12 of the strongest band of either ear (per row when 2-D).
    """
    peak = np.maximum(left_power.max(axis=-1, keepdims=True), right_power.max(axis=-1, keepdims=True))
    floor = 1e-12 * np.where(peak > 0, peak, 1.0)
    ild = 10 * np.log10(np.maximum(left_power, floor) / np.maximum(right_power, floor))
    return np.where((left_power < floor) & (right_power < floor), np.nan, ild)


def erb_number(freq_hz: np.ndarray | float) -> np.ndarray:
    """ERB-number (Cams) of a frequency, Glasberg & Moore (1990).

    Examples
    --------
    >>> round(float(erb_number(1000.0)), 2)
    15.62
    """
    return 21.4 * np.log10(1.0 + 0.00437 * np.asarray(freq_hz, dtype=float))


def erb_number_to_hz(number: np.ndarray | float) -> np.ndarray:
    """Inverse of :func:`erb_number`."""
    return (10.0 ** (np.asarray(number, dtype=float) / 21.4) - 1.0) / 0.00437


def _check_rate(sample_rate: int) -> None:
    if not np.isfinite(sample_rate) or sample_rate <= 0:
        raise ParameterError(f"sample_rate={sample_rate} must be a positive number of Hz, e.g. 48000")


def _check_pair(left, right, sample_rate: int, max_lag_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Validated float copies of two ear signals."""
    _check_rate(sample_rate)
    left = np.asarray(left, dtype=float)
    right = np.asarray(right, dtype=float)
    if left.ndim != 1 or right.ndim != 1:
        raise ParameterError(
            f"left and right must be 1-D signals, got shapes {left.shape} and {right.shape}; pass one ear each"
        )
    if left.size != right.size or left.size == 0:
        raise ParameterError(
            f"left has {left.size} samples and right {right.size}; the ears need the same, non-zero length"
        )
    if not (np.all(np.isfinite(left)) and np.all(np.isfinite(right))):
        raise ParameterError("the ear signals contain NaN or infinite samples; clean the input first")
    if not np.isfinite(max_lag_s) or max_lag_s <= 0:
        raise ParameterError(f"max_lag_s={max_lag_s} must be a positive number of seconds, e.g. 1e-3")
    if np.mean(left**2) < SILENCE_POWER or np.mean(right**2) < SILENCE_POWER:
        raise ParameterError("one ear (or both) is silent, so interaural cues are undefined")
    return left, right


def _check_binaural(audio, what: str) -> np.ndarray:
    """A validated float (2, n_samples) array."""
    audio = np.asarray(audio, dtype=float)
    if audio.ndim != 2 or audio.shape[0] != 2:
        raise ParameterError(
            f"the {what} must be binaural with shape (2, n_samples), got {audio.shape}; "
            "a mono signal carries no interaural cue"
        )
    if not np.all(np.isfinite(audio)):
        raise ParameterError(f"the {what} contains NaN or infinite samples; clean the input first")
    return audio
