"""Shoebox image sources against hand-computed geometry, and the scene fields that make a room."""

from __future__ import annotations

import numpy as np
import pytest

from soundstage.acoustics.arrivals import OCTAVE_BANDS_HZ
from soundstage.acoustics.room.materials import MATERIALS, absorption_coefficients
from soundstage.acoustics.room.reverberation_time import eyring_absorption_for_rt60, eyring_rt60, sabine_rt60
from soundstage.acoustics.room.shoebox import ShoeboxRoom, image_sources, shoebox_arrivals, surface_absorption
from soundstage.conventions import rotation_matrix
from soundstage.errors import InputFileError, ParameterError
from soundstage.scene import scene_from_dict

SIZE = np.array([8.0, 6.0, 3.0])
SOURCE = np.array([2.0, 1.5, 1.5])
LISTENER = np.array([4.0, 3.0, 1.6])
C = 343.0
N_BANDS = len(OCTAVE_BANDS_HZ)


def _room(absorption_125: list[float]) -> ShoeboxRoom:
    """A room whose six surfaces have different absorption, rising with band."""
    base = np.asarray(absorption_125)[:, None]
    return ShoeboxRoom(SIZE, np.clip(base + 0.05 * np.arange(N_BANDS)[None, :], 0, 0.95))


def test_direct_and_first_order_reflections_have_exact_delays_gains_and_directions() -> None:
    room = _room([0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    arrivals, order = shoebox_arrivals(room, SOURCE, LISTENER, np.eye(3), max_delay_s=1.0, max_order=1)
    assert np.count_nonzero(order == 0) == 1 and np.count_nonzero(order == 1) == 6
    # The six mirror images across x = 0, x = Lx, y = 0, y = Ly, z = 0, z = Lz, by hand.
    expected = {
        0: SOURCE * [-1, 1, 1],
        1: SOURCE * [-1, 1, 1] + [2 * SIZE[0], 0, 0],
        2: SOURCE * [1, -1, 1],
        3: SOURCE * [1, -1, 1] + [0, 2 * SIZE[1], 0],
        4: SOURCE * [1, 1, -1],
        5: SOURCE * [1, 1, -1] + [0, 0, 2 * SIZE[2]],
    }
    direct = np.flatnonzero(order == 0)[0]
    r0 = np.linalg.norm(SOURCE - LISTENER)
    assert arrivals.delay_s[direct] == pytest.approx(r0 / C, abs=1e-15)
    np.testing.assert_allclose(arrivals.gain[direct], 1.0 / r0, rtol=1e-12)
    for surface, image in expected.items():
        r = np.linalg.norm(image - LISTENER)
        match = np.flatnonzero(np.isclose(arrivals.distance_m, r, rtol=0, atol=1e-12) & (order == 1))
        assert len(match) == 1, f"surface {surface}"
        k = match[0]
        assert arrivals.delay_s[k] == pytest.approx(r / C, abs=1e-15)
        np.testing.assert_allclose(arrivals.gain[k], np.sqrt(1 - room.absorption[surface]) / r, rtol=1e-12)
        np.testing.assert_allclose(arrivals.direction[k], (image - LISTENER) / r, atol=1e-12)


def test_directions_are_in_the_head_frame_of_a_turned_listener() -> None:
    # Turned 90° to the left (facing +y), a source straight ahead in room x is on the listener's right.
    room = _room([0.2] * 6)
    source = LISTENER + np.array([2.0, 0.0, 0.0])
    arrivals, order = shoebox_arrivals(room, source, LISTENER, rotation_matrix(90.0), max_delay_s=0.1, max_order=0)
    np.testing.assert_allclose(arrivals.direction[order == 0][0], [0.0, -1.0, 0.0], atol=1e-12)


def test_second_order_images_multiply_the_reflection_of_each_wall_hit() -> None:
    room = _room([0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    arrivals, order = shoebox_arrivals(room, SOURCE, LISTENER, np.eye(3), max_delay_s=1.0, max_order=2)
    # x' = s + 2 Lx: off the front wall (x = Lx), then the back wall (x = 0).
    image = SOURCE + np.array([2 * SIZE[0], 0, 0])
    r = np.linalg.norm(image - LISTENER)
    k = np.flatnonzero(np.isclose(arrivals.distance_m, r, rtol=0, atol=1e-12))
    assert len(k) == 1 and order[k[0]] == 2
    expected = np.sqrt((1 - room.absorption[0]) * (1 - room.absorption[1])) / r
    np.testing.assert_allclose(arrivals.gain[k[0]], expected, rtol=1e-12)
    # Floor then ceiling (z' = s_z + 2 Lz) — the other pair.
    image = SOURCE + np.array([0, 0, 2 * SIZE[2]])
    r = np.linalg.norm(image - LISTENER)
    k = np.flatnonzero(np.isclose(arrivals.distance_m, r, rtol=0, atol=1e-12))[0]
    np.testing.assert_allclose(arrivals.gain[k], np.sqrt((1 - room.absorption[4]) * (1 - room.absorption[5])) / r)


def test_image_count_matches_one_image_per_room_volume() -> None:
    room = _room([0.2] * 6)
    radius = 60.0
    positions, hits = image_sources(room, SOURCE, LISTENER, max_distance_m=radius)
    expected = 4.0 / 3.0 * np.pi * radius**3 / room.volume_m3
    assert len(positions) == pytest.approx(expected, rel=0.02)
    assert np.all(np.linalg.norm(positions - LISTENER, axis=1) <= radius)
    # The number of images of order exactly n in a shoebox is 4n² + 2 (n ≥ 1), for a far horizon.
    for n in range(1, 4):
        assert np.count_nonzero(hits.sum(axis=1) == n) == 4 * n * n + 2


def test_randomised_images_keep_direct_sound_and_first_order_exact() -> None:
    room = _room([0.2] * 6)
    exact, order = shoebox_arrivals(room, SOURCE, LISTENER, np.eye(3), max_delay_s=0.05)
    jittered, order_j = shoebox_arrivals(
        room, SOURCE, LISTENER, np.eye(3), max_delay_s=0.05, jitter_m=0.1, rng=np.random.default_rng(1)
    )
    early = order <= 1
    np.testing.assert_array_equal(order, order_j)
    np.testing.assert_allclose(jittered.delay_s[early], exact.delay_s[early], rtol=0, atol=0)
    moved = np.abs(jittered.distance_m[~early] - exact.distance_m[~early])
    assert np.all(moved <= 0.1 * np.sqrt(3) + 1e-12) and np.mean(moved) > 0.01


def test_eyring_and_sabine_agree_with_their_formulas() -> None:
    volume, areas = 144.0, np.array([96.0, 48.0, 36.0])
    alpha = np.full((3, 1), 0.3)
    t_eyring = 0.1611 * volume / (-180.0 * np.log(0.7))
    t_sabine = 0.1611 * volume / (180.0 * 0.3)
    assert eyring_rt60(volume, areas, alpha)[0] == pytest.approx(t_eyring, rel=1e-3)
    assert sabine_rt60(volume, areas, alpha)[0] == pytest.approx(t_sabine, rel=1e-3)
    # The inverse gives back the absorption, with air absorption taken by the air.
    air = np.array([0.0, 0.01])
    a = eyring_absorption_for_rt60(0.8, volume, 180.0, air_attenuation_db_per_m=air)
    assert a[1] < a[0]
    np.testing.assert_allclose(
        [eyring_rt60(volume, areas, np.full((3, 1), a[i]), air_attenuation_db_per_m=air[i])[0] for i in range(2)],
        0.8,
        rtol=1e-12,
    )
    with pytest.raises(ParameterError, match="too short"):
        eyring_absorption_for_rt60(0.01, volume, 180.0)
    with pytest.raises(ParameterError, match="longer than the air alone"):
        eyring_absorption_for_rt60(30.0, 2000.0, 1000.0, air_attenuation_db_per_m=0.1)


def test_materials_library_and_surface_mapping() -> None:
    assert absorption_coefficients("carpet")[-1] == MATERIALS["carpet"].absorption[-1]  # 8 and 16 kHz repeat 4 kHz
    assert len(absorption_coefficients([0.1] * 7)) == N_BANDS
    mapped = surface_absorption({"walls": "brick", "front": "glass", "floor": "carpet", "ceiling": 0.5})
    np.testing.assert_allclose(mapped[0], absorption_coefficients("brick"))
    np.testing.assert_allclose(mapped[1], absorption_coefficients("glass"))  # a single wall overrides walls
    np.testing.assert_allclose(mapped[4], absorption_coefficients("carpet"))
    np.testing.assert_allclose(mapped[5], 0.5)
    np.testing.assert_allclose(surface_absorption("concrete"), np.tile(absorption_coefficients("concrete"), (6, 1)))
    with pytest.raises(ParameterError, match="unknown material 'felt'"):
        absorption_coefficients("felt")
    with pytest.raises(ParameterError, match=r"in \[0, 1\)"):
        absorption_coefficients(1.0)
    with pytest.raises(ParameterError, match="6 up to 4 kHz or 7 up to 8 kHz"):
        absorption_coefficients([0.1, 0.2])
    with pytest.raises(ParameterError, match="unknown surface 'roof'"):
        surface_absorption({"roof": "plaster"})


def _scene(room: dict, source=(2.0, 1.5, 1.5), listener=(4.0, 3.0, 1.6)) -> dict:
    return {
        "sources": [{"audio": "a.wav", "position": list(source)}],
        "listener": {"position": list(listener)},
        "room": room,
    }


@pytest.mark.parametrize(
    ("room", "source", "listener", "message"),
    [
        ({"shoebox": {"size": [8, 6, 3]}}, (9, 1, 1), (4, 3, 1.6), r"sources\[0\].position \(9, 1, 1\) is outside"),
        ({"shoebox": {"size": [8, 6, 3]}}, (2, 1, 1), (0, 0, 0), "listener.position .* is outside the room"),
        ({"shoebox": {"size": [8, -6, 3]}}, (2, 1, 1), (4, 3, 1.6), "room dimensions must be positive"),
        ({"shoebox": {"size": [8, 6, 3]}, "materials": {"walls": 1.2}}, (2, 1, 1), (4, 3, 1.6), r"in \[0, 1\)"),
        ({"shoebox": {"size": [8, 6, 3]}, "materials": "felt"}, (2, 1, 1), (4, 3, 1.6), "unknown material"),
        ({"shoebox": {"size": [8, 6, 3]}, "rt60": 0.5, "materials": "brick"}, (2, 1, 1), (4, 3, 1.6), "not both"),
        ({"materials": "brick"}, (2, 1, 1), (4, 3, 1.6), "exactly one of shoebox"),
        ({"shoebox": {"size": [8, 6, 3]}, "ground": "grass"}, (2, 1, 1), (4, 3, 1.6), "got shoebox and ground"),
        ({"ground": "grass"}, (2, 1, -1), (4, 3, 1.6), "below the ground"),
        ({"shoebox": {"size": [8, 6, 3]}, "rt60": -1}, (2, 1, 1), (4, 3, 1.6), "room.rt60"),
        ({"ground": "grass", "max_order": 3}, (2, 1, 1), (4, 3, 1.6), "one ground reflection only: drop max_order"),
        ({"mesh": "room.obj", "randomize": 0.1}, (2, 1, 1), (4, 3, 1.6), "drop it for a mesh room"),
    ],
)
def test_bad_rooms_are_reported_against_the_field(room, source, listener, message) -> None:
    with pytest.raises(InputFileError, match=message):
        scene_from_dict(_scene(room, source, listener), origin="scene.yaml")


def test_the_issue_scene_validates_verbatim() -> None:
    import yaml

    text = """
output: {format: binaural, sample_rate: 16000}
room: {shoebox: {size: [8, 6, 3]}, rt60: 0.5}
listener: {position: [4, 3, 1.6]}
sources:
  - {name: a, audio: a.wav, position: {x: 2, y: 1.5, z: 1.5}}
"""
    scene = scene_from_dict(yaml.safe_load(text))
    assert scene.room.kind == "shoebox" and scene.room.rt60 == 0.5
