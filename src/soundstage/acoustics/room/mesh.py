"""Rooms from closed triangle meshes: early reflections by image sources with visibility.

A room drawn in a modeller (Blender, SketchUp, a CAD export) arrives as a triangle mesh in
OBJ, PLY, STL, OFF or glTF (GLB). :func:`load_mesh_room` reads it, repairs what exporters get
wrong (nearly coincident vertices, T-junctions, zero-area and duplicated triangles, a face two
touching parts share written once, inconsistent winding;
:mod:`soundstage.acoustics.room.mesh_repair`) and reports it in :attr:`MeshRoom.repairs`,
checks that it is closed, turns every face's normal into the room, merges coplanar triangles of
one material into reflecting *planes* and gives each plane an absorption per octave band. Its
volume, areas and absorption feed Eyring's reverberation time for the late tail.

:func:`mesh_image_arrivals` finds the early reflections with the image-source method for
arbitrary polyhedra (Borish 1984): the source is mirrored across every plane it lies in front
of, the images again across the other planes, up to ``max_order`` reflections. An image is
*valid* when the path traced back from the listener through its mirror planes meets every
plane inside one of that plane's triangles, and *visible* when no other triangle blocks any leg
of that path. In a convex room every valid image is visible; in an L-shaped room the walls of
the inner corner hide the source and some of its images.

Every geometric test is vectorised numpy: plane crossing and point-in-triangle by barycentric
coordinates for validity, Möller–Trumbore segment–triangle intersection for occlusion, and the
generalised winding number (the sum of the solid angles the triangles subtend) for containment.

References
----------
J. Borish, "Extension of the image model to arbitrary polyhedra", J. Acoust. Soc. Am. 75(6),
1984. J. B. Allen and D. A. Berkley, "Image method for efficiently simulating small-room
acoustics", J. Acoust. Soc. Am. 65(4), 1979. T. Möller and B. Trumbore, "Fast, minimum storage
ray-triangle intersection", J. Graphics Tools 2(1), 1997. A. Jacobson et al., "Robust
inside-outside segmentation using generalized winding numbers", ACM TOG 32(4), 2013.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from soundstage.acoustics.arrivals import OCTAVE_BANDS_HZ, Arrivals
from soundstage.acoustics.room.image_arrivals import image_source_arrivals
from soundstage.acoustics.room.materials import (
    MaterialSpec,
    absorption_coefficients,
    is_material_mapping,
    scattering_coefficients,
)
from soundstage.acoustics.room.mesh_repair import repair_mesh, undirected_edges
from soundstage.acoustics.room.reverberation_time import eyring_rt60
from soundstage.conventions import DEFAULT_HEAD_RADIUS, SPEED_OF_SOUND
from soundstage.errors import InputFileError, ParameterError

#: Material of every face when a scene names none (a hard, lightly absorbing room).
DEFAULT_MATERIAL = "plaster"
#: Roles a materials mapping may use for faces whose group it does not name, by inward normal.
ROLES = ("floor", "ceiling", "walls")
#: A face whose inward normal has z above this is floor, below minus this ceiling, else wall (about 45°).
ROLE_NORMAL_Z = 0.7
#: Most image-source candidates one reflection order may generate (bounded time and memory).
MAX_CANDIDATES = 2_000_000
#: Triangles whose normals differ by less than this many radians can share a plane...
PLANE_ANGLE_TOLERANCE_RAD = 1e-5
#: ...when their plane offsets also differ by less than this fraction of the room's size.
PLANE_OFFSET_TOLERANCE = 1e-6
#: Relative tolerance of the geometric predicates (barycentric coordinates, segment parameters).
_EPS = 1e-9
#: Pairs of (segment, triangle) handled at once by the occlusion and containment tests.
_CHUNK_PAIRS = 1_000_000


@dataclass(frozen=True, eq=False)
class MeshRoom:
    """A closed room made of planar faces, each with absorption per octave band.

    Attributes
    ----------
    vertices : np.ndarray, shape (V, 3)
        Vertex positions in metres, room frame (z up).
    triangles : np.ndarray of int, shape (T, 3)
        Vertex indices of each triangle, wound so that its normal points into the room.
    plane_of_triangle : np.ndarray of int, shape (T,)
        Index of the reflecting plane (coplanar triangles of one material) of each triangle.
    plane_normals : np.ndarray, shape (P, 3)
        Unit normal of each plane, pointing into the room.
    plane_offsets : np.ndarray, shape (P,)
        ``d`` in ``n · x = d`` for each plane, in metres.
    plane_areas_m2 : np.ndarray, shape (P,)
        Area of each plane in m².
    absorption : np.ndarray, shape (P, B)
        Absorption of each plane at each band of :data:`~soundstage.acoustics.arrivals.OCTAVE_BANDS_HZ`.
    scattering : np.ndarray, shape (P, B), or None
        Scattering coefficient of each plane per band (:mod:`~soundstage.acoustics.room.materials`);
        None for a room built without materials' scattering.
    plane_names : tuple of str
        Material group (or role: floor, ceiling, walls) of each plane, for messages and reports.
    volume_m3 : float
        Enclosed volume in m³.
    source_path : str
        Where the mesh came from, for messages.
    repairs : tuple of str
        What loading repaired, one phrase per kind of defect, e.g. ``("merged 12 nearly coincident
        vertices (at most 1e-09 m apart)", "split 6 T-junctions", "dropped 4 zero-area triangles",
        "re-wound 3 triangles wound against their neighbours")``; empty when nothing was.
    """

    vertices: np.ndarray
    triangles: np.ndarray
    plane_of_triangle: np.ndarray
    plane_normals: np.ndarray
    plane_offsets: np.ndarray
    plane_areas_m2: np.ndarray
    absorption: np.ndarray
    plane_names: tuple[str, ...]
    volume_m3: float
    source_path: str
    repairs: tuple[str, ...] = ()
    scattering: np.ndarray | None = None

    @property
    def scattering_or_zero(self) -> np.ndarray:
        """Scattering of each plane per band, shape (P, B) (zero where the room was given none)."""
        return np.zeros_like(self.absorption) if self.scattering is None else self.scattering

    @property
    def surface_area_m2(self) -> float:
        """Total surface area in m²."""
        return float(np.sum(self.plane_areas_m2))

    @property
    def areas_m2(self) -> np.ndarray:
        """Area of each plane in m², shape (P,) (the name :class:`ShoeboxRoom` uses)."""
        return self.plane_areas_m2

    @property
    def diagonal_m(self) -> float:
        """Diagonal of the bounding box in metres (the scale of the geometric tolerances)."""
        return float(np.linalg.norm(np.ptp(self.vertices, axis=0)))

    def contains(self, points: np.ndarray) -> np.ndarray:
        """Whether each point lies inside the room (and outside any solid obstacle in it).

        Parameters
        ----------
        points : np.ndarray, shape (N, 3) or (3,)
            Positions in metres, in the mesh's coordinates.

        Returns
        -------
        np.ndarray of bool, shape (N,)
            True inside. Points on the surface count as outside.
        """
        points = np.atleast_2d(np.asarray(points, dtype=float))
        corners = self.vertices[self.triangles]
        # Faces point into the room, so the winding number is -1 in the room and 0 outside or
        # inside an obstacle (whose outward faces add +1).
        return _winding_number(points, corners) < -0.5

    def eyring_rt60(
        self, *, air_attenuation_db_per_m: np.ndarray | float = 0.0, speed_of_sound: float = SPEED_OF_SOUND
    ) -> np.ndarray:
        """Eyring's reverberation time per band in seconds, shape (B,)."""
        return eyring_rt60(
            self.volume_m3,
            self.plane_areas_m2,
            self.absorption,
            air_attenuation_db_per_m=air_attenuation_db_per_m,
            speed_of_sound=speed_of_sound,
        )


def load_mesh_room(
    path: str | Path,
    materials: Mapping[str, MaterialSpec] | MaterialSpec | None = None,
    *,
    scale: float = 1.0,
) -> MeshRoom:
    """Read a closed room mesh from an OBJ, PLY, STL, OFF or GLB file.

    Parameters
    ----------
    path : str or Path
        The mesh file. Coordinates are metres (times ``scale``), z up.
    materials : mapping, material or None
        None: every face is :data:`DEFAULT_MATERIAL`. One material: every face. A mapping from
        material groups (an OBJ ``usemtl`` material when its .mtl file is found, else the ``o`` and
        ``g`` names joined by ``_``, e.g. ``Room_floor``; glTF material or mesh names), the roles
        ``floor``, ``ceiling``, ``walls`` (chosen by each face's normal, for faces whose group the
        mapping does not name) and ``default`` to materials; every face must then be matched.
    scale : float, default 1
        Multiplies the coordinates (0.01 for a model drawn in centimetres).

    Returns
    -------
    MeshRoom
        With what was repaired (see :func:`mesh_room_from_arrays`) in ``repairs``.

    Raises
    ------
    InputFileError
        If the file is missing, unreadable, holds no triangles or is not a closed surface (the
        message gives the coordinates of a few open edges).
    ParameterError
        For a non-positive ``scale`` or materials that are unknown or leave faces unmatched.
    """
    path = Path(path)
    if not (np.isfinite(scale) and scale > 0):
        raise ParameterError(f"room mesh scale must be a positive number, got {scale!r}")
    if not path.is_file():
        raise InputFileError(f"{path}: room mesh file not found; check the path")
    from soundstage.cache import load_or_make

    kept = _kept_room_path(path, materials, scale)

    def load() -> MeshRoom:
        with np.load(kept, allow_pickle=False) as state:
            return _room_from_state(state, str(path))

    def make() -> tuple[MeshRoom, dict[str, np.ndarray]]:
        vertices, triangles, groups = _read_mesh_file(path)
        room = mesh_room_from_arrays(vertices * scale, triangles, groups, materials, name=str(path))
        return room, _room_state(room)

    return load_or_make(kept, load, make)


#: The modules whose code turns a mesh file into a :class:`MeshRoom`: a kept room made by other code is not used.
_ROOM_MAKERS = (
    "soundstage.acoustics.room.mesh",
    "soundstage.acoustics.room.mesh_repair",
    "soundstage.acoustics.room.materials",
)
_ROOM_ARRAYS = (
    "vertices",
    "triangles",
    "plane_of_triangle",
    "plane_normals",
    "plane_offsets",
    "plane_areas_m2",
    "absorption",
    "scattering",
)


def _kept_room_path(path: Path, materials, scale: float) -> Path:
    """Where the room made from ``path`` with ``materials`` and ``scale`` is kept (``$SOUNDSTAGE_CACHE/rooms``).

    Reading, repairing and merging a mesh into planes costs more than tracing it (SciPy's import alone is half
    a second), so a room is made once per file content, materials and scale.
    """
    import hashlib
    import json

    from soundstage.cache import kept_path

    given = json.dumps([materials, float(scale)], sort_keys=True, default=str).encode()
    if path.suffix.lower() == ".obj":
        # An OBJ's material libraries name its faces: an edited .mtl is another room.
        given += b"".join(_library_contents(path))
    return kept_path("rooms", path, hashlib.sha256(given).hexdigest()[:16], _ROOM_MAKERS)


def _library_contents(path: Path) -> list[bytes]:
    """The bytes of the ``mtllib`` files an OBJ names (empty for those that cannot be read)."""
    names = []
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            if line.startswith("mtllib"):
                names += line.split()[1:]
    contents = []
    for name in names:
        try:
            contents.append((path.parent / name).read_bytes())
        except OSError:
            contents.append(b"")
    return contents


def _room_state(room: MeshRoom) -> dict[str, np.ndarray]:
    state = {name: np.asarray(getattr(room, name)) for name in _ROOM_ARRAYS if getattr(room, name) is not None}
    state["plane_names"] = np.array(room.plane_names, dtype=str)
    state["repairs"] = np.array(room.repairs, dtype=str)
    state["volume_m3"] = np.array(room.volume_m3)
    return state


def _room_from_state(state, source_path: str) -> MeshRoom:
    arrays = {name: state[name] for name in _ROOM_ARRAYS if name in state}
    return MeshRoom(
        **arrays,
        plane_names=tuple(str(name) for name in state["plane_names"]),
        volume_m3=float(state["volume_m3"]),
        source_path=source_path,
        repairs=tuple(str(text) for text in state["repairs"]),
    )


def _read_mesh_file(path: Path) -> tuple[np.ndarray, np.ndarray, list[str] | None]:
    """Vertices (V, 3), triangles (T, 3) and per-triangle group names (or None) of a mesh file."""
    if path.suffix.lower() == ".obj":
        plain = read_plain_obj(path)
        if plain is not None:
            return plain
    import trimesh  # lazily, and only for what read_plain_obj leaves to it: importing it takes a second

    try:
        # OBJ: one geometry per object, group and material, so that their names survive.
        loaded = trimesh.load(
            str(path), force=None, process=False, split_objects=True, split_groups=True, group_material=True
        )
    except Exception as exc:  # trimesh raises many kinds for bad or unsupported files
        raise InputFileError(
            f"{path}: cannot read a triangle mesh ({type(exc).__name__}: {exc}); give an OBJ, PLY, STL, OFF or GLB file"
        ) from exc
    if isinstance(loaded, trimesh.Trimesh):
        vertices, triangles, groups = np.asarray(loaded.vertices, float), np.asarray(loaded.faces, int), None
    elif isinstance(loaded, trimesh.Scene):
        parts_v, parts_t, groups = [], [], []
        offset = 0
        for node in loaded.graph.nodes_geometry:
            transform, geometry_name = loaded.graph[node]
            geometry = loaded.geometry[geometry_name]
            if not isinstance(geometry, trimesh.Trimesh) or not len(geometry.faces):
                continue
            material = getattr(getattr(geometry, "visual", None), "material", None)
            label = getattr(material, "name", None) or str(geometry_name)
            parts_v.append(trimesh.transform_points(np.asarray(geometry.vertices, float), transform))
            parts_t.append(np.asarray(geometry.faces, int) + offset)
            groups.extend([label] * len(geometry.faces))
            offset += len(geometry.vertices)
        if not parts_t:
            raise InputFileError(f"{path}: the file holds no triangles; export the room as a triangle mesh")
        vertices, triangles = np.concatenate(parts_v), np.concatenate(parts_t)
    else:
        raise InputFileError(
            f"{path}: holds a {type(loaded).__name__}, not a triangle mesh; export the room's surfaces as triangles"
        )
    if not len(triangles):
        raise InputFileError(f"{path}: the file holds no triangles; export the room as a triangle mesh")
    return vertices, triangles, groups


def read_plain_obj(path: Path) -> tuple[np.ndarray, np.ndarray, list[str] | None] | None:
    """Vertices, triangles and group names of an OBJ file, read without trimesh; None if it needs trimesh.

    Importing trimesh, which reads every other format, takes about a second: most of a small mesh
    room's render. The triangles are trimesh's (polygons split into fans); a face is named by its
    ``usemtl`` material when the ``mtllib`` files define it, else by its ``o`` and ``g`` names joined
    by ``_`` (trimesh names faces with texture coordinates after a made-up material instead); None
    when the file names nothing. A file whose naming is ambiguous (a material no library defines,
    faces before the first group of a grouped file) or that this reader cannot read (a malformed
    line) is left to trimesh, whose errors name the problem.
    """
    vertices: list[list[float]] = []
    triangles: list[tuple[int, int, int]] = []
    labels: list[str] = []
    face_materials: list[str] = []
    libraries: list[str] = []
    obj = group = material = ""
    materials_used = False
    try:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                words = line.split()
                if not words:
                    continue
                keyword = words[0]
                if keyword == "v":
                    vertices.append([float(words[1]), float(words[2]), float(words[3])])
                elif keyword == "f":
                    corners = [int(word.split("/")[0]) for word in words[1:]]
                    if len(corners) < 3:
                        return None
                    corners = [c - 1 if c > 0 else len(vertices) + c for c in corners]
                    label = "_".join(name for name in (obj, group) if name)
                    for k in range(1, len(corners) - 1):
                        triangles.append((corners[0], corners[k], corners[k + 1]))
                        labels.append(label)
                        face_materials.append(material)
                elif keyword == "o":
                    obj = " ".join(words[1:])
                elif keyword == "g":
                    group = " ".join(words[1:])
                elif keyword == "usemtl":
                    material = " ".join(words[1:])
                    materials_used = True
                elif keyword == "mtllib":
                    libraries += words[1:]
    except (OSError, UnicodeDecodeError, ValueError, IndexError):
        return None
    if not triangles or not vertices:
        return None
    array = np.asarray(triangles, dtype=np.int64)
    if array.min() < 0 or array.max() >= len(vertices):
        return None
    if materials_used:
        # Named by material only when every face has one the libraries define (trimesh's rule).
        defined = _materials_defined(path, libraries)
        if defined is None or not all(face_materials) or not set(face_materials) <= defined:
            return None
        return np.asarray(vertices, dtype=float), array, face_materials
    if not any(labels):
        return np.asarray(vertices, dtype=float), array, None
    if not all(labels):
        return None  # some faces named, some not: trimesh names those after the file
    return np.asarray(vertices, dtype=float), array, labels


def _materials_defined(path: Path, libraries: list[str]) -> set[str] | None:
    """The material names the OBJ's ``mtllib`` files define; None if one is missing or unreadable."""
    names: set[str] = set()
    for library in libraries:
        try:
            text = (path.parent / library).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None
        names |= {line.split(maxsplit=1)[1].strip() for line in text.splitlines() if line.startswith("newmtl ")}
    return names


def mesh_room_from_arrays(
    vertices: np.ndarray,
    triangles: np.ndarray,
    groups: Sequence[str] | None,
    materials: Mapping[str, MaterialSpec] | MaterialSpec | None,
    *,
    name: str = "mesh",
) -> MeshRoom:
    """Build a :class:`MeshRoom` from vertex and triangle arrays.

    Parameters
    ----------
    vertices : np.ndarray, shape (V, 3)
        Vertex positions in metres, z up.
    triangles : np.ndarray of int, shape (T, 3)
        Vertex indices of each triangle, in any winding (it is made consistent and inward).
    groups : sequence of str, length T, or None
        Material group of each triangle, or None when the mesh has no groups.
    materials : mapping, material or None
        As for :func:`load_mesh_room`.
    name : str
        Where the mesh came from, for messages.

    Returns
    -------
    MeshRoom
        Its ``repairs`` say what was repaired before the surface was checked, in this order:
        vertices closer than :data:`~soundstage.acoustics.room.mesh_repair.MERGE_TOLERANCE` times
        the bounding-box diagonal merged; triangles on an edge with a vertex on its interior
        (a T-junction) split; zero-area and duplicated triangles dropped; a flat face two touching
        closed parts share, written once, dropped (solid on both sides: a panel against a beam);
        triangles wound against their neighbours re-wound.

    Raises
    ------
    InputFileError
        If the surface is not closed, not manifold or not orientable, or encloses no volume; the
        message names where (coordinates in metres) and what to do.
    ParameterError
        For malformed arrays, unknown materials or unmatched groups.

    Examples
    --------
    >>> import itertools
    >>> corners = np.array(list(itertools.product([0.0, 4.0], [0.0, 3.0], [0.0, 2.5])))
    >>> quads = [[0, 1, 3, 2], [4, 6, 7, 5], [0, 4, 5, 1], [2, 3, 7, 6], [0, 2, 6, 4], [1, 5, 7, 3]]
    >>> tris = np.array([t for a, b, c, d in quads for t in ([a, b, c], [a, c, d])])
    >>> room = mesh_room_from_arrays(corners, tris, None, "concrete")
    >>> len(room.plane_names), round(room.volume_m3, 9), room.surface_area_m2
    (6, 30.0, 59.0)
    """
    vertices = np.asarray(vertices, dtype=float)
    triangles = np.asarray(triangles)
    if vertices.ndim != 2 or vertices.shape[1] != 3 or not np.all(np.isfinite(vertices)):
        raise ParameterError(f"{name}: vertices must be finite with shape (V, 3), got shape {vertices.shape}")
    if triangles.ndim != 2 or triangles.shape[1] != 3 or not np.issubdtype(triangles.dtype, np.integer):
        raise ParameterError(f"{name}: triangles must be integers with shape (T, 3), got shape {triangles.shape}")
    if len(triangles) and (triangles.min() < 0 or triangles.max() >= len(vertices)):
        raise ParameterError(f"{name}: triangle vertex indices must lie in [0, {len(vertices)})")
    if groups is not None and len(groups) != len(triangles):
        raise ParameterError(f"{name}: give one group per triangle ({len(triangles)}), got {len(groups)}")
    labels = np.array([""] * len(triangles) if groups is None else [str(g) for g in groups], dtype=object)

    # Repair before checking closure: dropping zero-area slivers first would open the T-junctions
    # they close (the order matters, see mesh_repair).
    repaired = _repaired_closed(vertices, triangles.astype(np.int64), name)
    vertices, triangles, labels = repaired.vertices, repaired.triangles, labels[repaired.source_triangle]
    repairs = repaired.repairs
    size = float(np.linalg.norm(np.ptp(vertices, axis=0))) if len(vertices) else 0.0
    triangles, volume, rewound = _orient_into_room(vertices, triangles, name)
    _check_shared_faces(repaired.shared_faces, vertices[triangles], repaired.tolerance_m, name)
    if rewound:
        noun = "triangle" if rewound == 1 else "triangles"
        repairs = (*repairs, f"re-wound {rewound} {noun} wound against their neighbours")

    corners = vertices[triangles]
    cross = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    areas = 0.5 * np.linalg.norm(cross, axis=1)
    normals = cross / (2.0 * areas[:, None])
    up, down = normals[:, 2] > ROLE_NORMAL_Z, normals[:, 2] < -ROLE_NORMAL_Z
    roles = np.where(up, "floor", np.where(down, "ceiling", "walls"))
    face_names, face_coefficients = _assign_materials(labels, roles, materials, name)
    n_bands = len(OCTAVE_BANDS_HZ)

    plane_of_triangle = _merge_planes(
        normals, np.einsum("ij,ij->i", normals, corners[:, 0]), face_names, face_coefficients, size
    )
    n_planes = int(plane_of_triangle.max()) + 1
    plane_areas = np.bincount(plane_of_triangle, weights=areas, minlength=n_planes)
    weighted = np.zeros((n_planes, 3))
    np.add.at(weighted, plane_of_triangle, normals * areas[:, None])
    plane_normals = weighted / np.linalg.norm(weighted, axis=1, keepdims=True)
    centroid_offsets = np.einsum("ij,ij->i", plane_normals[plane_of_triangle], corners.mean(axis=1))
    plane_offsets = np.bincount(plane_of_triangle, weights=centroid_offsets * areas, minlength=n_planes) / plane_areas
    first = np.unique(plane_of_triangle, return_index=True)[1]
    return MeshRoom(
        vertices=vertices,
        triangles=triangles,
        plane_of_triangle=plane_of_triangle,
        plane_normals=plane_normals,
        plane_offsets=plane_offsets,
        plane_areas_m2=plane_areas,
        absorption=face_coefficients[first, :n_bands],
        plane_names=tuple(str(face_names[i]) for i in first),
        volume_m3=volume,
        source_path=name,
        repairs=repairs,
        scattering=face_coefficients[first, n_bands:],
    )


#: Cracks narrower than this fraction of the bounding-box diagonal are closed when the finer repair leaves the
#: surface open: 3 mm in a 30 m hall, acoustically nothing, but CAD exports of large rooms have such gaps.
CRACK_TOLERANCE = 1e-4


def _repaired_closed(vertices: np.ndarray, triangles: np.ndarray, name: str):
    """The mesh repaired at the fine tolerance, or at :data:`CRACK_TOLERANCE` when only that closes it."""
    repaired = repair_mesh(vertices, triangles)
    try:
        _check_repaired(repaired, name)
        return repaired
    except InputFileError as still_open:
        coarse = repair_mesh(vertices, triangles, relative_tolerance=CRACK_TOLERANCE)
        try:
            _check_repaired(coarse, name)
        except InputFileError:
            raise still_open from None
        return coarse


def _check_repaired(repaired, name: str) -> None:
    if len(repaired.triangles) < 4:
        raise InputFileError(f"{name}: the room mesh has fewer than 4 non-degenerate triangles; it encloses nothing")
    _check_closed_manifold(repaired.vertices, repaired.triangles, name, repaired.repairs)


def _check_shared_faces(shared: np.ndarray, corners: np.ndarray, tolerance_m: float, name: str) -> None:
    """Raise InputFileError if air lies on either side of a face the repair dropped as shared by touching parts.

    Dropping such a face is right where it lies inside solid (a panel against a beam, a block on a wall); the edge
    counts look the same for a zero-thickness wall between two spaces, or for a wall written twice. Each side is
    probed just off the triangle's incentre (the point farthest from its edges, so a sliver's probe stays over
    it), by the repair's own tolerance: anything thinner was merged away.
    """
    if not len(shared):
        return
    a, b, c = shared[:, 0], shared[:, 1], shared[:, 2]
    cross = np.cross(b - a, c - a)
    normal = cross / np.maximum(np.linalg.norm(cross, axis=1, keepdims=True), 1e-300)
    sides = np.stack([np.linalg.norm(b - c, axis=1), np.linalg.norm(c - a, axis=1), np.linalg.norm(a - b, axis=1)])
    perimeter = np.maximum(sides.sum(axis=0), 1e-300)
    centre = (sides[0, :, None] * a + sides[1, :, None] * b + sides[2, :, None] * c) / perimeter[:, None]
    inradius = np.linalg.norm(cross, axis=1) / perimeter
    nudge = np.minimum(tolerance_m, 0.1 * inradius)[:, None] * normal
    # Faces point into the room: the winding number is -1 in its air, 0 in solid or outside.
    air = _winding_number(np.concatenate([centre + nudge, centre - nudge]), corners) < -0.5
    air = air[: len(shared)] | air[len(shared) :]
    if air.any():
        where = _point(centre[np.argmax(air)])
        area = 0.5 * float(np.linalg.norm(cross[air], axis=1).sum())
        raise InputFileError(
            f"{name}: the room mesh is not manifold: a face of zero thickness ({area:.3g} m², around {where} m) "
            "separates two spaces or doubles a wall; give the wall a thickness, or remove the face or its copy"
        )


#: Open or overshared edges an error message locates (the rest are counted).
_EDGES_SHOWN = 3


def _check_closed_manifold(vertices: np.ndarray, triangles: np.ndarray, name: str, repairs: Sequence[str] = ()) -> None:
    """Raise InputFileError unless every edge is shared by two triangles (or 4, 6… where closed solids touch).

    The message locates a few offending edges by their ends' coordinates in metres (for open
    edges, one in each hole first), so that the user can find them in the modeller.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    directed, edge_id, counts = undirected_edges(triangles)
    repaired = f" (after these repairs: {'; '.join(repairs)})" if repairs else ""
    open_mask = counts[edge_id] == 1
    if np.any(open_mask):
        ends = directed[open_mask]  # each open edge appears once
        # Holes: connected chains of open edges, each a separate thing to fix in the modeller.
        n = len(vertices)
        graph = coo_matrix((np.ones(len(ends)), (ends[:, 0], ends[:, 1])), shape=(n, n))
        _, chain = connected_components(graph, directed=False)
        holes, first = np.unique(chain[ends[:, 0]], return_index=True)
        # One edge of each hole first, then more edges of the same holes.
        rest = np.setdiff1d(np.arange(len(ends)), first)
        shown = ends[np.concatenate([np.sort(first), rest])[:_EDGES_SHOWN]]
        raise InputFileError(
            f"{name}: the room mesh is not closed ({_plural(len(ends), 'open edge')} around "
            f"{_plural(len(holes), 'hole')}, "
            f"e.g. {_describe_edges(vertices, shown)}){repaired}; close the holes, "
            "e.g. in Blender: Select > All by Trait > Non Manifold, then Face > Fill"
        )
    # Solids touching along an edge (a cabinet's edge against a wall) share it among 4, 6… faces: each solid
    # is still closed. An odd count is a face with no partner: a fin or a doubled wall.
    shared_mask = (counts[edge_id] > 2) & (counts[edge_id] % 2 == 1)
    if np.any(shared_mask):
        ends = np.unique(np.sort(directed[shared_mask], axis=1), axis=0)
        raise InputFileError(
            f"{name}: the room mesh is not manifold ({_plural(len(ends), 'edge')} shared by an odd number of faces, "
            f"more than two, e.g. {_describe_edges(vertices, ends[:_EDGES_SHOWN])}){repaired}; "
            "separate the touching parts or remove the inner faces"
        )


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _point(position: np.ndarray) -> str:
    """``(x, y, z)`` of a position in metres, for messages."""
    # + 0.0 turns -0.0 into 0.0; six significant digits show millimetres in rooms up to 1 km.
    return "(" + ", ".join(f"{float(x) + 0.0:.6g}" for x in position) + ")"


def _describe_edges(vertices: np.ndarray, ends: np.ndarray) -> str:
    """``from (x, y, z) to (x, y, z) m`` for each edge (E, 2) of vertex indices, joined by commas."""
    return ", ".join(f"from {_point(vertices[a])} to {_point(vertices[b])} m" for a, b in ends)


def _edge_pairs(
    vertices: np.ndarray, triangles: np.ndarray, directed: np.ndarray, edge_id: np.ndarray, counts: np.ndarray
) -> np.ndarray:
    """Half-edge index pairs (E', 2) that are neighbours across each edge.

    An edge of two faces pairs them. Where closed solids touch along an edge (4, 6… faces), the faces are
    taken in their order around the edge and paired with the next one, starting where the pairs run the
    edge in opposite directions (each solid's own two faces, as its winding says).
    """
    order = np.argsort(edge_id, kind="stable")
    if np.all(counts == 2):
        return order.reshape(-1, 2)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    plain = counts[edge_id[order]] == 2
    pairs = [order[plain].reshape(-1, 2)]
    for edge in np.flatnonzero(counts > 2):
        halves = order[starts[edge] : starts[edge] + counts[edge]]
        a, b = vertices[directed[halves[0]]]
        axis = (b - a) / np.linalg.norm(b - a)
        # The third corner of each face, as an angle about the edge.
        third = vertices[triangles[halves // 3]].sum(axis=1) - vertices[directed[halves]].sum(axis=1)
        across = third - a - np.outer((third - a) @ axis, axis)
        first = across[0] / max(np.linalg.norm(across[0]), 1e-300)
        angle = np.arctan2(across @ np.cross(axis, first), across @ first)
        around = halves[np.argsort(angle, kind="stable")]
        forward = directed[around, 0] == directed[halves[0], 0]
        shift = 0 if np.all(forward[0::2] != forward[1::2]) else 1
        rolled = np.roll(around, -shift)
        pairs.append(rolled.reshape(-1, 2))
    return np.concatenate(pairs)


def _orient_into_room(vertices: np.ndarray, triangles: np.ndarray, name: str) -> tuple[np.ndarray, float, int]:
    """Wind every closed component consistently and with its normals facing the room.

    Each connected shell is first wound consistently (neighbours traverse their shared edge in
    opposite directions) and outward (positive enclosed volume). Shells enclosed by an even
    number of others bound the room and are turned inward; shells enclosed by an odd number are
    solid obstacles in the room and keep pointing outward, into the room.

    Returns
    -------
    triangles : np.ndarray, shape (T, 3)
        Re-wound triangles.
    volume_m3 : float
        Volume of the room (shells minus obstacles).
    rewound : int
        How many triangles were wound against their neighbours: in each shell, the smaller of the
        two sets of triangles that agree with one another (0 for a consistently wound mesh, even
        one wound outward throughout).
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n_tri = len(triangles)
    directed, edge_id, counts = undirected_edges(triangles)
    face = np.repeat(np.arange(n_tri), 3)
    # The two half-edges of each edge (paired around an edge where solids touch), and whether they run the same
    # way (-> one must flip).
    by_edge = _edge_pairs(vertices, triangles, directed, edge_id, counts)
    f1, f2 = face[by_edge[:, 0]], face[by_edge[:, 1]]
    same_way = directed[by_edge[:, 0], 0] == directed[by_edge[:, 1], 0]
    ones = np.ones(2 * len(f1))
    shell_graph = coo_matrix((ones[: len(f1)], (f1, f2)), shape=(n_tri, n_tri))
    n_components, component = connected_components(shell_graph, directed=False)
    # Orientation double cover: node i is triangle i as wound, node i + T the same triangle reversed.
    # Neighbours that run their shared edge the same way need opposite windings (i linked to j + T),
    # the others the same (i to j). A triangle is re-wound when its as-wound node is not on the same
    # sheet as its shell's first triangle; both nodes on one sheet means no consistent winding exists.
    shift = np.where(same_way, n_tri, 0)
    rows = np.concatenate([f1, f1 + n_tri])
    cols = np.concatenate([f2 + shift, f2 + n_tri - shift])
    _, sheet = connected_components(coo_matrix((ones, (rows, cols)), shape=(2 * n_tri, 2 * n_tri)), directed=False)
    twisted = np.flatnonzero(sheet[:n_tri] == sheet[n_tri:])
    if len(twisted):
        where = _point(vertices[triangles[component == component[twisted[0]]]].reshape(-1, 3).mean(axis=0))
        raise InputFileError(
            f"{name}: the room mesh is not orientable (a Möbius-like surface, the part around {where} m); "
            "rebuild its faces"
        )
    _, root = np.unique(component, return_index=True)
    flip = sheet[:n_tri] != sheet[root[component]]
    flipped = np.bincount(component, weights=flip, minlength=n_components)
    sizes = np.bincount(component, minlength=n_components)
    rewound = int(np.sum(np.minimum(flipped, sizes - flipped)))
    triangles = np.where(flip[:, None], triangles[:, ::-1], triangles)

    corners = vertices[triangles]
    signed = np.einsum("ij,ij->i", corners[:, 0], np.cross(corners[:, 1], corners[:, 2])) / 6.0
    shell_volume = np.bincount(component, weights=signed, minlength=n_components)
    flat = np.flatnonzero(np.abs(shell_volume) <= (_EPS * float(np.linalg.norm(np.ptp(vertices, axis=0)))) ** 3)
    if len(flat):
        where = _point(corners[component == flat[0]].reshape(-1, 3).mean(axis=0))
        raise InputFileError(
            f"{name}: a closed part of the room mesh (around {where} m) encloses no volume; "
            "remove flat or inside-out parts"
        )
    outward = np.where((shell_volume < 0)[component][:, None], triangles[:, ::-1], triangles)
    # How many other (outward) shells enclose each shell: the winding number at one of its vertices.
    depth = np.zeros(n_components, dtype=int)
    if n_components > 1:
        size = float(np.linalg.norm(np.ptp(vertices, axis=0)))
        for c in range(n_components):
            # Probed just off the middle of the shell's largest face: a vertex (or the face itself) can lie on
            # another shell where solids touch, and the winding number there is one half.
            faces = vertices[outward[component == c]]
            normals = np.cross(faces[:, 1] - faces[:, 0], faces[:, 2] - faces[:, 0])
            largest = int(np.argmax(np.linalg.norm(normals, axis=1)))
            nudge = 1e-6 * size * normals[largest] / np.linalg.norm(normals[largest])
            probe = (faces[largest].mean(axis=0) + nudge)[None, :]
            others = vertices[outward[component != c]]
            depth[c] = int(np.rint(_winding_number(probe, others)[0]))
    boundary = depth % 2 == 0
    oriented = np.where(boundary[component][:, None], outward[:, ::-1], outward)
    volume = float(np.sum(np.where(boundary, 1.0, -1.0) * np.abs(shell_volume)))
    if volume <= 0:
        raise InputFileError(f"{name}: the room mesh encloses no volume; check that it is one closed room")
    return oriented, volume, rewound


def _assign_materials(
    labels: np.ndarray,
    roles: np.ndarray,
    materials: Mapping[str, MaterialSpec] | MaterialSpec | None,
    name: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Name (group or role) and coefficients (T, 2B) of every triangle: absorption, then scattering per band."""
    names = np.where(labels != "", labels, roles).astype(object)  # the group where there is one
    if materials is None or not isinstance(materials, Mapping) or is_material_mapping(materials):
        spec = DEFAULT_MATERIAL if materials is None else materials
        coefficients = _coefficients(spec, "room.materials")
        return names, np.repeat(coefficients[None, :], len(labels), axis=0)
    given = dict(materials)
    groups = sorted({str(g) for g in labels if g})
    stray = [key for key in given if key not in groups and key not in ROLES and key != "default"]
    if stray:
        raise ParameterError(
            f"room.materials: {stray[0]!r} matches no group of {name} (groups: {', '.join(groups) or 'none'}); "
            "use a group name, floor, ceiling, walls or default"
        )
    resolved = {key: _coefficients(spec, f"room.materials.{key}") for key, spec in given.items()}
    coefficients = np.full((len(labels), 2 * len(OCTAVE_BANDS_HZ)), np.nan)
    by_group = np.array([str(g) in given for g in labels], dtype=bool)
    for key in given:
        if key in groups:
            coefficients[labels == key] = resolved[key]
    by_role = ~by_group & np.isin(roles, list(given))
    for role in ROLES:
        if role in given:
            coefficients[by_role & (roles == role)] = resolved[role]
    unmatched = ~by_group & ~by_role
    if np.any(unmatched):
        if "default" not in given:
            missing = sorted(
                {str(g) or f"(no group, {r})" for g, r in zip(labels[unmatched], roles[unmatched], strict=True)}
            )
            raise ParameterError(
                f"room.materials: no material for the mesh groups {', '.join(missing)} of {name}; name them, "
                "or give floor, ceiling, walls or default"
            )
        coefficients[unmatched] = resolved["default"]
    # Faces given their material by role are reported by role.
    return np.where(by_role, roles, names).astype(object), coefficients


def _coefficients(spec: MaterialSpec, field: str) -> np.ndarray:
    """A material's absorption and scattering per band, end to end (2B,)."""
    return np.concatenate([absorption_coefficients(spec, field=field), scattering_coefficients(spec, field=field)])


def _merge_planes(
    normals: np.ndarray, offsets: np.ndarray, names: np.ndarray, absorption: np.ndarray, size: float
) -> np.ndarray:
    """Plane index (T,) of each triangle: coplanar triangles with the same name and material share one."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    # Feature space where one unit of distance is the angle tolerance, in normal and in offset alike;
    # different materials are placed far apart so they never merge.
    ids: dict[tuple[str, tuple[float, ...]], int] = {}
    material_id = np.array(
        [ids.setdefault((str(n), tuple(a)), len(ids)) for n, a in zip(names, absorption, strict=True)]
    )
    offset_scale = PLANE_ANGLE_TOLERANCE_RAD / (PLANE_OFFSET_TOLERANCE * max(size, 1e-300))
    features = np.column_stack([normals, offsets * offset_scale, material_id * 10.0])
    # The triangles of one plane have (nearly) equal features, so linking every pair within range
    # costs O(T²) for a finely meshed wall (0.6 s for 6000 triangles). Features in one cell of 1/100
    # of the range are within range of one another anyway: collapse each cell to one point first.
    cell = np.floor(features / (PLANE_ANGLE_TOLERANCE_RAD / 100.0)).astype(np.int64)
    _, representative, cell_of = np.unique(cell, axis=0, return_index=True, return_inverse=True)
    pairs = cKDTree(features[representative]).query_pairs(PLANE_ANGLE_TOLERANCE_RAD, output_type="ndarray")
    n = len(representative)
    graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, plane_of_cell = connected_components(graph, directed=False)
    plane = plane_of_cell[cell_of.reshape(-1)]
    # Number the planes in order of first appearance (stable, readable reports).
    _, first, inverse = np.unique(plane, return_index=True, return_inverse=True)
    rank = np.empty(len(first), dtype=np.int64)
    rank[np.argsort(first)] = np.arange(len(first))
    return rank[inverse.reshape(-1)]


def _winding_number(points: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """Generalised winding number (N,) of points (N, 3) w.r.t. triangles (T, 3, 3): +1 inside outward faces."""
    result = np.zeros(len(points))
    step = max(1, _CHUNK_PAIRS // max(len(corners), 1))
    for start in range(0, len(points), step):
        rel = corners[None, :, :, :] - points[start : start + step, None, None, :]  # (n, T, 3, 3)
        a, b, c = rel[:, :, 0], rel[:, :, 1], rel[:, :, 2]
        la, lb, lc = (np.linalg.norm(x, axis=-1) for x in (a, b, c))
        numerator = np.einsum("ntk,ntk->nt", a, np.cross(b, c))
        denominator = (
            la * lb * lc
            + np.einsum("ntk,ntk->nt", a, b) * lc
            + np.einsum("ntk,ntk->nt", a, c) * lb
            + np.einsum("ntk,ntk->nt", b, c) * la
        )
        # Van Oosterom & Strackee: the solid angle of a triangle is 2 atan2(num, den).
        result[start : start + step] = np.sum(np.arctan2(numerator, denominator), axis=1) / (2.0 * np.pi)
    return result


def mesh_image_arrivals(
    room: MeshRoom,
    source_position: np.ndarray,
    listener_position: np.ndarray,
    listener_rotation: np.ndarray,
    *,
    max_order: int = 2,
    speed_of_sound: float = SPEED_OF_SOUND,
    air_absorption_db_per_m: np.ndarray | None = None,
    max_delay_s: float | None = None,
    head_radius: float = DEFAULT_HEAD_RADIUS,
    scattering: np.ndarray | None = None,
) -> tuple[Arrivals, np.ndarray]:
    """The direct sound and the visible image sources of a point source in a mesh room.

    Parameters
    ----------
    room : MeshRoom
    source_position, listener_position : np.ndarray, shape (3,)
        Positions in metres, in the mesh's coordinates; both must be inside the room.
    listener_rotation : np.ndarray, shape (3, 3)
        Head-to-room rotation (:func:`soundstage.conventions.rotation_matrix`).
    max_order : int, default 2
        Most reflections per path (0: the direct sound only).
    speed_of_sound : float, default 343
        In m/s.
    air_absorption_db_per_m : np.ndarray or None, shape (B,)
        Attenuation of air in each band of ``OCTAVE_BANDS_HZ``, or None for none.
    max_delay_s : float or None
        Drop arrivals later than this many seconds (None: keep all up to ``max_order``).
    head_radius : float, default 0.0875
        A source closer than this to the listener is inside the head.
    scattering : np.ndarray or None, shape (P, B)
        Scattering of each plane: each reflection then keeps only its specular share ``√(1 − s)``
        (the scattered share reaches the listener through
        :func:`~soundstage.acoustics.room.ray_tracing.trace_energy`). None: all of it.

    Returns
    -------
    arrivals : Arrivals
        Banded (on ``OCTAVE_BANDS_HZ``) arrivals in order of reflection order: delay ``r / c``,
        gain ``1/r`` (0 dB at 1 m) times ``√(1 − α)`` of every plane on the path (and air),
        direction from the listener towards the image in the head frame. Empty when nothing
        reaches the listener within the order and delay limits.
    order : np.ndarray of int, shape (K,)
        Reflection order of each arrival (0 = direct sound).

    Raises
    ------
    ParameterError
        If the source or the listener is outside the room, the source is inside the head, an
        argument is malformed, or ``max_order`` would need more than :data:`MAX_CANDIDATES`
        image candidates.

    Examples
    --------
    >>> import itertools
    >>> corners = np.array(list(itertools.product([0.0, 4.0], [0.0, 3.0], [0.0, 2.5])))
    >>> quads = [[0, 1, 3, 2], [4, 6, 7, 5], [0, 4, 5, 1], [2, 3, 7, 6], [0, 2, 6, 4], [1, 5, 7, 3]]
    >>> tris = np.array([t for a, b, c, d in quads for t in ([a, b, c], [a, c, d])])
    >>> room = mesh_room_from_arrays(corners, tris, None, 0.2)
    >>> arrivals, order = mesh_image_arrivals(room, [1.0, 1.0, 1.2], [3.0, 2.0, 1.5], np.eye(3), max_order=1)
    >>> order.tolist()   # the direct sound and one reflection off each of the 6 walls
    [0, 1, 1, 1, 1, 1, 1]
    """
    source = _position(source_position, "source_position")
    listener = _position(listener_position, "listener_position")
    rotation = np.asarray(listener_rotation, dtype=float)
    if rotation.shape != (3, 3) or not np.all(np.isfinite(rotation)):
        raise ParameterError(f"listener_rotation must be a finite (3, 3) matrix, got shape {rotation.shape}")
    if isinstance(max_order, bool) or not isinstance(max_order, (int, np.integer)) or max_order < 0:
        raise ParameterError(f"room.max_order must be a whole number >= 0, got {max_order!r}")
    if not (np.isfinite(speed_of_sound) and speed_of_sound > 0):
        raise ParameterError(f"speed_of_sound must be a positive number of m/s, got {speed_of_sound!r}")
    if max_delay_s is not None and not (np.isfinite(max_delay_s) and max_delay_s > 0):
        raise ParameterError(f"max_delay_s must be a positive number of seconds, got {max_delay_s!r}")
    inside = room.contains(np.stack([source, listener]))
    for which, position, ok in (("source", source, inside[0]), ("listener", listener, inside[1])):
        if not ok:
            raise ParameterError(
                f"the {which} at {position.tolist()} m is outside the room mesh {room.source_path}; "
                "positions are in the mesh's own coordinates (after its scale), so move it inside"
            )
    distance = float(np.linalg.norm(source - listener))
    if distance < head_radius:
        raise ParameterError(
            f"source is {distance:.3f} m from the listener, inside the head (radius {head_radius} m); "
            "move it further away"
        )

    max_distance = np.inf if max_delay_s is None else max_delay_s * speed_of_sound
    images, orders, chains = visible_images(room, source, listener, max_order=max_order, max_distance_m=max_distance)
    log_reflection = log_pressure_reflection(room.absorption, scattering)
    log_gain = np.zeros((len(images), len(OCTAVE_BANDS_HZ)))
    for k, chain in enumerate(chains):
        for plane in chain:
            log_gain[k] += log_reflection[plane]
    arrivals = image_source_arrivals(
        images,
        log_gain,
        listener,
        rotation,
        speed_of_sound=speed_of_sound,
        air_absorption_db_per_m=air_absorption_db_per_m,
    )
    return arrivals, orders


def log_pressure_reflection(absorption: np.ndarray, scattering: np.ndarray | None = None) -> np.ndarray:
    """Natural log of each plane's pressure reflection coefficient per band, shape (P, B).

    ``√(1 − α)``; with ``scattering``, times ``√(1 − s)``: the specular share of the reflection, when the
    scattered share reaches the listener another way (:mod:`~soundstage.acoustics.room.ray_tracing`).
    """
    log_reflection = 0.5 * np.log1p(-np.asarray(absorption, dtype=float))
    if scattering is not None:
        log_reflection = log_reflection + 0.5 * np.log1p(-np.minimum(scattering, 1.0 - 1e-12))
    return log_reflection


def visible_images(
    room: MeshRoom, source: np.ndarray, listener: np.ndarray, *, max_order: int, max_distance_m: float
) -> tuple[np.ndarray, np.ndarray, list[tuple[int, ...]]]:
    """The image sources whose paths reach the listener: positions (K, 3), orders (K,) and plane chains.

    Each chain lists the planes the path reflects off, first reflection first (empty for the direct sound).
    Positions and listener are in the mesh's coordinates; both must be inside the room.
    """
    geometry = _Geometry.of(room)
    max_distance = max_distance_m
    found_images, found_orders, found_planes = [], [], []
    # Order 0: the source itself, its "path" the straight line (checked for occlusion below).
    chain = source[None, None, :]  # (N, order + 1, 3): the source and its successive images
    planes = np.zeros((1, 0), dtype=np.int64)  # (N, order): mirror planes, first reflection first
    for order in range(max_order + 1):
        if order > 0:
            chain, planes = _mirror(geometry, chain, planes, room.source_path)
        if not len(chain):
            break
        # A valid path is no longer than the straight line to its parent image, so images
        # farther than the longest delay can be pruned with all their descendants.
        images = chain[:, -1]
        near = np.linalg.norm(images - listener, axis=1) <= max_distance
        chain, planes = chain[near], planes[near]
        visible = np.flatnonzero(_visible_paths(geometry, chain, planes, listener))
        # Paths into a corner of perpendicular walls reach one image by two orders of reflection
        # (x then y, y then x): one arrival, as in the box's image lattice.
        key = np.round(chain[visible, -1] / (_EPS * geometry.size)).astype(np.int64)
        visible = visible[np.sort(np.unique(key, axis=0, return_index=True)[1])] if len(visible) else visible
        found_images.append(chain[visible, -1])
        found_orders.append(np.full(len(visible), order))
        found_planes.extend(tuple(int(p) for p in row) for row in planes[visible])
    return np.concatenate(found_images), np.concatenate(found_orders), found_planes


def _position(value: np.ndarray, field: str) -> np.ndarray:
    position = np.asarray(value, dtype=float)
    if position.shape != (3,) or not np.all(np.isfinite(position)):
        raise ParameterError(f"{field} must be three finite coordinates in metres, got {np.asarray(value).tolist()}")
    return position


@dataclass(frozen=True, eq=False)
class _Geometry:
    """Per-triangle arrays the image-source tests need, computed once per call."""

    normals: np.ndarray  # (P, 3) plane normals, into the room
    offsets: np.ndarray  # (P,)
    corner0: np.ndarray  # (T, 3) first corner of each triangle
    edge1: np.ndarray  # (T, 3) second minus first corner
    edge2: np.ndarray  # (T, 3) third minus first corner
    plane_of_triangle: np.ndarray  # (T,)
    triangles_of_plane: tuple[np.ndarray, ...]  # triangle indices of each plane
    size: float  # bounding-box diagonal, the scale of the tolerances

    @classmethod
    def of(cls, room: MeshRoom) -> _Geometry:
        corners = room.vertices[room.triangles]
        order = np.argsort(room.plane_of_triangle, kind="stable")
        bounds = np.searchsorted(room.plane_of_triangle[order], np.arange(len(room.plane_offsets) + 1))
        return cls(
            normals=room.plane_normals,
            offsets=room.plane_offsets,
            corner0=corners[:, 0],
            edge1=corners[:, 1] - corners[:, 0],
            edge2=corners[:, 2] - corners[:, 0],
            plane_of_triangle=room.plane_of_triangle,
            triangles_of_plane=tuple(order[bounds[p] : bounds[p + 1]] for p in range(len(bounds) - 1)),
            size=room.diagonal_m,
        )


def _mirror(geometry: _Geometry, chain: np.ndarray, planes: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Mirror every image across every plane it lies in front of, except the one it came from."""
    n_images, n_planes = len(chain), len(geometry.offsets)
    if n_images * n_planes > MAX_CANDIDATES:
        raise ParameterError(
            f"room.max_order: reflection order {planes.shape[1] + 1} in {name} needs "
            f"{n_images * n_planes:,} image candidates (more than {MAX_CANDIDATES:,}); "
            "lower max_order or decimate the mesh (fewer planes)"
        )
    images = chain[:, -1]
    height = images @ geometry.normals.T - geometry.offsets  # (N, P): signed distance in front of each plane
    allowed = height > _EPS * geometry.size
    if planes.shape[1]:
        allowed[np.arange(n_images), planes[:, -1]] = False
    parent, plane = np.nonzero(allowed)
    mirrored = images[parent] - 2.0 * height[parent, plane][:, None] * geometry.normals[plane]
    new_chain = np.concatenate([chain[parent], mirrored[:, None, :]], axis=1)
    new_planes = np.concatenate([planes[parent], plane[:, None]], axis=1)
    return new_chain, new_planes


def _visible_paths(geometry: _Geometry, chain: np.ndarray, planes: np.ndarray, listener: np.ndarray) -> np.ndarray:
    """Which images (N,) have a valid and unobstructed path to the listener."""
    n_images, order = planes.shape
    valid = np.ones(n_images, dtype=bool)
    # Path vertices from the listener back to the source: listener, x_n, ..., x_1, source.
    vertices = np.empty((n_images, order + 2, 3))
    vertices[:, 0] = listener
    vertices[:, -1] = chain[:, 0]
    start = np.broadcast_to(listener, (n_images, 3))
    for step in range(order):
        m = order - step  # reflection m (1-based from the source) lies on plane planes[:, m - 1]
        plane = planes[:, m - 1]
        image = chain[:, m]
        normal, offset = geometry.normals[plane], geometry.offsets[plane]
        direction = image - start
        denominator = np.einsum("ij,ij->i", normal, direction)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = (offset - np.einsum("ij,ij->i", normal, start)) / denominator
        # Inclusive at the start: a path into a corner reflects off both walls at the same point
        # (a zero-length leg), as the image-source lattice of a box says it does.
        valid &= (t > -_EPS) & (t < 1.0 - _EPS)
        point = start + np.where(valid, t, 0.0)[:, None] * direction
        valid &= _on_plane_triangles(geometry, point, plane, valid)
        vertices[:, step + 1] = point
        start = point
    candidates = np.nonzero(valid)[0]
    if not len(candidates):
        return valid
    # Legs: vertices k -> k + 1; their end planes are excluded from the occlusion test.
    path_planes = np.full((len(candidates), order + 2), -1, dtype=np.int64)
    path_planes[:, 1 : order + 1] = planes[candidates][:, ::-1]
    seg_start = vertices[candidates, :-1].reshape(-1, 3)
    seg_end = vertices[candidates, 1:].reshape(-1, 3)
    ends_a = path_planes[:, :-1].reshape(-1)
    ends_b = path_planes[:, 1:].reshape(-1)
    blocked = _segments_blocked(geometry, seg_start, seg_end, ends_a, ends_b).reshape(len(candidates), order + 1)
    valid[candidates[np.any(blocked, axis=1)]] = False
    return valid


def _on_plane_triangles(geometry: _Geometry, points: np.ndarray, plane: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Whether each point (N, 3), lying on plane ``plane[i]``, is inside one of that plane's triangles."""
    inside = np.zeros(len(points), dtype=bool)
    for p in np.unique(plane[mask]):
        rows = np.nonzero(mask & (plane == p))[0]
        tri = geometry.triangles_of_plane[p]
        e1, e2 = geometry.edge1[tri], geometry.edge2[tri]  # (t, 3)
        rel = points[rows, None, :] - geometry.corner0[tri][None, :, :]  # (n, t, 3)
        d11, d12, d22 = (np.einsum("ij,ij->i", x, y) for x, y in ((e1, e1), (e1, e2), (e2, e2)))
        r1, r2 = np.einsum("ntk,tk->nt", rel, e1), np.einsum("ntk,tk->nt", rel, e2)
        det = d11 * d22 - d12**2
        u = (d22 * r1 - d12 * r2) / det
        v = (d11 * r2 - d12 * r1) / det
        # Inclusive: a point on the shared edge of two triangles of one plane is on the plane.
        hit = (u >= -_EPS) & (v >= -_EPS) & (u + v <= 1.0 + _EPS)
        inside[rows] = np.any(hit, axis=1)
    return inside


def _segments_blocked(
    geometry: _Geometry, start: np.ndarray, end: np.ndarray, plane_a: np.ndarray, plane_b: np.ndarray
) -> np.ndarray:
    """Whether any triangle not on the end planes crosses each segment (S,) (Möller–Trumbore)."""
    n_tri = len(geometry.corner0)
    blocked = np.zeros(len(start), dtype=bool)
    step = max(1, _CHUNK_PAIRS // max(n_tri, 1))
    e1, e2, v0 = geometry.edge1[None], geometry.edge2[None], geometry.corner0[None]
    for lo in range(0, len(start), step):
        o, d = start[lo : lo + step, None, :], (end - start)[lo : lo + step, None, :]
        pvec = np.cross(d, e2)  # (s, T, 3)
        det = np.einsum("stk,stk->st", np.broadcast_to(e1, pvec.shape), pvec)
        parallel = np.abs(det) <= _EPS * np.linalg.norm(d, axis=-1) * np.linalg.norm(e1, axis=-1) * np.linalg.norm(
            e2, axis=-1
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            inv = 1.0 / det
            tvec = o - v0
            u = np.einsum("stk,stk->st", tvec, pvec) * inv
            qvec = np.cross(tvec, e1)
            v = np.einsum("stk,stk->st", np.broadcast_to(d, qvec.shape), qvec) * inv
            t = np.einsum("stk,stk->st", np.broadcast_to(e2, qvec.shape), qvec) * inv
            hit = ~parallel & (u >= -_EPS) & (v >= -_EPS) & (u + v <= 1.0 + _EPS) & (t > _EPS) & (t < 1.0 - _EPS)
        own = geometry.plane_of_triangle[None, :]
        hit &= (own != plane_a[lo : lo + step, None]) & (own != plane_b[lo : lo + step, None])
        blocked[lo : lo + step] = np.any(hit, axis=1)
    return blocked
