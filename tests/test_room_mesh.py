"""Tests of mesh rooms: loading, materials, geometry and image sources with visibility."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest
import trimesh

from soundstage.acoustics.arrivals import OCTAVE_BANDS_HZ
from soundstage.acoustics.room import mesh
from soundstage.acoustics.room.materials import absorption_coefficients
from soundstage.acoustics.room.mesh import load_mesh_room, mesh_image_arrivals, mesh_room_from_arrays
from soundstage.conventions import rotation_matrix
from soundstage.errors import InputFileError, ParameterError

SIZE = np.array([8.0, 6.0, 3.0])
C = 343.0
# Box faces as quads (corner index = 4 i_x + 2 i_y + i_z), each named after its plane.
BOX_QUADS = {
    "x0": [0, 1, 3, 2],
    "x1": [4, 6, 7, 5],
    "y0": [0, 4, 5, 1],
    "y1": [2, 3, 7, 6],
    "z0": [0, 2, 6, 4],
    "z1": [1, 5, 7, 3],
}
BOX_MATERIALS = {
    "x0": 0.1,
    "x1": "carpet",
    "y0": [0.05, 0.1, 0.2, 0.3, 0.4, 0.5],
    "y1": 0.3,
    "z0": "wood_floor",
    "z1": "acoustic_tile",
}


def box_arrays(size=SIZE, origin=(0.0, 0.0, 0.0)):
    """Corners (8, 3), triangles (12, 3) and group names (12,) of an axis-aligned box."""
    corners = np.array(list(itertools.product(*[[o, o + s] for o, s in zip(origin, size, strict=True)])))
    triangles, groups = [], []
    for name, (a, b, c, d) in BOX_QUADS.items():
        triangles += [[a, b, c], [a, c, d]]
        groups += [name, name]
    return corners, np.array(triangles), groups


def write_obj(path: Path, vertices, triangles, groups=None) -> Path:
    lines = [f"v {float(x)!r} {float(y)!r} {float(z)!r}" for x, y, z in vertices]
    current = None
    for i, tri in enumerate(triangles):
        if groups is not None and groups[i] != current:
            current = groups[i]
            lines.append(f"g {current}")
        lines.append("f " + " ".join(str(int(k) + 1) for k in tri))
    path.write_text("\n".join(lines) + "\n")
    return path


def shoebox_images(source, size, max_order):
    """Analytic shoebox images (Allen & Berkley) and their hits on (x0, x1, y0, y1, z0, z1)."""
    per_axis = []
    for axis in range(3):
        options = []
        for n in range(-max_order, max_order + 1):
            for q in (0, 1):
                coordinate = (1 - 2 * q) * source[axis] + 2 * n * size[axis]
                options.append((coordinate, abs(n - q), abs(n)))
        per_axis.append(options)
    images, hits = [], []
    for (x, x0, x1), (y, y0, y1), (z, z0, z1) in itertools.product(*per_axis):
        h = [x0, x1, y0, y1, z0, z1]
        if sum(h) <= max_order:
            images.append([x, y, z])
            hits.append(h)
    return np.array(images), np.array(hits)


def image_positions(arrivals, listener, rotation):
    """Reconstruct each arrival's image position in the room frame."""
    return listener + (arrivals.direction @ rotation.T) * arrivals.distance_m[:, None]


def match(expected, found):
    """Index into ``found`` of the nearest row to each expected row, with the worst distance."""
    distances = np.linalg.norm(expected[:, None, :] - found[None, :, :], axis=-1)
    index = np.argmin(distances, axis=1)
    return index, float(np.max(distances[np.arange(len(expected)), index]))


@pytest.fixture
def box_obj(tmp_path):
    corners, triangles, groups = box_arrays()
    return write_obj(tmp_path / "box.obj", corners, triangles, groups)


@pytest.mark.parametrize("max_order", [0, 1, 2])
def test_box_matches_analytic_shoebox_images(box_obj, max_order):
    room = load_mesh_room(box_obj, BOX_MATERIALS)
    assert sorted(room.plane_names) == sorted(BOX_QUADS)
    source, listener = np.array([2.1, 1.3, 1.7]), np.array([5.3, 4.1, 1.2])
    rotation = rotation_matrix(yaw_deg=30.0, pitch_deg=10.0, roll_deg=-5.0)
    arrivals, _ = mesh_image_arrivals(room, source, listener, rotation, max_order=max_order)

    images, hits = shoebox_images(source, SIZE, max_order)
    assert len(arrivals) == len(images)
    index, worst = match(images, image_positions(arrivals, listener, rotation))
    assert worst < 1e-9
    assert len(set(index.tolist())) == len(images)
    offsets = images - listener
    r = np.linalg.norm(offsets, axis=1)
    alpha = np.stack([absorption_coefficients(BOX_MATERIALS[name]) for name in BOX_QUADS])  # (6, B)
    expected_gain = np.prod((1.0 - alpha[None, :, :]) ** (hits[:, :, None] / 2.0), axis=1) / r[:, None]
    np.testing.assert_allclose(arrivals.delay_s[index], r / C, rtol=0, atol=1e-9)
    np.testing.assert_allclose(arrivals.distance_m[index], r, rtol=0, atol=1e-9)
    np.testing.assert_allclose(arrivals.gain[index], expected_gain, rtol=1e-9, atol=0)
    # Directions in the head frame: R.T applied to the room-frame unit vector.
    np.testing.assert_allclose(arrivals.direction[index], (offsets / r[:, None]) @ rotation, atol=1e-9)
    np.testing.assert_array_equal(arrivals.band_centers_hz, OCTAVE_BANDS_HZ)


def test_air_absorption_and_max_delay(box_obj):
    room = load_mesh_room(box_obj, 0.2)
    source, listener = np.array([2.1, 1.3, 1.7]), np.array([5.3, 4.1, 1.2])
    plain, _ = mesh_image_arrivals(room, source, listener, np.eye(3), max_order=2)
    air = np.linspace(0.001, 0.1, len(OCTAVE_BANDS_HZ))
    damped, _ = mesh_image_arrivals(room, source, listener, np.eye(3), max_order=2, air_absorption_db_per_m=air)
    expected = plain.gain * 10.0 ** (-np.outer(plain.distance_m, air) / 20.0)
    np.testing.assert_allclose(damped.gain, expected, rtol=1e-12)
    cutoff = float(np.median(plain.delay_s))
    early, _ = mesh_image_arrivals(room, source, listener, np.eye(3), max_order=2, max_delay_s=cutoff)
    np.testing.assert_allclose(np.sort(early.delay_s), np.sort(plain.delay_s[plain.delay_s <= cutoff]), atol=1e-12)


def l_room():
    """An L-shaped room 3 m high: the 6 × 6 m square minus the quadrant x > 3, y > 3."""
    outline = np.array([[0.0, 0.0], [6.0, 0.0], [6.0, 3.0], [3.0, 3.0], [3.0, 6.0], [0.0, 6.0]])
    vertices = np.concatenate([np.column_stack([outline, np.zeros(6)]), np.column_stack([outline, np.full(6, 3.0)])])
    # The L is star-shaped from its reflex corner (index 3): fan the floor and ceiling from there.
    fan = [(3, 4, 5), (3, 5, 0), (3, 0, 1), (3, 1, 2)]
    triangles = [[a, b, c] for a, b, c in fan] + [[a + 6, c + 6, b + 6] for a, b, c in fan]
    for i in range(6):
        j = (i + 1) % 6
        triangles += [[i, j, j + 6], [i, j + 6, i + 6]]
    return vertices, np.array(triangles)


def test_l_room_occlusion_by_inner_corner():
    vertices, triangles = l_room()
    room = mesh_room_from_arrays(vertices, triangles, None, 0.2)
    assert len(room.plane_names) == 8
    assert room.volume_m3 == pytest.approx(27.0 * 3.0, abs=1e-9)
    source, listener = np.array([5.0, 1.5, 1.5]), np.array([1.5, 5.0, 1.5])
    arrivals, _ = mesh_image_arrivals(room, source, listener, np.eye(3), max_order=1)
    found = image_positions(arrivals, listener, np.eye(3))
    # The straight line crosses x = 3 at y = 3.5, inside the missing quadrant: no direct sound, and
    # floor and ceiling reflections (same plan view) are hidden too. The walls y = 0 and x = 0 reflect
    # at (4.19, 0) and (0, 4.19), both seen from both ends. The wall x = 6 has its specular point
    # (6, 2.14) on the wall, but the leg to the listener crosses x = 3 at y = 4.05: hidden. Likewise
    # y = 6 at (2.14, 6), whose leg to the source crosses x = 3 at y = 4.64.
    expected = np.array([[5.0, -1.5, 1.5], [-5.0, 1.5, 1.5]])
    assert len(arrivals) == 2
    _, worst = match(expected, found)
    assert worst < 1e-9
    np.testing.assert_allclose(np.sort(arrivals.distance_m), [math.sqrt(54.5)] * 2, atol=1e-9)


def test_l_room_specular_points_off_the_face_are_invalid():
    room = mesh_room_from_arrays(*l_room(), None, 0.2)
    # Both in the arm y < 3, west of the corner. The inner walls' planes (x = 3 for y in [3, 6],
    # y = 3 for x in [3, 6]) face both points, but the specular points (3, 2) and (1.8, 3) lie on
    # those planes outside the walls, in open air: no reflection. The far walls x = 6 and y = 6 are
    # reflected off at (6, 1.83) and (1.59, 6), inside the walls and in sight of both points.
    source, listener = np.array([1.0, 1.0, 1.5]), np.array([2.0, 2.5, 1.5])
    arrivals, _ = mesh_image_arrivals(room, source, listener, np.eye(3), max_order=1)
    expected = np.array(
        [[1, 1, 1.5], [1, 1, -1.5], [1, 1, 4.5], [-1, 1, 1.5], [1, -1, 1.5], [11, 1, 1.5], [1, 11, 1.5]]
    )
    assert len(arrivals) == len(expected)
    _, worst = match(expected, image_positions(arrivals, listener, np.eye(3)))
    assert worst < 1e-9


@pytest.mark.parametrize("which", ["l_room", "sphere"])
def test_reciprocity_of_source_and_listener(which):
    # Swapping source and listener reverses every path: the same lengths and losses must come back.
    if which == "l_room":
        room = mesh_room_from_arrays(*l_room(), None, "carpet")
        a, b = np.array([5.0, 1.5, 1.2]), np.array([1.5, 5.0, 1.7])
    else:
        sphere = trimesh.creation.icosphere(subdivisions=1, radius=4.0)
        groups = [f"g{i % 3}" for i in range(len(sphere.faces))]
        room = mesh_room_from_arrays(sphere.vertices, sphere.faces, groups, {"g0": 0.1, "g1": "carpet", "g2": 0.5})
        a, b = np.array([1.0, 0.4, -0.3]), np.array([-1.2, 0.9, 0.5])
    forward, _ = mesh_image_arrivals(room, a, b, np.eye(3), max_order=2)
    backward, _ = mesh_image_arrivals(room, b, a, np.eye(3), max_order=2)
    assert len(forward) == len(backward) > 1
    order_f, order_b = np.argsort(forward.delay_s), np.argsort(backward.delay_s)
    np.testing.assert_allclose(forward.delay_s[order_f], backward.delay_s[order_b], atol=1e-12)
    np.testing.assert_allclose(forward.gain[order_f], backward.gain[order_b], rtol=1e-9)


def test_roles_assign_floor_walls_ceiling():
    corners, triangles, _ = box_arrays()
    # Wind half the triangles the wrong way round: orientation must be repaired, roles still right.
    rng = np.random.default_rng(0)
    flip = rng.random(len(triangles)) < 0.5
    triangles = np.where(flip[:, None], triangles[:, ::-1], triangles)
    # Stray vertices that no triangle uses (common in exports) are dropped.
    corners = np.concatenate([np.array([[50.0, 50.0, 50.0]]), corners, np.array([[-9.0, 0.0, 0.0]])])
    triangles = triangles + 1
    materials = {"floor": "carpet", "walls": "plaster", "ceiling": "acoustic_tile"}
    room = mesh_room_from_arrays(corners, triangles, None, materials)
    assert len(room.plane_names) == 6
    assert len(room.vertices) == 8
    assert room.volume_m3 == pytest.approx(144.0, rel=1e-12)
    for normal, offset, alpha, name in zip(
        room.plane_normals, room.plane_offsets, room.absorption, room.plane_names, strict=True
    ):
        axis = int(np.argmax(np.abs(normal)))
        # Inward normals: +axis on the low wall (offset 0), -axis on the high wall (offset -L).
        low = normal[axis] > 0
        assert offset == pytest.approx(0.0 if low else -SIZE[axis], abs=1e-12)
        role = "walls" if axis < 2 else ("floor" if low else "ceiling")
        assert name == role
        np.testing.assert_array_equal(alpha, absorption_coefficients(materials[role]))


def test_group_beats_role_and_default_fills_in(box_obj):
    room = load_mesh_room(box_obj, {"z0": "carpet", "floor": 0.5, "default": 0.25})
    by_name = dict(zip(room.plane_names, room.absorption, strict=True))
    np.testing.assert_array_equal(by_name["z0"], absorption_coefficients("carpet"))
    for name in ("x0", "x1", "y0", "y1", "z1"):
        np.testing.assert_array_equal(by_name[name], np.full(len(OCTAVE_BANDS_HZ), 0.25))
    default = load_mesh_room(box_obj)
    np.testing.assert_array_equal(default.absorption, np.tile(absorption_coefficients("plaster"), (6, 1)))


def test_volume_areas_rt60_and_contains(box_obj):
    room = load_mesh_room(box_obj, BOX_MATERIALS)
    lx, ly, lz = SIZE
    assert room.volume_m3 == pytest.approx(lx * ly * lz, rel=1e-12)
    expected_areas = {"x0": ly * lz, "x1": ly * lz, "y0": lx * lz, "y1": lx * lz, "z0": lx * ly, "z1": lx * ly}
    for name, area in zip(room.plane_names, room.plane_areas_m2, strict=True):
        assert area == pytest.approx(expected_areas[name], rel=1e-12)
    assert room.surface_area_m2 == pytest.approx(2 * (lx * ly + lx * lz + ly * lz), rel=1e-12)
    # Eyring: T = 24 ln10 V / (-c S ln(1 - mean alpha)), written out independently.
    alpha = np.stack([absorption_coefficients(BOX_MATERIALS[n]) for n in room.plane_names])
    mean = room.plane_areas_m2 @ alpha / room.surface_area_m2
    expected = 24 * math.log(10) * room.volume_m3 / (-C * room.surface_area_m2 * np.log(1 - mean))
    np.testing.assert_allclose(room.eyring_rt60(), expected, rtol=1e-12)
    points = np.array([[4.0, 3.0, 1.5], [0.01, 5.99, 2.99], [-0.01, 3.0, 1.5], [4.0, 6.5, 1.0], [4.0, 3.0, 3.2]])
    np.testing.assert_array_equal(room.contains(points), [True, True, False, False, False])
    l_shape = mesh_room_from_arrays(*l_room(), None, None)
    np.testing.assert_array_equal(l_shape.contains(np.array([[1.0, 5.0, 1.0], [5.0, 5.0, 1.0]])), [True, False])


def test_obstacle_inside_room_blocks_and_subtracts():
    outer_v, outer_t, _ = box_arrays()
    pillar_v, pillar_t, _ = box_arrays(size=(1.0, 1.0, 3.0), origin=(3.5, 2.5, 0.0))
    # Touching floor and ceiling would share no edges (different vertices) but would overlap faces;
    # keep the pillar 0.5 m clear of both so the surface stays manifold.
    pillar_v[:, 2] = np.where(pillar_v[:, 2] > 0, 2.5, 0.5)
    vertices = np.concatenate([outer_v, pillar_v])
    triangles = np.concatenate([outer_t, pillar_t + len(outer_v)])
    room = mesh_room_from_arrays(vertices, triangles, None, 0.1)
    assert room.volume_m3 == pytest.approx(144.0 - 2.0, rel=1e-12)
    assert room.surface_area_m2 == pytest.approx(2 * (48 + 24 + 18) + 2 * 1 + 4 * 2, rel=1e-12)
    np.testing.assert_array_equal(room.contains(np.array([[4.0, 3.0, 1.5], [4.0, 3.0, 0.25]])), [False, True])
    # Source and listener on either side of the pillar at its mid-height: no direct sound; the
    # floor reflection passes beneath it (the path dips to z = 0 at mid-way, under z = 0.5).
    source, listener = np.array([1.5, 3.0, 1.5]), np.array([6.5, 3.0, 1.5])
    arrivals, _ = mesh_image_arrivals(room, source, listener, np.eye(3), max_order=1)
    assert np.min(arrivals.distance_m) > 5.0 + 1e-6
    floor_image = np.array([1.5, 3.0, -1.5])
    assert np.min(np.linalg.norm(image_positions(arrivals, listener, np.eye(3)) - floor_image, axis=1)) < 1e-9


@pytest.mark.parametrize("extension", ["stl", "ply", "off", "glb"])
def test_other_formats_and_scale(tmp_path, extension):
    box = trimesh.creation.box(extents=SIZE * 100.0)  # drawn in centimetres, centred on the origin
    path = tmp_path / f"room.{extension}"
    box.export(path)
    room = load_mesh_room(path, "concrete", scale=0.01)
    assert room.volume_m3 == pytest.approx(144.0, rel=1e-6)
    assert len(room.plane_names) == 6
    assert room.contains(np.zeros(3)).tolist() == [True]


def test_open_mesh_is_rejected(tmp_path):
    corners, triangles, groups = box_arrays()
    path = write_obj(tmp_path / "open.obj", corners, triangles[2:], groups[2:])
    with pytest.raises(
        InputFileError, match=r"open\.obj.*not closed \(4 open edges around 1 hole, e\.g\. from \(.*\) m\).*Fill"
    ):
        load_mesh_room(path)


def test_solids_touching_along_an_edge_load_as_closed_parts():
    # CAD models of real rooms have them (a cabinet's edge against a pillar): 4 faces on one edge, each solid
    # still closed. Two obstacles touching along x = y = 2 inside a 4 × 3 × 2.5 m room.
    parts = [
        box_arrays(size=(4.0, 3.0, 2.5)),
        box_arrays(size=(1.0, 1.0, 1.0), origin=(1.0, 1.0, 0.5)),
        box_arrays(size=(1.0, 1.0, 1.0), origin=(2.0, 2.0, 0.5)),
    ]
    vertices = np.concatenate([part[0] for part in parts])
    triangles = np.concatenate([part[1] + 8 * k for k, part in enumerate(parts)])
    room = mesh_room_from_arrays(vertices, triangles, None, 0.1)
    assert room.volume_m3 == pytest.approx(30.0 - 2.0)
    inside = room.contains(np.array([[1.5, 1.5, 1.0], [2.5, 2.5, 1.0], [0.5, 0.5, 1.0], [2.5, 1.5, 1.0]]))
    assert inside.tolist() == [False, False, True, True]


def test_a_crack_of_a_fraction_of_a_millimetre_is_closed_and_said(tmp_path):
    corners, triangles, groups = box_arrays(size=(4.0, 3.0, 2.5))
    # One corner written twice, 0.3 mm apart (CAD exports of large rooms): the surface is open at 1e-6 of
    # the diagonal (6 µm) and closed at CRACK_TOLERANCE (0.6 mm).
    corners = np.vstack([corners, corners[7] + [0.0003, 0.0, 0.0]])
    moved = np.flatnonzero((triangles == 7).any(axis=1))[:2]
    triangles = triangles.copy()
    triangles[moved] = np.where(triangles[moved] == 7, 8, triangles[moved])
    room = load_mesh_room(write_obj(tmp_path / "cracked.obj", corners, triangles, groups), 0.1)
    assert room.volume_m3 == pytest.approx(30.0, rel=1e-4)
    assert any("0.0003 m apart" in repair for repair in room.repairs)


def test_unreadable_and_missing_files(tmp_path):
    bad = tmp_path / "room.xyz"
    bad.write_text("hello\n")
    with pytest.raises(InputFileError, match=r"room\.xyz: cannot read a triangle mesh"):
        load_mesh_room(bad)
    empty = tmp_path / "empty.stl"
    empty.write_bytes(b"\x00\x01garbage" * 3)
    with pytest.raises(InputFileError, match=r"empty\.stl: the file holds no triangles"):
        load_mesh_room(empty)
    with pytest.raises(InputFileError, match=r"missing\.obj: room mesh file not found"):
        load_mesh_room(tmp_path / "missing.obj")


def test_material_errors(box_obj):
    with pytest.raises(ParameterError, match=r"room\.materials\.x0: unknown material 'unobtainium'"):
        load_mesh_room(box_obj, {"x0": "unobtainium", "default": 0.1})
    with pytest.raises(ParameterError, match=r"no material for the mesh groups y1, z1 of .*box\.obj"):
        load_mesh_room(box_obj, {"x0": 0.1, "x1": 0.1, "y0": 0.1, "z0": 0.1})
    with pytest.raises(ParameterError, match=r"'sofa' matches no group of .*\(groups: x0, x1, y0, y1, z0, z1\)"):
        load_mesh_room(box_obj, {"sofa": 0.5, "default": 0.1})
    with pytest.raises(ParameterError, match="scale must be a positive number"):
        load_mesh_room(box_obj, scale=0.0)


def test_position_and_order_errors(box_obj, monkeypatch):
    room = load_mesh_room(box_obj)
    inside = np.array([4.0, 3.0, 1.5])
    outside_source = r"the source at \[9\.0, 3\.0, 1\.5\] m is outside .*mesh's own coordinates"
    with pytest.raises(ParameterError, match=outside_source):
        mesh_image_arrivals(room, np.array([9.0, 3.0, 1.5]), inside, np.eye(3))
    with pytest.raises(ParameterError, match=r"the listener at .* is outside"):
        mesh_image_arrivals(room, inside, np.array([4.0, 3.0, -1.0]), np.eye(3))
    with pytest.raises(ParameterError, match="inside the head"):
        mesh_image_arrivals(room, inside, inside + np.array([0.05, 0.0, 0.0]), np.eye(3))
    with pytest.raises(ParameterError, match="max_order must be a whole number"):
        mesh_image_arrivals(room, inside, inside + 1.0, np.eye(3), max_order=-1)
    monkeypatch.setattr(mesh, "MAX_CANDIDATES", 30)
    with pytest.raises(ParameterError, match=r"reflection order 2 .* needs 36 image candidates.*lower max_order"):
        mesh_image_arrivals(room, inside, inside + 1.0, np.eye(3), max_order=2)


@pytest.mark.parametrize("which", ["l_room", "sphere"])
def test_visible_images_agree_with_pyroomacoustics(which):
    # An independent implementation of Borish's method (pyroomacoustics' polyhedral rooms, one
    # wall per triangle, float32) must find the same visible images at generic positions.
    import pyroomacoustics as pra  # the test extra installs it
    if which == "l_room":
        room = mesh_room_from_arrays(*l_room(), None, 0.1)
        low, high, max_order = np.zeros(3), np.array([6.0, 6.0, 3.0]), 3
    else:
        sphere = trimesh.creation.icosphere(subdivisions=1, radius=4.0)
        room = mesh_room_from_arrays(sphere.vertices, sphere.faces, None, 0.1)
        low, high, max_order = np.full(3, -3.0), np.full(3, 3.0), 2
    rng = np.random.default_rng(7)
    checked = 0
    while checked < 2:
        source, listener = rng.uniform(low, high, size=(2, 3))
        if not room.contains(np.stack([source, listener])).all():
            continue
        checked += 1
        arrivals, _ = mesh_image_arrivals(room, source, listener, np.eye(3), max_order=max_order)
        ours = image_positions(arrivals, listener, np.eye(3))
        # pyroomacoustics wants outward normals: reverse our inward triangles.
        walls = [pra.wall_factory(room.vertices[tri[::-1]].T, [0.1], [0.0]) for tri in room.triangles]
        reference = pra.Room(walls, fs=16000, max_order=max_order, ray_tracing=False, air_absorption=False)
        reference.add_source(source)
        reference.add_microphone(listener)
        reference.image_source_model()
        visible = reference.visibility[0][0].astype(bool)
        # Coplanar triangles are separate walls there: an image can appear once per triangle.
        theirs = np.unique(np.round(reference.sources[0].images[:, visible].T, 4), axis=0)
        assert len(ours) == len(theirs)
        distances = np.linalg.norm(ours[:, None, :] - theirs[None, :, :], axis=-1)
        assert distances.min(axis=1).max() < 1e-4
        assert distances.min(axis=0).max() < 1e-4


def _canonical(vertices, triangles, groups):
    """Triangles as corner coordinates (rotated to start at the smallest, winding kept) with their group."""
    faces = []
    for triangle, group in zip(triangles, groups or [""] * len(triangles), strict=True):
        corners = [tuple(np.round(vertices[i], 9)) for i in triangle]
        k = corners.index(min(corners))
        faces.append((tuple(corners[k:] + corners[:k]), group))
    return sorted(faces)


OBJ_VARIANTS = {
    "groups": lambda f: "".join(f"g w{i}\n{f(q)}" for i, q in enumerate(BOX_QUADS.values())),
    "object and groups": lambda f: "o Room\n" + "".join(f"g w{i}\n{f(q)}" for i, q in enumerate(BOX_QUADS.values())),
    "objects": lambda f: "".join(f"o part{i}\n{f(q)}" for i, q in enumerate(BOX_QUADS.values())),
    "nothing named": lambda f: "".join(f(q) for q in BOX_QUADS.values()),
    "materials": lambda f: (
        "mtllib m.mtl\n" + "".join(f"g w{i}\nusemtl m{i % 2}\n{f(q)}" for i, q in enumerate(BOX_QUADS.values()))
    ),
}


@pytest.mark.parametrize("quads", [False, True], ids=["triangles", "quads"])
@pytest.mark.parametrize("variant", sorted(OBJ_VARIANTS))
def test_the_plain_obj_reader_reads_what_trimesh_reads(tmp_path, variant, quads):
    from soundstage.acoustics.room import mesh

    corners = box_arrays()[0]

    def faces(q):
        a, b, c, d = (k + 1 for k in q)
        return f"f {a}/1/1 {b}/1/1 {c}/1/1 {d}/1/1\n" if quads else f"f {a}//1 {b}//1 {c}//1\nf {a}//1 {c}//1 {d}//1\n"

    vertices = "".join(f"v {x} {y} {z}\n" for x, y, z in corners) + "vt 0 0\nvn 0 0 1\n"
    path = tmp_path / "room.obj"
    path.write_text(vertices + OBJ_VARIANTS[variant](faces))
    (tmp_path / "m.mtl").write_text("newmtl m0\nKd 1 0 0\nnewmtl m1\nKd 0 1 0\n")
    plain = mesh.read_plain_obj(path)
    assert plain is not None
    import trimesh

    loaded = trimesh.load(str(path), force="mesh", process=False)
    assert _canonical(plain[0], plain[1], None) == _canonical(
        np.asarray(loaded.vertices), np.asarray(loaded.faces), None
    )
    expected = {
        "groups": {f"w{i}" for i in range(6)},
        "object and groups": {f"Room_w{i}" for i in range(6)},
        "objects": {f"part{i}" for i in range(6)},
        "nothing named": None,
        "materials": {"m0", "m1"},
    }[variant]
    assert (None if plain[2] is None else set(plain[2])) == expected


def test_an_obj_naming_a_material_no_library_defines_is_left_to_trimesh(tmp_path):
    from soundstage.acoustics.room.mesh import read_plain_obj

    corners, triangles, _ = box_arrays()
    text = "".join(f"v {x} {y} {z}\n" for x, y, z in corners) + "usemtl paint\n"
    text += "".join(f"f {a + 1} {b + 1} {c + 1}\n" for a, b, c in triangles)
    (tmp_path / "room.obj").write_text(text)
    assert read_plain_obj(tmp_path / "room.obj") is None
    (tmp_path / "broken.obj").write_text("v 0 0\nf 1 2 3\n")
    assert read_plain_obj(tmp_path / "broken.obj") is None


def test_a_plain_obj_room_loads_without_importing_trimesh(tmp_path):
    import subprocess
    import sys

    write_obj(tmp_path / "box.obj", *box_arrays())
    code = (
        "import sys\n"
        "from soundstage.acoustics.room.mesh import load_mesh_room\n"
        f"room = load_mesh_room({str(tmp_path / 'box.obj')!r}, 0.1)\n"
        "print(len(room.plane_names), 'trimesh' in sys.modules)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.split() == ["6", "False"]


def test_a_mesh_room_is_made_once_and_read_back_the_same(tmp_path, monkeypatch):
    from soundstage.acoustics.room import mesh

    monkeypatch.setenv("SOUNDSTAGE_CACHE", str(tmp_path / "cache"))
    path = write_obj(tmp_path / "box.obj", *box_arrays())
    materials = {**BOX_MATERIALS, "x0": {"absorption": 0.1, "scattering": 0.4}}
    made = mesh.load_mesh_room(path, materials)
    kept = list((tmp_path / "cache" / "rooms").glob("*.npz"))
    assert len(kept) == 1
    monkeypatch.setattr(mesh, "_read_mesh_file", lambda p: pytest.fail("the kept room was not used"))
    again = mesh.load_mesh_room(path, materials)
    for name in ("vertices", "triangles", "plane_of_triangle", "plane_normals", "absorption", "scattering"):
        np.testing.assert_array_equal(getattr(again, name), getattr(made, name))
    assert (again.plane_names, again.volume_m3, again.repairs) == (made.plane_names, made.volume_m3, made.repairs)
    # Other materials, or an edited file, make another room.
    monkeypatch.undo()
    monkeypatch.setenv("SOUNDSTAGE_CACHE", str(tmp_path / "cache"))
    other = mesh.load_mesh_room(path, 0.3)
    assert np.allclose(other.absorption, 0.3)
    path.write_text(path.read_text() + "\n")
    mesh.load_mesh_room(path, materials)
    assert len(list((tmp_path / "cache" / "rooms").glob("*.npz"))) == 3


def test_an_obstacle_touching_the_room_along_an_edge_is_an_obstacle_whatever_the_triangle_order():
    # A prism lying along the floor's edge at y = 0 (its edge x ∈ [2, 4], y = z = 0 shared by 4 faces once the
    # room's faces are split there): the winding probe must not sit on that edge, where it reads one half.
    room_v, room_t, _ = box_arrays(size=(10.0, 10.0, 3.0))
    prism_v = np.array([[2, 0, 0], [2, 0.5, 0.2], [2, 0.2, 0.5], [4, 0, 0], [4, 0.5, 0.2], [4, 0.2, 0.5]], float)
    prism_t = np.array([[0, 2, 1], [3, 4, 5], [0, 1, 4], [0, 4, 3], [1, 2, 5], [1, 5, 4], [2, 0, 3], [2, 3, 5]])
    vertices = np.concatenate([room_v, prism_v])
    triangles = np.concatenate([room_t, prism_t + len(room_v)])
    prism_volume = 2.0 * 0.5 * abs(0.5 * 0.5 - 0.2 * 0.2)
    rng = np.random.default_rng(0)
    for _ in range(12):
        room = mesh_room_from_arrays(vertices, triangles[rng.permutation(len(triangles))], None, 0.1)
        assert room.volume_m3 == pytest.approx(300.0 - prism_volume)
        assert not room.contains(np.array([3.0, 0.2, 0.2]))[0]


def test_an_edited_material_library_makes_another_room(tmp_path, monkeypatch):
    from soundstage.acoustics.room import mesh

    monkeypatch.setenv("SOUNDSTAGE_CACHE", str(tmp_path / "cache"))
    corners, triangles, _ = box_arrays()
    text = "mtllib m.mtl\n" + "".join(f"v {x} {y} {z}\n" for x, y, z in corners)
    text += "".join(
        f"usemtl {'a' if k < 6 else 'b'}\nf {a + 1} {b + 1} {c + 1}\n" for k, (a, b, c) in enumerate(triangles)
    )
    (tmp_path / "room.obj").write_text(text)
    (tmp_path / "m.mtl").write_text("newmtl a\nnewmtl b\n")
    assert set(mesh.load_mesh_room(tmp_path / "room.obj", {"a": 0.1, "b": 0.2}).plane_names) == {"a", "b"}
    (tmp_path / "m.mtl").write_text("newmtl a\n")  # b no longer defined: the faces are named another way
    with pytest.raises(ParameterError, match=r"room\.materials"):
        mesh.load_mesh_room(tmp_path / "room.obj", {"a": 0.1, "b": 0.2})
