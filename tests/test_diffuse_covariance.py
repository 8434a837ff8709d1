"""Encoder.diffuse_covariance: each output format's channel statistics in an isotropic diffuse field.

References are analytic (spherical-harmonic orthogonality, sin(kd)/kd, the spherical-Bessel
form of first-order microphone coherence, VBAP and Linkwitz–Riley power integrated here),
or symmetries of the head.
"""

import numpy as np
import pytest
from scipy.special import spherical_jn

from band_reference import reference_weights
from shared_data import KEMAR, need_kemar
from soundstage.acoustics.arrivals import OCTAVE_BANDS_HZ
from soundstage.acoustics.encoders.ambisonics import AmbisonicEncoder
from soundstage.acoustics.encoders.base import Encoder
from soundstage.acoustics.encoders.binaural import BinauralEncoder
from soundstage.acoustics.encoders.diffuse_field import band_average, band_weights
from soundstage.acoustics.encoders.omni import OmniEncoder
from soundstage.acoustics.encoders.stereo import SPACED_PAIRS, SpacedPairEncoder, StereoPanEncoder
from soundstage.acoustics.encoders.surround import SurroundEncoder
from soundstage.acoustics.hrtf import load_hrtf
from soundstage.conventions import SPEAKER_LAYOUTS, SPEED_OF_SOUND
from soundstage.errors import ParameterError

RATE = 48000
BANDS = OCTAVE_BANDS_HZ  # 125 Hz ... 16 kHz




def reference_band_mean(function, centers: np.ndarray, sample_rate: int) -> np.ndarray:
    """Mean of function(f) over each band with the reference weights, on a fine linear grid to Nyquist."""
    freqs = np.linspace(0.0, sample_rate / 2.0, 200001)
    weights = reference_weights(freqs, centers)
    return (weights @ function(freqs)) / weights.sum(axis=1)


def coherence(cov: np.ndarray) -> np.ndarray:
    return cov[:, 0, 1] / np.sqrt(cov[:, 0, 0] * cov[:, 1, 1])


def assert_covariance(cov: np.ndarray, n_bands: int, n_channels: int) -> None:
    """Shape (B, C, C), real, symmetric and positive semi-definite."""
    assert cov.shape == (n_bands, n_channels, n_channels)
    assert cov.dtype == np.float64
    np.testing.assert_allclose(cov, np.swapaxes(cov, 1, 2), atol=1e-12)
    assert np.all(np.linalg.eigvalsh(cov) >= -1e-10)


# --- band weights ----------------------------------------------------------------------------


def test_band_weights_are_power_complementary_and_one_at_their_centre():
    freqs = np.fft.rfftfreq(8192, 1.0 / RATE)
    weights = band_weights(freqs, BANDS, RATE)
    np.testing.assert_allclose(weights.sum(axis=0), 1.0, atol=1e-12)
    at_centres = band_weights(BANDS, BANDS, RATE)
    np.testing.assert_allclose(at_centres, np.eye(len(BANDS)), atol=1e-12)
    np.testing.assert_allclose(weights, reference_weights(freqs, BANDS), atol=1e-12)


def test_band_weights_drop_bands_above_045_fs_and_extend_the_highest_to_nyquist():
    freqs = np.fft.rfftfreq(4096, 1.0 / 16000)
    weights = band_weights(freqs, BANDS, 16000)  # 8 and 16 kHz are not below 7.2 kHz
    assert np.all(weights[6:] == 0.0)
    np.testing.assert_allclose(weights[:6].sum(axis=0), 1.0, atol=1e-12)
    assert weights[5, -1] == 1.0 and weights[0, 0] == 1.0


def test_band_weights_reject_a_bad_crossover_width():
    with pytest.raises(ParameterError, match="crossover_width must be in"):
        band_weights(np.array([100.0]), BANDS, RATE, crossover_width=0.0)


def test_band_average_of_a_constant_is_the_constant_and_unresolvable_bands_copy_the_highest():
    freqs = np.fft.rfftfreq(4096, 1.0 / 16000)
    values = np.sin(freqs / 1000.0) + 2.0
    averaged = band_average(values, freqs, BANDS, 16000)
    np.testing.assert_allclose(band_average(np.full(freqs.shape, 3.0), freqs, BANDS, 16000), 3.0)
    assert averaged[6] == averaged[5] == averaged[7]


# --- omni, ambisonics --------------------------------------------------------------------------


def test_omni_receives_unit_power_in_every_band():
    np.testing.assert_array_equal(OmniEncoder(RATE).diffuse_covariance(BANDS), np.ones((8, 1, 1)))


@pytest.mark.parametrize("order", [1, 3])
def test_ambix_sn3d_channels_are_uncorrelated_with_power_one_over_2l_plus_1(order):
    cov = AmbisonicEncoder(RATE, order).diffuse_covariance(BANDS)
    n = (order + 1) ** 2
    assert_covariance(cov, len(BANDS), n)
    degree = np.floor(np.sqrt(np.arange(n)))  # ACN → l
    expected = np.diag(1.0 / (2.0 * degree + 1.0))
    for band in cov:
        np.testing.assert_allclose(band, expected, atol=1e-12)


def test_fuma_w_gets_one_half():
    cov = AmbisonicEncoder(RATE, 1, convention="fuma").diffuse_covariance(np.array([1000.0]))[0]
    np.testing.assert_allclose(cov, np.diag([0.5, 1 / 3, 1 / 3, 1 / 3]), atol=1e-12)


# --- loudspeaker feeds -------------------------------------------------------------------------


def test_stereo_pan_feeds_are_decorrelated_symmetric_and_preserve_energy():
    cov = StereoPanEncoder(RATE).diffuse_covariance(BANDS)
    assert_covariance(cov, len(BANDS), 2)
    np.testing.assert_array_equal(cov[:, 0, 1], 0.0)
    np.testing.assert_allclose(np.trace(cov, axis1=1, axis2=2), 1.0, atol=1e-12)
    np.testing.assert_allclose(cov[:, 0, 0], 0.5, atol=1e-9)  # left-right mirror symmetry of the sphere


def vbap_powers(layout: str, law: str) -> np.ndarray:
    """Diffuse power of each panned speaker: horizontal projections of uniform sphere directions have
    uniform azimuth, so it is the mean over azimuth of g_i², with g from the sine rule for the
    enclosing pair (velocity: g ∝ weights, energy: g² ∝ weights)."""
    speakers = [s for s in SPEAKER_LAYOUTS[layout] if not s.is_lfe]
    azimuth = np.deg2rad([s.azimuth_deg for s in speakers])
    order = np.argsort(np.mod(azimuth, 2 * np.pi))
    phi = (np.arange(360000) + 0.5) * 2 * np.pi / 360000
    power = np.zeros(len(speakers))
    for j in range(len(order)):
        a, b = azimuth[order[j]], azimuth[order[(j + 1) % len(order)]]
        span = np.mod(b - a, 2 * np.pi)
        inside = np.mod(phi - a, 2 * np.pi) < span
        offset = np.mod(phi[inside] - a, 2 * np.pi)
        w1, w2 = np.sin(span - offset) / np.sin(span), np.sin(offset) / np.sin(span)
        if law == "velocity":
            g1, g2 = w1**2 / (w1**2 + w2**2), w2**2 / (w1**2 + w2**2)
        else:
            g1, g2 = w1 / (w1 + w2), w2 / (w1 + w2)
        power[order[j]] += g1.sum() / len(phi)
        power[order[(j + 1) % len(order)]] += g2.sum() / len(phi)
    return power


@pytest.mark.parametrize("layout", ["5.1", "7.1"])
def test_surround_feeds_are_decorrelated_with_the_band_centres_vbap_law(layout):
    encoder = SurroundEncoder(RATE, layout)
    cov = encoder.diffuse_covariance(BANDS)
    n = len(SPEAKER_LAYOUTS[layout])
    assert_covariance(cov, len(BANDS), n)
    off_diagonal = cov * (1.0 - np.eye(n))
    assert np.all(off_diagonal == 0.0)
    lfe = 3
    np.testing.assert_array_equal(cov[:, lfe, lfe], 0.0)  # not fed
    np.testing.assert_allclose(np.trace(cov, axis1=1, axis2=2), 1.0, atol=1e-12)
    main = [i for i in range(n) if i != lfe]
    # 125-500 Hz are below the 700 Hz crossover (velocity law), 1 kHz and up above it (energy law).
    expected = {law: vbap_powers(layout, law) for law in ("velocity", "energy")}
    for band, centre in enumerate(BANDS):
        law = "velocity" if centre < 700.0 else "energy"
        np.testing.assert_allclose(cov[band].diagonal()[main], expected[law], atol=2e-3)


def test_surround_lfe_power_is_the_band_averaged_linkwitz_riley_low_pass():
    cov = SurroundEncoder(RATE, "5.1", lfe=True).diffuse_covariance(BANDS)
    # 4th-order Linkwitz–Riley: |H|² = (1 / (1 + (f / fc)⁴))², with fc = 120 Hz.
    expected = reference_band_mean(lambda f: 1.0 / (1.0 + (f / 120.0) ** 4) ** 2, BANDS, RATE)
    np.testing.assert_allclose(cov[:, 3, 3], expected, rtol=0.01, atol=1e-5)
    assert cov[0, 3, 3] > 0.3 and cov[3, 3, 3] < 1e-3
    main = [0, 1, 2, 4, 5]
    np.testing.assert_allclose(np.trace(cov[:, main][:, :, main], axis1=1, axis2=2), 1.0, atol=1e-12)
    assert np.all(cov[:, 3, main] == 0.0)


# --- microphone pairs --------------------------------------------------------------------------


def test_ab_pair_coherence_is_the_band_averaged_sinc():
    cov = SpacedPairEncoder(RATE, "ab").diffuse_covariance(BANDS)
    assert_covariance(cov, len(BANDS), 2)
    np.testing.assert_allclose(cov[:, 0, 0], 1.0, atol=1e-12)  # omnis
    d = SPACED_PAIRS["ab"]["spacing_m"]
    expected = reference_band_mean(lambda f: np.sinc(2.0 * f * d / SPEED_OF_SOUND), BANDS, RATE)  # sin(kd)/(kd)
    np.testing.assert_allclose(coherence(cov), expected, atol=2e-3)
    # Band averaging moves the values only a little from the sinc at the centres.
    np.testing.assert_allclose(coherence(cov), np.sinc(2.0 * BANDS * d / SPEED_OF_SOUND), atol=0.15)


def test_ortf_pair_matches_the_spherical_bessel_form_of_first_order_coherence():
    # For g_c = a + b u·e_c and spacing d along s: mean g_L g_R cos(k d u·s)
    #   = a² j0(kd) + b² [e_L·e_R j1(kd)/(kd) - (e_L·s)(e_R·s) j2(kd)].
    a = b = 0.5
    axis = np.deg2rad(SPACED_PAIRS["ortf"]["axis_azimuth_deg"])
    d = SPACED_PAIRS["ortf"]["spacing_m"]
    dot, along = np.cos(2 * axis), -np.sin(axis) ** 2

    def cross(f):
        x = np.maximum(2 * np.pi * f * d / SPEED_OF_SOUND, 1e-9)
        return a * a * spherical_jn(0, x) + b * b * (dot * spherical_jn(1, x) / x - along * spherical_jn(2, x))

    cov = SpacedPairEncoder(RATE, "ortf").diffuse_covariance(BANDS)
    assert_covariance(cov, len(BANDS), 2)
    np.testing.assert_allclose(cov[:, 0, 0], 1.0 / 3.0, atol=1e-12)  # cardioid: 1/4 + 1/12
    np.testing.assert_allclose(cov[:, 0, 1], reference_band_mean(cross, BANDS, RATE), atol=2e-3)


def test_generic_measurement_of_the_rendered_pair_agrees_with_the_analytic_covariance():
    """Encoder.diffuse_covariance renders plane waves through impulse_response: the fractional-delay
    rendering of the ORTF pair must show the same diffuse coherence as the formula."""
    encoder = SpacedPairEncoder(RATE, "ortf")
    measured = Encoder.diffuse_covariance(encoder, BANDS)
    # Up to 4 kHz, where the degree-30 quadrature still integrates the spacing's phase (kd = 12.5).
    np.testing.assert_allclose(measured[:6], encoder.diffuse_covariance(BANDS)[:6], atol=0.01)


# --- binaural ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sphere_covariance():
    encoder = BinauralEncoder(RATE, load_hrtf("sphere", RATE))
    return encoder, encoder.diffuse_covariance(BANDS)


def test_sphere_head_interaural_coherence_falls_from_one_to_zero(sphere_covariance):
    _, cov = sphere_covariance
    assert_covariance(cov, len(BANDS), 2)
    ic = coherence(cov)
    assert ic[0] > 0.9  # 125 Hz: the wavelength dwarfs the head
    assert np.all(np.abs(ic[BANDS >= 2000]) < 0.2)
    np.testing.assert_allclose(cov[:, 0, 0], cov[:, 1, 1], rtol=1e-9)  # left-right symmetric head
    # A rigid sphere is invisible at long wavelengths: the diffuse power response tends to 1.
    assert abs(cov[0, 0, 0] - 1.0) < 0.02


def test_binaural_covariance_is_cached_and_returned_as_a_copy(sphere_covariance):
    encoder, cov = sphere_covariance
    again = encoder.diffuse_covariance(BANDS)
    np.testing.assert_array_equal(again, cov)
    again[:] = 0.0
    np.testing.assert_array_equal(encoder.diffuse_covariance(BANDS), cov)


def test_kemar_interaural_coherence():
    need_kemar()
    encoder = BinauralEncoder(44100, load_hrtf(KEMAR, 44100))
    cov = encoder.diffuse_covariance(BANDS)
    assert_covariance(cov, len(BANDS), 2)
    ic = coherence(cov)
    assert ic[0] > 0.8
    assert np.all(np.abs(ic[BANDS >= 1000]) < 0.2)
    np.testing.assert_allclose(cov[:, 0, 0], cov[:, 1, 1], rtol=0.05)  # a nearly symmetric dummy head


# --- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bands", "match"),
    [
        (np.array([[125.0, 250.0]]), "must be a 1-D array"),
        (np.array([]), "must be a 1-D array"),
        (np.array([250.0, 125.0]), "positive and increasing"),
        (np.array([-1.0, 125.0]), "positive and increasing"),
        (np.array([30000.0]), "no band centre below"),
    ],
)
@pytest.mark.parametrize(
    "encoder",
    [
        OmniEncoder(RATE),
        AmbisonicEncoder(RATE, 1),
        StereoPanEncoder(RATE),
        SpacedPairEncoder(RATE, "ab"),
        SurroundEncoder(RATE, "5.1", lfe=True),
        BinauralEncoder(RATE, load_hrtf("sphere", RATE)),
    ],
    ids=lambda e: e.name,
)
def test_bad_band_centres_are_refused(encoder, bands, match):
    with pytest.raises(ParameterError, match=match):
        encoder.diffuse_covariance(bands)
