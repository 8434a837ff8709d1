"""Benchmark: moving sources and video — the block engine against the still render and against a peer.

1. **Moving vs still.** 10 s of seeded noise at 48 kHz; the same scene rendered with the source standing
   at its start and passing the listener (10 m in 10 s, closest 2 m, Doppler on): free field (binaural with
   the sphere head, FOA, 5.1) and a 6 × 4 × 3 m shoebox with RT60 0.4 s (omni, FOA, binaural). The issue
   asks the moving render to cost at most twice the still one.
2. **Peer.** pyroomacoustics has no moving sources; the way its users move one is to simulate the room's
   impulse response at successive positions and crossfade the convolved segments. Here: the shoebox scene
   (omni), ``ShoeBox`` with ``inverse_sabine`` absorption, a response every 0.1 s (101 positions), each
   segment convolved and crossfaded over its neighbour (overlap of one segment, Hann). Soundstage renders
   the same pass with exact per-sample delays. Both at 16 kHz and 48 kHz.
3. **Video.** A 10 s 1280 × 720 clip at 30 fps (two discs crossing each other, noise soundtrack) drawn
   here → ``soundstage video`` with two sounds → binaural MP4, per stage (the pipeline's own report).
   The issue asks for under 30 s on 2 cores with the offline backends.

Run ``python benchmarks/bench_moving.py [--parts 1,2,3]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from machine import cpu_model, package_version, usable_cores

SEED = 20261205
DURATION_S = 10.0
ROOM_M = (6.0, 4.0, 3.0)
HEAD_M = (1.5, 2.0, 1.5)
PASS_M = ((3.5, 3.5, 1.5), (3.5, 0.5, 1.5))  # room coordinates; 2 m in front of the head at its middle
RT60_S = 0.4


def noise(rate: int) -> np.ndarray:
    return (0.1 * np.random.default_rng([SEED, rate]).standard_normal(int(DURATION_S * rate))).astype(np.float32)


def scene(rate: int, fmt: str, *, room: bool, moving: bool):
    from soundstage.scene import Scene

    if room:
        start, end = PASS_M
        extra = {"room": {"shoebox": {"size": list(ROOM_M)}, "rt60": RT60_S}, "listener": {"position": list(HEAD_M)}}
    else:
        start, end = (2.0, 5.0, 0.0), (2.0, -5.0, 0.0)
        extra = {}
    source = {"audio": noise(rate), "sample_rate": rate, "doppler": True}
    if moving:
        keyframes = [{"t": 0, "position": list(start)}, {"t": DURATION_S, "position": list(end)}]
        source["trajectory"] = {"keyframes": keyframes}
    else:
        source["position"] = list(start)
    return Scene.model_validate({"sources": [source], "output": {"format": fmt, "sample_rate": rate}, **extra})


def timed(function, repeats: int = 1) -> float:
    best = np.inf
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - started)
    return best


def part_moving_vs_still() -> None:
    from soundstage.acoustics.render import render

    print("\n## 1. Moving vs still (10 s, 48 kHz, one source)\n")
    print("| scene | format | still (s) | moving (s) | moving / still |")
    print("|---|---|---:|---:|---:|")
    rate = 48000
    for room, formats in ((False, ("binaural", "foa", "5.1")), (True, ("omni", "foa", "binaural"))):
        for fmt in formats:
            standing, passing = (scene(rate, fmt, room=room, moving=flag) for flag in (False, True))
            still = timed(lambda s=standing: render(s, progress=False), 2)
            moving = timed(lambda s=passing: render(s, progress=False), 2)
            where = f"shoebox RT60 {RT60_S} s" if room else "free field"
            print(f"| {where} | {fmt} | {still:.2f} | {moving:.2f} | {moving / still:.1f}× |")


def pyroomacoustics_pass(rate: int, step_s: float = 0.1) -> np.ndarray:
    """The pass by pyroomacoustics: a response every ``step_s``, segments crossfaded (Hann, one segment)."""
    import pyroomacoustics as pra
    from scipy.signal import fftconvolve

    signal = noise(rate).astype(np.float64)
    absorption, max_order = pra.inverse_sabine(RT60_S, ROOM_M)
    times = np.arange(0.0, DURATION_S + step_s / 2, step_s)
    start, end = np.array(PASS_M[0]), np.array(PASS_M[1])
    hop = int(step_s * rate)
    window = np.hanning(2 * hop + 1)[:-1]
    out = np.zeros(len(signal) + rate * 2)
    for i, t in enumerate(times):
        room = pra.ShoeBox(ROOM_M, fs=rate, materials=pra.Material(absorption), max_order=max_order)
        room.add_source(list(start + (end - start) * t / DURATION_S))
        room.add_microphone(list(HEAD_M))
        room.compute_rir()
        rir = np.asarray(room.rir[0][0])
        lo = max(0, (i - 1) * hop)
        segment = signal[lo : (i + 1) * hop] * window[: min(2 * hop, len(signal[lo : (i + 1) * hop]))]
        wet = fftconvolve(segment, rir)
        stop = min(len(out), lo + len(wet))
        out[lo:stop] += wet[: stop - lo]
    return out


def part_peer() -> None:
    from soundstage.acoustics.render import render

    print("\n## 2. A source passing through a shoebox (omni, 10 s), beside pyroomacoustics\n")
    print("| rate | Soundstage, exact delays (s) | pyroomacoustics, a response per 0.1 s (s) | ratio |")
    print("|---|---:|---:|---:|")
    for rate in (16000, 48000):
        passing = scene(rate, "omni", room=True, moving=True)
        ours = timed(lambda s=passing: render(s, progress=False))
        theirs = timed(lambda r=rate: pyroomacoustics_pass(r))
        print(f"| {rate // 1000} kHz | {ours:.2f} | {theirs:.2f} | {theirs / ours:.1f}× faster |")


def part_video() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    import soundfile

    from soundstage.video.pipeline import VideoJob, render_video
    from synthetic_video import write_clip

    print("\n## 3. Video: 10 s of 1280 × 720 at 30 fps, two tracked discs → binaural MP4\n")
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        clip = work / "clip.mp4"
        crossing = [(0.1, 0.9, 0.62, 0.08, (230, 50, 40)), (0.9, 0.1, 0.75, 0.08, (40, 200, 60))]
        write_clip(clip, seconds=DURATION_S, fps=30, size=(1280, 720), discs=crossing)
        sounds = []
        for name, seed in (("red", 1), ("green", 2)):
            path = work / f"{name}.wav"
            soundfile.write(path, 0.1 * np.random.default_rng(seed).standard_normal(int(DURATION_S * 48000)), 48000)
            sounds.append((name, path))
        started = time.perf_counter()
        result = render_video(VideoJob(clip, sounds=sounds, depth="geometric"), work / "out.mp4", normalize=True,
                              progress=False)
        total = time.perf_counter() - started
        print("| stage | seconds |")
        print("|---|---:|")
        for stage in result.analysis.report.stages:
            print(f"| {stage.stage} ({stage.backend}) | {stage.seconds:.2f} |")
        print(f"| **total** | **{total:.2f}** |")
        print(f"\n{len(result.analysis.sources)} tracks; target < 30 s.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="1,2,3", help="which parts to run, comma-separated (default all)")
    args = parser.parse_args()
    print(f"# Moving sources and video — {cpu_model()}, {usable_cores()} cores; soundstage "
          f"{package_version('soundstage')}, pyroomacoustics {package_version('pyroomacoustics')}, "
          f"av {package_version('av')}")
    parts = {"1": part_moving_vs_still, "2": part_peer, "3": part_video}
    for part in args.parts.split(","):
        parts[part.strip()]()


if __name__ == "__main__":
    main()
