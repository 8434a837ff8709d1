"""Benchmark: round-trip localization of rendered sources, per renderer configuration, with baselines.

Dry mono sources are rendered at a grid of azimuths and elevations around a listener at the origin
(facing +x, azimuth positive to the left) with each Soundstage configuration, and each render is
localized again by the localizer its format allows:

``binaural-sphere`` / ``binaural-kemar``
    ``soundstage.render`` to binaural with the rigid-sphere head / the measured MIT KEMAR SOFA file;
    localized with ``soundstage.metrics.localize_binaural.localize_binaural`` given the same head.
``stereo`` / ``5.1``
    ``soundstage.render`` to loudspeaker feeds (constant-power pan / 2-D VBAP over ITU-R BS.775);
    localized with ``soundstage.metrics.localize_fields.localize_loudspeakers`` (Gerzon vectors).
``foa``
    ``soundstage.render`` to first-order AmbiX; localized with
    ``soundstage.metrics.localize_fields.localize_ambisonic`` (pseudo-intensity).

Two baselines run side by side in the same process, on the same signals and directions:

``mono-mono``
    The mono source copied to both ears (no spatialisation at all), localized as binaural with the
    sphere head. It scores what a localizer reads from a signal that carries no direction.
``see2sound``
    SEE-2-SOUND's spatial stage as its paper and public code describe it, with pyroomacoustics (a
    benchmark-only dependency): a ``ShoeBox`` whose width, height and length are the image width,
    the image height and half the image width in pixels taken as metres, 16 kHz, pyroomacoustics'
    defaults (reflection order 1, no absorption: rigid walls), the listener at the centre of the
    image plane on the room's camera-side wall, and six omnidirectional microphones at offsets
    FL [0, 0, 100], FR [0, 0, -100], C [100, 0, 0], LFE [0, -100, 0], SL [-100, 0, 0],
    SR [0, 100, 0] from it. The six microphone signals are taken as a 5.1 file (FL FR FC LFE
    SL SR), as a listener on a 5.1 system would hear it, and localized with the 5.1 Gerzon-vector
    localizer. The source is put at the grid direction at ``--s2s-distance`` from the listener
    and clipped into the room (SEE-2-SOUND has no space behind the camera).
``see2sound-code``
    The same with the centre microphone at [10, 0, 0], as SEE-2-SOUND's public code has it.

Errors use ``soundstage.metrics.directions`` throughout; see ``benchmarks/README.md`` for what each
column means. Run ``python benchmarks/bench_localization.py --help``.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import platform
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from machine import cpu_model, package_version, usable_cores

SAMPLE_RATE = 16000
SEED = 20240607
#: Silence between two staggered sources in one render: longer than the arrival delay plus any HRIR.
GAP_S = 0.25
#: Renders whose true lateral angle is within this many degrees of the median plane have no "side";
#: they are left out of the left/right accuracy.
LR_MIN_LATERAL_DEG = 10.0
#: An estimate this close to the median plane (lateral angle, degrees) names no side: a listener hears
#: it in the middle, so it counts as wrong in the left/right accuracy whatever its sign.
LR_DEAD_ZONE_DEG = 5.0
#: Target level of every dry source, RMS in dBFS.
SOURCE_RMS_DBFS = -20.0

_REPO = Path(__file__).resolve().parents[1]
_SHARED_DATA = _REPO.parent / "shared" / "data"
DEFAULT_SOFA = _SHARED_DATA / "hrtf" / "mit_kemar_normal_pinna.sofa"
DEFAULT_AUDIO_DIR = _SHARED_DATA / "audio"
#: /build/ is git-ignored, so results never land in the tree by accident.
DEFAULT_OUT = _REPO / "build" / "bench_localization"
OUTPUT_FILES = ("localization_summary.csv", "localization_renders.csv", "localization.json")

#: SEE-2-SOUND's microphone offsets from the listener in room coordinates (x = image column to the
#: right, y = image row downwards, z = depth into the image), in the order FL FR FC LFE SL SR of the
#: 5.1 file it writes. The paper gives the centre as [100, 0, 0]; its public code uses [10, 0, 0]
#: (configuration ``see2sound-code``, see ``SEE2SOUND_CODE_CENTRE_X``).
SEE2SOUND_MIC_OFFSETS = {
    "FL": (0.0, 0.0, 100.0),
    "FR": (0.0, 0.0, -100.0),
    "FC": (100.0, 0.0, 0.0),
    "LFE": (0.0, -100.0, 0.0),
    "SL": (-100.0, 0.0, 0.0),
    "SR": (0.0, 100.0, 0.0),
}
#: x offset of the centre microphone in SEE-2-SOUND's public code (its paper says 100).
SEE2SOUND_CODE_CENTRE_X = 10.0
#: Keep clipped sources this far (m) inside the walls: pyroomacoustics needs them strictly inside.
ROOM_MARGIN_M = 0.1


@dataclass(frozen=True)
class Config:
    """One renderer configuration (or baseline) and the localizer that reads it back."""

    name: str
    localizer: str
    description: str
    binaural: bool = False
    baseline: bool = False


CONFIGS = (
    Config("binaural-sphere", "binaural-itd-ild", "soundstage.render binaural, rigid-sphere head", binaural=True),
    Config("binaural-kemar", "binaural-itd-ild", "soundstage.render binaural, MIT KEMAR SOFA", binaural=True),
    Config("stereo", "gerzon-vectors", "soundstage.render stereo (constant-power pan, ±30°)"),
    Config("5.1", "gerzon-vectors", "soundstage.render 5.1 (2-D VBAP, ITU-R BS.775)"),
    Config("foa", "pseudo-intensity", "soundstage.render FOA (AmbiX)"),
    Config("mono-mono", "binaural-itd-ild", "baseline: the mono copied to both ears", binaural=True, baseline=True),
    Config("see2sound", "gerzon-vectors", "baseline: SEE-2-SOUND spatial stage as in its paper", baseline=True),
    Config(
        "see2sound-code",
        "gerzon-vectors",
        "baseline: SEE-2-SOUND spatial stage as in its code (centre mic at 10 m)",
        baseline=True,
    ),
)
CONFIG_NAMES = tuple(c.name for c in CONFIGS)


# --------------------------------------------------------------------------------------------------
# Grid and signals
# --------------------------------------------------------------------------------------------------


def grid_directions(azimuth_step_deg: float, elevations_deg: list[float]) -> np.ndarray:
    """Azimuth (°, + left, in (-180, 180]) and elevation (°) of every grid direction, shape (K, 2)."""
    n_azimuths = round(360.0 / azimuth_step_deg)
    azimuths = np.arange(n_azimuths) * (360.0 / n_azimuths)
    azimuths = np.where(azimuths > 180.0, azimuths - 360.0, azimuths)
    return np.array([(az, el) for el in elevations_deg for az in azimuths], dtype=float)


def _loudest_window(signal: np.ndarray, n_samples: int, hop: int) -> np.ndarray:
    """The ``n_samples`` window of highest energy (hop ``hop``), looping the signal when too short."""
    if signal.size < n_samples:
        signal = np.tile(signal, int(np.ceil(n_samples / signal.size)))
    cumulative = np.concatenate([[0.0], np.cumsum(np.square(signal, dtype=np.float64))])
    starts = np.arange(0, signal.size - n_samples + 1, hop)
    energies = cumulative[starts + n_samples] - cumulative[starts]
    start = int(starts[np.argmax(energies)])
    return signal[start : start + n_samples]


def source_signals(n_signals: int, duration_s: float, audio_dir: Path) -> tuple[list[tuple[str, np.ndarray]], str]:
    """Dry mono signals at 16 kHz, each ``duration_s`` long at -20 dBFS RMS, float32.

    The first ``n_signals`` mono WAVs of ``audio_dir`` (sorted by name) are resampled and cut to
    their loudest ``duration_s`` window, so no source is mostly silence. Without enough files,
    seeded synthetic ones make up the count: 8 Hz trains of 40 ms white-noise bursts, harmonic
    complexes (150 Hz, 20 harmonics) amplitude-modulated at 4 Hz, and pink noise, in turn.

    Returns
    -------
    signals : list of (name, np.ndarray of shape (n_samples,))
    description : str
        Where the signals came from, for the report.
    """
    from soundstage.io.audio import load_audio

    n_samples = round(duration_s * SAMPLE_RATE)
    files = sorted(audio_dir.glob("*.wav")) if audio_dir.is_dir() else []
    signals: list[tuple[str, np.ndarray]] = []
    for path in files:
        if len(signals) == n_signals:
            break
        try:
            audio, _ = load_audio(path, sample_rate=SAMPLE_RATE)
        except Exception:  # a stereo or unreadable file is skipped; the report names the files used
            continue
        signals.append((path.stem, _loudest_window(audio.astype(np.float64), n_samples, SAMPLE_RATE // 20)))
    n_files = len(signals)
    rng = np.random.default_rng(SEED)
    t = np.arange(n_samples) / SAMPLE_RATE
    while len(signals) < n_signals:
        kind = (len(signals) - n_files) % 3
        if kind == 0:
            gate = (t % 0.125) < 0.04
            signals.append((f"noise-bursts-{len(signals)}", rng.standard_normal(n_samples) * gate))
        elif kind == 1:
            tone = sum(np.sin(2 * np.pi * 150.0 * k * t + rng.uniform(0, 2 * np.pi)) / k for k in range(1, 21))
            signals.append((f"harmonic-am-{len(signals)}", tone * (0.6 + 0.4 * np.sin(2 * np.pi * 4.0 * t))))
        else:
            spectrum = np.fft.rfft(rng.standard_normal(n_samples))
            spectrum[1:] /= np.sqrt(np.arange(1, spectrum.size))
            spectrum[0] = 0.0
            signals.append((f"pink-noise-{len(signals)}", np.fft.irfft(spectrum, n_samples)))
    target = 10.0 ** (SOURCE_RMS_DBFS / 20.0)
    scaled = []
    for name, signal in signals:
        rms = float(np.sqrt(np.mean(np.square(signal))))
        scaled.append((name, (signal * (target / max(rms, 1e-12))).astype(np.float32)))
    parts = []
    if n_files:
        parts.append(f"{n_files} mono WAV(s) from {audio_dir}, loudest {duration_s:g} s window of each")
    if len(signals) > n_files:
        parts.append(
            f"{len(signals) - n_files} seeded synthetic signal(s)"
            + ("" if files else f" (no WAV found in {audio_dir})")
        )
    return scaled, "; ".join(parts)


# --------------------------------------------------------------------------------------------------
# Renderers
# --------------------------------------------------------------------------------------------------


def render_soundstage(
    config: str, signal: np.ndarray, directions: np.ndarray, distance_m: float, sofa: str
) -> list[np.ndarray]:
    """Render ``signal`` at every direction with one ``soundstage.render`` call; one clip per direction.

    The directions are the sources of one scene, each starting ``GAP_S`` after the previous one has
    ended, so each clip (the source's own span plus the gap, which holds its propagation delay and
    HRIR tail) contains that source alone.

    Returns
    -------
    list of np.ndarray, each shape (n_channels, len(signal) + gap)
    """
    from soundstage.acoustics.render import render
    from soundstage.scene.model import Scene

    format_name = {"binaural-sphere": "binaural", "binaural-kemar": "binaural"}.get(config, config)
    hrtf = sofa if config == "binaural-kemar" else "sphere"
    span = signal.size + round(GAP_S * SAMPLE_RATE)
    sources = [
        {
            "audio": signal,
            "sample_rate": SAMPLE_RATE,
            "position": {"az": float(az), "el": float(el), "dist": distance_m},
            "start": k * span / SAMPLE_RATE,
            "name": f"az{az:+.0f}_el{el:+.0f}",
        }
        for k, (az, el) in enumerate(directions)
    ]
    scene = Scene(sources=sources, output={"format": format_name, "sample_rate": SAMPLE_RATE}, hrtf=hrtf)
    result = render(scene, progress=False)
    audio = np.zeros((result.audio.shape[0], span * len(directions)), dtype=np.float32)
    n = min(audio.shape[1], result.audio.shape[1])
    audio[:, :n] = result.audio[:, :n]
    return [audio[:, k * span : (k + 1) * span] for k in range(len(directions))]


def see2sound_geometry(
    image_width: int, image_height: int, centre_offset: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """SEE-2-SOUND's room, listener and microphones, in its room coordinates (metres = pixels).

    Returns
    -------
    room_dim : np.ndarray, shape (3,)
        ``[w, h, 0.5 w]``: x along the image columns, y along the rows, z the depth into the image.
    listener : np.ndarray, shape (3,)
        ``[w / 2, h / 2, 0]``: centred in the image plane, on the camera-side wall.
    microphones : np.ndarray, shape (6, 3)
        FL FR FC LFE SL SR positions (the listener plus the published offsets).
    """
    room_dim = np.array([image_width, image_height, 0.5 * image_width], dtype=float)
    listener = np.array([image_width / 2.0, image_height / 2.0, 0.0])
    offsets = np.array(list(SEE2SOUND_MIC_OFFSETS.values()), dtype=float)
    offsets[2, 0] = centre_offset
    return room_dim, listener, listener + offsets


def listener_to_see2sound(vector: np.ndarray) -> np.ndarray:
    """A listener-frame vector (x forward, y left, z up) in SEE-2-SOUND room axes.

    The listener looks into the image (+z of the room); image columns grow to the right (so left is
    -x) and image rows grow downwards (so up is -y). The map is a proper rotation.
    """
    forward, left, up = vector
    return np.array([-left, -up, forward])


def render_see2sound(
    signal: np.ndarray, azimuth_deg: float, elevation_deg: float, distance_m: float, geometry: tuple
) -> tuple[np.ndarray, np.ndarray]:
    """SEE-2-SOUND's six microphone signals for one source, as a (6, n) 5.1 file, and the source position.

    Microphones outside the room (FR, 100 m behind the camera-side wall) receive nothing through
    rigid walls: their channel is silent. pyroomacoustics 0.10 cannot simulate them (no image source
    is visible), so they are left out of the simulation and filled with zeros.
    """
    import pyroomacoustics as pra

    from soundstage.conventions import unit_vectors

    room_dim, listener, microphones = geometry
    position = listener + distance_m * listener_to_see2sound(unit_vectors(azimuth_deg, elevation_deg))
    position = np.clip(position, ROOM_MARGIN_M, room_dim - ROOM_MARGIN_M)
    room = pra.ShoeBox(room_dim, fs=SAMPLE_RATE)  # pyroomacoustics defaults: max_order=1, rigid walls
    room.add_source(position, signal=signal.astype(np.float64))
    inside = [bool(room.is_inside(m)) for m in microphones]
    room.add_microphone_array(microphones[inside].T)
    room.simulate()
    recorded = room.mic_array.signals
    audio = np.zeros((len(microphones), recorded.shape[1]), dtype=np.float32)
    audio[np.flatnonzero(inside)] = recorded
    return audio, position


# --------------------------------------------------------------------------------------------------
# Localization and scoring
# --------------------------------------------------------------------------------------------------


def localize(config: str, audio: np.ndarray, sofa: str):
    """The ``Localization`` of one clip by the localizer of ``config``."""
    if config in ("binaural-sphere", "binaural-kemar", "mono-mono"):
        from soundstage.metrics.localize_binaural import localize_binaural

        # The head is named rather than passed as an object: localize_binaural caches the cue lookup
        # it measures for a named head, so it is measured once per process, not once per clip.
        return localize_binaural(audio, SAMPLE_RATE, hrtf=sofa if config == "binaural-kemar" else "sphere")
    if config == "foa":
        from soundstage.metrics.localize_fields import localize_ambisonic

        return localize_ambisonic(audio, SAMPLE_RATE, convention="ambix")
    from soundstage.metrics.localize_fields import localize_loudspeakers

    layout = "stereo" if config == "stereo" else "5.1"
    return localize_loudspeakers(audio, layout, SAMPLE_RATE)


def score(config: Config, azimuth_deg: float, elevation_deg: float, localization) -> dict:
    """One row of the per-render table: the strongest estimate and its errors against the truth."""
    from soundstage.conventions import lateral_angle_deg, unit_vectors
    from soundstage.metrics.directions import (
        azimuth_error_deg,
        direction_error_deg,
        mirror_front_back,
    )

    true_lateral = float(lateral_angle_deg(unit_vectors(azimuth_deg, elevation_deg)))
    row = {
        "config": config.name,
        "azimuth_deg": azimuth_deg,
        "elevation_deg": elevation_deg,
        "true_lateral_deg": true_lateral,
        "found": bool(localization.sources),
        "n_sources": len(localization.sources),
        "est_azimuth_deg": None,
        "est_elevation_deg": None,
        "est_lateral_deg": None,
        "confidence": None,
        "great_circle_error_deg": None,
        "azimuth_error_deg": None,
        "folded_azimuth_error_deg": None,
        "lateral_error_deg": None,
        "left_right_correct": None,
    }
    if not localization.sources:
        return row
    best = localization.sources[0]
    row.update(
        est_azimuth_deg=float(best.azimuth_deg),
        est_elevation_deg=None if best.elevation_deg is None else float(best.elevation_deg),
        est_lateral_deg=float(best.lateral_deg),
        confidence=float(best.confidence),
        azimuth_error_deg=float(azimuth_error_deg(best.azimuth_deg, azimuth_deg)),
        lateral_error_deg=abs(float(best.lateral_deg) - true_lateral),
    )
    if best.elevation_deg is not None:
        row["great_circle_error_deg"] = float(
            direction_error_deg(best.azimuth_deg, best.elevation_deg, azimuth_deg, elevation_deg)
        )
    if config.binaural:
        # ITD and ILD cannot tell az from 180° - az: score the nearer of the estimate and its mirror.
        row["folded_azimuth_error_deg"] = float(
            min(
                azimuth_error_deg(best.azimuth_deg, azimuth_deg),
                azimuth_error_deg(mirror_front_back(best.azimuth_deg), azimuth_deg),
            )
        )
    if abs(true_lateral) >= LR_MIN_LATERAL_DEG:
        estimate = float(best.lateral_deg)
        row["left_right_correct"] = bool(abs(estimate) >= LR_DEAD_ZONE_DEG and estimate * true_lateral > 0.0)
    return row


@dataclass(frozen=True)
class Task:
    """One configuration × one signal: every grid direction rendered and localized."""

    config: str
    signal_name: str
    signal: np.ndarray
    directions: np.ndarray
    distance_m: float
    sofa: str
    image_size: tuple[int, int]
    s2s_distance_m: float


def run_task(task: Task) -> tuple[list[dict], float, float]:
    """Render and localize; (rows, render seconds, localize seconds). Runs in a worker process."""
    config = next(c for c in CONFIGS if c.name == task.config)
    rows = []
    start = time.perf_counter()
    positions: list[np.ndarray | None] = [None] * len(task.directions)
    if config.name == "mono-mono":
        # The copy carries no direction: the clip is the same for every grid direction, so it is
        # localized once and that result is scored against each direction.
        clips = [np.stack([task.signal, task.signal])]
    elif config.name.startswith("see2sound"):
        centre_x = SEE2SOUND_CODE_CENTRE_X if config.name == "see2sound-code" else SEE2SOUND_MIC_OFFSETS["FC"][0]
        geometry = see2sound_geometry(*task.image_size, centre_x)
        clips = []
        for k, (az, el) in enumerate(task.directions):
            clip, positions[k] = render_see2sound(task.signal, az, el, task.s2s_distance_m, geometry)
            clips.append(clip)
    else:
        clips = render_soundstage(config.name, task.signal, task.directions, task.distance_m, task.sofa)
    render_s = time.perf_counter() - start
    start = time.perf_counter()
    localizations = [localize(config.name, clip, task.sofa) for clip in clips]
    localize_s = time.perf_counter() - start
    for k, (az, el) in enumerate(task.directions):
        row = score(config, float(az), float(el), localizations[0 if config.name == "mono-mono" else k])
        row["signal"] = task.signal_name
        if positions[k] is not None:
            row["s2s_source_xyz"] = [round(float(v), 3) for v in positions[k]]
        rows.append(row)
    return rows, render_s, localize_s


# --------------------------------------------------------------------------------------------------
# Summary and report
# --------------------------------------------------------------------------------------------------


def _stats(values: list) -> tuple[float | None, float | None]:
    """Median and 90th percentile of the non-missing values (None when there are none)."""
    present = np.array([v for v in values if v is not None], dtype=float)
    if present.size == 0:
        return None, None
    return float(np.median(present)), float(np.percentile(present, 90))


def summarize(config: Config, rows: list[dict]) -> dict:
    """Per-configuration figures over all its renders (errors over the renders where a source was found)."""
    found = [r for r in rows if r["found"]]
    sided = [r["left_right_correct"] for r in rows if r["left_right_correct"] is not None]
    # A render with nothing found has no side: it counts as wrong in the left/right accuracy.
    sided_all = [r for r in rows if abs(r["true_lateral_deg"]) >= LR_MIN_LATERAL_DEG]
    summary = {
        "config": config.name,
        "localizer": config.localizer,
        "baseline": config.baseline,
        "renders": len(rows),
        "nothing_found_share": 1.0 - len(found) / len(rows) if rows else None,
        "left_right_accuracy": (sum(bool(v) for v in sided) / len(sided_all)) if sided_all else None,
        "left_right_renders": len(sided_all),
    }
    for key in ("great_circle_error_deg", "azimuth_error_deg", "folded_azimuth_error_deg", "lateral_error_deg"):
        median, p90 = _stats([r[key] for r in found])
        summary[f"{key}_median"] = median
        summary[f"{key}_p90"] = p90
    return summary


def headline_key(config: Config) -> str:
    """The error that says most for a configuration: great-circle, lateral (binaural), or azimuth."""
    if config.localizer == "pseudo-intensity":
        return "great_circle_error_deg"
    if config.binaural:
        return "lateral_error_deg"
    return "azimuth_error_deg"


def _fmt(value, spec: str = ".1f", scale: float = 1.0) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value * scale, spec)


def _pair(summary: dict, key: str) -> str:
    """``median / p90`` of one error in a summary, or a dash."""
    median, p90 = summary[f"{key}_median"], summary[f"{key}_p90"]
    return "–" if median is None else f"{median:.1f} / {p90:.1f}"


def summary_table(summaries: list[dict]) -> list[str]:
    lines = [
        "| configuration | localizer | renders | nothing found (%) | great-circle med / p90 (°) "
        "| azimuth med / p90 (°) | front/back-folded azimuth med / p90 (°) | lateral med / p90 (°) "
        "| left/right accuracy (%) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for s in summaries:
        if "skipped" in s:
            lines.append(f"| {s['config']} | skipped: {s['skipped']} |" + " |" * 7)
            continue

        name = f"{s['config']} (baseline)" if s["baseline"] else s["config"]
        lines.append(
            f"| {name} | {s['localizer']} | {s['renders']} | {_fmt(s['nothing_found_share'], '.1f', 100)} "
            f"| {_pair(s, 'great_circle_error_deg')} | {_pair(s, 'azimuth_error_deg')} "
            f"| {_pair(s, 'folded_azimuth_error_deg')} | {_pair(s, 'lateral_error_deg')} "
            f"| {_fmt(s['left_right_accuracy'], '.1f', 100)} |"
        )
    return lines


def elevation_table(rows_by_config: dict[str, list[dict]], elevations: list[float]) -> list[str]:
    """Median of each configuration's headline error, per elevation."""
    lines = [
        "| configuration | error | " + " | ".join(f"el {el:+g}°" for el in elevations) + " |",
        "|---|---|" + "---:|" * len(elevations),
    ]
    for config in CONFIGS:
        rows = rows_by_config.get(config.name)
        if not rows:
            continue
        key = headline_key(config)
        cells = []
        for el in elevations:
            median, _ = _stats([r[key] for r in rows if r["found"] and r["elevation_deg"] == el])
            cells.append(_fmt(median))
        label = key.removesuffix("_error_deg").replace("_", " ")
        lines.append(f"| {config.name} | {label} | " + " | ".join(cells) + " |")
    return lines


def machine_description() -> dict:
    """CPU, cores usable by this process, OS and library versions."""
    model = cpu_model()
    usable = usable_cores()
    return {
        "cpu": model,
        "logical_cores": os.cpu_count(),
        "usable_cores": usable,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "versions": {n: package_version(n) for n in ("soundstage", "numpy", "scipy", "soxr", "pyroomacoustics")},
    }


LEGEND = [
    "Columns (errors over the renders where the localizer found a source; its strongest estimate counts):",
    "",
    "- **nothing found**: share of renders where the localizer returned no source.",
    "- **great-circle**: angle on the sphere between the estimated and the true direction, "
    "`soundstage.metrics.directions.direction_error_deg`; only where the method estimates elevation (FOA).",
    "- **azimuth**: circular azimuth difference, `azimuth_error_deg`, whatever the elevation. Binaural "
    "estimates are frontal by construction, so for them it includes every front/back confusion.",
    "- **front/back-folded azimuth** (binaural only): the smaller azimuth error of the estimate and of its "
    "front/back mirror (`mirror_front_back`), i.e. the azimuth error once the cone-of-confusion is forgiven.",
    "- **lateral**: |estimated − true lateral angle| (angle from the median plane, "
    "`soundstage.conventions.lateral_angle_deg` of the true 3-D direction; the estimate's `lateral_deg`).",
    f"- **left/right accuracy**: share of renders whose true direction is at least {LR_MIN_LATERAL_DEG:g}° "
    f"off the median plane where the estimate's lateral angle is on the same side and at least {LR_DEAD_ZONE_DEG:g}° "
    "off the median plane (an estimate in the middle, or nothing found, names no side and counts as wrong).",
    "- **med / p90**: median and 90th percentile over renders (all signals × grid directions).",
]


def check_outputs(folder: Path, overwrite: bool) -> list[Path]:
    """The output paths, after checking that none exists unless ``overwrite``."""
    paths = [folder / name for name in OUTPUT_FILES]
    existing = [p for p in paths if p.exists()]
    if existing and not overwrite:
        sys.exit(f"{existing[0]} exists; pass --overwrite to replace the results in {folder}, or choose --out DIR")
    return paths


def write_outputs(paths: list[Path], summaries: list[dict], rows: list[dict], report: dict, overwrite: bool) -> None:
    """Summary CSV, per-render CSV and one JSON with settings, machine, summary and renders."""
    from soundstage.io.atomic import atomic_write, ensure_dir

    ensure_dir(paths[0].parent)
    for path, records in ((paths[0], [s for s in summaries if "skipped" not in s]), (paths[1], rows)):
        columns: list[str] = []
        for record in records:
            columns += [key for key in record if key not in columns]
        with atomic_write(path, overwrite=overwrite) as temporary, open(temporary, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            for record in records:
                writer.writerow({k: ("" if v is None else v) for k, v in record.items()})
    with atomic_write(paths[2], overwrite=overwrite) as temporary:
        temporary.write_text(json.dumps(report, indent=1) + "\n")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--configs", nargs="+", choices=CONFIG_NAMES, default=list(CONFIG_NAMES), help="default all")
    parser.add_argument("--azimuth-step", type=float, default=15.0, help="grid azimuth spacing, degrees (default 15)")
    parser.add_argument(
        "--elevations", type=float, nargs="+", default=[-20.0, 0.0, 30.0], help="grid elevations, degrees"
    )
    parser.add_argument("--signals", type=int, default=4, help="number of dry sources (default 4)")
    parser.add_argument("--duration", type=float, default=1.5, help="seconds per source (default 1.5)")
    parser.add_argument("--distance", type=float, default=2.0, help="source distance for Soundstage, m (default 2)")
    parser.add_argument("--hrtf", default=str(DEFAULT_SOFA), help="SOFA file of the binaural-kemar configuration")
    parser.add_argument("--audio-dir", default=str(DEFAULT_AUDIO_DIR), help="folder of dry mono WAVs")
    parser.add_argument(
        "--image-size", type=int, nargs=2, default=[512, 512], metavar=("W", "H"), help="SEE-2-SOUND image, px"
    )
    parser.add_argument(
        "--s2s-distance",
        type=float,
        default=None,
        help="SEE-2-SOUND source distance from the listener in room metres (default: image width / 4, "
        "mid-way along its depth axis)",
    )
    parser.add_argument("--jobs", type=int, default=None, help="worker processes (default: usable cores, at most 4)")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help=f"results folder (default {DEFAULT_OUT})")
    parser.add_argument("--overwrite", action="store_true", help="replace existing results in --out")
    args = parser.parse_args(argv)
    if args.signals < 1 or args.duration <= 0 or args.distance <= 0:
        parser.error("--signals must be at least 1, --duration and --distance positive")
    if not 1.0 <= args.azimuth_step <= 180.0:
        parser.error("--azimuth-step must be within 1..180 degrees")
    if any(not -90.0 <= el <= 90.0 for el in args.elevations):
        parser.error("--elevations must be within -90..90 degrees")
    if args.s2s_distance is not None and args.s2s_distance <= 0:
        parser.error("--s2s-distance must be positive")
    if args.jobs is not None and args.jobs < 1:
        parser.error("--jobs must be at least 1")
    if min(args.image_size) < 2:
        parser.error("--image-size must be at least 2 × 2 pixels")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    out_paths = check_outputs(Path(args.out), args.overwrite)
    s2s_distance = args.s2s_distance if args.s2s_distance is not None else args.image_size[0] / 4.0
    configs = [c for c in CONFIGS if c.name in args.configs]
    skipped: dict[str, str] = {}
    if "binaural-kemar" in args.configs and not Path(args.hrtf).is_file():
        skipped["binaural-kemar"] = f"SOFA file {args.hrtf} is absent (pass --hrtf PATH)"
    try:
        import pyroomacoustics  # noqa: F401
    except ImportError:
        for name in ("see2sound", "see2sound-code"):
            if name in args.configs:
                skipped[name] = "pyroomacoustics is not installed (pip install -e '.[bench]')"
    for name, reason in skipped.items():
        print(f"skipping {name}: {reason}", file=sys.stderr)

    directions = grid_directions(args.azimuth_step, args.elevations)
    signals, signal_description = source_signals(args.signals, args.duration, Path(args.audio_dir))
    if "seeded synthetic" in signal_description:
        print(f"note: {signal_description}", file=sys.stderr)
    tasks = [
        Task(
            c.name,
            name,
            signal,
            directions,
            args.distance,
            str(args.hrtf),
            tuple(args.image_size),
            s2s_distance,
        )
        for c in configs
        if c.name not in skipped
        for name, signal in signals
    ]
    usable = usable_cores()
    jobs = args.jobs or max(1, min(usable, 4))
    start = time.perf_counter()
    if jobs == 1:
        results = [run_task(task) for task in tasks]
    else:
        # Results come back in task order whatever the completion order, so the run is deterministic.
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            results = list(pool.map(run_task, tasks))
    wall_s = time.perf_counter() - start

    rows_by_config: dict[str, list[dict]] = {}
    times: dict[str, list[float]] = {}
    for task, (rows, render_s, localize_s) in zip(tasks, results, strict=True):
        rows_by_config.setdefault(task.config, []).extend(rows)
        spent = times.setdefault(task.config, [0.0, 0.0])
        spent[0] += render_s
        spent[1] += localize_s
    summaries = []
    for config in configs:
        if config.name in skipped:
            summaries.append({"config": config.name, "skipped": skipped[config.name]})
            continue
        summary = summarize(config, rows_by_config[config.name])
        summary["render_s"], summary["localize_s"] = times[config.name]
        summaries.append(summary)

    machine = machine_description()
    settings = {
        "sample_rate": SAMPLE_RATE,
        "signals": [name for name, _ in signals],
        "signal_source": signal_description,
        "duration_s": args.duration,
        "source_rms_dbfs": SOURCE_RMS_DBFS,
        "azimuths_deg": sorted({float(a) for a in directions[:, 0]}),
        "elevations_deg": list(args.elevations),
        "grid_directions": len(directions),
        "distance_m": args.distance,
        "hrtf_sofa": str(args.hrtf),
        "see2sound": {
            "image_size_px": list(args.image_size),
            "room_dim_m": see2sound_geometry(*args.image_size, SEE2SOUND_MIC_OFFSETS["FC"][0])[0].tolist(),
            "microphone_offsets_m": {k: list(v) for k, v in SEE2SOUND_MIC_OFFSETS.items()},
            "source_distance_m": s2s_distance,
            "centre_offset_m": {"see2sound": SEE2SOUND_MIC_OFFSETS["FC"][0], "see2sound-code": SEE2SOUND_CODE_CENTRE_X},
            "max_order": 1,
            "walls": "rigid (pyroomacoustics default, no absorption)",
        },
        "left_right_min_lateral_deg": LR_MIN_LATERAL_DEG,
        "left_right_dead_zone_deg": LR_DEAD_ZONE_DEG,
        "jobs": jobs,
    }
    spent = "; ".join(
        f"{s['config']} render {s['render_s']:.1f} / localize {s['localize_s']:.1f}"
        for s in summaries
        if "render_s" in s
    )
    lines = [
        f"# Round-trip localization: {len(directions)} directions × {len(signals)} sources × "
        f"{len(configs) - len(skipped)} configurations at {SAMPLE_RATE} Hz",
        "",
        f"- Machine: {machine['cpu']}; {machine['logical_cores']} logical cores, {machine['usable_cores']} usable; "
        f"{machine['os']}; {jobs} worker process(es); {wall_s:.0f} s wall",
        f"- Python {machine['python']}; " + ", ".join(f"{k} {v}" for k, v in machine["versions"].items()),
        f"- Sources: {signal_description} ({', '.join(name for name, _ in signals)}), {args.duration:g} s each, "
        f"{SOURCE_RMS_DBFS:g} dBFS RMS",
        f"- Grid: azimuths every {360.0 / round(360.0 / args.azimuth_step):g}° around the circle × elevations "
        + ", ".join(f"{el:g}°" for el in args.elevations)
        + f"; Soundstage sources at {args.distance:g} m, free field, one source per clip",
        f"- KEMAR: {args.hrtf}",
        f"- SEE-2-SOUND: {args.image_size[0]}×{args.image_size[1]} px image → ShoeBox "
        + "×".join(f"{v:g}" for v in settings["see2sound"]["room_dim_m"])
        + f" m, max_order 1, rigid walls; source {s2s_distance:g} m from the listener at the grid direction, "
        f"clipped {ROOM_MARGIN_M:g} m inside the room; centre mic offset {SEE2SOUND_MIC_OFFSETS['FC'][0]:g} m "
        f"(paper; `see2sound`) or {SEE2SOUND_CODE_CENTRE_X:g} m (code; `see2sound-code`)",
        "",
        *summary_table(summaries),
        "",
        "Median of the headline error per elevation (°):",
        "",
        *elevation_table(rows_by_config, list(args.elevations)),
        "",
        *LEGEND,
        "",
        f"Time spent (seconds, summed over workers): {spent}",
    ]
    for line in lines:
        print(line)
    all_rows = [row for config in configs for row in rows_by_config.get(config.name, [])]
    report = {"settings": settings, "machine": machine, "wall_s": wall_s, "summary": summaries, "renders": all_rows}
    write_outputs(out_paths, summaries, all_rows, report, args.overwrite)
    print()
    print("Results written to " + ", ".join(str(p) for p in out_paths))


if __name__ == "__main__":
    main()
