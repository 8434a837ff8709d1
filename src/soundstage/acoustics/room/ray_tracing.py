"""Stochastic ray tracing with diffuse rain: the reflected energy a mesh room sends to the listener.

Image sources give the specular reflections of the first orders exactly, but a real room's
early energy also holds what its surfaces scatter and the specular reflections of higher
orders, and its late decay depends on where the absorption sits, not on its average alone.
This module follows rays from the source through the room's geometry and, at every
reflection, sends the listener the share the surface scatters towards it ("diffuse rain",
Schröder 2011, *Physically based real-time auralization of interactive virtual
environments*, §5.3; Vorländer, *Auralization*, 2nd ed., §11.5):

* each ray starts with ``1 / n_rays`` of the source's energy in every octave band, in a
  stratified random direction;
* at a surface of absorption ``α`` and scattering ``s`` (per band) it keeps ``1 − α`` of its
  energy and leaves specularly or, with the probability of the bands' mean scattering, in a
  Lambert (cosine) direction, its band energies reweighted so that each band's split is exact
  on average;
* every reflection sends the listener, when it sees the reflection point, the Lambert share
  ``E (1 − α) w cos θ / (π r²)`` of intensity, with ``w = s`` while the path is still purely
  specular and within the image sources' order (they render its specular share exactly, see
  :func:`~soundstage.acoustics.room.mesh.log_pressure_reflection`) and ``w = 1`` afterwards
  (higher orders count as diffuse energy, the radiosity assumption that holds once reflections mix);
* air absorbs along every leg.

The result is an :class:`EnergyResponse`: energy per time bin, per band and per direction of
arrival (cells of a Fibonacci sphere), in the renderer's units (gain², 0 dB at 1 m). The
renderer turns its early part into directional arrivals and reads the late tail's level and
decay per band from it.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from soundstage.acoustics.arrivals import Arrivals
from soundstage.acoustics.room.mesh import MeshRoom
from soundstage.acoustics.sphere_points import fibonacci_directions
from soundstage.conventions import quaternion_matrix
from soundstage.errors import ParameterError
from soundstage.threads import fft_workers

#: Rays per source unless the scene says otherwise: the late decay's slope is within 1–2 % and
#: the early energy per 5 ms within about 10 % at this count (tests/test_ray_tracing.py).
DEFAULT_RAYS = 2000
#: Width of a time bin of the energy response, in seconds.
DEFAULT_BIN_S = 0.001
#: Directions of arrival told apart (Fibonacci cells, about 36° across).
DEFAULT_CELLS = 32
#: (seconds, factor): past each time a ray goes on with probability 1/factor, carrying factor times the energy.
#: The late decay needs fewer rays than the early energy, whose directions and times matter.
THINNING = ((0.1, 4),)
#: A ray whose every band fell this far (energy, relative to its start) is dropped: 90 dB.
_FLOOR = 1e-9
#: Rays are traced in this many independent parts, on as many threads as a render may use (the compiled ray cast and
#: numpy's array work let go of the interpreter), and the same result on one.
_PARTS = 2


@dataclass(frozen=True)
class EnergyResponse:
    """Reflected energy reaching the listener, per time bin, direction cell and band.

    Attributes
    ----------
    energy : np.ndarray, shape (n_bins, n_cells, B)
        Σ gain² (0 dB at 1 m, the units of :class:`~soundstage.acoustics.arrivals.Arrivals`) of the
        reflections arriving in each bin from each cell, on ``OCTAVE_BANDS_HZ``.
    bin_s : float
        Width of a bin in seconds; bin ``i`` spans ``[i, i + 1) · bin_s`` after emission.
    cell_directions : np.ndarray, shape (n_cells, 3)
        Unit vector from the listener towards each cell's centre, room frame.
    n_rays : int
        Rays traced.
    leaked : int
        Rays that found no surface (a gap in the mesh); their energy is lost.
    """

    energy: np.ndarray
    bin_s: float
    cell_directions: np.ndarray
    n_rays: int
    leaked: int = 0

    @property
    def histogram(self) -> np.ndarray:
        """Energy per bin and band, all directions summed, shape (n_bins, B)."""
        return self.energy.sum(axis=1)

    @property
    def duration_s(self) -> float:
        """Seconds the response covers."""
        return self.energy.shape[0] * self.bin_s


def trace_energy(
    room: MeshRoom,
    scattering: np.ndarray,
    source: np.ndarray,
    listener: np.ndarray,
    *,
    duration_s: float,
    specular_order: int,
    n_rays: int = DEFAULT_RAYS,
    speed_of_sound: float = 343.0,
    air_absorption_db_per_m: np.ndarray | None = None,
    bin_s: float = DEFAULT_BIN_S,
    n_cells: int = DEFAULT_CELLS,
    seed: int = 0,
    images_until_s: float | None = None,
) -> EnergyResponse:
    """Trace rays from ``source`` through ``room`` and rain their reflections on ``listener``.

    Parameters
    ----------
    room : MeshRoom
        The room; ``room.absorption`` (P, B) is each plane's absorption.
    scattering : np.ndarray, shape (P, B)
        Scattering coefficient of each plane per band, in [0, 1].
    source, listener : np.ndarray, shape (3,)
        Positions in metres, in the mesh's coordinates, inside the room.
    duration_s : float
        Seconds after emission to follow the rays for.
    specular_order : int
        Highest order the image sources render; purely specular paths up to it rain only their
        scattered share when they arrive before ``images_until_s``.
    n_rays : int
        Rays to trace.
    speed_of_sound : float
        In m/s.
    air_absorption_db_per_m : np.ndarray or None, shape (B,)
        Air attenuation per band, or None for none.
    bin_s : float
        Time resolution of the response in seconds.
    n_cells : int
        Direction cells of the response.
    seed : int
        Seed of the ray directions and of the scattering choices.
    images_until_s : float or None
        Seconds after emission when the image sources stop (the join with the tail); None: never.

    Returns
    -------
    EnergyResponse
    """
    if n_rays < 1 or duration_s <= 0 or bin_s <= 0:
        raise ParameterError(f"ray tracing needs rays ≥ 1 and positive durations, got {n_rays}, {duration_s}, {bin_s}")
    scattering = np.asarray(scattering, dtype=float)
    n_bands = room.absorption.shape[1]
    if scattering.shape != room.absorption.shape or np.any(scattering < 0) or np.any(scattering > 1):
        raise ParameterError(f"scattering must be (planes, bands) {room.absorption.shape} in [0, 1]")
    air = np.zeros(n_bands) if air_absorption_db_per_m is None else np.asarray(air_absorption_db_per_m, dtype=float)
    setup = _TraceSetup(
        tracer=_Tracer(room),
        source=np.asarray(source, dtype=float),
        listener=np.asarray(listener, dtype=float),
        reflectance=1.0 - room.absorption,
        scattering=scattering,
        air_per_m=air * math.log(10.0) / 10.0,
        specular_order=specular_order,
        images_until_s=math.inf if images_until_s is None else images_until_s,
        speed_of_sound=speed_of_sound,
        bin_s=bin_s,
        n_bins=math.ceil(duration_s / bin_s),
        cells=fibonacci_directions(n_cells),
    )
    part = functools.partial(_trace_part, setup, max_length=duration_s * speed_of_sound)

    # A fixed split into parts, each seeded of its own, traced side by side: the same result on any machine.
    sizes = [n_rays // _PARTS + (k < n_rays % _PARTS) for k in range(_PARTS)]
    sizes = [size for size in sizes if size]
    streams = [np.random.default_rng(child) for child in np.random.SeedSequence(seed).spawn(len(sizes))]
    threads = min(len(sizes), fft_workers())
    from threadpoolctl import threadpool_limits

    # The matrix products here are small (rays × 3 by 3 × direction cells): BLAS threads only get in the way.
    with threadpool_limits(1):
        if threads > 1:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(threads, thread_name_prefix="soundstage-rays") as pool:
                results = list(pool.map(part, sizes, streams))
        else:
            results = [part(size, stream) for size, stream in zip(sizes, streams, strict=True)]
    energy = sum(flat * (size / n_rays) for (flat, _), size in zip(results, sizes, strict=True))
    leaked = sum(lost for _, lost in results)
    return EnergyResponse(energy.reshape(setup.n_bins, n_cells, n_bands), bin_s, setup.cells, n_rays, leaked)


@dataclass(frozen=True)
class _TraceSetup:
    """What every part of one trace shares: the room's tables, the positions, the bands, the output grid."""

    tracer: _Tracer
    source: np.ndarray  # (3,)
    listener: np.ndarray  # (3,)
    reflectance: np.ndarray  # (P, B) energy kept at each plane, 1 − α
    scattering: np.ndarray  # (P, B)
    air_per_m: np.ndarray  # (B,) energy lost per metre of air, in nepers
    specular_order: int
    images_until_s: float  # the image sources render specular paths arriving before this
    speed_of_sound: float
    bin_s: float
    n_bins: int
    cells: np.ndarray  # (n_cells, 3)


def _trace_part(
    setup: _TraceSetup, n_rays: int, rng: np.random.Generator, *, max_length: float
) -> tuple[np.ndarray, int]:
    """Trace ``n_rays`` rays, each with 1/``n_rays`` of the energy, for ``max_length`` metres.

    Returns
    -------
    energy : np.ndarray, shape (n_bins * n_cells * B,)
        Σ gain² at the listener, flat (bins, cells, bands).
    leaked : int
        Rays that found no surface.
    """
    tracer, listener = setup.tracer, setup.listener
    n_bands = setup.reflectance.shape[1]
    energy = np.zeros(setup.n_bins * len(setup.cells) * n_bands)
    origin = np.broadcast_to(setup.source, (n_rays, 3)).copy()
    direction = (_random_rotation(rng) @ fibonacci_directions(n_rays).T).T.copy()
    power = np.full((n_rays, n_bands), 1.0 / n_rays)
    travelled = np.zeros(n_rays)
    specular = np.ones(n_rays, dtype=bool)  # every reflection so far was a mirror one
    thinned = np.zeros(n_rays, dtype=np.int64)  # thinning stages each ray has passed
    order, leaked = 0, 0
    rain: _Rain | None = None
    while len(origin) or rain is not None:
        # One cast serves the rays' next surfaces and the listener's view of the last reflections.
        looks = 0 if rain is None or tracer.convex else len(rain.back)
        if looks:
            hit, plane = tracer.cast(
                np.concatenate([origin, np.broadcast_to(listener, (looks, 3))]),
                np.concatenate([direction, rain.back]),
            )
            rain.deposit(energy, hit[len(origin) :] >= rain.r * (1.0 - 1e-6))
            distance, plane = hit[: len(origin)], plane[: len(origin)]
        else:
            if rain is not None:
                rain.deposit(energy, None)
            distance, plane = tracer.cast(origin, direction)
        rain = None
        if not len(origin):
            break
        found = np.isfinite(distance)
        leaked += int(np.count_nonzero(~found))
        origin, direction, power, travelled, specular, thinned, distance, plane = (
            array[found] for array in (origin, direction, power, travelled, specular, thinned, distance, plane)
        )
        order += 1
        point = origin + distance[:, None] * direction
        travelled = travelled + distance
        power = power * np.exp(-setup.air_per_m[None, :] * distance[:, None]) * setup.reflectance[plane]
        normal = tracer.normals[plane]
        imaged = specular & (order <= setup.specular_order)  # paths the image sources render, if in time
        rain = _Rain.towards(setup, point, normal, power, travelled, imaged, setup.scattering[plane])
        direction, power, diffuse = _leave_surface(direction, power, normal, setup.scattering[plane], rng)
        specular &= ~diffuse
        origin = point
        alive = (travelled < max_length) & (power.max(axis=1) * n_rays > _FLOOR)
        for stage, (after_s, factor) in enumerate(THINNING):
            thin = (thinned == stage) & (travelled > after_s * setup.speed_of_sound)
            if thin.any():
                alive &= ~thin | (rng.random(len(thin)) < 1.0 / factor)
                power[thin] *= factor
                thinned[thin] += 1
        origin, direction, power, travelled, specular, thinned = (
            array[alive] for array in (origin, direction, power, travelled, specular, thinned)
        )
    return energy, leaked


def _leave_surface(
    direction: np.ndarray, power: np.ndarray, normal: np.ndarray, scattering: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """New directions, powers and which rays left diffusely, for rays (N,) reflecting off surfaces of ``scattering``
    (N, B): a Lambert exit with the probability of the bands' mean scattering, else the mirror one, each band
    reweighted so that on average it splits as its own coefficient says."""
    chance = scattering.mean(axis=1)
    diffuse = rng.random(len(direction)) < chance
    with np.errstate(divide="ignore", invalid="ignore"):
        weight = np.where(diffuse[:, None], scattering / chance[:, None], (1.0 - scattering) / (1.0 - chance[:, None]))
    power = power * np.nan_to_num(weight, nan=0.0, posinf=0.0)
    mirrored = direction - 2.0 * np.einsum("ij,ij->i", direction, normal)[:, None] * normal
    return np.where(diffuse[:, None], _lambert(normal, rng), mirrored), power, diffuse


@dataclass
class _Rain:
    """The reflections of one bounce that face the listener: their share for it, until its view of them is known."""

    back: np.ndarray  # (M, 3) unit vectors from the listener towards each reflection point
    r: np.ndarray  # (M,) metres from the listener
    gain2: np.ndarray  # (M, B) gain² each brings if the listener sees it
    bins: np.ndarray  # (M,) time bin of arrival
    cells: np.ndarray  # (M,) direction cell of arrival
    n_cells: int

    @classmethod
    def towards(
        cls,
        setup: _TraceSetup,
        point: np.ndarray,
        normal: np.ndarray,
        power: np.ndarray,
        travelled: np.ndarray,
        imaged: np.ndarray,
        scattering: np.ndarray,
    ) -> _Rain | None:
        """The rain of the reflections at ``point`` (facing ``normal``); None when none reaches the listener in time.

        A path the image sources render (``imaged``: specular so far, within their order) rains only its scattered
        share (``scattering``) when it arrives before they stop; after that, the tail carries all of it.
        """
        listener, cells, air_per_m = setup.listener, setup.cells, setup.air_per_m
        speed_of_sound, bin_s, n_bins = setup.speed_of_sound, setup.bin_s, setup.n_bins
        offset = point - listener
        r = np.maximum(np.linalg.norm(offset, axis=1), 1e-6)
        cosine = -np.einsum("ij,ij->i", offset, normal) / r
        bins = ((travelled + r) / (speed_of_sound * bin_s)).astype(np.int64)
        rows = np.flatnonzero((cosine > 0.0) & (bins < n_bins))
        if not len(rows):
            return None
        r, back = r[rows], offset[rows] / r[rows, None]
        early = imaged[rows] & ((travelled[rows] + r) / speed_of_sound < setup.images_until_s)
        share = np.where(early[:, None], scattering[rows], 1.0)
        # Intensity E cos θ / (π r²) of a Lambert reflection, times 4π: gain² with 0 dB at 1 m.
        gain2 = 4.0 * power[rows] * share * (cosine[rows] / r**2)[:, None] * np.exp(-air_per_m[None, :] * r[:, None])
        return cls(back, r, gain2, bins[rows], np.argmax(back @ cells.T, axis=1), len(cells))

    def deposit(self, energy: np.ndarray, visible: np.ndarray | None) -> None:
        """Add the visible reflections (all when ``visible`` is None) to ``energy`` (flat (bins, cells, B))."""
        n_bands = self.gain2.shape[1]
        keep = slice(None) if visible is None else visible
        flat = (self.bins[keep] * self.n_cells + self.cells[keep])[:, None] * n_bands + np.arange(n_bands)
        energy += np.bincount(flat.ravel(), weights=self.gain2[keep].ravel(), minlength=len(energy))


class _Tracer:
    """Ray casting against a mesh room's planes, each a set of triangles (the tables of
    :func:`~soundstage.acoustics.room.ray_casting.first_hits`)."""

    def __init__(self, room: MeshRoom) -> None:
        self.normals = np.ascontiguousarray(room.plane_normals, dtype=float)
        self.offsets = np.ascontiguousarray(room.plane_offsets, dtype=float)
        size = room.diagonal_m
        # A hit closer than this is the surface a ray leaves (or its neighbour at a corner): 30 µm in a 30 m hall.
        self.leave_tolerance = 1e-6 * size
        height = room.vertices @ self.normals.T - self.offsets
        self.convex = bool(np.all(height > -1e-6 * size))
        corners = room.vertices[room.triangles]
        # Two unit vectors in each plane: the exact test and the bounding rectangles work in them.
        first = _tangents(self.normals)
        self.axes = np.ascontiguousarray(np.stack([first, np.cross(self.normals, first)], axis=1))  # (P, 2, 3)
        flat = np.einsum("tck,tak->tca", corners, self.axes[room.plane_of_triangle])  # (T, 3 corners, 2)
        # Each triangle as three edge lines n · x ≥ c (inward, unit n): a point is inside when all hold.
        side1, side2 = flat[:, 1] - flat[:, 0], flat[:, 2] - flat[:, 0]
        area = side1[:, 0] * side2[:, 1] - side1[:, 1] * side2[:, 0]
        flat = np.where((area < 0)[:, None, None], flat[:, ::-1], flat)  # counter-clockwise
        edge = np.roll(flat, -1, axis=1) - flat  # (T, 3, 2)
        inward = np.stack([-edge[..., 1], edge[..., 0]], axis=-1)
        inward /= np.maximum(np.linalg.norm(inward, axis=-1, keepdims=True), 1e-300)
        by_plane = np.argsort(room.plane_of_triangle, kind="stable")
        self.edge_normals = np.ascontiguousarray(inward[by_plane])
        self.edge_offsets = np.ascontiguousarray(np.einsum("tek,tek->te", inward, flat)[by_plane])
        counts = np.bincount(room.plane_of_triangle, minlength=len(self.offsets)).astype(np.int64)
        self.first_triangle = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        self.triangle_count = counts
        self.edge_tolerance = 1e-7 * size
        # Each plane's bounding rectangle, with slack for hits on its rim.
        slack = 1e-4 * size
        self.low = np.full((len(self.offsets), 2), np.inf)
        self.high = np.full((len(self.offsets), 2), -np.inf)
        np.minimum.at(self.low, room.plane_of_triangle, flat.min(axis=1) - slack)
        np.maximum.at(self.high, room.plane_of_triangle, flat.max(axis=1) + slack)

    def cast(self, origin: np.ndarray, direction: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Distance to and plane of the first surface each ray (N,) meets from the room's side; inf if none."""
        from soundstage.acoustics.room.ray_casting import first_hits

        distance = np.empty(len(origin))
        plane = np.empty(len(origin), dtype=np.int64)
        first_hits(
            np.ascontiguousarray(origin, dtype=float),
            np.ascontiguousarray(direction, dtype=float),
            self.normals,
            self.offsets,
            self.axes,
            self.low,
            self.high,
            self.first_triangle,
            self.triangle_count,
            self.edge_normals,
            self.edge_offsets,
            self.leave_tolerance,
            self.edge_tolerance,
            distance,
            plane,
        )
        return distance, plane


def _lambert(normal: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A cosine-distributed direction about each normal (N, 3)."""
    u1, u2 = rng.random(len(normal)), rng.random(len(normal))
    radius, angle = np.sqrt(u1), 2.0 * math.pi * u2
    tangent = _tangents(normal)
    bitangent = np.cross(normal, tangent)
    return (
        (radius * np.cos(angle))[:, None] * tangent
        + (radius * np.sin(angle))[:, None] * bitangent
        + np.sqrt(1.0 - u1)[:, None] * normal
    )


def _tangents(normals: np.ndarray) -> np.ndarray:
    """A unit vector perpendicular to each unit normal (N, 3), crossed with whichever axis is far from it."""
    helper = np.where(np.abs(normals[:, :1]) < 0.9, [[1.0, 0.0, 0.0]], [[0.0, 1.0, 0.0]])
    tangent = np.cross(normals, helper)
    return tangent / np.linalg.norm(tangent, axis=1, keepdims=True)


def _random_rotation(rng: np.random.Generator) -> np.ndarray:
    """A uniformly random rotation matrix (so each seed lays the stratified directions differently): a normally
    distributed quaternion, normalised, is uniform over rotations."""
    return quaternion_matrix(*rng.standard_normal(4))


def rain_arrivals(
    response: EnergyResponse,
    until_s: float,
    listener_rotation: np.ndarray,
    *,
    speed_of_sound: float,
    band_centers_hz: np.ndarray,
    rng: np.random.Generator,
) -> Arrivals:
    """The response's energy before ``until_s`` as arrivals: one per time bin and direction cell that holds any.

    Each arrives at a random moment within its bin (a regular grid would ring at ``1 / bin_s``)
    from its cell's centre, with gain ``±√E`` per band (a random sign: scattered sound arrives with
    random phase), so that the energy and its direction are kept at every frequency; a bin the join
    cuts keeps the share before the join.

    Parameters
    ----------
    response : EnergyResponse
    until_s : float
        The join with the diffuse tail, in seconds after emission.
    listener_rotation : np.ndarray, shape (3, 3)
        Head-to-room rotation.
    speed_of_sound : float
        In m/s (for the arrivals' distances).
    band_centers_hz : np.ndarray, shape (B,)
        The bands of the response.
    rng : np.random.Generator
        Draws the moments within the bins.

    Returns
    -------
    Arrivals
        Banded, in time order.
    """
    n_bins = min(math.ceil(until_s / response.bin_s), response.energy.shape[0])
    energy = response.energy[:n_bins]
    start = np.arange(n_bins) * response.bin_s
    covered = np.clip((until_s - start) / response.bin_s, 0.0, 1.0)  # share of each bin before the join
    bins, cells = np.nonzero(energy.max(axis=2) > 0.0)
    span = covered[bins] * response.bin_s
    delay = start[bins] + rng.random(len(bins)) * span
    # Random signs: scattered energy arrives with random phase, so the arrivals of a bin add by energy at every
    # frequency (positive pulses a fraction of a millisecond apart would add in amplitude below 1 kHz).
    sign = np.where(rng.random(len(bins)) < 0.5, -1.0, 1.0)
    gain = sign[:, None] * np.sqrt(energy[bins, cells] * covered[bins, None])
    direction = response.cell_directions[cells] @ np.asarray(listener_rotation, dtype=float)  # room → head frame
    order = np.argsort(delay, kind="stable")
    return Arrivals(delay[order], gain[order], direction[order], delay[order] * speed_of_sound, band_centers_hz)


#: Width of the bins the late decay is fitted on, in seconds (coarser than the response's, for less noise).
_FIT_BIN_S = 0.01


def fit_late_decay(response: EnergyResponse, from_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Reverberation time and energy rate at ``from_s`` per band, fitted to the response after ``from_s``.

    A straight line through the logarithm of the energy per :data:`_FIT_BIN_S` (least squares)
    from ``from_s`` to the end of the response.

    Parameters
    ----------
    response : EnergyResponse
    from_s : float
        Where the tail joins, in seconds after emission.

    Returns
    -------
    rt60_s : np.ndarray, shape (B,)
        Seconds for a 60 dB decay; NaN where the response cannot tell (fewer than 5 bins with
        energy, or no decay).
    rate : np.ndarray, shape (B,)
        Σ gain² per second at ``from_s`` on the fitted line.
    """
    per_fit = max(1, round(_FIT_BIN_S / response.bin_s))
    histogram = response.histogram
    first = math.ceil(from_s / response.bin_s)
    n = (histogram.shape[0] - first) // per_fit
    rt60 = np.full(histogram.shape[1], np.nan)
    rate = np.full(histogram.shape[1], np.nan)
    if n < 5:
        return rt60, rate
    coarse = histogram[first : first + n * per_fit].reshape(n, per_fit, -1).sum(axis=1)
    width = per_fit * response.bin_s
    times = (first + (np.arange(n) + 0.5) * per_fit) * response.bin_s
    for band in range(coarse.shape[1]):
        has = coarse[:, band] > 0.0
        if np.count_nonzero(has) < 5:
            continue
        slope, intercept = np.polyfit(times[has], np.log(coarse[has, band] / width), 1)
        if slope < 0.0:
            rt60[band] = -6.0 * math.log(10.0) / slope
            rate[band] = math.exp(intercept + slope * from_s)
    return rt60, rate
