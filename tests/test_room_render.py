"""Rooms through the renderer: anechoic limit, ground reflection, decay and join, impulse-response files."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile

from soundstage.acoustics.arrivals import OCTAVE_BANDS_HZ
from soundstage.acoustics.encoders import make_encoder
from soundstage.acoustics.propagation import propagation_model
from soundstage.acoustics.render import impulse_responses, render, source_impulse_response
from soundstage.acoustics.room.materials import absorption_coefficients
from soundstage.cli.main import main
from soundstage.metrics.room import room_acoustics
from soundstage.scene import scene_from_dict

RATE = 16000
LISTENER = [4.0, 3.0, 1.6]


def _noise(seconds: float = 0.3, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(int(seconds * RATE)).astype(np.float32) * 0.1


def _scene(
    room: dict | None, *, output_format: str = "omni", air: bool = False, source=(2.0, 1.5, 1.5), listener=LISTENER
):
    data = {
        "sources": [{"name": "a", "audio": _noise(), "sample_rate": RATE, "position": list(source)}],
        "listener": {"position": list(listener), "orientation": {"yaw": 20.0}},
        "output": {"format": output_format, "sample_rate": RATE},
        "propagation": {"air_absorption": air},
    }
    if room is not None:
        data["room"] = room
    return scene_from_dict(data)


@pytest.mark.parametrize("output_format", ["omni", "binaural", "5.1", "foa", "ortf"])
@pytest.mark.parametrize("air", [False, True])
def test_the_anechoic_limit_equals_the_free_field_sample_for_sample(output_format: str, air: bool) -> None:
    room = {"shoebox": {"size": [8, 6, 3]}, "materials": "carpet", "max_order": 0, "late_reverb": False}
    in_room = render(_scene(room, output_format=output_format, air=air), progress=False)
    free = render(_scene(None, output_format=output_format, air=air), progress=False)
    assert in_room.audio.shape == free.audio.shape
    np.testing.assert_array_equal(in_room.audio, free.audio)


def test_ground_reflection_comes_from_the_mirrored_source_with_the_grounds_absorption() -> None:
    scene = _scene({"ground": "grass"}, output_format="omni")
    model = propagation_model(scene)
    source = np.array([2.0, 1.5, 1.5])
    early = model.propagate(source, "a").early
    listener = np.array(LISTENER)
    r_direct = np.linalg.norm(source - listener)
    r_ground = np.linalg.norm(source * [1, 1, -1] - listener)
    np.testing.assert_allclose(early.delay_s, np.array([r_direct, r_ground]) / 343.0, rtol=1e-12)
    np.testing.assert_allclose(early.gain[0], 1 / r_direct, rtol=1e-12)
    np.testing.assert_allclose(early.gain[1], np.sqrt(1 - absorption_coefficients("grass")) / r_ground, rtol=1e-12)
    # It comes up from the ground: the head's yaw leaves the vertical component alone.
    assert early.direction[1, 2] == pytest.approx(-(1.5 + LISTENER[2]) / r_ground, rel=1e-12)


def _omni_ir(room: dict, *, air: bool = False, seed: int = 0, **positions) -> tuple[np.ndarray, object]:
    scene = _scene({**room, "seed": seed}, output_format="omni", air=air, **positions)
    model = propagation_model(scene)
    encoder = make_encoder("omni", RATE)
    return source_impulse_response(scene, 0, encoder, model)[0], model


@pytest.mark.parametrize(
    ("size", "rt60"),
    [((8, 6, 3), 0.5), ((3.5, 3.5, 2.5), 0.2), ((20, 15, 6), 1.5)],
)
def test_omni_decay_follows_eyring(size, rt60) -> None:
    size = np.array(size)
    ir, model = _omni_ir({"shoebox": {"size": size.tolist()}, "rt60": rt60}, source=size * 0.3, listener=size * 0.55)
    target = float(model.rt60_s[3])
    assert target == pytest.approx(rt60, rel=1e-9)  # rt60 solves the 1 kHz band exactly
    measured = room_acoustics(ir, RATE)
    assert measured.t30_s == pytest.approx(target, rel=0.05)


def test_the_tail_joins_the_image_sources_without_a_level_step() -> None:
    ir, _ = _omni_ir({"shoebox": {"size": [8, 6, 3]}, "rt60": 0.6, "mixing_time": 0.06})
    # Energy per second, in 20 ms windows on each side of the join, corrected for the decay between them.
    join = int(0.06 * RATE)
    width = int(0.02 * RATE)
    decay_db_per_s = 60.0 / 0.6
    before = np.mean(ir[join - width : join] ** 2)
    after = np.mean(ir[join : join + width] ** 2)
    step_db = 10 * np.log10(after / before) + decay_db_per_s * 0.02
    assert abs(step_db) < 2.0


def test_materials_make_high_bands_decay_faster_under_carpet() -> None:
    room = {"shoebox": {"size": [8, 6, 3]}, "materials": {"walls": "plaster", "floor": "carpet", "ceiling": "plaster"}}
    _, model = _omni_ir(room)
    rt = model.rt60_s
    assert rt[0] > 2 * rt[5]  # 125 Hz rings far longer than 4 kHz over carpet
    assert np.all(np.isfinite(rt))


@pytest.mark.parametrize("output_format", ["binaural", "stereo", "7.1", "hoa2", "ab"])
def test_every_format_carries_the_room_in_every_channel(output_format: str) -> None:
    scene = _scene({"shoebox": {"size": [8, 6, 3]}, "rt60": 0.4}, output_format=output_format)
    result = impulse_responses(scene, progress=False)[0][1]
    encoder = make_encoder(output_format, RATE, hrtf=None if output_format != "binaural" else _sphere())
    assert result.audio.shape[0] == encoder.n_channels
    tail = result.audio[:, int(0.2 * RATE) : int(0.3 * RATE)]
    active = [i for i, label in enumerate(result.channel_labels) if label != "LFE"]
    assert np.all(np.sqrt(np.mean(tail[active] ** 2, axis=1)) > 1e-4)
    assert result.duration > 0.4  # runs until the tail has decayed 60 dB


def _sphere():
    from soundstage.acoustics.hrtf import load_hrtf

    return load_hrtf("sphere", RATE)


def test_renders_are_reproducible_and_seeded() -> None:
    room = {"shoebox": {"size": [8, 6, 3]}, "rt60": 0.4}
    a, _ = _omni_ir(room, seed=3)
    b, _ = _omni_ir(room, seed=3)
    c, _ = _omni_ir(room, seed=4)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_cli_writes_one_impulse_response_per_source(tmp_path) -> None:
    soundfile.write(tmp_path / "a.wav", _noise(), RATE)
    (tmp_path / "scene.yaml").write_text(
        """
output: {format: binaural, sample_rate: 16000}
room: {shoebox: {size: [8, 6, 3]}, rt60: 0.5}
listener: {position: [4, 3, 1.6]}
sources:
  - {name: a, audio: a.wav, position: {x: 2, y: 1.5, z: 1.5}}
  - {name: b, audio: a.wav, position: {x: 6, y: 4.5, z: 1.5}}
""",
        encoding="utf-8",
    )
    out = tmp_path / "ir.wav"
    assert main(["render", str(tmp_path / "scene.yaml"), "--ir-only", "-o", str(out), "--quiet"]) == 0
    for name, position in (("a", [2, 1.5, 1.5]), ("b", [6, 4.5, 1.5])):
        data, rate = soundfile.read(tmp_path / f"ir_{name}.wav", always_2d=True)
        info = soundfile.info(str(tmp_path / f"ir_{name}.wav"))
        assert rate == RATE and data.shape[1] == 2 and info.subtype == "FLOAT"
        # The direct sound reaches the nearer ear first at about r/c (sphere head: ±0.7 ms).
        onset = np.argmax(np.max(np.abs(data), axis=1) > 0.1 * np.max(np.abs(data)))
        r = np.linalg.norm(np.array(position) - LISTENER)
        assert abs(onset / RATE - r / 343.0) < 0.0012
    assert not out.exists()
    # Existing files are kept without --overwrite.
    assert main(["render", str(tmp_path / "scene.yaml"), "--ir-only", "-o", str(out), "--quiet"]) != 0
    # The mix renders too.
    assert main(["render", str(tmp_path / "scene.yaml"), "-o", str(tmp_path / "mix.wav"), "--quiet"]) == 0


def test_one_source_writes_the_file_named_after_it(tmp_path) -> None:
    # As for several sources (and as the README's `analyze ir_a.wav` example expects): OUTPUT_NAME.wav.
    soundfile.write(tmp_path / "a.wav", _noise(), RATE)
    (tmp_path / "scene.yaml").write_text(
        "output: {format: foa, sample_rate: 16000}\nroom: {shoebox: {size: [8, 6, 3]}, rt60: 0.3}\n"
        "listener: {position: [4, 3, 1.6]}\nsources:\n  - {name: a, audio: a.wav, position: [2, 1.5, 1.5]}\n",
        encoding="utf-8",
    )
    out = tmp_path / "ir.wav"
    assert main(["render", str(tmp_path / "scene.yaml"), "--ir-only", "-o", str(out), "--quiet"]) == 0
    assert soundfile.info(str(tmp_path / "ir_a.wav")).channels == 4
    assert not out.exists()


def test_band_centres_of_rooms_match_the_arrivals() -> None:
    model = propagation_model(_scene({"shoebox": {"size": [8, 6, 3]}, "materials": "brick"}))
    response = model.propagate(np.array([2.0, 1.5, 1.5]), "a")
    np.testing.assert_array_equal(response.early.band_centers_hz, OCTAVE_BANDS_HZ)
    assert response.decay is not None
    # The tail starts after every first-order reflection (the farthest comes from the far x wall).
    assert response.decay.mixing_time_s > np.linalg.norm(np.array([14.0, 1.5, 1.5]) - LISTENER) / 343.0


@pytest.mark.parametrize("lateral_deg", [-60.0, 0.0, 30.0])
def test_the_localizer_finds_the_direct_sound_in_a_room_of_rt60_0_6_s(lateral_deg: float) -> None:
    from soundstage.metrics.localize_binaural import localize_binaural

    # Noise bursts (onsets the precedence weighting can use), 2 m from the listener.
    rng = np.random.default_rng(5)
    signal = np.zeros(3 * RATE, dtype=np.float32)
    for start in range(0, 3 * RATE - 800, RATE // 4):
        signal[start : start + 800] = rng.standard_normal(800) * 0.3
    angle = np.deg2rad(lateral_deg)
    position = np.array(LISTENER) + 2.0 * np.array([np.cos(angle), np.sin(angle), 0.0])
    scene = scene_from_dict(
        {
            "sources": [{"audio": signal, "sample_rate": RATE, "position": position.tolist()}],
            "listener": {"position": LISTENER},
            "output": {"format": "binaural", "sample_rate": RATE},
            "room": {"shoebox": {"size": [8, 6, 3]}, "rt60": 0.6},
        }
    )
    result = render(scene, progress=False)
    found = localize_binaural(result.audio, RATE, hrtf="sphere").sources
    assert found and abs(found[0].lateral_deg - lateral_deg) <= 8.0


def _box_obj(path, size=(8.0, 6.0, 3.0)) -> None:
    """An OBJ of a box with one corner at the origin (12 triangles, no groups)."""
    from test_room_mesh import box_arrays, write_obj

    write_obj(path, *box_arrays(size=size)[:2])


def test_a_box_mesh_renders_the_same_as_the_shoebox(tmp_path) -> None:
    # The default positions line up with the corner (0, 0): the x-then-y and y-then-x corner paths
    # must count once, as the one image of the lattice.
    _box_obj(tmp_path / "box.obj")
    materials = {"walls": "brick", "floor": "carpet", "ceiling": "acoustic_tile"}
    common = {"materials": materials, "max_order": 2, "late_reverb": False}
    shoebox = _scene({"shoebox": {"size": [8, 6, 3]}, **common}, output_format="foa")
    mesh = _scene({"mesh": str(tmp_path / "box.obj"), **common}, output_format="foa")
    a = impulse_responses(shoebox, progress=False)[0][1].audio
    b = impulse_responses(mesh, progress=False)[0][1].audio
    assert a.shape == b.shape
    np.testing.assert_allclose(b, a, atol=1e-6 * np.max(np.abs(a)))


def test_a_mesh_room_decays_at_its_eyring_rate(tmp_path) -> None:
    _box_obj(tmp_path / "box.obj")
    scene = _scene({"mesh": str(tmp_path / "box.obj"), "rt60": 0.5}, output_format="omni")
    model = propagation_model(scene)
    assert model.rt60_s[3] == pytest.approx(0.5, rel=1e-9)
    ir = source_impulse_response(scene, 0, make_encoder("omni", RATE), model)[0]
    assert room_acoustics(ir, RATE).t30_s == pytest.approx(0.5, rel=0.05)


def test_a_source_outside_the_mesh_room_is_refused(tmp_path) -> None:
    from soundstage.errors import ParameterError

    _box_obj(tmp_path / "box.obj")
    scene = _scene({"mesh": str(tmp_path / "box.obj")}, source=(9.0, 1.0, 1.0))
    with pytest.raises(ParameterError, match=r"sources\[0\] 'a': position .* is outside the mesh room"):
        impulse_responses(scene, progress=False)


UNEVEN = {
    "walls": {"absorption": 0.03, "scattering": 0.05},
    "floor": {"absorption": 0.6, "scattering": 0.05},
    "ceiling": {"absorption": 0.6, "scattering": 0.05},
}


@pytest.mark.parametrize("rays", [None, 0])
def test_a_mesh_room_with_its_absorption_on_floor_and_ceiling_decays_slower_than_eyring(tmp_path, rays) -> None:
    # Sound running between the hard walls outlives Eyring's average: the traced decay (rays) and
    # Arau-Puchades' formula (no rays) both say so, and the rendered response decays at what they say.
    from soundstage.acoustics.room.reverberation_time import arau_puchades_rt60, eyring_rt60

    _box_obj(tmp_path / "box.obj")
    scene = _scene({"mesh": str(tmp_path / "box.obj"), "materials": UNEVEN, "rays": rays})
    model = propagation_model(scene)
    room = model.room
    eyring = eyring_rt60(room.volume_m3, room.plane_areas_m2, room.absorption)[3]
    formula = arau_puchades_rt60(room.volume_m3, room.plane_areas_m2, room.absorption, room.plane_normals)
    np.testing.assert_allclose(model.rt60_s, formula)
    ir = source_impulse_response(scene, 0, make_encoder("omni", RATE), model)[0]
    expected = model.traced_rt60_s[-1][3] if rays is None else formula[3]
    assert expected > 1.8 * eyring
    assert room_acoustics(ir, RATE, bands="octave").bands["1000"].t30_s == pytest.approx(expected, rel=0.05)
    assert ("ray tracing" in model.describe()) == (rays is None)


def test_scattering_moves_energy_from_the_image_sources_into_the_traced_arrivals(tmp_path) -> None:
    # With scattering the specular images keep √(1 − s) of their pressure; what they lose arrives as traced
    # rain before the tail.
    _box_obj(tmp_path / "box.obj")

    def response(scattering):
        materials = {"default": {"absorption": 0.1, "scattering": scattering}}
        scene = _scene({"mesh": str(tmp_path / "box.obj"), "materials": materials})
        model = propagation_model(scene)
        propagation = model.propagate(np.array([2.0, 1.5, 1.5]), "a")
        first = propagation.early.gain[propagation.reflection_order == 1]
        rained = propagation.reflection_order > model.max_order
        energy = np.sum(np.asarray(propagation.early.gain)[rained] ** 2)
        return first, energy

    smooth_first, smooth_rain = response(0.0)
    rough_first, rough_rain = response(0.5)
    np.testing.assert_allclose(rough_first, smooth_first * np.sqrt(0.5))
    # A smooth box rains only from its third reflections on; a rough one from its first.
    assert rough_rain > 2.0 * smooth_rain


def test_explain_says_where_the_decay_came_from(tmp_path, capsys) -> None:
    import yaml

    _box_obj(tmp_path / "box.obj")
    soundfile.write(tmp_path / "a.wav", _noise(), RATE)
    from soundstage.acoustics.room.ray_tracing import DEFAULT_RAYS

    for rays, origin in ((None, f"ray tracing, {DEFAULT_RAYS} rays per source"), (0, "Arau-Puchades' formula")):
        scene = {
            "output": {"format": "omni", "sample_rate": RATE},
            "room": {"mesh": "box.obj", "materials": UNEVEN, "rays": rays},
            "listener": {"position": LISTENER},
            "sources": [{"audio": "a.wav", "position": [2.0, 1.5, 1.5]}],
        }
        (tmp_path / "scene.yaml").write_text(yaml.safe_dump(scene))
        code = main(
            ["render", str(tmp_path / "scene.yaml"), "-o", str(tmp_path / "out.wav"), "--overwrite", "--explain"]
        )
        lines = capsys.readouterr().out.splitlines()
        assert code == 0
        decay = next(line for line in lines if line.startswith("decay: RT60 125 Hz"))
        assert origin in decay and "8 kHz" in decay
        assert not any("decay RT60" in line for line in lines)  # the one-line summary leaves it to --explain


def test_rays_without_a_tail_are_refused(tmp_path) -> None:
    _box_obj(tmp_path / "box.obj")
    with pytest.raises(ValueError, match="late_reverb: false drop rays"):
        _scene({"mesh": str(tmp_path / "box.obj"), "rays": 500, "late_reverb": False})


def test_below_the_schroeder_frequency_the_traced_decay_does_not_overshoot_the_formula(tmp_path) -> None:
    # The box with its absorption on floor and ceiling: rays running between its hard walls outlive Arau-Puchades'
    # time in every band, but a band reaching below the Schroeder frequency (2000 √(T/V) Hz) is modal, and there the
    # decay is capped at the formula's; the bands above keep the traced one.
    from soundstage.acoustics.arrivals import OCTAVE_BANDS_HZ

    _box_obj(tmp_path / "box.obj")
    scene = _scene({"mesh": str(tmp_path / "box.obj"), "materials": UNEVEN})
    model = propagation_model(scene)
    model.propagate(np.array([2.0, 1.5, 1.5]), "a")
    traced, formula = model.traced_rt60_s[-1], model.rt60_s
    modal = OCTAVE_BANDS_HZ / np.sqrt(2.0) < 2000.0 * np.sqrt(formula / (8.0 * 6.0 * 3.0))  # Schroeder, Hz
    assert modal[0] and not modal[3]
    np.testing.assert_allclose(traced[modal], formula[modal])
    assert np.all(traced[~modal][:5] > 1.2 * formula[~modal][:5])
    count = int(np.count_nonzero(modal))
    capped = f"capped at Arau-Puchades' time in {count} band{'' if count == 1 else 's'} below the Schroeder frequency"
    assert capped in model.describe_decay()
