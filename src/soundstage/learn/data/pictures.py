"""Pictures for training scenes: each sound drawn where it is, with the scene's exact depth.

A picture must teach what transfers to photographs (see :mod:`soundstage.learn.view`): objects sit
at their projected positions (a pinhole camera at the listener's head looking along +x), their size
in the picture falls as 1/distance, nearer objects hide farther ones, and backgrounds vary — drawn
rooms with a floor, walls and furniture that makes no sound, or the user's own photographs
(``--images``). Each sound class has a visual identity (shape, hue, texture) derived from its label,
so an RGB model can learn what a class looks like and a new class gets a new look.

Projection: a point ``(x, y, z)`` in the listener frame (x forward, y left, z up) lands at
``u = W/2 - f·y/x``, ``v = H/2 - f·z/x`` with ``f = (W/2) / tan(hfov/2)`` pixels; azimuth positive
to the left is the left half of the picture.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: Height of the drawn camera above the floor, in metres (a standing person's eyes).
CAMERA_HEIGHT_M = 1.5


@dataclass(frozen=True)
class DrawnObject:
    """A sounding object to draw.

    Attributes
    ----------
    label : str
        Its sound class (sets shape, hue and texture).
    azimuth_deg, elevation_deg, distance_m : float
        Where it is from the listener (degrees, positive left / up; metres).
    size_m : float
        Its physical height in metres.
    """

    label: str
    azimuth_deg: float
    elevation_deg: float
    distance_m: float
    size_m: float


@dataclass(frozen=True)
class Picture:
    """A drawn picture with its truth.

    Attributes
    ----------
    rgb : np.ndarray, shape (H, W, 3), uint8
    depth_m : np.ndarray, shape (H, W), float32
        z-depth along the optical axis in metres.
    labels : np.ndarray, shape (H, W), uint8
        ``k + 1`` where object ``k`` is visible, 0 elsewhere.
    """

    rgb: np.ndarray
    depth_m: np.ndarray
    labels: np.ndarray


def focal_length_px(width: int, horizontal_fov_deg: float) -> float:
    """Focal length in pixels of a pinhole camera ``width`` pixels wide with the given field of view."""
    return (width / 2.0) / math.tan(math.radians(horizontal_fov_deg) / 2.0)


def project(azimuth_deg: float, elevation_deg: float, distance_m: float, width: int, height: int, fov: float):
    """``(u, v, z)``: pixel column and row of a direction (listener frame), and its z-depth in metres."""
    az, el = math.radians(azimuth_deg), math.radians(elevation_deg)
    x = distance_m * math.cos(el) * math.cos(az)
    y = distance_m * math.cos(el) * math.sin(az)
    z = distance_m * math.sin(el)
    f = focal_length_px(width, fov)
    return width / 2.0 - f * y / x, height / 2.0 - f * z / x, x


def class_identity(label: str) -> dict[str, float]:
    """Shape, hue and texture of a sound class, the same for every picture (derived from the label)."""
    digest = hashlib.sha256(label.encode()).digest()
    return {
        "shape": digest[0] % 5,
        "hue": digest[1] / 255.0,
        "saturation": 0.55 + 0.4 * digest[2] / 255.0,
        "texture": digest[3] % 3,
        "texture_angle": math.pi * digest[4] / 255.0,
        "texture_period": 3.0 + 6.0 * digest[5] / 255.0,
        "aspect": 0.5 + 1.0 * digest[6] / 255.0,
    }


def _hsv_to_rgb(h: float, s: float, v: float) -> np.ndarray:
    i = int(h * 6.0) % 6
    f = h * 6.0 - int(h * 6.0)
    p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
    return np.array([(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i], dtype=np.float32)


def _shape_mask(shape: int, uu: np.ndarray, vv: np.ndarray) -> np.ndarray:
    """A shape in normalised coordinates (|u|, |v| ≤ 1 spans the object's box)."""
    if shape == 0:  # ellipse
        return uu**2 + vv**2 <= 1.0
    if shape == 1:  # rounded box
        return (np.abs(uu) ** 4 + np.abs(vv) ** 4) <= 1.0
    if shape == 2:  # triangle, apex up
        return (vv <= 1.0) & (vv >= -1.0) & (np.abs(uu) <= (vv + 1.0) / 2.0)
    if shape == 3:  # body and neck (a stringed instrument's outline)
        return ((uu**2 + ((vv - 0.45) / 0.55) ** 2) <= 1.0) | ((np.abs(uu) <= 0.15) & (vv < 0.0) & (vv >= -1.0))
    # a wheeled body (a vehicle's outline)
    body = (np.abs(uu) <= 1.0) & (vv >= -0.6) & (vv <= 0.5)
    cabin = (np.abs(uu + 0.1) <= 0.5) & (vv < -0.6) & (vv >= -1.0)
    wheels = ((uu + 0.6) ** 2 + (vv - 0.65) ** 2 <= 0.12) | ((uu - 0.6) ** 2 + (vv - 0.65) ** 2 <= 0.12)
    return body | cabin | wheels


def _texture(kind: int, angle: float, period: float, xx: np.ndarray, yy: np.ndarray, rng) -> np.ndarray:
    if kind == 0:  # stripes
        return 0.75 + 0.25 * np.sign(np.sin((xx * math.cos(angle) + yy * math.sin(angle)) * 2 * math.pi / period))
    if kind == 1:  # dots
        return 0.7 + 0.3 * ((np.sin(xx * 2 * math.pi / period) * np.sin(yy * 2 * math.pi / period)) > 0.5)
    return 0.8 + 0.2 * rng.standard_normal(xx.shape).clip(-1.5, 1.5) / 1.5  # speckle


def _room_background(rng, height: int, width: int, fov: float, nearest: float) -> tuple[np.ndarray, np.ndarray]:
    """A wall (at least ``nearest`` metres away) and a floor of random colours, with its z-depth."""
    f = focal_length_px(width, fov)
    wall_distance = max(rng.uniform(4.0, 14.0), nearest)
    rows = np.arange(height, dtype=np.float32)[:, None] + 0.5
    below = rows - height / 2.0
    floor_depth = np.where(below > 0, f * CAMERA_HEIGHT_M / np.maximum(below, 1e-3), np.inf)
    depth = np.broadcast_to(np.minimum(floor_depth, wall_distance), (height, width)).astype(np.float32).copy()
    wall = _hsv_to_rgb(rng.uniform(), rng.uniform(0.0, 0.4), rng.uniform(0.35, 0.95))
    floor = _hsv_to_rgb(rng.uniform(), rng.uniform(0.1, 0.6), rng.uniform(0.2, 0.7))
    is_floor = (floor_depth < wall_distance)[:, :1]
    shade = 1.0 - 0.25 * (rows / height)
    rgb = np.where(is_floor[..., None], floor[None, None, :], wall[None, None, :]) * shade[..., None]
    rgb = np.broadcast_to(rgb, (height, width, 3)).copy()
    rgb *= 1.0 + 0.06 * rng.standard_normal((height, width, 1))
    return rgb.astype(np.float32), depth


def _photo_background(path: Path, rng, height: int, width: int, nearest: float) -> tuple[np.ndarray, np.ndarray]:
    """A random crop of a user photograph (its depth unknown: a wall 4–14 m away, beyond ``nearest``)."""
    from PIL import Image

    with Image.open(path) as image:
        image = image.convert("RGB")
        w, h = image.size
        crop_w = min(w, int(h * width / height))
        crop_h = int(crop_w * height / width)
        left = int(rng.integers(0, w - crop_w + 1))
        top = int(rng.integers(0, h - crop_h + 1))
        image = image.crop((left, top, left + crop_w, top + crop_h)).resize((width, height))
        rgb = np.asarray(image, dtype=np.float32) / 255.0
    depth = np.full((height, width), max(rng.uniform(4.0, 14.0), nearest), dtype=np.float32)
    return rgb, depth


def _paint(rgb, depth, labels, mask, colour, z, label_value) -> None:
    """Paint ``mask`` where it is nearer than what is there (z-buffer)."""
    visible = mask & (z < depth)
    rgb[visible] = colour[visible] if colour.ndim == 3 else colour
    depth[visible] = z
    labels[visible] = label_value


def draw_picture(
    objects: list[DrawnObject],
    *,
    height: int,
    width: int,
    horizontal_fov_deg: float,
    seed: int,
    backgrounds: list[Path] | None = None,
    n_distractors: int = 3,
) -> Picture:
    """Draw a scene's picture with its exact depth and object masks.

    Parameters
    ----------
    objects : list of DrawnObject
        The sounding objects (label values ``1..len(objects)`` in that order).
    height, width : int
        Picture size in pixels.
    horizontal_fov_deg : float
        The camera's horizontal field of view in degrees.
    seed : int
        Seed of everything random in the picture (background, distractors, textures).
    backgrounds : list of Path, optional
        Photographs to draw on instead of a drawn room.
    n_distractors : int
        Most silent objects (furniture) to add.

    Returns
    -------
    Picture
    """
    rng = np.random.default_rng(seed)
    # Every sounding object must be seen: the background and the silent furniture stand behind them all
    # (a sound with nothing to see teaches a network nothing about where to look).
    behind = 1.0 + max(
        (project(o.azimuth_deg, o.elevation_deg, o.distance_m, width, height, horizontal_fov_deg)[2] for o in objects),
        default=0.0,
    )
    if backgrounds:
        rgb, depth = _photo_background(backgrounds[int(rng.integers(len(backgrounds)))], rng, height, width, behind)
    else:
        rgb, depth = _room_background(rng, height, width, horizontal_fov_deg, behind)
    labels = np.zeros((height, width), dtype=np.uint8)
    f = focal_length_px(width, horizontal_fov_deg)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32) + 0.5

    # Silent furniture first: boxes standing on the floor behind the sounding objects.
    for _ in range(int(rng.integers(0, n_distractors + 1))):
        z = rng.uniform(max(2.0, behind - 0.5), max(10.0, behind + 4.0))
        half_w = f * rng.uniform(0.3, 1.2) / z
        top = height / 2.0 + f * (CAMERA_HEIGHT_M - rng.uniform(0.4, 2.0)) / z
        bottom = height / 2.0 + f * CAMERA_HEIGHT_M / z
        centre = rng.uniform(0, width)
        mask = (np.abs(xx - centre) <= half_w) & (yy >= top) & (yy <= bottom)
        colour = _hsv_to_rgb(rng.uniform(), rng.uniform(0.0, 0.3), rng.uniform(0.15, 0.8))
        _paint(rgb, depth, labels, mask, colour, z, 0)

    # Sounding objects, farthest first so that nearer ones hide them.
    order = sorted(range(len(objects)), key=lambda k: -objects[k].distance_m)
    for index in order:
        item = objects[index]
        u, v, z = project(item.azimuth_deg, item.elevation_deg, item.distance_m, width, height, horizontal_fov_deg)
        identity = class_identity(item.label)
        half_h = 0.5 * f * item.size_m / z
        half_w = half_h * identity["aspect"]
        uu, vv = (xx - u) / max(half_w, 0.5), (yy - v) / max(half_h, 0.5)
        mask = _shape_mask(int(identity["shape"]), uu, vv)
        base = _hsv_to_rgb(identity["hue"], identity["saturation"], rng.uniform(0.55, 0.95))
        texture = _texture(
            int(identity["texture"]),
            identity["texture_angle"],
            identity["texture_period"] * max(half_h / 12.0, 0.5),
            xx - u,
            yy - v,
            rng,
        )
        colour = np.clip(base[None, None, :] * texture[..., None], 0.0, 1.0)
        _paint(rgb, depth, labels, mask, colour, z, index + 1)

    rgb8 = (np.clip(rgb, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    return Picture(rgb=rgb8, depth_m=depth.astype(np.float32), labels=labels)
