"""Where the sources of a binaural signal are, from interaural cues alone (no learned model).

Method (``"binaural-itd-ild"``)

1. **Cues per frame** (:func:`soundstage.metrics.interaural.frame_cues`, 20 ms Hann frames,
   10 ms hop): ITD by GCC-PHAT over ``itd_band_hz`` (80–3000 Hz by default, where the
   interaural phase is unambiguous enough to be reliable), ILD as the mean of the ERB-band
   ILDs over ``ild_band_hz`` (1.5 kHz and up, where the head shadows), and the interaural
   coherence.
2. **Gates**: a frame is used when its level is within ``energy_range_db`` of the loudest
   frame (and not silent), and its coherence is at least ``min_coherence`` (diffuse sound and
   overlapping sources of similar level decorrelate the ears, and their cues point nowhere).
3. **Cue → lateral angle through the head in use**: the head's HRIRs for lateral angles
   -90°..90° (1° steps, horizontal plane, 2 m) are applied to a fixed white noise and
   measured with the *same* estimators, giving ``ITD(θ)`` and ``ILD(θ)``. A frame's lateral
   angle minimises ``((itd - ITD(θ)) / sigma_itd)² + ((ild - ILD(θ)) / sigma_ild)²`` over
   θ (interpolated to 0.1°). With the defaults (30 µs, 3 dB) the ITD dominates where it
   changes quickly with θ (about 10 µs per degree near the front) and the ILD decides where
   the ITD saturates towards ±90°.
4. **Frame weights: precedence** (on by default, ``precedence=True``). In a room every frame
   after the first few milliseconds of a sound mixes the direct sound with reflections from
   all around, whose cues pull plain estimates towards the median plane (or, for ITDs past
   the head's range, towards ±90°). Listeners localize such sounds by their onsets (the
   precedence effect, Litovsky et al. 1999); machine localizers do the same by keeping the
   cues of time-frequency regions dominated by one plane wave (Faller & Merimaa 2004). A
   frame's weight is ``sqrt(energy) × (ONSET_FLOOR + (1 - ONSET_FLOOR) × new²) × IC^8``
   (:func:`precedence_weights`), where ``new = 1 - P_before / P`` is the share of the frame's
   power that was not already sounding in the ``onset_window_s`` (30 ms) before it (the
   largest power of the frames starting in that window), and ``IC`` the interaural coherence;
   frames whose ITD lies beyond anything the head produces (more than ``2 sigma_itd_s`` past
   the lookup's largest ``|ITD|``) get weight 0. The floor keeps steady sounds, which have no
   onset, localizable; the square root of the energy (rather than the energy) keeps loud
   sustained passages, which carry the most reverberation, from outvoting the quieter
   onsets. With ``precedence=False`` a frame's weight is its energy. On anechoic signals both
   give the same directions: every frame carries the same cues.
5. **Sources**: a weighted kernel density of the used frames' lateral angles (Gaussian kernel
   ``kernel_deg``); its peaks, at least ``min_separation_deg`` apart, are candidate sources.
   Each used frame supports the nearest candidate within ``min_separation_deg``; a source's
   lateral angle is the weighted median of its frames. Sources are ranked by supporting
   weight (strongest first) and kept while their ``share`` is at least ``min_share``.

Confidence is ``share × concentration``: ``share`` is the source's supporting weight over the
weight of every frame that passed the *energy* gate (so incoherent or stray frames lower it),
and ``concentration = 1 / (1 + (s / 5°)²)`` with ``s`` the weighted standard deviation of the
supporting frames' lateral angles about the estimate.

ITD and ILD cannot tell front from back: ``azimuth_deg`` is the frontal azimuth with that
lateral angle (equal to it at elevation 0), ``front_back_ambiguous`` is True and
``elevation_deg`` is None. Score estimates by lateral-angle error and left/right accuracy.

References
----------
Litovsky, R. Y., Colburn, H. S., Yost, W. A. & Guzman, S. J. (1999). The precedence effect.
J. Acoust. Soc. Am. 106(4), 1633-1654.
Faller, C. & Merimaa, J. (2004). Source localization in complex listening situations:
selection of binaural cues based on interaural coherence. J. Acoust. Soc. Am. 116(5), 3075-3089.
"""

from __future__ import annotations

import functools
import os
import weakref
from dataclasses import dataclass

import numpy as np
from scipy.signal import fftconvolve

from soundstage.acoustics.hrtf.base import HRTF
from soundstage.conventions import unit_vectors
from soundstage.errors import ParameterError
from soundstage.metrics.directions import DirectionEstimate, Localization
from soundstage.metrics.interaural import SILENT_LEVEL_DB, frame_cues

METHOD = "binaural-itd-ild"
#: Lateral angles of the cue lookup, degrees.
LOOKUP_STEP_DEG = 1.0
#: Source distance at which the lookup HRIRs are taken (near-field heads only), metres.
LOOKUP_DISTANCE_M = 2.0
#: Length of the white noise the lookup HRIRs are measured with, seconds.
LOOKUP_NOISE_S = 0.1
#: Width of a source's spread at which its concentration halves, degrees.
CONCENTRATION_SCALE_DEG = 5.0
#: Weight of a frame without any onset, relative to a pure onset (precedence weighting).
ONSET_FLOOR = 0.02
#: Exponent of the new-power share in the precedence weight (sharpens the onset selection).
ONSET_POWER = 2.0
#: Exponent of the interaural coherence in the precedence weight (favours one-plane-wave frames).
COHERENCE_POWER = 8.0
#: Frames whose |ITD| exceeds the head's largest by more than this many ``sigma_itd_s`` get weight 0.
ITD_MARGIN_SIGMAS = 2.0
_FINE_STEP_DEG = 0.1
#: Lookups of heads given by name or path, by (spec, rate, analysis settings); oldest dropped first.
_LOOKUPS: dict[tuple, CueLookup] = {}
#: Lookups of HRTF objects, by object and analysis settings.
_OBJECT_LOOKUPS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_MAX_CACHED = 8


@dataclass(frozen=True)
class CueLookup:
    """Interaural cues of a head as a function of lateral angle (horizontal plane).

    Attributes
    ----------
    lateral_deg : np.ndarray, shape (G,)
        Lateral angles in degrees, ascending, -90 to 90.
    itd_s : np.ndarray, shape (G,)
        GCC-PHAT ITD in seconds at each angle.
    ild_db : np.ndarray, shape (G,)
        Band-averaged ILD in dB at each angle.
    """

    lateral_deg: np.ndarray
    itd_s: np.ndarray
    ild_db: np.ndarray


def localize_binaural(
    binaural: np.ndarray,
    sample_rate: int,
    *,
    hrtf: str | os.PathLike | HRTF = "sphere",
    max_sources: int = 4,
    frame_s: float = 0.02,
    hop_s: float = 0.01,
    min_coherence: float = 0.5,
    energy_range_db: float = 30.0,
    itd_band_hz: tuple[float, float] = (80.0, 3000.0),
    ild_band_hz: tuple[float, float] = (1500.0, 16000.0),
    sigma_itd_s: float = 30e-6,
    sigma_ild_db: float = 3.0,
    kernel_deg: float = 3.0,
    min_separation_deg: float = 15.0,
    min_share: float = 0.05,
    precedence: bool = True,
    onset_window_s: float = 0.03,
) -> Localization:
    """Find the lateral angles of the sources in a binaural signal, strongest first.

    Parameters
    ----------
    binaural : np.ndarray, shape (2, n_samples)
        Left ear first.
    sample_rate : int
        In Hz.
    hrtf : str, PathLike or HRTF, default "sphere"
        The head the signal was rendered (or recorded) with: ``"sphere"``, a registered set,
        a ``.sofa`` path, or an HRTF object at ``sample_rate``. Its cues calibrate the mapping.
    max_sources : int, default 4
        At most this many sources are reported.
    frame_s, hop_s : float, default 0.02, 0.01
        Analysis frame and hop in seconds.
    min_coherence : float, default 0.5
        Frames whose interaural coherence is lower are not used.
    energy_range_db : float, default 30.0
        Frames more than this many dB below the loudest frame are not used.
    itd_band_hz, ild_band_hz : (low, high)
        Frequency ranges of the ITD (GCC-PHAT bins) and of the ILD (ERB-band centres), Hz.
    sigma_itd_s, sigma_ild_db : float, default 30e-6, 3.0
        Tolerances that weigh ITD against ILD in the cue-to-angle fit.
    kernel_deg : float, default 3.0
        Standard deviation of the Gaussian kernel of the lateral-angle density, degrees.
    min_separation_deg : float, default 15.0
        Closer peaks are one source; frames farther than this from every source support none.
    min_share : float, default 0.05
        Sources supported by less than this share of the weight are dropped.
    precedence : bool, default True
        Weight frames by onset and coherence so that the direct sound wins over reflections
        (see the module docstring); False weighs them by energy alone.
    onset_window_s : float, default 0.03
        How far back, in seconds, a frame's power is compared with to measure its onset.

    Returns
    -------
    Localization
        ``method`` ``"binaural-itd-ild"``; ``tracks``: ``times_s``, ``lateral_deg`` (NaN where
        gated out), ``itd_s``, ``ild_db``, ``coherence``, ``level_db``, ``weight`` (each used
        frame's weight in the source density, 0 elsewhere); ``summary``: ``frames``,
        ``frames_used``, ``frames_silent``, ``frames_quiet``, ``frames_incoherent``, the
        thresholds, ``precedence``, ``hrtf``, and ``reason`` when no source is found.

    Raises
    ------
    ParameterError
        For a signal that is not two-channel, an unknown head, a head at another sample
        rate, or out-of-range settings.

    Examples
    --------
    >>> x = np.random.default_rng(0).standard_normal(8000)
    >>> found = localize_binaural(np.stack([x, x]), 16000)     # identical ears: straight ahead
    >>> len(found.sources), round(found.sources[0].lateral_deg, 1), found.sources[0].front_back_ambiguous
    (1, 0.0, True)
    """
    if isinstance(max_sources, bool) or not isinstance(max_sources, (int, np.integer)) or max_sources < 1:
        raise ParameterError(f"max_sources={max_sources!r} must be a whole number of at least 1")
    if not 0.0 <= min_coherence <= 1.0:
        raise ParameterError(f"min_coherence={min_coherence} must be within [0, 1]")
    for name, value in (
        ("energy_range_db", energy_range_db),
        ("sigma_itd_s", sigma_itd_s),
        ("sigma_ild_db", sigma_ild_db),
        ("kernel_deg", kernel_deg),
        ("min_separation_deg", min_separation_deg),
    ):
        if not np.isfinite(value) or value <= 0:
            raise ParameterError(f"{name}={value} must be a positive number")
    if not 0.0 <= min_share < 1.0:
        raise ParameterError(f"min_share={min_share} must be within [0, 1)")
    if not np.isfinite(onset_window_s) or onset_window_s <= 0:
        raise ParameterError(f"onset_window_s={onset_window_s} must be a positive number of seconds, e.g. 0.03")

    cues = frame_cues(
        binaural, sample_rate, frame_s=frame_s, hop_s=hop_s, itd_band_hz=itd_band_hz, ild_band_hz=ild_band_hz
    )
    head = _resolve_head(hrtf, sample_rate)
    n_frames = cues.times_s.size
    audible = cues.level_db > SILENT_LEVEL_DB
    summary: dict = {
        "frames": int(n_frames),
        "frames_used": 0,
        "frames_silent": int(np.sum(~audible)),
        "frames_quiet": 0,
        "frames_incoherent": 0,
        "min_coherence": float(min_coherence),
        "energy_range_db": float(energy_range_db),
        "precedence": bool(precedence),
        "hrtf": head.name,
    }
    tracks = {
        "times_s": cues.times_s,
        "lateral_deg": np.full(n_frames, np.nan),
        "itd_s": cues.itd_s,
        "ild_db": cues.ild_db,
        "coherence": cues.coherence,
        "level_db": cues.level_db,
        "weight": np.zeros(n_frames),
    }
    if not np.any(audible):
        summary["reason"] = "the signal is silent (no frame above -200 dB FS)"
        return Localization(sources=[], method=METHOD, summary=summary, tracks=tracks)

    loud = audible & (cues.level_db >= cues.level_db[audible].max() - energy_range_db)
    coherent = np.nan_to_num(cues.coherence, nan=0.0) >= min_coherence
    used = loud & coherent & np.isfinite(cues.ild_db)
    summary["frames_quiet"] = int(np.sum(audible & ~loud))
    summary["frames_incoherent"] = int(np.sum(loud & ~coherent))
    summary["frames_used"] = int(np.sum(used))
    if not np.any(used):
        summary["reason"] = (
            f"no frame within {energy_range_db:g} dB of the loudest has interaural coherence >= {min_coherence:g} "
            "(diffuse or decorrelated sound)"
        )
        return Localization(sources=[], method=METHOD, summary=summary, tracks=tracks)

    lookup = cue_lookup(head, frame_s=frame_s, hop_s=hop_s, itd_band_hz=itd_band_hz, ild_band_hz=ild_band_hz)
    lateral = lateral_from_cues(cues.itd_s[used], cues.ild_db[used], lookup, sigma_itd_s, sigma_ild_db)
    tracks["lateral_deg"][used] = lateral

    weight = 10.0 ** (cues.level_db / 10.0)
    if precedence:
        onset_coherence = precedence_weights(cues.level_db, cues.coherence, hop_s=hop_s, onset_window_s=onset_window_s)
        # An ITD past what the head can produce comes from a mixture of reflections, not from a source.
        plausible = np.abs(np.nan_to_num(cues.itd_s)) <= np.max(np.abs(lookup.itd_s)) + ITD_MARGIN_SIGMAS * sigma_itd_s
        precedence_weight = np.sqrt(weight) * onset_coherence * plausible
        if np.any(precedence_weight[used] > 0):  # else every cue is implausible: fall back to energy
            weight = precedence_weight
    tracks["weight"][used] = weight[used]
    sources = _sources_from_frames(
        lateral,
        weight[used],
        float(np.sum(weight[loud])),
        kernel_deg=kernel_deg,
        min_separation_deg=min_separation_deg,
        min_share=min_share,
    )[:max_sources]
    if not sources:
        summary["reason"] = f"no direction gathered at least {min_share:.0%} of the energy"
    return Localization(sources=sources, method=METHOD, summary=summary, tracks=tracks)


def precedence_weights(
    level_db: np.ndarray, coherence: np.ndarray, *, hop_s: float = 0.01, onset_window_s: float = 0.03
) -> np.ndarray:
    """How much each frame is dominated by newly arriving, single-direction sound.

    ``(ONSET_FLOOR + (1 - ONSET_FLOOR) × new²) × coherence^8`` with ``new = 1 - P_before / P``:
    the share of the frame's power ``P`` above the largest power ``P_before`` of the frames
    that start up to ``onset_window_s`` before it (0 when the level falls or holds, near 1 at an
    onset after silence; 1 for the first frame, which nothing precedes). Reverberation builds
    up over tens of milliseconds, so the first frames of a sound carry the direct sound's cues
    and later ones the room's.

    Parameters
    ----------
    level_db : np.ndarray, shape (n_frames,)
        Frame levels in dB (e.g. :attr:`InterauralCues.level_db`).
    coherence : np.ndarray, shape (n_frames,)
        Interaural coherence in [0, 1]; NaN counts as 0.
    hop_s : float, default 0.01
        Hop between frames in seconds.
    onset_window_s : float, default 0.03
        Look-back in seconds (at least one hop is used).

    Returns
    -------
    np.ndarray, shape (n_frames,)
        Weights in [0, 1].

    Examples
    --------
    >>> level = np.array([-60.0, 0.0, 0.0, -3.0, 10 * np.log10(4.0)])   # start, onset, steady, fall, 4x power
    >>> np.round(precedence_weights(level, np.ones(5)), 3)
    array([1.   , 1.   , 0.02 , 0.02 , 0.571])
    """
    level_db = np.asarray(level_db, dtype=float)
    lags = max(1, round(onset_window_s / hop_s))
    before = np.full(level_db.shape, -np.inf)
    for lag in range(1, min(lags, level_db.size - 1) + 1):
        before[lag:] = np.maximum(before[lag:], level_db[:-lag])
    new = np.clip(1.0 - 10.0 ** ((before - level_db) / 10.0), 0.0, 1.0)
    onset = ONSET_FLOOR + (1.0 - ONSET_FLOOR) * new**ONSET_POWER
    return onset * np.clip(np.nan_to_num(np.asarray(coherence, dtype=float), nan=0.0), 0.0, 1.0) ** COHERENCE_POWER


def lateral_from_cues(
    itd_s: np.ndarray, ild_db: np.ndarray, lookup: CueLookup, sigma_itd_s: float, sigma_ild_db: float
) -> np.ndarray:
    """Lateral angle whose head cues best match the measured ITD and ILD.

    Parameters
    ----------
    itd_s, ild_db : np.ndarray, shape (F,)
        Measured cues.
    lookup : CueLookup
        The head's cues by lateral angle.
    sigma_itd_s, sigma_ild_db : float
        Tolerances weighing the two cues (see the module docstring).

    Returns
    -------
    np.ndarray, shape (F,)
        Lateral angles in degrees, in [-90, 90].

    Examples
    --------
    >>> table = CueLookup(np.array([-90.0, 90.0]), np.array([-6e-4, 6e-4]), np.array([-10.0, 10.0]))
    >>> lateral_from_cues(np.array([3e-4]), np.array([5.0]), table, 30e-6, 3.0)
    array([45.])
    """
    # Rounded (and -0.0 made 0.0) so that reported angles read cleanly in JSON.
    grid = np.round(np.arange(-90.0, 90.0 + _FINE_STEP_DEG / 2, _FINE_STEP_DEG), 6) + 0.0
    itd_grid = np.interp(grid, lookup.lateral_deg, lookup.itd_s)
    ild_grid = np.interp(grid, lookup.lateral_deg, lookup.ild_db)
    cost = ((np.asarray(itd_s)[:, None] - itd_grid) / sigma_itd_s) ** 2
    cost += ((np.asarray(ild_db)[:, None] - ild_grid) / sigma_ild_db) ** 2
    return grid[np.argmin(cost, axis=1)]


def cue_lookup(
    head: HRTF,
    *,
    frame_s: float = 0.02,
    hop_s: float = 0.01,
    itd_band_hz: tuple[float, float] = (80.0, 3000.0),
    ild_band_hz: tuple[float, float] = (1500.0, 16000.0),
) -> CueLookup:
    """The ITD and ILD a head produces at each lateral angle, measured as a signal would be.

    A fixed white noise (seed 0, ``LOOKUP_NOISE_S`` long) is filtered by the head's HRIRs
    for azimuths -90°..90° at elevation 0 and ``LOOKUP_DISTANCE_M``, and analysed by
    :func:`~soundstage.metrics.interaural.frame_cues` with the given settings; each angle's
    cue is the median over frames. Lookups are cached per head (by name or path, or by the
    object itself) and analysis settings.

    Parameters
    ----------
    head : HRTF
        The head.
    frame_s, hop_s, itd_band_hz, ild_band_hz
        As in :func:`localize_binaural`.

    Returns
    -------
    CueLookup
    """
    settings = (frame_s, hop_s, tuple(itd_band_hz), tuple(ild_band_hz))
    if isinstance(head, _NamedHead):
        cache, key = _LOOKUPS, (head.spec, head.sample_rate, *settings)
        head = head.head
    else:
        # Objects are cached by identity for as long as the caller keeps them alive.
        cache, key = _OBJECT_LOOKUPS.setdefault(head, {}), settings
    if key not in cache:
        if len(cache) >= _MAX_CACHED:
            cache.pop(next(iter(cache)))
        cache[key] = _measure_lookup(head, *settings)
    return cache[key]


def _measure_lookup(head: HRTF, frame_s, hop_s, itd_band_hz, ild_band_hz) -> CueLookup:
    rate = int(head.sample_rate)
    lateral = np.arange(-90.0, 90.0 + LOOKUP_STEP_DEG / 2, LOOKUP_STEP_DEG)
    hrirs = head.hrirs(unit_vectors(lateral, np.zeros_like(lateral)), np.full(lateral.size, LOOKUP_DISTANCE_M))
    noise = np.random.default_rng(0).standard_normal(max(int(LOOKUP_NOISE_S * rate), 4 * int(frame_s * rate)))
    filtered = fftconvolve(noise[None, None, :], hrirs, axes=-1)  # (G, 2, n)
    itd = np.empty(lateral.size)
    ild = np.empty(lateral.size)
    for index in range(lateral.size):
        cues = frame_cues(
            filtered[index], rate, frame_s=frame_s, hop_s=hop_s, itd_band_hz=itd_band_hz, ild_band_hz=ild_band_hz
        )
        itd[index] = np.nanmedian(cues.itd_s)
        ild[index] = np.nanmedian(cues.ild_db)
    return CueLookup(lateral_deg=lateral, itd_s=itd, ild_db=ild)


class _NamedHead:
    """An HRTF loaded from a name or path, remembered (see :func:`_named_head`) so it loads once."""

    def __init__(self, spec: str, sample_rate: int):
        from soundstage.acoustics.hrtf import load_hrtf

        self.spec = spec
        self.sample_rate = int(sample_rate)
        self.head = load_hrtf(spec, self.sample_rate)
        self.name = self.head.name


@functools.lru_cache(maxsize=_MAX_CACHED)
def _named_head(spec: str, sample_rate: int) -> _NamedHead:
    return _NamedHead(spec, sample_rate)


def _resolve_head(hrtf, sample_rate: int):
    """An HRTF object, or a :class:`_NamedHead` for a name or path (whose lookup is cached)."""
    if isinstance(hrtf, HRTF):
        from soundstage.acoustics.hrtf import load_hrtf

        return load_hrtf(hrtf, sample_rate)  # checks that it is at the signal's rate
    if isinstance(hrtf, (str, os.PathLike)):
        return _named_head(os.fspath(hrtf), int(sample_rate))
    raise ParameterError(f"hrtf must be 'sphere', a registered name, a .sofa path or an HRTF, not {hrtf!r}")


def _sources_from_frames(
    lateral: np.ndarray,
    energy: np.ndarray,
    total_energy: float,
    *,
    kernel_deg: float,
    min_separation_deg: float,
    min_share: float,
) -> list[DirectionEstimate]:
    """Peaks of the energy-weighted lateral-angle density, as sources strongest first."""
    grid = np.arange(-90.0, 90.0 + 0.25, 0.5)
    density = np.exp(-0.5 * ((grid[:, None] - lateral) / kernel_deg) ** 2) @ energy
    is_peak = np.r_[
        density[0] > density[1],
        (density[1:-1] >= density[:-2]) & (density[1:-1] > density[2:]),
        density[-1] > density[-2],
    ]
    candidates: list[float] = []
    for index in np.flatnonzero(is_peak)[np.argsort(-density[is_peak])]:
        if all(abs(grid[index] - chosen) >= min_separation_deg for chosen in candidates):
            candidates.append(float(grid[index]))
    centres = np.array(candidates)
    distance = np.abs(lateral[:, None] - centres)
    nearest = np.argmin(distance, axis=1)
    supported = distance[np.arange(lateral.size), nearest] <= min_separation_deg

    found: list[tuple[float, DirectionEstimate]] = []
    for rank in range(centres.size):
        members = supported & (nearest == rank)
        support = float(np.sum(energy[members]))
        share = support / total_energy if total_energy > 0 else 0.0
        if not np.any(members) or share < min_share:
            continue
        estimate = _weighted_median(lateral[members], energy[members])
        spread = np.sqrt(np.sum(energy[members] * (lateral[members] - estimate) ** 2) / support)
        concentration = 1.0 / (1.0 + (spread / CONCENTRATION_SCALE_DEG) ** 2)
        found.append(
            (
                support,
                DirectionEstimate(
                    azimuth_deg=float(estimate),
                    elevation_deg=None,
                    lateral_deg=float(estimate),
                    confidence=float(np.clip(share * concentration, 0.0, 1.0)),
                    front_back_ambiguous=True,
                ),
            )
        )
    found.sort(key=lambda item: -item[0])
    return [estimate for _, estimate in found]


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    """The value at which half the weight lies on either side (midpoint on an exact tie).

    Examples
    --------
    >>> _weighted_median(np.array([1.0, 2.0, 10.0]), np.array([1.0, 1.0, 1.0]))
    2.0
    """
    order = np.argsort(values)
    values, cumulative = values[order], np.cumsum(weights[order])
    half = 0.5 * cumulative[-1]
    index = int(np.searchsorted(cumulative, half))
    if np.isclose(cumulative[index], half) and index + 1 < values.size:
        return float(0.5 * (values[index] + values[index + 1]))
    return float(values[index])
