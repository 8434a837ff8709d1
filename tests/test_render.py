"""End-to-end renders checked against propagation physics and the encoders' definitions."""

import numpy as np
import pytest

from shared_data import KEMAR
from soundstage import Scene, render
from soundstage.conventions import SPEED_OF_SOUND
from soundstage.errors import InputFileError, ParameterError


def impulse(n: int = 64) -> np.ndarray:
    signal = np.zeros(n)
    signal[0] = 1.0
    return signal


def one_source_scene(position, audio=None, sample_rate=48000, **fields) -> Scene:
    audio = impulse() if audio is None else audio
    source = {"audio": audio, "sample_rate": sample_rate, "position": position, **fields}
    return Scene(sources=[source], output={"sample_rate": 48000})


def test_omni_impulse_arrives_at_r_over_c_with_gain_one_over_r():
    distance = 3.43 * 2  # 20 ms = 960 samples at 48 kHz, a whole number
    result = render(one_source_scene({"az": 40, "el": 10, "dist": distance}), format="omni", progress=False)
    assert result.audio.shape[0] == 1 and result.sample_rate == 48000
    expected_index = round(distance / SPEED_OF_SOUND * 48000)
    assert int(np.argmax(np.abs(result.audio[0]))) == expected_index
    assert result.audio[0, expected_index] == pytest.approx(1 / distance, rel=1e-3)
    assert np.sum(result.audio[0] ** 2) == pytest.approx(1 / distance**2, rel=1e-2)


def test_sources_mix_with_their_start_times_and_gains():
    scene = Scene(
        sources=[
            {"audio": impulse(), "sample_rate": 48000, "position": [1, 0, 0]},
            {"audio": impulse(), "sample_rate": 48000, "position": [1, 0, 0], "start": 0.5, "gain_db": -6.0},
        ]
    )
    out = render(scene, format="omni", progress=False).audio[0]
    first = int(np.argmax(np.abs(out[:24000])))
    second = 24000 + int(np.argmax(np.abs(out[24000:])))
    assert second - first == 24000
    assert out[second] / out[first] == pytest.approx(10 ** (-6 / 20), rel=1e-3)


def test_sources_at_other_rates_are_resampled():
    rate = 16000
    t = np.arange(rate) / rate
    tone = 0.5 * np.sin(2 * np.pi * 1000 * t)
    out = render(one_source_scene([1, 0, 0], tone, sample_rate=rate), format="omni", progress=False)
    spectrum = np.abs(np.fft.rfft(out.audio[0]))
    assert np.fft.rfftfreq(out.audio.shape[1], 1 / 48000)[np.argmax(spectrum)] == pytest.approx(1000, abs=2)
    assert out.audio.shape[1] == pytest.approx(48000, abs=400)


def test_binaural_sphere_left_source_is_louder_and_earlier_on_the_left():
    rng = np.random.default_rng(0)
    noise = rng.standard_normal(4800)
    result = render(one_source_scene({"az": 90, "el": 0, "dist": 2}, noise), format="binaural", progress=False)
    left, right = result.audio
    assert np.sum(left**2) > 2 * np.sum(right**2)
    lag = np.argmax(np.correlate(right, left, "full")) - (len(left) - 1)
    assert lag > 0  # the right ear hears it later
    assert result.details["hrtf"].startswith("sphere")


def test_binaural_mirror_symmetry_of_the_sphere():
    left = render(one_source_scene({"az": 50, "el": 0, "dist": 2}), format="binaural", progress=False).audio
    right = render(one_source_scene({"az": -50, "el": 0, "dist": 2}), format="binaural", progress=False).audio
    np.testing.assert_allclose(left[0], right[1], atol=1e-6)
    np.testing.assert_allclose(left[1], right[0], atol=1e-6)


def test_head_yaw_rotates_the_scene():
    # Turning the head 90° left puts a frontal source on the right.
    scene = one_source_scene([2, 0, 0])
    scene.listener.orientation.yaw = 90.0
    left, right = render(scene, format="binaural", progress=False).audio
    assert np.sum(right**2) > 2 * np.sum(left**2)


@pytest.mark.skipif(not KEMAR.is_file(), reason="../shared/data/hrtf/mit_kemar_normal_pinna.sofa absent")
def test_sofa_render_at_a_measured_direction_reproduces_the_stored_hrir():
    import h5py

    with h5py.File(KEMAR) as sofa:
        positions = sofa["SourcePosition"][:]
        hrirs = sofa["Data.IR"][:]
        rate = int(sofa["Data.SamplingRate"][0])
    index = int(np.argmin(np.abs(positions[:, 0] - 30) + np.abs(positions[:, 1])))
    n_delay = 200  # a whole number of samples, so the fractional interpolator is a unit impulse
    distance = n_delay * SPEED_OF_SOUND / rate
    scene = Scene(
        sources=[
            {
                "audio": impulse(),
                "sample_rate": rate,
                "position": {"az": positions[index, 0], "el": positions[index, 1], "dist": distance},
            }
        ],
        output={"sample_rate": rate},
        hrtf=str(KEMAR),
    )
    result = render(scene, format="binaural", progress=False)
    expected = hrirs[index] / distance
    np.testing.assert_allclose(result.audio[:, n_delay : n_delay + hrirs.shape[2]], expected, atol=1e-6)
    assert np.max(np.abs(result.audio[:, :n_delay])) < 1e-6


def test_foa_of_a_left_source_has_y_equal_w():
    result = render(one_source_scene({"az": 90, "el": 0, "dist": 1}), format="foa", progress=False)
    energy = np.sum(result.audio.astype(float) ** 2, axis=1)
    w, y, z, x = energy
    assert y == pytest.approx(w, rel=1e-6)
    assert z < 1e-10 * w and x < 1e-10 * w


def test_surround_source_on_a_speaker_feeds_only_that_speaker():
    result = render(one_source_scene({"az": -110, "el": 0, "dist": 1}), format="5.1", progress=False)
    energy = np.sum(result.audio.astype(float) ** 2, axis=1)
    assert result.channel_labels[int(np.argmax(energy))] == "SR"
    assert np.sum(energy) - np.max(energy) < 1e-9 * np.max(energy)
    assert result.channel_mask == 0x60F


def test_unknown_format_lists_the_valid_ones():
    with pytest.raises(ParameterError, match=r"hoa.*binaural|binaural.*hoa"):
        render(one_source_scene([1, 0, 0]), format="quadraphonic", progress=False)


def test_source_inside_the_head_names_the_source():
    with pytest.raises(ParameterError, match=r"sources\[0\] 'mouth'.*inside the head"):
        render(one_source_scene([0.05, 0, 0], name="mouth"), format="omni", progress=False)


def test_nan_in_an_array_source_is_refused():
    signal = impulse()
    signal[3] = np.nan
    with pytest.raises(ParameterError, match=r"sources\[0\]"):
        render(one_source_scene([1, 0, 0], signal), format="omni", progress=False)


def test_missing_audio_file_is_reported_with_the_field(tmp_path):
    scene = Scene(sources=[{"audio": "absent.wav", "position": [1, 0, 0]}], base_dir=tmp_path)
    with pytest.raises(InputFileError, match=r"absent\.wav.*|sources\[0\]"):
        render(scene, format="omni", progress=False)


def test_a_head_loaded_once_renders_like_its_name():
    from soundstage.acoustics.hrtf import load_hrtf

    scene = Scene(sources=[{"audio": impulse(), "sample_rate": 16000, "position": {"az": 30, "el": 0, "dist": 2}}])
    head = load_hrtf("sphere", 16000)
    by_object = render(scene, format="binaural", sample_rate=16000, hrtf=head, progress=False)
    by_name = render(scene, format="binaural", sample_rate=16000, hrtf="sphere", progress=False)
    np.testing.assert_array_equal(by_object.audio, by_name.audio)
    with pytest.raises(ParameterError, match="is at 16000 Hz but the signal is at 48000 Hz"):
        render(scene, format="binaural", sample_rate=48000, hrtf=head, progress=False)
