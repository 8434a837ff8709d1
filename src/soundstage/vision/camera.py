"""The pinhole camera: pixels ↔ directions and 3-D points in the listener frame.

The camera sits at the listener's head and looks along the listener's **x** axis (forward), so an
image column to the right of the principal point is a direction to the listener's right
(negative **y**, negative azimuth) and a row below it is a direction downwards (negative **z**).
With focal lengths ``fx``, ``fy`` and principal point ``(cx, cy)`` in pixels, the pixel ``(u, v)``
at z-depth ``z`` (metres along the optical axis, as RGB-D cameras write depth) is the point::

    p = z · (1, −(u − cx) / fx, −(v − cy) / fy)

Intrinsics come from, in order of preference (:func:`camera_for`): a horizontal field of view the
user gives, the EXIF 35 mm-equivalent focal length of the photo, or
:data:`DEFAULT_HORIZONTAL_FOV_DEG`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from soundstage.conventions import cartesian_to_spherical
from soundstage.errors import ParameterError
from soundstage.vision.stages import LoadedImage

#: Horizontal field of view (degrees) assumed when neither ``--fov`` nor EXIF says: a phone's main
#: camera is a 24-28 mm-equivalent lens, i.e. about 62-71° across a 4:3 picture; 65° sits in the middle.
DEFAULT_HORIZONTAL_FOV_DEG = 65.0
#: Fields of view a pinhole photo can have, in degrees: a 1° super-telephoto to a 179° near-fisheye.
#: Outside, the camera model is meaningless (a 1e-9° view would put everything millions of km away).
MIN_FOV_DEG, MAX_FOV_DEG = 1.0, 179.0

#: Half the diagonal of a 36 × 24 mm film frame, in mm: "35 mm-equivalent" focal lengths are defined on it.
HALF_DIAGONAL_35MM = 0.5 * math.hypot(36.0, 24.0)


@dataclass(frozen=True)
class PinholeCamera:
    """An ideal pinhole camera over the analysed image (no lens distortion, no skew).

    Attributes
    ----------
    width, height : int
        Image size in pixels (of the analysed image).
    fx, fy : float
        Focal lengths in pixels (equal for square pixels).
    cx, cy : float
        Principal point in pixels, same coordinates as ``(u, v)`` (pixel centres at ``i + 0.5``).

    Examples
    --------
    >>> cam = PinholeCamera.from_fov(640, 480, 90.0)
    >>> round(cam.fx, 6), cam.cx, cam.cy
    (320.0, 320.0, 240.0)
    >>> cam.lift(640.0, 240.0, 2.0).round(6)
    array([ 2., -2.,  0.])
    """

    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float

    def __post_init__(self) -> None:
        if int(self.width) < 1 or int(self.height) < 1:
            raise ParameterError(f"camera image size must be positive, got {self.width}×{self.height} pixels")
        for field_name in ("fx", "fy"):
            value = float(getattr(self, field_name))
            if not (math.isfinite(value) and value > 0.0):
                raise ParameterError(f"camera focal length {field_name} must be positive (pixels), got {value}")
        for field_name in ("cx", "cy"):
            if not math.isfinite(float(getattr(self, field_name))):
                raise ParameterError(f"camera principal point {field_name} must be finite")

    @classmethod
    def from_fov(cls, width: int, height: int, horizontal_fov_deg: float) -> PinholeCamera:
        """A camera with square pixels and the principal point at the image centre.

        Parameters
        ----------
        width, height : int
            Image size in pixels.
        horizontal_fov_deg : float
            Angle between the left and right image edges, in degrees, in (0, 180).
        """
        fov = float(horizontal_fov_deg)
        if not (MIN_FOV_DEG <= fov <= MAX_FOV_DEG):
            raise ParameterError(
                f"horizontal field of view must be between {MIN_FOV_DEG:g} and {MAX_FOV_DEG:g} degrees (--fov), "
                f"got {fov:g}"
            )
        fx = (width / 2.0) / math.tan(math.radians(fov) / 2.0)
        return cls(int(width), int(height), fx, fx, width / 2.0, height / 2.0)

    @classmethod
    def from_focal_35mm(cls, width: int, height: int, focal_35mm: float) -> PinholeCamera:
        """A camera from a 35 mm-equivalent focal length (EXIF FocalLengthIn35mmFilm).

        The equivalence is defined on the diagonal: the image diagonal sees the same angle as the
        43.27 mm diagonal of a 36 × 24 mm frame behind a lens of ``focal_35mm``, i.e. a diagonal
        field of view of ``2 atan(21.635 / focal_35mm)``. The horizontal field of view then follows
        from the image's aspect ratio: ``tan(h / 2) = width / diagonal · 21.635 / focal_35mm``.
        For a 26 mm-equivalent lens (a typical phone) on a 4:3 image this is 67.3° horizontally
        (79.5° diagonally); on 3:2 it is 69.4°, as on film.

        Parameters
        ----------
        width, height : int
            Image size in pixels.
        focal_35mm : float
            35 mm-equivalent focal length in mm (> 0).
        """
        focal = float(focal_35mm)
        if not (math.isfinite(focal) and focal > 0.0):
            raise ParameterError(f"35 mm-equivalent focal length must be positive (mm), got {focal_35mm!r}")
        # Square pixels: the focal length in pixels scales the half-diagonal in pixels like 21.635 mm to f.
        f_px = 0.5 * math.hypot(width, height) * focal / HALF_DIAGONAL_35MM
        return cls(int(width), int(height), f_px, f_px, width / 2.0, height / 2.0)

    @property
    def horizontal_fov_deg(self) -> float:
        """Angle between the left and right image edges, in degrees (principal point centred)."""
        return math.degrees(2.0 * math.atan(self.width / (2.0 * self.fx)))

    @property
    def vertical_fov_deg(self) -> float:
        """Angle between the top and bottom image edges, in degrees (principal point centred)."""
        return math.degrees(2.0 * math.atan(self.height / (2.0 * self.fy)))

    def _ray_directions(self, u: np.ndarray | float, v: np.ndarray | float) -> np.ndarray:
        """Unnormalised rays ``(1, −(u − cx)/fx, −(v − cy)/fy)``: x is exactly 1, so scaling by z-depth lifts."""
        u_arr, v_arr = np.broadcast_arrays(np.asarray(u, dtype=float), np.asarray(v, dtype=float))
        # (cx - u) rather than -(u - cx): the same number without a -0.0 on the axis.
        return np.stack([np.ones_like(u_arr), (self.cx - u_arr) / self.fx, (self.cy - v_arr) / self.fy], axis=-1)

    def rays(self, u: np.ndarray | float, v: np.ndarray | float) -> np.ndarray:
        """Unit directions through pixel positions, in the listener frame.

        Parameters
        ----------
        u, v : float or np.ndarray
            Pixel coordinates (column right, row down; broadcast together).

        Returns
        -------
        np.ndarray, shape (..., 3)
            Unit vectors, x forward (optical axis), y left, z up.
        """
        directions = self._ray_directions(u, v)
        return directions / np.linalg.norm(directions, axis=-1, keepdims=True)

    def lift(self, u: np.ndarray | float, v: np.ndarray | float, z_depth_m: np.ndarray | float) -> np.ndarray:
        """3-D points of pixels at given z-depths.

        Parameters
        ----------
        u, v : float or np.ndarray
            Pixel coordinates.
        z_depth_m : float or np.ndarray
            Depth along the optical axis in metres (not the distance along the ray); NaN stays NaN.

        Returns
        -------
        np.ndarray, shape (..., 3)
            Points in metres in the listener frame (for N pixels, shape (N, 3)).
        """
        z = np.asarray(z_depth_m, dtype=float)
        directions = self._ray_directions(u, v)
        return directions * z[..., None]

    def project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pixel coordinates of 3-D points (the inverse of :meth:`lift`).

        Parameters
        ----------
        points : np.ndarray, shape (..., 3)
            Points in metres in the listener frame.

        Returns
        -------
        u, v : np.ndarray, shape (...)
            Pixel coordinates; NaN for points not in front of the camera (x <= 0).
        """
        points = np.asarray(points, dtype=float)
        if points.shape[-1:] != (3,):
            raise ParameterError(f"points must have shape (..., 3), got {points.shape}")
        x = points[..., 0]
        with np.errstate(divide="ignore", invalid="ignore"):
            front = np.where(x > 0.0, x, np.nan)
            u = self.cx - self.fx * points[..., 1] / front
            v = self.cy - self.fy * points[..., 2] / front
        return u, v

    def direction_deg(self, u: np.ndarray | float, v: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
        """Azimuth and elevation in degrees of the rays through pixel positions.

        Azimuth is positive to the left (so columns right of the principal point are negative),
        elevation positive upwards, as in :mod:`soundstage.conventions`.

        Returns
        -------
        azimuth_deg, elevation_deg : np.ndarray, shape (...)

        Examples
        --------
        >>> cam = PinholeCamera.from_fov(200, 100, 90.0)
        >>> az, el = cam.direction_deg(200.0, 50.0)
        >>> round(float(az), 6), round(float(el), 6)
        (-45.0, 0.0)
        """
        azimuth, elevation, _ = cartesian_to_spherical(self._ray_directions(u, v))
        return azimuth, elevation


def camera_for(image: LoadedImage, fov_deg: float | None = None) -> tuple[PinholeCamera, str]:
    """The camera of a loaded image, and a sentence saying how its intrinsics were chosen.

    Order of preference: an explicit horizontal field of view (``--fov``), the EXIF 35 mm-equivalent
    focal length, then :data:`DEFAULT_HORIZONTAL_FOV_DEG`. The camera is built over the analysed
    image (``image.rgb``); angles do not change with downscaling.

    Parameters
    ----------
    image : LoadedImage
        The analysed image.
    fov_deg : float or None
        Horizontal field of view in degrees, when the user knows it.

    Returns
    -------
    camera : PinholeCamera
    note : str
        How it was chosen, for ``--explain``.
    """
    width, height = image.width, image.height
    if fov_deg is not None:
        camera = PinholeCamera.from_fov(width, height, fov_deg)
        return camera, f"horizontal field of view {float(fov_deg):g}° as given (--fov)"
    if image.exif_focal_35mm is not None:
        camera = PinholeCamera.from_focal_35mm(width, height, image.exif_focal_35mm)
        return camera, (
            f"EXIF 35 mm-equivalent focal length {image.exif_focal_35mm:g} mm: horizontal field of view"
            f" {camera.horizontal_fov_deg:.1f}°"
        )
    camera = PinholeCamera.from_fov(width, height, DEFAULT_HORIZONTAL_FOV_DEG)
    return camera, (
        f"no --fov and no EXIF focal length: assumed a {DEFAULT_HORIZONTAL_FOV_DEG:g}° horizontal field of view"
        " (a phone's main camera); pass --fov for accurate directions"
    )
