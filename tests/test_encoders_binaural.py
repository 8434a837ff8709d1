"""The binaural encoder: HRIR bookkeeping with a fake head, physics with the rigid sphere."""

import numpy as np
import pytest
from scipy.signal import freqz, group_delay

from soundstage.acoustics.arrivals import OCTAVE_BANDS_HZ, Arrivals
from soundstage.acoustics.encoders.binaural import BinauralEncoder
from soundstage.acoustics.hrtf.base import HRTF
from soundstage.conventions import unit_vectors
from soundstage.errors import ParameterError

RATE = 48000
LATENCY = 10  # samples
NEAR, FAR = LATENCY - 3, LATENCY + 3  # taps of the left and right ear impulses


class TwoImpulseHead(HRTF):
    """Left ear: an impulse at NEAR of height 1 + y; right ear: one at FAR of height 2 - y (y = leftness)."""

    def __init__(self, sample_rate: int = RATE) -> None:
        self.name = "two-impulse"
        self.sample_rate = sample_rate
        self.latency_s = LATENCY / sample_rate
        self.seen_distances: list[np.ndarray] = []

    @property
    def n_taps(self) -> int:
        return 32

    def hrirs(self, directions: np.ndarray, distances: np.ndarray) -> np.ndarray:
        self.seen_distances.append(np.asarray(distances))
        out = np.zeros((len(directions), 2, self.n_taps))
        out[:, 0, NEAR] = 1.0 + directions[:, 1]
        out[:, 1, FAR] = 2.0 - directions[:, 1]
        return out


def arrivals(delay_samples, gain, azimuth_deg, distance=None, bands=None) -> Arrivals:
    delay_s = np.atleast_1d(np.asarray(delay_samples, dtype=float)) / RATE
    azimuth = np.broadcast_to(np.asarray(azimuth_deg, dtype=float), delay_s.shape)
    distance = delay_s * 343.0 if distance is None else np.broadcast_to(np.asarray(distance, float), delay_s.shape)
    gain = np.asarray(gain, dtype=float)
    gain = gain.reshape(len(delay_s), -1) if bands is not None else np.atleast_1d(gain)
    return Arrivals(delay_s, gain, unit_vectors(azimuth, np.zeros_like(azimuth)), distance, bands)


def test_each_arrival_gets_its_own_hrir_pair_at_its_delay():
    head = TwoImpulseHead()
    enc = BinauralEncoder(RATE, head)
    ir = enc.impulse_response(arrivals([100, 300], [0.5, 0.25], [90.0, -90.0], distance=[2.0, 7.0]))
    left, right = ir
    # delay - latency + ear tap; the source on the left (y = 1) gives 2 and 1, the right one 0 and 3.
    assert left[100 - LATENCY + NEAR] == pytest.approx(0.5 * 2.0)
    assert right[100 - LATENCY + FAR] == pytest.approx(0.5 * 1.0)
    assert abs(left[300 - LATENCY + NEAR]) < 1e-12
    assert right[300 - LATENCY + FAR] == pytest.approx(0.25 * 3.0)
    expected_energy = (0.5 * 2) ** 2 + 0.5**2 + (0.25 * 3) ** 2
    assert np.sum(ir**2) == pytest.approx(expected_energy, rel=1e-12)
    np.testing.assert_array_equal(head.seen_distances[-1], [2.0, 7.0])
    assert enc.channel_labels == ("L", "R") and enc.channel_mask == 0


def test_fractional_delay_is_kept_through_the_hrir():
    ir = BinauralEncoder(RATE, TwoImpulseHead()).impulse_response(arrivals(200.3, 1.0, 0.0))
    _, gd = group_delay((ir[0], [1.0]), w=[1000.0], fs=RATE)
    assert gd[0] == pytest.approx(200.3 - LATENCY + NEAR, abs=1e-3)
    _, gd = group_delay((ir[1], [1.0]), w=[1000.0], fs=RATE)
    assert gd[0] == pytest.approx(200.3 - LATENCY + FAR, abs=1e-3)


def test_arrival_earlier_than_the_latency_drops_leading_taps_but_keeps_its_time():
    # Delay 1 sample: the left impulse would be at 1 - 10 + 7 = -2 (before emission) and is dropped;
    # the right one stays at exactly 1 - 10 + 13 = 4 instead of being pushed later.
    left, right = BinauralEncoder(RATE, TwoImpulseHead()).impulse_response(arrivals(1, 1.0, 0.0))
    assert np.max(np.abs(left)) < 0.01
    assert int(np.argmax(right)) == 1 - LATENCY + FAR
    assert right[1 - LATENCY + FAR] == pytest.approx(2.0)


def test_flat_band_gains_match_a_broadband_arrival():
    enc = BinauralEncoder(RATE, TwoImpulseHead())
    plain = enc.impulse_response(arrivals(1500.7, 0.4, 30.0))
    banded = enc.impulse_response(arrivals(1500.7, np.full(8, 0.4), 30.0, bands=OCTAVE_BANDS_HZ))
    np.testing.assert_allclose(banded[:, : plain.shape[1]], plain, atol=1e-9)


def test_band_gains_and_timing_reach_each_ear():
    gains = np.array([1.0, 1.0, 0.8, 0.7, 0.5, 0.3, 0.2, 0.1])
    left, right = BinauralEncoder(RATE, TwoImpulseHead()).impulse_response(
        arrivals(3000.0, gains, 90.0, bands=OCTAVE_BANDS_HZ)
    )
    centres = OCTAVE_BANDS_HZ[:-1]
    for ear, height, tap in ((left, 2.0, NEAR), (right, 1.0, FAR)):
        _, response = freqz(ear, worN=centres, fs=RATE)
        np.testing.assert_allclose(20 * np.log10(np.abs(response)), 20 * np.log10(height * gains[:-1]), atol=1.0)
        _, gd = group_delay((ear, [1.0]), w=centres, fs=RATE)
        np.testing.assert_allclose(gd, 3000.0 - LATENCY + tap, atol=0.01)


def test_hrtf_at_another_rate_is_refused():
    with pytest.raises(ParameterError, match=r"44100 Hz but the output is at 48000 Hz.*load the HRTF"):
        BinauralEncoder(RATE, TwoImpulseHead(44100))
    with pytest.raises(ParameterError, match=r"hrtf must be an HRTF"):
        BinauralEncoder(RATE, "sphere")


@pytest.fixture(scope="module")
def sphere():
    from soundstage.acoustics.hrtf.sphere import SphereHRTF

    return SphereHRTF(RATE)


def test_sphere_source_on_the_left_is_louder_and_earlier_on_the_left(sphere):
    left, right = BinauralEncoder(RATE, sphere).impulse_response(arrivals(600, 0.5, 90.0, distance=2.0))
    assert np.sum(left**2) > 2.0 * np.sum(right**2)
    lag = int(np.argmax(np.correlate(right, left, "full"))) - (len(left) - 1)
    # Woodworth's ITD for a 8.75 cm sphere at 90°: a/c (π/2 + 1) = 0.66 ms = 31.5 samples.
    assert 20 < lag < 40


def test_sphere_mirror_image_sources_swap_the_ears(sphere):
    enc = BinauralEncoder(RATE, sphere)
    left_source = enc.impulse_response(arrivals(500.2, 1.0, 50.0, distance=2.0))
    right_source = enc.impulse_response(arrivals(500.2, 1.0, -50.0, distance=2.0))
    np.testing.assert_allclose(left_source, right_source[::-1], atol=1e-9)


def test_sphere_front_source_reaches_both_ears_at_its_propagation_delay(sphere):
    # Ahead, both ears are as far from the source as the head centre (to first order): the
    # low-frequency phase delay equals the propagation delay once the HRTF's latency is removed.
    ir = BinauralEncoder(RATE, sphere).impulse_response(arrivals(700.0, 1.0, 0.0, distance=np.inf))
    frequency = 50.0
    omega = 2 * np.pi * frequency / RATE
    for ear in ir:
        _, response = freqz(ear, worN=[frequency], fs=RATE)
        phase_delay = 700.0 - np.angle(response[0] * np.exp(1j * omega * 700.0)) / omega
        assert phase_delay == pytest.approx(700.0, abs=0.2)
        assert abs(response[0]) == pytest.approx(1.0, abs=0.01)  # the head is transparent at 50 Hz
