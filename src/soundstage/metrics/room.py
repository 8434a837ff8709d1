"""Room-acoustic parameters of an impulse response (ISO 3382-1): T30, T20, EDT, C50, C80, DRR.

Definitions used here (``h`` is the impulse response, ``t = 0`` its direct-sound onset):

Onset
    The first sample whose squared value is within 20 dB of the squared peak (ISO 3382-1
    starts the response where it rises to no more than 20 dB below its maximum). Everything
    before it (pre-delay, leading noise) is dropped.
Energy decay curve (EDC)
    Schroeder's backward integral ``E(t) = ∫_t^∞ h²(τ) dτ``, in dB relative to ``E(0)``.
    With noise compensation, background noise is handled the Lundeby et al. (1995) way
    (one of the two methods ISO 3382-1 §5.3.4 allows): the integral is truncated where the
    late decay meets the noise floor, and the energy the decay would still have had beyond
    that point (extrapolated from the fitted late decay) is added back. Beyond the
    truncation point the curve is NaN: it carries no information there. Noise energy is
    *not* subtracted sample by sample (the other method), because that turns the curve's
    end into the logarithm of a difference of two noisy estimates. Trailing digital silence
    (zero padding) is dropped first: it is not background noise.
Decay times
    Least-squares line through the EDC samples between the evaluation limits, extrapolated
    to 60 dB of decay (``-60 / slope``): EDT from 0 to -10 dB, T20 from -5 to -25 dB, T30
    from -5 to -35 dB. ISO 3382-1 asks the bottom of the range to lie at least 10 dB above
    the noise floor, so EDT needs 20 dB, T20 35 dB and T30 45 dB between the start of the
    decay and the noise (the *dynamic range* below); with less, the value is NaN and
    ``warnings`` says why.
Clarity
    ``C50 = 10 log10(∫_0^50ms h² / ∫_50ms^∞ h²)``, C80 likewise with 80 ms, from the raw
    response (no noise correction).
Direct-to-reverberant ratio
    Direct energy in ``onset ± 2.5 ms``, reverberant energy everything after ``onset + 2.5 ms``;
    ``DRR = 10 log10(direct / reverberant)``. Reflections inside the window count as direct.
Octave bands
    With ``bands="octave"`` each band (125 Hz to 8 kHz, those below 0.45 × the sample rate)
    is measured on the response filtered by a 3rd-order Butterworth band-pass with edges at
    ``fc / √2`` and ``fc √2`` run forwards and backwards (zero phase, so no group delay moves
    the onset; the magnitude is the filter's squared, 6th-order skirts); each band finds its
    own onset.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from soundstage.errors import ParameterError
from soundstage.sample_rate import check_sample_rate

#: Evaluation limits (upper dB, lower dB) of the decay times, ISO 3382-1.
DECAY_RANGES: dict[str, tuple[float, float]] = {"EDT": (0.0, -10.0), "T20": (-5.0, -25.0), "T30": (-5.0, -35.0)}
#: How far above the noise floor the bottom of an evaluation range must be, dB (ISO 3382-1).
NOISE_MARGIN_DB = 10.0
#: The onset is the first sample within this many dB of the peak.
ONSET_THRESHOLD_DB = 20.0
#: Half-width of the direct-sound window of the DRR, seconds.
DIRECT_HALF_WINDOW_S = 0.0025
#: Octave-band centre frequencies, Hz.
OCTAVE_CENTRES_HZ = (125.0, 250.0, 500.0, 1000.0, 2000.0, 4000.0, 8000.0)

_FIELDS = ("t30_s", "t20_s", "edt_s", "c50_db", "c80_db", "drr_db")
_DECAY_FIELDS = {"EDT": "edt_s", "T20": "t20_s", "T30": "t30_s"}


@dataclass
class DecayFit:
    """One least-squares line through the energy decay curve.

    Attributes
    ----------
    name : str
        ``"EDT"``, ``"T20"`` or ``"T30"``.
    decay_time_s : float
        Time for 60 dB of decay at the fitted slope, seconds.
    slope_db_per_s : float
        Fitted slope (negative), dB/s.
    intercept_db : float
        Fitted level at the onset, dB.
    times_s : np.ndarray, shape (n,)
        Times since the onset of the EDC samples fitted, seconds.
    level_db : np.ndarray, shape (n,)
        The fitted line at those times, dB (for plots).
    """

    name: str
    decay_time_s: float
    slope_db_per_s: float
    intercept_db: float
    times_s: np.ndarray
    level_db: np.ndarray


@dataclass
class RoomAcoustics:
    """ISO 3382-1 parameters of one impulse response (see the module notes for definitions).

    Attributes
    ----------
    t30_s, t20_s, edt_s : float
        Decay times in seconds; NaN when the decay range is not available (see ``warnings``).
    c50_db, c80_db : float
        Clarity in dB; NaN when the response is too short or has no late energy.
    drr_db : float
        Direct-to-reverberant ratio in dB; NaN when there is no reverberant energy.
    edc_db : np.ndarray, shape (n_samples - onset,)
        Energy decay curve from the onset (index 0 = onset, 0 dB), NaN past the
        noise-truncation point.
    fits : list of DecayFit
        The line fits that gave finite decay times (for plots).
    warnings : list of str
        One line per NaN value saying why, plus any other caveat.
    onset_s : float
        Direct-sound onset, seconds from the start of the input.
    dynamic_range_db : float
        Level of the decay's start (10 ms average) above the estimated noise floor, dB.
    truncation_s : float
        Where the EDC integration was truncated (Lundeby crosspoint), seconds since the onset.
    bands : dict of str to RoomAcoustics
        Per octave band (keys ``"125"`` … ``"8000"``, Hz) when asked for.
    """

    t30_s: float
    t20_s: float
    edt_s: float
    c50_db: float
    c80_db: float
    drr_db: float
    edc_db: np.ndarray
    fits: list[DecayFit] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    onset_s: float = 0.0
    dynamic_range_db: float = math.nan
    truncation_s: float = math.nan
    bands: dict[str, RoomAcoustics] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values; per band ``"t30_s_1000hz"`` etc. as extra keys, band warnings prefixed."""
        out: dict[str, Any] = {name: float(getattr(self, name)) for name in _FIELDS}
        out["warnings"] = list(self.warnings)
        for centre, band in self.bands.items():
            for name in _FIELDS:
                out[f"{name}_{centre}hz"] = float(getattr(band, name))
            out["warnings"].extend(f"{centre} Hz band: {warning}" for warning in band.warnings)
        return out


def _check_ir(ir: np.ndarray, sample_rate: int) -> np.ndarray:
    check_sample_rate(sample_rate)
    ir = np.asarray(ir, dtype=float)
    if ir.ndim != 1:
        raise ParameterError(f"impulse response must be 1-D (one channel), got shape {ir.shape}; pass one channel")
    if not np.all(np.isfinite(ir)):
        raise ParameterError("impulse response contains NaN or infinite samples")
    if not np.any(ir):
        raise ParameterError("impulse response is silent (all zeros); nothing to measure")
    return ir


def onset_index(ir: np.ndarray) -> int:
    """Index of the direct-sound onset: the first sample within 20 dB of the peak.

    Examples
    --------
    >>> onset_index(np.array([0.0, 0.01, 0.5, 1.0, 0.2]))
    2
    """
    energy = np.asarray(ir, dtype=float) ** 2
    return int(np.argmax(energy >= energy.max() * 10.0 ** (-ONSET_THRESHOLD_DB / 10.0)))


def _block_means(energy: np.ndarray, block: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean energy per block of ``block`` samples and block-centre sample indices (last partial block dropped)."""
    block = max(1, min(block, len(energy)))
    n_blocks = len(energy) // block
    means = energy[: n_blocks * block].reshape(n_blocks, block).mean(axis=1)
    centres = np.arange(n_blocks) * block + (block - 1) / 2.0
    return means, centres


def _line(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Least-squares slope and intercept of ``y = slope x + intercept``."""
    slope, intercept = np.polyfit(x, y, 1)
    return float(slope), float(intercept)


def _db(value: np.ndarray | float) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(value)


def lundeby_truncation(energy: np.ndarray, sample_rate: int) -> tuple[int, float, float]:
    """Where the decay meets the noise floor, the energy beyond it, and the noise level (Lundeby et al. 1995).

    Parameters
    ----------
    energy : np.ndarray, shape (n,)
        Squared impulse response from its onset.
    sample_rate : int
        In Hz.

    Returns
    -------
    crosspoint : int
        Sample index (≤ n) at which to truncate the backward integration.
    tail_energy : float
        Energy (sum of squares) the fitted late decay would have after ``crosspoint``.
    noise_energy : float
        Mean squared value of the background noise (0 if none could be estimated).

    Notes
    -----
    The iteration: average the energy in 10 ms blocks; take the last 10 % as noise; fit the
    decay from its peak to 10 dB above the noise; intersect with the noise level. Then up to
    five times: choose blocks giving 5 per 10 dB of decay, re-estimate the noise from 5 dB of
    decay past the crosspoint (at least the last 10 %), fit the late decay over the 20 dB
    ending 5 dB above the noise, and intersect again, until the crosspoint moves by less than
    a block.
    """
    n = len(energy)
    tail_start = int(0.9 * n)
    noise = float(np.mean(energy[tail_start:])) if tail_start < n else 0.0
    means, centres = _block_means(energy, max(1, round(0.01 * sample_rate)))
    levels = _db(means)
    peak = int(np.argmax(means))
    above = levels[peak:] > _db(noise) + 10.0
    stop = peak + (int(np.argmin(above)) if not np.all(above) else len(above))
    if noise <= 0.0 or stop - peak < 2:
        # No noise to speak of, or no decay above it: integrate to the end as plain Schroeder does.
        return n, 0.0, noise
    slope, intercept = _line(centres[peak:stop], levels[peak:stop])
    if slope >= 0.0:
        return n, 0.0, noise
    crosspoint = (_db(noise) - intercept) / slope
    for _ in range(5):
        # Blocks short enough for 5 per 10 dB of decay, at least 1 ms.
        block = max(round(0.001 * sample_rate), round(-10.0 / slope / 5.0))
        means, centres = _block_means(energy, block)
        levels = _db(np.maximum(means, np.finfo(float).tiny))
        start = int(min(crosspoint + -5.0 / slope, tail_start))
        noise = float(np.mean(energy[max(start, 0) :])) if start < n else noise
        noise_db = float(_db(noise))
        peak = int(np.argmax(means))
        late = levels[peak:]
        first = int(np.argmax(late <= noise_db + 25.0)) if np.any(late <= noise_db + 25.0) else 0
        below = late[first:] <= noise_db + 5.0
        last = first + (int(np.argmax(below)) if np.any(below) else len(below))
        if last - first < 2:
            break
        new_slope, new_intercept = _line(centres[peak + first : peak + last], late[first:last])
        if new_slope >= 0.0:
            break
        slope, intercept = new_slope, new_intercept
        previous, crosspoint = crosspoint, (noise_db - intercept) / slope
        if abs(crosspoint - previous) < block:
            break
    crosspoint_index = int(np.clip(round(crosspoint), 1, n))
    # Energy of the extrapolated decay A e^{-k t} after the crosspoint: sum ≈ A(t_c) / (1 - e^{-k}).
    decay_per_sample = -slope * math.log(10.0) / 10.0
    level_at_cross = 10.0 ** ((intercept + slope * crosspoint_index) / 10.0)
    tail = level_at_cross / -math.expm1(-decay_per_sample) if crosspoint_index < n else 0.0
    return crosspoint_index, float(tail), noise


def schroeder_decay_db(ir: np.ndarray, sample_rate: int, *, noise_compensation: bool = True) -> np.ndarray:
    """Schroeder energy decay curve of an impulse response, in dB, 0 dB at its first sample.

    Parameters
    ----------
    ir : np.ndarray, shape (n_samples,)
        Impulse response; its first sample is ``t = 0`` (see :func:`onset_index` to trim a pre-delay).
    sample_rate : int
        In Hz.
    noise_compensation : bool, default True
        Truncate at the Lundeby crosspoint and add the extrapolated tail energy (module notes);
        the curve is NaN after the truncation point. False integrates to the end as it is.

    Returns
    -------
    np.ndarray, shape (n_samples,)
        ``10 log10(E(t) / E(0))``; -inf where no energy remains (plain integration only).

    Raises
    ------
    ParameterError
        For a response that is not 1-D, not finite or silent, or a bad sample rate.

    Examples
    --------
    >>> schroeder_decay_db(np.array([1.0, 0.0, 0.0, 0.0]), 8000, noise_compensation=False)[:1]
    array([0.])
    """
    ir = _check_ir(ir, sample_rate)
    energy = ir**2
    if not noise_compensation:
        remaining = np.cumsum(energy[::-1])[::-1]
        return _db(remaining / remaining[0])
    crosspoint, tail, _ = lundeby_truncation(energy, sample_rate)
    remaining = np.full(len(energy), np.nan)
    remaining[:crosspoint] = np.cumsum(energy[:crosspoint][::-1])[::-1] + tail
    return _db(remaining / remaining[0])


def _fit_decay(edc_db: np.ndarray, sample_rate: int, name: str) -> DecayFit | str:
    """The line fit of one decay time, or why there is none."""
    upper, lower = DECAY_RANGES[name]
    finite = np.isfinite(edc_db)
    reached = np.flatnonzero(finite & (edc_db <= lower))
    if len(reached) == 0:
        lowest = float(np.nanmin(np.where(finite, edc_db, np.nan))) if np.any(finite) else 0.0
        return f"the decay curve only falls to {lowest:.1f} dB before the noise or the end of the response"
    end = int(reached[0])
    start = int(np.argmax(edc_db[: end + 1] <= upper))
    if end - start < 2:
        return f"fewer than 3 samples between {upper:g} and {lower:g} dB (decay too fast for the sample rate)"
    index = np.arange(start, end + 1)
    times = index / sample_rate
    slope, intercept = _line(times, edc_db[index])
    if slope >= 0.0:
        return "the decay curve does not fall over the evaluation range"
    return DecayFit(name, -60.0 / slope, slope, intercept, times, intercept + slope * times)


def _ratio_db(numerator: float, denominator: float) -> float:
    return 10.0 * math.log10(numerator / denominator)


def room_acoustics(ir: np.ndarray, sample_rate: int, *, bands: str | None = None) -> RoomAcoustics:
    """T30, T20, EDT, C50, C80 and DRR of an impulse response (ISO 3382-1; module notes define each).

    Parameters
    ----------
    ir : np.ndarray, shape (n_samples,)
        One channel of a room impulse response.
    sample_rate : int
        In Hz.
    bands : {None, "octave"}, default None
        Also measure each octave band from 125 Hz to 8 kHz (``bands`` of the result).

    Returns
    -------
    RoomAcoustics
        Any NaN value comes with a line in ``warnings`` saying why.

    Raises
    ------
    ParameterError
        For a silent, non-finite or multi-channel response, a bad sample rate or an unknown ``bands``.

    Examples
    --------
    >>> rate = 8000
    >>> t = np.arange(rate) / rate
    >>> ir = np.where(np.arange(rate) % 2, 1.0, -1.0) * 10 ** (-3 * t / 0.4)   # T60 = 0.4 s
    >>> round(room_acoustics(ir, rate).t30_s, 3)
    0.4
    """
    ir = _check_ir(ir, sample_rate)
    if bands not in (None, "octave"):
        raise ParameterError(f"bands must be None or 'octave', got {bands!r}")
    result = _measure(ir, sample_rate)
    if bands == "octave":
        from scipy.signal import butter, sosfiltfilt

        for centre in OCTAVE_CENTRES_HZ:
            name = f"{centre:g}"
            if centre * math.sqrt(2.0) >= 0.45 * sample_rate:
                result.warnings.append(f"{name} Hz band skipped: above 0.45 x the sample rate {sample_rate} Hz")
                continue
            edges = [centre / math.sqrt(2.0), centre * math.sqrt(2.0)]
            sos = butter(3, edges, "bandpass", fs=sample_rate, output="sos")
            filtered = sosfiltfilt(sos, ir)
            if not np.any(filtered):
                result.warnings.append(f"{name} Hz band skipped: no energy in the band")
                continue
            result.bands[name] = _measure(filtered, sample_rate)
    return result


def _measure(ir: np.ndarray, sample_rate: int) -> RoomAcoustics:
    onset = onset_index(ir)
    full_energy = ir[onset:] ** 2
    # Trailing digital silence (zero padding) is not background noise: measure up to the last sound.
    energy = full_energy[: int(np.flatnonzero(full_energy)[-1]) + 1]
    warnings: list[str] = []
    values: dict[str, float] = dict.fromkeys(_FIELDS, math.nan)

    crosspoint, tail, noise = lundeby_truncation(energy, sample_rate)
    remaining = np.full(len(full_energy), np.nan)
    remaining[:crosspoint] = np.cumsum(energy[:crosspoint][::-1])[::-1] + tail
    edc_db = _db(remaining / remaining[0])
    block = max(1, round(0.01 * sample_rate))
    start_level = float(np.mean(energy[:block]))
    # A response that falls to digital silence within two 10 ms blocks has no measurable floor but
    # no decay to fit either (a bare impulse): its floor is the silence, its decay times are NaN.
    too_short = len(energy) < 2 * block < len(full_energy)
    dynamic_range = float(_db(start_level / noise)) if noise > 0.0 and not too_short else math.inf

    fits = []
    for name, (_, lower) in DECAY_RANGES.items():
        needed = -lower + NOISE_MARGIN_DB
        key = _DECAY_FIELDS[name]
        if too_short:
            warnings.append(
                f"{key} is NaN: the response falls silent {1000 * len(energy) / sample_rate:.1f} ms after its "
                "onset, too soon to fit a decay"
            )
            continue
        if dynamic_range < needed:
            warnings.append(
                f"{key} is NaN: it needs {needed:g} dB between the start of the decay and the noise floor or the "
                f"end of the response, this one has {dynamic_range:.1f} dB (no decay, too noisy or too short)"
            )
            continue
        fit = _fit_decay(edc_db, sample_rate, name)
        if isinstance(fit, str):
            warnings.append(f"{key} is NaN: {fit}")
            continue
        fits.append(fit)
        values[key] = fit.decay_time_s

    if dynamic_range < NOISE_MARGIN_DB:
        # Without 10 dB of decay this is noise, not an impulse response: energy ratios would be meaningless.
        for key in ("c50_db", "c80_db", "drr_db"):
            warnings.append(f"{key} is NaN: the response does not decay ({dynamic_range:.1f} dB above its noise)")
    else:
        for key, limit_s in (("c50_db", 0.05), ("c80_db", 0.08)):
            split = round(limit_s * sample_rate)
            early, late = float(np.sum(energy[:split])), float(np.sum(energy[split:]))
            if len(full_energy) <= split:
                warnings.append(f"{key} is NaN: the response lasts less than {limit_s * 1000:g} ms after its onset")
            elif late <= 0.0:
                warnings.append(f"{key} is NaN: no energy after {limit_s * 1000:g} ms (unbounded clarity)")
            elif early <= 0.0:
                warnings.append(f"{key} is NaN: no energy before {limit_s * 1000:g} ms (the sample rate is too low)")
            else:
                values[key] = _ratio_db(early, late)
        half = round(DIRECT_HALF_WINDOW_S * sample_rate)
        direct = float(np.sum(ir[max(0, onset - half) : onset + half + 1] ** 2))
        reverberant = float(np.sum(energy[half + 1 :]))
        if reverberant <= 0.0:
            warnings.append("drr_db is NaN: no energy after the direct sound (unbounded ratio)")
        elif direct <= 0.0:
            warnings.append("drr_db is NaN: no energy in the direct sound's window")
        else:
            values["drr_db"] = _ratio_db(direct, reverberant)

    return RoomAcoustics(
        **values,
        edc_db=edc_db,
        fits=fits,
        warnings=warnings,
        onset_s=onset / sample_rate,
        dynamic_range_db=dynamic_range,
        truncation_s=crosspoint / sample_rate,
    )
