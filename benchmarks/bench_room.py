"""Benchmark: rooms, Soundstage vs pyroomacoustics — speed, memory and T30 accuracy, measured in one run.

Three parts, every case in its own fresh Python process (``python bench_room.py --worker JSON``) so that
its wall time and peak RSS (``ru_maxrss``) are its own:

1. **Binaural reference scene.** Shoebox 8 × 6 × 3 m, head at (4, 3, 1.6) facing +x, four sources of
   10 s seeded noise, MIT KEMAR SOFA, RT60 0.3 / 0.8 s × 16 / 48 kHz.

   - Soundstage: ``load_hrtf`` (SOFA read + resampling) then ``render`` of the scene with ``room.rt60``
     (one uniform absorption solved with Eyring's formula); the warm render-only time reuses the head.
   - pyroomacoustics: ``ShoeBox`` with the absorption and ``max_order`` of ``pra.inverse_sabine(rt60,
     size)``, a two-microphone array at the head centre whose directivities are the left and right ears
     of the same SOFA file (``MeasuredDirectivityFile``), ``room.simulate()``.

   Both are asked for the same RT60 the way each tool is meant to be asked; T30 of the resulting binaural
   room impulse responses (4 sources × 2 ears) is reported beside the times.
2. **Omni impulse response.** Same room, one source at (2, 1.5, 1.5), one omni receiver at the head:
   Soundstage ``impulse_responses`` (format ``omni``) vs pyroomacoustics ``compute_rir`` (``inverse_sabine``),
   RT60 0.3 / 0.8 / 1.5 s at 16 and 48 kHz.
3. **T30 accuracy sweep.** Six shoeboxes (31–2000 m³, RT60 0.2–2 s), 2 sources × 2 receivers at seeded
   random positions at least 1 m from the walls and from each other, omni IRs at 16 kHz. T30 comes from
   the same analysis for both tools (``soundstage.metrics.room.room_acoustics``: Schroeder integral with
   Lundeby truncation). ``inverse_sabine`` solves Sabine's formula while Soundstage solves Eyring's, so
   the two tools simulate *different* absorptions for the same requested RT60. The table therefore gives
   each room's Sabine and Eyring RT60 for each tool's absorption, each tool's error against the Eyring RT60
   of the room it simulated, pyroomacoustics' error against its own (Sabine) target, and a third column,
   Soundstage given pyroomacoustics' absorption, which compares the two on physically identical rooms.

Run ``python benchmarks/bench_room.py --help``; see ``benchmarks/README.md``.
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
import time
from pathlib import Path

import numpy as np

from machine import cpu_model, package_version, usable_cores

SEED = 20240611
SPEED_OF_SOUND = 343.0  # both tools' default
DURATION_S = 10.0

ROOM_SIZE_M = (8.0, 6.0, 3.0)
HEAD_M = (4.0, 3.0, 1.6)
#: The four sources of the reference scene, room coordinates in metres (all ≥ 1 m from every wall).
SOURCES_M = ((2.0, 1.5, 1.5), (6.5, 4.5, 1.2), (5.5, 1.2, 2.0), (1.5, 4.8, 1.0))

BINAURAL_RT60_S = (0.3, 0.8)
OMNI_RT60_S = (0.3, 0.8, 1.5)
SAMPLE_RATES = (16000, 48000)
#: (size in m, requested RT60 in s) of the T30 sweep.
SWEEP_ROOMS = (
    ((3.5, 3.5, 2.5), 0.2),
    ((5.0, 4.0, 2.7), 0.3),
    ((8.0, 6.0, 3.0), 0.5),
    ((12.0, 10.0, 4.0), 1.0),
    ((20.0, 15.0, 6.0), 1.5),
    ((25.0, 20.0, 4.0), 2.0),
)
SWEEP_RATE = 16000
WALL_CLEARANCE_M = 1.0
#: What the issue reports pyroomacoustics took for the binaural reference scene.
ISSUE_PRA_BINAURAL = {
    (0.3, 16000): "5.1 s with a 512-direction × 256-tap set",
    (0.3, 48000): "13.5 s with a 512-direction × 256-tap set",
    (0.8, 16000): "172 s with a 512-direction × 256-tap set (MIT KEMAR at RT60 0.5 s: 84 s)",
    (0.8, 48000): "311 s with a 512-direction × 256-tap set (≈ 5 min)",
}

DEFAULT_SOFA = Path(__file__).resolve().parents[2] / "shared" / "data" / "hrtf" / "mit_kemar_normal_pinna.sofa"


# --------------------------------------------------------------------------------------------------
# Shared by the driver and the workers
# --------------------------------------------------------------------------------------------------


def room_geometry(size_m) -> tuple[float, float]:
    """Volume (m³) and total surface (m²) of a shoebox."""
    x, y, z = size_m
    return x * y * z, 2.0 * (x * y + x * z + y * z)


def sabine_rt60(size_m, alpha: float) -> float:
    """Sabine's RT60 (s) of a shoebox with uniform energy absorption ``alpha``, no air absorption."""
    volume, surface = room_geometry(size_m)
    return 24.0 * math.log(10.0) * volume / (SPEED_OF_SOUND * surface * alpha)


def eyring_rt60(size_m, alpha: float) -> float:
    """Eyring's RT60 (s) of a shoebox with uniform energy absorption ``alpha``, no air absorption."""
    volume, surface = room_geometry(size_m)
    return 24.0 * math.log(10.0) * volume / (SPEED_OF_SOUND * surface * -math.log1p(-alpha))


def eyring_alpha(size_m, rt60_s: float) -> float:
    """The uniform absorption whose Eyring RT60 is ``rt60_s`` (what Soundstage's ``room.rt60`` solves)."""
    volume, surface = room_geometry(size_m)
    return -math.expm1(-24.0 * math.log(10.0) * volume / (SPEED_OF_SOUND * surface * rt60_s))


def sweep_positions(size_m, index: int, n_points: int = 4) -> list[list[float]]:
    """``n_points`` seeded random points ≥ 1 m from every wall and from each other, room metres.

    The first two are the sources, the last two the receivers.
    """
    rng = np.random.default_rng([SEED, index])
    low = np.full(3, WALL_CLEARANCE_M)
    high = np.asarray(size_m, dtype=float) - WALL_CLEARANCE_M
    for _ in range(100_000):
        points = rng.uniform(low, high, size=(n_points, 3))
        gaps = np.linalg.norm(points[:, None, :] - points[None, :, :], axis=-1)[np.triu_indices(n_points, 1)]
        if np.all(gaps >= 1.0):
            return np.round(points, 3).tolist()
    raise RuntimeError(f"no {n_points} points 1 m apart fit in a {size_m} m room")


def noise_signals(n_sources: int, sample_rate: int, duration_s: float) -> list[np.ndarray]:
    """Seeded white noise at -20 dBFS RMS, one per source, float32 (identical for both tools)."""
    n = round(duration_s * sample_rate)
    return [
        (0.1 * np.random.default_rng([SEED, sample_rate, i]).standard_normal(n)).astype(np.float32)
        for i in range(n_sources)
    ]


# --------------------------------------------------------------------------------------------------
# Workers (each runs inside its own process)
# --------------------------------------------------------------------------------------------------


def _peak_rss_mib() -> float:
    """Peak resident set size of this process so far, in MiB."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # ru_maxrss is in KiB on Linux and in bytes on macOS.
    return peak / (1024.0**2 if sys.platform == "darwin" else 1024.0)


def _t30(ir: np.ndarray, sample_rate: int) -> float:
    """T30 (s) of a 1-D impulse response, the same analysis for both tools (NaN when not measurable)."""
    from soundstage.metrics.room import room_acoustics

    return float(room_acoustics(np.asarray(ir, dtype=float), sample_rate).t30_s)


def _drr(ir: np.ndarray, sample_rate: int) -> float:
    """Direct-to-reverberant ratio (dB) of a 1-D impulse response, same analysis for both tools."""
    from soundstage.metrics.room import room_acoustics

    return float(room_acoustics(np.asarray(ir, dtype=float), sample_rate).drr_db)


def _soundstage_room(size_m, rt60_s: float | None = None, alpha: float | None = None) -> dict:
    room = {"shoebox": {"size": list(size_m)}}
    if alpha is None:
        room["rt60"] = rt60_s
    else:
        room["materials"] = alpha
    return room


def _soundstage_eyring(scene) -> float:
    """The Eyring RT60 (s) Soundstage's propagation model computes for the scene, at 1 kHz."""
    from soundstage.acoustics.arrivals import OCTAVE_BANDS_HZ
    from soundstage.acoustics.propagation import propagation_model

    band = int(np.argmin(np.abs(np.asarray(OCTAVE_BANDS_HZ) - 1000.0)))
    return float(propagation_model(scene).rt60_s[band])


def _pra_directivities(pra_module, sofa: str, sample_rate: int) -> list:
    """Left and right ear directivities of a SOFA file (as bench_free_field_binaural.py builds them)."""
    from pyroomacoustics.directivities import MeasuredDirectivityFile, Rotation3D

    hrtf = MeasuredDirectivityFile(sofa, fs=sample_rate)
    # No rotation: the SOFA frame (x front, y left, z up) is the room frame and the head faces +x.
    orientation = Rotation3D([0.0, 0.0, 0.0], "zyx")
    left, right = int(np.argmax(hrtf.mic_locs[1])), int(np.argmin(hrtf.mic_locs[1]))
    return [hrtf.get_mic_directivity(ear, orientation=orientation) for ear in (left, right)]


def _pra_room(pra, size_m, rt60_s: float, sample_rate: int):
    """A ShoeBox with the absorption and image order of ``inverse_sabine`` (the documented recipe)."""
    alpha, max_order = pra.inverse_sabine(rt60_s, list(size_m))
    room = pra.ShoeBox(list(size_m), fs=sample_rate, materials=pra.Material(alpha), max_order=max_order)
    return room, float(alpha), int(max_order)


def work_binaural_soundstage(spec: dict) -> dict:
    start = time.perf_counter()
    from soundstage.acoustics.hrtf import load_hrtf
    from soundstage.acoustics.render import impulse_responses, render
    from soundstage.scene import scene_from_dict

    import_s = time.perf_counter() - start
    rate, rt60 = spec["sample_rate"], spec["rt60"]
    signals = noise_signals(len(SOURCES_M), rate, DURATION_S)
    description = {
        "sources": [
            {"name": f"s{i}", "audio": s, "sample_rate": rate, "position": list(p)}
            for i, (s, p) in enumerate(zip(signals, SOURCES_M, strict=True))
        ],
        "listener": {"position": list(HEAD_M)},
        "output": {"format": "binaural", "sample_rate": rate},
        "room": _soundstage_room(ROOM_SIZE_M, rt60),
    }
    start = time.perf_counter()
    head = load_hrtf(spec["sofa"], rate)
    load_s = time.perf_counter() - start
    scene = scene_from_dict(description)
    audio = render(scene, hrtf=head, progress=False).audio
    cold_s = time.perf_counter() - start
    warm = []
    for _ in range(spec["repeats"]):
        start = time.perf_counter()
        render(scene_from_dict(description), hrtf=head, progress=False)
        warm.append(time.perf_counter() - start)
    peak = _peak_rss_mib()
    brirs = [ir.audio for _, ir in impulse_responses(scene, hrtf=head, progress=False)]
    return {
        "import_s": import_s,
        "load_s": load_s,
        "cold_s": cold_s,
        "warm_render_s": float(np.median(warm)) if warm else math.nan,
        "peak_mib": peak,
        "samples": int(audio.shape[1]),
        "level_db": float(10 * np.log10(np.mean(np.square(audio, dtype=np.float64)))),
        "t30_s": [_t30(ir[ear], rate) for ir in brirs for ear in range(2)],
        "drr_db": [_drr(ir[ear], rate) for ir in brirs for ear in range(2)],
        "eyring_s": _soundstage_eyring(scene),
        "alpha": eyring_alpha(ROOM_SIZE_M, rt60),
    }


def work_binaural_pyroomacoustics(spec: dict) -> dict:
    start = time.perf_counter()
    import pyroomacoustics as pra

    import_s = time.perf_counter() - start
    rate, rt60 = spec["sample_rate"], spec["rt60"]
    signals = noise_signals(len(SOURCES_M), rate, DURATION_S)
    start = time.perf_counter()
    ears = _pra_directivities(pra, spec["sofa"], rate)
    load_s = time.perf_counter() - start
    room, alpha, max_order = _pra_room(pra, ROOM_SIZE_M, rt60, rate)
    for signal, position in zip(signals, SOURCES_M, strict=True):
        room.add_source(list(position), signal=signal)
    # Both "microphones" at the head centre: the interaural delay is in the HRIRs, as in Soundstage.
    centre = np.repeat(np.asarray(HEAD_M, dtype=float)[:, None], 2, axis=1)
    room.add_microphone_array(pra.MicrophoneArray(centre, rate, directivity=ears))
    room.simulate()
    cold_s = time.perf_counter() - start
    peak = _peak_rss_mib()
    audio = np.asarray(room.mic_array.signals)
    return {
        "import_s": import_s,
        "load_s": load_s,
        "cold_s": cold_s,
        "warm_render_s": math.nan,
        "peak_mib": peak,
        "samples": int(audio.shape[1]),
        "level_db": float(10 * np.log10(np.mean(np.square(audio, dtype=np.float64)))),
        "t30_s": [_t30(room.rir[ear][s], rate) for s in range(len(SOURCES_M)) for ear in range(2)],
        "drr_db": [_drr(room.rir[ear][s], rate) for s in range(len(SOURCES_M)) for ear in range(2)],
        "max_order": max_order,
        "alpha": alpha,
    }


def work_omni_soundstage(spec: dict) -> dict:
    start = time.perf_counter()
    from soundstage.acoustics.render import impulse_responses
    from soundstage.scene import scene_from_dict

    import_s = time.perf_counter() - start
    rate, rt60 = spec["sample_rate"], spec["rt60"]
    description = {
        # impulse_responses does not read the audio; a short placeholder signal satisfies the scene schema.
        "sources": [{"name": "s0", "audio": np.zeros(16, np.float32), "sample_rate": rate, "position": SOURCES_M[0]}],
        "listener": {"position": list(HEAD_M)},
        "output": {"format": "omni", "sample_rate": rate},
        "room": _soundstage_room(ROOM_SIZE_M, rt60),
    }
    times = []
    for _ in range(spec["repeats"] + 1):
        start = time.perf_counter()
        scene = scene_from_dict(description)
        [(_, result)] = impulse_responses(scene, progress=False)
        times.append(time.perf_counter() - start)
    peak = _peak_rss_mib()
    ir = result.audio[0]
    return {
        "import_s": import_s,
        "cold_s": times[0],
        "warm_s": float(np.median(times[1:])) if len(times) > 1 else math.nan,
        "peak_mib": peak,
        "ir_s": ir.size / rate,
        "t30_s": _t30(ir, rate),
        "eyring_s": _soundstage_eyring(scene),
        "alpha": eyring_alpha(ROOM_SIZE_M, rt60),
    }


def work_omni_pyroomacoustics(spec: dict) -> dict:
    start = time.perf_counter()
    import pyroomacoustics as pra

    import_s = time.perf_counter() - start
    rate, rt60 = spec["sample_rate"], spec["rt60"]
    times: list[float] = []
    # Repeat while it is cheap: one warm run when a run takes 3–15 s, none beyond (its cold time is then
    # almost all computation, not first-call overhead).
    while len(times) < spec["repeats"] + 1 and (not times or times[0] < 3.0 or (times[0] < 15.0 and len(times) < 2)):
        start = time.perf_counter()
        room, alpha, max_order = _pra_room(pra, ROOM_SIZE_M, rt60, rate)
        room.add_source(list(SOURCES_M[0]))
        room.add_microphone(list(HEAD_M))
        room.compute_rir()
        times.append(time.perf_counter() - start)
    peak = _peak_rss_mib()
    ir = np.asarray(room.rir[0][0])
    return {
        "import_s": import_s,
        "cold_s": times[0],
        "warm_s": float(np.median(times[1:])) if len(times) > 1 else math.nan,
        "peak_mib": peak,
        "ir_s": ir.size / rate,
        "t30_s": _t30(ir, rate),
        # pyroomacoustics' own estimate (Schroeder, -5 to -35 dB) as a cross-check of the shared analysis.
        "own_rt60_s": float(pra.experimental.measure_rt60(ir, fs=rate, decay_db=30)),
        "alpha": alpha,
        "max_order": max_order,
        "n_images": int(room.sources[0].images.shape[1]),
    }


def work_sweep_soundstage(spec: dict) -> dict:
    start = time.perf_counter()
    from soundstage.acoustics.render import impulse_responses
    from soundstage.scene import scene_from_dict

    import_s = time.perf_counter() - start
    size, points = spec["size"], spec["points"]
    room = _soundstage_room(size, spec["rt60"], spec.get("alpha"))
    start = time.perf_counter()
    t30 = []
    for receiver in points[2:]:
        sources = [
            {"name": f"s{i}", "audio": np.zeros(16, np.float32), "sample_rate": SWEEP_RATE, "position": p}
            for i, p in enumerate(points[:2])
        ]
        scene = scene_from_dict(
            {
                "sources": sources,
                "listener": {"position": receiver},
                "output": {"format": "omni", "sample_rate": SWEEP_RATE},
                "room": room,
            }
        )
        irs = impulse_responses(scene, progress=False)
        t30 += [_t30(ir.audio[0], SWEEP_RATE) for _, ir in irs]
    # The T30 analysis is inside the timed span here; it is a few ms per IR.
    return {
        "import_s": import_s,
        "cold_s": time.perf_counter() - start,
        "peak_mib": _peak_rss_mib(),
        "t30_s": t30,
        "eyring_s": _soundstage_eyring(scene),
    }


def work_sweep_pyroomacoustics(spec: dict) -> dict:
    start = time.perf_counter()
    import pyroomacoustics as pra

    import_s = time.perf_counter() - start
    size, points = spec["size"], spec["points"]
    start = time.perf_counter()
    room, alpha, max_order = _pra_room(pra, size, spec["rt60"], SWEEP_RATE)
    for p in points[:2]:
        room.add_source(p)
    room.add_microphone_array(pra.MicrophoneArray(np.asarray(points[2:], dtype=float).T, SWEEP_RATE))
    room.compute_rir()
    cold_s = time.perf_counter() - start
    peak = _peak_rss_mib()
    # Same pair order as the Soundstage worker: receiver-major, then source.
    t30 = [_t30(room.rir[m][s], SWEEP_RATE) for m in range(2) for s in range(2)]
    return {
        "import_s": import_s,
        "cold_s": cold_s,
        "peak_mib": peak,
        "t30_s": t30,
        "alpha": alpha,
        "max_order": max_order,
    }


WORKERS = {
    ("binaural", "soundstage"): work_binaural_soundstage,
    ("binaural", "pyroomacoustics"): work_binaural_pyroomacoustics,
    ("omni", "soundstage"): work_omni_soundstage,
    ("omni", "pyroomacoustics"): work_omni_pyroomacoustics,
    ("sweep", "soundstage"): work_sweep_soundstage,
    ("sweep", "pyroomacoustics"): work_sweep_pyroomacoustics,
}


# --------------------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------------------


def _rss_gib(pid: int) -> float:
    """Resident set size of process ``pid`` in GiB (Linux /proc; 0 where unavailable)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0**2
    except OSError:
        pass
    return 0.0


def run_case(spec: dict, timeout_s: float, max_rss_gib: float) -> dict:
    """Run one case in a fresh interpreter; its JSON result, or {"error" | "timeout" | "memory": ...}.

    The worker is killed past ``timeout_s`` or once its resident memory passes ``max_rss_gib`` (the
    pyroomacoustics binaural render at RT60 0.8 s grows past 17 GB and would otherwise take the machine down).
    """
    import tempfile

    command = [sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(spec)]
    label = " ".join(f"{k}={v}" for k, v in spec.items() if k not in ("points", "sofa"))
    print(f"  running {label} ...", file=sys.stderr, flush=True)
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        process = subprocess.Popen(command, stdout=out, stderr=err, text=True)
        seen_gib = 0.0
        while process.poll() is None:
            elapsed = time.perf_counter() - started
            seen_gib = max(seen_gib, _rss_gib(process.pid))
            if elapsed > timeout_s or seen_gib > max_rss_gib:
                process.kill()
                process.wait()
                if elapsed > timeout_s:
                    return {"timeout": timeout_s, "seen_gib": seen_gib}
                return {"memory": max_rss_gib, "after_s": elapsed}
            time.sleep(0.2)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if process.returncode != 0:
        tail = (stderr or stdout).strip().splitlines()
        return {"error": tail[-1] if tail else f"exit status {process.returncode}"}
    result = json.loads(stdout.strip().splitlines()[-1])
    result["process_s"] = time.perf_counter() - started
    return result


def _failed(result: dict) -> str | None:
    if "timeout" in result:
        return f"timeout: killed after {result['timeout']:g} s (RSS had reached {result['seen_gib']:.1f} GiB)"
    if "memory" in result:
        return f"killed: RSS passed {result['memory']:g} GiB after {result['after_s']:.0f} s"
    if "error" in result:
        return f"failed: {result['error'][:120]}"
    return None


def _ratio(numerator: float, denominator: float) -> str:
    """A speed ratio with enough digits to read both above and below 1."""
    value = numerator / denominator
    return f"{value:.0f}" if value >= 10 else f"{value:.2g}"


def _pct(measured: float, target: float) -> float:
    return 100.0 * (measured - target) / target


def _fmt(value: float, spec: str) -> str:
    return "nan" if value is None or not np.isfinite(value) else format(value, spec)


def machine_lines() -> list[str]:
    versions = ", ".join(
        f"{name} {package_version(name)}"
        for name in ("soundstage", "numpy", "scipy", "soxr", "pyroomacoustics", "python-sofa", "netCDF4")
    )
    return [
        f"- Machine: {cpu_model()}; {os.cpu_count()} logical cores, {usable_cores()} usable by this process; "
        f"{platform.system()} {platform.release()}",
        f"- Python {platform.python_version()}; {versions}",
    ]


def binaural_part(args: argparse.Namespace, summary: dict) -> list[str]:
    lines = ["", "## 1. Binaural reference scene", ""]
    if not Path(args.hrtf).is_file():
        lines.append(
            f"**Skipped: SOFA file {args.hrtf} is absent.** The binaural cases need the MIT KEMAR set "
            "(../shared/data/hrtf/mit_kemar_normal_pinna.sofa); pass --hrtf PATH to run them."
        )
        return lines
    lines += [
        f"Room {' × '.join(f'{v:g}' for v in ROOM_SIZE_M)} m, head at {HEAD_M} facing +x, "
        f"{len(SOURCES_M)} sources of {DURATION_S:g} s seeded noise at {SOURCES_M}, HRTF {Path(args.hrtf).name}.",
        "End to end = SOFA load (+ resampling) + room + render, in a fresh process after imports, one run. "
        f"Warm render = median of {args.repeats} further renders reusing the loaded head (Soundstage only; "
        "pyroomacoustics is run once, its render excl. load = end to end − SOFA load). "
        "T30 = median (min–max) over the 4 sources × 2 ears of the binaural room impulse responses; "
        "error against the Eyring RT60 of the absorption each tool simulated (and, for pyroomacoustics, "
        "against the Sabine RT60 it was asked for).",
        "",
        "| RT60 (s) | rate (Hz) | tool | α | import (s) | SOFA load (s) | end to end (s) | warm render (s) "
        "| peak RSS (MiB) | pra / SS end to end (×) | pra / SS render excl. load (×) | output (s) | level (dBFS) "
        "| DRR (dB) | BRIR T30 (s) | err vs Eyring | err vs Sabine |",
        "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|",
    ]
    skipped = []
    rates = (16000,) if args.quick else SAMPLE_RATES
    for rt60 in BINAURAL_RT60_S:
        for rate in rates:
            base = {"part": "binaural", "rt60": rt60, "sample_rate": rate, "sofa": str(args.hrtf)}
            ours = run_case({**base, "tool": "soundstage", "repeats": args.repeats}, args.timeout, args.max_rss_gib)
            run_pra = args.full or rt60 <= 0.3
            peer = None
            if run_pra:
                peer = run_case({**base, "tool": "pyroomacoustics"}, args.pra_timeout, args.max_rss_gib)
            if peer is None:
                quoted = ISSUE_PRA_BINAURAL[rt60, rate]
                skipped.append(f"pyroomacoustics at RT60 {rt60:g} s / {rate} Hz (issue: {quoted})")
            for tool, result in (("soundstage", ours), ("pyroomacoustics", peer)):
                if result is None:
                    continue
                head = f"| {rt60:g} | {rate} | {tool} "
                problem = _failed(result)
                if problem:
                    lines.append(head + f"| {problem} |" + " |" * 13)
                    continue
                t30 = np.asarray(result["t30_s"], dtype=float)
                median = float(np.nanmedian(t30))
                ratio = render_ratio = "–"
                if tool == "pyroomacoustics" and not _failed(ours):
                    ratio = _ratio(result["cold_s"], ours["cold_s"])
                    # pra's render is its one (cold) run minus the SOFA load; ours is the warm render.
                    render_ratio = _ratio(result["cold_s"] - result["load_s"], ours["warm_render_s"])
                    summary.setdefault("binaural", []).append((rt60, rate, result["cold_s"], ours["cold_s"]))
                eyring = ours["eyring_s"] if tool == "soundstage" else eyring_rt60(ROOM_SIZE_M, result["alpha"])
                sabine = sabine_rt60(ROOM_SIZE_M, result["alpha"])
                lines.append(
                    head + f"| {result['alpha']:.3f} | {result['import_s']:.2f} | {result['load_s']:.2f} "
                    f"| {result['cold_s']:.2f} | {_fmt(result['warm_render_s'], '.2f')} | {result['peak_mib']:.0f} "
                    f"| {ratio} | {render_ratio} | {result['samples'] / rate:.2f} | {result['level_db']:.1f} "
                    f"| {np.nanmedian(result['drr_db']):+.1f} "
                    f"| {median:.3f} ({np.nanmin(t30):.3f}–{np.nanmax(t30):.3f}) "
                    f"| {_pct(median, eyring):+.1f} % | {_pct(median, sabine):+.1f} % |"
                )
    gains = ", ".join(f"{20 * math.log10(r / 44100):+.1f} dB at {r} Hz" for r in rates)
    lines += [
        "",
        "Level = RMS of the whole output, both ears. pyroomacoustics resamples the 44.1 kHz HRIRs as signals, "
        f"which scales them by rate/44100 ({gains}); Soundstage keeps their frequency response. "
        "DRR = median over the 8 BRIRs of the direct (±2.5 ms) to "
        "reverberant energy ratio: pyroomacoustics' larger (Sabine) absorption leaves less reverberant energy.",
    ]
    if skipped:
        lines += ["", "Not run (pass --full): " + "; ".join(skipped) + "."]
    return lines


def omni_part(args: argparse.Namespace, summary: dict) -> list[str]:
    lines = [
        "",
        "## 2. Omni impulse response",
        "",
        f"Same room, source at {SOURCES_M[0]}, omni receiver at {HEAD_M}. Time = room + IR (scene validation "
        "included for Soundstage), cold = first run in a fresh process, warm = median of "
        f"{args.repeats} more (pyroomacoustics: once more when a run takes 3–15 s, never beyond 15 s). "
        "T30 error against the Eyring RT60 of each tool's absorption (pyroomacoustics' against Sabine in brackets); "
        "in brackets after pyroomacoustics' T30, its own `measure_rt60(decay_db=30)` of the same IR.",
        "",
        "| RT60 (s) | rate (Hz) | tool | α | image order | images | cold (s) | warm (s) | peak RSS (MiB) "
        "| pra / SS cold (×) | pra / SS warm (×) | IR length (s) | T30 (s) | T30 error |",
        "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    rates = (16000,) if args.quick else SAMPLE_RATES
    for rt60 in OMNI_RT60_S:
        for rate in rates:
            base = {"part": "omni", "rt60": rt60, "sample_rate": rate, "repeats": args.repeats}
            ours = run_case({**base, "tool": "soundstage"}, args.timeout, args.max_rss_gib)
            peer = run_case({**base, "tool": "pyroomacoustics"}, args.pra_timeout, args.max_rss_gib)
            for tool, result in (("soundstage", ours), ("pyroomacoustics", peer)):
                head = f"| {rt60:g} | {rate} | {tool} "
                problem = _failed(result)
                if problem:
                    lines.append(head + f"| {problem} |" + " |" * 10)
                    continue
                cold_ratio = warm_ratio = "–"
                if tool == "pyroomacoustics" and not _failed(ours):
                    cold_ratio = _ratio(result["cold_s"], ours["cold_s"])
                    if np.isfinite(result["warm_s"]):
                        warm_ratio = _ratio(result["warm_s"], ours["warm_s"])
                    summary.setdefault("omni", []).append(
                        (rt60, rate, result["cold_s"], ours["cold_s"], result["peak_mib"], ours["peak_mib"])
                    )
                if tool == "soundstage":
                    error = f"{_pct(result['t30_s'], result['eyring_s']):+.1f} %"
                    order = images = "–"
                    own = ""
                else:
                    eyring = eyring_rt60(ROOM_SIZE_M, result["alpha"])
                    sabine = sabine_rt60(ROOM_SIZE_M, result["alpha"])
                    error = f"{_pct(result['t30_s'], eyring):+.1f} % ({_pct(result['t30_s'], sabine):+.1f} %)"
                    order, images = str(result["max_order"]), f"{result['n_images']:,}"
                    own = f" ({result['own_rt60_s']:.3f})"
                lines.append(
                    head + f"| {result['alpha']:.3f} | {order} | {images} | {result['cold_s']:.3f} "
                    f"| {_fmt(result['warm_s'], '.3f')} | {result['peak_mib']:.0f} | {cold_ratio} | {warm_ratio} "
                    f"| {result['ir_s']:.2f} | {_fmt(result['t30_s'], '.3f')}{own} | {error} |"
                )
    return lines


def sweep_part(args: argparse.Namespace, summary: dict) -> list[str]:
    rooms = SWEEP_ROOMS[:4] if args.quick else SWEEP_ROOMS
    target_lines = [
        "",
        "## 3. T30 accuracy sweep (omni, 16 kHz)",
        "",
        "Each tool is asked for the RT60 its own way: Soundstage `room.rt60` (uniform α from Eyring's formula), "
        "pyroomacoustics `inverse_sabine` (α from Sabine's formula, and its image order). "
        "\"SS with pra α\" is Soundstage given pyroomacoustics' α as `materials`: the same physical room as "
        "pyroomacoustics simulates. Targets (s) of each simulated room:",
        "",
        "| room (m) | V (m³) | requested RT60 (s) | SS α | SS Eyring (model) | SS Sabine | pra α | pra image order "
        "| pra Sabine | pra Eyring (= SS with pra α, model) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    result_lines = [
        "",
        "T30 per room: mean over 2 sources × 2 receivers (seeded positions ≥ 1 m from the walls and each other); "
        "error = (T30 − target) / target of the mean, [min, max] over the 4 pairs; time = all 4 IRs "
        "(pyroomacoustics: one room with 2 sources and 2 microphones), peak RSS of the process.",
        "",
        "| room (m) | SS T30 | SS err vs Eyring | pra T30 | pra err vs Eyring | pra err vs Sabine "
        "| SS with pra α: T30 | err vs Eyring | SS time (s) | pra time (s) | SS peak RSS (MiB) | pra peak RSS (MiB) |",
        "|---|---:|---|---:|---|---|---:|---|---:|---:|---:|---:|",
    ]
    errors: dict[str, list[float]] = {"ss": [], "pra_eyring": [], "pra_sabine": [], "ss_pra_alpha": []}
    timeouts = []
    for index, (size, rt60) in enumerate(rooms):
        points = sweep_positions(size, index)
        base = {"part": "sweep", "size": list(size), "rt60": rt60, "points": points}
        ours = run_case({**base, "tool": "soundstage"}, args.timeout, args.max_rss_gib)
        peer = run_case({**base, "tool": "pyroomacoustics"}, args.pra_timeout, args.max_rss_gib)
        pra_alpha, pra_order = _inverse_sabine(size, rt60)
        same = run_case({**base, "tool": "soundstage", "alpha": pra_alpha}, args.timeout, args.max_rss_gib)
        name = " × ".join(f"{v:g}" for v in size)
        volume, _ = room_geometry(size)
        ss_alpha = eyring_alpha(size, rt60)
        ss_eyring = ours.get("eyring_s", math.nan)
        same_eyring = same.get("eyring_s", math.nan)
        target_lines.append(
            f"| {name} | {volume:.0f} | {rt60:g} | {ss_alpha:.3f} | {_fmt(ss_eyring, '.3f')} "
            f"| {sabine_rt60(size, ss_alpha):.3f} | {pra_alpha:.3f} | {pra_order} | {sabine_rt60(size, pra_alpha):.3f} "
            f"| {_fmt(same_eyring, '.3f')} |"
        )

        def cell(result: dict, target: float, key: str | None) -> tuple[str, str]:
            problem = _failed(result)
            if problem:
                return problem, "–"
            t30 = np.asarray(result["t30_s"], dtype=float)
            pair_errors = [_pct(t, target) for t in t30]
            if key is not None:
                errors[key] += pair_errors
            return (
                f"{np.nanmean(t30):.3f}",
                f"{_pct(float(np.nanmean(t30)), target):+.1f} % [{np.nanmin(pair_errors):+.1f}, "
                f"{np.nanmax(pair_errors):+.1f}]",
            )

        for tool, result in (("soundstage", ours), ("pyroomacoustics", peer), ("soundstage with pra α", same)):
            if "timeout" in result or "memory" in result:
                timeouts.append(f"{name} m ({tool})")
        ss_t30, ss_err = cell(ours, ss_eyring, "ss")
        pra_t30, pra_err = cell(peer, eyring_rt60(size, pra_alpha), "pra_eyring")
        _, pra_err_sabine = cell(peer, sabine_rt60(size, pra_alpha), "pra_sabine")
        same_t30, same_err = cell(same, same_eyring, "ss_pra_alpha")
        result_lines.append(
            f"| {name} | {ss_t30} | {ss_err} | {pra_t30} | {pra_err} | {pra_err_sabine} | {same_t30} | {same_err} "
            f"| {_fmt(ours.get('cold_s', math.nan), '.3f')} | {_fmt(peer.get('cold_s', math.nan), '.2f')} "
            f"| {_fmt(ours.get('peak_mib', math.nan), '.0f')} | {_fmt(peer.get('peak_mib', math.nan), '.0f')} |"
        )
    stats = ["", "|T30 error| over every pair of every room (%):", "", "| tool, target | pairs | median | max |"]
    stats.append("|---|---:|---:|---:|")
    labels = {
        "ss": "Soundstage (rt60), vs Eyring",
        "pra_eyring": "pyroomacoustics (inverse_sabine), vs Eyring",
        "pra_sabine": "pyroomacoustics (inverse_sabine), vs Sabine (its target)",
        "ss_pra_alpha": "Soundstage with pyroomacoustics' α, vs Eyring",
    }
    for key, label in labels.items():
        values = np.abs(np.asarray(errors[key], dtype=float))
        values = values[np.isfinite(values)]
        if values.size:
            stats.append(f"| {label} | {values.size} | {np.median(values):.1f} | {np.max(values):.1f} |")
            summary.setdefault("sweep", {})[key] = (float(np.median(values)), float(np.max(values)))
    if timeouts:
        stats += ["", "Killed (time or memory limit, no T30): " + ", ".join(timeouts) + "."]
    return target_lines + result_lines + stats


def _inverse_sabine(size_m, rt60_s: float) -> tuple[float, int]:
    """pyroomacoustics' ``inverse_sabine`` (imported here only to read its absorption and order)."""
    import pyroomacoustics as pra

    alpha, order = pra.inverse_sabine(rt60_s, list(size_m))
    return float(alpha), int(order)


def summary_line(summary: dict) -> str:
    parts = []
    for rt60, rate, peer_s, ours_s in summary.get("binaural", []):
        parts.append(
            f"binaural RT60 {rt60:g} s/{rate // 1000} kHz {peer_s:.1f} s vs {ours_s:.2f} s ({peer_s / ours_s:.0f}×)"
        )
    omni = summary.get("omni", [])
    if omni:
        rt60, rate, peer_s, ours_s, peer_mib, ours_mib = max(omni, key=lambda row: (row[0], -row[1]))
        parts.append(
            f"omni IR RT60 {rt60:g} s/{rate // 1000} kHz {peer_s:.2f} s vs {ours_s:.3f} s ({peer_s / ours_s:.0f}×), "
            f"peak RSS {peer_mib:.0f} vs {ours_mib:.0f} MiB"
        )
    sweep = summary.get("sweep", {})
    if "ss" in sweep and "pra_eyring" in sweep:
        parts.append(
            f"|T30 error| median/max: Soundstage {sweep['ss'][0]:.1f}/{sweep['ss'][1]:.1f} %, pyroomacoustics "
            f"{sweep['pra_eyring'][0]:.1f}/{sweep['pra_eyring'][1]:.1f} % vs Eyring, "
            f"{sweep['pra_sabine'][0]:.1f}/{sweep['pra_sabine'][1]:.1f} % vs Sabine"
        )
    return "Summary: " + "; ".join(parts) + "." if parts else "Summary: nothing measured."


def _default_rss_limit_gib() -> float:
    try:
        return 0.7 * os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024.0**3
    except (ValueError, OSError, AttributeError):
        return 16.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="16 kHz only and the 4 smaller sweep rooms (~1 min)")
    mode.add_argument(
        "--full",
        action="store_true",
        help="also pyroomacoustics binaural at RT60 0.8 s (minutes and many GB: see --max-rss-gib)",
    )
    parts = ("binaural", "omni", "sweep")
    parser.add_argument("--parts", nargs="+", choices=parts, default=list(parts), help="what to run (default all)")
    parser.add_argument("--repeats", type=int, default=3, help="warm runs after the cold one (default 3)")
    parser.add_argument("--hrtf", default=str(DEFAULT_SOFA), help="SOFA file for the binaural part")
    parser.add_argument("--pra-timeout", type=float, default=600.0, help="kill a pyroomacoustics case after this (s)")
    parser.add_argument(
        "--max-rss-gib",
        type=float,
        default=_default_rss_limit_gib(),
        help="kill any case whose resident memory passes this (default: 70 %% of the machine's RAM)",
    )
    parser.add_argument("--timeout", type=float, default=120.0, help="kill a Soundstage case after this (s)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.repeats < 0:
        parser.error("--repeats must be 0 or more")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.worker:
        spec = json.loads(args.worker)
        print(json.dumps(WORKERS[spec["part"], spec["tool"]](spec)))
        return
    started = time.perf_counter()
    mode = "quick" if args.quick else "full" if args.full else "default"
    print(f"# Rooms: Soundstage vs pyroomacoustics ({mode} run)")
    print()
    for line in machine_lines():
        print(line)
    print("- Every case in a fresh process; peak RSS = that process's ru_maxrss. Speed of sound 343 m/s, "
          "no air absorption, in both tools.", flush=True)
    summary: dict = {}
    parts = {"binaural": binaural_part, "omni": omni_part, "sweep": sweep_part}
    for name in args.parts:
        for line in parts[name](args, summary):
            print(line)
        sys.stdout.flush()
    print()
    print(f"Whole run: {time.perf_counter() - started:.0f} s wall.")
    print(summary_line(summary))


if __name__ == "__main__":
    main()
