"""Loading sources, checking arrays and resampling."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile

from shared_data import SHARED_AUDIO
from soundstage.errors import InputFileError, ParameterError
from soundstage.io.audio import load_audio, resample, validate_signal
from soundstage.io.wav import read_wav


def _sine(frequency: float, sample_rate: int, duration_s: float, amplitude: float = 0.5) -> np.ndarray:
    return amplitude * np.sin(2 * np.pi * frequency * np.arange(int(duration_s * sample_rate)) / sample_rate)


def _rms_db(x: np.ndarray) -> float:
    return 10 * np.log10(np.mean(np.asarray(x, dtype=np.float64) ** 2))


# --- resampling ---------------------------------------------------------------------------------------------------


def test_resampled_sine_keeps_frequency_level_and_duration():
    tone = _sine(1000.0, 44100, 1.0)
    out = resample(tone, 44100, 48000)
    assert abs(len(out) - 48000) <= 1
    # 1 s at 48 kHz: 1 Hz FFT bins; a Hann window keeps leakage off the neighbours.
    spectrum = np.abs(np.fft.rfft(out[:48000] * np.hanning(48000)))
    assert np.argmax(spectrum) == 1000
    # Compare the level away from the edges, where the filter has its start-up transient.
    middle = slice(4800, 43200)
    assert _rms_db(out[middle]) == pytest.approx(20 * np.log10(0.5 / np.sqrt(2)), abs=0.1)


def test_resampling_removes_content_above_the_new_nyquist_frequency():
    tone = _sine(20000.0, 48000, 1.0)  # would alias to 4 kHz at 16 kHz
    out = resample(tone, 48000, 16000)
    assert abs(len(out) - 16000) <= 1
    assert _rms_db(out[1600:-1600]) - _rms_db(tone) < -60.0


def test_resampling_two_dimensional_arrays_resamples_each_channel():
    rng = np.random.default_rng(7)
    stereo = rng.standard_normal((2, 4410)).astype(np.float32)
    out = resample(stereo, 44100, 32000)
    assert out.shape == (2, 3200) and out.dtype == np.float32
    for channel in range(2):
        np.testing.assert_allclose(out[channel], resample(stereo[channel], 44100, 32000), atol=1e-6)


def test_resampling_edge_cases():
    signal = np.arange(5.0)
    assert resample(signal, 48000, 48000) is signal
    assert resample(np.zeros((3, 0)), 44100, 48000).shape == (3, 0)
    assert resample(np.ones(100, dtype=np.int16), 8000, 16000).dtype == np.float64


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((np.zeros(10), 0, 48000), r"orig_sample_rate: 0 must be a positive whole number of Hz"),
        ((np.zeros(10), 48000, 44100.5), r"target_sample_rate: 44100.5 must be a positive whole number of Hz"),
        ((np.zeros(10), "48k", 44100), r"orig_sample_rate: '48k' must be a positive whole number of Hz"),
        ((np.zeros((2, 2, 2)), 48000, 44100), r"shape \(2, 2, 2\) must be \(n_samples,\) or \(n_channels, n_samples\)"),
    ],
)
def test_resampling_errors(args, match):
    with pytest.raises(ParameterError, match=match):
        resample(*args)


# --- loading files ------------------------------------------------------------------------------------------------


def test_load_mono_wav_and_resample(tmp_path):
    tone = _sine(440.0, 22050, 0.5)
    path = tmp_path / "tone.wav"
    soundfile.write(path, tone, 22050, subtype="FLOAT")
    audio, rate = load_audio(path)
    assert rate == 22050 and audio.dtype == np.float32 and audio.shape == tone.shape
    np.testing.assert_array_equal(audio, tone.astype(np.float32))
    audio, rate = load_audio(path, sample_rate=44100)
    assert rate == 44100 and abs(len(audio) - 2 * len(tone)) <= 1


def test_load_flac(tmp_path):
    tone = _sine(440.0, 16000, 0.25)
    path = tmp_path / "tone.flac"
    soundfile.write(path, tone, 16000, subtype="PCM_16")
    audio, rate = load_audio(path)
    assert rate == 16000
    np.testing.assert_allclose(audio, tone, atol=2.0**-15)


def test_downmix_is_the_channel_mean(tmp_path):
    rng = np.random.default_rng(3)
    stereo = rng.uniform(-0.5, 0.5, (1000, 2))
    path = tmp_path / "stereo.wav"
    soundfile.write(path, stereo, 8000, subtype="FLOAT")
    audio, rate = load_audio(path, downmix=True)
    assert rate == 8000 and audio.shape == (1000,)
    np.testing.assert_allclose(audio, stereo.astype(np.float32).mean(axis=1), atol=1e-7)


def test_shared_recording_loads_like_our_own_reader():
    path = SHARED_AUDIO / "castanets_dry.wav"
    if not path.exists():
        pytest.skip(f"{path} is absent (../shared/data not checked out); the shared test data is needed")
    audio, rate = load_audio(path, field="sources[0].audio")
    ours, our_rate, info = read_wav(path)  # an independent decoder of the same file
    assert rate == our_rate and audio.shape == (info.n_frames,) and info.n_channels == 1
    np.testing.assert_allclose(audio, ours[0], atol=1e-7)
    assert np.max(np.abs(audio)) > 0.01  # a real recording, not silence


# --- loading errors -----------------------------------------------------------------------------------------------


def test_missing_file_names_field_and_resolved_path(tmp_path):
    missing = tmp_path / "sounds" / "bird.wav"
    with pytest.raises(
        InputFileError,
        match=r"^sources\[1\]\.audio \(.*bird\.wav\): file does not exist "
        r"\(resolved to /.*sounds/bird\.wav\); check the path$",
    ):
        load_audio(missing, field="sources[1].audio")
    with pytest.raises(InputFileError, match=r"^\S*bird\.wav: file does not exist"):
        load_audio(missing)


def test_folder_is_not_audio(tmp_path):
    with pytest.raises(InputFileError, match=r"is a folder, not an audio file"):
        load_audio(tmp_path)


def test_non_audio_file_is_refused(tmp_path):
    path = tmp_path / "notes.wav"
    path.write_text("this is text, not sound\n" * 20)
    with pytest.raises(
        InputFileError,
        match=r"^sources\[0\]\.audio \(.*notes\.wav\): cannot be read as audio \(.+\); "
        r"convert it to WAV/FLAC$",
    ):
        load_audio(path, field="sources[0].audio")


def test_empty_file_is_refused(tmp_path):
    path = tmp_path / "empty.wav"
    soundfile.write(path, np.zeros(0), 8000)
    with pytest.raises(InputFileError, match=r"empty\.wav: contains no samples"):
        load_audio(path)


def test_non_finite_samples_are_located(tmp_path):
    signal = np.zeros(2000)
    signal[1500] = np.nan
    signal[1700] = np.inf
    path = tmp_path / "broken.wav"
    soundfile.write(path, signal, 1000, subtype="FLOAT")
    with pytest.raises(
        InputFileError,
        match=r"broken\.wav: contains NaN or infinite samples at sample 1500 "
        r"\(1\.500 s\); repair or re-export the file",
    ):
        load_audio(path)


def test_multichannel_without_downmix_is_refused(tmp_path):
    path = tmp_path / "surround.wav"
    soundfile.write(path, np.zeros((100, 6)), 8000)
    with pytest.raises(
        InputFileError,
        match=r"^sources\[2\]\.audio \(.*surround\.wav\): has 6 channels; sources must "
        r"be mono — set `downmix: true` for this source or pass a mono file$",
    ):
        load_audio(path, field="sources[2].audio")


@pytest.mark.parametrize("sample_rate", [0, -48000, 44100.5, True])
def test_load_with_bad_sample_rate(tmp_path, sample_rate):
    path = tmp_path / "x.wav"
    soundfile.write(path, np.zeros(10), 8000)
    with pytest.raises(ParameterError, match=r"sample_rate: .* must be a positive whole number of Hz"):
        load_audio(path, sample_rate=sample_rate)


# --- arrays from the Python API -----------------------------------------------------------------------------------


def test_validate_signal_accepts_float_arrays_and_lists():
    signal = np.linspace(-1, 1, 11, dtype=np.float32)
    assert validate_signal(signal, name="x") is signal
    assert validate_signal([0.0, 0.25], name="x").dtype == np.float64
    assert validate_signal(np.zeros(3, dtype=np.float16), name="x").dtype == np.float32


@pytest.mark.parametrize(
    ("value", "match"),
    [
        (np.zeros((2, 100)), r"^sources\[0\]\.audio: has shape \(2, 100\); sources must be mono 1-D arrays"),
        (np.zeros(10, dtype=np.int16), r"integer samples \(int16\) are ambiguous; pass floats with full scale"),
        (np.zeros(10, dtype=bool), r"integer samples \(bool\) are ambiguous"),
        (np.zeros(10, dtype=complex), r"dtype complex128 is not a real floating-point signal"),
        (np.array(["a", "b"]), r"dtype <U1 is not a real floating-point signal"),
        (np.zeros(0), r"^sources\[0\]\.audio: is empty; give a signal with at least one sample$"),
        (np.array([0.0, 1.0, np.inf, np.nan]), r"contains NaN or infinite samples \(first at index 2\)"),
        ([[0.0, 1.0], [2.0]], r"cannot be read as a numeric array"),
        (np.float64(0.5), r"has shape \(\); sources must be mono 1-D arrays"),
    ],
)
def test_validate_signal_errors(value, match):
    with pytest.raises(ParameterError, match=match):
        validate_signal(value, name="sources[0].audio")
