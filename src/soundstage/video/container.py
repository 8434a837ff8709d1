"""Reading a user's video file with PyAV: what it holds, frames at a stride, and its sound.

Everything a file can get wrong is found before any work and reported as one line naming the file
and what to do: no video stream, no frames, a codec this FFmpeg cannot decode, a variable frame rate,
rotation metadata, a damaged file. PyAV is imported inside the functions (it is the ``video`` extra).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from soundstage.errors import InputFileError, ParameterError

#: Packets whose durations are compared to tell a constant frame rate from a variable one.
_RATE_PACKETS = 240
#: Frames a decoder may hold back to reorder (B-frames); the last this many timestamps of the window are not used.
_REORDER_DEPTH = 32
#: Relative spread of frame durations beyond which a clip's frame rate counts as variable.
_RATE_TOLERANCE = 0.02


@dataclass(frozen=True)
class VideoInfo:
    """What a video file holds.

    Attributes
    ----------
    path : Path
    width, height : int
        Frame size in pixels.
    fps : float
        Frames per second.
    duration_s : float
        Length of the video stream in seconds.
    codec : str
        The video codec's name.
    audio_channels : int
        Channels of the first audio stream, 0 when there is none.
    audio_rate : int or None
        Its sample rate in Hz.
    """

    path: Path
    width: int
    height: int
    fps: float
    duration_s: float
    codec: str
    audio_channels: int
    audio_rate: int | None
    video_start_s: float = 0.0
    audio_start_s: float = 0.0

    @property
    def has_audio(self) -> bool:
        return self.audio_channels > 0


def _open(path: Path):
    import av

    if not path.exists():
        raise InputFileError(f"{path}: no such video file; check the path")
    if path.is_dir():
        raise InputFileError(f"{path}: is a folder, not a video file")
    if path.stat().st_size == 0:
        raise InputFileError(f"{path}: is empty (0 bytes); give a video file such as an MP4")
    try:
        return av.open(str(path))
    except (av.FFmpegError, UnicodeDecodeError, ValueError) as error:
        raise InputFileError(f"{path}: is not a video file FFmpeg can read ({_reason(error)})") from None


def probe_video(path: str | Path) -> VideoInfo:
    """Check a video file and say what it holds.

    Raises
    ------
    InputFileError
        For a missing, empty or damaged file, no video stream, no frames, a codec that cannot be
        decoded here, rotation metadata or a variable frame rate — each with what to do.
    """
    import av

    path = Path(path)
    with _open(path) as container:
        if not container.streams.video:
            raise InputFileError(f"{path}: has no video stream; give a video (for sound alone use soundstage render)")
        stream = container.streams.video[0]
        codec = stream.codec_context.name
        try:
            frame = next(container.decode(stream), None)
        except av.FFmpegError as error:
            raise InputFileError(
                f"{path}: its {codec} video cannot be decoded here ({_reason(error)}); re-encode it, e.g. "
                "ffmpeg -i IN -c:v libx264 -c:a copy OUT.mp4"
            ) from None
        if frame is None:
            raise InputFileError(f"{path}: holds no video frames; give a clip with at least one frame")
        rotation = round(getattr(frame, "rotation", 0) or 0) % 360
        if rotation:
            raise InputFileError(
                f"{path}: is stored rotated by {rotation}° (display matrix); the sound would be placed for the "
                "unrotated picture, so rotate the pixels first: ffmpeg -i IN -c:a copy OUT.mp4 (FFmpeg applies "
                "the rotation when it re-encodes)"
            )
        fps = float(stream.average_rate or stream.guessed_rate or 0)
        if not fps > 0:
            raise InputFileError(f"{path}: its video has no frame rate; re-encode it at a constant rate (-r 30)")
        duration = _duration(container, stream)
        if not duration > 0:
            raise InputFileError(f"{path}: is zero seconds long; give a clip that lasts")
    _check_constant_rate(path)
    with _open(path) as container:
        audio = container.streams.audio[0] if container.streams.audio else None
        video = container.streams.video[0]
        return VideoInfo(
            path,
            int(stream.codec_context.width),
            int(stream.codec_context.height),
            fps,
            duration,
            codec,
            int(audio.codec_context.channels) if audio is not None else 0,
            int(audio.codec_context.sample_rate) if audio is not None else None,
            _start_s(video),
            _start_s(audio) if audio is not None else 0.0,
        )


def _start_s(stream) -> float:
    """When a stream's first packet is due, seconds (0 when the file does not say)."""
    return float(stream.start_time * stream.time_base) if stream.start_time is not None else 0.0


def _duration(container, stream) -> float:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return float(container.duration) / 1_000_000.0
    return 0.0


def _check_constant_rate(path: Path) -> None:
    """Refuse a clip whose frames are not evenly spaced (phone recordings often are not)."""
    with _open(path) as container:
        stream = container.streams.video[0]
        stamps = []
        for packet in container.demux(stream):
            if packet.pts is not None:
                stamps.append(int(packet.pts))
            if len(stamps) >= _RATE_PACKETS:
                break
    # Packets come in decoding order (B-frames after the frames they lean on): sorted, the last few of the
    # window may still have a neighbour outside it, so they are left out.
    stamps = sorted(stamps)
    if len(stamps) >= _RATE_PACKETS:  # the window was cut: its last frames may miss neighbours after it
        stamps = stamps[: len(stamps) - _REORDER_DEPTH]
    if len(stamps) < 3:
        return
    steps = np.diff(np.array(stamps))
    steps = steps[steps > 0]
    # One tick of rounding is not a variable rate (Matroska's 1 ms ticks make 30 fps steps of 33 and 34 ms).
    if len(steps) and (steps.max() - steps.min()) > max(_RATE_TOLERANCE * np.median(steps), 1):
        raise InputFileError(
            f"{path}: has a variable frame rate (frames {steps.min() * float(stream.time_base) * 1000:.1f}–"
            f"{steps.max() * float(stream.time_base) * 1000:.1f} ms apart); convert it to a constant rate first: "
            "ffmpeg -i IN -fps_mode cfr -r 30 -c:a copy OUT.mp4"
        )


def frames_at_stride(info: VideoInfo, stride_s: float, *, max_side: int = 640) -> Iterator[tuple[float, np.ndarray]]:
    """Decode the clip and yield ``(time in s, RGB float32 (H, W, 3) in [0, 1])`` every ``stride_s`` seconds.

    Frames are downscaled so that their longer side is at most ``max_side`` pixels (analysis size).
    """
    if not (np.isfinite(stride_s) and stride_s > 0):
        raise ParameterError(f"--stride {stride_s!r}: give the time between analysed frames in seconds, above 0")
    scale = min(1.0, max_side / max(info.width, info.height))
    width = max(2, round(info.width * scale))
    height = max(2, round(info.height * scale))
    next_time = 0.0
    with _open(info.path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        start = float(stream.start_time * stream.time_base) if stream.start_time is not None else 0.0
        for frame in container.decode(stream):
            if frame.pts is None:
                continue
            t = float(frame.pts * stream.time_base) - start
            if t > info.duration_s + 1.0:
                break  # frames past the length the file declares (a damaged or crafted file) are not read
            if t + 0.5 / info.fps < next_time:
                continue
            rgb = frame.to_ndarray(format="rgb24", width=width, height=height)
            yield t, rgb.astype(np.float32) / 255.0
            next_time = t + stride_s


def read_audio_track(info: VideoInfo) -> tuple[np.ndarray, int]:
    """The clip's first audio stream, shape (channels, samples) float32, and its rate in Hz.

    Raises
    ------
    InputFileError
        When the clip has no audio stream, or it cannot be decoded.
    """
    import av

    if not info.has_audio:
        raise InputFileError(
            f"{info.path}: has no audio stream to place; give the sound with --source LABEL=FILE (or --audio FILE)"
        )
    pieces = []
    # Samples past the length the file declares (a damaged or crafted file) are not read.
    most = round((info.duration_s + 1.0) * info.audio_rate)
    with _open(info.path) as container:
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="fltp", layout=stream.codec_context.layout, rate=info.audio_rate)
        read = 0
        try:
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    pieces.append(out.to_ndarray())
                    read += pieces[-1].shape[1]
                if read > most:
                    break
            for out in resampler.resample(None):
                pieces.append(out.to_ndarray())
        except av.FFmpegError as error:
            raise InputFileError(f"{info.path}: its audio cannot be decoded ({_reason(error)})") from None
    if not pieces:
        raise InputFileError(f"{info.path}: its audio stream holds no samples")
    audio = np.concatenate(pieces, axis=1).astype(np.float32)
    # Sample 0 is the first frame's moment: the audio stream may start before or after the video stream.
    shift = round((info.audio_start_s - info.video_start_s) * info.audio_rate)
    if shift > 0:
        audio = np.concatenate([np.zeros((audio.shape[0], shift), np.float32), audio], axis=1)
    elif shift < 0:
        audio = audio[:, -shift:]
    return audio, int(info.audio_rate)


def _reason(error: Exception) -> str:
    """FFmpeg's own words for what went wrong, without the error number and file name."""
    text = getattr(error, "strerror", None) or str(error).strip() or type(error).__name__
    return text.splitlines()[0].split(": '", 1)[0]
