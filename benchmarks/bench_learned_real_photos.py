"""Does the shipped model put the sound on the side of the object in a real photograph?

For each photograph in ``../shared/data/images`` (or ``--images``) it builds four pictures: the photo, its
mirror image, and a wide shot with the photo on the left or on the right of a canvas 1.8× as wide that shows a
strongly blurred copy of the photo (an out-of-focus surround, so the object is clearly to one side). A dry
recording is binauralized with each picture; the table gives where the region finder put the object (u: 0 left
edge, 1 right edge), the output's high-band ILD (> 1.5 kHz, dB, positive = left louder), its ITD (GCC-PHAT, µs,
positive = left leads), the localizer's lateral angle, and whether the output is on the object's side.

    python benchmarks/bench_learned_real_photos.py [--model DIR] [--audio FILE]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def wide_shot(rgb: np.ndarray, side: str) -> np.ndarray:
    """The photo on one side of a canvas 1.8× as wide showing a strongly blurred copy of it."""
    from PIL import Image, ImageFilter

    height, width = rgb.shape[:2]
    canvas_width = int(1.8 * width)
    surround = Image.fromarray(rgb).resize((canvas_width, height)).filter(ImageFilter.GaussianBlur(height / 12))
    canvas = np.asarray(surround).copy()
    start = 0 if side == "left" else canvas_width - width
    canvas[:, start : start + width] = rgb
    return canvas


def pictures(path: Path) -> list[tuple[str, np.ndarray]]:
    from soundstage.vision.image import load_image

    rgb = (load_image(path).rgb * 255).astype(np.uint8)
    return [
        (path.stem, rgb),
        (f"{path.stem} mirrored", rgb[:, ::-1].copy()),
        (f"{path.stem} wide, on the left", wide_shot(rgb, "left")),
        (f"{path.stem} wide, on the right", wide_shot(rgb, "right")),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model folder (default: the shipped model)")
    parser.add_argument("--images", type=Path, default=SHARED / "images")
    parser.add_argument("--audio", type=Path, default=SHARED / "audio" / "castanets_dry.wav")
    args = parser.parse_args()
    if not args.images.is_dir() or not args.audio.is_file():
        raise SystemExit(f"needs {args.images} and {args.audio} (../shared/data beside the checkout)")

    from soundstage.io.audio import read_audio_file
    from soundstage.learn.inference import binauralize, load_binauralizer, picture_view
    from soundstage.learn.view import ViewConfig
    from soundstage.metrics.interaural import gcc_phat_itd
    from soundstage.metrics.localize_binaural import localize_binaural

    model = load_binauralizer(args.model)
    clip = read_audio_file(args.audio)
    mono, rate = clip.audio.mean(axis=0), clip.sample_rate
    print("| picture | object at u | ILD > 1.5 kHz (dB) | ITD (µs) | lateral (°) | on the object's side |")
    print("|---|---:|---:|---:|---:|---|")
    correct = total = 0
    for path in sorted(p for p in args.images.iterdir() if p.suffix.lower() in {".jpg", ".jpeg", ".png"}):
        for name, rgb in pictures(path):
            view = picture_view(model.config.view, rgb, fov_deg=None)
            objects = picture_view(ViewConfig(inputs=("objects",)), rgb, fov_deg=None).objects
            columns = np.nonzero(objects.max(axis=0) >= 1.0)[0]  # the best region (weight 1)
            u = (columns.mean() + 0.5) / objects.shape[1] if len(columns) else 0.5
            ears = binauralize(model, mono, rate, view).audio
            spectrum = np.abs(np.fft.rfft(ears, axis=1)) ** 2
            high = np.fft.rfftfreq(ears.shape[1], 1 / rate) > 1500.0
            ild = 10 * np.log10(spectrum[0, high].sum() / spectrum[1, high].sum())
            itd = gcc_phat_itd(ears[0], ears[1], rate) * 1e6
            found = localize_binaural(ears, rate, max_sources=1)
            lateral = found.sources[0].lateral_deg if found.sources else float("nan")
            expected = "left" if u < 0.4 else "right" if u > 0.6 else None
            side = "left" if ild > 0 else "right"
            verdict = "—" if expected is None else ("yes" if side == expected else "no")
            if expected is not None:
                total += 1
                correct += side == expected
            print(f"| {name} | {u:.2f} | {ild:+.2f} | {itd:+.0f} | {lateral:+.1f} | {verdict} |")
    print(f"\n{correct}/{total} pictures with the object clearly to one side (u < 0.4 or > 0.6) heard on that side")


if __name__ == "__main__":
    main()
