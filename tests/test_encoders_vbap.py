"""5.1 / 7.1 surround: 2-D VBAP over the ITU-R BS.775 layouts and the LFE feed."""

import numpy as np
import pytest
from scipy.signal import freqz

from soundstage.acoustics.arrivals import Arrivals
from soundstage.acoustics.encoders.surround import SurroundEncoder, vbap_2d_gains
from soundstage.conventions import SPEAKER_LAYOUTS, SPEED_OF_SOUND, unit_vectors
from soundstage.errors import ParameterError

RATE = 48000
DELAY = 480  # samples: a whole number, so every arrival is an exact impulse


def arrivals(azimuth_deg, gain=1.0, elevation_deg=0.0) -> Arrivals:
    azimuth = np.atleast_1d(np.asarray(azimuth_deg, dtype=float))
    elevation = np.broadcast_to(np.asarray(elevation_deg, dtype=float), azimuth.shape)
    delay = np.full(len(azimuth), DELAY / RATE)
    gain = np.broadcast_to(np.asarray(gain, dtype=float), azimuth.shape).copy()
    return Arrivals(delay, gain, unit_vectors(azimuth, elevation), delay * SPEED_OF_SOUND)


def speaker_azimuths(layout: str) -> tuple[np.ndarray, np.ndarray]:
    """Azimuths of the panned speakers and their channel indices."""
    index = np.array([i for i, s in enumerate(SPEAKER_LAYOUTS[layout]) if not s.is_lfe])
    return np.array([SPEAKER_LAYOUTS[layout][i].azimuth_deg for i in index]), index


def energy_vector_azimuth(gains: np.ndarray, azimuth_deg: np.ndarray) -> np.ndarray:
    vectors = unit_vectors(azimuth_deg, np.zeros_like(azimuth_deg))
    r_e = (gains**2) @ vectors / np.sum(gains**2, axis=1, keepdims=True)
    return np.rad2deg(np.arctan2(r_e[:, 1], r_e[:, 0]))


def angle_error(a, b):
    return np.abs((np.asarray(a) - np.asarray(b) + 180.0) % 360.0 - 180.0)


@pytest.mark.parametrize(
    ("layout", "labels", "mask"),
    [
        ("5.1", ("FL", "FR", "FC", "LFE", "SL", "SR"), 0x60F),
        ("7.1", ("FL", "FR", "FC", "LFE", "BL", "BR", "SL", "SR"), 0x63F),
    ],
)
def test_channel_order_and_mask(layout, labels, mask):
    enc = SurroundEncoder(RATE, layout)
    assert enc.channel_labels == labels and enc.channel_mask == mask and enc.name == layout


@pytest.mark.parametrize("layout", ["5.1", "7.1"])
def test_source_on_a_speaker_feeds_only_that_speaker(layout):
    enc = SurroundEncoder(RATE, layout)
    for speaker in SPEAKER_LAYOUTS[layout]:
        if speaker.is_lfe:
            continue
        ir = enc.impulse_response(arrivals(speaker.azimuth_deg, 0.8))
        energy = np.sum(ir**2, axis=1)
        channel = enc.channel_labels.index(speaker.label)
        assert energy[channel] == pytest.approx(0.64, rel=1e-12)
        assert np.sum(energy) - energy[channel] < 1e-24


@pytest.mark.parametrize("layout", ["5.1", "7.1"])
def test_gains_are_energy_normalised_and_use_one_adjacent_pair(layout):
    rng = np.random.default_rng(7)
    azimuth = rng.uniform(-180, 180, 500)
    elevation = rng.uniform(-85, 85, 500)
    speakers, _ = speaker_azimuths(layout)
    gains = vbap_2d_gains(unit_vectors(azimuth, elevation), speakers)
    np.testing.assert_allclose(np.sum(gains**2, axis=1), 1.0, rtol=1e-12)
    assert np.all(gains >= 0)
    assert np.all(np.count_nonzero(gains > 1e-12, axis=1) <= 2)
    # The active speakers enclose the (projected) source: it lies between them, less than 180° apart.
    ordered = np.sort(np.mod(speakers, 360.0))
    for az, row in zip(azimuth, gains, strict=True):
        active = np.mod(speakers[row > 1e-12], 360.0)
        if len(active) == 2:
            lo, hi = np.sort(active)
            inside = lo <= np.mod(az, 360.0) <= hi if hi - lo < 180 else not lo < np.mod(az, 360.0) < hi
            assert inside
            # ... and they are neighbours in the layout.
            positions = np.searchsorted(ordered, [lo, hi])
            assert (positions[1] - positions[0]) % len(ordered) in (1, len(ordered) - 1)


def test_elevation_is_projected_onto_the_horizontal_plane():
    enc = SurroundEncoder(RATE, "7.1")
    np.testing.assert_allclose(
        enc.impulse_response(arrivals(55.0, elevation_deg=70.0)), enc.impulse_response(arrivals(55.0)), atol=1e-15
    )
    overhead = np.sum(enc.impulse_response(arrivals(0.0, elevation_deg=90.0)) ** 2, axis=1)
    np.testing.assert_allclose(np.delete(overhead, 3), 1.0 / 7.0, rtol=1e-12)  # spread over all 7 speakers


@pytest.mark.parametrize("layout", ["5.1", "7.1"])
def test_velocity_gains_leave_the_energy_vector_up_to_4_5_degrees_off_in_the_front_arc(layout):
    speakers, _ = speaker_azimuths(layout)
    azimuth = np.linspace(-30, 30, 601)
    gains = vbap_2d_gains(unit_vectors(azimuth, np.zeros_like(azimuth)), speakers)
    # Gerzon's r_E for VBAP over 30° pairs: analytically 4.48° at worst.
    assert 4.0 < np.max(angle_error(energy_vector_azimuth(gains, speakers), azimuth)) < 4.5


@pytest.mark.parametrize("layout", ["5.1", "7.1"])
def test_energy_gains_aim_the_energy_vector_at_the_source_everywhere(layout):
    speakers, _ = speaker_azimuths(layout)
    azimuth = np.linspace(-180, 180, 3601)
    gains = vbap_2d_gains(unit_vectors(azimuth, np.zeros_like(azimuth)), speakers, vector="energy")
    np.testing.assert_allclose(np.sum(gains**2, axis=1), 1.0, rtol=1e-12)
    assert np.max(angle_error(energy_vector_azimuth(gains, speakers), azimuth)) < 1e-9


def band_energy(ir: np.ndarray, lo_hz: float, hi_hz: float) -> np.ndarray:
    spectrum = np.fft.rfft(ir, 1 << 16, axis=1)
    freqs = np.fft.rfftfreq(1 << 16, 1.0 / RATE)
    return np.sum(np.abs(spectrum[:, (freqs >= lo_hz) & (freqs <= hi_hz)]) ** 2, axis=1)


@pytest.mark.parametrize("layout", ["5.1", "7.1"])
def test_dual_band_aims_velocity_below_and_energy_above_the_crossover(layout):
    enc = SurroundEncoder(RATE, layout)
    speakers, index = speaker_azimuths(layout)
    vectors = unit_vectors(speakers, np.zeros_like(speakers))
    for azimuth in np.linspace(-30.0, 30.0, 13):
        ir = enc.impulse_response(arrivals(azimuth))[index]
        # Above the crossover the feeds' energies give Gerzon's r_E: within 3° across the front arc.
        high = band_energy(ir, 3000.0, 16000.0)
        r_e = high @ vectors
        assert angle_error(np.rad2deg(np.arctan2(r_e[1], r_e[0])), azimuth) < 3.0
        # Far below it the feeds are the velocity gains (in phase): r_V points at the source.
        amplitude = np.sqrt(band_energy(ir, 20.0, 60.0))
        r_v = amplitude @ vectors
        assert angle_error(np.rad2deg(np.arctan2(r_v[1], r_v[0])), azimuth) < 0.5
        # The crossover's bands are in phase and sum to an all-pass; only near the crossover, where
        # both gain laws mix, the energy dips (by Cauchy-Schwarz never up): < 0.1 % overall.
        assert 0.999 < np.sum(ir**2) <= 1.0 + 1e-9


def test_single_band_laws_and_a_bad_law_or_crossover():
    velocity = SurroundEncoder(RATE, "5.1", panning="velocity").impulse_response(arrivals(12.0))
    gains = vbap_2d_gains(unit_vectors([12.0], [0.0]), speaker_azimuths("5.1")[0])[0]
    np.testing.assert_allclose(velocity[speaker_azimuths("5.1")[1], DELAY], gains, atol=1e-12)
    with pytest.raises(ParameterError, match=r"panning must be one of \('dual', 'velocity', 'energy'\)"):
        SurroundEncoder(RATE, "5.1", panning="vbap")
    with pytest.raises(ParameterError, match="crossover_hz must be between 0 and"):
        SurroundEncoder(RATE, "5.1", crossover_hz=30000.0)


@pytest.mark.parametrize(("layout", "bound_deg"), [("5.1", 18.0), ("7.1", 13.0)])
def test_energy_vector_everywhere_stays_within_the_active_pair(layout, bound_deg):
    speakers, _ = speaker_azimuths(layout)
    azimuth = np.linspace(-180, 180, 3601)
    gains = vbap_2d_gains(unit_vectors(azimuth, np.zeros_like(azimuth)), speakers)
    rE = energy_vector_azimuth(gains, speakers)
    assert np.max(angle_error(rE, azimuth)) < bound_deg
    # Exact on the speakers and on each pair's bisector (by symmetry of the two gains).
    ordered = np.sort(np.mod(speakers, 360.0))
    bisectors = (ordered + np.diff(np.append(ordered, ordered[0] + 360.0)) / 2.0) % 360.0
    for target in np.concatenate([ordered, bisectors]):
        g = vbap_2d_gains(unit_vectors(np.array([target]), np.zeros(1)), speakers)
        assert angle_error(energy_vector_azimuth(g, speakers), target)[0] < 1e-9
    # And it moves the same way as the source: monotonic around the circle.
    unwrapped = np.unwrap(np.deg2rad(rE))
    assert np.all(np.diff(unwrapped) >= -1e-12)


def test_lfe_is_silent_by_default():
    ir = SurroundEncoder(RATE, "5.1").impulse_response(arrivals([10.0, 100.0, -150.0], [1.0, 0.5, 0.2]))
    assert not np.any(ir[3])


def test_lfe_carries_the_low_passed_mono_sum():
    plain = SurroundEncoder(RATE, "5.1").impulse_response(arrivals([10.0, -150.0], [1.0, 0.5]))
    enc = SurroundEncoder(RATE, "5.1", lfe=True)
    ir = enc.impulse_response(arrivals([10.0, -150.0], [1.0, 0.5]))
    np.testing.assert_allclose(ir[:, : plain.shape[1]][[0, 1, 2, 4, 5]], plain[[0, 1, 2, 4, 5]], atol=1e-15)
    _, response = freqz(ir[3], worN=[1.0, 120.0, 500.0], fs=RATE)
    level_db = 20 * np.log10(np.abs(response))
    assert level_db[0] == pytest.approx(20 * np.log10(1.5), abs=0.01)  # mono sum of the gains at DC
    assert level_db[1] - level_db[0] == pytest.approx(-6.02, abs=0.1)  # Linkwitz–Riley: -6 dB at the cutoff
    assert level_db[2] - level_db[0] < -20.0
    # Causal and starting with the arrivals.
    assert np.max(np.abs(ir[3, :DELAY])) < 1e-12


def test_lfe_cutoff_can_be_moved():
    ir = SurroundEncoder(RATE, "7.1", lfe=True, lfe_cutoff_hz=80.0).impulse_response(arrivals(0.0))
    _, response = freqz(ir[3], worN=[1.0, 80.0], fs=RATE)
    assert 20 * np.log10(abs(response[1]) / abs(response[0])) == pytest.approx(-6.02, abs=0.1)


def test_bad_layout_or_cutoff_is_refused():
    with pytest.raises(ParameterError, match=r"layout must be '5\.1' or '7\.1', got '5\.2'"):
        SurroundEncoder(RATE, "5.2")
    with pytest.raises(ParameterError, match=r"lfe_cutoff_hz must be between 0 and"):
        SurroundEncoder(RATE, "5.1", lfe=True, lfe_cutoff_hz=-5.0)
    with pytest.raises(ParameterError, match="adjacent ones less than 180 degrees"):
        vbap_2d_gains(np.array([[1.0, 0.0, 0.0]]), np.array([0.0, 180.0]))
