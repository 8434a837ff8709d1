"""Stereo: the constant-power pan law and simulated ORTF / AB microphone pairs."""

import numpy as np
import pytest
from scipy.signal import group_delay

from soundstage.acoustics.arrivals import OCTAVE_BANDS_HZ, Arrivals
from soundstage.acoustics.encoders.stereo import SpacedPairEncoder, StereoPanEncoder
from soundstage.conventions import SPEED_OF_SOUND, unit_vectors
from soundstage.errors import ParameterError

RATE = 48000


def arrivals(azimuth_deg, gain=1.0, elevation_deg=0.0, delay_samples=480.0, bands=None) -> Arrivals:
    azimuth = np.atleast_1d(np.asarray(azimuth_deg, dtype=float))
    k = len(azimuth)
    elevation = np.broadcast_to(np.asarray(elevation_deg, dtype=float), azimuth.shape)
    delay = np.full(k, delay_samples / RATE)
    gain = np.asarray(gain, dtype=float)
    gain = np.tile(gain, (k, 1)) if bands is not None else np.broadcast_to(gain, (k,)).copy()
    return Arrivals(delay, gain, unit_vectors(azimuth, elevation), delay * SPEED_OF_SOUND, bands)


def channel_energy(ir: np.ndarray) -> np.ndarray:
    return np.sum(ir**2, axis=1)


# --- pan law ------------------------------------------------------------------------------------


def test_pan_law_keeps_the_energy_for_many_azimuths():
    enc = StereoPanEncoder(RATE)
    rng = np.random.default_rng(3)
    for azimuth, elevation, gain in zip(
        rng.uniform(-180, 180, 40), rng.uniform(-80, 80, 40), rng.uniform(0.1, 2.0, 40), strict=True
    ):
        ir = enc.impulse_response(arrivals(azimuth, gain, elevation))  # whole-sample delay: exact impulses
        assert np.sum(channel_energy(ir)) == pytest.approx(gain**2, rel=1e-12)


def test_source_on_a_speaker_feeds_only_that_speaker():
    enc = StereoPanEncoder(RATE)
    left = channel_energy(enc.impulse_response(arrivals(30.0)))
    right = channel_energy(enc.impulse_response(arrivals(-30.0)))
    assert left[0] == pytest.approx(1.0) and left[1] < 1e-30
    assert right[1] == pytest.approx(1.0) and right[0] < 1e-30


def test_centre_source_is_equal_in_both_and_outside_sources_clamp():
    enc = StereoPanEncoder(RATE)
    np.testing.assert_allclose(channel_energy(enc.impulse_response(arrivals(0.0))), [0.5, 0.5], rtol=1e-12)
    np.testing.assert_allclose(channel_energy(enc.impulse_response(arrivals(75.0))), [1.0, 0.0], atol=1e-30)
    np.testing.assert_allclose(channel_energy(enc.impulse_response(arrivals(-130.0))), [0.0, 1.0], atol=1e-30)


def test_pan_follows_the_sine_cosine_law():
    # Position p = (az + 30) / 60 across the stage: L = sin(p π/2), R = cos(p π/2).
    enc = StereoPanEncoder(RATE)
    for azimuth in (-20.0, -5.0, 10.0, 25.0):
        p = (azimuth + 30.0) / 60.0
        ir = enc.impulse_response(arrivals(azimuth))
        np.testing.assert_allclose(ir[:, 480], [np.sin(p * np.pi / 2), np.cos(p * np.pi / 2)], atol=1e-12)


def test_pan_is_mirror_symmetric_and_folds_the_rear_to_the_front():
    enc = StereoPanEncoder(RATE)
    for azimuth in (7.0, 18.0, 29.0, 150.0):
        left = enc.impulse_response(arrivals(azimuth))
        right = enc.impulse_response(arrivals(-azimuth))
        np.testing.assert_allclose(left, right[::-1], atol=1e-15)
    # 160° is mirrored about the interaural axis to 180 - 160 = 20°.
    np.testing.assert_allclose(enc.impulse_response(arrivals(160.0)), enc.impulse_response(arrivals(20.0)), atol=1e-15)
    assert enc.channel_labels == ("FL", "FR") and enc.channel_mask == 0x3


def test_pan_treats_every_arrival_independently():
    enc = StereoPanEncoder(RATE)
    both = Arrivals(
        np.array([0.01, 0.02]),
        np.array([1.0, 0.5]),
        unit_vectors(np.array([30.0, -30.0]), np.zeros(2)),
        np.array([3.43, 6.86]),
    )
    ir = enc.impulse_response(both)
    assert ir[0, 480] == pytest.approx(1.0) and abs(ir[1, 480]) < 1e-15
    assert ir[1, 960] == pytest.approx(0.5) and abs(ir[0, 960]) < 1e-15


# --- spaced pairs -------------------------------------------------------------------------------


def onset(ir_channel: np.ndarray) -> float:
    """Arrival time in samples from the low-frequency group delay."""
    _, gd = group_delay((ir_channel, [1.0]), w=[500.0], fs=RATE)
    return float(gd[0])


def test_ortf_time_and_level_differences_for_a_source_on_the_left():
    enc = SpacedPairEncoder(RATE, "ortf")
    left, right = enc.impulse_response(arrivals(90.0, delay_samples=1000.0))
    # The left microphone is 17 cm nearer a wave from +90°: it leads by d / c.
    itd = (onset(right) - onset(left)) / RATE
    assert itd == pytest.approx(0.17 / SPEED_OF_SOUND, abs=1e-7)
    assert onset(left) == pytest.approx(1000.0 - 0.085 / SPEED_OF_SOUND * RATE, abs=1e-3)
    # Cardioids aimed at ±55°: the source is 35° off the left axis and 145° off the right one.
    expected = np.array([(1 + np.cos(np.deg2rad(35))) / 2, (1 + np.cos(np.deg2rad(145))) / 2])
    np.testing.assert_allclose([np.sum(left), np.sum(right)], expected, rtol=1e-2)  # DC gains
    assert enc.channel_labels == ("FL", "FR") and enc.channel_mask == 0x3


def test_ab_pair_has_equal_levels_and_a_40_cm_time_difference():
    enc = SpacedPairEncoder(RATE, "ab")
    left, right = enc.impulse_response(arrivals(-90.0, 0.5, delay_samples=2000.0))
    assert (onset(left) - onset(right)) / RATE == pytest.approx(0.40 / SPEED_OF_SOUND, abs=1e-7)
    assert np.sum(left) == pytest.approx(0.5, rel=1e-2) and np.sum(right) == pytest.approx(0.5, rel=1e-2)


def test_spaced_pair_front_source_is_identical_in_both_and_elevation_shortens_the_path():
    for kind in ("ortf", "ab"):
        enc = SpacedPairEncoder(RATE, kind)
        left, right = enc.impulse_response(arrivals(0.0, delay_samples=700.3))
        np.testing.assert_allclose(left, right, atol=1e-15)
        assert onset(left) == pytest.approx(700.3, abs=1e-3)
    # From 60° up on the left, the path difference is d cos(60°).
    left, right = SpacedPairEncoder(RATE, "ab").impulse_response(
        arrivals(90.0, elevation_deg=60.0, delay_samples=1000.0)
    )
    assert (onset(right) - onset(left)) / RATE == pytest.approx(0.40 * 0.5 / SPEED_OF_SOUND, abs=1e-7)


def test_spaced_pair_keeps_band_gains():
    gains = np.array([1.0, 1.0, 1.0, 0.9, 0.7, 0.5, 0.3, 0.2])
    enc = SpacedPairEncoder(RATE, "ab")
    banded = enc.impulse_response(arrivals(30.0, gains, delay_samples=3000.0, bands=OCTAVE_BANDS_HZ))
    plain = enc.impulse_response(arrivals(30.0, delay_samples=3000.0))
    assert onset(banded[0]) == pytest.approx(onset(plain[0]), abs=1e-2)
    assert np.sum(banded[1]) == pytest.approx(np.sum(plain[1]), rel=1e-2)  # 0 dB at low frequencies


def test_unknown_pair_kind_is_refused():
    with pytest.raises(ParameterError, match=r"kind must be 'ortf' or 'ab', got 'xy'"):
        SpacedPairEncoder(RATE, "xy")
    with pytest.raises(ParameterError, match="speed_of_sound must be positive"):
        SpacedPairEncoder(RATE, "ab", speed_of_sound=0.0)
