"""Video in, video with spatial sound out: tracking a clip the test draws itself, the MP4 it writes, bad files."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

av = pytest.importorskip("av", reason="PyAV (the video extra) is not installed")

from soundstage.cli.main import main  # noqa: E402
from soundstage.errors import InputFileError, OutputError  # noqa: E402
from soundstage.video.container import probe_video  # noqa: E402
from soundstage.video.mp4 import SpatialAudio, insert_sa3d, read_sa3d  # noqa: E402
from soundstage.video.pipeline import VideoJob, analyse_video, render_video  # noqa: E402
from soundstage.video.tracking import Detection, kalman_smooth, track_detections  # noqa: E402
from synthetic_video import RATE, write_clip  # noqa: E402

FFPROBE = shutil.which("ffprobe")


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return write_clip(tmp_path_factory.mktemp("video") / "disc.mp4")


@pytest.fixture(scope="module")
def analysis(clip):
    return analyse_video(VideoJob(clip, depth="geometric", stride_s=0.25), progress=False)


def test_the_tracked_disc_moves_monotonically_from_left_to_right(analysis):
    assert len(analysis.sources) == 1
    source = analysis.sources[0]
    azimuth = np.degrees(np.arctan2(source.positions[:, 1], source.positions[:, 0]))
    assert np.all(np.diff(azimuth) < 0)  # azimuth is positive to the left
    # The disc's centre crosses from 15 % to 85 % of the frame's width, under the default field of view: a
    # pinhole camera sees it at ±atan(0.7 tan(fov / 2)) from the image centre.
    from soundstage.vision.camera import DEFAULT_HORIZONTAL_FOV_DEG

    edge = np.degrees(np.arctan(0.7 * np.tan(np.radians(DEFAULT_HORIZONTAL_FOV_DEG / 2))))
    assert abs(azimuth[0] - edge) < 3 and abs(azimuth[-1] + edge) < 3


def _ffprobe(path: Path) -> list[dict[str, str]]:
    if FFPROBE is None:
        pytest.skip("ffprobe is not installed (apt-get install ffmpeg)")
    text = subprocess.run(
        [
            FFPROBE,
            "-v",
            "error",
            "-show_entries",
            "stream=codec_type,codec_name,channels,channel_layout,duration",
            "-of",
            "compact",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [dict(item.split("=", 1) for item in line.split("|")[1:]) for line in text.strip().splitlines()]


def _packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as container:
        return [bytes(p) for p in container.demux(container.streams.video[0]) if p.size]


@pytest.mark.parametrize(
    ("fmt", "codec", "channels", "layout"),
    [("binaural", "aac", 2, "stereo"), ("5.1", "aac", 6, "5.1"), ("foa", "opus", 4, "ambisonic 1")],
)
def test_the_mp4_round_trips(clip, analysis, tmp_path, fmt, codec, channels, layout):
    out = tmp_path / f"out_{fmt}.mp4"
    job = VideoJob(clip, depth="geometric")
    before = clip.read_bytes()
    render_video(job, out, output_format=fmt, normalize=True, progress=False, analysis=analysis)
    assert clip.read_bytes() == before  # the input is never modified
    assert _packets(out) == _packets(clip)  # the pictures are copied, not re-encoded
    info = probe_video(out)
    assert info.audio_channels == channels and abs(info.duration_s - 2.0) < 0.05
    sa3d = read_sa3d(out)
    if fmt == "foa":
        assert sa3d == SpatialAudio(0, 0, 1, 0, 0, (0, 1, 2, 3))
    else:
        assert sa3d is None
    streams = _ffprobe(out)
    audio = next(s for s in streams if s["codec_type"] == "audio")
    assert (audio["codec_name"], int(audio["channels"]), audio["channel_layout"]) == (codec, channels, layout)
    assert abs(float(audio["duration"]) - 2.0) < 0.05


def test_the_binaural_soundtrack_moves_from_the_left_ear_to_the_right(clip, analysis, tmp_path):
    out = tmp_path / "out.mp4"
    render_video(VideoJob(clip, depth="geometric"), out, normalize=True, progress=False, analysis=analysis)
    with av.open(str(out)) as container:
        ears = np.concatenate([f.to_ndarray() for f in container.decode(container.streams.audio[0])], axis=1)
    half = ears.shape[1] // 2
    first = 10 * np.log10(np.sum(ears[0, : half // 2] ** 2) / np.sum(ears[1, : half // 2] ** 2))
    last = 10 * np.log10(np.sum(ears[0, -half // 2 :] ** 2) / np.sum(ears[1, -half // 2 :] ** 2))
    assert first > 1.0 and last < -1.0


def test_sa3d_goes_in_when_the_movie_box_comes_first(tmp_path):
    # With the movie box before the media data, inserting a box moves the media: chunk offsets must follow.
    if not shutil.which("ffmpeg"):
        pytest.skip("ffmpeg is not installed (apt-get install ffmpeg)")
    source = write_clip(tmp_path / "a.mp4")
    fast = tmp_path / "fast.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(source), "-c", "copy", "-movflags", "+faststart", str(fast)], check=True
    )
    data = fast.read_bytes()
    assert data.find(b"moov") < data.find(b"mdat")
    with av.open(str(fast)) as container:
        before = np.concatenate([f.to_ndarray() for f in container.decode(container.streams.audio[0])], axis=1)
    insert_sa3d(fast, SpatialAudio(0, 0, 1, 0, 0, (0,)))
    with av.open(str(fast)) as container:
        after = np.concatenate([f.to_ndarray() for f in container.decode(container.streams.audio[0])], axis=1)
    assert np.array_equal(before, after) and _packets(fast) == _packets(source)
    assert read_sa3d(fast).channel_map == (0,)


# -- tracking ---------------------------------------------------------------------------------------


def test_the_smoother_recovers_constant_velocity_through_noise_and_gaps():
    rng = np.random.default_rng(0)
    t = np.linspace(0, 4, 41)
    truth = np.stack([3 * t + 1, -2 * t], axis=1)
    measured = truth + rng.normal(0, 0.3, truth.shape)
    measured[10:14] = np.nan  # frames where the object was not found
    smoothed = kalman_smooth(t, measured, np.array([0.3, 0.3]), np.array([0.05, 0.05]))
    assert np.sqrt(np.mean((smoothed - truth) ** 2)) < 0.5 * 0.3
    assert np.max(np.abs(smoothed[10:14] - truth[10:14])) < 0.3


def test_two_objects_crossing_keep_their_tracks_by_colour():
    times = np.arange(9) * 0.25
    frames = []
    for t in times:
        red = Detection(t, np.array([50 + 100 * t, 90.0, 5.0]), (0, 0, 1, 1), np.array([1.0, 0, 0]), 0.9)
        blue = Detection(t, np.array([270 - 100 * t, 90.0, 5.0]), (0, 0, 1, 1), np.array([0, 0, 1.0]), 0.8)
        frames.append([red, blue] if t < 1 else [blue, red])
    tracks = track_detections(frames, times, diagonal=367.0)
    assert len(tracks) == 2
    for track in tracks:
        colours = {tuple(d.colour) for d in track.detections.values()}
        assert len(colours) == 1 and track.hits == 9


# -- learned, one frame per window ---------------------------------------------------------------


def test_each_window_of_the_mix_takes_the_frame_nearest_its_centre():
    from soundstage.learn.inference import FrameViews, binauralize, load_binauralizer, picture_view

    model = load_binauralizer(None)
    rate = model.spectral.sample_rate
    hop = model.spectral.crop_samples // 2
    period = 4 * hop  # windows k and k + 4 see the same audio
    mono = np.tile(np.random.default_rng(0).standard_normal(period).astype(np.float32) * 0.1, 4)
    picture = np.zeros((90, 160, 3), np.float32)
    picture[30:60, 10:50] = (0.9, 0.2, 0.1)
    view = picture_view(model.config.view, picture)
    mirrored = picture_view(model.config.view, picture[:, ::-1].copy())
    frames = FrameViews(np.array([0.0, period / rate, 2 * period / rate]), [view, mirrored, view])
    ears = binauralize(model, mono, rate, frames).audio
    difference = ears[0] - ears[1]
    # Samples 4–5 hops come from windows 4 and 5 (the mirrored frame), 8–9 hops from 8 and 9 (the picture).
    mirrored_part, straight_part = difference[4 * hop : 5 * hop], difference[8 * hop : 9 * hop]
    assert np.max(np.abs(straight_part)) > 1e-3
    assert np.allclose(mirrored_part, -straight_part, atol=1e-5 * np.max(np.abs(straight_part)) + 1e-7)


# -- what users get wrong ----------------------------------------------------------------------------


def test_bad_files_get_one_clear_line(tmp_path):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    with pytest.raises(InputFileError, match="is empty"):
        probe_video(empty)
    with pytest.raises(InputFileError, match="no such video file"):
        probe_video(tmp_path / "missing.mp4")
    good = write_clip(tmp_path / "good.mp4", seconds=1.0)
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(good.read_bytes()[:2000])
    with pytest.raises(InputFileError, match="not a video file FFmpeg can read"):
        probe_video(broken)


def test_a_sound_file_is_not_a_video(tmp_path):
    sound = tmp_path / "sound.m4a"
    out = av.open(str(sound), "w", format="mp4")
    stream = out.add_stream("aac", rate=RATE)
    stream.layout = "mono"
    frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
    frame.sample_rate = RATE
    for packet in [*stream.encode(frame), *stream.encode()]:
        out.mux(packet)
    out.close()
    with pytest.raises(InputFileError, match="has no video stream"):
        probe_video(sound)


def test_rotation_metadata_is_refused(tmp_path):
    with pytest.raises(InputFileError, match="rotated by 90°"):
        probe_video(write_clip(tmp_path / "rotated.mp4", seconds=0.5, rotation=90))


def test_a_variable_frame_rate_is_refused(tmp_path):
    times = np.cumsum(np.where(np.arange(25) % 2, 0.02, 0.06))
    with pytest.raises(InputFileError, match="variable frame rate"):
        probe_video(write_clip(tmp_path / "vfr.mp4", seconds=1.0, frame_times=times - times[0]))


def test_a_long_clip_with_b_frames_is_not_taken_for_a_variable_rate(tmp_path):
    # Packets come in decoding order; more of them than the check reads must not look like a gap.
    info = probe_video(write_clip(tmp_path / "long.mp4", seconds=12.0, size=(64, 36), audio=False))
    assert info.fps == 25 and abs(info.duration_s - 12.0) < 0.05


def test_a_codec_that_cannot_be_decoded_says_how_to_re_encode(tmp_path, monkeypatch):
    clip = write_clip(tmp_path / "clip.mp4", seconds=0.5)

    def refuse(self, *streams):
        raise av.error.PatchWelcomeError(0, "decoder not found")

    monkeypatch.setattr(av.container.InputContainer, "decode", refuse)
    with pytest.raises(InputFileError, match=r"cannot be decoded here .* ffmpeg -i IN -c:v libx264"):
        probe_video(clip)


def test_a_clip_without_sound_needs_a_source(tmp_path, capsys):
    silent = write_clip(tmp_path / "silent.mp4", seconds=1.0, audio=False)
    code = main(["video", str(silent), "-o", str(tmp_path / "out.mp4"), "--depth", "geometric", "--stride", "0.5"])
    err = capsys.readouterr().err
    assert code != 0 and "has no audio stream" in err and "--source" in err
    assert not list(tmp_path.glob("out*"))  # nothing half-written


def test_the_output_may_not_be_the_input(clip, capsys):
    before = clip.read_bytes()
    code = main(["video", str(clip), "-o", str(clip), "--overwrite"])
    assert code != 0 and "one of this job's inputs" in capsys.readouterr().err
    assert clip.read_bytes() == before


def test_a_failed_mux_leaves_nothing_behind(clip, analysis, tmp_path, monkeypatch):
    import soundstage.video.mp4 as mp4

    def explode(*args, **kwargs):
        raise RuntimeError("disk pulled out")

    monkeypatch.setattr(mp4, "_audio_frame", explode)
    with pytest.raises(RuntimeError):
        render_video(
            VideoJob(clip, depth="geometric"), tmp_path / "out.mp4", normalize=True, progress=False, analysis=analysis
        )
    assert list(tmp_path.iterdir()) == []


def test_a_clipping_soundtrack_is_refused_without_normalize(clip, analysis, tmp_path):
    loud = tmp_path / "loud.wav"
    import soundfile

    # The disc is 11 m away (1/r = −21 dB): a float file at +30 dB still clips after the distance.
    soundfile.write(loud, 30 * np.sign(np.sin(np.arange(RATE))).astype(np.float32), RATE, subtype="FLOAT")
    job = VideoJob(clip, sounds=[("disc", loud)], depth="geometric")
    with pytest.raises(OutputError, match="would clip; add --normalize"):
        render_video(job, tmp_path / "out.mp4", progress=False, analysis=analysis)


def test_the_command_line_writes_the_clip_and_its_tracks(clip, tmp_path, capsys):
    import soundfile

    engine = tmp_path / "engine.wav"
    soundfile.write(engine, 0.1 * np.random.default_rng(1).standard_normal(2 * RATE), RATE)
    out = tmp_path / "clip_spatial.mp4"
    code = main(
        [
            "video",
            str(clip),
            "--source",
            f"car={engine}",
            "-o",
            str(out),
            "--format",
            "stereo",
            "--depth",
            "geometric",
            "--stride",
            "0.5",
            "--explain",
            "--quiet",
        ]
    )
    assert code == 0
    assert out.exists() and (tmp_path / "clip_spatial.tracks.png").exists()
    assert probe_video(out).audio_channels == 2


def test_learned_lifts_the_clips_own_mix_with_its_frames(clip, tmp_path):
    out = tmp_path / "learned.mp4"
    code = main(["video", str(clip), "--learned", "-o", str(out), "--stride", "0.5", "--depth", "geometric", "--quiet"])
    assert code == 0
    with av.open(str(out)) as container:
        ears = np.concatenate([f.to_ndarray() for f in container.decode(container.streams.audio[0])], axis=1)
    assert ears.shape[0] == 2 and ears.shape[1] > 1.9 * RATE
    # The model adds a difference between the ears to the mono mix it was given.
    assert np.sqrt(np.mean((ears[0] - ears[1]) ** 2)) > 0.01 * np.sqrt(np.mean(ears**2))


def test_a_matroska_clip_at_30_fps_has_a_constant_rate(tmp_path):
    # Matroska's 1 ms ticks make 30 fps frame steps of 33 and 34 ms: rounding, not a variable rate.
    info = probe_video(write_clip(tmp_path / "clip.mkv", seconds=2.0, fps=30, size=(64, 36), audio=False))
    assert info.fps == pytest.approx(30, rel=1e-3)


def test_the_soundtrack_starts_with_the_first_picture(tmp_path):
    if not shutil.which("ffmpeg"):
        pytest.skip("ffmpeg is not installed (apt-get install ffmpeg)")
    source = write_clip(tmp_path / "a.mp4", seconds=1.0)
    late = tmp_path / "late.mp4"  # every stream delayed by 1 s, as camcorder files start
    delayed = ["ffmpeg", "-v", "error", "-itsoffset", "1.0", "-i", str(source), "-c", "copy", str(late)]
    subprocess.run(delayed, check=True)
    info = probe_video(late)
    assert info.video_start_s == pytest.approx(1.0, abs=0.05)
    out = tmp_path / "out.mp4"
    from soundstage.video.mp4 import write_spatial_mp4

    write_spatial_mp4(late, out, np.zeros((2, RATE), np.float32), RATE, "stereo")
    with av.open(str(out)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        starts = [float(s.start_time * s.time_base) for s in (video, audio)]
    assert abs(starts[0] - starts[1]) < 0.05
