"""Learned binauralization on the held-out test split: every row of the README's table, in one run.

Rows (all given the same mono mix, L + R of the truth, and the scene's picture):

- ``mono-mono``: the mix in both ears (the field's floor).
- ``mono2binaural``: the Mono2Binaural baseline trained on the same data.
- ``depth-attention``: the depth-aware attention model (the shipped one unless ``--model``).
- ``depth-attention via vision``: the same model given what the vision pipeline extracts from the
  drawn picture (offline region finder, geometric depth prior) instead of the exact masks and depth:
  how far the real-photo path is from the ideal one.
- ``physics via vision``: the picture → regions → positions (the pinhole camera, the true field of
  view) → Soundstage's renderer (sphere head, free field), the mix split evenly over the regions.
- ``oracle renderer``: the dry sources rendered at their true positions in the true room, with the
  default sphere head (the test head is unseen by every system, so the oracle does not know it either).

The two physics rows are aligned in time to the truth first (see :func:`align`). Metrics per 2 s clip
(the FAIR-Play definitions in :mod:`soundstage.metrics.binauralization`),
interaural cue errors, and on single-source scenes the localizer's lateral angle: left/right correct
(sources at least 5° off centre) and the mean absolute lateral error.

    python benchmarks/bench_learned_binaural.py --data DATA [--baseline RUN/model] [--model DIR] [--limit N]
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import numpy as np

from machine import cpu_model, package_version, usable_cores

ORACLE_HEAD = "sphere:8.75:90"


def lateral_deg(azimuth_deg: float, elevation_deg: float) -> float:
    """Lateral angle (degrees, positive left) of a direction: the angle from the median plane."""
    a, e = math.radians(azimuth_deg), math.radians(elevation_deg)
    return math.degrees(math.asin(max(-1.0, min(1.0, math.sin(a) * math.cos(e)))))


def align(render: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """``render`` shifted by the lag that best aligns its L + R with the truth's (±20 ms).

    A re-render carries its own propagation and head delays (the physics-via-vision row renders the mix,
    which already holds the room's delay, once more); waveform metrics would measure those delays
    instead of the spatial image, so the physics rows are aligned first. The learned rows need no
    alignment: their L + R is the mix itself.
    """
    from scipy.signal import correlate

    a, b = render.sum(axis=0), truth.sum(axis=0)
    lags = np.arange(-len(a) + 1, len(b))
    xcorr = correlate(b, a, mode="full", method="fft")
    window = np.abs(lags) <= 320
    lag = int(lags[window][np.argmax(xcorr[window])])
    out = np.zeros_like(render)
    if lag >= 0:
        out[:, lag:] = render[:, : render.shape[1] - lag]
    else:
        out[:, :lag] = render[:, -lag:]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, type=Path, help="dataset folder (soundstage data binaural)")
    parser.add_argument("--model", help="depth-attention model folder (default: the shipped model)")
    parser.add_argument("--baseline", help="Mono2Binaural model folder (row left out without it)")
    parser.add_argument(
        "--also", action="append", default=[], metavar="NAME=FOLDER", help="another model to add as a row (repeatable)"
    )
    parser.add_argument("--split", default="test")
    parser.add_argument("--limit", type=int, help="first N scenes only")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from soundstage.learn.data.synthesis import load_manifest, render_scene
    from soundstage.learn.dataset import objects_map
    from soundstage.learn.inference import PictureView, binauralize, load_binauralizer, picture_view
    from soundstage.learn.pretrained import load_model
    from soundstage.learn.view import build_view
    from soundstage.metrics.binauralization import binauralization_metrics
    from soundstage.metrics.interaural import cue_errors
    from soundstage.metrics.localize_binaural import localize_binaural

    scenes = load_manifest(args.data, args.split)[: args.limit]
    recipe = __import__("json").loads((args.data / "recipe.json").read_text())
    rate = int(recipe["sample_rate"])
    n = round(recipe["clip_seconds"] * rate)
    pool = __import__("json").loads((args.data / "sounds" / "pool.json").read_text())
    clip_paths = {c["clip_id"]: str(args.data / "sounds" / c["path"]) for c in pool["clips"]}
    from soundstage.learn.data.heads import load_head, parse_sphere

    test_head = recipe["test_head"] if args.split == "test" else recipe["train_heads"][0]
    localizer_head = "sphere" if parse_sphere(test_head) else load_head(test_head, rate)

    models = {"depth-attention": load_binauralizer(args.model)}
    if args.baseline:
        models["mono2binaural"] = load_model(args.baseline)
    for extra in args.also:
        name, _, folder = extra.partition("=")
        models[name] = load_model(folder)
    rows: dict[str, list[dict[str, float]]] = {}
    seconds: dict[str, float] = {}
    shards: dict[str, dict[str, np.ndarray]] = {}
    for scene in scenes:
        if scene["shard"] not in shards:
            with np.load(args.data / "shards" / f"{scene['shard']}.npz") as shard:
                shards[scene["shard"]] = {k: shard[k] for k in ("binaural", "rgb", "depth_m", "labels")}
        shard, row = shards[scene["shard"]], scene["row"]
        truth = shard["binaural"][row].astype(np.float32)
        mix = truth[0] + truth[1]
        predictions: dict[str, np.ndarray] = {"mono-mono": np.stack([mix, mix]) / 2.0}
        for name, model in models.items():
            view = build_view(
                model.config.view,
                objects=objects_map(shard["labels"][row], None),
                depth_m=shard["depth_m"][row].astype(np.float32),
                rgb=shard["rgb"][row],
            )
            started = time.perf_counter()
            predictions[name] = binauralize(model, mix, rate, PictureView(view)).audio
            seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - started
        model = models["depth-attention"]
        started = time.perf_counter()
        seen = picture_view(model.config.view, shard["rgb"][row], fov_deg=scene["fov_deg"])
        predictions["depth-attention via vision"] = binauralize(model, mix, rate, seen).audio
        seconds["depth-attention via vision"] = seconds.get("depth-attention via vision", 0.0) + (
            time.perf_counter() - started
        )
        physics = _physics_via_vision(shard["rgb"][row], scene, mix, rate, n)
        predictions["physics via vision"] = align(physics, truth)
        oracle = render_scene({**scene, "head": ORACLE_HEAD}, clip_paths, rate, n)
        predictions["oracle renderer"] = align(oracle, truth)
        single = len(scene["sources"]) == 1
        true_lateral = lateral_deg(scene["sources"][0]["azimuth_deg"], scene["sources"][0]["elevation_deg"])
        for name, prediction in predictions.items():
            metrics = binauralization_metrics(prediction, truth, rate)
            metrics.update(cue_errors(prediction, truth, rate))
            if single:
                found = localize_binaural(prediction, rate, hrtf=localizer_head, max_sources=1)
                lateral = found.sources[0].lateral_deg if found.sources else 0.0
                metrics["lateral_error"] = abs(lateral - true_lateral)
                if abs(true_lateral) >= 5.0:
                    metrics["side_correct"] = float(np.sign(lateral) == np.sign(true_lateral))
            rows.setdefault(name, []).append(metrics)

    print(f"## Learned binauralization, {args.split} split of {args.data} ({len(scenes)} scenes)\n")
    print(
        f"Machine: {cpu_model()}, {usable_cores()} cores; torch {package_version('torch')}, "
        f"soundstage {package_version('soundstage')}; test head {test_head}\n"
    )
    columns = ("stft", "env", "mag", "phase", "snr", "wav_l2", "itd_error_us", "ild_error_db")
    print(
        "| system | STFT | ENV | Mag | Phase | SNR dB | WAV-L2 | ITD err µs | ILD err dB | L/R correct | "
        "lateral err ° |"
    )
    print("|---|" + "---:|" * 10)
    reference = np.mean([m["stft"] for m in rows["mono-mono"]])
    for name, metrics in rows.items():
        means = [np.mean([m[c] for m in metrics]) for c in columns]
        side = [m["side_correct"] for m in metrics if "side_correct" in m]
        lateral = [m["lateral_error"] for m in metrics if "lateral_error" in m]
        cells = [f"{v:.0f}" if c == "itd_error_us" else f"{v:.3f}" for v, c in zip(means, columns, strict=True)]
        side_cell = f"{100 * np.mean(side):.1f} % ({len(side)})"
        print(f"| {name} | " + " | ".join(cells) + f" | {side_cell} | {np.mean(lateral):.1f} |")
    print()
    for name in models:
        stft = np.mean([m["stft"] for m in rows[name]])
        print(f"- {name}: STFT {100 * (1 - stft / reference):.1f} % below mono-mono")
    if "mono2binaural" in rows:
        da, m2b = (np.mean([m["stft"] for m in rows[k]]) for k in ("depth-attention", "mono2binaural"))
        snr_gain = np.mean([m["snr"] for m in rows["depth-attention"]]) - np.mean(
            [m["snr"] for m in rows["mono2binaural"]]
        )
        print(f"- depth-attention vs mono2binaural: STFT {100 * (1 - da / m2b):.1f} % lower, SNR {snr_gain:+.2f} dB")
    for name, total in seconds.items():
        print(f"- {name}: {total / (len(scenes) * n / rate):.4f} s per second of audio (real-time factor)")


def _physics_via_vision(rgb: np.ndarray, scene: dict, mix: np.ndarray, rate: int, n: int) -> np.ndarray:
    """The mix rendered (sphere head, free field) at the positions the vision pipeline finds."""
    from soundstage.acoustics.render import render
    from soundstage.learn.inference import MAX_REGIONS, REGION_SCORE_RATIO
    from soundstage.scene.model import Scene
    from soundstage.vision.camera import PinholeCamera
    from soundstage.vision.regions import REGION_BACKENDS
    from soundstage.vision.stages import LoadedImage

    image = LoadedImage(rgb.astype(np.float32) / 255.0, "<picture>", (rgb.shape[1], rgb.shape[0]))
    regions = REGION_BACKENDS.create("classical").find(image, labels=None, max_regions=MAX_REGIONS)
    best = max((r.score for r in regions), default=0.0)
    kept = [r for r in regions if r.score >= REGION_SCORE_RATIO * best][:MAX_REGIONS] or None
    camera = PinholeCamera.from_fov(image.width, image.height, scene["fov_deg"])
    positions = []
    for region in kept or []:
        u, v = region.centroid()
        azimuth, elevation = camera.direction_deg(u, v)
        positions.append({"az": float(azimuth), "el": float(elevation), "dist": 3.0})
    if not positions:
        positions = [{"az": 0.0, "el": 0.0, "dist": 3.0}]
    share = mix / len(positions)
    document = {
        "sources": [{"audio": share, "sample_rate": rate, "position": p} for p in positions],
        "output": {"format": "binaural", "sample_rate": rate},
    }
    audio = render(Scene.model_validate(document), progress=False).audio[:, :n]
    out = np.zeros((2, n), dtype=np.float32)
    out[:, : audio.shape[1]] = audio
    return out


if __name__ == "__main__":
    main()
