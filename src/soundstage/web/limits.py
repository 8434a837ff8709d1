"""What one server accepts: upload sizes and lengths, and how much work one render may ask for."""

from __future__ import annotations

from dataclasses import asdict, dataclass

MIB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Bounds on uploads and jobs; each is checked before any work and refused with a one-line reason.

    Attributes
    ----------
    max_upload_bytes : int
        Largest request body (any upload), in bytes.
    max_sound_seconds, max_video_seconds : float
        Longest sound and video an upload may hold, in seconds.
    max_sound_channels, max_sound_rate : int
        Most channels and highest sample rate (Hz) of a sound upload.
    max_sound_samples : int
        Most samples (frames × channels) of a sound upload: what decoding it costs in memory.
    max_sofa_bytes : int
        Largest HRIR array a SOFA upload may declare, in bytes (checked before it is read).
    max_image_pixels : int
        Most pixels an image (or a video frame) may declare: a larger one is refused before it is
        decoded (a decompression bomb is a small file that declares a huge image).
    max_sources : int
        Most sources one render may have.
    max_keyframes : int
        Most trajectory and head-turn keyframes one scene may have, in all.
    max_render_seconds : float
        Longest scene one render may produce, in seconds (sources' starts and lengths, trajectories).
    max_reflection_order : int
        Highest image-source order a room may ask for.
    max_sample_rate : int
        Highest output sample rate, in Hz.
    max_pending_jobs : int
        Jobs queued or running at once; past it new jobs are refused with 503 ("try again").
    job_timeout_s : float
        A job still running after this many seconds is stopped and reported failed.
    keep_seconds : float
        Uploads and job results unused for this long are removed.
    render_memory_bytes : int or None
        Memory one job's render may be estimated to need (None: the library's default divided among
        the workers, set by the job manager).
    """

    max_upload_bytes: int = 200 * MIB
    max_sound_seconds: float = 600.0
    max_video_seconds: float = 120.0
    max_sound_channels: int = 8
    max_sound_rate: int = 192_000
    max_sound_samples: int = 60_000_000
    max_sofa_bytes: int = 256 * MIB
    max_image_pixels: int = 40_000_000
    max_sources: int = 32
    max_keyframes: int = 4000
    max_render_seconds: float = 120.0
    max_reflection_order: int = 30
    max_sample_rate: int = 96_000
    max_pending_jobs: int = 64
    job_timeout_s: float = 900.0
    keep_seconds: float = 24 * 3600.0
    render_memory_bytes: int | None = None

    def to_dict(self) -> dict[str, float | int]:
        """The limits as JSON for the page (``GET /api/info``)."""
        return asdict(self)
