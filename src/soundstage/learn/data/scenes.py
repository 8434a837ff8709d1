"""Random training scenes: what plays where, in which room, heard by which head.

A scene is a plain JSON-able dict (one manifest line) so that rendering it again gives the same
audio: 1–3 sources inside the camera's field of view (azimuth and elevation within it, 1–8 m away),
free field or a random shoebox with RT60 0.2–1.0 s, a head from the split's heads, and the seed of
its picture. Positions are in the listener frame (x forward, y left, z up; azimuth positive left).
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

import numpy as np

from soundstage.learn.data.pictures import CAMERA_HEIGHT_M

#: Probability of 1, 2 and 3 sources (single sources dominate so lateralization is learned cleanly).
SOURCE_COUNT_PROBABILITIES = (0.5, 0.3, 0.2)
#: Range of distances, metres.
DISTANCE_RANGE_M = (1.0, 8.0)
#: Range of horizontal fields of view of the drawn camera, degrees.
FOV_RANGE_DEG = (50.0, 80.0)
#: Range of reverberation times of the rooms, seconds.
RT60_RANGE_S = (0.2, 1.0)
#: Share of scenes in a shoebox room (the rest are free field).
ROOM_PROBABILITY = 0.5


def class_size_m(label: str) -> float:
    """Typical physical height of a sound class's object in metres (0.3–1.5 m, from the label)."""
    return 0.3 + 1.2 * hashlib.sha256(label.encode()).digest()[7] / 255.0


def sample_scene(
    rng: np.random.Generator,
    clips: list[dict[str, str]],
    heads: list[str],
    *,
    aspect: float,
    clip_seconds: float,
    clip_lengths_s: dict[str, float],
    max_sources: int = 3,
    room_probability: float = ROOM_PROBABILITY,
) -> dict[str, Any]:
    """One random scene.

    Parameters
    ----------
    rng : np.random.Generator
    clips : list of dict
        Candidate sounds, each ``{"clip_id", "label"}``.
    heads : list of str
        Head specs to choose from (see :func:`soundstage.learn.data.heads.parse_head`).
    aspect : float
        Picture width / height (sets the vertical field of view).
    clip_seconds : float
        Length of the scene's audio in seconds.
    clip_lengths_s : dict
        Length of each clip in seconds (to choose where in it the scene starts).
    max_sources : int
        Most sources (1–3); the probabilities of :data:`SOURCE_COUNT_PROBABILITIES` renormalised.
    room_probability : float
        Share of scenes in a shoebox room (the rest are free field).

    Returns
    -------
    dict
        ``sources`` (clip_id, label, azimuth_deg, elevation_deg, distance_m, size_m, gain_db,
        offset_s), ``fov_deg``, ``room`` (None or size, rt60, listener position), ``head``,
        ``picture_seed``.
    """
    fov = float(rng.uniform(*FOV_RANGE_DEG))
    half_h = math.degrees(math.atan(math.tan(math.radians(fov) / 2.0))) * 0.9
    half_v = math.degrees(math.atan(math.tan(math.radians(fov) / 2.0) / aspect)) * 0.8
    weights = np.array(SOURCE_COUNT_PROBABILITIES[:max_sources])
    n_sources = int(rng.choice(len(weights), p=weights / weights.sum())) + 1
    chosen: list[dict[str, str]] = []
    labels: set[str] = set()
    for _ in range(50 * n_sources):  # distinct classes, so a picture never shows one class twice
        if len(chosen) == n_sources:
            break
        clip = clips[int(rng.integers(len(clips)))]
        if clip["label"] not in labels:
            chosen.append(clip)
            labels.add(clip["label"])
    sources = []
    for clip in chosen:
        # Azimuth uniform in the picture's width (tan space), so every column is equally likely.
        tan_half = math.tan(math.radians(half_h))
        azimuth = math.degrees(math.atan(rng.uniform(-tan_half, tan_half)))
        elevation = float(rng.uniform(-half_v, half_v))
        distance = float(math.exp(rng.uniform(*np.log(DISTANCE_RANGE_M))))
        # Keep sources above the floor: at most the camera height below the ear.
        elevation = max(elevation, -math.degrees(math.asin(min(0.95, (CAMERA_HEIGHT_M - 0.2) / distance))))
        length = clip_lengths_s.get(clip["clip_id"], clip_seconds)
        sources.append(
            {
                "clip_id": clip["clip_id"],
                "label": clip["label"],
                "azimuth_deg": round(azimuth, 3),
                "elevation_deg": round(elevation, 3),
                "distance_m": round(distance, 3),
                "size_m": round(class_size_m(clip["label"]) * float(rng.uniform(0.8, 1.2)), 3),
                "gain_db": round(float(rng.uniform(-6.0, 0.0)), 2),
                "offset_s": round(float(rng.uniform(0.0, max(0.0, length - clip_seconds))), 3),
            }
        )
    room = None
    if rng.uniform() < room_probability:
        room = _shoebox_around(rng, sources)
    return {
        "sources": sources,
        "fov_deg": round(fov, 3),
        "room": room,
        "head": heads[int(rng.integers(len(heads)))],
        "picture_seed": int(rng.integers(2**31)),
    }


def source_offsets(source: dict[str, Any]) -> tuple[float, float, float]:
    """``(x, y, z)`` of a source relative to the listener, metres."""
    az, el = math.radians(source["azimuth_deg"]), math.radians(source["elevation_deg"])
    d = source["distance_m"]
    return d * math.cos(el) * math.cos(az), d * math.cos(el) * math.sin(az), d * math.sin(el)


def _shoebox_around(rng: np.random.Generator, sources: list[dict[str, Any]]) -> dict[str, Any]:
    """A shoebox holding the listener (at ear height) and every source with 0.5 m to spare."""
    offsets = np.array([source_offsets(source) for source in sources])
    margin = 0.5
    behind = float(rng.uniform(0.8, 2.5))
    length = behind + max(offsets[:, 0].max(), 0.0) + margin + float(rng.uniform(0.0, 4.0))
    left = max(offsets[:, 1].max(), 0.0) + margin + float(rng.uniform(0.3, 3.0))
    right = max(-offsets[:, 1].min(), 0.0) + margin + float(rng.uniform(0.3, 3.0))
    height = max(CAMERA_HEIGHT_M + max(offsets[:, 2].max(), 0.0) + margin, float(rng.uniform(2.5, 5.0)))
    return {
        "size": [round(length, 3), round(left + right, 3), round(height, 3)],
        "listener": [round(behind, 3), round(right, 3), CAMERA_HEIGHT_M],
        "rt60": round(float(rng.uniform(*RT60_RANGE_S)), 3),
    }
