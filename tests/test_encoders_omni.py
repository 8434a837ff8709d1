"""The omni encoder, the band filters every encoder uses for per-band gains, and the format registry."""

import numpy as np
import pytest
from scipy.signal import freqz, group_delay

from soundstage.acoustics.arrivals import OCTAVE_BANDS_HZ, Arrivals
from soundstage.acoustics.encoders import FORMAT_NAMES, make_encoder, parse_format
from soundstage.acoustics.encoders.band_filter import band_filter_length, band_filters
from soundstage.acoustics.encoders.omni import OmniEncoder
from soundstage.acoustics.hrtf import SphereHRTF
from soundstage.errors import ParameterError

RATE = 48000


def arrivals(delay_s, gain, direction=None, bands=None) -> Arrivals:
    delay_s = np.atleast_1d(np.asarray(delay_s, dtype=float))
    k = len(delay_s)
    direction = np.tile([1.0, 0.0, 0.0], (k, 1)) if direction is None else np.asarray(direction, dtype=float)
    gain = np.asarray(gain, dtype=float)
    gain = gain.reshape(k, -1) if bands is not None else np.atleast_1d(gain)
    return Arrivals(delay_s, gain, direction, delay_s * 343.0, bands)


def delay_at(ir: np.ndarray, frequency_hz: float) -> float:
    """Group delay of ``ir`` at ``frequency_hz``, in samples."""
    _, gd = group_delay((ir, [1.0]), w=[frequency_hz], fs=RATE)
    return float(gd[0])


# --- omni ---------------------------------------------------------------------------------------


def test_omni_whole_sample_arrival_has_energy_g_squared_at_its_delay():
    ir = OmniEncoder(RATE).impulse_response(arrivals(250 / RATE, 0.3))
    assert ir.shape[0] == 1
    assert np.sum(ir**2) == pytest.approx(0.09, rel=1e-9)
    assert int(np.argmax(np.abs(ir[0]))) == 250


@pytest.mark.parametrize("delay_samples", [100.25, 333.5, 1000.9])
def test_omni_fractional_arrival_keeps_its_exact_delay_and_gain(delay_samples):
    gain = 0.7
    ir = OmniEncoder(RATE).impulse_response(arrivals(delay_samples / RATE, gain))[0]
    assert abs(int(np.argmax(np.abs(ir))) - delay_samples) <= 0.5
    assert np.sum(ir) == pytest.approx(gain, rel=5e-3)  # DC gain
    for frequency in (100.0, 1000.0, 8000.0):
        assert delay_at(ir, frequency) == pytest.approx(delay_samples, abs=1e-3)
    # The interpolator is band-limited: flat within 0.1 dB to 0.4 fs, so the energy is g² there.
    _, response = freqz(ir, worN=[1000.0, 0.4 * RATE], fs=RATE)
    np.testing.assert_allclose(np.abs(response), gain, rtol=0.012)


def test_omni_sums_arrivals_and_ignores_direction():
    enc = OmniEncoder(RATE)
    both = enc.impulse_response(arrivals([0.001, 0.004], [1.0, -0.5], [[0, 1.0, 0], [0, 0, -1.0]]))[0]
    first = enc.impulse_response(arrivals(0.001, 1.0))[0]
    second = enc.impulse_response(arrivals(0.004, -0.5))[0]
    n = max(len(first), len(second))
    np.testing.assert_allclose(
        both[:n], np.pad(first, (0, n - len(first))) + np.pad(second, (0, n - len(second))), atol=1e-12
    )


def test_omni_response_is_long_enough_for_the_last_arrival():
    enc = OmniEncoder(RATE)
    ir = enc.impulse_response(arrivals([0.002, 0.0105], [1.0, 1.0]))[0]
    last = 0.0105 * RATE
    assert len(ir) > last + 15  # the interpolator's tail fits
    assert enc.channel_labels == ("M",) and enc.channel_mask == 0 and enc.n_channels == 1


# --- band filters -------------------------------------------------------------------------------


def test_band_filters_match_the_gains_at_the_band_centres():
    rng = np.random.default_rng(1)
    gains_db = rng.uniform(-12.0, 0.0, size=(6, len(OCTAVE_BANDS_HZ)))
    filters = band_filters(10 ** (gains_db / 20), OCTAVE_BANDS_HZ, RATE)
    assert filters.shape == (6, band_filter_length(RATE, OCTAVE_BANDS_HZ))
    for h, expected in zip(filters, gains_db, strict=True):
        _, response = freqz(h, worN=OCTAVE_BANDS_HZ, fs=RATE)
        np.testing.assert_allclose(20 * np.log10(np.abs(response)), expected, atol=1.0)


def test_band_filters_have_constant_group_delay_at_their_centre():
    gains = np.array([[1.0, 0.9, 0.8, 0.6, 0.4, 0.2, 0.1, 0.05]])
    h = band_filters(gains, OCTAVE_BANDS_HZ, RATE)[0]
    np.testing.assert_allclose(h, h[::-1], atol=1e-15)  # symmetric: linear phase
    _, gd = group_delay((h, [1.0]), w=OCTAVE_BANDS_HZ[:-1], fs=RATE)
    np.testing.assert_allclose(gd, (len(h) - 1) / 2, atol=1e-6)


def test_flat_band_gains_equal_a_broadband_arrival():
    enc = OmniEncoder(RATE)
    flat = enc.impulse_response(arrivals(0.01 + 0.3 / RATE, np.full(8, 0.5), bands=OCTAVE_BANDS_HZ))[0]
    plain = enc.impulse_response(arrivals(0.01 + 0.3 / RATE, 0.5))[0]
    np.testing.assert_allclose(flat[: len(plain)], plain, atol=1e-9)
    assert np.max(np.abs(flat[len(plain) :])) < 1e-9


def test_banded_arrival_lands_on_time_with_its_band_gains():
    gains = 0.5 * np.array([1.0, 1.0, 0.9, 0.8, 0.6, 0.4, 0.2, 0.1])
    delay_samples = 2000.4
    ir = OmniEncoder(RATE).impulse_response(arrivals(delay_samples / RATE, gains, bands=OCTAVE_BANDS_HZ))[0]
    centres = OCTAVE_BANDS_HZ[:-1]
    _, response = freqz(ir, worN=centres, fs=RATE)
    np.testing.assert_allclose(20 * np.log10(np.abs(response)), 20 * np.log10(gains[:-1]), atol=1.0)
    _, gd = group_delay((ir, [1.0]), w=centres, fs=RATE)
    np.testing.assert_allclose(gd, delay_samples, atol=0.01)


def test_band_filter_zero_gain_gives_silence():
    assert not np.any(band_filters(np.zeros((1, 8)), OCTAVE_BANDS_HZ, RATE))


@pytest.mark.parametrize(
    ("gains", "centres", "n_taps", "message"),
    [
        (np.array([[1.0, -0.1]]), np.array([500.0, 1000.0]), None, "non-negative"),
        (np.array([[1.0, np.nan]]), np.array([500.0, 1000.0]), None, "finite"),
        (np.array([[1.0, 1.0, 1.0]]), np.array([500.0, 1000.0]), None, r"shape \(K, 2\)"),
        (np.array([[1.0, 1.0]]), np.array([1000.0, 500.0]), None, "increasing"),
        (np.array([[1.0, 1.0]]), np.array([500.0, 1000.0]), 64, "odd integer"),
    ],
)
def test_band_filter_rejects_bad_input(gains, centres, n_taps, message):
    with pytest.raises(ParameterError, match=message):
        band_filters(gains, centres, RATE, n_taps=n_taps)


# --- registry -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("omni", ("omni", None)),
        ("Binaural", ("binaural", None)),
        ("5.1", ("5.1", None)),
        ("7.1", ("7.1", None)),
        ("ortf", ("ortf", None)),
        ("ab", ("ab", None)),
        ("stereo", ("stereo", None)),
        ("foa", ("ambisonics", 1)),
        ("hoa1", ("ambisonics", 1)),
        (" HOA5 ", ("ambisonics", 5)),
    ],
)
def test_parse_format_names(name, expected):
    assert parse_format(name) == expected


@pytest.mark.parametrize("name", ["hoa0", "hoa-2", "hoax", "5.2", "quadraphonic", "hoa17", ""])
def test_unknown_formats_list_the_valid_ones(name):
    with pytest.raises(ParameterError, match=r"omni, binaural, stereo, ortf, ab, 5\.1, 7\.1, foa or hoaN"):
        parse_format(name)


def test_out_of_range_order_says_so():
    with pytest.raises(ParameterError, match=r"'hoa0'.*order must be 1\.\.16, got 0"):
        parse_format("hoa0")


def test_make_encoder_builds_every_format_with_its_channels():
    head = SphereHRTF(RATE)
    expected = {"omni": 1, "binaural": 2, "stereo": 2, "ortf": 2, "ab": 2, "5.1": 6, "7.1": 8, "foa": 4, "hoa3": 16}
    assert set(expected) - {"hoa3"} == set(FORMAT_NAMES) - {"hoaN"}
    for name, n_channels in expected.items():
        encoder = make_encoder(name, RATE, hrtf=head)
        assert encoder.n_channels == n_channels and encoder.name == name and encoder.sample_rate == RATE
        ir = encoder.impulse_response(arrivals(0.003, 1.0, [[0.6, 0.8, 0.0]]))
        assert ir.shape[0] == n_channels and np.all(np.isfinite(ir))
    assert make_encoder("hoa1", RATE).channel_labels == make_encoder("foa", RATE).channel_labels


def test_every_format_accepts_a_source_with_no_arrivals():
    head = SphereHRTF(RATE)
    for bands in (None, OCTAVE_BANDS_HZ):
        gain = np.zeros((0,)) if bands is None else np.zeros((0, len(bands)))
        empty = Arrivals(np.zeros(0), gain, np.zeros((0, 3)), np.zeros(0), bands)
        for name in ("omni", "binaural", "stereo", "ortf", "ab", "5.1", "7.1", "foa", "hoa2"):
            encoder = make_encoder(name, RATE, hrtf=head, lfe=True)
            ir = encoder.impulse_response(empty)
            assert ir.shape[0] == encoder.n_channels and not np.any(ir)


def test_make_encoder_binaural_needs_a_head():
    with pytest.raises(ParameterError, match=r"binaural.*needs a head.*hrtf="):
        make_encoder("binaural", RATE)


def test_make_encoder_fuma_only_at_first_order():
    assert make_encoder("foa", RATE, ambisonic_convention="fuma").channel_labels == ("W", "X", "Y", "Z")
    with pytest.raises(ParameterError, match=r"'hoa2'.*fuma.*first order"):
        make_encoder("hoa2", RATE, ambisonic_convention="fuma")
    with pytest.raises(ParameterError, match=r"convention must be 'ambix' or 'fuma'"):
        make_encoder("foa", RATE, ambisonic_convention="sn3d")


@pytest.mark.parametrize("rate", [0, -48000, 44100.0, True])
def test_make_encoder_rejects_bad_sample_rates(rate):
    with pytest.raises(ParameterError, match="sample_rate must be a positive integer"):
        make_encoder("omni", rate)


def test_an_arrival_negative_in_every_band_renders_inverted():
    # Scattered energy arrives with random phase: the ray tracer's arrivals carry a sign.
    gains = np.linspace(0.2, 0.9, len(OCTAVE_BANDS_HZ))[None, :]
    encoder = make_encoder("omni", 48000)

    def response(sign):
        return encoder.impulse_response(
            Arrivals(np.array([0.01]), sign * gains, np.array([[1.0, 0.0, 0.0]]), np.array([3.43]), OCTAVE_BANDS_HZ)
        )

    np.testing.assert_array_equal(response(-1.0), -response(1.0))
