"""Tests of meshes from depth maps: the visible surface and the closed room for acoustics.

The depth maps are exact z-depths of known planes seen by a level pinhole camera (65° horizontal
field of view): a wall 4 m ahead, a floor 1.5 m below, and a panel 2 m ahead in front of part of
the wall. Every vertex must lie on one of those planes; the closed mesh must be a room that
:func:`load_mesh_room` accepts, with the listener (the camera) inside.
"""

from __future__ import annotations

import numpy as np
import pytest

from soundstage.acoustics.room.mesh import load_mesh_room
from soundstage.errors import OutputError, ParameterError
from soundstage.vision.camera import PinholeCamera
from soundstage.vision.depth_mesh import (
    closed_room_mesh,
    export_mesh,
    mesh_from_depth,
    visible_surface,
)
from soundstage.vision.room_fit import back_wall_distance_m

trimesh = pytest.importorskip("trimesh")

WALL_M, FLOOR_M, PANEL_M = 4.0, 1.5, 2.0
PANEL_ROWS, PANEL_COLS = slice(10, 25), slice(20, 45)


def make_camera(width: int = 80, height: int = 60, fov_deg: float = 65.0) -> PinholeCamera:
    return PinholeCamera.from_fov(width, height, fov_deg)


def wall_and_floor(camera: PinholeCamera, *, panel: bool = False) -> np.ndarray:
    """Exact z-depth (H, W) of a wall at x = 4 m and a floor at z = -1.5 m (and a panel at x = 2 m)."""
    v = np.arange(camera.height) + 0.5
    down = (v - camera.cy) / camera.fy  # how far down per metre of depth
    with np.errstate(divide="ignore"):
        floor = np.where(down > 0, FLOOR_M / down, np.inf)
    z = np.repeat(np.minimum(WALL_M, floor)[:, None], camera.width, axis=1)
    if panel:
        z[PANEL_ROWS, PANEL_COLS] = PANEL_M
    return z


def on_planes(vertices: np.ndarray, planes: list[tuple[int, float]]) -> np.ndarray:
    """Whether each vertex lies (1e-6 relative) on one of the planes ``x[axis] = value``."""
    hits = [np.abs(vertices[:, axis] - value) <= 1e-6 * abs(value) for axis, value in planes]
    return np.any(hits, axis=0)


def test_the_closed_mesh_of_a_flat_view_is_watertight():
    mesh = closed_room_mesh(np.full((60, 80), 3.0), make_camera(), max_triangles=300)
    assert mesh.is_watertight


def test_visible_surface_lies_on_the_planes_and_breaks_at_discontinuities():
    camera = make_camera()
    z = wall_and_floor(camera, panel=True)
    z[50, 5] = np.nan  # a missing pixel: its vertex and triangles go
    surface = visible_surface(z, camera, max_triangles=10**6)  # stride 1: every pixel a vertex
    vertices, faces = np.asarray(surface.vertices), np.asarray(surface.faces)
    assert np.all(on_planes(vertices, [(0, WALL_M), (2, -FLOOR_M), (0, PANEL_M)]))
    assert len(vertices) == camera.width * camera.height - 1

    # Independent count: a grid cell's triangle is dropped when its pixels mix panel and not
    # panel, or touch the missing pixel; the wall–floor crease is continuous and kept.
    panel = np.zeros(z.shape, bool)
    panel[PANEL_ROWS, PANEL_COLS] = True
    missing = np.isnan(z)
    keep = 0
    for tri in ([(0, 0), (0, 1), (1, 0)], [(0, 1), (1, 1), (1, 0)]):
        corners_panel = [panel[r : r + camera.height - 1, c : c + camera.width - 1] for r, c in tri]
        corners_missing = [missing[r : r + camera.height - 1, c : c + camera.width - 1] for r, c in tri]
        mixed = np.any(corners_panel, axis=0) & ~np.all(corners_panel, axis=0)
        keep += int(np.sum(~mixed & ~np.any(corners_missing, axis=0)))
    assert len(faces) == keep

    corners = vertices[faces]
    on_panel = np.abs(corners[..., 0] - PANEL_M) <= 1e-6 * PANEL_M
    assert not np.any(np.any(on_panel, axis=1) & ~np.all(on_panel, axis=1))
    on_floor = np.abs(corners[..., 2] + FLOOR_M) <= 1e-6 * FLOOR_M
    on_wall = np.abs(corners[..., 0] - WALL_M) <= 1e-6 * WALL_M
    assert np.any(np.any(on_floor, axis=1) & np.any(on_wall & ~on_floor, axis=1))  # the crease
    # Normals face away from the camera: the wall's +x, the floor's -z.
    normals = np.asarray(surface.face_normals)
    assert np.all(normals[np.all(on_wall & ~on_floor, axis=1), 0] > 0.999)
    assert np.all(normals[np.all(on_floor & ~on_wall, axis=1), 2] < -0.999)


def test_visible_surface_is_decimated_to_max_triangles():
    camera = make_camera(160, 120)
    z = wall_and_floor(camera)
    surface = visible_surface(z, camera, max_triangles=500)
    assert 250 < len(surface.faces) <= 500
    assert np.all(on_planes(np.asarray(surface.vertices), [(0, WALL_M), (2, -FLOOR_M)]))
    # The image corners are kept: the mesh spans the whole view.
    corners = camera.lift(np.array([0.5, 159.5]), np.array([0.5, 0.5]), np.array([WALL_M, WALL_M]))
    for corner in corners:
        assert np.min(np.linalg.norm(surface.vertices - corner, axis=1)) < 1e-9


def test_closed_mesh_of_a_wall_is_the_pyramid_to_the_back_point():
    # A wall filling the view: the closed mesh is the pyramid with the sampled wall rectangle as
    # base and the back point as apex, volume = area × (wall distance + back distance) / 3.
    camera = make_camera()
    z = np.full((camera.height, camera.width), WALL_M)
    back = 1.3
    mesh = closed_room_mesh(z, camera, max_triangles=800, back_distance_m=back)
    assert mesh.is_watertight and mesh.is_winding_consistent and len(mesh.faces) <= 800
    area = (camera.width - 1) * (camera.height - 1) * WALL_M**2 / (camera.fx * camera.fy)
    assert mesh.volume == pytest.approx(area * (WALL_M + back) / 3, rel=1e-9)
    assert np.any(np.all(np.isclose(mesh.vertices, [-back, 0.0, 0.0]), axis=1))


def test_closed_mesh_is_a_room_that_load_mesh_room_accepts(tmp_path):
    camera = make_camera()
    z = wall_and_floor(camera, panel=True)
    z[0:6, 30:50] = np.nan  # holes are filled with the nearest depth
    z[40, 10] = -1.0
    mesh = closed_room_mesh(z, camera, max_triangles=1500)
    assert mesh.is_watertight and mesh.is_winding_consistent and mesh.volume > 0
    assert len(mesh.faces) <= 1500
    # Default back point: the documented back-wall distance, on the axis behind the listener.
    expected_back = back_wall_distance_m(np.percentile(z[np.isfinite(z) & (z > 0)], 98))
    assert np.min(np.linalg.norm(mesh.vertices - [-expected_back, 0, 0], axis=1)) < 1e-12

    path = export_mesh(mesh, tmp_path / "room.ply")
    room = load_mesh_room(path, {"floor": "wood_floor", "walls": "plaster", "ceiling": "plaster"})
    assert room.contains(np.zeros(3))[0]
    assert room.volume_m3 == pytest.approx(mesh.volume, rel=1e-6)
    # The wall and floor are reflecting planes facing into the room at their true offsets.
    normals, offsets = room.plane_normals, room.plane_offsets
    wall = np.nonzero(np.all(np.isclose(normals, [-1, 0, 0], atol=1e-9), axis=1))[0]
    floor = np.nonzero(np.all(np.isclose(normals, [0, 0, 1], atol=1e-9), axis=1))[0]
    assert np.any(np.isclose(offsets[wall], -WALL_M, rtol=1e-6))
    assert np.any(np.isclose(offsets[floor], -FLOOR_M, rtol=1e-6))
    assert "floor" in {room.plane_names[i] for i in floor}


def test_mesh_from_depth_chooses_closed_or_visible():
    camera = make_camera()
    z = wall_and_floor(camera, panel=True)
    assert mesh_from_depth(z, camera, max_triangles=600).is_watertight
    surface = mesh_from_depth(z, camera, max_triangles=600, closed=False)
    assert not surface.is_watertight and np.all(np.asarray(surface.vertices)[:, 0] > 0)


def test_export_refuses_to_overwrite_and_round_trips(tmp_path):
    camera = make_camera(20, 16)
    mesh = closed_room_mesh(wall_and_floor(camera), camera, max_triangles=200)
    path = export_mesh(mesh, tmp_path / "room.ply")
    with pytest.raises(OutputError, match="exists; pass --overwrite"):
        export_mesh(mesh, path)
    export_mesh(mesh, path, overwrite=True)
    back = trimesh.load(path, process=False)
    np.testing.assert_allclose(back.vertices, mesh.vertices, rtol=1e-6)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["room.ply"]  # no temporary left behind
    obj = export_mesh(mesh, tmp_path / "room.obj")
    assert load_mesh_room(obj).contains(np.zeros(3))[0]
    with pytest.raises(ParameterError, match=r"cannot write a mesh as \.png; name it \.ply"):
        export_mesh(mesh, tmp_path / "room.png")


def test_depth_mesh_errors():
    camera = make_camera(20, 16)
    z = wall_and_floor(camera)
    with pytest.raises(ParameterError, match="at least 2 × 2 pixels"):
        visible_surface(np.ones(5), camera)
    with pytest.raises(ParameterError, match=r"depth map is 16×20 px but the camera is 20×16 px"):
        closed_room_mesh(z.T, camera)
    with pytest.raises(ParameterError, match=r"max_triangles must be an integer ≥ 2"):
        visible_surface(z, camera, max_triangles=1)
    with pytest.raises(ParameterError, match=r"max_triangles must be an integer ≥ 6"):
        closed_room_mesh(z, camera, max_triangles=5)
    with pytest.raises(ParameterError, match="depth_jump must be a share"):
        visible_surface(z, camera, depth_jump=-0.1)
    with pytest.raises(ParameterError, match="back_distance_m must be a positive"):
        closed_room_mesh(z, camera, back_distance_m=0.0)
    empty = np.full(z.shape, np.nan)
    with pytest.raises(ParameterError, match="no valid depth"):
        closed_room_mesh(empty, camera)
    with pytest.raises(ParameterError, match="no triangle has valid, continuous depth"):
        visible_surface(empty, camera)
