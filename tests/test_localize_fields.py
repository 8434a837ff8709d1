"""Pseudo-intensity and Gerzon-vector localizers against plane waves, panning laws and renders."""

import math

import numpy as np
import pytest
from scipy.signal import butter, sosfilt

from soundstage import Scene, render
from soundstage.acoustics.encoders.spherical_harmonics import ambix_to_fuma, real_spherical_harmonics
from soundstage.acoustics.encoders.surround import vbap_2d_gains
from soundstage.conventions import SPEAKER_LAYOUTS, unit_vectors
from soundstage.errors import ParameterError
from soundstage.metrics.directions import azimuth_error_deg, direction_error_deg
from soundstage.metrics.localize_fields import localize_ambisonic, localize_loudspeakers

RATE = 16000


def noise(n: int = RATE // 2, seed: int = 0) -> np.ndarray:
    return 0.1 * np.random.default_rng(seed).standard_normal(n)


def plane_wave(signal: np.ndarray, azimuth_deg: float, elevation_deg: float, order: int = 1) -> np.ndarray:
    """AmbiX (ACN/SN3D) of a plane wave: each channel is the signal times its spherical harmonic."""
    harmonics = real_spherical_harmonics(order, math.radians(azimuth_deg), math.radians(elevation_deg))
    return harmonics[:, None] * signal[None, :]


def rendered(format_name: str, azimuth_deg: float, elevation_deg: float = 0.0) -> np.ndarray:
    scene = Scene(
        sources=[
            {"audio": noise(), "sample_rate": RATE, "position": {"az": azimuth_deg, "el": elevation_deg, "dist": 2}}
        ],
        output={"format": format_name, "sample_rate": RATE},
    )
    return render(scene, progress=False).audio.astype(float)


def error_deg(source, azimuth_deg, elevation_deg):
    return float(direction_error_deg(source.azimuth_deg, source.elevation_deg, azimuth_deg, elevation_deg))


# --- ambisonics ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("azimuth", "elevation", "order"),
    [(0, 0, 1), (75, 30, 1), (-135, -40, 1), (170, 60, 1), (-20, 85, 1), (110, -15, 3)],
)
def test_plane_waves_are_found_within_one_degree(azimuth, elevation, order):
    found = localize_ambisonic(plane_wave(noise(), azimuth, elevation, order), RATE)
    assert found.method == "pseudo-intensity" and len(found.sources) == 1
    assert error_deg(found.sources[0], azimuth, elevation) < 1.0
    assert found.sources[0].confidence > 0.95


@pytest.mark.parametrize(("azimuth", "elevation"), [(60, 20), (-100, -30), (180, 10)])
def test_foa_renders_are_found_within_one_degree(azimuth, elevation):
    found = localize_ambisonic(rendered("foa", azimuth, elevation), RATE)
    assert error_deg(found.sources[0], azimuth, elevation) < 1.0


def test_fuma_gives_the_same_directions():
    signals = plane_wave(noise(), -50, 25)
    found = localize_ambisonic(ambix_to_fuma(signals), RATE, convention="fuma")
    assert error_deg(found.sources[0], -50, 25) < 1.0


def test_two_sources_apart_in_time_are_both_found_strongest_first():
    half = RATE // 2
    signals = np.concatenate([plane_wave(noise(half, 1), 120, -10), plane_wave(0.5 * noise(half, 2), -60, 40)], axis=1)
    found = localize_ambisonic(signals, RATE)
    assert len(found.sources) == 2
    assert error_deg(found.sources[0], 120, -10) < 1.0 and error_deg(found.sources[1], -60, 40) < 1.0
    # Shares of energy: 1 and 0.25 of it (less the transition frames).
    assert found.sources[0].confidence > 0.7 and 0.1 < found.sources[1].confidence < 0.25
    assert np.isnan(found.tracks["azimuth_deg"]).sum() == 0 and len(found.tracks["times_s"]) == found.summary["frames"]


def test_two_simultaneous_sources_apart_in_frequency_are_both_found():
    low = sosfilt(butter(8, 1500, fs=RATE, output="sos"), noise(seed=3))
    high = sosfilt(butter(8, 3000, "high", fs=RATE, output="sos"), noise(seed=4))
    found = localize_ambisonic(plane_wave(low, 30, 0) + plane_wave(high, -100, 20), RATE, max_sources=4)
    directions = sorted((round(s.azimuth_deg), round(s.elevation_deg)) for s in found.sources)
    assert directions == [(-100, 20), (30, 0)]
    assert localize_ambisonic(plane_wave(low, 30, 0) + plane_wave(high, -100, 20), RATE, max_sources=1).sources[
        0
    ].azimuth_deg == pytest.approx(-100, abs=1.0)  # the high band has the wider bandwidth, so more energy


def test_a_diffuse_field_yields_no_source():
    rng = np.random.default_rng(6)
    azimuths = rng.uniform(-180, 180, 300)
    elevations = np.degrees(np.arcsin(rng.uniform(-1, 1, 300)))
    field = sum(plane_wave(noise(seed=10 + i), a, e) for i, (a, e) in enumerate(zip(azimuths, elevations, strict=True)))
    found = localize_ambisonic(field, RATE)
    assert found.sources == []
    assert found.summary["bins_used"] < 0.2 * found.summary["bins"]


@pytest.mark.parametrize(
    ("audio", "kwargs", "match"),
    [
        (np.ones((5, 100)), {}, r"\(N \+ 1\)²"),
        (np.ones((1, 100)), {}, r"\(N \+ 1\)²"),
        (np.ones((9, 100)), {"convention": "fuma"}, "FuMa audio must have 4 channels"),
        (np.ones((4, 100)), {"convention": "acn"}, "convention"),
        (np.zeros((4, 100)), {}, "silent"),
        (np.ones(100), {}, "n_channels, n_samples"),
        (np.ones((4, 100)), {"max_sources": 0}, "max_sources"),
        (np.full((4, 100), np.nan), {}, "NaN"),
    ],
)
def test_ambisonic_bad_inputs(audio, kwargs, match):
    with pytest.raises(ParameterError, match=match):
        localize_ambisonic(audio, RATE, **kwargs)


# --- loudspeakers -------------------------------------------------------------------------------------------


def speaker_feeds(layout: str, gains: np.ndarray, signal: np.ndarray) -> np.ndarray:
    """Feeds of a layout from gains of its non-LFE speakers (LFE silent)."""
    speakers = SPEAKER_LAYOUTS[layout]
    feeds = np.zeros((len(speakers), len(signal)))
    panned = [i for i, s in enumerate(speakers) if not s.is_lfe]
    feeds[panned] = gains[:, None] * signal[None, :]
    return feeds


def speaker_azimuths(layout: str) -> np.ndarray:
    return np.array([s.azimuth_deg for s in SPEAKER_LAYOUTS[layout] if not s.is_lfe])


@pytest.mark.parametrize(("layout", "azimuth"), [("5.1", 15), ("5.1", -70), ("5.1", 150), ("7.1", 112), ("7.1", -160)])
def test_each_gerzon_vector_points_at_a_source_panned_for_it(layout, azimuth):
    direction = unit_vectors(azimuth, 0.0)[None]
    for vector, key in (("energy", "energy_azimuth_deg"), ("velocity", "velocity_azimuth_deg")):
        gains = vbap_2d_gains(direction, speaker_azimuths(layout), vector=vector)[0]
        found = localize_loudspeakers(speaker_feeds(layout, gains, noise()), layout, RATE)
        assert azimuth_error_deg(found.summary[key], azimuth) < 0.01
    # With the energy law the source (the energy vector) is on target as well.
    assert found.method == "gerzon-vectors" and found.sources[0].elevation_deg is None


@pytest.mark.parametrize(("layout", "azimuth"), [("5.1", 20), ("5.1", -45), ("5.1", 100), ("5.1", -150), ("7.1", 70)])
def test_surround_renders_are_found_within_the_dual_band_bound(layout, azimuth):
    # The renderer pans with velocity gains below 700 Hz and energy gains above, joined by an in-phase
    # Linkwitz-Riley crossover, so at every frequency a pair's gains lie between the two laws and so does
    # the full-band energy vector: it can be pulled off the source at most as far as the velocity law
    # pulls it. White noise has under a tenth of its energy below 700 Hz at 16 kHz, which keeps the
    # measured pull under 3° (2.2° at -150°, the 140° rear pair).
    found = localize_loudspeakers(rendered(layout, azimuth), layout, RATE)
    velocity_gains = vbap_2d_gains(unit_vectors(azimuth, 0.0)[None], speaker_azimuths(layout))[0]
    pulled = (velocity_gains**2) @ unit_vectors(speaker_azimuths(layout), 0.0)
    pull_deg = float(azimuth_error_deg(math.degrees(math.atan2(pulled[1], pulled[0])), azimuth))
    error = float(azimuth_error_deg(found.sources[0].azimuth_deg, azimuth))
    assert error <= pull_deg + 1e-6 and error < 3.0
    assert float(azimuth_error_deg(found.summary["velocity_azimuth_deg"], azimuth)) < 3.0


@pytest.mark.parametrize("azimuth", [15.0, -15.0, 25.0])
def test_stereo_pans_follow_the_gerzon_closed_forms(azimuth):
    # The stereo encoder's sine/cosine law at angle φ = (az + 30°) / 60° × 90° gives L = sin φ, R = cos φ;
    # with speakers at ±30° the vectors' azimuths are atan(tan 30° (L² - R²)) and atan(tan 30° (L - R)/(L + R)).
    phi = math.radians((azimuth + 30.0) / 60.0 * 90.0)
    left, right = math.sin(phi), math.cos(phi)
    tan30 = math.tan(math.radians(30.0))
    energy = math.degrees(math.atan(tan30 * (left**2 - right**2)))
    velocity = math.degrees(math.atan(tan30 * (left - right) / (left + right)))
    found = localize_loudspeakers(rendered("stereo", azimuth), "stereo", RATE)
    assert found.sources[0].azimuth_deg == pytest.approx(energy, abs=0.01)
    assert found.summary["velocity_azimuth_deg"] == pytest.approx(velocity, abs=0.01)
    assert found.sources[0].lateral_deg == pytest.approx(energy, abs=0.01)


def test_stereo_tangent_law_puts_the_velocity_vector_on_the_pan():
    # Tangent law: (L - R) / (L + R) = tan(az) / tan(30°).
    ratio = math.tan(math.radians(15.0)) / math.tan(math.radians(30.0))
    gains = np.array([1 + ratio, 1 - ratio]) / math.hypot(1 + ratio, 1 - ratio)
    found = localize_loudspeakers(speaker_feeds("stereo", gains, noise()), "stereo", RATE)
    assert found.summary["velocity_azimuth_deg"] == pytest.approx(15.0, abs=1e-6)


def test_anti_phase_channels_turn_the_velocity_vector_around():
    # Signed amplitudes: FL = s, FR = -0.5 s gives r_V = (l_L - 0.5 l_R) / 0.5, which points beyond the left speaker.
    found = localize_loudspeakers(speaker_feeds("stereo", np.array([1.0, -0.5]), noise()), "stereo", RATE)
    expected = (unit_vectors(30.0, 0.0) - 0.5 * unit_vectors(-30.0, 0.0)) / 0.5
    assert found.summary["velocity_azimuth_deg"] == pytest.approx(math.degrees(math.atan2(expected[1], expected[0])))
    assert found.summary["velocity_magnitude"] == pytest.approx(np.linalg.norm(expected))


def test_two_loudspeaker_sources_apart_in_time_and_the_lfe_ignored():
    half = RATE // 2
    azimuths = speaker_azimuths("5.1")
    first = speaker_feeds(
        "5.1", vbap_2d_gains(unit_vectors(-80.0, 0.0)[None], azimuths, vector="energy")[0], noise(half, 1)
    )
    second = speaker_feeds(
        "5.1", vbap_2d_gains(unit_vectors(10.0, 0.0)[None], azimuths, vector="energy")[0], noise(half, 2)
    )
    feeds = np.concatenate([first, 0.5 * second], axis=1)
    feeds[3] = 10.0 * noise(RATE, 9)  # a loud LFE must not move anything
    found = localize_loudspeakers(feeds, "5.1", RATE)
    # The two frames straddling the switch mix both sources and sit inside the first one's cone: < 1° pull.
    assert np.allclose([s.azimuth_deg for s in found.sources], [-80.0, 10.0], atol=1.0)
    assert found.sources[0].confidence > found.sources[1].confidence > 0.1


@pytest.mark.parametrize(
    ("audio", "layout", "kwargs", "match"),
    [
        (np.ones((2, 100)), "5.1", {}, r"layout 5.1 has 6 channels \(FL FR FC LFE SL SR\), but the audio has 2"),
        (np.ones((6, 100)), "7.1", {}, "layout 7.1 has 8 channels"),
        (np.ones((6, 100)), "quad", {}, "layout must be one of"),
        (np.zeros((6, 100)), "5.1", {}, "silent"),
        (np.ones((2, 100)), "stereo", {"max_sources": 0}, "max_sources"),
    ],
)
def test_loudspeaker_bad_inputs(audio, layout, kwargs, match):
    with pytest.raises(ParameterError, match=match):
        localize_loudspeakers(audio, layout, RATE, **kwargs)


def test_lfe_only_audio_is_silent_for_localization():
    feeds = np.zeros((6, 1000))
    feeds[3] = 1.0
    with pytest.raises(ParameterError, match="LFE aside"):
        localize_loudspeakers(feeds, "5.1", RATE)
