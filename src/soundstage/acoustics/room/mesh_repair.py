"""Repair of room meshes as CAD tools and scanners export them, before the closure check.

An exported surface that is closed in the modeller often reaches us with defects that open it
once it is read as a plain list of triangles:

* duplicated or nearly coincident vertices (per-face vertices of STL and of OBJ exports with split
  normals, float32 round-off, coordinates snapped on one face and not on its neighbour);
* T-junctions: a vertex lying on the interior of another triangle's edge, where a face was
  subdivided and its neighbour was not. CAD exporters often close the crack with a zero-area
  "sliver" triangle along the long edge, so dropping slivers first would open the surface;
* zero-area (degenerate) triangles and the same triangle written twice;
* a face two touching parts share, written once (a panel mounted against a beam, each modelled
  as a closed part): it lies inside the parts' union, and every edge around it is shared by three faces.

:func:`repair_mesh` fixes these in order, each step counting what it did: (1) merge vertices closer
than a tolerance, (2) split the triangles on every edge that has a vertex on its interior, so that
the surface becomes edge-conforming, (3) only then drop zero-area and duplicated triangles, (4) drop
a flat face two touching parts share, written once (:mod:`~soundstage.acoustics.room.mesh` then checks that no
air lies on either side of it).
Inconsistent winding is left to the orientation step of :mod:`soundstage.acoustics.room.mesh`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Vertices closer than this fraction of the mesh's bounding-box diagonal are one vertex, and a
#: vertex closer than this to an edge lies on it. 1e-6 of the diagonal (10 µm in a 10 m room) is
#: far above float64 round-off and above the float32 rounding of coordinates (6e-8 relative) that
#: many exporters write, yet far below any architectural detail (millimetres), so merging never
#: collapses real geometry.
MERGE_TOLERANCE = 1e-6


@dataclass(frozen=True, eq=False)
class RepairedMesh:
    """A triangle mesh after :func:`repair_mesh`.

    Attributes
    ----------
    vertices : np.ndarray, shape (V, 3)
        Vertex positions in metres (a subset of the input vertices: merged clusters keep their
        first member, and vertices no triangle uses are dropped).
    triangles : np.ndarray of int, shape (T, 3)
        Vertex indices of each triangle, wound as the input triangle it came from.
    source_triangle : np.ndarray of int, shape (T,)
        Index of the input triangle each triangle came from (a split triangle yields several),
        to carry per-triangle data such as material groups along.
    repairs : tuple of str
        What was repaired, one phrase per step that changed something, e.g.
        ``("merged 2 nearly coincident vertices (at most 1e-09 m apart)", "split 1 T-junction")``;
        empty when nothing was.
    tolerance_m : float
        The merge and on-edge tolerance used, in metres.
    shared_faces : np.ndarray, shape (M, 3, 3)
        Corners of the triangles step 4 dropped as a face two touching parts share. Only solid may lie on either
        side of them; the caller checks that once the surface is oriented (a zero-thickness wall between two
        spaces looks the same to the edge counts).
    """

    vertices: np.ndarray
    triangles: np.ndarray
    source_triangle: np.ndarray
    repairs: tuple[str, ...]
    tolerance_m: float
    shared_faces: np.ndarray


def repair_mesh(
    vertices: np.ndarray, triangles: np.ndarray, *, relative_tolerance: float = MERGE_TOLERANCE
) -> RepairedMesh:
    """Merge close vertices, split T-junctions, drop zero-area and duplicated triangles, then faces shared inside
    touching parts.

    Parameters
    ----------
    vertices : np.ndarray, shape (V, 3)
        Finite vertex positions in metres.
    triangles : np.ndarray of int, shape (T, 3)
        Vertex indices of each triangle, all in ``[0, V)``.
    relative_tolerance : float, default :data:`MERGE_TOLERANCE`
        Merge and on-edge tolerance as a fraction of the bounding-box diagonal of the vertices the
        triangles use.

    Returns
    -------
    RepairedMesh

    Notes
    -----
    Exactly duplicated vertices are welded without being reported: they are how STL stores every
    mesh and how OBJ readers split vertices by normal or texture coordinate, not a defect of the
    geometry. Nearly coincident ones (distinct coordinates within the tolerance) are reported.

    Examples
    --------
    A square split into two triangles on one side and three on the other, the middle vertex of
    the three lying on the edge of one of the two (a T-junction), plus the zero-area sliver a CAD
    exporter writes along that edge:

    >>> v = np.array([[0.0, 0, 0], [2, 0, 0], [2, 2, 0], [0, 2, 0], [1, 1, 0]])
    >>> t = np.array([[0, 1, 2], [4, 2, 3], [0, 4, 3], [0, 2, 4]])
    >>> fixed = repair_mesh(v, t)
    >>> fixed.repairs
    ('split 1 T-junction', 'dropped 1 zero-area triangle')
    >>> len(fixed.triangles)  # the big triangle cut in two at the T-junction, plus the other two
    4
    """
    vertices = np.asarray(vertices, dtype=float)
    triangles = np.asarray(triangles, dtype=np.int64)
    repairs: list[str] = []
    used = np.unique(triangles)
    size = float(np.linalg.norm(np.ptp(vertices[used], axis=0))) if len(used) else 0.0
    tolerance = relative_tolerance * size

    # 1. Merge vertices closer than the tolerance.
    vertices, triangles, merged, farthest = _merge_vertices(vertices, triangles, tolerance)
    if merged:
        noun = _count(merged, "nearly coincident vertex", "nearly coincident vertices")
        repairs.append(f"merged {noun} (at most {farthest:.2g} m apart)")

    # 2. Split the triangles on edges with a vertex on their interior. Degenerate triangles are not
    # split: they are dropped in step 3, and their own edges must not split the triangles around them.
    degenerate = _degenerate(vertices, triangles, tolerance)
    n_junctions, triangles, source = _split_t_junctions(vertices, triangles, ~degenerate, tolerance)
    degenerate = degenerate[source]
    if n_junctions:
        repairs.append(f"split {_count(n_junctions, 'T-junction', 'T-junctions')}")

    # 3. Only now drop zero-area triangles (slivers no longer hold the surface together), then
    # triangles written twice (the same three vertices, in either winding).
    n_degenerate = int(np.count_nonzero(degenerate))
    triangles, source = triangles[~degenerate], source[~degenerate]
    if n_degenerate:
        repairs.append(f"dropped {_count(n_degenerate, 'zero-area triangle', 'zero-area triangles')}")
    _, first = np.unique(np.sort(triangles, axis=1), axis=0, return_index=True)
    n_duplicated = len(triangles) - len(first)
    if n_duplicated:
        keep = np.sort(first)
        triangles, source = triangles[keep], source[keep]
        repairs.append(f"dropped {_count(n_duplicated, 'duplicated triangle', 'duplicated triangles')}")

    # 4. Faces inside the union of two touching parts (the face they share, written once).
    inner = _inner_faces(vertices, triangles, tolerance)
    shared = vertices[triangles[inner]]
    if inner.any():
        area = float(np.sum(_areas(vertices, triangles[inner])))
        triangles, source = triangles[~inner], source[~inner]
        noun = _count(int(inner.sum()), "triangle", "triangles")
        repairs.append(f"dropped {noun} ({area:.3g} m²) of faces that touching parts share, written once")

    # Vertices only the dropped triangles used go too.
    used, triangles = np.unique(triangles, return_inverse=True)
    return RepairedMesh(
        vertices=vertices[used],
        triangles=triangles.reshape(-1, 3),
        source_triangle=source,
        repairs=tuple(repairs),
        tolerance_m=tolerance,
        shared_faces=shared,
    )


def undirected_edges(triangles: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every triangle's three directed edges (3T, 2), their undirected ids (3T,) and the faces on each id."""
    directed = triangles[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2)
    _, edge_id, counts = np.unique(np.sort(directed, axis=1), axis=0, return_inverse=True, return_counts=True)
    return directed, edge_id.reshape(-1), counts


def _inner_faces(vertices: np.ndarray, triangles: np.ndarray, tolerance: float) -> np.ndarray:
    """Which triangles (T,) form a face inside two touching parts, written once.

    Two closed parts glued along a flat face, the face written once, meet in three patches along the face's
    border: the rest of one part, the rest of the other, and the face, every border edge shared by three faces.
    Without the face their union is closed, each of those edges shared by two. Where two such faces meet (a part
    with others glued on two sides), the edge between them has four faces and gives up two. A patch here is the
    triangles joined across edges of exactly two faces; a shared face is a flat patch whose whole border runs
    along edges of three or more faces, dropped smallest first while each border edge keeps at least two; the
    faces dropped must leave each of their border edges with exactly two, else they stay. Anything else on an
    edge of three faces (a fin) stays, for the closure check to report. The edge counts cannot tell solid from
    air: a zero-thickness wall between two spaces, or a wall written twice, looks the same, and the caller
    refuses those once the surface is oriented (:attr:`RepairedMesh.shared_faces`).
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    inner = np.zeros(len(triangles), dtype=bool)
    if not len(triangles):
        return inner
    _, edge_id, counts = undirected_edges(triangles)
    per_half = counts[edge_id]
    if not np.any(per_half == 3):
        return inner
    face = np.repeat(np.arange(len(triangles)), 3)
    order = np.argsort(edge_id, kind="stable")
    paired = order[per_half[order] == 2].reshape(-1, 2)  # the two half-edges of every two-face edge
    n = len(triangles)
    graph = coo_matrix((np.ones(len(paired)), (face[paired[:, 0]], face[paired[:, 1]])), shape=(n, n))
    n_patches, patch = connected_components(graph, directed=False)
    border = per_half != 2
    on_many = np.bincount(patch[face[border]], weights=per_half[border] >= 3, minlength=n_patches)
    on_border = np.bincount(patch[face[border]], minlength=n_patches)
    areas = _areas(vertices, triangles)
    patch_area = np.bincount(patch, weights=areas, minlength=n_patches)
    candidates = np.flatnonzero((on_border > 0) & (on_many == on_border))
    lost = np.zeros(len(counts), dtype=int)
    by_patch = np.argsort(patch, kind="stable")
    patch_start = np.searchsorted(patch[by_patch], np.arange(n_patches + 1))
    rims = {}
    for candidate in candidates[np.argsort(patch_area[candidates], kind="stable")]:
        members = by_patch[patch_start[candidate] : patch_start[candidate + 1]]
        if not _flat(vertices, triangles[members], areas[members], tolerance):
            continue
        edges = edge_id[(3 * members[:, None] + np.arange(3)).ravel()]
        rim = edges[counts[edges] >= 3]
        if np.any(counts[rim] - lost[rim] <= 2):  # neighbours across its border went already
            continue
        lost[rim] += 1
        rims[int(candidate)] = (members, rim)
    # Faces that leave a border edge with more than two (a fin beside a shared face) stay, and so may others then.
    while rims:
        unfinished = [c for c, (_, rim) in rims.items() if np.any(counts[rim] - lost[rim] != 2)]
        if not unfinished:
            break
        for candidate in unfinished:
            lost[rims.pop(candidate)[1]] -= 1
    for members, _ in rims.values():
        inner[members] = True
    return inner


def _flat(vertices: np.ndarray, triangles: np.ndarray, areas: np.ndarray, tolerance: float) -> bool:
    """Whether the triangles lie in one plane, within ``tolerance`` metres."""
    corners = vertices[triangles]
    # The largest triangle's normal (windings are not made consistent yet, so normals must not be summed).
    largest = int(np.argmax(areas))
    normal = np.cross(corners[largest, 1] - corners[largest, 0], corners[largest, 2] - corners[largest, 0])
    if areas[largest] <= 0.0:
        return False
    normal /= np.linalg.norm(normal)
    heights = (corners.reshape(-1, 3) - corners[largest, 0]) @ normal
    return bool(np.ptp(heights) <= max(tolerance, 1e-9))


def _areas(vertices: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    corners = vertices[triangles]
    return 0.5 * np.linalg.norm(np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]), axis=1)


def _count(n: int, singular: str, plural: str) -> str:
    return f"{n} {singular if n == 1 else plural}"


def _merge_vertices(
    vertices: np.ndarray, triangles: np.ndarray, tolerance: float
) -> tuple[np.ndarray, np.ndarray, int, float]:
    """Weld vertices within ``tolerance`` metres and drop unused ones.

    Returns the vertices, the renumbered triangles, how many vertices with distinct coordinates
    were merged into another, and the largest distance from a merged vertex to the one kept.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    used, triangles = np.unique(triangles, return_inverse=True)
    triangles = triangles.reshape(-1, 3)
    vertices = vertices[used]
    n = len(vertices)
    if not n:
        return vertices, triangles, 0, 0.0
    # Clusters are connected components of the "closer than the tolerance" graph (a chain of close
    # vertices becomes one vertex; it is never longer than a few tolerances in an exported mesh).
    pairs = cKDTree(vertices).query_pairs(max(tolerance, 1e-300), output_type="ndarray")
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, cluster = connected_components(graph, directed=False)
    # The first member of each cluster stands for it: clean input keeps its exact coordinates.
    _, representative = np.unique(cluster, return_index=True)
    distinct_positions = len(np.unique(np.column_stack([cluster, vertices]), axis=0))
    merged = distinct_positions - len(representative)
    farthest = float(np.max(np.linalg.norm(vertices - vertices[representative[cluster]], axis=1)))
    return vertices[representative], cluster[triangles], merged, farthest


def _degenerate(vertices: np.ndarray, triangles: np.ndarray, tolerance: float) -> np.ndarray:
    """Whether each triangle (T,) has zero area: its height over its longest side within ``tolerance``.

    Measured by height rather than area so that it agrees with the on-edge test: a triangle this
    flat has its third vertex on its longest edge, where that vertex splits the neighbours' edge.
    """
    corners = vertices[triangles]
    sides = np.linalg.norm(corners[:, [1, 2, 0]] - corners, axis=2)
    return 2.0 * _areas(vertices, triangles) <= tolerance * np.max(sides, axis=1)


def _edge_points(
    vertices: np.ndarray, edges: np.ndarray, tolerance: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every vertex on the interior of an edge: its edge index (K,), vertex index (K,) and parameter (K,).

    A vertex is on edge (a, b) when it lies within ``tolerance`` of the segment and farther than
    ``tolerance`` from both ends; ``t`` in (0, 1) is its position from a to b. Candidates come from
    a k-d tree (the vertices inside each edge's enclosing ball), so the cost is about the number of
    candidates, not V·E.
    """
    from scipy.spatial import cKDTree

    a, b = vertices[edges[:, 0]], vertices[edges[:, 1]]
    direction = b - a
    length = np.linalg.norm(direction, axis=1)
    hits = cKDTree(vertices).query_ball_point(0.5 * (a + b), 0.5 * length + tolerance, return_sorted=False)
    counts = np.fromiter((len(h) for h in hits), dtype=np.int64, count=len(hits))
    if not counts.sum():
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0)
    edge = np.repeat(np.arange(len(edges)), counts)
    point = np.concatenate([np.asarray(h, dtype=np.int64) for h in hits if len(h)])
    not_end = (point != edges[edge, 0]) & (point != edges[edge, 1])
    edge, point = edge[not_end], point[not_end]
    relative = vertices[point] - a[edge]
    along = np.einsum("ij,ij->i", relative, direction[edge]) / length[edge]  # metres from a
    off = np.linalg.norm(relative - (along / length[edge])[:, None] * direction[edge], axis=1)
    on = (off <= tolerance) & (along > tolerance) & (along < length[edge] - tolerance)
    return edge[on], point[on], along[on] / length[edge[on]]


def _split_t_junctions(
    vertices: np.ndarray, triangles: np.ndarray, splittable: np.ndarray, tolerance: float
) -> tuple[int, np.ndarray, np.ndarray]:
    """Split the triangles whose edges have vertices on their interior.

    Every triangle on such an edge is cut at each of those vertices, so the two sides of the edge
    end up with the same vertices along it (edge-conforming). Triangles keep their winding.

    Returns
    -------
    n_junctions : int
        Number of (vertex, edge) T-junctions split.
    triangles : np.ndarray of int, shape (T', 3)
        The triangles, split ones replaced by their parts (appended after the others).
    source : np.ndarray of int, shape (T',)
        Index of the input triangle each one came from.
    """
    index = np.arange(len(triangles))
    candidates = triangles[splittable]
    if not len(candidates):
        return 0, triangles, index
    directed = candidates[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2)
    edges, edge_of = np.unique(np.sort(directed, axis=1), axis=0, return_inverse=True)
    edge_of = edge_of.reshape(-1, 3)
    edge, point, t = _edge_points(vertices, edges, tolerance)
    if not len(edge):
        return 0, triangles, index
    # Vertices on each edge, ordered from its lower- to its higher-numbered end.
    order = np.lexsort((t, edge))
    edge, point = edge[order], point[order]
    bounds = np.searchsorted(edge, np.arange(len(edges) + 1))
    has_points = bounds[1:] > bounds[:-1]

    affected = np.flatnonzero(has_points[edge_of].any(axis=1))
    parents = np.flatnonzero(splittable)[affected]
    parts: list[tuple[int, int, int]] = []
    part_source: list[int] = []
    point_list = point.tolist()
    for parent, corners, ids in zip(
        parents.tolist(), candidates[affected].tolist(), edge_of[affected].tolist(), strict=True
    ):
        on_sides = []
        for side in range(3):
            u, w = corners[side], corners[(side + 1) % 3]
            run = point_list[bounds[ids[side]] : bounds[ids[side] + 1]]
            on_sides.append(run if u < w else run[::-1])  # from u to w
        pieces = _split_triangle(corners, on_sides)
        parts.extend(pieces)
        part_source.extend([parent] * len(pieces))
    keep = np.ones(len(triangles), dtype=bool)
    keep[parents] = False
    new_triangles = np.concatenate([triangles[keep], np.array(parts, dtype=np.int64).reshape(-1, 3)])
    new_source = np.concatenate([index[keep], np.array(part_source, dtype=np.int64)])
    return len(edge), new_triangles, new_source


def _split_triangle(corners: list[int], on_sides: list[list[int]]) -> list[tuple[int, int, int]]:
    """Triangulate a triangle with extra vertices on its sides, keeping its winding.

    ``on_sides[k]`` lists the vertices on the side from corner k to corner k + 1, in that order.
    The triangle is cut from the opposite corner through the middle vertex of a side, recursively:
    each cut runs between a corner and a point off the line of the other two sides, so no part is
    degenerate, and the parts are 1 + (number of extra vertices).
    """
    pieces: list[tuple[int, int, int]] = []
    stack = [((corners[0], corners[1], corners[2]), (on_sides[0], on_sides[1], on_sides[2]))]
    while stack:
        (a, b, c), (ab, bc, ca) = stack.pop()
        if not (ab or bc or ca):
            pieces.append((a, b, c))
        elif not ab:  # rotate the corners (the winding is unchanged) until side a-b has vertices
            stack.append(((b, c, a), (bc, ca, ab)))
        else:
            k = len(ab) // 2
            p = ab[k]
            stack.append(((a, p, c), (ab[:k], [], ca)))
            stack.append(((p, b, c), (ab[k + 1 :], bc, [])))
    return pieces
