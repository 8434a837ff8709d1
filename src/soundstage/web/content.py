"""What an uploaded file is, decided by its bytes (never its name), and whether it is within the limits.

Each kind is recognised by its signature, then opened with the reader the renderer itself uses, so that
a file accepted here is one the jobs can read: sounds with soundfile, images with Pillow (the size read
from the header before any pixel is decoded), videos with PyAV, SOFA heads with our SOFA reader.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from soundstage.errors import InputFileError, first_line
from soundstage.web.limits import Limits

KINDS = ("sound", "image", "video", "sofa")

#: Content types the server answers with, by kind and detected container.
MEDIA_TYPES = {
    "wav": "audio/wav",
    "flac": "audio/flac",
    "ogg": "audio/ogg",
    "png": "image/png",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "gif": "image/gif",
    "mp4": "video/mp4",
    "webm": "video/webm",
    "hdf5": "application/x-hdf5",
}


class UploadRejected(InputFileError):
    """An upload refused for what it is; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Described:
    """What an accepted file holds: its kind, container and the facts the page shows."""

    kind: str
    container: str
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES.get(self.container, "application/octet-stream")


def sniff(head: bytes) -> tuple[str, str] | None:
    """``(kind, container)`` from a file's first bytes, or None when no known signature matches.

    >>> sniff(b"RIFF\\x24\\x00\\x00\\x00WAVEfmt ")
    ('sound', 'wav')
    >>> sniff(b"\\x89PNG\\r\\n\\x1a\\n....")
    ('image', 'png')
    >>> sniff(b"name: not media") is None
    True
    """
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "sound", "wav"
    if head[:4] == b"fLaC":
        return "sound", "flac"
    if head[:4] == b"OggS":
        return "sound", "ogg"
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return "image", "png"
    if head[:3] == b"\xff\xd8\xff":
        return "image", "jpeg"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image", "webp"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image", "gif"
    if head[4:8] == b"ftyp":
        return "video", "mp4"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "video", "webm"
    if head[:8] == b"\x89HDF\r\n\x1a\n":
        return "sofa", "hdf5"
    return None


def describe_upload(path: Path, name: str, limits: Limits, *, expected: str | None = None) -> Described:
    """Identify and check an uploaded file.

    Parameters
    ----------
    path : Path
        Where the bytes were stored (a server-made name).
    name : str
        The file name the user gave, for messages only.
    limits : Limits
    expected : str or None
        The kind the page asked for (``sound``, ``image``, ``video``, ``sofa``); None accepts any.

    Raises
    ------
    UploadRejected
        415 for an unknown type or another kind than ``expected``, 422 for a file that does not
        decode or exceeds a length or pixel limit.
    """
    if expected is not None and expected not in KINDS:
        raise UploadRejected(f"kind {expected!r}: give one of {', '.join(KINDS)}", 422)
    with open(path, "rb") as f:
        head = f.read(64)
    found = sniff(head)
    if found is None:
        raise UploadRejected(
            f"{name}: not a file type the server takes (by its content): give a sound (WAV, FLAC, OGG), "
            "an image (PNG, JPEG, WebP), a video (MP4, MOV, WebM) or a SOFA head",
            415,
        )
    kind, container = found
    if expected is not None and kind != expected:
        raise UploadRejected(f"{name}: is {_a(kind)} ({container.upper()} content), not {_a(expected)}", 415)
    check = {"sound": _check_sound, "image": _check_image, "video": _check_video, "sofa": _check_sofa}[kind]
    return Described(kind, container, check(path, name, limits))


#: Address space a check may use, in bytes: a file crafted to make its decoder allocate fails its own check.
CHECK_MEMORY_BYTES = 4 * 1024**3
#: Longest a check may take, in seconds.
CHECK_TIMEOUT_S = 60.0


def describe_upload_isolated(
    path: Path, name: str, limits: Limits, *, expected: str | None = None, timeout_s: float = CHECK_TIMEOUT_S
) -> Described:
    """:func:`describe_upload` in a child process with bounded memory and time.

    The decoders (libsndfile, Pillow, FFmpeg, HDF5) read whatever the user sent; a file that crashes one,
    or makes it allocate without end, then fails its own upload instead of taking the server down.
    """
    import multiprocessing

    context = multiprocessing.get_context("forkserver")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(
        target=_describe_in_child, args=(str(path), name, limits.to_dict(), expected, sender), daemon=True
    )
    process.start()
    sender.close()
    outcome = None
    try:
        if receiver.poll(timeout_s):
            outcome = receiver.recv()
        else:
            process.kill()
            raise UploadRejected(f"{name}: checking the file took longer than {timeout_s:g} s; it is refused", 422)
    except EOFError:
        pass
    finally:
        receiver.close()
        process.join(5.0)
    if outcome is None:
        raise UploadRejected(
            f"{name}: the file made its decoder fail (exit code {process.exitcode}); it is damaged, export it again",
            422,
        )
    if outcome[0] == "ok":
        return Described(**outcome[1])
    raise UploadRejected(outcome[1], outcome[2])


def _describe_in_child(path: str, name: str, limits: dict[str, Any], expected: str | None, conn) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (CHECK_MEMORY_BYTES, CHECK_MEMORY_BYTES))
    try:
        described = describe_upload(Path(path), name, Limits(**limits), expected=expected)
        conn.send(("ok", {"kind": described.kind, "container": described.container, "facts": described.facts}))
    except UploadRejected as error:
        conn.send(("rejected", str(error), error.status))
    except MemoryError:
        conn.send(("rejected", f"{name}: decoding it needs more memory than a check may use; it is refused", 422))
    except Exception as error:  # any decoder's failure on a damaged file
        conn.send(("rejected", f"{name}: the file does not decode ({type(error).__name__}: {first_line(error)})", 422))
    finally:
        conn.close()


def _a(kind: str) -> str:
    return {"sound": "a sound", "image": "an image", "video": "a video", "sofa": "a SOFA head"}[kind]


def _check_sound(path: Path, name: str, limits: Limits) -> dict[str, Any]:
    import soundfile

    try:
        info = soundfile.info(str(path))
    except Exception as error:  # soundfile raises RuntimeError/LibsndfileError for damaged files
        raise UploadRejected(
            f"{name}: the sound does not decode ({first_line(error)}); export it again", 422
        ) from None
    if info.frames < 1 or info.samplerate <= 0:
        raise UploadRejected(f"{name}: the sound is empty; upload one with samples in it", 422)
    duration = info.frames / info.samplerate
    if info.channels > limits.max_sound_channels or info.samplerate > limits.max_sound_rate:
        raise UploadRejected(
            f"{name}: {info.channels} channels at {info.samplerate} Hz; this server takes up to "
            f"{limits.max_sound_channels} channels at up to {limits.max_sound_rate} Hz (sources are mono: "
            "upload a mono file)",
            422,
        )
    if info.frames * info.channels > limits.max_sound_samples:
        raise UploadRejected(
            f"{name}: {info.frames * info.channels:,} samples ({info.channels} channels × {duration:.1f} s at "
            f"{info.samplerate} Hz) is more than this server decodes ({limits.max_sound_samples:,}); upload a "
            "mono or shorter file",
            422,
        )
    if duration > limits.max_sound_seconds:
        raise UploadRejected(
            f"{name}: {duration:.1f} s is longer than this server takes ({limits.max_sound_seconds:g} s); "
            "cut it shorter",
            422,
        )
    return {"duration": round(duration, 4), "sample_rate": int(info.samplerate), "channels": int(info.channels)}


def _check_image(path: Path, name: str, limits: Limits) -> dict[str, Any]:
    from PIL import Image, UnidentifiedImageError

    try:
        # Opening reads the header only: the declared size is checked before a single pixel is decoded.
        with Image.open(path) as image:
            width, height = image.size
            _refuse_too_many_pixels(name, width, height, limits)
            image.verify()
    except UploadRejected:
        raise
    except Image.DecompressionBombError:
        raise UploadRejected(
            f"{name}: declares far more pixels than this server decodes ({limits.max_image_pixels:,} pixels); "
            "scale the image down",
            422,
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise UploadRejected(f"{name}: the image does not decode ({first_line(error)}); save it again", 422) from None
    return {"width": int(width), "height": int(height)}


def _refuse_too_many_pixels(name: str, width: int, height: int, limits: Limits) -> None:
    if width * height > limits.max_image_pixels:
        raise UploadRejected(
            f"{name}: {width}×{height} pixels, more than this server decodes ({limits.max_image_pixels:,} pixels); "
            "scale the image down",
            422,
        )


def _check_video(path: Path, name: str, limits: Limits) -> dict[str, Any]:
    try:
        import av

        from soundstage.video.container import probe_video
    except ImportError:
        raise UploadRejected(f"{name}: videos need the video extra: pip install 'soundstage[video]'", 422) from None
    try:  # the frame size the stream declares, checked before any frame is decoded
        with av.open(str(path)) as container:
            for stream in container.streams.video[:1]:
                _refuse_too_many_pixels(name, stream.codec_context.width, stream.codec_context.height, limits)
    except av.FFmpegError as error:
        raise UploadRejected(f"{name}: the video does not open ({first_line(error)}); export it again", 422) from None
    try:
        info = probe_video(path)
    except InputFileError as error:
        raise UploadRejected(f"{name}: {first_line(error).split(': ', 1)[-1]}", 422) from None
    _refuse_too_many_pixels(name, info.width, info.height, limits)
    if info.duration_s > limits.max_video_seconds:
        raise UploadRejected(
            f"{name}: {info.duration_s:.1f} s is longer than this server takes ({limits.max_video_seconds:g} s); "
            "cut the clip shorter",
            422,
        )
    return {
        "duration": round(info.duration_s, 3),
        "width": info.width,
        "height": info.height,
        "fps": round(info.fps, 3),
        "channels": info.audio_channels,
    }


def _check_sofa(path: Path, name: str, limits: Limits) -> dict[str, Any]:
    import h5py

    from soundstage.acoustics.hrtf.sofa import read_sofa

    try:  # the array's declared size, read from the header before the array itself
        with h5py.File(path, "r") as f:
            irs = f.get("Data.IR")
            declared = int(np.prod(irs.shape)) * irs.dtype.itemsize if isinstance(irs, h5py.Dataset) else 0
    except (OSError, ValueError, TypeError) as error:
        raise UploadRejected(
            f"{name}: the SOFA file does not open ({first_line(error)}); export it again", 422
        ) from None
    if declared > limits.max_sofa_bytes:
        raise UploadRejected(
            f"{name}: its HRIRs declare {declared / 2**20:,.0f} MiB, more than this server reads "
            f"({limits.max_sofa_bytes / 2**20:.0f} MiB); give a smaller set",
            422,
        )
    try:
        data = read_sofa(path)
    except InputFileError as error:
        raise UploadRejected(f"{name}: {first_line(error).split(': ', 1)[-1]}", 422) from None
    return {"sample_rate": int(data.sample_rate), "directions": len(data.source_positions_deg)}
