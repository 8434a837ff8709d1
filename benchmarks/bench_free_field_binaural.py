"""Benchmark: free-field binaural render of a multi-source scene, Soundstage vs pyroomacoustics.

The scene: ``--sources`` dry mono signals of ``--duration`` seconds at 48 kHz, placed at distinct
directions and distances around a listener at the origin facing +x (azimuth spread evenly over
0..360°, elevations cycling through -20..40°, distances 1..4 m). Three renderers, each run in its
own fresh Python process so that its wall time and peak memory are its own:

``soundstage-kemar``
    ``soundstage.render`` with the measured MIT KEMAR SOFA file (resampled to 48 kHz by Soundstage).
``soundstage-sphere``
    ``soundstage.render`` with the built-in rigid-sphere head.
``pyroomacoustics-kemar``
    ``pyroomacoustics.AnechoicRoom`` (a ShoeBox with ``max_order=0``: direct sound only) with a
    two-microphone array at the head centre whose directivities are the left and right ears of the
    same SOFA file (``pyroomacoustics.directivities.MeasuredDirectivityFile``; needs ``python-sofa``).

Every run is end to end: HRTF loading (file read + resampling, or the sphere model) plus the render.
The first run of a process is reported separately as *cold* (it also pays lazy imports and first-touch
allocations); the median of ``--repeats`` further runs is *warm*. The HRTF load alone is timed on its
own so that the render-only time can be read off as warm − load.

After timing, each process also renders a unit impulse from every source so that the two KEMAR
renders can be compared on physical quantities (level, interaural level and time differences,
arrival time, waveform similarity): see the sanity tables the script prints.

Run ``python benchmarks/bench_free_field_binaural.py --help``; see ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from machine import cpu_model, package_version, usable_cores

SAMPLE_RATE = 48000
SPEED_OF_SOUND = 343.0
SEED = 20240601
#: Elevations (degrees) the sources cycle through: spread over -20..40° and all on the MIT KEMAR grid.
ELEVATIONS_DEG = (-20.0, 0.0, 20.0, 40.0, -10.0, 10.0, 30.0, 0.0)
#: Spacing in seconds between the impulses of the per-source sanity render (longer than any delay + IR).
IMPULSE_SPACING_S = 0.1

_SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
DEFAULT_SOFA = _SHARED_DATA / "hrtf" / "mit_kemar_normal_pinna.sofa"
DEFAULT_AUDIO_DIR = _SHARED_DATA / "audio"

CASES = ("soundstage-kemar", "soundstage-sphere", "pyroomacoustics-kemar")
_NEEDS_SOFA = {"soundstage-kemar", "pyroomacoustics-kemar"}


# --------------------------------------------------------------------------------------------------
# The scene (identical in every process: seeded, and read from the same files)
# --------------------------------------------------------------------------------------------------


def source_positions(n_sources: int) -> np.ndarray:
    """Azimuth (°, + left), elevation (°) and distance (m) of each source, shape (n_sources, 3)."""
    index = np.arange(n_sources)
    azimuth_deg = 360.0 * index / n_sources
    elevation_deg = np.array([ELEVATIONS_DEG[i % len(ELEVATIONS_DEG)] for i in index])
    # A stride coprime with the count permutes the distances, so that near and far sources alternate.
    stride = next(k for k in (3, 5, 7, 11, 13, 1) if math.gcd(k, n_sources) == 1)
    step = (stride * index) % n_sources
    distance_m = 1.0 + 3.0 * step / max(n_sources - 1, 1)
    return np.column_stack([azimuth_deg, elevation_deg, distance_m])


def position_xyz(azimuth_deg: float, elevation_deg: float, distance_m: float) -> np.ndarray:
    """Cartesian point (x forward, y left, z up) in metres, shape (3,)."""
    az, el = np.radians(azimuth_deg), np.radians(elevation_deg)
    return distance_m * np.array([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)])


def source_signals(n_sources: int, duration_s: float, audio_dir: Path) -> tuple[list[np.ndarray], str]:
    """Dry mono signals at 48 kHz, each ``duration_s`` long and at -20 dBFS RMS, float32.

    Mono WAVs from ``audio_dir`` are resampled, looped and cropped; when there are more sources than
    files, the files are reused with a circular shift so no two sources carry the same waveform in
    sync. Without any file, seeded noise bursts and tones stand in.

    Returns
    -------
    signals : list of np.ndarray, each shape (n_samples,)
    description : str
        Where the signals came from, for the report.
    """
    import soundfile as sf

    n_samples = round(duration_s * SAMPLE_RATE)
    files = sorted(audio_dir.glob("*.wav")) if audio_dir.is_dir() else []
    dry = []
    for path in files:
        data, rate = sf.read(path, dtype="float32", always_2d=True)
        if data.shape[1] == 1 and data.shape[0] > 0:
            dry.append((path.name, _resample(data[:, 0], rate)))
    rng = np.random.default_rng(SEED)
    signals = []
    for i in range(n_sources):
        if dry:
            signal = dry[i % len(dry)][1]
            repeats = int(np.ceil(n_samples / signal.size)) + 1
            looped = np.tile(signal, repeats)
            shift = (i // len(dry)) * signal.size // 2
            signal = looped[shift : shift + n_samples]
        else:
            t = np.arange(n_samples) / SAMPLE_RATE
            if i % 2:
                signal = np.sin(2 * np.pi * 220.0 * (i + 1) * t)
            else:
                signal = rng.standard_normal(n_samples)
        rms = float(np.sqrt(np.mean(np.square(signal, dtype=np.float64))))
        signals.append((signal * (0.1 / max(rms, 1e-12))).astype(np.float32))
    if dry:
        description = f"{len(dry)} mono WAVs from {audio_dir} looped/cropped: " + ", ".join(n for n, _ in dry)
    else:
        description = f"seeded noise and tones (no WAV in {audio_dir})"
    return signals, description


def _resample(signal: np.ndarray, rate: int) -> np.ndarray:
    """``signal`` at 48 kHz (soxr, high quality)."""
    if rate == SAMPLE_RATE:
        return signal
    import soxr

    return soxr.resample(signal, rate, SAMPLE_RATE, quality="HQ").astype(np.float32)


# --------------------------------------------------------------------------------------------------
# The renderers (run inside the worker process)
# --------------------------------------------------------------------------------------------------


class SoundstageCase:
    """Soundstage end to end: scene validation, HRTF load and render."""

    def __init__(self, hrtf: str) -> None:
        from soundstage import Scene, load_hrtf, render

        self.hrtf = hrtf
        self._scene_class, self._render, self._load_hrtf = Scene, render, load_hrtf

    def _scene(self, sources: list[dict]):
        return self._scene_class(
            sources=sources, output={"format": "binaural", "sample_rate": SAMPLE_RATE}, hrtf=self.hrtf
        )

    def run(self, signals: list[np.ndarray], positions: np.ndarray) -> np.ndarray:
        sources = [
            {
                "audio": signal,
                "sample_rate": SAMPLE_RATE,
                "position": {"az": float(az), "el": float(el), "dist": float(dist)},
                "name": f"s{i}",
            }
            for i, (signal, (az, el, dist)) in enumerate(zip(signals, positions, strict=True))
        ]
        result = self._render(self._scene(sources), progress=False)
        if result.sample_rate != SAMPLE_RATE or result.audio.shape[0] != 2:
            raise RuntimeError(f"soundstage returned {result.audio.shape} at {result.sample_rate} Hz")
        return result.audio

    def load_only(self) -> None:
        self._load_hrtf(self.hrtf, SAMPLE_RATE)

    def impulse_responses(self, positions: np.ndarray) -> np.ndarray:
        """Binaural IR of every source, shape (n_sources, 2, window), from one staggered-impulse render."""
        window = round(IMPULSE_SPACING_S * SAMPLE_RATE)
        impulse = np.zeros(64, dtype=np.float32)
        impulse[0] = 1.0
        sources = [
            {
                "audio": impulse,
                "sample_rate": SAMPLE_RATE,
                "position": {"az": float(az), "el": float(el), "dist": float(dist)},
                "start": i * IMPULSE_SPACING_S,
            }
            for i, (az, el, dist) in enumerate(positions)
        ]
        audio = self._render(self._scene(sources), progress=False).audio
        audio = np.pad(audio, ((0, 0), (0, len(positions) * window)))
        return np.stack([audio[:, i * window : (i + 1) * window] for i in range(len(positions))])


class PyroomacousticsCase:
    """pyroomacoustics end to end: SOFA read + resampling, room build, RIRs and convolution."""

    def __init__(self, sofa_path: str, interp_order: int | None) -> None:
        import pyroomacoustics as pra
        from pyroomacoustics.directivities import MeasuredDirectivityFile, Rotation3D

        self.pra = pra
        self.sofa_path = sofa_path
        self.interp_order = interp_order
        self._file_class = MeasuredDirectivityFile
        # No rotation: the SOFA frame (x front, y left, z up) is the room frame, the head faces +x.
        self._orientation = Rotation3D([0.0, 0.0, 0.0], "zyx")
        self.last_room = None

    def load_only(self):
        """The two ear directivities, (left, right), read from the SOFA file at 48 kHz."""
        hrtf = self._file_class(self.sofa_path, fs=SAMPLE_RATE, interp_order=self.interp_order)
        # The file's receivers are the ears; the one at +y is the left ear.
        left = int(np.argmax(hrtf.mic_locs[1]))
        right = int(np.argmin(hrtf.mic_locs[1]))
        return (
            hrtf.get_mic_directivity(left, orientation=self._orientation),
            hrtf.get_mic_directivity(right, orientation=self._orientation),
        )

    def run(self, signals: list[np.ndarray], positions: np.ndarray) -> np.ndarray:
        pra = self.pra
        left, right = self.load_only()
        room = pra.AnechoicRoom(dim=3, fs=SAMPLE_RATE)
        # Both "microphones" sit at the head centre: the ITD comes from the HRIRs, as in Soundstage.
        centre = np.zeros((3, 2))
        room.add_microphone_array(pra.MicrophoneArray(centre, SAMPLE_RATE, directivity=[left, right]))
        for signal, (az, el, dist) in zip(signals, positions, strict=True):
            room.add_source(position_xyz(az, el, dist), signal=signal)
        room.simulate()
        self.last_room = room
        return room.mic_array.signals

    def impulse_responses(self, positions: np.ndarray) -> np.ndarray:
        """Binaural IR of every source from the last simulated room, shape (n_sources, 2, window)."""
        window = round(IMPULSE_SPACING_S * SAMPLE_RATE)
        out = np.zeros((len(positions), 2, window))
        for s in range(len(positions)):
            for ear in range(2):
                rir = np.asarray(self.last_room.rir[ear][s])[:window]
                out[s, ear, : rir.size] = rir
        return out


# --------------------------------------------------------------------------------------------------
# Worker: one case in a fresh process
# --------------------------------------------------------------------------------------------------


def _rss_mib() -> float:
    """Current resident set size of this process in MiB (Linux /proc; NaN elsewhere)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


def _peak_rss_mib() -> float:
    """Peak resident set size of this process so far, in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # ru_maxrss is in KiB on Linux and in bytes on macOS.
    return peak / (1024.0**2 if sys.platform == "darwin" else 1024.0)


def worker(args: argparse.Namespace) -> None:
    """Time one case and write its results (JSON on stdout, audio to ``args.out``)."""
    positions = source_positions(args.sources)
    signals, signal_description = source_signals(args.sources, args.duration, Path(args.audio_dir))

    start = time.perf_counter()
    if args.worker == "pyroomacoustics-kemar":
        case = PyroomacousticsCase(args.hrtf, args.pra_interp_order)
    else:
        case = SoundstageCase(args.hrtf if args.worker == "soundstage-kemar" else "sphere")
    import_s = time.perf_counter() - start
    baseline_mib = _rss_mib()

    times = []
    for _ in range(args.repeats + 1):
        start = time.perf_counter()
        mix = case.run(signals, positions)
        times.append(time.perf_counter() - start)
    peak_mib = _peak_rss_mib()

    load_times = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        case.load_only()
        load_times.append(time.perf_counter() - start)

    irs = case.impulse_responses(positions)
    extra = {}
    if isinstance(case, PyroomacousticsCase):
        extra["frac_delay_length"] = int(case.pra.constants.get("frac_delay_length"))
    np.savez(args.out, mix=np.asarray(mix, dtype=np.float32), irs=np.asarray(irs, dtype=np.float64))
    print(
        json.dumps(
            {
                "case": args.worker,
                "import_s": import_s,
                "cold_s": times[0],
                "warm_s": times[1:],
                "load_s": load_times,
                "baseline_mib": baseline_mib,
                "peak_mib": peak_mib,
                "signals": signal_description,
                **extra,
            }
        )
    )


# --------------------------------------------------------------------------------------------------
# Physical comparison of the renders
# --------------------------------------------------------------------------------------------------


def ild_db(ir: np.ndarray) -> float:
    """Broadband interaural level difference, left over right, in dB, of a (2, n) IR."""
    energy = np.sum(np.square(ir), axis=1)
    return float(10.0 * np.log10(energy[0] / energy[1]))


def itd_us(ir: np.ndarray, max_lag_s: float = 1e-3) -> float:
    """Interaural time difference in µs, positive when the left ear leads, from the cross-correlation peak."""
    n = ir.shape[1]
    n_fft = 1 << (2 * n - 1).bit_length()
    spectra = np.fft.rfft(ir, n_fft, axis=1)
    xcorr = np.fft.irfft(spectra[1] * np.conj(spectra[0]), n_fft)
    max_lag = round(max_lag_s * SAMPLE_RATE)
    lags = np.arange(-max_lag, max_lag + 1)
    # A positive lag means the right ear is a delayed copy of the left, i.e. the left leads.
    return float(lags[np.argmax(xcorr[lags])] / SAMPLE_RATE * 1e6)


def onset_ms(ir: np.ndarray, fraction: float = 0.1) -> float:
    """First time (ms) either ear reaches ``fraction`` of the IR's peak magnitude."""
    magnitude = np.max(np.abs(ir), axis=0)
    return float(np.argmax(magnitude >= fraction * magnitude.max()) / SAMPLE_RATE * 1e3)


def level_db(signal: np.ndarray) -> float:
    """Total energy of a (2, n) signal in dB."""
    return float(10.0 * np.log10(np.sum(np.square(signal, dtype=np.float64))))


def best_correlation(a: np.ndarray, b: np.ndarray) -> tuple[float, int]:
    """Peak normalised cross-correlation of two 1-D signals and its lag in samples (b later = +)."""
    n_fft = 1 << (a.size + b.size - 1).bit_length()
    xcorr = np.fft.irfft(np.fft.rfft(b, n_fft) * np.conj(np.fft.rfft(a, n_fft)), n_fft)
    norm = np.sqrt(np.sum(np.square(a)) * np.sum(np.square(b)))
    index = int(np.argmax(xcorr))
    lag = index if index < n_fft // 2 else index - n_fft
    return float(xcorr[index] / norm), lag


def envelope_correlation(a: np.ndarray, b: np.ndarray, frame_s: float = 0.02) -> float:
    """Pearson correlation of the 20 ms RMS envelopes (dB) of two 1-D signals, cropped to the shorter."""
    frame = round(frame_s * SAMPLE_RATE)
    n_frames = min(a.size, b.size) // frame

    def envelope(x: np.ndarray) -> np.ndarray:
        frames = x[: n_frames * frame].astype(np.float64).reshape(n_frames, frame)
        return 10.0 * np.log10(np.mean(np.square(frames), axis=1) + 1e-12)

    return float(np.corrcoef(envelope(a), envelope(b))[0, 1])


# --------------------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------------------


def machine_description() -> list[str]:
    """Lines describing the CPU, the cores this process may use and the library versions."""
    model = cpu_model()
    usable = usable_cores()
    versions = ", ".join(
        f"{name} {package_version(name)}"
        for name in ("soundstage", "numpy", "scipy", "soxr", "pyroomacoustics", "python-sofa", "netCDF4")
    )
    return [
        f"- Machine: {model}; {os.cpu_count()} logical cores, {usable} usable by this process; "
        f"{platform.system()} {platform.release()}",
        f"- Python {platform.python_version()}; {versions}",
    ]


def run_case(case: str, args: argparse.Namespace, folder: Path) -> tuple[dict | None, dict | None, str]:
    """Run ``case`` in a fresh interpreter; (timings, arrays, error message)."""
    out = folder / f"{case}.npz"
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        case,
        "--out",
        str(out),
        "--repeats",
        str(args.repeats),
        "--duration",
        str(args.duration),
        "--sources",
        str(args.sources),
        "--hrtf",
        str(args.hrtf),
        "--audio-dir",
        str(args.audio_dir),
    ]
    if args.pra_interp_order is not None:
        command += ["--pra-interp-order", str(args.pra_interp_order)]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        tail = (completed.stderr or completed.stdout).strip().splitlines()
        return None, None, tail[-1] if tail else f"exit status {completed.returncode}"
    timings = json.loads(completed.stdout.strip().splitlines()[-1])
    with np.load(out) as arrays:
        return timings, {"mix": arrays["mix"], "irs": arrays["irs"]}, ""


def timing_table(results: dict[str, dict], duration_s: float) -> list[str]:
    lines = [
        "| case | import (s) | cold run (s) | warm run, median (s) | HRTF load, median (s) "
        "| render excl. load (s) | RTF warm (×) | RTF cold (×) | peak RSS (MiB) | Δ RSS over baseline (MiB) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for case, timing in results.items():
        if "error" in timing:
            lines.append(f"| {case} | failed: {timing['error'][:160]} |" + " |" * 8)
            continue
        warm = float(np.median(timing["warm_s"]))
        load = float(np.median(timing["load_s"]))
        lines.append(
            f"| {case} | {timing['import_s']:.2f} | {timing['cold_s']:.2f} | {warm:.3f} | {load:.3f} "
            f"| {warm - load:.3f} | {duration_s / warm:.1f} | {duration_s / timing['cold_s']:.1f} "
            f"| {timing['peak_mib']:.0f} | {timing['peak_mib'] - timing['baseline_mib']:.0f} |"
        )
    return lines


def ratio_lines(results: dict[str, dict]) -> list[str]:
    peer = results.get("pyroomacoustics-kemar", {})
    if "warm_s" not in peer:
        return []
    lines = ["", "Ratio pyroomacoustics time / Soundstage time (> 1: Soundstage is faster):", ""]
    lines += [
        "| Soundstage case | warm end to end | cold end to end | HRTF load | render excl. load |",
        "|---|---:|---:|---:|---:|",
    ]
    peer_warm, peer_load = float(np.median(peer["warm_s"])), float(np.median(peer["load_s"]))
    for case in ("soundstage-kemar", "soundstage-sphere"):
        own = results.get(case, {})
        if "warm_s" not in own:
            continue
        warm, load = float(np.median(own["warm_s"])), float(np.median(own["load_s"]))
        split = f"| {peer_load / load:.2f} | {(peer_warm - peer_load) / (warm - load):.2f} |"
        if case == "soundstage-sphere":
            # The sphere computes its HRIRs per direction during the render, so its "load" is not the
            # counterpart of reading a SOFA file: only the end-to-end ratios compare like with like.
            split = "| n/a | n/a |"
        lines.append(f"| {case} | {peer_warm / warm:.2f} | {peer['cold_s'] / own['cold_s']:.2f} {split}")
    return lines


def sanity_lines(arrays: dict[str, dict], positions: np.ndarray) -> list[str]:
    """Per-source IR comparison and whole-mix comparison of the renders that exist."""
    ss, sphere, peer = (arrays.get(c) for c in ("soundstage-kemar", "soundstage-sphere", "pyroomacoustics-kemar"))
    reference = ss or sphere
    if reference is None:
        return []
    lines = [
        "",
        "Sanity check, per source (binaural impulse response of each source, rendered after timing):",
        "ILD = broadband left/right energy ratio (dB, + = left louder); ITD = interaural cross-correlation",
        "lag (µs, + = left leads); onset = first sample at 10 % of the IR peak (ms; r/c is the propagation",
        "delay); level = energy of both ears (dB), peer minus Soundstage-KEMAR; corr L/R = peak normalised",
        "cross-correlation of the pyroomacoustics and Soundstage-KEMAR IRs per ear, at lag (samples).",
        "",
        "| src | az (°) | el (°) | dist (m) | ILD SS-KEMAR | ILD pra | ILD SS-sphere | ITD SS-KEMAR | ITD pra "
        "| ITD SS-sphere | r/c (ms) | onset SS-KEMAR | onset pra | onset SS-sphere | level pra−SS (dB) "
        "| corr L / R @ lag |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]

    def fmt(data, function, spec):
        return "–" if data is None else format(function(data), spec)

    for s, (az, el, dist) in enumerate(positions):
        irs = {name: (None if d is None else d["irs"][s]) for name, d in (("ss", ss), ("pra", peer), ("sph", sphere))}
        compare = "–"
        level = "–"
        if irs["ss"] is not None and irs["pra"] is not None:
            level = f"{level_db(irs['pra']) - level_db(irs['ss']):+.1f}"
            pairs = [best_correlation(irs["ss"][ear], irs["pra"][ear]) for ear in range(2)]
            compare = " / ".join(f"{c:.2f} @ {lag:+d}" for c, lag in pairs)
        lines.append(
            f"| {s} | {az:.0f} | {el:.0f} | {dist:.2f} "
            f"| {fmt(irs['ss'], ild_db, '+.1f')} | {fmt(irs['pra'], ild_db, '+.1f')} "
            f"| {fmt(irs['sph'], ild_db, '+.1f')} "
            f"| {fmt(irs['ss'], itd_us, '+.0f')} | {fmt(irs['pra'], itd_us, '+.0f')} "
            f"| {fmt(irs['sph'], itd_us, '+.0f')} | {dist / SPEED_OF_SOUND * 1e3:.2f} "
            f"| {fmt(irs['ss'], onset_ms, '.2f')} | {fmt(irs['pra'], onset_ms, '.2f')} "
            f"| {fmt(irs['sph'], onset_ms, '.2f')} | {level} | {compare} |"
        )
    if ss is not None and peer is not None:
        ild_diff = [ild_db(peer["irs"][s]) - ild_db(ss["irs"][s]) for s in range(len(positions))]
        itd_diff = [itd_us(peer["irs"][s]) - itd_us(ss["irs"][s]) for s in range(len(positions))]
        lines += [
            "",
            f"KEMAR, pyroomacoustics − Soundstage: ILD differs by {np.mean(np.abs(ild_diff)):.2f} dB on average "
            f"(max {np.max(np.abs(ild_diff)):.2f} dB), ITD by {np.mean(np.abs(itd_diff)):.0f} µs on average "
            f"(max {np.max(np.abs(itd_diff)):.0f} µs).",
        ]
    lines += [
        "",
        "Whole mix (the timed render):",
        "",
        "| render | samples | energy (dB) | envelope corr. with "
        "SS-KEMAR L / R | waveform corr. with SS-KEMAR L / R @ lag |",
        "|---|---:|---:|---|---|",
    ]
    for name, data in arrays.items():
        if data is None:
            continue
        mix = data["mix"]
        envelope = waveform = "–"
        if ss is not None:
            envelope = " / ".join(f"{envelope_correlation(ss['mix'][e], mix[e]):.3f}" for e in range(2))
            n = min(ss["mix"].shape[1], mix.shape[1])
            pairs = [
                best_correlation(ss["mix"][e, :n].astype(np.float64), mix[e, :n].astype(np.float64)) for e in range(2)
            ]
            waveform = " / ".join(f"{c:.3f} @ {lag:+d}" for c, lag in pairs)
        lines.append(f"| {name} | {mix.shape[1]} | {level_db(mix):.1f} | {envelope} | {waveform} |")
    return lines


def sofa_grid(path: str) -> tuple[np.ndarray, float]:
    """Measured directions (azimuth °, elevation °), shape (M, 2), and sample rate (Hz) of a SOFA file."""
    import h5py

    with h5py.File(path, "r") as sofa:
        return np.asarray(sofa["SourcePosition"][:, :2], dtype=float), float(np.ravel(sofa["Data.SamplingRate"])[0])


def difference_notes(results: dict[str, dict], arrays: dict[str, dict], positions: np.ndarray, sofa: str) -> list[str]:
    """What the two KEMAR renders do differently, each expectation next to what was measured."""
    ss, peer = arrays.get("soundstage-kemar"), arrays.get("pyroomacoustics-kemar")
    if ss is None or peer is None:
        return []
    grid, sofa_rate = sofa_grid(sofa)
    n = len(positions)
    lags = [best_correlation(ss["irs"][s, e], peer["irs"][s, e])[1] for s in range(n) for e in range(2)]
    levels = [level_db(peer["irs"][s]) - level_db(ss["irs"][s]) for s in range(n)]
    taps = results["pyroomacoustics-kemar"].get("frac_delay_length", 81)

    # Angular distance from each source direction to the nearest measured direction.
    def unit(az_el: np.ndarray) -> np.ndarray:
        az, el = np.radians(az_el[:, 0]), np.radians(az_el[:, 1])
        return np.column_stack([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)])

    cosines = np.clip(unit(positions[:, :2]) @ unit(grid).T, -1.0, 1.0)
    off_grid_deg = np.degrees(np.arccos(cosines.max(axis=1)))
    if np.all(off_grid_deg < 0.01):
        grid_note = (
            f"all {n} source directions coincide with measured directions, so Soundstage's barycentric "
            "interpolation and pyroomacoustics' nearest-direction choice use the same HRIR pairs"
        )
    else:
        grid_note = (
            f"{int(np.sum(off_grid_deg >= 0.01))} of {n} source directions lie between measured ones (up to "
            f"{off_grid_deg.max():.1f}° away): Soundstage interpolates (barycentric), pyroomacoustics takes the "
            "nearest measured direction, so their HRIRs differ there"
        )
    return [
        "",
        "What differs between the two KEMAR renders (expected → measured):",
        "",
        f"- Delay: both delay each source by r/c (c = {SPEED_OF_SOUND:g} m/s) and keep the HRIRs' own onset; "
        f"pyroomacoustics also convolves a {taps}-tap windowed-sinc fractional-delay filter centred at "
        f"{(taps - 1) // 2} samples → +{(taps - 1) // 2} samples expected; IR lag pra vs Soundstage measured "
        f"{min(lags):+d}..{max(lags):+d} samples.",
        f"- Level: both apply 1/r (0 dB at 1 m). pyroomacoustics resamples the {sofa_rate:g} Hz HRIRs as signals "
        f"(sample values kept, so the filter gain grows by {SAMPLE_RATE}/{sofa_rate:g}); Soundstage rescales them "
        f"to keep the measured frequency response → 20·log10({SAMPLE_RATE}/{sofa_rate:g}) = "
        f"{20 * np.log10(SAMPLE_RATE / sofa_rate):+.2f} dB expected; "
        f"measured {min(levels):+.2f}..{max(levels):+.2f} dB.",
        f"- Directions: {grid_note}.",
        "- Output length: each is max(signal + its IR − 1) samples; the IRs differ in length by the "
        "fractional-delay filter and the resampled HRIR length.",
    ]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="warm runs per case, after the cold one (default 3)")
    parser.add_argument("--duration", type=float, default=10.0, help="scene length in seconds (default 10)")
    parser.add_argument("--sources", type=int, default=8, help="number of sources (default 8)")
    parser.add_argument("--skip-pyroomacoustics", action="store_true", help="only run the Soundstage cases")
    parser.add_argument("--cases", nargs="+", choices=CASES, default=list(CASES), help="cases to run (default all)")
    parser.add_argument("--hrtf", default=str(DEFAULT_SOFA), help="SOFA file for the KEMAR cases")
    parser.add_argument("--audio-dir", default=str(DEFAULT_AUDIO_DIR), help="folder of dry mono WAVs")
    parser.add_argument(
        "--pra-interp-order",
        type=int,
        default=None,
        help="spherical-harmonic interpolation order for pyroomacoustics (default: none, nearest direction)",
    )
    parser.add_argument("--worker", choices=CASES, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.sources < 1 or args.duration <= 0:
        parser.error("--repeats and --sources must be at least 1 and --duration positive")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.worker:
        worker(args)
        return
    cases = [c for c in args.cases if not (args.skip_pyroomacoustics and c.startswith("pyroomacoustics"))]
    if _NEEDS_SOFA & set(cases) and not Path(args.hrtf).is_file():
        sys.exit(
            f"SOFA file {args.hrtf} is absent: the KEMAR cases need it. Pass --hrtf PATH to a SimpleFreeFieldHRIR "
            "file, or run only the sphere head with --cases soundstage-sphere."
        )
    positions = source_positions(args.sources)
    _, signal_description = source_signals(args.sources, args.duration, Path(args.audio_dir))
    print(f"# Free-field binaural render: {args.sources} sources × {args.duration:g} s at {SAMPLE_RATE} Hz", flush=True)
    print()
    for line in machine_description():
        print(line)
    print(f"- Signals: {signal_description}")
    print(f"- HRTF for the KEMAR cases: {args.hrtf}")
    interp = "nearest measured direction" if args.pra_interp_order is None else f"SH order {args.pra_interp_order}"
    print(f"- pyroomacoustics: AnechoicRoom (ShoeBox, max_order=0), mics at head centre, ear directivities: {interp}")
    print(f"- {args.repeats} warm repeats per case after one cold run; each case in a fresh process", flush=True)

    results: dict[str, dict] = {}
    arrays: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as folder:
        for case in cases:
            print(f"  running {case} ...", file=sys.stderr, flush=True)
            timing, data, error = run_case(case, args, Path(folder))
            results[case] = timing if timing is not None else {"error": error}
            if data is not None:
                arrays[case] = data

    print()
    print(
        "Times are wall-clock seconds for the whole scene end to end (HRTF load + render). "
        f"RTF = real-time factor = audio seconds / wall seconds = {args.duration:g} s / time "
        "(how many times faster than real time). Peak RSS = the process's own ru_maxrss; "
        "baseline = RSS after imports and signal preparation."
    )
    print()
    lines = timing_table(results, args.duration) + ratio_lines(results) + sanity_lines(arrays, positions)
    for line in lines + difference_notes(results, arrays, positions, args.hrtf):
        print(line)


if __name__ == "__main__":
    main()
