"""Ray tracing with diffuse rain, against independent references: a quadrature of one diffuse wall's
first reflection, diffuse-field decay (Eyring–Sabine), and the bookkeeping of the arrivals and decay it feeds."""

from __future__ import annotations

import math

import numpy as np
import pytest

from soundstage.acoustics.arrivals import OCTAVE_BANDS_HZ
from soundstage.acoustics.room.mesh import mesh_room_from_arrays
from soundstage.acoustics.room.ray_tracing import EnergyResponse, fit_late_decay, rain_arrivals, trace_energy
from soundstage.acoustics.room.reverberation_time import eyring_rt60, sabine_rt60
from soundstage.acoustics.sphere_points import fibonacci_directions
from soundstage.conventions import rotation_matrix
from test_room_mesh import BOX_QUADS, box_arrays

SIZE = (5.0, 4.0, 3.0)
B = len(OCTAVE_BANDS_HZ)


def box(materials):
    """A 5 × 4 × 3 m box mesh; its groups are named after their planes (x0 … z1)."""
    return mesh_room_from_arrays(*box_arrays(size=SIZE), materials)


def floor_rain_quadrature(source, listener, reflectance, n=600):
    """Σ gain² of the Lambert first reflection off the floor z = 0: ∫ ρ cos θᵢ cos θₒ / (π dᵢ² dₒ²) dA."""
    x = (np.arange(n) + 0.5) * SIZE[0] / n
    y = (np.arange(n) + 0.5) * SIZE[1] / n
    px, py = np.meshgrid(x, y, indexing="ij")
    d_in = np.sqrt((px - source[0]) ** 2 + (py - source[1]) ** 2 + source[2] ** 2)
    d_out = np.sqrt((px - listener[0]) ** 2 + (py - listener[1]) ** 2 + listener[2] ** 2)
    integrand = reflectance * (source[2] / d_in) * (listener[2] / d_out) / (math.pi * d_in**2 * d_out**2)
    delay = (d_in + d_out) / 343.0
    area = SIZE[0] * SIZE[1] / n**2
    total = float(integrand.sum() * area)
    return total, float((integrand * delay).sum() * area / total)


def test_one_diffuse_wall_rains_what_the_lambert_integral_gives():
    # Every wall but the floor swallows (almost) everything; the floor scatters all it reflects.
    materials = {name: {"absorption": 0.999999, "scattering": 0.0} for name in BOX_QUADS}
    materials["z0"] = {"absorption": 0.2, "scattering": 1.0}
    room = box(materials)
    source, listener = np.array([1.5, 1.2, 1.0]), np.array([3.4, 2.5, 1.6])
    response = trace_energy(
        room, room.scattering, source, listener, duration_s=0.05, specular_order=0, n_rays=20000, seed=1
    )
    expected, mean_delay = floor_rain_quadrature(source, listener, 0.8)
    energy = response.histogram[:, 0]
    assert energy.sum() == pytest.approx(expected, rel=0.03)
    times = (np.arange(len(energy)) + 0.5) * response.bin_s
    assert float((energy * times).sum() / energy.sum()) == pytest.approx(mean_delay, abs=0.001)
    # It comes from below: the floor's cells hold the energy.
    by_cell = response.energy[:, :, 0].sum(axis=0)
    assert float(by_cell @ response.cell_directions[:, 2]) / by_cell.sum() < -0.5


def test_a_diffuse_box_decays_between_eyring_and_sabine_at_the_diffuse_field_level():
    alpha = 0.2
    room = box(alpha)
    scattering = np.ones_like(room.absorption)
    response = trace_energy(
        room, scattering, np.array([1.0, 1.0, 1.2]), np.array([3.5, 2.5, 1.6]), duration_s=0.6, specular_order=0
    )
    rt60, rate = fit_late_decay(response, 0.05)
    eyring = eyring_rt60(room.volume_m3, room.plane_areas_m2, room.absorption)[0]
    sabine = sabine_rt60(room.volume_m3, room.plane_areas_m2, room.absorption)[0]
    # Kuttruff: a diffusely reflecting room decays a little slower than Eyring's formula (the spread of the
    # number of reflections), and faster than Sabine's.
    assert eyring * 0.99 < rt60[0] < sabine
    # The diffuse field's energy rate, 4πc/V at the fitted decay, within 15 % (the same spread).
    theory = 4 * math.pi * 343.0 / room.volume_m3 * 10 ** (-6 * 0.05 / rt60[0])
    assert rate[0] == pytest.approx(theory, rel=0.15)


def test_specular_paths_within_the_image_order_rain_only_their_scattered_share():
    room = box(0.1)
    smooth = np.zeros_like(room.absorption)
    source, listener = np.array([1.0, 1.0, 1.2]), np.array([3.5, 2.5, 1.6])
    # Nothing scatters and the image sources take every order the trace reaches: nothing to rain.
    all_images = trace_energy(room, smooth, source, listener, duration_s=0.05, specular_order=100, n_rays=500)
    assert all_images.histogram.sum() == 0.0
    # Images only up to order 1: the rain starts with the second reflections.
    from_second = trace_energy(room, smooth, source, listener, duration_s=0.05, specular_order=1, n_rays=500)
    first_arrival = np.flatnonzero(from_second.histogram[:, 0])[0] * from_second.bin_s
    shortest_first_order = min(
        np.linalg.norm(source * np.where(np.arange(3) == axis, -1, 1) - listener) for axis in range(3)
    )
    assert first_arrival * 343.0 > shortest_first_order


def test_each_band_keeps_its_own_scattering_split():
    # One trace whose bands scatter differently (the rays choose their directions by the bands' mean and
    # reweight) must give each band what a trace scattering that band's way everywhere gives.
    room = box(0.3)
    source, listener = np.array([1.0, 1.0, 1.2]), np.array([3.5, 2.5, 1.6])
    mixed = np.full_like(room.absorption, 0.2)  # coefficients as rooms have them: 0.05 to 0.5 across bands
    mixed[:, 0], mixed[:, 1] = 0.05, 0.5

    def totals(scattering, seed):
        response = trace_energy(room, scattering, source, listener, duration_s=0.4, specular_order=0, seed=seed)
        return response.histogram.sum(axis=0)

    together = totals(mixed, 1)
    assert together[0] == pytest.approx(totals(np.full_like(mixed, 0.05), 2)[0], rel=0.05)
    assert together[1] == pytest.approx(totals(np.full_like(mixed, 0.5), 3)[1], rel=0.05)


def test_rain_arrivals_keep_the_energy_before_the_join_and_turn_with_the_head():
    rng = np.random.default_rng(0)
    energy = rng.random((40, 8, B)) * (rng.random((40, 8, 1)) < 0.5)
    response = EnergyResponse(energy, 0.001, fibonacci_directions(8), 1000)
    join = 0.0255  # half of bin 25 lies before the join
    arrivals = rain_arrivals(response, join, np.eye(3), speed_of_sound=343.0, band_centers_hz=OCTAVE_BANDS_HZ, rng=rng)
    expected = energy[:25].sum(axis=(0, 1)) + 0.5 * energy[25].sum(axis=0)
    assert np.sum(arrivals.gain**2, axis=0) == pytest.approx(expected)
    assert arrivals.delay_s.max() < join and np.all(np.diff(arrivals.delay_s) >= 0)
    turned = rain_arrivals(
        response,
        join,
        rotation_matrix(90.0, 0.0, 0.0),
        speed_of_sound=343.0,
        band_centers_hz=OCTAVE_BANDS_HZ,
        rng=np.random.default_rng(0),
    )
    # The head turned 90° to the left: what was ahead (+x) is now on its right (−y).
    straight = rain_arrivals(
        response, join, np.eye(3), speed_of_sound=343.0, band_centers_hz=OCTAVE_BANDS_HZ, rng=np.random.default_rng(0)
    )
    assert turned.direction[:, 1] == pytest.approx(-straight.direction[:, 0], abs=1e-12)


def test_the_late_decay_fit_reads_an_exponential_exactly():
    bin_s, t60, rate0 = 0.001, 0.8, 5.0
    times = np.arange(600) * bin_s
    # Energy in each bin of an exponential rate: ∫ rate0 · 10^(−6t/T) dt over the bin.
    k = 6 * math.log(10) / t60
    per_bin = rate0 / k * (np.exp(-k * times) - np.exp(-k * (times + bin_s)))
    response = EnergyResponse(np.repeat(per_bin[:, None, None], B, axis=2), bin_s, fibonacci_directions(1), 1)
    rt60, rate = fit_late_decay(response, 0.1)
    assert rt60 == pytest.approx(np.full(B, t60), rel=1e-3)
    assert rate == pytest.approx(np.full(B, rate0 * math.exp(-k * 0.1)), rel=2e-3)
    assert np.all(np.isnan(fit_late_decay(response, 0.58)[0]))  # too little left to fit


def test_a_leaky_mesh_loses_rays_and_says_how_many():
    room = box(0.1)
    # Drop the ceiling from the casting tables only: rays leave through it.
    import dataclasses

    (ceiling,) = np.flatnonzero(room.plane_normals[:, 2] < -0.9)  # the one plane facing down
    keep = room.plane_of_triangle != ceiling
    leaky = dataclasses.replace(room, triangles=room.triangles[keep], plane_of_triangle=room.plane_of_triangle[keep])
    response = trace_energy(
        leaky,
        np.zeros_like(room.absorption),
        np.array([1.0, 1.0, 1.2]),
        np.array([3.5, 2.5, 1.6]),
        duration_s=0.1,
        specular_order=0,
        n_rays=1000,
    )
    assert 0 < response.leaked < 1000


@pytest.mark.parametrize("scattering", [0.0, 0.2])
def test_in_a_box_the_traced_energy_beyond_the_image_order_is_the_lattices(scattering):
    # The shoebox's image sources of orders 3 and up (Allen & Berkley, every order) hold the energy the trace
    # must carry once the image sources stop at order 2, window by window, whether the walls scatter or not.
    from soundstage.acoustics.room.shoebox import ShoeboxRoom, shoebox_arrivals

    room = box(0.1)
    source, listener = np.array([1.0, 1.0, 1.2]), np.array([3.5, 2.5, 1.6])
    response = trace_energy(
        room,
        np.full_like(room.absorption, scattering),
        source,
        listener,
        duration_s=0.3,
        specular_order=2,
        n_rays=8000,
    )
    lattice, order = shoebox_arrivals(
        ShoeboxRoom(np.array(SIZE), np.full((6, B), 0.1)), source, listener, np.eye(3), max_delay_s=0.3, max_order=None
    )
    images = np.asarray(lattice.gain)[:, 3] ** 2
    for start, stop in ((0.02, 0.05), (0.05, 0.1), (0.1, 0.2), (0.2, 0.3)):
        expected = images[(order > 2) & (lattice.delay_s >= start) & (lattice.delay_s < stop)].sum()
        traced = response.histogram[round(start / response.bin_s) : round(stop / response.bin_s), 3].sum()
        assert traced == pytest.approx(expected, rel=0.07), (start, stop)


def test_the_trace_is_the_same_on_one_thread_as_on_two(monkeypatch):
    room = box(0.1)
    args = (room, np.full_like(room.absorption, 0.3), np.array([1.0, 1.0, 1.2]), np.array([3.5, 2.5, 1.6]))
    responses = []
    for threads in ("1", "2"):
        monkeypatch.setenv("SOUNDSTAGE_THREADS", threads)
        responses.append(trace_energy(*args, duration_s=0.1, specular_order=1, n_rays=500, seed=7).energy)
    np.testing.assert_array_equal(responses[0], responses[1])


def test_specular_paths_after_the_join_rain_in_full():
    # The image sources stop at the join; the specular paths they would render after it are the tail's, so the
    # trace rains all of their energy there (and only the scattered share before).
    room = box(0.1)
    smooth = np.zeros_like(room.absorption)
    source, listener = np.array([1.0, 1.0, 1.2]), np.array([3.5, 2.5, 1.6])
    response = trace_energy(
        room, smooth, source, listener, duration_s=0.1, specular_order=100, n_rays=2000, images_until_s=0.04
    )
    energy = response.histogram[:, 3]
    per_s = round(1.0 / response.bin_s)  # bins per second
    assert energy[: round(0.04 * per_s)].sum() == 0.0
    from soundstage.acoustics.room.shoebox import ShoeboxRoom, shoebox_arrivals

    lattice, _ = shoebox_arrivals(
        ShoeboxRoom(np.array(SIZE), np.full((6, B), 0.1)), source, listener, np.eye(3), max_delay_s=0.1, max_order=None
    )
    late = (lattice.delay_s >= 0.05) & (lattice.delay_s < 0.1)
    traced = energy[round(0.05 * per_s) : round(0.1 * per_s)].sum()
    assert traced == pytest.approx(np.sum(np.asarray(lattice.gain)[late, 3] ** 2), rel=0.07)


def _nearest_by_brute_force(room, origin, direction, closest):
    """Distance (N,) to the nearest triangle each ray crosses beyond ``closest`` m, and its plane (Möller–Trumbore)."""
    corners = room.vertices[room.triangles]  # (T, 3, 3)
    e1, e2 = corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]
    p = np.cross(direction[:, None, :], e2[None])  # (N, T, 3)
    det = np.einsum("tk,ntk->nt", e1, p)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = origin[:, None, :] - corners[None, :, 0]
        u = np.einsum("ntk,ntk->nt", s, p) / det
        q = np.cross(s, e1[None])
        v = np.einsum("nk,ntk->nt", direction, q) / det
        t = np.einsum("tk,ntk->nt", e2, q) / det
    hit = (np.abs(det) > 1e-12) & (u >= -1e-9) & (v >= -1e-9) & (u + v <= 1 + 1e-9) & (t > closest)
    t = np.where(hit, t, np.inf)
    nearest = np.argmin(t, axis=1)
    return t[np.arange(len(t)), nearest], room.plane_of_triangle[nearest]


def test_the_compiled_cast_finds_the_nearest_triangle_as_a_brute_force_search_does():
    # A 5 × 4 × 3 m room with a 1 m pillar box in it, against Möller–Trumbore over every triangle: rays from points
    # in the air in every direction, then (as the tracer casts them) from where those rays hit, into the room.
    from soundstage.acoustics.room.ray_tracing import _lambert, _Tracer

    parts = [box_arrays(size=SIZE), box_arrays(size=(1.0, 1.0, 3.0), origin=(2.0, 1.5, 0.0))]
    vertices = np.concatenate([part[0] for part in parts])
    triangles = np.concatenate([part[1] + 8 * k for k, part in enumerate(parts)])
    room = mesh_room_from_arrays(vertices, triangles, None, 0.1)
    tracer = _Tracer(room)
    rng = np.random.default_rng(3)
    origin = rng.uniform([0.1, 0.1, 0.1], np.array(SIZE) - 0.1, size=(4000, 3))
    origin = origin[room.contains(origin)]
    direction = rng.standard_normal(origin.shape)
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    for _ in range(2):
        distance, plane = tracer.cast(origin, direction)
        expected, expected_plane = _nearest_by_brute_force(room, origin, direction, tracer.leave_tolerance)
        assert np.all(np.isfinite(distance))
        np.testing.assert_allclose(distance, expected, rtol=1e-9)
        # Where two planes meet, a hit on their common edge may go to either (the same point, checked above).
        assert np.count_nonzero(plane != expected_plane) <= 2
        origin = origin + distance[:, None] * direction  # on the surfaces now
        direction = _lambert(room.plane_normals[plane], rng)
