"""Ambisonics: real spherical harmonics, spherical designs, the encoder, FuMa and binaural decoding."""

import numpy as np
import pytest
from scipy.special import sph_harm_y

from soundstage.acoustics.arrivals import Arrivals
from soundstage.acoustics.encoders.ambisonic_decoder import (
    ambisonic_binaural_filters,
    ambisonics_to_binaural,
    max_re_weights,
    sampling_decoder,
)
from soundstage.acoustics.encoders.ambisonics import AmbisonicEncoder, real_spherical_harmonics
from soundstage.acoustics.encoders.spherical_harmonics import (
    acn_degrees,
    ambix_to_fuma,
    direction_harmonics,
    fuma_to_ambix,
)
from soundstage.acoustics.encoders.tdesign import (
    gauss_product_quadrature,
    icosahedron,
    octahedron,
    spherical_quadrature,
)
from soundstage.acoustics.hrtf.base import HRTF
from soundstage.conventions import rotation_matrix, unit_vectors
from soundstage.errors import ParameterError

RATE = 48000
DELAY = 240  # samples, whole: arrivals are exact impulses
RNG_SEED = 11


def random_directions(n: int, seed: int = RNG_SEED) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((n, 3))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def angles(directions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    az = np.arctan2(directions[:, 1], directions[:, 0])
    el = np.arcsin(np.clip(directions[:, 2], -1, 1))
    return az, el


def arrivals(directions: np.ndarray, gains=None, delays=None) -> Arrivals:
    k = len(directions)
    gains = np.ones(k) if gains is None else np.asarray(gains, dtype=float)
    delays = np.full(k, DELAY) if delays is None else np.asarray(delays, dtype=float)
    return Arrivals(delays / RATE, gains, directions, np.full(k, 2.0))


# --- spherical harmonics ------------------------------------------------------------------------


def test_first_order_is_ambix_w_y_z_x():
    az, el = angles(random_directions(50))
    y = real_spherical_harmonics(1, az, el)
    expected = np.stack([np.ones_like(az), np.sin(az) * np.cos(el), np.sin(el), np.cos(az) * np.cos(el)], axis=-1)
    np.testing.assert_allclose(y, expected, atol=1e-14)


def test_second_order_matches_the_sn3d_closed_forms():
    az, el = angles(random_directions(50))
    y = real_spherical_harmonics(2, az, el)[:, 4:]
    r3 = np.sqrt(3.0) / 2.0
    expected = np.stack(
        [
            r3 * np.cos(el) ** 2 * np.sin(2 * az),
            r3 * np.sin(2 * el) * np.sin(az),
            (3 * np.sin(el) ** 2 - 1) / 2,
            r3 * np.sin(2 * el) * np.cos(az),
            r3 * np.cos(el) ** 2 * np.cos(2 * az),
        ],
        axis=-1,
    )
    np.testing.assert_allclose(y, expected, atol=1e-14)


def test_n3d_matches_scipy_complex_harmonics_made_real():
    # Independent reference: scipy's orthonormal complex Y_l^m (with Condon–Shortley phase), made real
    # and scaled by sqrt(4π) to N3D; (-1)^m removes the phase AmbiX does not have.
    order = 7
    az, el = angles(random_directions(40))
    ours = real_spherical_harmonics(order, az, el, normalization="n3d")
    polar = np.pi / 2 - el
    for degree in range(order + 1):
        for m in range(-degree, degree + 1):
            complex_y = sph_harm_y(degree, abs(m), polar, az)
            if m > 0:
                reference = np.sqrt(2) * (-1) ** m * complex_y.real
            elif m < 0:
                reference = np.sqrt(2) * (-1) ** m * complex_y.imag
            else:
                reference = complex_y.real
            np.testing.assert_allclose(
                ours[:, degree * (degree + 1) + m],
                np.sqrt(4 * np.pi) * reference,
                atol=1e-10,
                err_msg=f"l={degree} m={m}",
            )


def test_n3d_is_sn3d_times_root_2l_plus_1():
    az, el = angles(random_directions(20))
    sn3d = real_spherical_harmonics(5, az, el, "sn3d")
    n3d = real_spherical_harmonics(5, az, el, "n3d")
    np.testing.assert_allclose(n3d, sn3d * np.sqrt(2 * acn_degrees(5) + 1), atol=1e-13)


@pytest.mark.parametrize("order", [1, 2, 3])
def test_n3d_harmonics_are_orthonormal_on_a_design_of_degree_2n(order):
    points, weights = spherical_quadrature(2 * order)
    y = direction_harmonics(order, points, "n3d")
    np.testing.assert_allclose(y.T @ (weights[:, None] * y), np.eye((order + 1) ** 2), atol=1e-12)


def test_icosahedron_is_an_equal_weight_design_for_second_order():
    y = direction_harmonics(2, icosahedron(), "n3d")
    np.testing.assert_allclose(y.T @ y / 12.0, np.eye(9), atol=1e-12)


def test_high_order_stays_finite_and_keeps_the_addition_theorem():
    # Σ_m (Y_l^m SN3D)² = 1 for every degree and direction (the addition theorem with P_l(1) = 1).
    order = 30
    y = direction_harmonics(order, random_directions(30))
    assert np.all(np.isfinite(y))
    degrees = acn_degrees(order)
    per_degree = np.stack([np.sum(y[:, degrees == d] ** 2, axis=1) for d in range(order + 1)], axis=1)
    np.testing.assert_allclose(per_degree, 1.0, atol=1e-10)


def test_bad_order_or_normalization_is_refused():
    with pytest.raises(ParameterError, match="non-negative integer"):
        real_spherical_harmonics(-1, 0.0, 0.0)
    with pytest.raises(ParameterError, match="normalization must be one of sn3d, n3d"):
        real_spherical_harmonics(1, 0.0, 0.0, normalization="fuma")


# --- spherical designs --------------------------------------------------------------------------


def sphere_mean_of_monomial(a: int, b: int, c: int) -> float:
    """Mean of x^a y^b z^c over the unit sphere: (a-1)!!(b-1)!!(c-1)!! / (a+b+c+1)!! for even a, b, c."""
    if a % 2 or b % 2 or c % 2:
        return 0.0

    def double_factorial(n: int) -> int:
        return 1 if n <= 0 else n * double_factorial(n - 2)

    return double_factorial(a - 1) * double_factorial(b - 1) * double_factorial(c - 1) / double_factorial(a + b + c + 1)


def integration_error(points: np.ndarray, weights: np.ndarray, degree: int) -> float:
    worst = 0.0
    for a in range(degree + 1):
        for b in range(degree + 1 - a):
            for c in range(degree + 1 - a - b):
                value = weights @ (points[:, 0] ** a * points[:, 1] ** b * points[:, 2] ** c)
                worst = max(worst, abs(value - sphere_mean_of_monomial(a, b, c)))
    return worst


@pytest.mark.parametrize(("points", "degree"), [(octahedron(), 3), (icosahedron(), 5)])
def test_platonic_designs_integrate_exactly_to_their_degree_and_not_beyond(points, degree):
    weights = np.full(len(points), 1.0 / len(points))
    np.testing.assert_allclose(np.linalg.norm(points, axis=1), 1.0)
    assert integration_error(points, weights, degree) < 1e-14
    assert integration_error(points, weights, degree + 1) > 1e-3


@pytest.mark.parametrize("degree", [0, 1, 6, 9, 14])
def test_product_quadrature_is_exact_to_its_degree(degree):
    points, weights = gauss_product_quadrature(degree)
    assert np.all(weights > 0) and weights.sum() == pytest.approx(1.0)
    assert integration_error(points, weights, degree) < 1e-13


def test_quadrature_rejects_negative_degree():
    with pytest.raises(ParameterError, match="non-negative integer"):
        spherical_quadrature(-1)
    with pytest.raises(ParameterError, match="non-negative integer"):
        gauss_product_quadrature(2.5)


# --- encoder ------------------------------------------------------------------------------------


@pytest.mark.parametrize("order", [1, 2, 4])
def test_plane_waves_encode_to_their_harmonics(order):
    directions = random_directions(12)
    gains = np.linspace(0.2, 1.2, 12)
    delays = DELAY + 50 * np.arange(12)
    enc = AmbisonicEncoder(RATE, order)
    ir = enc.impulse_response(arrivals(directions, gains, delays))
    assert ir.shape[0] == (order + 1) ** 2 and enc.channel_labels[-1] == f"ACN{(order + 1) ** 2 - 1}"
    az, el = angles(directions)
    np.testing.assert_allclose(ir[:, delays].T, gains[:, None] * real_spherical_harmonics(order, az, el), atol=1e-12)
    assert enc.name == ("foa" if order == 1 else f"hoa{order}") and enc.channel_mask == 0


def test_mode_matching_recovers_the_plane_waves():
    # (N + 1)² plane waves from random directions, each with its own amplitude, all at once:
    # the pseudo-inverse of the encoding matrix gives the amplitudes back.
    order = 3
    directions = random_directions(16, seed=5)
    amplitudes = np.random.default_rng(5).uniform(-1, 1, 16)
    b = AmbisonicEncoder(RATE, order).impulse_response(arrivals(directions, amplitudes))[:, DELAY]
    decoder = np.linalg.pinv(direction_harmonics(order, directions).T)
    np.testing.assert_allclose(decoder @ b, amplitudes, atol=1e-9)


@pytest.mark.parametrize("order", [1, 2, 3])
def test_sampling_decoder_then_reencoding_is_the_identity(order):
    directions, matrix = sampling_decoder(order, max_re=False)
    reencode = direction_harmonics(order, directions).T
    np.testing.assert_allclose(reencode @ matrix, np.eye((order + 1) ** 2), atol=1e-12)


def test_per_degree_energy_is_rotation_invariant():
    order = 4
    directions = random_directions(6, seed=2)
    gains = np.random.default_rng(2).uniform(0.2, 1.0, 6)
    rotation = rotation_matrix(37.0, -21.0, 64.0)
    enc = AmbisonicEncoder(RATE, order)
    before = enc.impulse_response(arrivals(directions, gains))[:, DELAY]
    after = enc.impulse_response(arrivals(directions @ rotation.T, gains))[:, DELAY]
    degrees = acn_degrees(order)
    energy = [[np.sum(b[degrees == d] ** 2) for d in range(order + 1)] for b in (before, after)]
    np.testing.assert_allclose(energy[0], energy[1], rtol=1e-10)
    assert not np.allclose(before, after)  # the rotation did change the channels


def test_fuma_encoder_and_conversions_round_trip():
    directions = random_directions(5, seed=9)
    ambix = AmbisonicEncoder(RATE, 1).impulse_response(arrivals(directions))
    fuma_enc = AmbisonicEncoder(RATE, 1, convention="fuma")
    fuma = fuma_enc.impulse_response(arrivals(directions))
    assert fuma_enc.channel_labels == ("W", "X", "Y", "Z")
    az, el = angles(directions)
    # FuMa first order: W = 1/√2, X = cos az cos el, Y = sin az cos el, Z = sin el.
    expected = np.array([np.full(5, 1 / np.sqrt(2)), np.cos(az) * np.cos(el), np.sin(az) * np.cos(el), np.sin(el)])
    np.testing.assert_allclose(fuma[:, DELAY], expected.sum(axis=1), atol=1e-12)
    np.testing.assert_allclose(ambix_to_fuma(ambix), fuma, atol=1e-15)
    np.testing.assert_allclose(fuma_to_ambix(fuma), ambix, atol=1e-15)
    np.testing.assert_allclose(fuma_to_ambix(ambix_to_fuma(ambix)), ambix, atol=1e-15)


def test_encoder_rejects_bad_settings():
    with pytest.raises(ParameterError, match="order must be an integer of at least 1"):
        AmbisonicEncoder(RATE, 0)
    with pytest.raises(ParameterError, match="convention must be 'ambix' or 'fuma'"):
        AmbisonicEncoder(RATE, 1, convention="n3d")
    with pytest.raises(ParameterError, match="fuma convention exists for first order only"):
        AmbisonicEncoder(RATE, 3, convention="fuma")
    with pytest.raises(ParameterError, match="first order only"):
        ambix_to_fuma(np.zeros((9, 10)))


# --- decoding to binaural -----------------------------------------------------------------------


class LinearHead(HRTF):
    """Ears whose gain is linear in direction: left (1 + y) / 2, right (1 - y) / 2, as impulses at tap 0.

    Degree-1 directivity, so any decoder exact to order ≥ 1 reproduces it exactly.
    """

    name = "linear"
    latency_s = 0.0

    def __init__(self, sample_rate: int = RATE) -> None:
        self.sample_rate = sample_rate

    @property
    def n_taps(self) -> int:
        return 8

    def hrirs(self, directions, distances):
        out = np.zeros((len(directions), 2, 8))
        out[:, 0, 0] = (1 + directions[:, 1]) / 2
        out[:, 1, 0] = (1 - directions[:, 1]) / 2
        return out


def plane_wave(order: int, azimuth_deg: float, elevation_deg: float = 0.0, n: int = 64) -> np.ndarray:
    signals = np.zeros(((order + 1) ** 2, n))
    signals[:, 0] = direction_harmonics(order, unit_vectors(azimuth_deg, elevation_deg)[None])[0]
    return signals


@pytest.mark.parametrize("order", [1, 3])
@pytest.mark.parametrize("azimuth", [90.0, -90.0, 0.0, 40.0])
def test_basic_decoder_reproduces_a_first_degree_head_exactly(order, azimuth):
    ears = ambisonics_to_binaural(plane_wave(order, azimuth, 20.0), RATE, LinearHead(), max_re=False)
    y = unit_vectors(azimuth, 20.0)[1]
    np.testing.assert_allclose(ears[:, 0], [(1 + y) / 2, (1 - y) / 2], atol=1e-12)
    assert ears.shape == (2, 64 + 8 - 1)
    assert np.max(np.abs(ears[:, 1:])) < 1e-12


def test_max_re_acts_only_above_the_crossover():
    order = 3
    ears = ambisonics_to_binaural(plane_wave(order, 90.0, n=1), RATE, LinearHead(), max_re=True)
    spectrum = np.abs(np.fft.rfft(ears, 1 << 14, axis=-1))
    freqs = np.fft.rfftfreq(1 << 14, 1 / RATE)
    low, high = np.argmin(np.abs(freqs - 50)), np.argmin(np.abs(freqs - 15000))
    np.testing.assert_allclose(spectrum[:, low], [1.0, 0.0], atol=2e-3)  # basic decoder: exact
    a1 = max_re_weights(order)[1]
    np.testing.assert_allclose(spectrum[:, high], [(1 + a1) / 2, (1 - a1) / 2], atol=2e-3)


def test_fuma_input_decodes_like_its_ambix_equivalent():
    ambix = plane_wave(1, 60.0, 10.0)
    head = LinearHead()
    np.testing.assert_allclose(
        ambisonics_to_binaural(ambix_to_fuma(ambix), RATE, head, convention="fuma"),
        ambisonics_to_binaural(ambix, RATE, head),
        atol=1e-12,
    )


def test_decoder_filters_shape():
    filters = ambisonic_binaural_filters(2, LinearHead(), max_re=False)
    assert filters.shape == (2, 9, 8)


@pytest.mark.parametrize(
    ("signals", "kwargs", "message"),
    [
        (np.zeros((5, 10)), {}, r"5 channels, not an ambisonic count"),
        (np.zeros((1, 10)), {}, r"1 channels, not an ambisonic count"),
        (np.zeros(10), {}, r"shape \(channels, samples\)"),
        (np.zeros((9, 10)), {"order": 1}, r"order 1 needs 4 channels, but signals have 9"),
        (np.zeros((9, 10)), {"convention": "fuma"}, "first order only"),
        (np.zeros((4, 10)), {"convention": "sn3d"}, "convention must be 'ambix' or 'fuma'"),
    ],
)
def test_decoder_rejects_bad_input(signals, kwargs, message):
    with pytest.raises(ParameterError, match=message):
        ambisonics_to_binaural(signals, RATE, LinearHead(), **kwargs)


def test_decoder_refuses_a_head_at_another_rate():
    with pytest.raises(ParameterError, match=r"44100 Hz but the signals are at 48000 Hz"):
        ambisonics_to_binaural(np.zeros((4, 10)), RATE, LinearHead(44100))


@pytest.fixture(scope="module")
def sphere():
    from soundstage.acoustics.hrtf.sphere import SphereHRTF

    return SphereHRTF(RATE)


def low_frequency_itd_s(ears: np.ndarray) -> float:
    """Interaural time difference (right lag) from the cross-correlation below 1.5 kHz, in seconds."""
    from scipy.signal import butter, sosfiltfilt

    sos = butter(4, 1500.0, fs=RATE, output="sos")
    left, right = sosfiltfilt(sos, ears[0]), sosfiltfilt(sos, ears[1])
    corr = np.correlate(right, left, "full")
    k = int(np.argmax(corr))
    y0, y1, y2 = corr[k - 1 : k + 2]
    return (k + 0.5 * (y0 - y2) / (y0 - 2 * y1 + y2) - (len(left) - 1)) / RATE


def test_sphere_decoded_left_source_is_louder_on_the_left_and_mirrors(sphere):
    left_source = ambisonics_to_binaural(plane_wave(3, 90.0), RATE, sphere)
    right_source = ambisonics_to_binaural(plane_wave(3, -90.0), RATE, sphere)
    energy = np.sum(left_source**2, axis=1)
    assert energy[0] > 2.0 * energy[1]
    np.testing.assert_allclose(left_source, right_source[::-1], atol=1e-9)
    front = ambisonics_to_binaural(plane_wave(3, 0.0), RATE, sphere)
    np.testing.assert_allclose(front[0], front[1], atol=1e-9)


def test_sphere_decoded_itd_at_third_order_matches_the_direct_hrtf(sphere):
    direct = sphere.hrirs(unit_vectors(90.0, 0.0)[None], np.array([np.inf]))[0]
    decoded = ambisonics_to_binaural(plane_wave(3, 90.0), RATE, sphere)
    assert low_frequency_itd_s(direct) > 500e-6  # sanity: the reference is a real ITD
    assert low_frequency_itd_s(decoded) == pytest.approx(low_frequency_itd_s(direct), abs=100e-6)
