"""The rigid-sphere head against the physics it models (Duda & Martens 1998 and its limits)."""


import numpy as np
import pytest
from scipy.special import eval_legendre, spherical_jn, spherical_yn

from soundstage.acoustics.hrtf import SphereHRTF, load_hrtf
from soundstage.conventions import unit_vectors
from soundstage.errors import ParameterError

FS = 48000
A = 0.0875
C = 343.0


@pytest.fixture(scope="module")
def head() -> SphereHRTF:
    return SphereHRTF(FS)


def directions(azimuth_deg, elevation_deg=0.0) -> np.ndarray:
    azimuth_deg = np.atleast_1d(np.asarray(azimuth_deg, dtype=float))
    return unit_vectors(azimuth_deg, np.broadcast_to(elevation_deg, azimuth_deg.shape))


def gcc_phat_lag_s(x: np.ndarray, y: np.ndarray, fs: float, upsample: int = 32) -> float:
    """Time by which x lags y (positive: x later), from the PHAT-weighted cross-correlation."""
    n = 4 * len(x)
    cross = np.fft.rfft(x, n) * np.conj(np.fft.rfft(y, n))
    cross /= np.abs(cross) + 1e-12
    corr = np.fft.irfft(cross, n * upsample)
    corr = np.roll(corr, len(corr) // 2)
    return (np.argmax(corr) - len(corr) // 2) / (fs * upsample)


def band_level_db(ir: np.ndarray, fs: float, f_lo: float, f_hi: float) -> float:
    spectrum = np.fft.rfft(ir, 4096)
    freqs = np.fft.rfftfreq(4096, 1.0 / fs)
    band = (freqs >= f_lo) & (freqs <= f_hi)
    return 10.0 * np.log10(np.mean(np.abs(spectrum[band]) ** 2))


def reference_series(mu: float, rho: float, cos_theta: float) -> complex:
    """Duda & Martens eq. with scipy's Bessel functions (h = j - i y, e^{+iωt}), term by term."""
    total = 0.0j
    for m in range(int(mu * (1.0 if np.isinf(rho) else rho)) + 60):
        h_surface_d = spherical_jn(m, mu, derivative=True) - 1j * spherical_yn(m, mu, derivative=True)
        if np.isinf(rho):
            source = 1j ** (m + 1) / mu**2  # plane-wave limit of (rho / mu) e^{i mu rho} h_m(mu rho)
        else:
            h_source = spherical_jn(m, mu * rho) - 1j * spherical_yn(m, mu * rho)
            source = rho / mu * np.exp(1j * mu * rho) * h_source
        total += -(2 * m + 1) * eval_legendre(m, cos_theta) * source / h_surface_d
    return total


@pytest.mark.parametrize("rho", [np.inf, 3.0, 12.0])
def test_series_matches_direct_bessel_evaluation(head, rho):
    freqs = np.fft.rfftfreq(2 * head.n_taps, 1.0 / FS)
    az = np.array([0.0, 50.0, 90.0, 150.0, -120.0])
    h = head.transfer_functions(directions(az), np.full(len(az), rho * A))
    for k in [3, 40, 150]:  # 280 Hz, 3.75 kHz, 14 kHz: mu = 0.45, 6, 22
        mu = 2 * np.pi * freqs[k] * A / C
        for i, azimuth in enumerate(az):
            cos_left = np.cos(np.deg2rad(azimuth - 90.0))
            assert h[i, 0, k] == pytest.approx(reference_series(mu, rho, cos_left), rel=1e-7, abs=1e-9)


@pytest.mark.parametrize("distance", [np.inf, 2.0])
def test_itd_follows_woodworth(head, distance):
    az = np.arange(0.0, 91.0, 15.0)
    irs = head.hrirs(directions(az), np.full(len(az), distance))
    for theta, ir in zip(np.deg2rad(az), irs, strict=True):
        itd = gcc_phat_lag_s(ir[1], ir[0], FS)  # right ear lags the left for sources on the left
        woodworth = A / C * (theta + np.sin(theta))
        assert abs(itd - woodworth) < 30e-6


def test_low_frequency_itd_is_three_halves_of_woodworths_slope(head):
    # Kuhn (1977): below ~500 Hz the interaural phase delay of a sphere is 3 (a / c) sin θ.
    freqs = np.fft.rfftfreq(2 * head.n_taps, 1.0 / FS)
    k = 2  # 94 Hz
    for azimuth in [20.0, 45.0, 70.0]:
        h = head.transfer_functions(directions(azimuth), np.array([np.inf]))[0, :, k]
        itd = np.angle(h[0] / h[1]) / (2 * np.pi * freqs[k])
        assert itd == pytest.approx(3 * A / C * np.sin(np.deg2rad(azimuth)), rel=0.02)


def test_source_on_the_left_is_louder_and_earlier_in_the_left_ear(head):
    ir = head.hrirs(directions(90.0), np.array([np.inf]))[0]
    assert np.max(np.abs(ir[0])) > 2 * np.max(np.abs(ir[1]))
    left, right = np.argmax(np.abs(ir[0])), np.argmax(np.abs(ir[1]))
    latency = head.latency_s * FS
    # The near ear hears the wave before it reaches the centre (latency), the far ear after.
    assert left < latency < right
    assert (latency - left) / FS == pytest.approx(A / C, abs=1.5 / FS)


def test_left_right_mirror_symmetry(head):
    az = np.array([10.0, 35.0, 80.0, 125.0, 170.0])
    for elevation in [0.0, 30.0, -20.0]:
        plus = head.hrirs(directions(az, elevation), np.full(5, 1.5))
        minus = head.hrirs(directions(-az, elevation), np.full(5, 1.5))
        np.testing.assert_allclose(plus[:, 0], minus[:, 1], atol=1e-12)
        np.testing.assert_allclose(plus[:, 1], minus[:, 0], atol=1e-12)


def test_ild_grows_with_frequency(head):
    ir = head.hrirs(directions(90.0), np.array([np.inf]))[0]
    ild = [
        band_level_db(ir[0], FS, f / 1.2, f * 1.2) - band_level_db(ir[1], FS, f / 1.2, f * 1.2)
        for f in (500.0, 2000.0, 8000.0)
    ]
    assert 0.5 < ild[0] < ild[1] < ild[2]


def test_head_is_transparent_at_low_frequency(head):
    rng = np.random.default_rng(1)
    dirs = rng.normal(size=(50, 3))
    irs = head.hrirs(dirs, np.full(50, np.inf))
    spectrum = np.fft.rfft(irs, 8192, axis=-1)
    freqs = np.fft.rfftfreq(8192, 1.0 / FS)
    low = (freqs > 0) & (freqs <= 100.0)
    np.testing.assert_allclose(20 * np.log10(np.abs(spectrum[..., low])), 0.0, atol=0.1)
    assert np.allclose(irs.sum(axis=-1), 1.0, atol=2e-3)  # DC gain of every HRIR


def test_near_field_raises_low_frequency_ild(head):
    ild = {}
    for distance in (0.2, 2.0):
        ir = head.hrirs(directions(90.0), np.array([distance]))[0]
        ild[distance] = band_level_db(ir[0], FS, 200.0, 500.0) - band_level_db(ir[1], FS, 200.0, 500.0)
    assert ild[2.0] < 3.0
    # Duda & Martens fig. 9: at 0.2 m the low-frequency ILD exceeds 10 dB.
    assert ild[0.2] > ild[2.0] + 6.0 and ild[0.2] > 10.0


def test_ipsilateral_gain_approaches_pressure_doubling(head):
    ir = head.hrirs(directions(90.0), np.array([np.inf]))[0]
    assert band_level_db(ir[0], FS, 8000.0, 16000.0) == pytest.approx(20 * np.log10(2.0), abs=0.6)


def test_near_and_far_models_meet_at_the_far_field_threshold(head):
    az = np.arange(0.0, 181.0, 30.0)
    near = head.transfer_functions(directions(az), np.full(len(az), 49.9 * A))
    far = head.transfer_functions(directions(az), np.full(len(az), np.inf))
    assert np.max(np.abs(20 * np.log10(np.abs(near[..., 1:]) / np.abs(far[..., 1:])))) < 0.5


@pytest.mark.parametrize("ear_azimuth_deg", [90.0, 100.0])
def test_largest_itd_is_opposite_the_far_ear(ear_azimuth_deg):
    # The shadowed path is longest when the source is antipodal to the far ear, at 180° minus
    # the ear azimuth: 90° for ears at ±90°, 80° for the rearward ears of Brown & Duda (±100°).
    head = SphereHRTF(FS, ear_azimuth_deg=ear_azimuth_deg)
    az = np.arange(60.0, 121.0, 2.5)
    irs = head.hrirs(directions(az), np.full(len(az), np.inf))
    itds = [gcc_phat_lag_s(ir[1], ir[0], FS) for ir in irs]
    assert az[int(np.argmax(itds))] == pytest.approx(180.0 - ear_azimuth_deg, abs=5.0)


def test_a_larger_head_has_a_larger_itd():
    small = SphereHRTF(FS, head_radius=0.07).hrirs(directions(90.0), np.array([np.inf]))[0]
    large = SphereHRTF(FS, head_radius=0.1).hrirs(directions(90.0), np.array([np.inf]))[0]
    ratio = gcc_phat_lag_s(large[1], large[0], FS) / gcc_phat_lag_s(small[1], small[0], FS)
    assert ratio == pytest.approx(0.1 / 0.07, rel=0.05)


def test_a_batch_of_1000_directions_near_and_far(head):
    # Speed is measured in benchmarks/, not here: a timed test fails on a busy machine.
    rng = np.random.default_rng(2)
    dirs = rng.normal(size=(1000, 3))
    far = head.hrirs(dirs, np.full(1000, np.inf))
    near = head.hrirs(dirs, rng.uniform(0.3, 4.0, 1000))
    assert far.shape == near.shape == (1000, 2, 512) and np.all(np.isfinite(near))


def test_load_hrtf_sphere_passes_the_head_options():
    head = load_hrtf("sphere", 44100, head_radius=0.09, ear_azimuth_deg=100.0)
    assert isinstance(head, SphereHRTF)
    assert (head.sample_rate, head.head_radius, head.ear_azimuth_deg) == (44100, 0.09, 100.0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"head_radius": 0.5}, "head_radius"),
        ({"head_radius": float("nan")}, "head_radius"),
        ({"ear_azimuth_deg": 10.0}, "ear_azimuth_deg"),
        ({"ear_elevation_deg": 80.0}, "ear_elevation_deg"),
        ({"n_taps": 64}, "n_taps"),
        ({"speed_of_sound": -1.0}, "speed_of_sound"),
    ],
)
def test_invalid_parameters_are_rejected(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        SphereHRTF(FS, **kwargs)


def test_invalid_sample_rate_is_rejected():
    with pytest.raises(ParameterError, match="sample_rate"):
        SphereHRTF(44100.5)


def test_invalid_queries_are_rejected(head):
    with pytest.raises(ParameterError, match="shape"):
        head.hrirs(np.zeros((3, 2)), np.ones(3))
    with pytest.raises(ParameterError, match="non-zero"):
        head.hrirs(np.zeros((1, 3)), np.ones(1))
    with pytest.raises(ParameterError, match="distances must be positive"):
        head.hrirs(directions(0.0), np.array([-1.0]))
