"""An offline depth prior from geometry alone: a level camera above a flat ground.

With the camera at height ``h`` above a horizontal ground plane and its optical axis level, the
horizon is the image row of the principal point, ``cy``, and a ground pixel in row ``v`` below it
lies at z-depth::

    z = h · fy / (v − cy)

(the ray ``(1, ·, −(v − cy)/fy)`` scaled by ``z`` reaches ``−h``). Nothing is known above the
horizon — walls, objects, sky — so those pixels are NaN. An object standing on the ground is placed
by where it touches it (:func:`ground_contact_depth`): the bottom edge of its mask.

It needs no weights and is honest about its limits: it assumes a level camera at a guessed height
over flat ground, which is roughly right for photos taken at eye level in streets and rooms and wrong
for tilted, aerial or close-up pictures. The depth is therefore not marked metric.
"""

from __future__ import annotations

import math

import numpy as np

from soundstage.errors import ParameterError
from soundstage.vision.camera import PinholeCamera
from soundstage.vision.image import to_analysed
from soundstage.vision.stages import DepthBackend, DepthMap, LoadedImage

#: Eye height of a standing adult holding a phone, in metres.
DEFAULT_CAMERA_HEIGHT_M = 1.6


class GeometricDepth(DepthBackend):
    """Ground-plane depth below the horizon, unknown above it.

    Parameters
    ----------
    camera_height_m : float, default 1.6
        Height of the camera above the ground in metres.
    horizon_v : float or None
        Image row of the horizon in the **original** image's pixels (as measured on the photo);
        None puts it at the principal point (a level camera). A horizon off the centre stands for
        a slightly tilted camera (small-angle approximation).
    """

    name = "geometric"
    needs_weights = False

    def __init__(self, *, camera_height_m: float = DEFAULT_CAMERA_HEIGHT_M, horizon_v: float | None = None) -> None:
        self.camera_height_m = _check_height(camera_height_m)
        if horizon_v is not None and not math.isfinite(float(horizon_v)):
            raise ParameterError(f"horizon_v must be a finite image row in pixels, got {horizon_v!r}")
        self.horizon_v = None if horizon_v is None else float(horizon_v)

    def estimate(self, image: LoadedImage, *, horizontal_fov_deg: float) -> DepthMap:
        """Ground depth for ``image`` seen by a centred pinhole camera of the given horizontal FOV (degrees)."""
        camera = PinholeCamera.from_fov(image.width, image.height, horizontal_fov_deg)
        if self.horizon_v is None:
            horizon = camera.cy
            where = "at the image centre row"
        else:
            _, horizon = to_analysed(0.0, self.horizon_v, image)
            where = f"at row {self.horizon_v:g} of the original image"
        z_m = ground_plane_depth(camera, self.camera_height_m, horizon_v=horizon)
        notes = (
            f"geometric prior: ground plane at {self.camera_height_m:g} m below a level camera; objects are placed"
            " by where they touch the ground; no depth above the horizon",
            f"horizon {where}; {100.0 * np.mean(np.isfinite(z_m)):.0f}% of pixels are ground",
            "not metric: distances hold only as far as the camera is level at that height over flat ground",
        )
        return DepthMap(z_m=z_m, metric=False, backend=self.name, notes=notes)


def ground_plane_depth(camera: PinholeCamera, camera_height_m: float, *, horizon_v: float | None = None) -> np.ndarray:
    """z-depth of a flat ground below a level camera, per pixel.

    Parameters
    ----------
    camera : PinholeCamera
        The camera (its image size and ``fy``; the horizon defaults to ``cy``).
    camera_height_m : float
        Height above the ground in metres.
    horizon_v : float or None
        Horizon row in the camera's pixels; None means ``camera.cy``.

    Returns
    -------
    np.ndarray, shape (height, width), float32
        ``h · fy / (v − horizon)`` at pixel centres ``v = row + 0.5`` below the horizon, NaN on and above it.

    Examples
    --------
    >>> cam = PinholeCamera.from_fov(4, 4, 90.0)
    >>> ground_plane_depth(cam, 1.0)[:, 0].round(4)
    array([   nan,    nan, 4.    , 1.3333], dtype=float32)
    """
    height_m = _check_height(camera_height_m)
    horizon = camera.cy if horizon_v is None else float(horizon_v)
    rows = np.arange(camera.height) + 0.5
    below = rows - horizon
    with np.errstate(divide="ignore", invalid="ignore"):
        z_rows = np.where(below > 0.0, height_m * camera.fy / below, np.nan)
    return np.repeat(z_rows[:, None], camera.width, axis=1).astype(np.float32)


def ground_contact_depth(
    mask: np.ndarray, camera: PinholeCamera, camera_height_m: float, *, horizon_v: float | None = None
) -> float:
    """z-depth of a region standing on the ground, from where its bottom touches it.

    The contact line is the bottom edge of the mask's lowest row (``v = row + 1``), the point
    where the object meets the ground plane.

    Parameters
    ----------
    mask : np.ndarray, shape (H, W), bool
        The region in the camera's image.
    camera : PinholeCamera
        Camera of that image.
    camera_height_m : float
        Camera height above the ground in metres.
    horizon_v : float or None
        Horizon row in the camera's pixels; None means ``camera.cy``.

    Returns
    -------
    float
        z-depth in metres, NaN when the region's bottom is on or above the horizon (it does not
        touch the ground in view: a sign, a bird, a lamp).

    Examples
    --------
    >>> cam = PinholeCamera.from_fov(100, 100, 90.0)
    >>> mask = np.zeros((100, 100), bool); mask[40:74, 45:55] = True
    >>> round(ground_contact_depth(mask, cam, 1.6), 6)
    3.333333
    """
    height_m = _check_height(camera_height_m)
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != (camera.height, camera.width):
        raise ParameterError(
            f"region mask is {mask.shape[1]}×{mask.shape[0]} but the camera image is {camera.width}×{camera.height}"
        )
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        raise ParameterError("region mask is empty; a region needs at least one pixel")
    horizon = camera.cy if horizon_v is None else float(horizon_v)
    below = (rows[-1] + 1.0) - horizon
    return float(height_m * camera.fy / below) if below > 0.0 else math.nan


def _check_height(camera_height_m: float) -> float:
    value = float(camera_height_m)
    if not (math.isfinite(value) and value > 0.0):
        raise ParameterError(f"camera height must be a positive number of metres, got {camera_height_m!r}")
    return value
