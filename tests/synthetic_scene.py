"""A synthetic pinhole scene the tests ray-cast themselves: exact z-depth, object ids and a colour image.

A level camera 1.6 m above a floor looks along +x at a wall 9 m away; three cards face it (one
standing on the floor, one wholly above eye level) and a sphere sits on the left of the floor.
Because every depth is known exactly, lifted positions can be checked against the truth.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

from soundstage.vision.camera import PinholeCamera

FOV_DEG = 70.0
CAMERA_HEIGHT_M = 1.6
WALL_X = 9.0


@dataclass(frozen=True)
class Card:
    """A rectangle facing the camera: plane x = centre[0], half sizes along y and z."""

    centre: tuple[float, float, float]
    half_y: float
    half_z: float


CARDS = (
    Card((4.0, 1.2, -0.6), 0.4, 0.5),  # left, below eye level
    Card((6.0, -1.5, 0.8), 0.5, 0.4),  # right, wholly above eye level (does not touch the floor)
    Card((5.0, 0.2, -1.1), 0.3, 0.5),  # standing on the floor: bottom edge at z = -1.6
)
SPHERE_CENTRE = np.array([3.0, -0.4, -1.0])
SPHERE_RADIUS = 0.45
FLOOR, WALL, SPHERE = 0, 1, 2  # ids in the rendered label map; cards are 3, 4, 5


def render(width: int, height: int, fov_deg: float = FOV_DEG) -> tuple[np.ndarray, np.ndarray, PinholeCamera]:
    """Ray-cast the scene: exact z-depth (H, W) in metres and an object-id map (H, W)."""
    fx = (width / 2.0) / math.tan(math.radians(fov_deg) / 2.0)
    camera = PinholeCamera(width, height, fx, fx, width / 2.0, height / 2.0)
    u, v = np.meshgrid(np.arange(width) + 0.5, np.arange(height) + 0.5)
    # Ray with unit forward component, written out here from the pinhole model: t along it is z-depth.
    d = np.stack([np.ones_like(u), -(u - camera.cx) / fx, -(v - camera.cy) / fx], axis=-1)
    depth = np.full((height, width), WALL_X)
    ids = np.full((height, width), WALL)
    with np.errstate(divide="ignore", invalid="ignore"):
        t_floor = np.where(d[..., 2] < 0, -CAMERA_HEIGHT_M / d[..., 2], np.inf)
    nearer(depth, ids, t_floor, FLOOR)
    # Sphere: |t d - c|^2 = r^2, nearest root.
    a = np.sum(d * d, axis=-1)
    b = -2.0 * d @ SPHERE_CENTRE
    c = SPHERE_CENTRE @ SPHERE_CENTRE - SPHERE_RADIUS**2
    disc = b * b - 4 * a * c
    with np.errstate(invalid="ignore"):
        t_sphere = np.where(disc >= 0, (-b - np.sqrt(disc)) / (2 * a), np.inf)
    nearer(depth, ids, t_sphere, SPHERE)
    for index, card in enumerate(CARDS):
        x0, y0, z0 = card.centre
        hit = (np.abs(x0 * d[..., 1] - y0) <= card.half_y) & (np.abs(x0 * d[..., 2] - z0) <= card.half_z)
        nearer(depth, ids, np.where(hit, x0, np.inf), 3 + index)
    return depth, ids, camera


def nearer(depth: np.ndarray, ids: np.ndarray, t: np.ndarray, label: int) -> None:
    closer = (t > 0) & (t < depth)
    depth[closer] = t[closer]
    ids[closer] = label


def save_scene_files(tmp_path, width: int, height: int):
    """Colour PNG, 16-bit depth PNG in mm and NPY in m of the rendered scene."""
    depth, ids, camera = render(width, height)
    palette = np.array([[120, 110, 90], [200, 200, 190], [200, 40, 40], [40, 160, 40], [40, 40, 200], [220, 180, 0]])
    Image.fromarray(palette[ids].astype(np.uint8)).save(tmp_path / "scene.png")
    Image.fromarray(np.round(depth * 1000.0).astype(np.uint16)).save(tmp_path / "depth.png")
    np.save(tmp_path / "depth.npy", depth.astype(np.float32))
    return depth, ids, camera
