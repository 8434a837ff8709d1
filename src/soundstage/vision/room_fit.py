"""A room from a depth point cloud: a shoebox around what the camera sees, or an open scene.

``--room auto`` turns the depth map's points (listener/camera frame: x forward along the
optical axis, y left, z up, metres, camera at the origin and level) into a shoebox with
:func:`fit_room`, or decides that the scene is outdoors. The rules, in order:

1. **Robust extents.** Every extent is a percentile of the points (2nd and 98th), never the
   minimum or maximum, so that a few flying pixels or outliers do not inflate the room.
2. **Surfaces seen.** A horizontal surface (floor, ceiling) is *seen* at a level when at least
   2 % of the points lie within a band around it (0.1 m, or 3 % of its distance if larger) and
   those points recede: they span at least 0.5 m of depth (x). A wall is seen the same way,
   its band points spanning 0.5 m across it (the far wall along y, the side walls along x). The
   top row of a wall is a band of points too, but it does not recede, so it is not taken for a
   ceiling. A seen surface's level is the median of its band's points (noise averages out).
3. **Floor and camera height.** The floor is the lowest points (2nd percentile of z). The
   camera's height above it is ``camera_height_m`` when given, else the seen floor's depth below
   the camera, else :data:`DEFAULT_CAMERA_HEIGHT_M`.
4. **Ceiling.** The highest points (98th percentile of z) when the ceiling is seen, else
   :data:`DEFAULT_CEILING_HEIGHT_M` above the floor, raised if visible points lie higher.
5. **Walls.** The far wall at the 98th percentile of x; the side walls at the 2nd/98th
   percentiles of y. A wall that is not seen is placed at the edge of what is visible (the room
   is at least that large). The wall behind the camera is never visible: it is put
   :func:`back_wall_distance_m` behind the listener (25 % of the visible depth, at least 0.5 m).
6. **Listener inside, sensible size.** Every wall is at least :data:`CLEARANCE_M` from the
   listener and every dimension at least :data:`MIN_DIMENSION_M` (grown symmetrically across,
   upward, or backward).

The scene is **open** (free field plus a ground reflection; the pipeline writes
``room: {ground: MATERIAL}`` with the listener at the camera height above the ground z = 0)
when any of: more than :data:`SKY_FRACTION_OPEN` of the image above the horizon is sky or has
no depth; the 98th percentile of depth lies beyond :data:`OPEN_FAR_DEPTH_M`; or no ceiling is
seen and the visible points reach farther than :data:`OPEN_NO_CEILING_DISTANCE_M` horizontally.
:class:`RoomFit`'s ``notes`` say which rule decided and what was seen. :func:`sky_share` measures
the sky in a picture (smooth, bright, blue or colourless, touching the top edge, and not near in
a measured depth map) for the first rule.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from soundstage.errors import ParameterError

#: Camera height above the floor in metres when the floor is not seen and none is given (standing eye height).
DEFAULT_CAMERA_HEIGHT_M = 1.6
#: Floor-to-ceiling height in metres when the ceiling is not seen.
DEFAULT_CEILING_HEIGHT_M = 2.7
#: Percentiles (low, high) taken as a cloud's robust extent along each axis.
EXTENT_PERCENTILES = (2.0, 98.0)
#: Share of the visible depth put behind the listener for the unseen back wall...
BACK_WALL_SHARE = 0.25
#: ...but never less than this many metres.
MIN_BACK_WALL_M = 0.5
#: Shortest room dimension in metres.
MIN_DIMENSION_M = 1.5
#: Least distance in metres from the listener to any wall, floor or ceiling.
CLEARANCE_M = 0.25
#: Share of the image above the horizon with sky or no depth beyond which the scene is open.
SKY_FRACTION_OPEN = 0.2
#: 98th percentile of depth (x) in metres beyond which the scene is open.
OPEN_FAR_DEPTH_M = 30.0
#: Horizontal reach in metres beyond which a scene with no ceiling in view is open.
OPEN_NO_CEILING_DISTANCE_M = 20.0
#: Fewest finite points a fit needs.
MIN_POINTS = 20
#: Half-width in metres of the band of points around a surface's level (at least)...
PLANE_BAND_M = 0.1
#: ...or this share of the level's distance from the camera, if larger (depth errors grow with distance).
PLANE_BAND_SHARE = 0.03
#: Share of all points a band must hold for its surface to count as seen.
PLANE_MIN_SHARE = 0.02
#: Spread in metres (5th to 95th percentile) the band's points must cover along the surface.
PLANE_MIN_SPREAD_M = 0.5
#: A floor (ceiling) must lie at least this many metres below (above) the camera to count as seen.
PLANE_MIN_OFFSET_M = 0.2

_SIZE_PATTERN = re.compile(r"^\s*([^x×*]+)[x×*]([^x×*]+)[x×*]([^x×*]+)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class RoomFit:
    """What :func:`fit_room` decided.

    Attributes
    ----------
    kind : str
        ``"shoebox"`` (walls around the listener) or ``"open"`` (free field plus the ground).
    size_m : np.ndarray, shape (3,), or None
        Shoebox size in metres along room x (the camera's forward direction), y (left) and z
        (up); None for an open scene.
    listener_position_m : np.ndarray, shape (3,)
        Where the camera/listener sits in room coordinates, so that
        ``room_xyz = listener_position_m + listener_frame_xyz``. In a shoebox the room's corner
        behind, right and below the listener is the origin; in an open scene the ground is
        z = 0 and the listener is at ``(0, 0, camera height)``.
    notes : tuple of str
        What was seen and which rules decided, for ``--explain``.
    """

    kind: str
    size_m: np.ndarray | None
    listener_position_m: np.ndarray
    notes: tuple[str, ...] = ()

    @property
    def camera_height_m(self) -> float:
        """Height of the camera/listener above the floor or ground in metres."""
        return float(self.listener_position_m[2])


def parse_room_option(value: str) -> str | tuple[float, float, float]:
    """Read the ``--room`` option.

    Parameters
    ----------
    value : str
        ``"auto"`` (fit to the depth), ``"none"`` (free field) or ``"XxYxZ"``: a shoebox size
        in metres in the scene file's order — length along the view (x), width (y), height (z).
        ``×`` or ``*`` may separate the numbers; case and surrounding spaces are ignored.

    Returns
    -------
    str or tuple of float
        ``"auto"``, ``"none"`` or the three lengths in metres.

    Raises
    ------
    ParameterError
        For anything else, or lengths that are not positive finite numbers.

    Examples
    --------
    >>> parse_room_option("Auto"), parse_room_option("none")
    ('auto', 'none')
    >>> parse_room_option("8x6x3")
    (8.0, 6.0, 3.0)
    >>> parse_room_option("4.5 × 3.2 × 2.6")
    (4.5, 3.2, 2.6)
    """
    text = str(value).strip().lower()
    if text in ("auto", "none"):
        return text
    match = _SIZE_PATTERN.match(text)
    if match is None:
        raise ParameterError(f"--room: expected auto, none or a size XxYxZ in metres (e.g. 8x6x3), got {value!r}")
    try:
        size = tuple(float(part) for part in match.groups())
    except ValueError:
        raise ParameterError(
            f"--room: {value!r} is not three numbers; give the size as XxYxZ in metres, e.g. 8x6x3"
        ) from None
    if not all(math.isfinite(v) and v > 0 for v in size):
        raise ParameterError(f"--room: room dimensions must be positive lengths in metres, got {value!r}")
    return size  # type: ignore[return-value]


def back_wall_distance_m(visible_depth_m: float) -> float:
    """Distance in metres from the listener to the unseen wall behind the camera.

    Parameters
    ----------
    visible_depth_m : float
        How far ahead the room is seen, in metres (the far wall's distance).

    Returns
    -------
    float
        :data:`BACK_WALL_SHARE` of ``visible_depth_m``, at least :data:`MIN_BACK_WALL_M`.

    Examples
    --------
    >>> back_wall_distance_m(8.0), back_wall_distance_m(1.0)
    (2.0, 0.5)
    """
    return max(MIN_BACK_WALL_M, BACK_WALL_SHARE * float(visible_depth_m))


def fit_room(
    points_m: np.ndarray,
    *,
    sky_fraction: float = 0.0,
    camera_height_m: float | None = None,
) -> RoomFit:
    """Fit a shoebox to a depth point cloud seen from inside, or call the scene open.

    The rules are in the module docstring.

    Parameters
    ----------
    points_m : np.ndarray, shape (N, 3)
        Points in the listener/camera frame in metres (x forward, y left, z up; camera at the
        origin, level). Rows with a NaN or infinity are ignored.
    sky_fraction : float, default 0
        Share in [0, 1] of the image above the horizon that is sky or has no depth.
    camera_height_m : float or None
        Height of the camera above the floor in metres, when known; else taken from the floor
        when it is seen, or :data:`DEFAULT_CAMERA_HEIGHT_M`.

    Returns
    -------
    RoomFit

    Raises
    ------
    ParameterError
        If ``points_m`` is not (N, 3), ``sky_fraction`` is outside [0, 1], ``camera_height_m``
        is not a positive length, or too few finite points are given for an indoor scene.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> floor = np.column_stack([rng.uniform(1, 60, 500), rng.uniform(-20, 20, 500), np.full(500, -1.5)])
    >>> fit = fit_room(floor)
    >>> fit.kind, fit.listener_position_m.tolist()
    ('open', [0.0, 0.0, 1.5])
    """
    points = np.asarray(points_m, dtype=float)
    if points.ndim != 2 or points.shape[1] != 3:
        raise ParameterError(f"room fit: points must have shape (N, 3) in metres, got shape {points.shape}")
    if not (math.isfinite(sky_fraction) and 0.0 <= sky_fraction <= 1.0):
        raise ParameterError(f"room fit: sky_fraction must be a share in [0, 1], got {sky_fraction!r}")
    if camera_height_m is not None and not (math.isfinite(camera_height_m) and camera_height_m > 0):
        raise ParameterError(f"room fit: camera_height_m must be a positive height in metres, got {camera_height_m!r}")
    points = points[np.all(np.isfinite(points), axis=1)]
    notes: list[str] = []
    lo_q, hi_q = EXTENT_PERCENTILES

    if sky_fraction > SKY_FRACTION_OPEN:
        notes.append(
            f"open scene: {100 * sky_fraction:.0f} % of the image above the horizon is sky or has no depth "
            f"(more than {100 * SKY_FRACTION_OPEN:.0f} %)"
        )
        return _open(points, camera_height_m, notes)
    if len(points) < MIN_POINTS:
        raise ParameterError(
            f"room fit: only {len(points)} points with depth (at least {MIN_POINTS} needed); "
            "give the room as --room XxYxZ or use --room none"
        )

    lo = np.percentile(points, lo_q, axis=0)
    hi = np.percentile(points, hi_q, axis=0)
    far_depth = float(hi[0])
    if far_depth > OPEN_FAR_DEPTH_M:
        notes.append(
            f"open scene: the far points are {far_depth:.1f} m away ({hi_q:g}th percentile of depth, "
            f"beyond {OPEN_FAR_DEPTH_M:g} m)"
        )
        return _open(points, camera_height_m, notes)

    ceiling = _plane_level(points, axis=2, level=float(hi[2]), spread_axis=0)
    if ceiling is not None and ceiling < PLANE_MIN_OFFSET_M:
        ceiling = None
    reach = float(np.percentile(np.hypot(points[:, 0], points[:, 1]), hi_q))
    if ceiling is None and reach > OPEN_NO_CEILING_DISTANCE_M:
        notes.append(
            f"open scene: no ceiling in view and the visible points reach {reach:.1f} m "
            f"(beyond {OPEN_NO_CEILING_DISTANCE_M:g} m)"
        )
        return _open(points, camera_height_m, notes)

    # Vertical: the floor fixes the camera height; the ceiling is seen, or a default above the floor.
    height_camera = _camera_height(points, float(lo[2]), camera_height_m, notes)
    floor_z = -height_camera
    if ceiling is not None:
        ceiling_z = ceiling
        notes.append(f"ceiling seen {ceiling_z:.2f} m above the camera")
    else:
        ceiling_z = max(floor_z + DEFAULT_CEILING_HEIGHT_M, float(hi[2]))
        notes.append(
            f"ceiling not seen: room height {ceiling_z - floor_z:.2f} m "
            f"(default {DEFAULT_CEILING_HEIGHT_M:g} m, raised to the highest visible points if above)"
        )
    ceiling_z = max(ceiling_z, CLEARANCE_M)

    # Horizontal: the far wall and the side walls from the percentiles, refined when seen.
    far = _wall(points, axis=0, level=far_depth, spread_axis=1, name="far wall", notes=notes)
    right = _wall(points, axis=1, level=float(lo[1]), spread_axis=0, name="right wall", notes=notes)
    left = _wall(points, axis=1, level=float(hi[1]), spread_axis=0, name="left wall", notes=notes)
    far = max(far, CLEARANCE_M)
    right, left = min(right, -CLEARANCE_M), max(left, CLEARANCE_M)
    behind = back_wall_distance_m(far)
    notes.append(
        f"back wall not visible: placed {behind:.2f} m behind the listener "
        f"({100 * BACK_WALL_SHARE:.0f} % of the visible depth, at least {MIN_BACK_WALL_M:g} m)"
    )

    # Minimum size: grow backward, symmetrically across, and upward.
    behind = max(behind, MIN_DIMENSION_M - far)
    deficit = MIN_DIMENSION_M - (left - right)
    if deficit > 0:
        left, right = left + deficit / 2, right - deficit / 2
    ceiling_z = max(ceiling_z, floor_z + MIN_DIMENSION_M)

    size = np.array([behind + far, left - right, ceiling_z - floor_z])
    listener = np.array([behind, -right, height_camera])
    notes.append(
        f"shoebox {size[0]:.2f} × {size[1]:.2f} × {size[2]:.2f} m, listener at "
        f"({listener[0]:.2f}, {listener[1]:.2f}, {listener[2]:.2f}) m in room coordinates"
    )
    return RoomFit("shoebox", size, listener, tuple(notes))


def _open(points: np.ndarray, camera_height_m: float | None, notes: list[str]) -> RoomFit:
    """An open scene: the listener at the camera height above the ground z = 0."""
    low = float(np.percentile(points[:, 2], EXTENT_PERCENTILES[0])) if len(points) >= MIN_POINTS else math.nan
    height = _camera_height(points, low, camera_height_m, notes)
    notes.append("rendered as free field plus a ground reflection")
    return RoomFit("open", None, np.array([0.0, 0.0, height]), tuple(notes))


def _camera_height(points: np.ndarray, low_z: float, camera_height_m: float | None, notes: list[str]) -> float:
    """Camera height above the floor: given, else from the seen floor, else the default."""
    floor = None
    if math.isfinite(low_z):
        floor = _plane_level(points, axis=2, level=low_z, spread_axis=0)
        if floor is not None and floor > -PLANE_MIN_OFFSET_M:
            floor = None
    if camera_height_m is not None:
        note = f"camera height {camera_height_m:.2f} m as given"
        if floor is not None and abs(-floor - camera_height_m) > 0.2:
            note += f" (the floor seen in the depth is {-floor:.2f} m below the camera)"
        notes.append(note)
        return float(camera_height_m)
    if floor is not None:
        notes.append(f"floor seen {-floor:.2f} m below the camera (camera height)")
        return -floor
    # Unseen floor: the default height, lowered below any visible point so they stay in the room.
    height = DEFAULT_CAMERA_HEIGHT_M if not math.isfinite(low_z) else max(DEFAULT_CAMERA_HEIGHT_M, -low_z)
    notes.append(f"floor not seen: camera height {height:.2f} m (default {DEFAULT_CAMERA_HEIGHT_M:g} m)")
    return height


def _wall(points: np.ndarray, *, axis: int, level: float, spread_axis: int, name: str, notes: list[str]) -> float:
    """A wall's coordinate: its seen level, else the percentile ``level`` (the edge of what is visible)."""
    seen = _plane_level(points, axis=axis, level=level, spread_axis=spread_axis)
    if seen is not None:
        notes.append(f"{name} seen at {abs(seen):.2f} m")
        return seen
    notes.append(f"{name} not seen: placed at the edge of the visible points, {abs(level):.2f} m")
    return level


def _plane_level(points: np.ndarray, *, axis: int, level: float, spread_axis: int) -> float | None:
    """The median level of a surface perpendicular to ``axis`` near ``level``, or None if it is not seen.

    Seen means enough points in a band around ``level`` that spread along ``spread_axis``
    (a floor recedes in depth; the top row of a wall does not).
    """
    band = max(PLANE_BAND_M, PLANE_BAND_SHARE * abs(level))
    near = points[np.abs(points[:, axis] - level) <= band]
    if len(near) < max(3, PLANE_MIN_SHARE * len(points)):
        return None
    p5, p95 = np.percentile(near[:, spread_axis], [5.0, 95.0])
    if p95 - p5 < PLANE_MIN_SPREAD_M:
        return None
    return float(np.median(near[:, axis]))


#: Depth in metres nearer than which a measured pixel cannot be sky.
SKY_MIN_DEPTH_M = 50.0


def sky_share(rgb: np.ndarray, z_m: np.ndarray | None = None) -> float:
    """Share of the image's upper half that looks like sky: bright, smooth, and blue or colourless.

    A pixel is a sky candidate when its local gradient is small (sky is smooth) and it is either
    blue-dominant and bright or nearly colourless and very bright (overcast); only candidates
    connected to the top edge of the image count (a white van in the middle is not sky). With a
    measured depth map, pixels with a depth nearer than :data:`SKY_MIN_DEPTH_M` are not sky (a
    white wall is smooth and bright too).

    Parameters
    ----------
    rgb : np.ndarray, shape (H, W, 3)
        Colour in [0, 1].
    z_m : np.ndarray or None, shape (H, W)
        Measured or estimated z-depth in metres (NaN where unknown), or None.

    Returns
    -------
    float
        In [0, 1].
    """
    upper = np.asarray(rgb[: max(rgb.shape[0] // 2, 1)], dtype=float)
    red, green, blue = upper[..., 0], upper[..., 1], upper[..., 2]
    value = upper.max(axis=-1)
    saturation = (value - upper.min(axis=-1)) / np.maximum(value, 1e-6)
    gradient = np.hypot(*np.gradient(upper.mean(axis=-1)))
    smooth = gradient < 0.02
    blue_sky = (blue >= red) & (blue >= green - 0.02) & (value > 0.45)
    overcast = (saturation < 0.12) & (value > 0.75)
    from scipy import ndimage

    candidate = smooth & (blue_sky | overcast)
    if z_m is not None:
        near = np.asarray(z_m[: upper.shape[0]], dtype=float)
        candidate &= ~(np.isfinite(near) & (near < SKY_MIN_DEPTH_M))
    labels, _ = ndimage.label(candidate)
    touching = np.unique(labels[0][labels[0] > 0])
    return float(np.mean(np.isin(labels, touching))) if len(touching) else 0.0
