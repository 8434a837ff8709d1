"""Benchmark: start-up — a fresh ``soundstage render`` of the rooms reference scene, and where its time goes.

The reference scene: an 8 × 6 × 3 m shoebox (RT60 0.5 s), head at (4, 3, 1.6), 4 sources × 10 s of noise,
16 kHz, binaural with the built-in head (and with the measured MIT KEMAR SOFA from ``../shared/data`` when it
is there). Reported:

- the wall time of the whole command in a fresh process (median of ``--repeats``), as a user's script loop pays it;
- the budget per stage, timed inside one fresh process: Python and the CLI's imports and parsing, reading the scene, the
  encoder (imports of the renderer and the head), the render, writing the WAV;
- the heaviest imports (``python -X importtime``, cumulative);
- beside it, the peer's start-up: a fresh process importing pyroomacoustics and simulating the same room with
  two omnidirectional microphones (its binaural needs the SOFA directivities, slower still);
- with ``--baseline SRC`` (the ``src`` folder of another checkout, e.g. a ``git worktree`` of the commit before
  the start-up work, 5ecd380), that code's whole command timed alternately with this one's in the same run, and
  the ratio: this machine's speed drifts by half from hour to hour, a ratio within one run does not.

Run ``python benchmarks/bench_startup.py [--repeats 5] [--baseline ../before/src]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from machine import cpu_model, package_version  # noqa: E402

SOFA = HERE.parent.parent / "shared" / "data" / "hrtf" / "mit_kemar_normal_pinna.sofa"
RATE = 16000
SOURCES = ([2, 1.5, 1.5], [6, 1.5, 1.5], [2, 4.5, 1.2], [6.5, 4.5, 1.7])

STAGES = """
import sys, time
t0 = time.perf_counter()
from soundstage.cli.main import parser_for
argv = ["render", sys.argv[1], "-o", sys.argv[2]]
parser_for(argv).parse_args(argv)
t1 = time.perf_counter()
from soundstage.scene.files import load_scene
scene = load_scene(sys.argv[1])
t2 = time.perf_counter()
from soundstage.acoustics.render import prepare_render, render
job = prepare_render(scene, hrtf=sys.argv[3] if len(sys.argv) > 3 else None)
t3 = time.perf_counter()
result = render(scene, hrtf=sys.argv[3] if len(sys.argv) > 3 else None, progress=False)
t4 = time.perf_counter()
from soundstage.io.export import write_render
write_render(result, sys.argv[2], normalize=True, overwrite=True)
t5 = time.perf_counter()
print(t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4)
"""

PEER = """
import time, sys
t0 = time.perf_counter()
import numpy as np, pyroomacoustics as pra
t1 = time.perf_counter()
rate = 16000
alpha, order = pra.inverse_sabine(0.5, [8, 6, 3])
room = pra.ShoeBox([8, 6, 3], fs=rate, materials=pra.Material(alpha), max_order=order)
rng = np.random.default_rng(0)
for p in %r:
    room.add_source(p, signal=0.05 * rng.standard_normal(10 * rate))
room.add_microphone_array(pra.MicrophoneArray(np.array([[3.91, 4.09], [3, 3], [1.6, 1.6]]), rate))
room.simulate()
print(t1 - t0, time.perf_counter() - t1)
"""


#: The environment of every timed process: bytecode caching on, as for a user (this workplace sets
#: PYTHONDONTWRITEBYTECODE, which makes every start compile every module again).
ENV = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}


def write_scene(folder: Path, hrtf: str | None) -> Path:
    rng = np.random.default_rng(0)
    lines = [
        f"output: {{format: binaural, sample_rate: {RATE}}}",
        "room: {shoebox: {size: [8, 6, 3]}, rt60: 0.5}",
        "listener: {position: [4, 3, 1.6]}",
    ]
    if hrtf:
        lines.append(f"hrtf: {hrtf}")
    lines.append("sources:")
    for index, position in enumerate(SOURCES):
        soundfile.write(folder / f"s{index}.wav", (0.05 * rng.standard_normal(10 * RATE)).astype(np.float32), RATE)
        lines.append(f"  - {{audio: s{index}.wav, position: {list(position)}}}")
    path = folder / ("kemar.yaml" if hrtf else "sphere.yaml")
    path.write_text("\n".join(lines) + "\n")
    return path


def render_command(scene: Path, out: Path, *python_options: str) -> list[str]:
    """The command line a user runs: ``soundstage render SCENE -o OUT`` in a fresh Python."""
    return [
        sys.executable,
        *python_options,
        "-m",
        "soundstage",
        "render",
        str(scene),
        "-o",
        str(out),
        "--overwrite",
        "--quiet",
        "--normalize",
    ]


def render_s(scene: Path, out: Path, environment: dict[str, str] = ENV) -> float:
    """Seconds of one fresh ``soundstage render`` in ``environment``."""
    started = time.perf_counter()
    subprocess.run(render_command(scene, out), check=True, env=environment, capture_output=True)
    return time.perf_counter() - started


def fresh_render_s(scene: Path, out: Path, repeats: int) -> float:
    return statistics.median(render_s(scene, out) for _ in range(repeats))


def alternate_renders_s(scene: Path, out: Path, baseline: Path, repeats: int) -> dict[str, list[float]]:
    """Whole-command times of this checkout and of the code in ``baseline`` (a ``src`` folder), run in turn."""
    environments = {"now": ENV, "before": {**ENV, "PYTHONPATH": str(baseline)}}
    for environment in environments.values():  # each writes its bytecode caches first
        render_s(scene, out, environment)
    times: dict[str, list[float]] = {name: [] for name in environments}
    for _ in range(repeats):
        for name, environment in environments.items():
            times[name].append(render_s(scene, out, environment))
    return times


def stages_s(scene: Path, out: Path, hrtf: str | None, repeats: int) -> list[float]:
    runs = []
    for _ in range(repeats):
        argv = [sys.executable, "-c", STAGES, str(scene), str(out)] + ([hrtf] if hrtf else [])
        output = subprocess.run(argv, check=True, capture_output=True, text=True, env=ENV).stdout
        runs.append([float(v) for v in output.split()])
    return [statistics.median(column) for column in zip(*runs, strict=True)]


def heaviest_imports(scene: Path, out: Path, top: int = 8) -> list[tuple[str, float]]:
    """Import time by top-level package (the sum of its modules' own times), heaviest first, in seconds."""
    log = subprocess.run(render_command(scene, out, "-X", "importtime"), capture_output=True, text=True, env=ENV).stderr
    totals: dict[str, float] = {}
    for line in log.splitlines():
        if line.startswith("import time:") and "|" in line and "self [us]" not in line:
            own, _, name = (part.strip() for part in line.removeprefix("import time:").split("|"))
            root = name.split(".")[0]
            totals[root] = totals.get(root, 0.0) + int(own) / 1e6
    return sorted(totals.items(), key=lambda row: -row[1])[:top]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--baseline", type=Path, help="the src folder of another checkout, timed alternately with this one"
    )
    args = parser.parse_args()
    if args.baseline is not None and not (args.baseline / "soundstage" / "__main__.py").is_file():
        parser.error(f"--baseline {args.baseline}: give the src folder of a soundstage checkout (it holds soundstage/)")
    folder = Path(tempfile.mkdtemp(prefix="bench-startup-"))
    out = folder / "out.wav"
    cases = [("sphere head", write_scene(folder, None), None)]
    if SOFA.is_file():
        cases.append(("MIT KEMAR SOFA", write_scene(folder, str(SOFA)), str(SOFA)))
    print("# Start-up: a fresh soundstage render of the rooms reference scene\n")
    print(f"machine: {cpu_model()}; soundstage {package_version('soundstage')}, scipy {package_version('scipy')}\n")
    # render() sets the job up again (the head is kept in the process by then): its column includes that.
    print(
        "| head | whole command (s) | imports + CLI | read scene | encoder and head | render (set-up again) "
        "| write WAV |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    fresh_render_s(cases[0][1], out, 1)  # the first run writes the bytecode caches a user's later runs read
    for label, scene, hrtf in cases:
        whole = fresh_render_s(scene, out, args.repeats)
        parts = stages_s(scene, out, hrtf, args.repeats)
        print(f"| {label} | {whole:.2f} | " + " | ".join(f"{p:.3f}" for p in parts) + " |")
    if args.baseline is not None:
        print(f"\nbefore ({args.baseline}) and now, run in turn ({args.repeats} each): median (minimum), s\n")
        print("| head | before | now | now / before |")
        print("|---|---:|---:|---:|")
        for label, scene, _ in cases:
            times = alternate_renders_s(scene, out, args.baseline, args.repeats)
            before, now = (statistics.median(times[name]) for name in ("before", "now"))
            print(
                f"| {label} | {before:.3f} ({min(times['before']):.3f}) | {now:.3f} ({min(times['now']):.3f}) "
                f"| {now / before:.2f} |"
            )
    peer_code = PEER % (list(map(list, SOURCES)),)
    subprocess.run([sys.executable, "-c", peer_code], capture_output=True, env=ENV)  # its bytecode cached too
    peer = subprocess.run([sys.executable, "-c", peer_code], capture_output=True, text=True, env=ENV)
    if peer.returncode == 0:
        imports, work = (float(v) for v in peer.stdout.split())
        print(
            f"\npeer, fresh process: pyroomacoustics {package_version('pyroomacoustics')} import {imports:.2f} s, "
            f"the same room to two omni microphones {work:.2f} s"
        )
    print(
        "\nimport time of `soundstage render` by package (own time of its modules, s): "
        + ", ".join(f"{name} {seconds:.3f}" for name, seconds in heaviest_imports(cases[0][1], out))
    )
    print(
        "(the issue asks ≤ 0.35 s for the whole command with the built-in head, ≤ 0.45 s with the KEMAR SOFA, "
        "where the code before took 0.68 s: a ratio of 0.51 to the code before)"
    )


if __name__ == "__main__":
    main()
