"""Free-field arrivals, air absorption and fractional delays against their physics."""

import numpy as np
import pytest

from soundstage.acoustics.air_absorption import air_absorption_db_per_m
from soundstage.acoustics.arrivals import Arrivals
from soundstage.acoustics.convolution import convolve_channels
from soundstage.acoustics.delay import sum_delayed
from soundstage.acoustics.free_field import free_field_arrivals
from soundstage.conventions import rotation_matrix, spherical_to_cartesian
from soundstage.errors import ParameterError


def test_free_field_delay_gain_and_direction():
    source = spherical_to_cartesian(60, 10, 3.0)
    arrivals = free_field_arrivals(source, np.zeros(3), np.eye(3), head_radius=0.0875)
    assert len(arrivals) == 1
    assert arrivals.delay_s[0] == pytest.approx(3.0 / 343.0)
    assert arrivals.gain[0] == pytest.approx(1 / 3.0)
    np.testing.assert_allclose(arrivals.direction[0], source / 3.0, atol=1e-12)


def test_head_rotation_moves_the_source_the_other_way():
    # Turning the head 30° to the left puts a frontal source at -30° (to the right).
    arrivals = free_field_arrivals(np.array([2.0, 0, 0]), np.zeros(3), rotation_matrix(yaw_deg=30), head_radius=0.0875)
    np.testing.assert_allclose(arrivals.direction[0], spherical_to_cartesian(-30, 0), atol=1e-12)


def test_source_inside_head_is_an_error():
    with pytest.raises(ParameterError, match="inside the head"):
        free_field_arrivals(np.array([0.05, 0, 0]), np.zeros(3), np.eye(3), head_radius=0.0875)


# ISO 9613-1:1993 Table 1, attenuation in dB/km at 101.325 kPa.
@pytest.mark.parametrize(
    ("temperature_c", "humidity", "frequency_hz", "db_per_km"),
    [
        (20, 70, 1000, 4.98),
        (20, 70, 2000, 9.02),
        (20, 70, 4000, 22.9),
        (20, 70, 8000, 76.6),
        (10, 70, 1000, 3.66),
        (10, 70, 4000, 32.8),
        (20, 70, 500, 2.80),
        (20, 70, 250, 1.13),
    ],
)
def test_air_absorption_matches_iso_table(temperature_c, humidity, frequency_hz, db_per_km):
    value = air_absorption_db_per_m(frequency_hz, temperature_c=temperature_c, relative_humidity=humidity)
    assert value * 1000 == pytest.approx(db_per_km, rel=0.03)


def test_air_absorption_arrivals_are_banded_and_fall_with_frequency():
    arrivals = free_field_arrivals(
        np.array([100.0, 0, 0]), np.zeros(3), np.eye(3), head_radius=0.0875, air_absorption=True
    )
    assert arrivals.is_banded
    gains = arrivals.gain[0]
    assert np.all(np.diff(gains) < 0)
    expected_8k = 0.01 * 10 ** (-air_absorption_db_per_m(8000.0) * 100 / 20)
    assert gains[list(arrivals.band_centers_hz).index(8000.0)] == pytest.approx(expected_8k)


def test_arrivals_validate_shapes():
    with pytest.raises(ParameterError, match="direction must have shape"):
        Arrivals(delay_s=np.zeros(2), gain=np.ones(2), direction=np.ones((3, 3)), distance_m=np.ones(2))
    with pytest.raises(ParameterError, match="must not be negative"):
        Arrivals(delay_s=-np.ones(1), gain=np.ones(1), direction=np.ones((1, 3)), distance_m=np.ones(1))


@pytest.mark.parametrize("delay", [0.0, 10.0, 10.25, 37.5, 63.9])
def test_fractional_delay_has_exact_group_delay(delay):
    ir = sum_delayed(np.array([delay]), np.ones((1, 1)), 256)[0]
    spectrum = np.fft.rfft(ir)
    frequencies = np.fft.rfftfreq(256)
    band = (frequencies > 0.01) & (frequencies < 0.35)
    phase = np.unwrap(np.angle(spectrum))[band]
    slope = np.polyfit(2 * np.pi * frequencies[band], phase, 1)[0]
    assert -slope == pytest.approx(delay, abs=0.01)
    # Flat magnitude over most of the band: the interpolator is not a low-pass below 0.35 fs.
    assert np.max(np.abs(20 * np.log10(np.abs(spectrum[band])))) < 0.1


def test_sum_delayed_adds_arrivals_linearly():
    ir = sum_delayed(np.array([5.0, 20.0]), np.array([[1.0, 0.5], [2.0, 0.0]]), 64)
    assert ir[0, 5] == pytest.approx(1.0) and ir[0, 20] == pytest.approx(2.0)
    assert ir[1, 5] == pytest.approx(0.5) and abs(ir[1, 20]) < 1e-12


def test_convolution_matches_direct_sum():
    rng = np.random.default_rng(3)
    signal = rng.standard_normal(5000)
    responses = rng.standard_normal((2, 300))
    expected = np.stack([np.convolve(signal, r) for r in responses])
    result = convolve_channels(signal, responses)
    assert result.dtype == np.float32
    np.testing.assert_allclose(result, expected, atol=1e-3)
