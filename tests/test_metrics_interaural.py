"""Interaural cues against analytic truths: delayed copies, gains, independent noise."""

import numpy as np
import pytest

from soundstage.errors import ParameterError
from soundstage.metrics.interaural import (
    band_ild_db,
    cue_errors,
    gcc_phat_itd,
    interaural_coherence,
    interaural_cues,
)


def delayed_pair(n_samples: int, delay_samples: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """White noise and a copy delayed by an exact (fractional) number of samples.

    The delay is applied in the frequency domain to a longer signal whose ends are then cut
    off, so the pair is a true linear delay of a band-limited signal (Nyquist bin zeroed).
    """
    pad = 256
    rng = np.random.default_rng(seed)
    spectrum = np.fft.rfft(rng.standard_normal(n_samples + 2 * pad))
    spectrum[-1] = 0.0
    freqs = np.fft.rfftfreq(n_samples + 2 * pad)
    original = np.fft.irfft(spectrum, n_samples + 2 * pad)
    delayed = np.fft.irfft(spectrum * np.exp(-2j * np.pi * freqs * delay_samples), n_samples + 2 * pad)
    return original[pad:-pad], delayed[pad:-pad]


@pytest.mark.parametrize("sample_rate", [16000, 48000])
@pytest.mark.parametrize("delay_s", [0.0, 125e-6, -125e-6, 437.5e-6, -690e-6, 21e-6, -0.9e-3])
def test_gcc_phat_recovers_integer_and_fractional_delays_of_either_sign(sample_rate, delay_s):
    left, right = delayed_pair(sample_rate // 2, delay_s * sample_rate)
    # The right ear hears the copy later: the left leads, ITD > 0.
    assert gcc_phat_itd(left, right, sample_rate) == pytest.approx(delay_s, abs=2e-6)
    assert gcc_phat_itd(right, left, sample_rate) == pytest.approx(-delay_s, abs=2e-6)


def test_gcc_phat_is_insensitive_to_a_gain_and_to_the_source_spectrum():
    left, right = delayed_pair(8000, 3.4)
    coloured = np.convolve(left, [1.0, 0.9], "same"), np.convolve(right, [1.0, 0.9], "same")
    assert gcc_phat_itd(0.1 * coloured[0], 3.0 * coloured[1], 16000) == pytest.approx(3.4 / 16000, abs=2e-6)


def test_gcc_phat_search_is_limited_to_max_lag():
    left, right = delayed_pair(8000, 40.0)  # 2.5 ms: outside the ±1 ms search
    assert abs(gcc_phat_itd(left, right, 16000)) <= 1e-3
    assert gcc_phat_itd(left, right, 16000, max_lag_s=3e-3) == pytest.approx(2.5e-3, abs=2e-6)


@pytest.mark.parametrize("delay", [0.0, 2.0, -5.5, 0.3])
def test_coherence_of_a_scaled_delayed_copy_is_one(delay):
    left, right = delayed_pair(16000, delay)
    assert interaural_coherence(left, 0.3 * right, 16000) == pytest.approx(1.0, abs=1e-3)
    assert interaural_coherence(left, -right, 16000) == pytest.approx(1.0, abs=1e-3)  # IACC takes |ρ|


def test_coherence_of_independent_noise_is_near_zero():
    rng = np.random.default_rng(3)
    left, right = rng.standard_normal((2, 16000))
    # The largest of ~33 correlations of independent unit noises has a spread of 1/sqrt(N).
    assert interaural_coherence(left, right, 16000) < 5 / np.sqrt(16000)


@pytest.mark.parametrize("bands", ["erb", "octave"])
@pytest.mark.parametrize("gain_db", [6.0, -9.5, 0.0])
def test_a_gain_gives_the_same_ild_in_every_band(bands, gain_db):
    rng = np.random.default_rng(1)
    right = rng.standard_normal(16000)
    centres, ild = band_ild_db(right * 10 ** (gain_db / 20), right, 16000, bands=bands)
    assert centres.size >= (20 if bands == "erb" else 7)
    assert np.all(np.diff(centres) > 0) and centres[-1] < 8000
    np.testing.assert_allclose(ild, gain_db, atol=1e-9)


def test_erb_bands_follow_glasberg_and_moore():
    rng = np.random.default_rng(2)
    centres, _ = band_ild_db(*rng.standard_normal((2, 48000)), 48000)
    # Consecutive centres are one ERB apart: ERB(f) = 24.7 (4.37 f / 1000 + 1) at the midpoint, to first order.
    midpoints = 0.5 * (centres[1:] + centres[:-1])
    np.testing.assert_allclose(np.diff(centres), 24.7 * (4.37 * midpoints / 1000 + 1), rtol=0.02)
    assert centres[0] >= 50 and centres[-1] <= 16000


def test_band_ild_of_a_lowpassed_ear_is_positive_only_at_high_frequencies():
    from scipy.signal import butter, sosfilt

    rng = np.random.default_rng(4)
    left = rng.standard_normal(32000)
    right = sosfilt(butter(4, 2000, fs=32000, output="sos"), left)
    centres, ild = band_ild_db(left, right, 32000, bands="octave")
    assert np.all(np.abs(ild[centres <= 500]) < 0.5)
    assert np.all(ild[centres >= 8000] > 20)


def test_frame_cues_follow_a_delay_and_a_gain_over_time():
    left, right = delayed_pair(16000, -6.0)  # the left ear hears it 6 samples later: right leads
    cues = interaural_cues(np.stack([left, 0.5 * right]), 16000, frame_s=0.02, hop_s=0.01)
    assert cues.times_s.shape == cues.itd_s.shape == cues.ild_db.shape == cues.coherence.shape == (99,)
    np.testing.assert_allclose(cues.times_s[:2], [0.01, 0.02])
    np.testing.assert_allclose(cues.itd_s, -6 / 16000, atol=3e-6)
    np.testing.assert_allclose(cues.ild_db, 20 * np.log10(2.0), atol=0.3)  # windowed frames: not an exact delay
    assert np.all(cues.coherence > 0.95)
    # Level: mean square of unit noise and a quarter of it, about 10 log10(0.625) dB FS.
    assert np.median(cues.level_db) == pytest.approx(10 * np.log10(0.625), abs=0.5)


def test_silent_frames_have_no_cues():
    left, right = delayed_pair(16000, 2.0)
    signal = np.stack([left, right])
    signal[:, 8000:] = 0.0
    cues = interaural_cues(signal, 16000)
    silent = cues.times_s > 0.52
    assert np.all(np.isnan(cues.itd_s[silent])) and np.all(np.isnan(cues.coherence[silent]))
    assert np.all(cues.level_db[silent] == -200.0)
    assert np.all(np.isfinite(cues.itd_s[cues.times_s < 0.49]))


def test_cue_errors_measure_the_itd_and_ild_offsets_and_ignore_silence():
    left, right = delayed_pair(16000, 4.0)
    ref = np.stack([left, right])
    pred = np.stack([2.0 * left, np.roll(right, 2)])  # +6 dB ILD and 2 more samples of delay
    pred[:, :200] = ref[:, :200]
    ref_quiet, pred_quiet = ref.copy(), pred.copy()
    ref_quiet[:, 8000:] = 0.0
    pred_quiet[:, 8000:] = np.random.default_rng(5).standard_normal((2, 8000))  # scored nowhere: ref is silent
    for reference, prediction in ((ref, pred), (ref_quiet, pred_quiet)):
        errors = cue_errors(prediction, reference, 16000)
        assert set(errors) == {"itd_error_us", "ild_error_db", "coherence_error"}
        assert errors["itd_error_us"] == pytest.approx(2 / 16000 * 1e6, abs=3.0)
        assert errors["ild_error_db"] == pytest.approx(20 * np.log10(2.0), abs=0.3)
        assert errors["coherence_error"] < 0.02
    assert cue_errors(ref, ref, 16000) == {"itd_error_us": 0.0, "ild_error_db": 0.0, "coherence_error": 0.0}


def test_a_silent_prediction_counts_as_centred_and_incoherent():
    left, right = delayed_pair(16000, 8.0)
    errors = cue_errors(np.zeros((2, 16000)), np.stack([left, right]), 16000)
    assert errors["itd_error_us"] == pytest.approx(8 / 16000 * 1e6, abs=5.0)
    assert errors["coherence_error"] > 0.9


def test_bad_input_raises_clear_errors():
    x = np.random.default_rng(0).standard_normal(1000)
    with pytest.raises(ParameterError, match="same, non-zero length"):
        gcc_phat_itd(x, x[:-1], 16000)
    with pytest.raises(ParameterError, match="1-D"):
        interaural_coherence(np.stack([x, x]), x, 16000)
    with pytest.raises(ParameterError, match="silent"):
        gcc_phat_itd(x, np.zeros_like(x), 16000)
    with pytest.raises(ParameterError, match="NaN"):
        band_ild_db(np.r_[x[:-1], np.nan], x, 16000)
    with pytest.raises(ParameterError, match="max_lag_s"):
        gcc_phat_itd(x, x, 16000, max_lag_s=0.0)
    with pytest.raises(ParameterError, match="sample_rate"):
        gcc_phat_itd(x, x, 0)
    with pytest.raises(ParameterError, match="'erb' or 'octave'"):
        band_ild_db(x, x, 16000, bands="third")
    with pytest.raises(ParameterError, match="binaural with shape"):
        interaural_cues(x[None, :], 16000)
    with pytest.raises(ParameterError, match="fewer than one"):
        interaural_cues(np.stack([x[:100], x[:100]]), 16000)
    with pytest.raises(ParameterError, match="too short"):
        interaural_cues(np.stack([x, x]), 16000, frame_s=0.001)
    with pytest.raises(ParameterError, match="hop_s"):
        interaural_cues(np.stack([x, x]), 16000, hop_s=0.0)
    with pytest.raises(ParameterError, match="same length"):
        cue_errors(np.stack([x, x]), np.stack([x[:-1], x[:-1]]), 16000)
    with pytest.raises(ParameterError, match="reference is silent"):
        cue_errors(np.stack([x, x]), np.zeros((2, 1000)), 16000)
