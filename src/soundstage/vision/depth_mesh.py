"""Triangle meshes from a depth map: the visible surface, and a closed room for acoustics.

A depth map seen through a pinhole camera is a surface: every sampled pixel, lifted to 3-D at
its depth, is a vertex, and neighbouring pixels make two triangles per grid cell. The grid is
decimated by a stride chosen so that the mesh has at most ``max_triangles`` triangles (pixels
are sampled, not averaged, so every vertex is a measured point).

* :func:`visible_surface` is that surface for viewing: triangles with a NaN corner are dropped,
  and so are triangles across depth discontinuities (the largest depth of their corners more
  than ``1 + depth_jump`` times the smallest), which would otherwise stretch a curtain from a
  foreground object to the wall behind it. It is open and may have holes.
* :func:`closed_room_mesh` is a watertight room usable as a mesh room
  (:func:`soundstage.acoustics.room.mesh.load_mesh_room`). Unknown depths are filled with the
  nearest known depth and discontinuities are kept (an occluding object's silhouette becomes a
  steep face joining it to what lies behind — the camera cannot see behind it), so the surface
  is one continuous sheet over the camera's view. Every boundary edge of that sheet is then
  joined to one point behind the listener (on the ray opposite the image centre,
  :func:`~soundstage.vision.room_fit.back_wall_distance_m` away), closing the room behind the
  camera with a fan of triangles. Every ray from the listener crosses this surface exactly once
  (the sheet covers the view, the fan everything else), so the mesh is closed, does not cross
  itself, encloses the listener, and is wound consistently (outward, positive volume).

Coordinates are the listener/camera frame (x forward along the optical axis, y left, z up,
metres), with the listener at the origin facing +x: a scene using the closed mesh as its room
puts ``listener.position`` at (0, 0, 0) and its sources at their listener-frame positions.

A pixel ``(u, v)`` (pixel centres at ``i + 0.5``) at z-depth ``z`` lifts to
``(z, -(u - cx) z / fx, -(v - cy) z / fy)``: right in the image is -y, down is -z.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from soundstage.errors import ParameterError

if TYPE_CHECKING:
    import trimesh

    from soundstage.vision.camera import PinholeCamera

#: File types :func:`export_mesh` writes (those :func:`~soundstage.acoustics.room.mesh.load_mesh_room` reads).
EXPORT_TYPES = ("ply", "obj", "stl", "off", "glb")


def visible_surface(
    z_m: np.ndarray,
    camera: PinholeCamera,
    *,
    max_triangles: int = 20000,
    depth_jump: float = 0.1,
) -> trimesh.Trimesh:
    """The surface the camera sees, as an open triangle mesh (for viewing).

    Parameters
    ----------
    z_m : np.ndarray, shape (H, W)
        Depth along the optical axis in metres; NaN (or ≤ 0) where unknown.
    camera : PinholeCamera
        The camera that saw it (its ``width`` and ``height`` must be W and H).
    max_triangles : int, default 20000
        Most triangles before dropping any: the pixel grid is sampled with the smallest stride
        that keeps within it (the first and last rows and columns are always kept).
    depth_jump : float, default 0.1
        A triangle whose largest corner depth exceeds its smallest by more than this share is
        across a depth discontinuity and dropped.

    Returns
    -------
    trimesh.Trimesh
        Vertices (listener frame, metres; only those used) and triangles, wound so that their
        normals face away from the camera.

    Raises
    ------
    ParameterError
        For a depth map that is not 2-D of at least 2 × 2 pixels or does not match the camera,
        a ``max_triangles`` below 2, a negative ``depth_jump``, or no valid depth at all.
    """
    import trimesh

    z = _checked_depth(z_m, camera)
    if not (math.isfinite(depth_jump) and depth_jump >= 0):
        raise ParameterError(f"depth mesh: depth_jump must be a share ≥ 0 (e.g. 0.1), got {depth_jump!r}")
    rows, cols = _grid(z.shape, max_triangles, closed=False)
    vertices, triangles, depth = _sheet(z, camera, rows, cols)
    corner_depth = depth[triangles]
    keep = np.all(np.isfinite(corner_depth), axis=1)
    with np.errstate(invalid="ignore"):
        keep &= np.max(corner_depth, axis=1) <= (1.0 + depth_jump) * np.min(corner_depth, axis=1)
    triangles = triangles[keep]
    if not len(triangles):
        raise ParameterError(
            "depth mesh: no triangle has valid, continuous depth at all three corners; "
            "check the depth map (all NaN?) or raise depth_jump"
        )
    used, triangles = np.unique(triangles, return_inverse=True)
    return trimesh.Trimesh(vertices[used], triangles.reshape(-1, 3), process=False)


def closed_room_mesh(
    z_m: np.ndarray,
    camera: PinholeCamera,
    *,
    max_triangles: int = 20000,
    back_distance_m: float | None = None,
) -> trimesh.Trimesh:
    """A watertight room mesh from a depth map, enclosing the listener at the origin.

    The depth surface (unknown depths filled with the nearest known one) closed behind the
    camera by a fan of triangles to one point ``back_distance_m`` behind the listener; see the
    module docstring for why it is closed and free of self-intersections.

    Parameters
    ----------
    z_m : np.ndarray, shape (H, W)
        Depth along the optical axis in metres; NaN (or ≤ 0) where unknown.
    camera : PinholeCamera
        The camera that saw it (its ``width`` and ``height`` must be W and H).
    max_triangles : int, default 20000
        Most triangles in all (depth surface plus closing fan). Note that image-source
        reflections of order 2 scale with the square of the number of distinct planes, so an
        acoustic room from a noisy depth map wants a few hundred to a few thousand triangles.
    back_distance_m : float or None
        Distance in metres from the listener to the closing point behind it; None:
        :func:`~soundstage.vision.room_fit.back_wall_distance_m` of the 98th percentile depth.

    Returns
    -------
    trimesh.Trimesh
        Watertight, consistently wound outward (positive volume), in the listener frame with
        the listener at the origin, inside.

    Raises
    ------
    ParameterError
        For a depth map that is not 2-D of at least 2 × 2 pixels, does not match the camera or
        has no valid depth, a ``max_triangles`` below 6, or a non-positive ``back_distance_m``.
    """
    import trimesh
    from scipy.ndimage import distance_transform_edt

    from soundstage.vision.room_fit import back_wall_distance_m

    z = _checked_depth(z_m, camera)
    valid = np.isfinite(z)
    if not np.any(valid):
        raise ParameterError("depth mesh: the depth map has no valid depth (all NaN or ≤ 0); give another depth map")
    if back_distance_m is None:
        back_distance_m = back_wall_distance_m(float(np.percentile(z[valid], 98.0)))
    if not (math.isfinite(back_distance_m) and back_distance_m > 0):
        raise ParameterError(
            f"depth mesh: back_distance_m must be a positive distance in metres, got {back_distance_m!r}"
        )
    if not np.all(valid):
        # Nearest known depth for each unknown pixel: keeps the sheet continuous over the view.
        nearest = distance_transform_edt(~valid, return_distances=False, return_indices=True)
        z = z[tuple(nearest)]
    rows, cols = _grid(z.shape, max_triangles, closed=True)
    vertices, triangles, _ = _sheet(z, camera, rows, cols)

    # The sheet's boundary: directed edges whose reverse no triangle uses. Each becomes a fan
    # triangle to the back point traversing the edge the other way, so the winding stays consistent.
    directed = triangles[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2)
    key = directed[:, 0] * len(vertices) + directed[:, 1]
    reverse = directed[:, 1] * len(vertices) + directed[:, 0]
    boundary = directed[~np.isin(key, reverse)]
    centre = np.array([1.0, -(camera.width / 2 - camera.cx) / camera.fx, -(camera.height / 2 - camera.cy) / camera.fy])
    back_point = -back_distance_m * centre / np.linalg.norm(centre)
    apex = len(vertices)
    fan = np.column_stack([boundary[:, 1], boundary[:, 0], np.full(len(boundary), apex)])
    mesh = trimesh.Trimesh(np.vstack([vertices, back_point]), np.vstack([triangles, fan]), process=False)
    return mesh


def mesh_from_depth(
    z_m: np.ndarray,
    camera: PinholeCamera,
    *,
    max_triangles: int = 20000,
    depth_jump: float = 0.1,
    closed: bool = True,
) -> trimesh.Trimesh:
    """A triangle mesh of a depth map: the closed room (default) or the visible surface.

    Parameters
    ----------
    z_m : np.ndarray, shape (H, W)
        Depth along the optical axis in metres; NaN where unknown.
    camera : PinholeCamera
        The camera that saw it.
    max_triangles : int, default 20000
        Most triangles.
    depth_jump : float, default 0.1
        Relative depth jump that breaks the visible surface (used when ``closed`` is False).
    closed : bool, default True
        True: :func:`closed_room_mesh` (watertight, for a mesh room); False:
        :func:`visible_surface` (open, for viewing).

    Returns
    -------
    trimesh.Trimesh
        In the listener frame (x forward, y left, z up, metres), listener at the origin.
    """
    if closed:
        return closed_room_mesh(z_m, camera, max_triangles=max_triangles)
    return visible_surface(z_m, camera, max_triangles=max_triangles, depth_jump=depth_jump)


def export_mesh(mesh: trimesh.Trimesh, path: str | Path, *, overwrite: bool = False) -> Path:
    """Write a mesh atomically, as PLY (or OBJ, STL, OFF, GLB by the file's suffix).

    Parameters
    ----------
    mesh : trimesh.Trimesh
        The mesh.
    path : str or Path
        Output file; its suffix chooses the format (one of :data:`EXPORT_TYPES`).
    overwrite : bool, default False
        Replace an existing file.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ParameterError
        For a suffix that is not a mesh format this package reads back.
    OutputError
        If the file exists (without ``overwrite``) or cannot be written.
    """
    from soundstage.io.atomic import atomic_write

    path = Path(path)
    file_type = path.suffix.lower().lstrip(".")
    if file_type not in EXPORT_TYPES:
        raise ParameterError(
            f"{path}: cannot write a mesh as {path.suffix or 'a file without a suffix'}; "
            f"name it .{' or .'.join(EXPORT_TYPES)}"
        )
    with atomic_write(path, overwrite=overwrite) as temporary:
        data = mesh.export(file_type=file_type)
        if isinstance(data, str):
            data = data.encode("utf-8")
        temporary.write_bytes(data)
    return path


def _checked_depth(z_m: np.ndarray, camera: PinholeCamera) -> np.ndarray:
    """The depth map as float, with ≤ 0 and infinities as NaN; raises on bad shapes."""
    z = np.array(z_m, dtype=float)
    if z.ndim != 2 or min(z.shape) < 2:
        raise ParameterError(f"depth mesh: depth map must be 2-D of at least 2 × 2 pixels, got shape {z.shape}")
    if (int(camera.height), int(camera.width)) != z.shape:
        raise ParameterError(
            f"depth mesh: depth map is {z.shape[1]}×{z.shape[0]} px but the camera is "
            f"{int(camera.width)}×{int(camera.height)} px; give the camera of this depth map"
        )
    with np.errstate(invalid="ignore"):
        z[~(np.isfinite(z) & (z > 0))] = np.nan
    return z


def _samples(n: int, stride: int) -> np.ndarray:
    """Indices 0, stride, 2 stride, ... and always the last, n - 1."""
    return np.unique(np.append(np.arange(0, n, stride), n - 1))


def _grid(shape: tuple[int, int], max_triangles: int, *, closed: bool) -> tuple[np.ndarray, np.ndarray]:
    """Sampled rows and columns: the smallest stride whose mesh has at most ``max_triangles``."""
    least = 6 if closed else 2
    if not (isinstance(max_triangles, int | np.integer) and max_triangles >= least):
        raise ParameterError(f"depth mesh: max_triangles must be an integer ≥ {least}, got {max_triangles!r}")

    def count(stride: int) -> int:
        nr, nc = len(_samples(shape[0], stride)), len(_samples(shape[1], stride))
        # Two triangles per cell; a closed mesh adds one fan triangle per boundary edge.
        return 2 * (nr - 1) * (nc - 1) + (2 * (nr - 1) + 2 * (nc - 1) if closed else 0)

    stride = max(1, math.floor(math.sqrt(2.0 * shape[0] * shape[1] / max_triangles)))
    while stride > 1 and count(stride - 1) <= max_triangles:
        stride -= 1
    while count(stride) > max_triangles:
        stride += 1
    return _samples(shape[0], stride), _samples(shape[1], stride)


def _sheet(
    z: np.ndarray, camera: PinholeCamera, rows: np.ndarray, cols: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vertices (V, 3), grid triangles (T, 3) and vertex depths (V,) of the sampled pixels."""
    v, u = np.meshgrid(rows + 0.5, cols + 0.5, indexing="ij")
    depth = z[np.ix_(rows, cols)]
    vertices = np.asarray(camera.lift(u.ravel(), v.ravel(), depth.ravel()), dtype=float)
    index = np.arange(len(rows) * len(cols)).reshape(len(rows), len(cols))
    top_left, top_right = index[:-1, :-1].ravel(), index[:-1, 1:].ravel()
    bottom_left, bottom_right = index[1:, :-1].ravel(), index[1:, 1:].ravel()
    # (here, right, below) turns from -y to -z: normal +x, away from the camera.
    triangles = np.concatenate(
        [
            np.column_stack([top_left, top_right, bottom_left]),
            np.column_stack([top_right, bottom_right, bottom_left]),
        ]
    )
    return vertices, triangles, depth.ravel()
