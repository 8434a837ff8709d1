"""The late reverberant tail: level, decay, spectrum and inter-channel statistics of the synthesised noise.

References: the decay times and energy rates the tail is asked for (measured back with ISO 3382
Schroeder integration and Welch spectra), the encoders' diffuse covariances, analytic
ambisonic powers, and arrivals built with a known exponential energy envelope.
"""

import math

import numpy as np
import pytest
from scipy.signal import csd, welch

from band_reference import reference_weights
from soundstage.acoustics.arrivals import OCTAVE_BANDS_HZ, Arrivals
from soundstage.acoustics.encoders.ambisonics import AmbisonicEncoder
from soundstage.acoustics.encoders.binaural import BinauralEncoder
from soundstage.acoustics.encoders.omni import OmniEncoder
from soundstage.acoustics.encoders.surround import SurroundEncoder
from soundstage.acoustics.hrtf import load_hrtf
from soundstage.acoustics.room.late_reverb import DiffuseDecay, diffuse_tail, energy_rate_at
from soundstage.errors import ParameterError
from soundstage.metrics.room import room_acoustics

RATE = 16000
BANDS = OCTAVE_BANDS_HZ[:6]  # 125 Hz ... 4 kHz, all below 0.45 x 16 kHz
K60 = 6.0 * math.log(10.0)  # energy decay constant of 60 dB




def stationary_part(tail: np.ndarray, mixing_time_s: float, rt60_s: float, duration_s: float) -> np.ndarray:
    """The tail after the mixing time with its (common) exponential envelope undone."""
    start = math.ceil(mixing_time_s * RATE)
    t = (start + np.arange(round(duration_s * RATE))) / RATE - mixing_time_s
    return tail[..., start : start + len(t)] * np.exp(0.5 * K60 * t / rt60_s)


def octave_windows(freqs: np.ndarray) -> list[np.ndarray]:
    return [(freqs >= c / math.sqrt(2.0)) & (freqs < c * math.sqrt(2.0)) for c in BANDS]


# --- energy_rate_at ----------------------------------------------------------------------------


def exponential_arrivals(mixing_time_s: float, rate: np.ndarray, rt60: np.ndarray, step_s: float = 1e-4) -> Arrivals:
    """Arrivals every ``step_s`` from 5 ms to 2 t_mix, each carrying the energy E0 exp(-K60 (t - t_mix)/T) Δt,
    plus a loud direct sound at 2 ms that lies outside the window."""
    times = np.arange(0.005, 2.0 * mixing_time_s, step_s) + step_s / 2.0
    energy = rate[None, :] * step_s * np.exp(-K60 * (times[:, None] - mixing_time_s) / rt60[None, :])
    times = np.concatenate([[0.002], times])
    gain = np.concatenate([np.full((1, len(rate)), 30.0), np.sqrt(energy)])
    directions = np.tile([1.0, 0.0, 0.0], (len(times), 1))
    return Arrivals(times, gain, directions, times * 343.0, band_centers_hz=BANDS[: len(rate)])


def test_energy_rate_at_recovers_the_rate_of_a_known_exponential_decay():
    rate = np.array([4000.0, 2500.0, 900.0])
    rt60 = np.array([1.5, 0.7, 0.25])
    arrivals = exponential_arrivals(0.08, rate, rt60)
    np.testing.assert_allclose(energy_rate_at(arrivals, 0.08, rt60), rate, rtol=1e-3)


def test_energy_rate_at_broadband_arrivals_count_as_the_same_gain_in_every_band():
    rt60 = np.array([1.2, 0.6])
    banded = exponential_arrivals(0.05, np.array([1000.0, 1000.0]), np.array([0.8, 0.8]))
    broadband = Arrivals(banded.delay_s, banded.gain[:, 0], banded.direction, banded.distance_m)
    np.testing.assert_allclose(energy_rate_at(broadband, 0.05, rt60), energy_rate_at(banded, 0.05, rt60))
    # Different decay times extrapolate the same window energy differently: the faster decay is lower at its end.
    rates = energy_rate_at(broadband, 0.05, rt60)
    assert rates[1] < rates[0]


def test_energy_rate_at_refuses_an_empty_window():
    arrivals = exponential_arrivals(0.01, np.array([100.0]), np.array([1.0]))  # arrivals end at 20 ms
    with pytest.raises(ParameterError, match=r"no arrival between 50\.0 and 100\.0 ms"):
        energy_rate_at(arrivals, 0.1, np.array([1.0]))


@pytest.mark.parametrize(
    ("mixing_time", "rt60", "match"),
    [
        (0.0, np.array([1.0, 1.0]), "mixing_time_s must be a finite time > 0"),
        (np.nan, np.array([1.0, 1.0]), "mixing_time_s must be a finite time > 0"),
        (0.05, np.array([1.0, -1.0]), "rt60_s must be finite and positive"),
        (0.05, np.array([[1.0, 1.0]]), "rt60_s must be 1-D"),
        (0.05, np.array([1.0, 1.0, 1.0]), "the arrivals have 2 bands but rt60_s has 3"),
    ],
)
def test_energy_rate_at_refuses_bad_parameters(mixing_time, rt60, match):
    arrivals = exponential_arrivals(0.05, np.array([100.0, 100.0]), np.array([1.0, 1.0]))
    with pytest.raises(ParameterError, match=match):
        energy_rate_at(arrivals, mixing_time, rt60)


# --- DiffuseDecay ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"mixing_time_s": -0.01}, "mixing_time_s must be a finite time >= 0"),
        ({"rt60_s": np.array([1.0])}, r"rt60_s must have shape \(2,\)"),
        ({"energy_rate": np.ones(3)}, r"energy_rate must have shape \(2,\)"),
        ({"rt60_s": np.array([1.0, 0.0])}, "rt60_s must be finite and positive"),
        ({"energy_rate": np.array([1.0, -1.0])}, "energy_rate must be finite and non-negative"),
        ({"band_centers_hz": np.array([500.0, 250.0])}, "band_centers_hz must be finite, positive and increasing"),
        ({"band_centers_hz": np.ones((2, 1))}, "band_centers_hz must be 1-D"),
    ],
)
def test_diffuse_decay_refuses_bad_fields(kwargs, match):
    fields = {
        "mixing_time_s": 0.05,
        "rt60_s": np.array([1.0, 0.8]),
        "energy_rate": np.array([1.0, 1.0]),
        "band_centers_hz": np.array([250.0, 500.0]),
    }
    fields.update(kwargs)
    with pytest.raises(ParameterError, match=match):
        DiffuseDecay(**fields)


# --- the tail's shape in time --------------------------------------------------------------------


def test_tail_is_silent_before_the_mixing_time_and_lasts_until_60_db_of_decay():
    decay = DiffuseDecay(0.0503, np.array([0.4, 0.9, 0.5]), np.array([1.0, 2.0, 1.0]), np.array([250.0, 1e3, 4e3]))
    tail = diffuse_tail(OmniEncoder(RATE), decay, rng=np.random.default_rng(1))
    start = math.ceil(0.0503 * RATE)  # 805: the first sample at or after the mixing time
    assert tail.shape == (1, math.ceil((0.0503 + 0.9) * RATE)) and tail.dtype == np.float64
    assert np.all(tail[:, :start] == 0.0)
    assert np.all(tail[:, start : start + 5] != 0.0)
    assert tail[0, -1] == 0.0  # faded out


def test_tail_shorter_than_the_mixing_time_is_silent():
    decay = DiffuseDecay(0.1, np.array([1.0]), np.array([1.0]), np.array([1000.0]))
    tail = diffuse_tail(OmniEncoder(RATE), decay, rng=np.random.default_rng(0), n_taps=800)
    np.testing.assert_array_equal(tail, np.zeros((1, 800)))


def test_each_band_decays_with_its_own_rt60():
    """Energy in one band only, averaged over 8 realisations: the Schroeder T30 is that band's rt60."""
    rt60 = np.array([1.6, 1.3, 1.0, 0.8, 0.6, 0.4])
    rng = np.random.default_rng(7)
    for band in range(len(BANDS)):
        rate = np.zeros(len(BANDS))
        rate[band] = 1.0
        decay = DiffuseDecay(0.05, rt60, rate, BANDS)
        n_taps = round(1.2 * (0.05 + rt60[band]) * RATE)
        energy = np.mean([diffuse_tail(OmniEncoder(RATE), decay, rng=rng, n_taps=n_taps)[0] ** 2 for _ in range(8)], 0)
        t30 = room_acoustics(np.sqrt(energy), RATE).t30_s
        assert t30 == pytest.approx(rt60[band], rel=0.03), f"{BANDS[band]:g} Hz"


def test_octave_band_t30_of_a_full_tail_follows_the_per_band_rt60():
    """All bands at once, measured as ISO 3382 does (octave filters); averaged over 4 realisations.
    Octave-wide crossovers keep each band inside its own octave, so neighbours hardly bias it."""
    rt60 = np.array([1.3, 1.2, 1.1, 1.0, 0.9, 0.8])
    decay = DiffuseDecay(0.05, rt60, np.ones(len(BANDS)), BANDS)
    rng = np.random.default_rng(3)
    measured = []
    for _ in range(4):
        tail = diffuse_tail(OmniEncoder(RATE), decay, rng=rng, n_taps=round(1.6 * RATE))[0]
        bands = room_acoustics(tail, RATE, bands="octave").bands
        measured.append([bands[f"{c:g}"].t30_s for c in BANDS])
    np.testing.assert_allclose(np.mean(measured, axis=0), rt60, rtol=0.05)


def test_energy_rate_is_the_power_spectral_density_at_each_band():
    """With one decay time for all bands, undoing the envelope leaves stationary noise whose spectrum,
    averaged over each octave, is the band energy rates joined by the documented crossovers."""
    rate = np.array([2.0, 0.5, 1.0, 4.0, 1.0, 0.25])
    decay = DiffuseDecay(0.03, np.full(6, 20.0), rate, BANDS)
    # 8 s of noise: about 700 degrees of freedom in the 125 Hz octave, a 5 % standard error.
    tail = diffuse_tail(OmniEncoder(RATE), decay, rng=np.random.default_rng(11), n_taps=round(8.5 * RATE))
    noise = stationary_part(tail[0], 0.03, 20.0, 8.0)
    freqs, density = welch(noise, RATE, nperseg=4096)
    measured = density * RATE**2 / 2.0  # one-sided density of white noise of variance E/fs is 2 E / fs²
    expected = rate @ reference_weights(freqs, BANDS)
    for window, centre in zip(octave_windows(freqs), BANDS, strict=True):
        assert measured[window].mean() == pytest.approx(expected[window].mean(), rel=0.1), f"{centre:g} Hz"


def test_bands_above_045_fs_are_dropped():
    decay = DiffuseDecay(0.02, np.linspace(1.0, 0.4, 8), np.ones(8), OCTAVE_BANDS_HZ)  # 8 and 16 kHz ≥ 7.2 kHz
    resolvable = DiffuseDecay(0.02, decay.rt60_s[:6], np.ones(6), BANDS)
    full = diffuse_tail(OmniEncoder(RATE), decay, rng=np.random.default_rng(5), n_taps=8000)
    kept = diffuse_tail(OmniEncoder(RATE), resolvable, rng=np.random.default_rng(5), n_taps=8000)
    np.testing.assert_array_equal(full, kept)


# --- inter-channel statistics --------------------------------------------------------------------


def test_binaural_tail_has_the_heads_diffuse_interaural_coherence():
    encoder = BinauralEncoder(RATE, load_hrtf("sphere", RATE))
    target = encoder.diffuse_covariance(BANDS)
    decay = DiffuseDecay(0.03, np.full(6, 8.0), np.ones(6), BANDS)
    tail = diffuse_tail(encoder, decay, rng=np.random.default_rng(2), n_taps=round(3.5 * RATE))
    left, right = stationary_part(tail, 0.03, 8.0, 3.0)
    freqs, s_lr = csd(left, right, RATE, nperseg=4096)
    _, s_ll = welch(left, RATE, nperseg=4096)
    _, s_rr = welch(right, RATE, nperseg=4096)
    weights = reference_weights(freqs, BANDS)
    want = np.einsum("bf,bcd->fcd", weights, target)  # the cross-spectrum the tail was asked for
    for window, centre in zip(octave_windows(freqs), BANDS, strict=True):
        realised = s_lr[window].real.sum() / math.sqrt(s_ll[window].sum() * s_rr[window].sum())
        w = want[window].sum(axis=0)
        assert realised == pytest.approx(w[0, 1] / math.sqrt(w[0, 0] * w[1, 1]), abs=0.1), f"{centre:g} Hz"
    # The head's coherence is high at 125 Hz and low at 2 kHz: the check above is not trivially passed.
    ic = target[:, 0, 1] / np.sqrt(target[:, 0, 0] * target[:, 1, 1])
    assert ic[0] > 0.9 and abs(ic[4]) < 0.2


def correlation(tail: np.ndarray) -> np.ndarray:
    return np.corrcoef(tail[:, np.any(tail != 0.0, axis=0)])


def test_surround_feeds_are_mutually_decorrelated_with_the_panned_powers():
    encoder = SurroundEncoder(RATE, "5.1")
    decay = DiffuseDecay(0.02, np.full(6, 2.0), np.ones(6), BANDS)
    tail = diffuse_tail(encoder, decay, rng=np.random.default_rng(4))
    main = [0, 1, 2, 4, 5]
    np.testing.assert_array_equal(tail[3], 0.0)  # LFE not fed
    rho = correlation(tail[main])
    assert np.all(np.abs(rho - np.eye(5)) < 0.1)
    power = (tail[main] ** 2).sum(axis=1)
    np.testing.assert_allclose(power / power.sum(), encoder.diffuse_covariance(BANDS)[3].diagonal()[main], rtol=0.1)


def test_first_order_ambisonic_tail_has_powers_one_and_one_third():
    decay = DiffuseDecay(0.02, np.full(6, 3.0), np.ones(6), BANDS)
    tail = diffuse_tail(AmbisonicEncoder(RATE, 1), decay, rng=np.random.default_rng(6))
    power = (tail**2).sum(axis=1)
    np.testing.assert_allclose(power / power[0], [1.0, 1 / 3, 1 / 3, 1 / 3], rtol=0.06)  # W Y Z X
    assert np.all(np.abs(correlation(tail) - np.eye(4)) < 0.1)


class _CoherentPair(OmniEncoder):
    """Two channels that a diffuse field drives identically (a rank-1 covariance)."""

    def __init__(self, sample_rate, covariance_shape=None):
        super().__init__(sample_rate)
        self.channel_labels = ("A", "B")
        self.covariance_shape = covariance_shape

    def channel_gains(self, directions):
        return np.ones((len(directions), 2))

    def diffuse_covariance(self, band_centers_hz):
        shape = self.covariance_shape or (len(band_centers_hz), 2, 2)
        return np.ones(shape)


def test_rank_deficient_covariance_gives_identical_channels():
    decay = DiffuseDecay(0.01, np.array([0.5, 0.3]), np.array([1.0, 1.0]), np.array([500.0, 2000.0]))
    tail = diffuse_tail(_CoherentPair(RATE), decay, rng=np.random.default_rng(0))
    assert np.any(tail[0] != 0.0)
    np.testing.assert_allclose(tail[0], tail[1], atol=1e-12)


# --- errors ------------------------------------------------------------------------------------


DECAY = DiffuseDecay(0.01, np.array([0.5, 0.3]), np.array([1.0, 1.0]), np.array([500.0, 2000.0]))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"rng": 42}, "rng must be a numpy Generator"),
        ({"n_taps": 0}, "n_taps must be a positive integer"),
        ({"n_taps": 100.0}, "n_taps must be a positive integer"),
        ({"n_taps": True}, "n_taps must be a positive integer"),
    ],
)
def test_diffuse_tail_refuses_bad_arguments(kwargs, match):
    arguments = {"rng": np.random.default_rng(0), **kwargs}
    with pytest.raises(ParameterError, match=match):
        diffuse_tail(OmniEncoder(RATE), DECAY, **arguments)


def test_diffuse_tail_refuses_a_covariance_of_the_wrong_shape():
    with pytest.raises(ParameterError, match=r"diffuse covariance of shape \(2, 3, 3\), expected \(2, 2, 2\)"):
        diffuse_tail(_CoherentPair(RATE, (2, 3, 3)), DECAY, rng=np.random.default_rng(0))


def test_diffuse_tail_refuses_bands_all_above_045_fs():
    decay = DiffuseDecay(0.01, np.array([0.5]), np.array([1.0]), np.array([8000.0]))
    with pytest.raises(ParameterError, match=r"no band centre below 0\.45"):
        diffuse_tail(OmniEncoder(RATE), decay, rng=np.random.default_rng(0))
