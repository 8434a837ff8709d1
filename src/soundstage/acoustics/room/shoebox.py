"""Rectangular (shoebox) rooms: the image-source method with exact image positions.

A room of size ``(L_x, L_y, L_z)`` has one corner at the origin and its walls on the
coordinate planes, z up. Mirroring the source ``s`` across the walls over and over gives the
lattice of image sources (Allen & Berkley 1979)

    ``x = (1 − 2 q) s_x + 2 n L_x``,  ``q ∈ {0, 1}``, ``n ∈ ℤ``   (likewise y and z)

whose path to the listener bounces ``|n − q|`` times off the wall at ``x = 0`` and ``|n|``
times off the wall at ``x = L_x``: reflection order ``|2n − q|`` along x. Each image is an
arrival with delay ``r / c``, pressure gain ``1/r`` times ``√(1 − α)`` per band for every wall
it bounced off, and the direction from the listener towards the image.

Images are enumerated by distance (all images within ``c · max_delay_s``) and optionally by
order, so the work and memory grow with the number of images kept, not with a lattice box.

References
----------
J. B. Allen and D. A. Berkley, "Image method for efficiently simulating small-room acoustics",
J. Acoust. Soc. Am. 65(4), 1979. E. De Sena et al., "On the modeling of rectangular geometries in
room acoustic simulations", IEEE/ACM TASLP 23(4), 2015 (randomised image positions).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from soundstage.acoustics.arrivals import OCTAVE_BANDS_HZ, Arrivals
from soundstage.acoustics.room.image_arrivals import image_source_arrivals
from soundstage.acoustics.room.materials import MaterialSpec, absorption_coefficients, is_material_mapping
from soundstage.acoustics.room.reverberation_time import eyring_rt60
from soundstage.conventions import SPEED_OF_SOUND
from soundstage.errors import ParameterError

#: The six surfaces, in the order of :attr:`ShoeboxRoom.absorption` rows: the planes x = 0, x = L_x,
#: y = 0, y = L_y, z = 0, z = L_z. A listener at rest faces +x, so ``front`` is the far x wall and
#: ``left`` the far y wall (+y is left).
SURFACES = ("back", "front", "right", "left", "floor", "ceiling")
#: Names that set several surfaces at once, applied before the single surfaces.
SURFACE_GROUPS = {"walls": ("back", "front", "right", "left")}
#: Material of every surface a scene names no material for.
DEFAULT_MATERIALS = {"walls": "plaster", "floor": "wood_floor", "ceiling": "plaster"}
#: Most image sources one call may produce (bounded memory); the late tail takes over beyond.
MAX_IMAGES = 2_000_000


@dataclass(frozen=True)
class ShoeboxRoom:
    """A rectangular room with absorption per surface and octave band.

    Attributes
    ----------
    size_m : np.ndarray, shape (3,)
        Lengths along x, y, z in metres.
    absorption : np.ndarray, shape (6, B)
        Absorption of each surface (rows in :data:`SURFACES` order) at each band of
        :data:`~soundstage.acoustics.arrivals.OCTAVE_BANDS_HZ`, in [0, 1).
    """

    size_m: np.ndarray
    absorption: np.ndarray

    def __post_init__(self) -> None:
        size = np.asarray(self.size_m, dtype=float)
        if size.shape != (3,) or not np.all(np.isfinite(size)) or np.any(size <= 0):
            raise ParameterError(f"room.shoebox.size must be three positive lengths in metres, got {size.tolist()}")
        absorption = np.asarray(self.absorption, dtype=float)
        if absorption.shape != (6, len(OCTAVE_BANDS_HZ)):
            raise ParameterError(f"shoebox absorption must have shape (6, {len(OCTAVE_BANDS_HZ)})")
        if np.any(absorption < 0) or np.any(absorption >= 1):
            raise ParameterError("room absorption coefficients must be in [0, 1)")

    @property
    def volume_m3(self) -> float:
        """Volume in m³."""
        return float(np.prod(self.size_m))

    @property
    def areas_m2(self) -> np.ndarray:
        """Area of each surface in :data:`SURFACES` order, shape (6,)."""
        lx, ly, lz = self.size_m
        return np.array([ly * lz, ly * lz, lx * lz, lx * lz, lx * ly, lx * ly])

    def contains(self, points: np.ndarray) -> np.ndarray:
        """Whether each point (N, 3) lies strictly inside the room, shape (N,)."""
        points = np.atleast_2d(np.asarray(points, dtype=float))
        return np.all((points > 0) & (points < self.size_m), axis=1)

    def eyring_rt60(
        self, *, air_attenuation_db_per_m: np.ndarray | float = 0.0, speed_of_sound: float = SPEED_OF_SOUND
    ) -> np.ndarray:
        """Eyring's reverberation time per band in seconds, shape (B,)."""
        return eyring_rt60(
            self.volume_m3,
            self.areas_m2,
            self.absorption,
            air_attenuation_db_per_m=air_attenuation_db_per_m,
            speed_of_sound=speed_of_sound,
        )


def surface_absorption(materials: Mapping[str, MaterialSpec] | MaterialSpec | None) -> np.ndarray:
    """Absorption (6, B) of the shoebox surfaces from a scene's ``materials``.

    Parameters
    ----------
    materials : mapping, material or None
        One material for every surface, or a mapping from surface names (:data:`SURFACES`) and
        ``walls`` to materials; surfaces it does not name take :data:`DEFAULT_MATERIALS`.
        None uses the defaults throughout.

    Returns
    -------
    np.ndarray, shape (6, len(OCTAVE_BANDS_HZ))

    Raises
    ------
    ParameterError
        For an unknown surface or a bad material (see
        :func:`~soundstage.acoustics.room.materials.absorption_coefficients`).

    Examples
    --------
    >>> a = surface_absorption({"walls": 0.1, "floor": "carpet"})
    >>> a[:, 0].tolist()   # 125 Hz: four walls, carpet floor, plaster ceiling
    [0.1, 0.1, 0.1, 0.1, 0.02, 0.013]
    """
    if materials is None or not isinstance(materials, Mapping) or is_material_mapping(materials):
        given: dict[str, MaterialSpec] = dict(DEFAULT_MATERIALS) if materials is None else {"default": materials}
    else:
        given = dict(materials)
    unknown = set(given) - set(SURFACES) - set(SURFACE_GROUPS) - {"default"}
    if unknown:
        raise ParameterError(
            f"room.materials: unknown surface {sorted(unknown)[0]!r}; use walls, {', '.join(SURFACES)} or default"
        )
    chosen: dict[str, tuple[str, MaterialSpec]] = {}
    fallback = given.get("default")
    for surface in SURFACES:
        group = "walls" if surface in SURFACE_GROUPS["walls"] else surface
        if surface in given:
            chosen[surface] = (surface, given[surface])
        elif group in given:
            chosen[surface] = (group, given[group])
        elif fallback is not None:
            chosen[surface] = ("default", fallback)
        else:
            chosen[surface] = (group, DEFAULT_MATERIALS[group])
    return np.stack(
        [absorption_coefficients(spec, field=f"room.materials.{key}") for key, spec in chosen.values()], axis=0
    )


def image_sources(
    room: ShoeboxRoom,
    source_position: np.ndarray,
    listener_position: np.ndarray,
    *,
    max_distance_m: float,
    max_order: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Every image source within ``max_distance_m`` of the listener (and up to ``max_order``).

    Parameters
    ----------
    room : ShoeboxRoom
    source_position, listener_position : np.ndarray, shape (3,)
        Room coordinates in metres.
    max_distance_m : float
        Keep images at most this far from the listener (``c`` times the longest delay wanted).
    max_order : int or None
        Keep images with at most this many reflections (None: no limit).

    Returns
    -------
    positions : np.ndarray, shape (N, 3)
        Image positions in metres, the source itself (order 0) first when it is kept.
    hits : np.ndarray of int, shape (N, 6)
        How often each image's path reflects off each surface (:data:`SURFACES` order).

    Raises
    ------
    ParameterError
        If more than :data:`MAX_IMAGES` images would be kept.
    """
    size = np.asarray(room.size_m, dtype=float)
    source = np.asarray(source_position, dtype=float)
    listener = np.asarray(listener_position, dtype=float)
    # Per axis: every (n, q) whose coordinate lies within max_distance of the listener.
    axes = [_axis_images(source[i], listener[i], size[i], max_distance_m, max_order) for i in range(3)]
    (x, x_hits, x_order), (y, y_hits, y_order), (z, z_hits, z_order) = axes
    estimate = 4.0 / 3.0 * np.pi * max_distance_m**3 / room.volume_m3
    if max_order is not None:
        # A shoebox has 4n² + 2 images of order n ≥ 1.
        estimate = min(estimate, 1 + sum(4 * n * n + 2 for n in range(1, max_order + 1)))
    if estimate > MAX_IMAGES:
        raise ParameterError(
            f"room: about {estimate:.2g} image sources would be needed (more than {MAX_IMAGES:.0e}); "
            "keep room.late_reverb on, or lower room.max_order or room.mixing_time"
        )
    positions, hits = [], []
    yz_distance2 = (y[:, None] - listener[1]) ** 2 + (z[None, :] - listener[2]) ** 2
    yz_order = y_order[:, None] + z_order[None, :]
    for i in range(len(x)):
        keep = (x[i] - listener[0]) ** 2 + yz_distance2 <= max_distance_m**2
        if max_order is not None:
            keep &= x_order[i] + yz_order <= max_order
        iy, iz = np.nonzero(keep)
        if not len(iy):
            continue
        positions.append(np.stack([np.full(len(iy), x[i]), y[iy], z[iz]], axis=1))
        hits.append(np.concatenate([np.repeat(x_hits[i][None, :], len(iy), axis=0), y_hits[iy], z_hits[iz]], axis=1))
    if not positions:
        return np.zeros((0, 3)), np.zeros((0, 6), dtype=np.int64)
    positions_all = np.concatenate(positions)
    hits_all = np.concatenate(hits)
    order = np.argsort(hits_all.sum(axis=1), kind="stable")
    return positions_all[order], hits_all[order]


def _axis_images(
    source: float, listener: float, length: float, max_distance: float, max_order: int | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Image coordinates along one axis, their hits on the (low, high) walls and their order."""
    n_max = int(np.ceil((abs(listener) + max_distance + length) / (2.0 * length))) + 1
    n = np.arange(-n_max, n_max + 1)
    n, q = np.repeat(n, 2), np.tile([0, 1], len(n))
    coordinate = (1 - 2 * q) * source + 2 * n * length
    hits = np.stack([np.abs(n - q), np.abs(n)], axis=1)
    order = hits.sum(axis=1)
    keep = np.abs(coordinate - listener) <= max_distance
    if max_order is not None:
        keep &= order <= max_order
    return coordinate[keep], hits[keep], order[keep]


def shoebox_arrivals(
    room: ShoeboxRoom,
    source_position: np.ndarray,
    listener_position: np.ndarray,
    listener_rotation: np.ndarray,
    *,
    max_delay_s: float,
    max_order: int | None = None,
    speed_of_sound: float = SPEED_OF_SOUND,
    air_absorption_db_per_m: np.ndarray | None = None,
    jitter_m: float = 0.0,
    rng: np.random.Generator | None = None,
) -> tuple[Arrivals, np.ndarray]:
    """The direct sound and the image sources of a point source in a shoebox, as arrivals.

    Parameters
    ----------
    room : ShoeboxRoom
    source_position, listener_position : np.ndarray, shape (3,)
        Room coordinates in metres; both must be inside the room.
    listener_rotation : np.ndarray, shape (3, 3)
        Head-to-room rotation (:func:`soundstage.conventions.rotation_matrix`).
    max_delay_s : float
        Keep arrivals up to this delay in seconds.
    max_order : int or None
        Keep images with at most this many reflections.
    speed_of_sound : float, default 343
        In m/s.
    air_absorption_db_per_m : np.ndarray or None, shape (B,)
        Attenuation of air in each band, or None for none.
    jitter_m : float, default 0
        Move every image of order 2 and above by a random offset up to this many metres along
        each axis, which breaks up the regular lattice (its flutter and sweeping echoes) while
        the direct sound and first reflections stay exact.
    rng : np.random.Generator or None
        Random numbers for the jitter.

    Returns
    -------
    arrivals : Arrivals
        Banded (on ``OCTAVE_BANDS_HZ``) arrivals in order of reflection order.
    order : np.ndarray of int, shape (K,)
        Reflection order of each arrival (0 = direct sound).
    """
    images, hits = image_sources(
        room, source_position, listener_position, max_distance_m=max_delay_s * speed_of_sound, max_order=max_order
    )
    order = hits.sum(axis=1)
    if jitter_m > 0 and len(images):
        rng = rng if rng is not None else np.random.default_rng(0)
        late = order >= 2
        images = images.copy()
        images[late] += rng.uniform(-jitter_m, jitter_m, size=(int(late.sum()), 3))
    # Reflection losses multiply per bounce: add them in the log domain (α < 1, so the log is finite).
    log_reflection = 0.5 * np.log1p(-room.absorption)  # (6, B): log of the pressure reflection coefficient
    arrivals = image_source_arrivals(
        images,
        hits @ log_reflection,
        listener_position,
        listener_rotation,
        speed_of_sound=speed_of_sound,
        air_absorption_db_per_m=air_absorption_db_per_m,
    )
    return arrivals, order
