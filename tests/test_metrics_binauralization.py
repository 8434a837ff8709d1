"""FAIR-Play binauralization metrics against hand computations and the protocol's known consequences."""

import numpy as np
import pytest

from soundstage.errors import ParameterError
from soundstage.metrics.binauralization import SNR_EPSILON, binauralization_metrics, stft

RATE = 16000
N_FFT, HOP, WIN = 512, 160, 400


def hann_in_frame() -> np.ndarray:
    """The protocol's window written out: periodic Hann of 400 samples in the middle of a 512-sample frame."""
    n = np.arange(WIN)
    window = np.zeros(N_FFT)
    window[56 : 56 + WIN] = 0.5 - 0.5 * np.cos(2 * np.pi * n / WIN)
    return window


def hand_stft(x: np.ndarray, pad_mode: str) -> np.ndarray:
    """Centred STFT by padding by hand and an explicit DFT sum (no FFT), shape (257, n_frames)."""
    if pad_mode == "constant":
        padded = np.concatenate([np.zeros(256), x, np.zeros(256)])
    else:  # mirror about the end samples, which are not repeated
        padded = np.concatenate([x[256:0:-1], x, x[-2:-258:-1]])
    n_frames = 1 + (len(padded) - N_FFT) // HOP
    dft = np.exp(-2j * np.pi * np.outer(np.arange(N_FFT // 2 + 1), np.arange(N_FFT)) / N_FFT)
    frames = np.stack([padded[t * HOP : t * HOP + N_FFT] * hann_in_frame() for t in range(n_frames)], axis=1)
    return dft @ frames


def noise_pair(n_samples: int = 2 * RATE, delay: int = 6, seed: int = 0) -> np.ndarray:
    """A binaural pair with a real interaural difference: right ear delayed by ``delay`` samples and quieter."""
    s = np.random.default_rng(seed).standard_normal(n_samples + delay)
    return np.stack([s[delay:], 0.6 * s[:-delay]])


@pytest.mark.parametrize("pad_mode", ["reflect", "constant"])
@pytest.mark.parametrize("n_samples", [1600, 1637])
def test_stft_matches_a_direct_dft_of_hand_padded_frames(pad_mode, n_samples):
    x = np.random.default_rng(1).standard_normal(n_samples)
    ours = stft(x, pad_mode=pad_mode)
    assert ours.shape == (257, 1 + n_samples // HOP)  # centred: one frame per hop, plus one
    np.testing.assert_allclose(ours, hand_stft(x, pad_mode), rtol=0, atol=1e-9)


def test_frame_t_is_centred_on_sample_t_times_hop():
    # An impulse at sample 5·hop sits at the middle (index 256) of frame 5, where the window is 1:
    # its DFT there is exp(-2πi·k·256/512) = (-1)^k in every bin.
    x = np.zeros(RATE)
    x[5 * HOP] = 1.0
    frame = stft(x, pad_mode="constant")[:, 5]
    np.testing.assert_allclose(frame, (-1.0) ** np.arange(257), atol=1e-12)


def test_padding_modes_differ_only_at_the_edges():
    x = np.random.default_rng(2).standard_normal(RATE)
    changed = np.any(np.abs(stft(x, pad_mode="reflect") - stft(x, pad_mode="constant")) > 1e-12, axis=0)
    # Frame t reaches back to sample t·160 - 256 + 56 (window start): only frames 0 and 1 touch the padding
    # at the start, and likewise the last two at the end.
    assert np.flatnonzero(changed).tolist() == [0, 1, 99, 100]


def test_stft_distance_of_a_single_sample_error_by_hand():
    ref = noise_pair(3200)
    pred = ref.copy()
    amplitude, at = 0.25, 1000
    pred[0, at] += amplitude
    metrics = binauralization_metrics(pred, ref, RATE, normalize=False)
    # The error's DFT in frame t has magnitude amplitude·w[at + 256 - t·hop] in every bin, so the mean over
    # bins and frames of |ΔS|² is amplitude²·Σ_t w²/n_frames; STFT averages re² and im², halving it.
    n_frames = 1 + 3200 // HOP
    window = hann_in_frame()
    positions = [at + 256 - t * HOP for t in range(n_frames)]
    energy = sum(window[p] ** 2 for p in positions if 0 <= p < N_FFT)
    expected = 0.5 * amplitude**2 * energy / n_frames
    assert metrics["stft"] == pytest.approx(expected, rel=1e-9)
    assert metrics["wav_l2"] == pytest.approx(1e3 * amplitude**2 / 3200, rel=1e-12)


def test_published_magnitude_distance_is_exactly_twice_the_stft_distance():
    rng = np.random.default_rng(3)
    ref = noise_pair()
    pred = ref + 0.5 * rng.standard_normal(ref.shape)
    metrics = binauralization_metrics(pred, ref, RATE)
    assert metrics["mag"] == pytest.approx(2 * metrics["stft"], rel=1e-12)


def test_polarity_inversion_keeps_magnitudes_yet_scores_large_mag_and_phase_pi():
    ref = noise_pair(3200)
    metrics = binauralization_metrics(-ref, ref, RATE)
    # -x has the same |STFT|, so a true magnitude distance would be 0; the published "Mag" is of the
    # complex difference 2·S: Σ_ears mean |2S|² of the normalised reference, computed here by hand.
    normalised = ref / np.max(np.abs(ref))
    power = sum(np.mean(np.abs(hand_stft(ear, "reflect")) ** 2) for ear in normalised)
    assert metrics["mag"] == pytest.approx(4 * power, rel=1e-9)
    assert metrics["stft"] == pytest.approx(2 * power, rel=1e-9)
    # L-R flips sign too: its angle moves by exactly π in every bin.
    assert metrics["phase"] == pytest.approx(np.pi, abs=1e-9)


def test_swapped_ears_give_phase_distance_pi():
    ref = noise_pair()
    assert binauralization_metrics(ref[::-1], ref, RATE)["phase"] == pytest.approx(np.pi, abs=1e-9)


def test_mono_mono_phase_distance_is_near_half_pi():
    # Copying the mono mix to both ears makes the predicted L-R identically zero, whose angle the protocol
    # takes as 0 in every bin. The true L-R of a delayed, attenuated noise has STFT angles spread uniformly
    # over (-π, π], and the mean of |uniform angle - 0| is π/2.
    ref = noise_pair()
    mono = ref.mean(axis=0)
    metrics = binauralization_metrics(np.stack([mono, mono]), ref, RATE)
    assert metrics["phase"] == pytest.approx(np.pi / 2, abs=0.02)


def test_identical_clips_score_zero_and_the_snr_ceiling_of_the_constant():
    ref = noise_pair()
    metrics = binauralization_metrics(ref.copy(), ref, RATE)
    for name in ("stft", "env", "mag", "phase", "wav_l2"):
        assert metrics[name] == 0.0
    normalised_power = np.mean((ref / np.max(np.abs(ref))) ** 2)
    assert metrics["snr"] == pytest.approx(10 * np.log10(1 + normalised_power / SNR_EPSILON), rel=1e-12)
    # A full-scale square wave has mean power 1 after normalisation: the highest SNR the protocol can give.
    square = np.sign(np.sin(2 * np.pi * 100 * (np.arange(RATE) + 0.5) / RATE))
    square = np.stack([square, square])
    assert binauralization_metrics(square, square, RATE)["snr"] == pytest.approx(10 * np.log10(10001), rel=1e-12)


def test_a_pure_gain_gives_the_analytic_snr_without_normalisation_and_none_with_it():
    ref = 0.3 * noise_pair()
    gain = 0.8
    power = np.mean(ref**2)
    raw = binauralization_metrics(gain * ref, ref, RATE, normalize=False)
    expected = 10 * np.log10((power + SNR_EPSILON) / ((1 - gain) ** 2 * power + SNR_EPSILON))
    assert raw["snr"] == pytest.approx(expected, rel=1e-12)
    assert raw["wav_l2"] == pytest.approx(1e3 * (1 - gain) ** 2 * np.sum(np.mean(ref**2, axis=1)), rel=1e-12)
    # Peak normalisation removes an overall gain: the protocol sees a perfect prediction.
    normalised = binauralization_metrics(gain * ref, ref, RATE)
    assert normalised["wav_l2"] == pytest.approx(0.0, abs=1e-12)
    assert normalised["snr"] == pytest.approx(10 * np.log10(1 + np.mean((ref / np.abs(ref).max()) ** 2) / 1e-4))


def test_a_gain_between_the_ears_gives_known_snr_envelope_and_wav_l2():
    # A cosine with a whole number of periods: peak exactly 1 (n = 0) and a Hilbert envelope exactly equal to
    # its amplitude. Halving the left ear keeps the peak (the right ear), so normalisation changes nothing.
    cosine = np.cos(2 * np.pi * 100 * np.arange(RATE) / RATE)
    ref = np.stack([cosine, cosine])
    pred = np.stack([0.5 * cosine, cosine])
    metrics = binauralization_metrics(pred, ref, RATE)
    # Error power over both ears: (0.5² · ½ + 0) / 2 = 0.0625; signal power ½.
    assert metrics["snr"] == pytest.approx(10 * np.log10((0.5 + 1e-4) / (0.0625 + 1e-4)), rel=1e-9)
    assert metrics["wav_l2"] == pytest.approx(1e3 * 0.5**2 * 0.5, rel=1e-9)
    assert metrics["env"] == pytest.approx(0.5, rel=1e-9)


def test_envelope_distance_ignores_phase_that_the_waveform_sees():
    n = np.arange(RATE)
    cosine, sine = np.cos(2 * np.pi * 100 * n / RATE), np.sin(2 * np.pi * 100 * n / RATE)
    metrics = binauralization_metrics(np.stack([sine, sine]), np.stack([cosine, cosine]), RATE)
    assert metrics["env"] == pytest.approx(0.0, abs=1e-9)
    # mean (sin - cos)² = 1 per ear.
    assert metrics["wav_l2"] == pytest.approx(2000.0, rel=1e-9)


def test_other_rates_are_evaluated_at_16_khz():
    rate = 48000
    ref = 0.2 * noise_pair(rate, seed=4)
    # A 20 kHz tone lies above the 8 kHz Nyquist frequency of the protocol's rate: resampling removes it.
    tone = 0.1 * np.sin(2 * np.pi * 20000 * np.arange(rate) / rate)
    out_of_band = binauralization_metrics(ref + tone, ref, rate, normalize=False)
    in_band_tone = 0.1 * np.sin(2 * np.pi * 1000 * np.arange(rate) / rate)
    in_band = binauralization_metrics(ref + in_band_tone, ref, rate, normalize=False)
    # The tone inside the band costs 1e3 · 2 ears · 0.1²/2; above 8 kHz only the resampler's edge
    # transients (the tone starts abruptly) remain, more than 60 dB below that.
    assert in_band["wav_l2"] == pytest.approx(10.0, rel=1e-3)
    assert out_of_band["wav_l2"] < 1e-6 * in_band["wav_l2"]
    assert out_of_band["stft"] < 1e-6 * in_band["stft"]


@pytest.mark.parametrize(
    ("pred", "ref", "match"),
    [
        (np.ones(2000), np.ones((2, 2000)), "pred is mono"),
        (np.ones((2, 2000)), np.ones((1, 2000)), "ref is mono"),
        (np.ones((3, 2000)), np.ones((2, 2000)), r"shape \(3, 2000\) is not binaural"),
        (np.ones((2, 2000)), np.ones((2, 2100)), "pred has 2000 samples and ref 2100"),
        (np.full((2, 2000), np.nan), np.ones((2, 2000)), "pred: contains NaN"),
        (np.ones((2, 2000)), np.zeros((2, 2000)), "ref is silent"),
        (np.zeros((2, 2000)), np.ones((2, 2000)), "pred is silent"),
        (np.ones((2, 300)), np.ones((2, 300)), "shorter than one STFT frame"),
        (np.ones((2, 2000), dtype=np.int16), np.ones((2, 2000)), "not floating point"),
    ],
)
def test_bad_clips_raise_one_line_errors(pred, ref, match):
    with pytest.raises(ParameterError, match=match):
        binauralization_metrics(pred, ref, RATE)


def test_bad_stft_settings_raise():
    x = np.ones(2000)
    with pytest.raises(ParameterError, match="pad_mode: 'edge'"):
        stft(x, pad_mode="edge")
    with pytest.raises(ParameterError, match="win_length 600 exceeds n_fft 512"):
        stft(x, win_length=600)
    with pytest.raises(ParameterError, match="hop_length: 0"):
        stft(x, hop_length=0)
    with pytest.raises(ParameterError, match="too short to reflect-pad"):
        stft(np.ones(200))
    with pytest.raises(ParameterError, match="shorter than one frame"):
        stft(np.ones(200), center=False)
