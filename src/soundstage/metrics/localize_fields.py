"""Localizers for sound-field formats: pseudo-intensity for ambisonics, Gerzon's vectors for loudspeakers.

Ambisonics (``localize_ambisonic``)
    Only the first-order channels are used (any order N works: ACN 0-3 are W, Y, Z, X in
    AmbiX; FuMa is first order W, X, Y, Z with W at -3 dB and is converted first). For an
    SN3D plane wave from unit direction ``u`` carrying ``S``, ``W = S`` and ``(X, Y, Z) = S u``,
    so in every STFT bin the *pseudo-intensity* ``I = Re(W* (X, Y, Z)) = |S|² u`` points at the
    source, and the bin energy ``E = (|W|² + |X|² + |Y|² + |Z|²) / 2 = |S|²``. A bin's
    diffuseness ``ψ = 1 - |⟨I⟩| / ⟨E⟩`` (``⟨⟩``: mean over 5 frames) is 0 for one plane
    wave and tends to 1 in a diffuse field.
Loudspeakers (``localize_loudspeakers``)
    With loudspeaker unit vectors ``l_i`` (LFE ignored), Gerzon's energy vector
    ``r_E = Σ E_i l_i / Σ E_i`` (``E_i`` the channel energies) predicts localisation above
    about 700 Hz, the velocity vector ``r_V = Σ g_i l_i / Σ g_i`` (signed amplitudes) below it.
    ``r_E`` is measured per frame over the full band; ``r_V`` on the signals low-passed at
    700 Hz, with the signed amplitude of channel ``i`` taken as its correlation with the
    pressure (the channel sum) ``g_i = Σ_t x_i p``, which equals ``g_i Σ g |s|²`` for a
    source panned with real gains ``g_i``. Sources are the energy-vector directions.
    Simultaneous sources merge into the phantom between them, as frames cannot separate them.

Both gate out frames or bins more than 40 dB below the loudest one, then cluster the
kept directions, energy-weighted, greedily: the densest direction of a smoothed histogram
(on a sphere grid, or 1° azimuth steps) seeds a 20° cone whose members' energy-weighted
mean direction is the estimate (refined three times); members are removed and the next
cluster sought, until ``max_sources`` are found or a cluster holds under 5 % of that energy.
A source's ``confidence`` is its share of the analysed energy (ambisonics: of every bin
passing the energy gate, diffuse ones included, so a diffuse field reports nothing) times the consistency of its
members' directions (the length of the energy-weighted mean of their unit vectors, 1 when
all agree), as :class:`~soundstage.metrics.directions.DirectionEstimate` defines it.
"""

from __future__ import annotations

import math

import numpy as np

from soundstage.conventions import SPEAKER_LAYOUTS, cartesian_to_spherical, lateral_angle_deg, unit_vectors
from soundstage.errors import ParameterError
from soundstage.metrics.directions import DirectionEstimate, Localization
from soundstage.sample_rate import check_sample_rate

#: Bins (ambisonics) or frames (loudspeakers) this many dB below the loudest are ignored.
ENERGY_GATE_DB = 40.0
#: Ambisonic bins more diffuse than this are ignored.
DIFFUSENESS_GATE = 0.5
#: Half-angle of the cone that collects a cluster's members, degrees.
CLUSTER_RADIUS_DEG = 20.0
#: A cluster holding less than this share of the kept energy is not reported.
MIN_SHARE = 0.05
#: Loudspeaker analysis frame and hop, seconds.
FRAME_S = 0.04
HOP_S = 0.02
#: Below this the velocity vector, above it the energy vector predicts localisation (Gerzon), Hz.
VELOCITY_BAND_HZ = 700.0


def _check_common(audio: np.ndarray, sample_rate: int, max_sources: int) -> np.ndarray:
    check_sample_rate(sample_rate)
    if not (isinstance(max_sources, int | np.integer) and max_sources >= 1):
        raise ParameterError(f"max_sources must be an integer of at least 1, got {max_sources!r}")
    audio = np.asarray(audio, dtype=float)
    if audio.ndim != 2:
        raise ParameterError(f"audio must have shape (n_channels, n_samples), got {audio.shape}")
    if not np.all(np.isfinite(audio)):
        raise ParameterError("audio contains NaN or infinite samples")
    return audio


def _fibonacci_sphere(n_points: int) -> np.ndarray:
    """Nearly uniform unit vectors on the sphere, shape (n_points, 3)."""
    index = np.arange(n_points) + 0.5
    z = 1.0 - 2.0 * index / n_points
    azimuth = math.pi * (1.0 + math.sqrt(5.0)) * index
    radius = np.sqrt(1.0 - z * z)
    return np.stack([radius * np.cos(azimuth), radius * np.sin(azimuth), z], axis=1)


def _cluster(
    directions: np.ndarray,
    weights: np.ndarray,
    vectors: np.ndarray,
    grid: np.ndarray,
    max_sources: int,
    total: float,
) -> list[tuple[np.ndarray, float, float]]:
    """Greedy energy-weighted clustering of unit ``directions`` (M, 3) on a ``grid`` (G, 3).

    ``vectors`` (M, 3) are what a cluster's estimate averages (the weighted unit
    directions, or the loudspeaker energy-vector numerators). Returns (unit direction,
    share of ``total`` (the analysed energy), consistency) per cluster, strongest first.
    """
    cos_radius = math.cos(math.radians(CLUSTER_RADIUS_DEG))
    # Smoothing kernel between grid points: von Mises-Fisher, about 5° wide.
    kernel = np.exp(40.0 * (grid @ grid.T - 1.0))
    nearest = np.concatenate(
        [np.argmax(directions[i : i + 8192] @ grid.T, axis=1) for i in range(0, len(directions), 8192)]
    ).astype(int)
    active = np.ones(len(directions), dtype=bool)
    found = []
    while len(found) < max_sources and np.any(active):
        histogram = np.bincount(nearest[active], weights=weights[active], minlength=len(grid))
        centre = grid[int(np.argmax(kernel @ histogram))]
        for _ in range(3):
            members = active & (directions @ centre >= cos_radius)
            summed = vectors[members].sum(axis=0)
            norm = float(np.linalg.norm(summed))
            if norm == 0.0:
                break
            centre = summed / norm
        members = active & (directions @ centre >= cos_radius)
        share = float(weights[members].sum()) / total
        if share < MIN_SHARE or not np.any(members):
            break
        resultant = np.linalg.norm((weights[members, None] * directions[members]).sum(axis=0))
        found.append((centre, share, float(resultant / weights[members].sum())))
        active &= ~members
    return sorted(found, key=lambda item: -item[1])


def _estimate(direction: np.ndarray, share: float, consistency: float, elevation: bool) -> DirectionEstimate:
    azimuth, elevation_deg, _ = cartesian_to_spherical(direction)
    return DirectionEstimate(
        azimuth_deg=float(azimuth),
        elevation_deg=float(elevation_deg) if elevation else None,
        lateral_deg=float(lateral_angle_deg(direction)),
        confidence=float(np.clip(share * consistency, 0.0, 1.0)),
    )


def _first_order_ambix(audio: np.ndarray, convention: str) -> np.ndarray:
    """W, Y, Z, X (AmbiX ACN 0-3, SN3D) from any-order AmbiX or first-order FuMa."""
    n_channels = audio.shape[0]
    if convention == "fuma":
        if n_channels != 4:
            raise ParameterError(
                f"FuMa audio must have 4 channels (W X Y Z, first order), got {n_channels}; "
                "use convention='ambix' for higher orders"
            )
        from soundstage.acoustics.encoders.spherical_harmonics import fuma_to_ambix

        return fuma_to_ambix(audio)
    if convention != "ambix":
        raise ParameterError(f"convention must be 'ambix' or 'fuma', got {convention!r}")
    order = math.isqrt(n_channels) - 1
    if n_channels < 4 or (order + 1) ** 2 != n_channels:
        raise ParameterError(
            f"ambisonic audio must have (N + 1)² channels with N >= 1 (4, 9, 16, ...), got {n_channels}"
        )
    return audio[:4]


def localize_ambisonic(
    audio: np.ndarray, sample_rate: int, *, convention: str = "ambix", max_sources: int = 4
) -> Localization:
    """Source directions in an ambisonic signal by pseudo-intensity per time-frequency bin.

    Parameters
    ----------
    audio : np.ndarray, shape ((N + 1)², n_samples)
        AmbiX (ACN/SN3D) of any order N ≥ 1, or first-order FuMa (W X Y Z).
    sample_rate : int
        In Hz.
    convention : {"ambix", "fuma"}, default "ambix"
        Channel order and normalisation.
    max_sources : int, default 4
        Report at most this many sources.

    Returns
    -------
    Localization
        Method ``"pseudo-intensity"``; sources strongest first with azimuth and elevation
        (module notes define the gates, clustering and confidence). ``tracks``: ``times_s``,
        ``azimuth_deg``, ``elevation_deg`` (per frame, direction of the summed kept
        intensity, NaN where nothing was kept), ``diffuseness`` and ``level_db`` per frame.

    Raises
    ------
    ParameterError
        For a channel count that is not (N + 1)² (4 for FuMa), an unknown convention, a
        silent signal, a bad sample rate or ``max_sources`` < 1.
    """
    from scipy.ndimage import uniform_filter1d
    from scipy.signal import stft

    audio = _check_common(audio, sample_rate, max_sources)
    foa = _first_order_ambix(audio, convention)
    if not np.any(foa[0]) and not np.any(foa[1:]):
        raise ParameterError("ambisonic audio is silent; nothing to localize")
    # About 20 ms frames: long enough for low-frequency resolution, short enough to keep sources apart in time.
    n_fft = 1 << max(6, round(math.log2(0.02 * sample_rate)))
    n_fft = min(n_fft, foa.shape[1])
    times, spectra = stft(foa, fs=sample_rate, nperseg=n_fft, noverlap=n_fft // 2)[1:]
    w, y, z, x = spectra[:, 1:]  # the DC bin carries no direction
    intensity = np.real(np.conj(w)[None] * np.stack([x, y, z]))  # (3, F, T)
    energy = 0.5 * (np.abs(w) ** 2 + np.abs(x) ** 2 + np.abs(y) ** 2 + np.abs(z) ** 2)
    smoothed_norm = np.linalg.norm(uniform_filter1d(intensity, 5, axis=2, mode="nearest"), axis=0)
    smoothed_energy = uniform_filter1d(energy, 5, axis=1, mode="nearest")
    diffuseness = 1.0 - smoothed_norm / np.maximum(smoothed_energy, np.finfo(float).tiny)
    norm = np.linalg.norm(intensity, axis=0)
    loud = energy >= energy.max() * 10.0 ** (-ENERGY_GATE_DB / 10.0)
    kept = loud & (diffuseness <= DIFFUSENESS_GATE) & (norm > 0.0)
    directions = (intensity[:, kept] / norm[kept]).T
    weights = energy[kept]
    sources = []
    if len(weights):
        # Shares are of all the loud energy, so a diffuse field (few direct bins) yields no confident source.
        grid = _fibonacci_sphere(2000)
        clusters = _cluster(
            directions, weights, weights[:, None] * directions, grid, max_sources, float(energy[loud].sum())
        )
        sources = [_estimate(centre, share, consistency, True) for centre, share, consistency in clusters]

    frame_intensity = np.where(kept[None], intensity, 0.0).sum(axis=1)  # (3, T)
    frame_az, frame_el, frame_norm = cartesian_to_spherical(frame_intensity.T)
    used = frame_norm > 0.0
    frame_energy = energy.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        tracks = {
            "times_s": times,
            "azimuth_deg": np.where(used, frame_az, np.nan),
            "elevation_deg": np.where(used, frame_el, np.nan),
            "diffuseness": (diffuseness * energy).sum(axis=0) / frame_energy,
            "level_db": 10.0 * np.log10(frame_energy / frame_energy.max()),
        }
    summary = {
        "convention": convention,
        "order": math.isqrt(audio.shape[0]) - 1,
        "n_fft": n_fft,
        "frames": len(times),
        "frames_used": int(used.sum()),
        "bins": int(energy.size),
        "bins_used": int(kept.sum()),
        "energy_gate_db": ENERGY_GATE_DB,
        "diffuseness_gate": DIFFUSENESS_GATE,
    }
    return Localization(sources=sources, method="pseudo-intensity", summary=summary, tracks=tracks)


def _frames(signals: np.ndarray, frame: int, hop: int) -> np.ndarray:
    """Frames of each channel, shape (n_channels, n_frames, frame); one frame when the signal is shorter."""
    n_samples = signals.shape[1]
    if n_samples <= frame:
        return signals[:, None, :]
    n_frames = 1 + (n_samples - frame) // hop
    starts = np.arange(n_frames) * hop
    return signals[:, starts[:, None] + np.arange(frame)[None, :]]


def _vector_azimuth(vector: np.ndarray) -> tuple[float | None, float]:
    magnitude = float(np.linalg.norm(vector))
    if not np.isfinite(magnitude) or magnitude == 0.0:
        return None, 0.0
    return float(np.degrees(np.arctan2(vector[1], vector[0]))), magnitude


def localize_loudspeakers(audio: np.ndarray, layout: str, sample_rate: int, *, max_sources: int = 4) -> Localization:
    """Source directions in loudspeaker feeds by Gerzon's energy and velocity vectors.

    Parameters
    ----------
    audio : np.ndarray, shape (n_channels, n_samples)
        Loudspeaker feeds in the channel order of :data:`soundstage.conventions.SPEAKER_LAYOUTS`.
    layout : {"stereo", "5.1", "7.1"}
        Stereo is FL (+30°), FR (-30°); the LFE channel of 5.1/7.1 is ignored.
    sample_rate : int
        In Hz.
    max_sources : int, default 4
        Report at most this many sources.

    Returns
    -------
    Localization
        Method ``"gerzon-vectors"``; sources are energy-vector directions (elevation None),
        strongest first. ``summary`` has ``energy_azimuth_deg``, ``energy_magnitude``,
        ``velocity_azimuth_deg`` and ``velocity_magnitude`` of the vectors pooled over the kept
        frames (azimuth None when a vector vanishes, e.g. no content below 700 Hz), plus frame
        counts. ``tracks``: ``times_s`` (frame centres), ``azimuth_deg`` and
        ``energy_magnitude`` (per frame, NaN where gated out), ``velocity_azimuth_deg``,
        ``level_db``.

    Raises
    ------
    ParameterError
        For an unknown layout, a channel count that does not match it, a silent signal, a bad
        sample rate or ``max_sources`` < 1.
    """
    from scipy.signal import butter, sosfiltfilt

    audio = _check_common(audio, sample_rate, max_sources)
    if layout not in SPEAKER_LAYOUTS:
        raise ParameterError(f"layout must be one of {', '.join(SPEAKER_LAYOUTS)}, got {layout!r}")
    speakers = SPEAKER_LAYOUTS[layout]
    if audio.shape[0] != len(speakers):
        labels = " ".join(s.label for s in speakers)
        raise ParameterError(
            f"layout {layout} has {len(speakers)} channels ({labels}), but the audio has {audio.shape[0]}"
        )
    panned = [i for i, s in enumerate(speakers) if not s.is_lfe]
    signals = audio[panned]
    if not np.any(signals):
        raise ParameterError("loudspeaker audio is silent (LFE aside); nothing to localize")
    azimuths = np.array([speakers[i].azimuth_deg for i in panned])
    speaker_vectors = unit_vectors(azimuths, np.zeros_like(azimuths))  # (M, 3)

    frame = max(1, round(FRAME_S * sample_rate))
    hop = max(1, round(HOP_S * sample_rate))
    channel_energy = (_frames(signals, frame, hop) ** 2).sum(axis=2).T  # (n_frames, M)
    frame_energy = channel_energy.sum(axis=1)
    kept = (frame_energy > 0.0) & (frame_energy >= frame_energy.max() * 10.0 ** (-ENERGY_GATE_DB / 10.0))
    energy_numerators = channel_energy @ speaker_vectors  # (n_frames, 3): Σ E_i l_i
    energy_vectors = energy_numerators / np.maximum(frame_energy, np.finfo(float).tiny)[:, None]

    # Velocity vector from the band where it predicts localisation; zero phase so channels stay aligned.
    low = signals
    if VELOCITY_BAND_HZ < 0.45 * sample_rate and signals.shape[1] > 27:
        sos = butter(4, VELOCITY_BAND_HZ, "lowpass", fs=sample_rate, output="sos")
        low = sosfiltfilt(sos, signals, axis=1, padlen=min(27, signals.shape[1] - 1))
    low_frames = _frames(low, frame, hop)
    pressure = low_frames.sum(axis=0)  # (n_frames, frame)
    amplitudes = np.einsum("mtf,tf->tm", low_frames, pressure)  # signed g_i per frame
    velocity_numerators = amplitudes @ speaker_vectors
    velocity_denominators = amplitudes.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        velocity_vectors = velocity_numerators / velocity_denominators[:, None]

    energy_az, energy_mag = _vector_azimuth(energy_numerators[kept].sum(axis=0) / frame_energy[kept].sum())
    pooled_pressure = float(velocity_denominators[kept].sum())
    if pooled_pressure > 1e-12 * float(frame_energy[kept].sum()):
        velocity_az, velocity_mag = _vector_azimuth(velocity_numerators[kept].sum(axis=0) / pooled_pressure)
    else:
        velocity_az, velocity_mag = None, 0.0

    norms = np.linalg.norm(energy_vectors, axis=1)
    usable = kept & (norms > 1e-9)
    directions = energy_vectors[usable] / norms[usable, None]
    circle = unit_vectors(np.arange(360.0), np.zeros(360))
    weights = frame_energy[usable]
    clusters = _cluster(directions, weights, energy_numerators[usable], circle, max_sources, float(weights.sum()))
    sources = [_estimate(centre, share, consistency, False) for centre, share, consistency in clusters]

    times = (np.arange(len(frame_energy)) * hop + min(frame, signals.shape[1]) / 2.0) / sample_rate
    frame_az = np.degrees(np.arctan2(energy_vectors[:, 1], energy_vectors[:, 0]))
    with np.errstate(divide="ignore", invalid="ignore"):
        tracks = {
            "times_s": times,
            "azimuth_deg": np.where(usable, frame_az, np.nan),
            "energy_magnitude": np.where(kept, norms, np.nan),
            "velocity_azimuth_deg": np.where(
                kept & (velocity_denominators > 0.0),
                np.degrees(np.arctan2(velocity_vectors[:, 1], velocity_vectors[:, 0])),
                np.nan,
            ),
            "level_db": 10.0 * np.log10(frame_energy / frame_energy.max()),
        }
    summary = {
        "layout": layout,
        "energy_azimuth_deg": energy_az,
        "energy_magnitude": energy_mag,
        "velocity_azimuth_deg": velocity_az,
        "velocity_magnitude": velocity_mag,
        "velocity_band_hz": VELOCITY_BAND_HZ,
        "frames": len(frame_energy),
        "frames_used": int(kept.sum()),
        "energy_gate_db": ENERGY_GATE_DB,
    }
    return Localization(sources=sources, method="gerzon-vectors", summary=summary, tracks=tracks)
