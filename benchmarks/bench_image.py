"""Benchmark: a photo and three sounds → binaural with a room, offline backends, per-stage times.

The job the image-pipeline issue sets: an image with its longer side at 1024 px and 3 sources of
10 s, rendered to binaural at 48 kHz with the fitted room, on the offline backends (geometric depth
prior, classical region finder), on this machine's CPU cores. Each run is a fresh Python process so
imports are paid as a user pays them; the table gives every stage's time (from the pipeline's own
report) and the totals, cold (first run) and warm (median of further runs in one process).

SEE-2-SOUND (the peer) cannot run here — it needs GPU models that cannot be downloaded — so its
paper's figure is quoted beside ours: about 12–15 s per image on an A100 GPU.

    python benchmarks/bench_image.py [--image PATH] [--repeats 3]

Without ``--image`` it uses ``../shared/data/images/truck.jpg`` beside the checkout, resized so its
longer side is 1024 px; without that file, a synthetic street-like picture.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from machine import cpu_model, package_version, usable_cores

SAMPLE_RATE = 48000
DURATION_S = 10.0
N_SOURCES = 3
PEER_QUOTE = "SEE-2-SOUND (paper): ~12–15 s per image on an A100 GPU"
_SHARED_IMAGE = Path(__file__).resolve().parents[2] / "shared" / "data" / "images" / "truck.jpg"


def _prepare(folder: Path, image: Path | None) -> Path:
    """A 1024-px copy of the image (or a synthetic one) and three 10 s noise sounds in ``folder``."""
    import soundfile
    from PIL import Image, ImageDraw

    source = image or (_SHARED_IMAGE if _SHARED_IMAGE.is_file() else None)
    if source is not None:
        picture = Image.open(source).convert("RGB")
        picture.thumbnail((1024, 1024))
    else:
        picture = Image.new("RGB", (1024, 683), (150, 150, 155))
        draw = ImageDraw.Draw(picture)
        draw.rectangle((0, 0, 1024, 300), fill=(120, 160, 230))
        for x, colour in ((150, (200, 30, 30)), (480, (30, 120, 200)), (800, (240, 200, 20))):
            draw.rectangle((x, 330, x + 120, 520), fill=colour)
    path = folder / "image.png"
    picture.save(path)
    rng = np.random.default_rng(0)
    for index in range(N_SOURCES):
        signal = (rng.standard_normal(int(DURATION_S * SAMPLE_RATE)) * 0.05).astype(np.float32)
        soundfile.write(folder / f"s{index}.wav", signal, SAMPLE_RATE)
    return path


def _worker(folder: Path, repeats: int) -> dict:
    """Runs inside a fresh process: the pipeline and the render, timed per stage."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["SOUNDSTAGE_OFFLINE"] = "1"
    runs = []
    for _ in range(1 + repeats):
        started = time.perf_counter()
        from soundstage.acoustics.render import render
        from soundstage.vision.pipeline import ImageJob, image_to_scene

        job = ImageJob(
            image=folder / "image.png", sounds=[(None, folder / f"s{i}.wav") for i in range(N_SOURCES)], room="auto"
        )
        result = image_to_scene(job, output_format="binaural", sample_rate=SAMPLE_RATE)
        before_render = time.perf_counter()
        audio = render(result.scene, progress=False)
        finished = time.perf_counter()
        stages = {stage.stage: stage.seconds for stage in result.report.stages}
        stages["render"] = finished - before_render
        runs.append(
            {
                "stages": stages,
                "total": finished - started,
                "backends": {stage.stage: stage.backend for stage in result.report.stages},
                "room": result.scene.room.kind if result.scene.room is not None else "none",
                "output_s": audio.duration,
            }
        )
    return {"runs": runs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", type=Path, help="image to use (default: ../shared/data/images/truck.jpg)")
    parser.add_argument("--repeats", type=int, default=3, help="warm runs after the first (default 3)")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        print(json.dumps(_worker(args.worker, args.repeats)))
        return
    with tempfile.TemporaryDirectory() as folder_name:
        folder = Path(folder_name)
        _prepare(folder, args.image)
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, __file__, "--worker", str(folder), "--repeats", str(args.repeats)],
            capture_output=True,
            text=True,
            check=True,
        )
        wall = time.perf_counter() - started
        runs = json.loads(done.stdout.strip().splitlines()[-1])["runs"]
    cold, warm = runs[0], runs[1:]
    print("# Image → binaural with a room, offline backends\n")
    print(f"- Machine: {cpu_model()}; {usable_cores()} usable cores; Python {sys.version.split()[0]}")
    print(
        f"- soundstage {package_version('soundstage')}, numpy {package_version('numpy')}, "
        f"scikit-image {package_version('scikit-image')}, pillow {package_version('pillow')}"
    )
    job = f"1024-px image, {N_SOURCES} sources × {DURATION_S:g} s, binaural {SAMPLE_RATE} Hz, room {cold['room']}"
    print(f"- Job: {job}")
    print(f"- Backends: {', '.join(f'{k} {v}' for k, v in cold['backends'].items())}")
    print(f"- Process wall time (imports, {1 + len(warm)} runs): {wall:.2f} s\n")
    print("| stage | cold (s) | warm, median (s) |")
    print("|---|---:|---:|")
    for stage in cold["stages"]:
        warm_median = np.median([run["stages"][stage] for run in warm]) if warm else float("nan")
        print(f"| {stage} | {cold['stages'][stage]:.3f} | {warm_median:.3f} |")
    warm_total = np.median([run["total"] for run in warm]) if warm else float("nan")
    print(f"| **total** | **{cold['total']:.2f}** | **{warm_total:.2f}** |\n")
    print(f"Peer: {PEER_QUOTE} (not runnable here: its models need downloads and a GPU).")
    print(f"Target (issue): < 3 s on 2 CPU cores. Cold {cold['total']:.2f} s, warm {warm_total:.2f} s.")


if __name__ == "__main__":
    main()
