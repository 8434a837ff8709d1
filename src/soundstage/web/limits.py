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
    max_image_pixels : int
        Most pixels an image (or a video frame) may declare: a larger one is refused before it is
        decoded (a decompression bomb is a small file that declares a huge image).
    max_sources : int
        Most sources one render may have.
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
    """

    max_upload_bytes: int = 200 * MIB
    max_sound_seconds: float = 600.0
    max_video_seconds: float = 120.0
    max_image_pixels: int = 40_000_000
    max_sources: int = 32
    max_render_seconds: float = 120.0
    max_reflection_order: int = 30
    max_sample_rate: int = 96_000
    max_pending_jobs: int = 64
    job_timeout_s: float = 900.0
    keep_seconds: float = 24 * 3600.0

    def to_dict(self) -> dict[str, float | int]:
        """The limits as JSON for the page (``GET /api/info``)."""
        return asdict(self)
