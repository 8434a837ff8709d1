"""Benchmark: ``soundstage batch`` on Ray — scaling from 1 to 2 workers, and throughput beside pyroomacoustics.

N scenes (default 32): two 10 s noise sources at their own places in an 8 × 6 × 3 m shoebox (RT60 0.3 s),
binaural at 16 kHz with the measured MIT KEMAR head (``../shared/data``; the built-in sphere and two
omnidirectional ears at the head centre for pyroomacoustics when it is absent — said in the table).

- Soundstage: the scene files and a jobs file are written, then ``run_batch`` on a local Ray cluster with
  ``--workers 1`` and ``--workers 2`` (each a fresh output folder; the cluster's start is timed apart).
- pyroomacoustics 0.10.1: the same scenes (its ``ShoeBox`` with ``inverse_sabine``'s absorption and order,
  the same SOFA file's ears as directivities) in a ``ProcessPoolExecutor`` of 1 and 2 processes.

Scaling efficiency = T(1 worker) / (2 × T(2 workers)); throughput = seconds of audio rendered per wall second
per core. Run ``python benchmarks/bench_batch.py [--scenes 8] [--seconds 10]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import soundfile

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from machine import cpu_model, package_version, usable_cores  # noqa: E402

RATE = 16000
ROOM = [8.0, 6.0, 3.0]
HEAD = [4.0, 3.0, 1.6]
RT60 = 0.3
SOFA = HERE.parent.parent / "shared" / "data" / "hrtf" / "mit_kemar_normal_pinna.sofa"


def positions(index: int) -> list[list[float]]:
    """Two sources 1.5–2.5 m from the head at directions that differ from scene to scene."""
    out = []
    for j, base in enumerate((30.0, -100.0)):
        az = np.radians(base + 11.0 * index)
        distance = 1.5 + 0.5 * ((index + j) % 3)
        out.append([round(HEAD[0] + distance * np.cos(az), 3), round(HEAD[1] + distance * np.sin(az), 3), 1.5])
    return out


def write_inputs(folder: Path, n_scenes: int, seconds: float, hrtf: str) -> Path:
    rng = np.random.default_rng(0)
    jobs = []
    for index in range(n_scenes):
        sources = []
        for j, position in enumerate(positions(index)):
            sound = folder / f"scene{index}_s{j}.wav"
            soundfile.write(sound, (0.1 * rng.standard_normal(int(seconds * RATE))).astype(np.float32), RATE)
            sources.append({"audio": sound.name, "position": position, "name": f"s{j}"})
        scene = {
            "sources": sources,
            "listener": {"position": HEAD},
            "output": {"format": "binaural", "sample_rate": RATE},
            "room": {"shoebox": {"size": ROOM}, "rt60": RT60},
            "hrtf": hrtf,
        }
        (folder / f"scene{index}.json").write_text(json.dumps(scene))
        jobs.append({"scene": f"scene{index}.json", "output": f"scene{index}.wav", "normalize": True})
    path = folder / "jobs.jsonl"
    path.write_text("".join(json.dumps(job) + "\n" for job in jobs))
    return path


def soundstage_batch(jobs: Path, out: Path, workers: int) -> float:
    import ray

    from soundstage.batch import run_batch
    from soundstage.parallel import _start_ray

    _start_ray(ray, None, workers)  # the cluster run_batch would start: one FFT thread per task
    try:
        warm = run_batch(jobs, out / "warm-up", backend="ray", workers=workers, progress=False)  # workers start
        assert not warm.failed, warm.failed
        started = time.perf_counter()
        report = run_batch(jobs, out / "timed", backend="ray", workers=workers, progress=False)
        seconds = time.perf_counter() - started
        assert not report.failed and len(report.done) == len(warm.done), report.failed
        return seconds
    finally:
        ray.shutdown()


def pra_scene(task: tuple[int, float, str | None]) -> float:
    import pyroomacoustics as pra

    index, seconds, sofa = task
    rng = np.random.default_rng(1000 + index)
    alpha, max_order = pra.inverse_sabine(RT60, ROOM)
    room = pra.ShoeBox(ROOM, fs=RATE, materials=pra.Material(alpha), max_order=max_order)
    for position in positions(index):
        room.add_source(position, signal=0.1 * rng.standard_normal(int(seconds * RATE)))
    centre = np.repeat(np.asarray(HEAD, dtype=float)[:, None], 2, axis=1)
    if sofa is not None:
        from bench_room import _pra_directivities

        room.add_microphone_array(pra.MicrophoneArray(centre, RATE, directivity=_pra_directivities(pra, sofa, RATE)))
    else:
        room.add_microphone_array(pra.MicrophoneArray(centre, RATE))
    room.simulate()
    return float(room.mic_array.signals.shape[1])


def pyroomacoustics_pool(n_scenes: int, seconds: float, workers: int, sofa: str | None) -> float:
    with ProcessPoolExecutor(max_workers=workers) as pool:
        list(pool.map(pra_scene, [(0, 0.5, sofa)] * workers))  # processes started and imports done
        started = time.perf_counter()
        list(pool.map(pra_scene, [(index, seconds, sofa) for index in range(n_scenes)]))
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--skip-pyroomacoustics", action="store_true")
    args = parser.parse_args()
    sofa = str(SOFA) if SOFA.is_file() else None
    work = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    jobs = write_inputs(work, args.scenes, args.seconds, sofa or "sphere")
    audio = args.scenes * args.seconds
    times = {w: soundstage_batch(jobs, work / f"out{w}", w) for w in (1, 2)}
    pra_times = {}
    if not args.skip_pyroomacoustics:
        pra_times = {w: pyroomacoustics_pool(args.scenes, args.seconds, w, sofa) for w in (1, 2)}

    print(f"# soundstage batch: {args.scenes} scenes × {args.seconds:g} s, 2 sources, binaural, RT60 {RT60} s, "
          f"{RATE // 1000} kHz\n")
    print(f"machine: {cpu_model()}, {usable_cores()} usable cores; ray {package_version('ray')}, "
          f"pyroomacoustics {package_version('pyroomacoustics')}")
    print(f"head: {'MIT KEMAR SOFA (both)' if sofa else 'sphere (Soundstage), omni ears (pyroomacoustics): no SOFA'}\n")
    print("| system | workers | wall s | audio s / wall s / core | scaling efficiency 1→2 |")
    print("|---|---:|---:|---:|---:|")
    for name, table in (("Soundstage batch (Ray)", times), ("pyroomacoustics (process pool)", pra_times)):
        for workers, seconds in table.items():
            efficiency = f"{table[1] / (2 * table[2]):.2f}" if workers == 2 else "—"
            print(f"| {name} | {workers} | {seconds:.2f} | {audio / seconds / workers:.1f} | {efficiency} |")
    if pra_times:
        print(f"\nthroughput ratio at 2 workers: Soundstage / pyroomacoustics = {pra_times[2] / times[2]:.1f}×")


if __name__ == "__main__":
    main()
