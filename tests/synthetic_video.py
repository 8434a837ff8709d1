"""A clip the tests draw themselves: a red disc crossing a plain blue frame left to right, with noise."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np

RATE = 48000


#: The disc crossing the frame: (start and end of its centre as shares of the width, its height as a share of the
#: frame's, its radius as a share of the height, its colour).
RED_DISC = (0.15, 0.85, 0.6, 0.12, (230, 50, 40))


def write_clip(
    path: Path, *, seconds=2.0, fps=25, size=(320, 180), audio=True, rotation=0, frame_times=None, discs=(RED_DISC,)
):
    """Write the clip (H.264, and AAC noise unless ``audio`` is False) and return its path.

    ``rotation`` adds display-matrix rotation metadata; ``frame_times`` (seconds) give uneven frame times;
    ``discs`` are the moving discs (see :data:`RED_DISC`).
    """
    import av

    out = av.open(str(path), "w")
    video = out.add_stream("libx264", rate=fps)
    video.width, video.height, video.pix_fmt = size[0], size[1], "yuv420p"
    if frame_times is not None:  # timestamps in milliseconds, as given
        video.codec_context.time_base = Fraction(1, 1000)
    if rotation:
        video.set_display_rotation(rotation)
    if audio:
        sound = out.add_stream("aac", rate=RATE)
        sound.layout = "mono"
    n = int(seconds * fps)
    rows, cols = np.mgrid[0 : size[1], 0 : size[0]]
    for i in range(n):
        picture = np.zeros((size[1], size[0], 3), np.uint8)
        picture[:] = (60, 90, 120)
        for x0, x1, y, radius, colour in discs:
            cx, cy = (x0 + (x1 - x0) * i / (n - 1)) * size[0], y * size[1]
            picture[(cols - cx) ** 2 + (rows - cy) ** 2 < (radius * size[1]) ** 2] = colour
        frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
        if frame_times is not None:
            frame.pts, frame.time_base = round(frame_times[i] * 1000), Fraction(1, 1000)
        for packet in video.encode(frame):
            out.mux(packet)
    for packet in video.encode():
        out.mux(packet)
    if audio:
        signal = (0.1 * np.random.default_rng(0).standard_normal(int(seconds * RATE))).astype(np.float32)
        for start in range(0, len(signal), 1024):
            frame = av.AudioFrame.from_ndarray(signal[None, start : start + 1024], format="fltp", layout="mono")
            frame.sample_rate, frame.pts = RATE, start
            for packet in sound.encode(frame):
                out.mux(packet)
        for packet in sound.encode():
            out.mux(packet)
    out.close()
    return path
