"""WAV writer/reader and atomic output, checked against the RIFF/WAVE_FORMAT_EXTENSIBLE
specification and against independent readers (libsndfile, ffprobe, SoX)."""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess

import numpy as np
import pytest
import soundfile

from soundstage.errors import InputFileError, OutputError, ParameterError
from soundstage.io.atomic import atomic_write, check_writable, ensure_dir
from soundstage.io.wav import read_wav, read_wav_header, write_wav

PCM_GUID = bytes.fromhex("0100000000001000800000aa00389b71")  # KSDATAFORMAT_SUBTYPE_PCM as stored
FLOAT_GUID = bytes.fromhex("0300000000001000800000aa00389b71")  # KSDATAFORMAT_SUBTYPE_IEEE_FLOAT


def _test_signal(n_channels: int = 2, n_frames: int = 2001) -> np.ndarray:
    rng = np.random.default_rng(1234)
    audio = rng.uniform(-1.0, 1.0, (n_channels, n_frames))
    audio[0, :3] = [1.0, -1.0, 0.0]  # the extremes and zero must map to exact codes
    return audio


def _leftovers(folder, keep):
    return sorted(p.name for p in folder.iterdir() if p.name not in keep)


# --- round trips -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bits", [16, 24, 32])
def test_pcm_round_trip_is_within_one_lsb(tmp_path, bits):
    audio = _test_signal()
    path = write_wav(tmp_path / "x.wav", audio, 44100, bit_depth=bits)
    back, rate, info = read_wav(path)
    lsb = 2.0 ** -(bits - 1)
    assert rate == 44100 and back.shape == audio.shape and info.bits_per_sample == bits
    assert np.max(np.abs(back - audio)) <= lsb
    # Away from +1.0 (whose code 2**(b-1) does not exist) rounding is to the nearest code: half an LSB.
    interior = audio < 1.0 - lsb
    assert np.max(np.abs(back - audio)[interior]) <= 0.5 * lsb * (1 + 1e-9)
    assert back[0, 1] == -1.0 and back[0, 2] == 0.0 and back[0, 0] == 1.0 - lsb


def test_float_round_trip_is_exact(tmp_path):
    audio = _test_signal() * 3.0  # float files may exceed full scale
    for name in ("float", "float32"):
        path = write_wav(tmp_path / f"{name}.wav", audio, 48000, bit_depth=name)
        back, _, info = read_wav(path)
        assert info.subformat == "float"
        np.testing.assert_array_equal(back, audio.astype(np.float32))


@pytest.mark.parametrize("bit_depth", [16, 24, 32, "float"])
def test_libsndfile_reads_the_same_samples(tmp_path, bit_depth):
    audio = _test_signal(n_channels=3, n_frames=1001)
    path = write_wav(tmp_path / "x.wav", audio, 22050, bit_depth=bit_depth)
    ours, _, _ = read_wav(path)
    theirs, rate = soundfile.read(path, dtype="float64", always_2d=True)
    assert rate == 22050
    np.testing.assert_array_equal(theirs.T, ours)


def test_surround_channels_keep_mask_and_order(tmp_path):
    t = np.arange(4800) / 48000
    # Each channel its own tone frequency (100, 200, ... Hz) and level, so a swap cannot go unnoticed.
    audio = np.stack([(0.1 + 0.1 * k) * np.sin(2 * np.pi * 100 * (k + 1) * t) for k in range(6)])
    path = write_wav(tmp_path / "surround.wav", audio, 48000, channel_mask=0x60F)
    back, rate, info = read_wav(path)
    assert (info.n_channels, rate, info.channel_mask, info.n_frames) == (6, 48000, 0x60F, 4800)
    for k in range(6):
        spectrum = np.abs(np.fft.rfft(back[k]))
        assert np.argmax(spectrum) * 10 == 100 * (k + 1)  # 0.1 s → 10 Hz bins
        assert np.max(np.abs(back[k])) == pytest.approx(0.1 + 0.1 * k, abs=1e-3)
    theirs, _ = soundfile.read(path, always_2d=True)
    np.testing.assert_array_equal(theirs.T, back)


def test_default_format_choice(tmp_path):
    plain = read_wav_header(write_wav(tmp_path / "a.wav", np.zeros((2, 10)), 8000, bit_depth=16))
    assert plain.format_tag == 1 and plain.channel_mask is None
    mono24 = read_wav_header(write_wav(tmp_path / "b.wav", np.zeros(10), 8000))  # 1-D = mono
    assert mono24.format_tag == 0xFFFE and mono24.channel_mask == 0x4 and mono24.n_channels == 1
    stereo24 = read_wav_header(write_wav(tmp_path / "c.wav", np.zeros((2, 10)), 8000))
    assert stereo24.channel_mask == 0x3
    hoa = read_wav_header(write_wav(tmp_path / "d.wav", np.zeros((9, 10)), 8000, bit_depth=16))
    assert hoa.format_tag == 0xFFFE and hoa.channel_mask == 0  # no loudspeaker assignment
    masked16 = read_wav_header(write_wav(tmp_path / "e.wav", np.zeros((2, 10)), 8000, bit_depth=16, channel_mask=3))
    assert masked16.format_tag == 0xFFFE and masked16.channel_mask == 0x3


def test_empty_audio_gives_a_valid_file(tmp_path):
    path = write_wav(tmp_path / "empty.wav", np.zeros((2, 0)), 48000)
    assert read_wav(path)[0].shape == (2, 0)
    assert soundfile.info(path).frames == 0


# --- header bytes against the specification ----------------------------------------------------------------------


def test_extensible_pcm_header_bytes(tmp_path):
    n_frames = 101  # odd: 6 ch × 3 bytes × 101 is even, so check padding separately below
    path = write_wav(tmp_path / "x.wav", np.zeros((6, n_frames)), 48000, bit_depth=24, channel_mask=0x60F)
    raw = path.read_bytes()
    assert raw[:4] == b"RIFF" and raw[8:12] == b"WAVE" and raw[12:16] == b"fmt "
    assert struct.unpack("<I", raw[4:8])[0] == len(raw) - 8
    (fmt_size,) = struct.unpack("<I", raw[16:20])
    assert fmt_size == 40
    tag, channels, rate, byte_rate, block_align, bits, cb_size, valid, mask = struct.unpack("<HHIIHHHHI", raw[20:44])
    assert (tag, channels, rate, bits, cb_size, valid, mask) == (0xFFFE, 6, 48000, 24, 22, 24, 0x60F)
    assert block_align == 6 * 3 and byte_rate == 48000 * 18
    assert raw[44:60] == PCM_GUID
    assert raw[60:64] == b"data" and struct.unpack("<I", raw[64:68])[0] == n_frames * 18
    assert len(raw) == 68 + n_frames * 18


def test_float_header_has_guid_and_fact_chunk(tmp_path):
    path = write_wav(tmp_path / "x.wav", np.zeros((2, 77)), 44100, bit_depth="float")
    raw = path.read_bytes()
    assert struct.unpack("<I", raw[16:20])[0] == 40 and struct.unpack("<H", raw[20:22])[0] == 0xFFFE
    assert raw[44:60] == FLOAT_GUID
    assert raw[60:64] == b"fact" and struct.unpack("<II", raw[64:72]) == (4, 77)
    assert raw[72:76] == b"data" and struct.unpack("<I", raw[76:80])[0] == 77 * 2 * 4


def test_plain_pcm_header_is_the_classic_44_bytes(tmp_path):
    path = write_wav(tmp_path / "x.wav", np.zeros(50), 16000, bit_depth=16)
    raw = path.read_bytes()
    assert len(raw) == 44 + 100 and struct.unpack("<I", raw[16:20])[0] == 16
    assert struct.unpack("<HHIIHH", raw[20:36]) == (1, 1, 16000, 32000, 2, 16)


def test_odd_data_chunk_is_padded(tmp_path):
    audio = _test_signal(n_channels=1, n_frames=5)  # 5 frames × 3 bytes = 15 bytes
    path = write_wav(tmp_path / "odd.wav", audio, 8000, bit_depth=24)
    raw = path.read_bytes()
    assert len(raw) % 2 == 0 and struct.unpack("<I", raw[4:8])[0] == len(raw) - 8
    assert struct.unpack("<I", raw[64:68])[0] == 15
    np.testing.assert_allclose(read_wav(path)[0], audio, atol=2.0**-23)


def test_reader_skips_unknown_and_odd_sized_chunks(tmp_path):
    audio = _test_signal(n_channels=2, n_frames=300)
    path = write_wav(tmp_path / "x.wav", audio, 32000, bit_depth=16)
    raw = path.read_bytes()
    extra = b"LIST" + struct.pack("<I", 3) + b"abc" + b"\x00"  # odd size: one pad byte follows
    patched = raw[:36] + extra + raw[36:]
    patched = patched[:4] + struct.pack("<I", len(patched) - 8) + patched[8:]
    other = tmp_path / "with_list.wav"
    other.write_bytes(patched)
    back, rate, info = read_wav(other)
    assert rate == 32000 and info.data_offset == 44 + len(extra)
    np.testing.assert_array_equal(back, read_wav(path)[0])
    np.testing.assert_array_equal(soundfile.read(other, always_2d=True)[0].T, back)


# --- other programs read our files --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n_channels", "mask", "layout"), [(6, 0x60F, "5.1(side)"), (8, 0x63F, "7.1"), (2, 0x3, "stereo")]
)
def test_ffprobe_reports_the_channel_layout(tmp_path, n_channels, mask, layout):
    if shutil.which("ffprobe") is None:
        pytest.skip("ffprobe (FFmpeg) is not installed; install ffmpeg to run this check")
    path = write_wav(tmp_path / "x.wav", np.zeros((n_channels, 480)), 48000, channel_mask=mask)
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-of", "json", str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    stream = json.loads(result.stdout)["streams"][0]
    assert stream["channels"] == n_channels and stream["channel_layout"] == layout
    assert int(stream["sample_rate"]) == 48000 and stream["codec_name"] == "pcm_s24le"


@pytest.mark.parametrize("bit_depth", [16, 24, "float"])
def test_sox_reads_and_decodes_our_files(tmp_path, bit_depth):
    if shutil.which("sox") is None:
        pytest.skip("SoX is not installed; install sox to run this check")
    levels = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    t = np.arange(4410) / 44100
    audio = levels[:, None] * np.sin(2 * np.pi * 441 * t)  # whole periods: the peak is reached exactly
    path = write_wav(tmp_path / "x.wav", audio, 44100, bit_depth=bit_depth, channel_mask=0x60F)
    # (SoX warns "wave header missing extended part of fmt chunk" for every extensible float file; harmless.)
    info = {
        flag: subprocess.run(["sox", "--i", flag, str(path)], capture_output=True, text=True, check=True)
        for flag in ("-c", "-r")
    }
    assert int(info["-c"].stdout) == 6 and int(info["-r"].stdout) == 44100
    # Decode channel 3 (front centre) alone: its peak identifies the channel, so order is checked too.
    stat = subprocess.run(["sox", str(path), "-n", "remix", "3", "stat"], capture_output=True, text=True, check=True)
    peak = float(next(line for line in stat.stderr.splitlines() if line.startswith("Maximum amplitude")).split()[-1])
    assert peak == pytest.approx(0.3, abs=1e-4)


# --- refusals -----------------------------------------------------------------------------------------------------


def test_clipping_is_refused_with_the_peak_and_the_fixes(tmp_path):
    audio = np.zeros((2, 100))
    audio[1, 50] = -2.0  # +6.02 dBFS
    with pytest.raises(
        OutputError,
        match=r"peak \+6\.02 dBFS would clip 24-bit PCM; use normalize / --normalize"
        r", lower the gains, or --bit-depth float",
    ):
        write_wav(tmp_path / "loud.wav", audio, 48000)
    assert _leftovers(tmp_path, keep=()) == []
    back, _, _ = read_wav(write_wav(tmp_path / "loud.wav", audio, 48000, bit_depth="float"))
    assert back[1, 50] == -2.0


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_samples_are_refused(tmp_path, bad):
    audio = np.zeros((2, 100))
    audio[1, 5] = bad
    with pytest.raises(OutputError, match=r"NaN or infinite samples \(first at channel 1, sample 5\)"):
        write_wav(tmp_path / "x.wav", audio, 48000, bit_depth="float")
    assert _leftovers(tmp_path, keep=()) == []


def test_data_over_4_gib_is_refused_before_reading_samples(tmp_path):
    # A broadcast view costs no memory; 2 ch × 2**29 frames × 4 bytes = 4 GiB of data, just over the limit.
    huge = np.broadcast_to(np.zeros((1, 1), dtype=np.float32), (2, 2**29))
    with pytest.raises(OutputError, match=r"exceed the 4 GiB limit of WAV \(RF64 is not supported yet\)"):
        write_wav(tmp_path / "huge.wav", huge, 48000, bit_depth="float")
    assert _leftovers(tmp_path, keep=()) == []


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"bit_depth": 8}, r"bit_depth: 8 is not supported; use 16, 24, 32 or 'float'"),
        ({"bit_depth": "double"}, r"bit_depth: 'double' is not supported"),
        ({"bit_depth": True}, r"bit_depth: True is not supported"),
        ({"channel_mask": 0x3F}, r"channel_mask: 0x3f names 6 loudspeakers but the audio has 2 channels"),
        ({"channel_mask": -1}, r"channel_mask: -1 must be a 32-bit unsigned integer"),
        ({"sample_rate": 0}, r"sample_rate: 0 must be a positive whole number of Hz"),
        ({"sample_rate": 44100.5}, r"sample_rate: 44100.5 must be a positive whole number of Hz"),
        ({"sample_rate": 2**31}, r"sample_rate: 2147483648 Hz × 2 channels × 24 bits exceeds the byte rate"),
    ],
)
def test_bad_parameters(tmp_path, kwargs, match):
    arguments = {"sample_rate": 48000, **kwargs}
    sample_rate = arguments.pop("sample_rate")
    with pytest.raises(ParameterError, match=match):
        write_wav(tmp_path / "x.wav", np.zeros((2, 10)), sample_rate, **arguments)


@pytest.mark.parametrize(
    ("audio", "match"),
    [
        (np.zeros((1000, 2)), r"shape \(1000, 2\) looks like \(n_samples, n_channels\); pass audio\.T"),
        (np.zeros((2, 3, 4)), r"shape \(2, 3, 4\) must be \(n_channels, n_samples\)"),
        (np.zeros((0, 10)), r"must be \(n_channels, n_samples\) with at least one channel"),
        (np.zeros((2, 10), dtype=np.int16), r"dtype int16 cannot be written; pass floating-point samples"),
        (np.zeros((2, 10), dtype=complex), r"dtype complex128 cannot be written"),
    ],
)
def test_bad_arrays(tmp_path, audio, match):
    with pytest.raises(ParameterError, match=match):
        write_wav(tmp_path / "x.wav", audio, 48000)


# --- reading damaged or foreign files -----------------------------------------------------------------------------


def test_reader_errors(tmp_path):
    with pytest.raises(InputFileError, match=r"nothere\.wav: file does not exist \(resolved to /"):
        read_wav_header(tmp_path / "nothere.wav")
    text = tmp_path / "notes.wav"
    text.write_text("these are not samples")
    with pytest.raises(InputFileError, match=r"notes\.wav: not a RIFF/WAVE file"):
        read_wav(text)
    good = write_wav(tmp_path / "good.wav", _test_signal(), 8000, bit_depth=16).read_bytes()
    cut = tmp_path / "cut.wav"
    cut.write_bytes(good[:-10])
    with pytest.raises(
        InputFileError, match=r"cut\.wav: truncated \(the header claims 2001 sample frames but the file holds 1998\)"
    ):
        read_wav(cut)
    headless = tmp_path / "headless.wav"
    headless.write_bytes(good[:36])
    with pytest.raises(InputFileError, match=r"headless\.wav: truncated or damaged WAV \(no complete data chunk\)"):
        read_wav(headless)
    adpcm = tmp_path / "adpcm.wav"
    adpcm.write_bytes(good[:20] + struct.pack("<H", 2) + good[22:])
    with pytest.raises(InputFileError, match=r"format tag 0x0002 \(compressed\) is not supported; convert it"):
        read_wav_header(adpcm)


def test_reader_decodes_8_bit_and_64_bit_float_written_by_libsndfile(tmp_path):
    audio = np.array([[-1.0, -0.5, 0.0, 0.5, 0.75]])
    for subtype, tolerance in (("PCM_U8", 1 / 128), ("DOUBLE", 0.0)):
        path = tmp_path / f"{subtype}.wav"
        soundfile.write(path, audio.T, 8000, subtype=subtype)
        back, rate, _ = read_wav(path)
        assert rate == 8000
        np.testing.assert_allclose(back, audio, atol=tolerance, rtol=0)


# --- atomic output ------------------------------------------------------------------------------------------------


def test_existing_file_is_kept_without_overwrite(tmp_path):
    path = tmp_path / "out.wav"
    path.write_bytes(b"precious")
    with pytest.raises(OutputError, match=r"out\.wav exists; pass --overwrite \(overwrite=True\) to replace it"):
        write_wav(path, np.zeros((2, 10)), 48000)
    assert path.read_bytes() == b"precious" and _leftovers(tmp_path, keep=("out.wav",)) == []
    write_wav(path, np.zeros((2, 10)), 48000, overwrite=True)
    assert read_wav_header(path).n_frames == 10 and _leftovers(tmp_path, keep=("out.wav",)) == []


def test_failure_inside_the_block_leaves_nothing_behind(tmp_path):
    path = tmp_path / "out.txt"
    with pytest.raises(ZeroDivisionError), atomic_write(path, overwrite=False) as temporary:
        temporary.write_text("half written")
        assert temporary.parent == tmp_path and temporary != path
        _ = 1 / 0
    assert list(tmp_path.iterdir()) == []
    path.write_text("old")
    with pytest.raises(KeyError), atomic_write(path, overwrite=True) as temporary:
        temporary.write_text("new")
        raise KeyError("boom")
    assert path.read_text() == "old" and _leftovers(tmp_path, keep=("out.txt",)) == []


def test_os_errors_inside_the_block_become_output_errors(tmp_path):
    path = tmp_path / "out.bin"
    with pytest.raises(OutputError, match=r"out\.bin: cannot be written \(No space left on device\)"):
        with atomic_write(path, overwrite=False):
            raise OSError(28, "No space left on device")
    assert list(tmp_path.iterdir()) == []


def test_success_replaces_and_uses_normal_permissions(tmp_path):
    path = tmp_path / "out.txt"
    with atomic_write(path, overwrite=False) as temporary:
        temporary.write_text("done")
    mask = os.umask(0)
    os.umask(mask)
    assert path.read_text() == "done" and (path.stat().st_mode & 0o777) == 0o666 & ~mask


def test_missing_folder_is_not_created(tmp_path):
    target = tmp_path / "no" / "such" / "out.wav"
    with pytest.raises(OutputError, match=r"folder .*such does not exist; create it first or choose another path"):
        write_wav(target, np.zeros((2, 10)), 48000)
    assert not (tmp_path / "no").exists()


def test_path_under_a_file_is_refused(tmp_path):
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(OutputError, match=r"file\.txt is a file, not a folder; choose another path"):
        write_wav(tmp_path / "file.txt" / "out.wav", np.zeros((2, 10)), 48000)


def test_folder_as_output_is_refused(tmp_path):
    with pytest.raises(OutputError, match=r"is a folder; give a file name for the output"):
        write_wav(tmp_path, np.zeros((2, 10)), 48000)


def test_unwritable_folder_is_refused(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        probe = folder / "probe"
        try:
            probe.write_text("x")
            probe.unlink()
            writable_anyway = True  # root ignores permission bits
        except PermissionError:
            writable_anyway = False
        if writable_anyway:
            # Fall back to a folder that cannot be written by anyone: a path below a regular file.
            (tmp_path / "file.txt").write_text("x")
            target = tmp_path / "file.txt" / "out.wav"
        else:
            target = folder / "out.wav"
        with pytest.raises(OutputError, match=r"out\.wav: .*(not writable|not a folder); .*choose another path"):
            write_wav(target, np.zeros((2, 10)), 48000)
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o700)


def test_check_writable_and_ensure_dir(tmp_path):
    assert check_writable(tmp_path / "new.wav", overwrite=False) == tmp_path / "new.wav"
    created = ensure_dir(tmp_path / "renders" / "demo")
    assert created.is_dir() and ensure_dir(created) == created  # idempotent
    (tmp_path / "plain").write_text("x")
    with pytest.raises(OutputError, match=r"plain is a file; give a folder for the output"):
        ensure_dir(tmp_path / "plain")
    with pytest.raises(OutputError, match=r"a parent of this folder is a file; choose another folder"):
        ensure_dir(tmp_path / "plain" / "sub")
