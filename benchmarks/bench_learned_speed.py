"""Speed of learned binauralization: real-time factor for a 10 s clip on 2 CPU threads.

Rows: the shipped depth-attention model (end to end from a picture file: region finder, depth prior,
resampling and the network; and the network alone), and — as the peer — Mono2Binaural at the published
size (audio U-Net base 64, untrained weights: speed does not depend on them) run by the same inference
code. Each case is timed ``--repeats`` times after one warm-up; the table gives the best.

    python benchmarks/bench_learned_speed.py [--threads 2] [--seconds 10] [--repeats 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from machine import cpu_model, package_version, usable_cores


def best_of(repeats: int, job) -> float:
    job()  # warm-up: first-call allocations, lazy imports
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        job()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    import torch
    from PIL import Image

    torch.set_num_threads(args.threads)
    from soundstage.learn.inference import binauralize, load_binauralizer, picture_view
    from soundstage.learn.models.mono2binaural import Mono2Binaural, Mono2BinauralConfig

    rate = 44100
    mono = (0.1 * np.random.default_rng(0).standard_normal(int(args.seconds * rate))).astype(np.float32)
    picture = np.full((480, 640, 3), 100, dtype=np.uint8)
    picture[150:400, 60:260] = (190, 60, 40)
    folder = Path(tempfile.mkdtemp())
    Image.fromarray(picture).save(folder / "frame.png")

    shipped = load_binauralizer()
    view = picture_view(shipped.config.view, folder / "frame.png")
    paper = Mono2Binaural(Mono2BinauralConfig(base_channels=64)).eval()
    paper_view = picture_view(paper.config.view, folder / "frame.png")
    frame = folder / "frame.png"
    cases = {
        "depth-attention (shipped), from the picture file": lambda: binauralize(shipped, mono, rate, frame),
        "depth-attention (shipped), network and resampling": lambda: binauralize(shipped, mono, rate, view),
        "Mono2Binaural at the paper's size (peer)": lambda: binauralize(paper, mono, rate, paper_view),
    }
    print(
        f"Machine: {cpu_model()}, {usable_cores()} cores, torch {package_version('torch')}, "
        f"{args.threads} threads; {args.seconds:g} s clip at {rate} Hz\n"
    )
    print("| case | parameters | seconds | real-time factor |")
    print("|---|---:|---:|---:|")
    results = {}
    for name, job in cases.items():
        seconds = best_of(args.repeats, job)
        model = paper if "paper" in name else shipped
        parameters = sum(p.numel() for p in model.parameters())
        results[name] = seconds
        print(f"| {name} | {parameters / 1e6:.2f} M | {seconds:.3f} | {seconds / args.seconds:.4f} |")
    ours = results["depth-attention (shipped), network and resampling"]
    peer = results["Mono2Binaural at the paper's size (peer)"]
    print(f"\npeer / shipped (network): {peer / ours:.1f}×")


if __name__ == "__main__":
    main()
