"""Inputs that used to give a silently wrong result, a wrong hint or a wait: each is now one clear line."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import soundfile
from PIL import Image

from soundstage.cli.image import parse_sounds
from soundstage.cli.main import main
from soundstage.errors import DownloadError, InputFileError, ParameterError
from soundstage.io.audio import load_audio

RATE = 16000


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("soundstage: error:"), err
    return err[0]


def test_a_wav_header_claiming_more_frames_than_held_names_both_counts(tmp_path):
    path = tmp_path / "short.wav"
    soundfile.write(path, np.full(48000, 0.1), 48000, subtype="PCM_16")
    path.write_bytes(path.read_bytes()[: 44 + 478 * 2])  # 44-byte header, 478 16-bit frames
    with pytest.raises(InputFileError, match=r"short\.wav.*header claims 48000 sample frames but the file holds 478"):
        load_audio(path)


def test_a_streamed_wav_of_unknown_length_still_reads(tmp_path):
    path = tmp_path / "stream.wav"
    soundfile.write(path, np.full(100, 0.1), RATE, subtype="PCM_16")
    data = bytearray(path.read_bytes())
    data[40:44] = (0xFFFFFFFF).to_bytes(4, "little")  # the data size a pipe writer leaves
    path.write_bytes(bytes(data))
    audio, _ = load_audio(path)
    assert len(audio) == 100


def test_a_symlink_loop_as_audio_is_one_line(tmp_path):
    loop = tmp_path / "loop.wav"
    loop.symlink_to(loop)
    with pytest.raises(InputFileError, match=r"sources\[0\]\.audio \(.*loop\.wav\): is a symlink loop"):
        load_audio(loop, field="sources[0].audio")


def test_an_all_zero_sofa_set_is_refused(tmp_path):
    from soundstage.acoustics.hrtf import read_sofa, write_sofa

    directions = np.array([[0.0, 0.0, 1.0], [90.0, 0.0, 1.0]])
    path = write_sofa(tmp_path / "zero.sofa", np.zeros((2, 2, 32)), directions, RATE)
    with pytest.raises(InputFileError, match=r"zero\.sofa: Data\.IR is all zero for every measurement"):
        read_sofa(path)
    irs = np.zeros((2, 2, 32))
    irs[0, :, 0] = 1.0
    path = write_sofa(tmp_path / "half.sofa", irs, directions, RATE)
    with pytest.raises(InputFileError, match=r"all zero for 1 of 2 measurements \(first: measurement 1\)"):
        read_sofa(path)


def test_a_zero_length_ambisonic_file_is_refused(tmp_path, capsys):
    path = tmp_path / "foa.wav"
    soundfile.write(path, np.zeros((0, 4)), RATE)
    assert main(["binauralize", str(path), "-o", str(tmp_path / "out.wav")]) == 1
    assert "foa.wav: contains no samples" in _one_error_line(capsys)


def test_binauralize_takes_the_sample_rate_and_the_orders_render_writes(tmp_path, capsys):
    foa = tmp_path / "foa.wav"
    soundfile.write(foa, np.random.default_rng(0).standard_normal((RATE // 4, 4)) * 0.05, RATE)
    assert main(["binauralize", str(foa), "-o", str(tmp_path / "b.wav"), "--sample-rate", "48000", "--quiet"]) == 0
    info = soundfile.info(str(tmp_path / "b.wav"))
    assert info.samplerate == 48000 and info.channels == 2
    hoa17 = tmp_path / "hoa17.wav"
    soundfile.write(hoa17, np.zeros((16, 18 * 18)), RATE)
    assert main(["binauralize", str(hoa17), "-o", str(tmp_path / "c.wav")]) == 1
    assert "N from 1 to 16" in _one_error_line(capsys)


def test_a_depth_file_with_no_valid_pixel_is_refused(tmp_path):
    from soundstage.vision.depth.file import read_depth_file

    path = tmp_path / "depth.png"
    Image.fromarray(np.zeros((8, 8), dtype=np.uint16)).save(path)
    with pytest.raises(InputFileError, match=r"depth\.png' has no valid pixel"):
        read_depth_file(path)


@pytest.mark.parametrize("n_frames", [0, 1])
def test_analyze_on_a_tiny_file_names_the_file(tmp_path, capsys, n_frames):
    path = tmp_path / "tiny.wav"
    soundfile.write(path, np.full((n_frames, 2), 0.1), RATE)
    assert main(["analyze", str(path)]) == 1
    line = _one_error_line(capsys)
    assert "tiny.wav" in line and "frame_s" not in line.split("(from Python")[0]


@pytest.mark.parametrize(
    ("argument", "match"),
    [
        ("car=", r"no file after '='"),
        ("=x.wav", r"give LABEL=FILE"),
        ("engine.wav", r"names a file but no label; give --source LABEL=engine\.wav"),
        ("sounds/engine", r"names a file but no label"),
    ],
)
def test_image_sources_that_are_not_text_to_audio_requests_fail_at_once(argument, match):
    with pytest.raises(ParameterError, match=match):
        parse_sounds([argument], [])
    assert parse_sounds(["car"], []) == [("car", None)]  # a label alone still asks for generated sound


def test_a_stereo_sound_for_the_image_command_suggests_its_own_option(tmp_path, capsys):
    Image.fromarray(np.full((48, 64, 3), 120, dtype=np.uint8)).save(tmp_path / "photo.png")
    soundfile.write(tmp_path / "st.wav", np.random.default_rng(0).standard_normal((RATE // 4, 2)) * 0.05, RATE)
    argv = ["image", str(tmp_path / "photo.png"), "--source", f"car={tmp_path / 'st.wav'}", "--quiet"]
    argv += ["--region", "car=10,30,60,47"]
    assert main([*argv, "-o", str(tmp_path / "o.wav")]) == 1
    line = _one_error_line(capsys)
    assert "--source car=" in line and "pass --downmix" in line and "downmix: true" not in line
    assert main([*argv, "-o", str(tmp_path / "o.wav"), "--downmix"]) == 0


def test_sources_moved_into_a_small_room_are_said_without_explain(tmp_path, capsys):
    Image.fromarray(np.full((48, 64, 3), 120, dtype=np.uint8)).save(tmp_path / "photo.png")
    soundfile.write(tmp_path / "a.wav", np.random.default_rng(0).standard_normal(RATE // 4) * 0.05, RATE)
    argv = [
        "image",
        str(tmp_path / "photo.png"),
        "--source",
        f"car={tmp_path / 'a.wav'}",
        "--region",
        "car=10,30,60,47",
    ]
    assert main([*argv, "--room", "2x2x2", "-o", str(tmp_path / "o.wav"), "--quiet"]) == 0
    notes = capsys.readouterr().err
    assert "soundstage: note: car:" in notes and "outside the room; moved along its direction" in notes
    assert "offline geometric prior" in notes  # which prior the distances come from


def test_offline_mode_stops_the_hrtf_download_at_once(tmp_path, monkeypatch):
    from soundstage.acoustics.hrtf import fetch_hrtf

    monkeypatch.setenv("SOUNDSTAGE_OFFLINE", "1")
    # A local mirror: offline must not even ask it.
    monkeypatch.setenv("SOUNDSTAGE_HRTF_MIRROR", "http://127.0.0.1:9")
    started = time.perf_counter()
    with pytest.raises(DownloadError, match=r"not in the cache .* downloads are off \(SOUNDSTAGE_OFFLINE=1\)"):
        fetch_hrtf("mit_kemar", cache_dir=tmp_path, progress=False)
    assert time.perf_counter() - started < 1.0
    assert list(tmp_path.iterdir()) == []


def test_python_api_wrong_types_are_parameter_errors(tmp_path):
    from soundstage import render
    from soundstage.acoustics.render import decode_to_binaural

    with pytest.raises(ParameterError, match="scene: give a Scene or the path of a scene file"):
        render(42)
    with pytest.raises(ParameterError, match="ambisonics: give a RenderResult or the path"):
        decode_to_binaural(np.zeros((4, 10)))
    with pytest.raises(ParameterError, match="convention"):
        decode_to_binaural(Path(tmp_path / "x.wav"), convention="acn")
    from soundstage import image_to_scene, load_hrtf, load_scene, save_scene, write_render

    with pytest.raises(ParameterError, match="path: give the path of a scene file, got int"):
        load_scene(42)
    with pytest.raises(ParameterError, match="scene: give a Scene to save, got str"):
        save_scene("scene.yaml", tmp_path / "s.yaml")
    with pytest.raises(ParameterError, match="result: give the RenderResult that render"):
        write_render(np.zeros((2, 10)), tmp_path / "x.wav")
    with pytest.raises(ParameterError, match="hrtf: give 'sphere', a registered name"):
        load_hrtf(5, 48000)
    with pytest.raises(ParameterError, match="sample_rate must be a positive integer"):
        load_hrtf("sphere", "48000")
    with pytest.raises(ParameterError, match="job: give an ImageJob"):
        image_to_scene("photo.jpg")
