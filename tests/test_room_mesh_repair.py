"""Tests of the repair of room meshes as CAD tools export them (issue 9, "Real meshes load").

Every defective mesh here is a box (or sphere) whose true volume, planes and image sources are
known independently: the analytic shoebox images of Allen & Berkley, volumes from the side lengths
or from trimesh, T-junction counts from the grid spacings.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import trimesh

from soundstage.acoustics.room.mesh import load_mesh_room, mesh_image_arrivals, mesh_room_from_arrays
from soundstage.acoustics.room.mesh_repair import MERGE_TOLERANCE, repair_mesh
from soundstage.errors import InputFileError
from test_room_mesh import BOX_MATERIALS, BOX_QUADS, SIZE, box_arrays, image_positions, match, shoebox_images, write_obj

SOURCE, LISTENER = np.array([2.1, 1.3, 1.7]), np.array([5.3, 4.1, 1.2])
EDGE_PATTERN = re.compile(r"from \(([^)]*)\) to \(([^)]*)\) m")


def t_junction_box(slivers: bool = True):
    """The 8 × 6 × 3 m box with its face x = 0 cut into four quads, the faces around it left whole.

    The midpoints of x0's four sides (8-11) and its centre (12) are vertices of x0 only, so each
    midpoint is a T-junction on the uncut edge of the neighbouring face (y0, y1, z0 or z1). With
    ``slivers``, the zero-area triangle a CAD exporter writes along each such edge closes the crack.
    """
    corners, triangles, groups = box_arrays()
    mid = np.array([[0.0, 0.0, 1.5], [0.0, 6.0, 1.5], [0.0, 3.0, 0.0], [0.0, 3.0, 3.0], [0.0, 3.0, 1.5]])
    m01, m23, m02, m13, centre = range(8, 13)
    # x0 was the quad 0-1-3-2 (corner index = 4 i_x + 2 i_y + i_z); its four sub-quads, wound alike.
    quads = [[0, m01, centre, m02], [m01, 1, m13, centre], [centre, m13, 3, m23], [m02, centre, m23, 2]]
    x0 = [t for a, b, c, d in quads for t in ([a, b, c], [a, c, d])]
    if slivers:
        x0 += [[0, m01, 1], [1, m13, 3], [3, m23, 2], [2, m02, 0]]
    keep = [i for i, g in enumerate(groups) if g != "x0"]
    vertices = np.concatenate([corners, mid])
    triangles = np.concatenate([np.array(x0), triangles[keep]])
    return vertices, triangles, ["x0"] * len(x0) + [groups[i] for i in keep]


def grid_box(resolution, size=SIZE):
    """A box whose six faces are triangulated grids of their own resolution, each face with its own vertices.

    ``resolution`` maps (axis, side) to the number of cells along the face's two other axes
    ((axis + 1) % 3, (axis + 2) % 3). Neighbouring faces with different counts along their shared
    edge meet at T-junctions. Triangles are wound outward.
    """
    vertices, triangles = [], []
    for (axis, side), (na, nb) in resolution.items():
        a, b = (axis + 1) % 3, (axis + 2) % 3
        grid = np.zeros((na + 1, nb + 1, 3))
        grid[..., a], grid[..., b] = np.meshgrid(
            np.linspace(0, size[a], na + 1), np.linspace(0, size[b], nb + 1), indexing="ij"
        )
        grid[..., axis] = side * size[axis]
        index = sum(len(v) for v in vertices) + np.arange(grid[..., 0].size).reshape(na + 1, nb + 1)
        p00, p10, p11, p01 = (index[i : i + na, j : j + nb].ravel() for i, j in ((0, 0), (1, 0), (1, 1), (0, 1)))
        cells = np.concatenate([np.stack([p00, p10, p11], axis=1), np.stack([p00, p11, p01], axis=1)])
        vertices.append(grid.reshape(-1, 3))
        triangles.append(cells if side else cells[:, ::-1])  # e_a × e_b = e_axis points out at side 1
    return np.concatenate(vertices), np.concatenate(triangles)


def expected_t_junctions(resolution):
    """T-junctions of :func:`grid_box`: on each of the 12 box edges, the grid points of either face
    that the other face's grid does not share (gcd(n1, n2) - 1 interior points are common)."""
    total = 0
    for k in range(3):  # the edges along axis k are where the faces normal to the two other axes meet
        i, j = (k + 1) % 3, (k + 2) % 3
        # Face normal to i has axes (i + 1, i + 2) = (j, k): its count along k is the second entry.
        # Face normal to j has axes (j + 1, j + 2) = (k, i): its count along k is the first entry.
        for side_i in (0, 1):
            for side_j in (0, 1):
                n1, n2 = resolution[(i, side_i)][1], resolution[(j, side_j)][0]
                total += (n1 - 1) + (n2 - 1) - 2 * (math.gcd(n1, n2) - 1)
    return total


def assert_shoebox_images(room, max_order=1):
    """The room's visible images are the analytic shoebox images of the 8 × 6 × 3 m box."""
    arrivals, _ = mesh_image_arrivals(room, SOURCE, LISTENER, np.eye(3), max_order=max_order)
    images, _ = shoebox_images(SOURCE, SIZE, max_order)
    assert len(arrivals) == len(images)
    index, worst = match(images, image_positions(arrivals, LISTENER, np.eye(3)))
    assert worst < 1e-9
    assert len(set(index.tolist())) == len(images)


def assert_box_planes(room):
    """Six planes with the box's areas, whatever the triangulation."""
    lx, ly, lz = SIZE
    assert room.volume_m3 == pytest.approx(lx * ly * lz, rel=1e-12)
    assert len(room.plane_names) == 6
    areas = {"x": ly * lz, "y": lx * lz, "z": lx * ly}
    for normal, area in zip(room.plane_normals, room.plane_areas_m2, strict=True):
        assert area == pytest.approx(areas["xyz"[int(np.argmax(np.abs(normal)))]], rel=1e-12)


@pytest.mark.parametrize("slivers", [True, False])
def test_t_junctions_with_and_without_slivers_load_as_the_box(slivers):
    vertices, triangles, groups = t_junction_box(slivers)
    room = mesh_room_from_arrays(vertices, triangles, groups, BOX_MATERIALS)
    expected = ("split 4 T-junctions", "dropped 4 zero-area triangles") if slivers else ("split 4 T-junctions",)
    assert room.repairs == expected
    assert sorted(room.plane_names) == sorted(BOX_QUADS)
    assert_box_planes(room)
    assert_shoebox_images(room, max_order=2)


def test_a_box_without_defects_reports_no_repairs():
    corners, triangles, groups = box_arrays()
    assert mesh_room_from_arrays(corners, triangles, groups, BOX_MATERIALS).repairs == ()
    # Wound outward throughout (as modellers write it) is consistent, not a defect.
    assert mesh_room_from_arrays(corners, triangles[:, ::-1], groups, BOX_MATERIALS).repairs == ()


def test_mismatched_face_grids_are_made_conforming():
    # About 5000 triangles with T-junctions along all twelve box edges (coprime-ish grid counts).
    resolution = {
        (0, 0): (19, 13),
        (0, 1): (17, 11),
        (1, 0): (7, 23),
        (1, 1): (9, 29),
        (2, 0): (31, 37),
        (2, 1): (29, 41),
    }
    vertices, triangles = grid_box(resolution)
    assert len(triangles) > 5000
    repaired = repair_mesh(vertices, triangles)
    assert f"split {expected_t_junctions(resolution)} T-junctions" in repaired.repairs
    room = mesh_room_from_arrays(vertices, triangles, None, 0.2)
    assert_box_planes(room)
    assert_shoebox_images(room, max_order=1)


@pytest.mark.parametrize("offset_m", [0.0, 1e-9])
def test_duplicated_and_nearly_coincident_vertices_are_merged(offset_m):
    # A triangle soup (each triangle its own three vertices, as in STL), each copy jittered.
    corners, triangles, _ = box_arrays()
    rng = np.random.default_rng(1)
    soup = corners[triangles.reshape(-1)] + rng.uniform(-offset_m, offset_m, size=(3 * len(triangles), 3))
    room = mesh_room_from_arrays(soup, np.arange(len(soup)).reshape(-1, 3), None, 0.2)
    assert len(room.vertices) == 8
    assert room.volume_m3 == pytest.approx(144.0, rel=1e-8)
    if offset_m:
        # 36 copies of 8 corners, all at distinct positions: 28 merged into the first copy of each.
        (report,) = room.repairs
        merged, apart = re.fullmatch(
            r"merged (\d+) nearly coincident vertices \(at most (\S+) m apart\)", report
        ).groups()
        assert int(merged) == 28
        assert 0 < float(apart) <= 2 * math.sqrt(3) * offset_m
    else:
        assert room.repairs == ()  # exact copies are how STL stores a mesh, not a defect


def test_vertices_farther_apart_than_the_tolerance_are_not_merged():
    # A 1 cm gap at one ceiling corner is real geometry (the tolerance is 1e-6 of the 10.4 m diagonal, 10 µm,
    # and cracks are closed only up to 1e-4 of it, 1 mm): the ceiling's copy of corner (8, 6, 3) is not
    # welded to the walls' one.
    from soundstage.acoustics.room.mesh import CRACK_TOLERANCE

    corners, triangles, _ = box_arrays()
    assert 1e-2 > 5 * CRACK_TOLERANCE * np.linalg.norm(SIZE) > 50 * MERGE_TOLERANCE * np.linalg.norm(SIZE)
    vertices = np.concatenate([corners, [[8.0, 6.0, 3.01]]])
    z1 = np.flatnonzero(np.all(corners[triangles][:, :, 2] == 3.0, axis=1))
    triangles[z1] = np.where(triangles[z1] == 7, 8, triangles[z1])
    with pytest.raises(InputFileError, match=r"not closed \(4 open edges around 1 hole, e\.g\. from .*3\.01"):
        mesh_room_from_arrays(vertices, triangles, None, None)


def test_inconsistent_winding_is_made_consistent_and_inward():
    sphere = trimesh.creation.icosphere(subdivisions=2, radius=4.0)  # wound outward, centred on 0
    rng = np.random.default_rng(3)
    flip = rng.random(len(sphere.faces)) < 0.3
    faces = np.where(flip[:, None], sphere.faces[:, ::-1], sphere.faces)
    room = mesh_room_from_arrays(sphere.vertices, faces, None, 0.2)
    rewound = min(int(flip.sum()), int((~flip).sum()))
    assert room.repairs == (f"re-wound {rewound} triangles wound against their neighbours",)
    assert room.volume_m3 == pytest.approx(sphere.volume, rel=1e-12)
    # Every normal points into the room, towards the centre.
    corners = room.vertices[room.triangles]
    normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    assert np.all(np.einsum("ij,ij->i", normals, corners.mean(axis=1)) < 0)
    # trimesh's own check: reversed (outward), the winding is consistent and encloses the volume.
    outward = trimesh.Trimesh(room.vertices, room.triangles[:, ::-1], process=False)
    assert outward.is_winding_consistent
    assert outward.volume == pytest.approx(sphere.volume, rel=1e-12)


def test_duplicated_triangles_are_dropped():
    corners, triangles, groups = box_arrays()
    # The floor written twice, the second time wound the other way.
    again = [i for i, g in enumerate(groups) if g == "z0"]
    triangles = np.concatenate([triangles, triangles[again][:, ::-1]])
    room = mesh_room_from_arrays(corners, triangles, [*groups, "z0", "z0"], BOX_MATERIALS)
    assert room.repairs == ("dropped 2 duplicated triangles",)
    assert_box_planes(room)


def test_open_mesh_error_names_the_open_edges_where_they_are():
    corners, triangles, groups = box_arrays()
    keep = [i for i, g in enumerate(groups) if g != "z1"]  # the ceiling z = 3 is missing
    with pytest.raises(InputFileError) as caught:
        mesh_room_from_arrays(corners, triangles[keep], None, None, name="room.obj")
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("room.obj: the room mesh is not closed (4 open edges around 1 hole, e.g. ")
    assert "close the holes" in message
    edges = EDGE_PATTERN.findall(message)
    assert len(edges) == 3  # a few of the four, not all
    ceiling_sides = {frozenset(s) for s in [((0, 0), (8, 0)), ((8, 0), (8, 6)), ((8, 6), (0, 6)), ((0, 6), (0, 0))]}
    for start, end in edges:
        a, b = (tuple(float(x) for x in point.split(", ")) for point in (start, end))
        assert a[2] == b[2] == 3.0
        assert frozenset([a[:2], b[:2]]) in ceiling_sides


def test_obj_file_with_every_defect_loads_through_load_mesh_room(tmp_path):
    vertices, triangles, groups = t_junction_box(slivers=True)
    # The face x1 = 8 has its own copies of its corners, 1e-9 m off (nearly coincident), ...
    x1 = [i for i, g in enumerate(groups) if g == "x1"]
    ends = np.unique(triangles[x1])
    copies = vertices[ends] + 1e-9
    renumber = {int(v): len(vertices) + k for k, v in enumerate(ends)}
    triangles[x1] = [[renumber[int(v)] for v in tri] for tri in triangles[x1]]
    # ... is wound the other way from the rest, and one ceiling triangle (not on a T-junction) is written twice.
    triangles[x1] = triangles[x1][:, ::-1]
    twice = triangles.tolist().index([1, 5, 7])
    triangles = np.concatenate([triangles, triangles[[twice]]])
    groups = [*groups, "z1"]
    order = np.argsort(groups, kind="stable")  # one `g` block per group
    path = write_obj(
        tmp_path / "seminar.obj", np.concatenate([vertices, copies]), triangles[order], [groups[i] for i in order]
    )

    room = load_mesh_room(path, BOX_MATERIALS)
    assert room.repairs == (
        "merged 4 nearly coincident vertices (at most 1.7e-09 m apart)",
        "split 4 T-junctions",
        "dropped 4 zero-area triangles",
        "dropped 1 duplicated triangle",
        "re-wound 2 triangles wound against their neighbours",
    )
    assert sorted(room.plane_names) == sorted(BOX_QUADS)
    assert_box_planes(room)
    assert_shoebox_images(room, max_order=1)


def glued_boxes(room_size, a_origin, b_origin, b_size, a_size=(1.0, 1.0, 1.0)):
    """A box room with box A whole and box B against A's x-high face, B's own x-low face left out (the face they
    share written once): vertices, triangles, and the index of A's shared-face triangles in them."""
    room_part = box_arrays(size=room_size)
    a_part = box_arrays(size=a_size, origin=a_origin)
    b_part = box_arrays(size=b_size, origin=b_origin)
    b_without_shared = b_part[1][[i for i, g in enumerate(b_part[2]) if g != "x0"]]
    vertices = np.concatenate([room_part[0], a_part[0], b_part[0]])
    triangles = np.concatenate([room_part[1], a_part[1] + 8, b_without_shared + 16])
    shared = 12 + np.array([i for i, g in enumerate(a_part[2]) if g == "x1"])
    return vertices, triangles, shared


def test_a_face_two_touching_parts_share_written_once_is_dropped():
    # A panel mounted against a beam, each modelled closed, the face between them written once (the BRAS
    # auditorium's model has one): every edge around that face has three faces. Inside a 4 × 3 × 2.5 m room,
    # box A (1…2, 1…2, 0.5…1.5) whole and box B (2…3, 1…2, 0.5…1.5) without its x = 2 face.
    vertices, triangles, _ = glued_boxes((4.0, 3.0, 2.5), (1.0, 1.0, 0.5), (2.0, 1.0, 0.5), (1.0, 1.0, 1.0))
    repaired = repair_mesh(vertices, triangles)
    assert repaired.repairs[-1] == "dropped 2 triangles (1 m²) of faces that touching parts share, written once"
    room = mesh_room_from_arrays(vertices, triangles, None, 0.1)
    assert room.volume_m3 == pytest.approx(30.0 - 2.0)
    inside = room.contains(np.array([[1.5, 1.5, 1.0], [2.5, 1.5, 1.0], [2.0, 1.5, 1.0], [3.5, 1.5, 1.0]]))
    assert inside.tolist() == [False, False, False, True]


def boxes_glued_on_two_sides():
    """In a 4 × 3 × 3 m room, box A (1…2, 1…2, 0.5…1.5) whole, box B beside it (x 2…3) without its x = 2 face and
    box C on top (z 1.5…2.5) without its z = 1.5 face: the two faces written once meet along A's edge at x = 2,
    z = 1.5, which four faces share."""
    room, a = box_arrays(size=(4.0, 3.0, 3.0)), box_arrays(size=(1.0, 1.0, 1.0), origin=(1.0, 1.0, 0.5))
    b, c = (
        box_arrays(size=(1.0, 1.0, 1.0), origin=(2.0, 1.0, 0.5)),
        box_arrays(size=(1.0, 1.0, 1.0), origin=(1.0, 1.0, 1.5)),
    )
    b_part = b[1][[i for i, g in enumerate(b[2]) if g != "x0"]]
    c_part = c[1][[i for i, g in enumerate(c[2]) if g != "z0"]]
    vertices = np.concatenate([room[0], a[0], b[0], c[0]])
    return vertices, np.concatenate([room[1], a[1] + 8, b_part + 16, c_part + 24])


def test_two_shared_faces_meeting_along_an_edge_are_both_dropped():
    # The edge where they meet gives up two of its four faces; every other border edge one of three.
    vertices, triangles = boxes_glued_on_two_sides()
    repaired = repair_mesh(vertices, triangles)
    assert repaired.repairs[-1] == "dropped 4 triangles (2 m²) of faces that touching parts share, written once"
    room = mesh_room_from_arrays(vertices, triangles, None, 0.1)
    assert room.volume_m3 == pytest.approx(36.0 - 3.0)
    inside = room.contains(np.array([[1.5, 1.5, 1.0], [2.5, 1.5, 1.0], [1.5, 1.5, 2.0], [2.5, 1.5, 2.0]]))
    assert inside.tolist() == [False, False, False, True]  # the three boxes solid, the corner between B and C air


def test_a_shared_face_with_a_fin_on_its_border_is_refused_not_dropped():
    # A stray triangle hanging off the shared face's border edge: that edge has four faces, and dropping the face
    # would leave it three. The face stays and the mesh is refused, as a fin is.
    vertices, triangles, _ = glued_boxes((4.0, 3.0, 2.5), (1.0, 1.0, 0.5), (2.0, 1.0, 0.5), (1.0, 1.0, 1.0))
    edge = [int(np.flatnonzero(np.all(vertices == corner, axis=1))[0]) for corner in ([2, 1, 1.5], [2, 2, 1.5])]
    fin = np.array([[edge[0], edge[1], len(vertices)]])
    vertices = np.concatenate([vertices, [[2.0, 1.5, 2.2]]])
    assert "touching parts share" not in " ".join(repair_mesh(vertices, np.concatenate([triangles, fin])).repairs)
    with pytest.raises(InputFileError, match=r"the room mesh is not (closed|manifold)"):
        mesh_room_from_arrays(vertices, np.concatenate([triangles, fin]), None, 0.1)


def test_a_solid_sharing_a_wall_triangle_becomes_a_bump_in_the_wall():
    # A tetrahedron built on the wall's own triangle (0, 3, 2) of x = 0 with its apex in the room: the wall
    # triangle is written twice (once per part). Both copies lie inside the union: the wall gets a bump.
    corners, triangles, _ = box_arrays(size=(4.0, 3.0, 2.5))
    apex = np.array([[1.0, 1.5, 0.8]])
    tetra = np.array([[0, 3, 2], [0, 8, 3], [3, 8, 2], [2, 8, 0]])
    vertices = np.concatenate([corners, apex])
    room = mesh_room_from_arrays(vertices, np.concatenate([triangles, tetra]), None, 0.1)
    bump = 1.0 * (0.5 * 3.0 * 2.5) / 3.0  # height × base area / 3
    assert room.volume_m3 == pytest.approx(30.0 - bump)
    assert room.contains(np.array([[0.2, 1.5, 0.8], [2.0, 1.5, 0.8]])).tolist() == [False, True]


def test_a_zero_thickness_wall_between_two_rooms_is_refused_not_dropped():
    # The same edge counts as a shared face, but with air on both sides: dropping it would join the rooms.
    left, right = box_arrays(size=(2.0, 3.0, 2.5)), box_arrays(size=(2.0, 3.0, 2.5), origin=(2.0, 0.0, 0.0))
    right_without_wall = right[1][[i for i, g in enumerate(right[2]) if g != "x0"]]
    vertices = np.concatenate([left[0], right[0]])
    triangles = np.concatenate([left[1], right_without_wall + 8])
    with pytest.raises(InputFileError, match=r"a face of zero thickness \(7\.5 m², around \(2, .*\) m\) separates two"):
        mesh_room_from_arrays(vertices, triangles, None, 0.1)


def test_a_wall_written_twice_with_another_diagonal_is_refused():
    corners, triangles, groups = box_arrays()
    x0 = [i for i, g in enumerate(groups) if g == "x0"]
    a, b, c, d = BOX_QUADS["x0"]
    again = np.array([[a, b, d], [b, c, d]])  # the x = 0 wall once more, split along its other diagonal
    assert not any(set(t) == set(u) for t in again for u in triangles[x0].tolist())
    with pytest.raises(InputFileError, match=r"separates two spaces or doubles a wall"):
        mesh_room_from_arrays(corners, np.concatenate([triangles, again]), None, 0.1)


def test_the_shared_face_is_found_whatever_the_winding_of_its_triangles():
    # Exporters wind triangles as they please (AC3D does): the shared face's two triangles wound against each other.
    vertices, triangles, shared = glued_boxes((4.0, 3.0, 2.5), (1.0, 1.0, 0.5), (2.0, 1.0, 0.5), (1.0, 1.0, 1.0))
    triangles[shared[0]] = triangles[shared[0]][::-1]
    room = mesh_room_from_arrays(vertices, triangles, None, 0.1)
    assert room.volume_m3 == pytest.approx(30.0 - 2.0)
    assert any("touching parts share" in repair for repair in room.repairs)


def test_a_thin_sheet_glued_to_a_beam_in_a_large_hall_loads():
    # A 0.3 mm sheet against a beam in a 40 × 30 × 15 m hall, the face between them written once: the probes off
    # that face must stay inside the sheet (they go the repair's tolerance, 52 µm here, not a share of the hall).
    vertices, triangles, _ = glued_boxes((40.0, 30.0, 15.0), (10.0, 10.0, 5.0), (11.0, 10.0, 5.0), (0.0003, 1.0, 1.0))
    room = mesh_room_from_arrays(vertices, triangles, None, 0.1)
    assert room.volume_m3 == pytest.approx(40.0 * 30.0 * 15.0 - 1.0 - 0.0003, rel=1e-9)
