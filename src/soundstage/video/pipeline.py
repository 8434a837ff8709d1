"""A video becomes a video with spatial sound: frames → tracked objects → moving sources → render → MP4.

Stages, each reported for ``--explain`` with its backend and time:

1. **probe** — what the file holds; bad files are refused before any work (:mod:`.container`);
2. **frames** — decoded, one every ``stride_s`` seconds, at analysis size;
3. **regions and depth** — the image pipeline's own stages on each analysed frame (the offline region
   finder, the geometric depth prior or a depth model), each region lifted to a distance;
4. **tracks** — regions associated over time and smoothed (:mod:`.tracking`); the best tracks get the
   sounds in rank order, and each smoothed path is lifted to 3-D with the camera model;
5. **render** — a scene whose sources follow the tracks, through the block engine; or, with
   ``learned``, the learned binauralizer on the clip's own mix with the frame nearest each window;
6. **mux** — the pictures copied, the soundtrack encoded in the format's codec and layout (:mod:`.mp4`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from soundstage.errors import InputFileError, OutputError, ParameterError
from soundstage.video.container import VideoInfo, frames_at_stride, probe_video, read_audio_track
from soundstage.video.tracking import Detection, Track, track_detections
from soundstage.vision.pipeline import PipelineReport

#: Regions kept per analysed frame as candidates for tracking.
REGIONS_PER_FRAME = 6


@dataclass
class VideoJob:
    """Everything ``soundstage video`` is asked to do.

    Attributes
    ----------
    video : Path
    sounds : list of (str or None, Path)
        ``--source LABEL=FILE`` and ``--audio FILE``; empty: the clip's own soundtrack is the source.
    stride_s : float
        Seconds between analysed frames.
    depth : str
        ``auto``, ``geometric`` or ``transformers`` (as for images).
    fov_deg : float or None
        The camera's horizontal field of view in degrees.
    doppler : bool
        Let the pitch follow the tracked objects' radial speed.
    learned : bool
        Lift the clip's own mix with the learned binauralizer instead of placing sources.
    model : str or None
        The learned model's folder (None: the shipped one).
    """

    video: Path
    sounds: list[tuple[str | None, Path]] = field(default_factory=list)
    stride_s: float = 0.25
    depth: str = "auto"
    fov_deg: float | None = None
    doppler: bool = False
    learned: bool = False
    model: str | None = None


@dataclass
class TrackedSource:
    """A sound following a tracked object.

    Attributes
    ----------
    label : str
    times : np.ndarray, shape (N,)
        Seconds.
    positions : np.ndarray, shape (N, 3)
        Listener-frame metres (x forward, y left, z up), smoothed.
    first_box : tuple of float or None
        The object's box in the first frame it was seen, analysed pixels.
    """

    label: str
    times: np.ndarray
    positions: np.ndarray
    first_box: tuple[float, float, float, float] | None


@dataclass
class VideoAnalysis:
    """What the analysis found: the clip, its analysed frames' times, the tracks placed, the report."""

    info: VideoInfo
    frame_times: np.ndarray
    sources: list[TrackedSource]
    first_frame: np.ndarray
    report: PipelineReport
    views: list = field(default_factory=list)


def analyse_video(job: VideoJob, *, progress: bool = True, view_of=None) -> VideoAnalysis:
    """Probe, decode, find and track the sounding objects, and lift their paths to 3-D.

    ``view_of(rgb)``, when given, is also applied to every analysed frame as it is decoded (the learned
    binauralizer's picture views), so the clip is decoded once; the results are ``views``.

    Raises
    ------
    InputFileError
        For a video that cannot be used (see :func:`probe_video`).
    ParameterError
        For an impossible option (a stride of 0, an unknown depth backend).
    """
    from soundstage.vision.camera import camera_for
    from soundstage.vision.regions import REGION_BACKENDS
    from soundstage.vision.stages import DEPTH_KEYWORDS, LoadedImage

    if job.depth not in DEPTH_KEYWORDS:
        raise ParameterError(f"--depth {job.depth}: choose auto, geometric or transformers for a video")
    report = PipelineReport()
    started = time.perf_counter()
    info = probe_video(job.video)
    if not job.sounds and not info.has_audio:
        raise InputFileError(
            f"{info.path}: has no audio stream to place; give the sound with --source LABEL=FILE (or --audio FILE)"
        )
    report.add(
        "probe",
        "pyav",
        [
            f"{info.width}×{info.height} px, {info.fps:g} fps, {info.duration_s:.2f} s, {info.codec}; "
            + (f"audio {info.audio_channels} ch at {info.audio_rate} Hz" if info.has_audio else "no audio")
        ],
        started,
    )
    started = time.perf_counter()
    finder = REGION_BACKENDS.create("classical")
    depth_stage, depth_note = _depth_stage(job)
    frames, times, detections, views = [], [], [], []
    camera = None
    from soundstage.progress import progress_bar

    frame_iter = progress_bar(
        frames_at_stride(info, job.stride_s),
        enabled=progress,
        description="analyse frames",
        unit="frame",
        total=int(info.duration_s / job.stride_s) + 1,
    )
    for t, rgb in frame_iter:
        image = LoadedImage(rgb, f"{info.path}@{t:.2f}s", (info.width, info.height), rgb.shape[1] / info.width)
        if camera is None:
            camera, camera_note = camera_for(image, job.fov_deg)
        depth = depth_stage(image, camera)
        regions = finder.find(image, labels=None, max_regions=REGIONS_PER_FRAME)
        detections.append([_detection(t, region, image, depth, camera) for region in regions])
        if view_of is not None:
            views.append(view_of(rgb))
        times.append(t)
        if not frames:
            frames.append(rgb)
    report.add(
        "regions",
        "classical",
        [f"{len(times)} frames analysed every {job.stride_s:g} s", camera_note, depth_note],
        started,
    )
    started = time.perf_counter()
    times_array = np.asarray(times)
    diagonal = float(np.hypot(*frames[0].shape[:2]))
    tracks = track_detections(detections, times_array, diagonal)
    labels = _labels(job)
    placed = [_lift(label, track, camera) for label, track in zip(labels, tracks, strict=False)]
    lines = [f"{len(tracks)} track(s) of {sum(len(d) for d in detections)} regions"]
    for source in placed:
        az = np.degrees(np.arctan2(source.positions[:, 1], source.positions[:, 0]))
        lines.append(
            f"{source.label}: {source.times[0]:.2f}–{source.times[-1]:.2f} s, azimuth {az[0]:+.0f}° → {az[-1]:+.0f}°, "
            f"{np.linalg.norm(source.positions[0]):.1f} → {np.linalg.norm(source.positions[-1]):.1f} m"
        )
    if len(placed) < len(labels):
        lines.append(f"{len(labels) - len(placed)} sound(s) without a track stay in front, at 3 m")
        report.warnings.append(lines[-1])
    report.add("tracks", "Kalman + RTS", lines, started)
    return VideoAnalysis(info, times_array, placed, frames[0], report, views)


def _depth_stage(job: VideoJob):
    """A function giving each analysed frame's depth map, and a note saying which backend it is."""
    from soundstage.vision.pipeline import depth_backend

    backend, note = depth_backend(job.depth)

    def stage(image, camera):
        return backend.estimate(image, horizontal_fov_deg=camera.horizontal_fov_deg)

    return stage, "; ".join(filter(None, [note, f"depth: {backend.name}"]))


def _detection(t: float, region, image, depth, camera) -> Detection:
    from soundstage.vision.pipeline import place_region

    placed = place_region("region", Path("-"), region, depth, camera)
    u, v = region.centroid()
    z = float(placed.position_m[0])  # depth along the optical axis (x forward)
    colour = image.rgb[region.mask].mean(axis=0) if region.mask.any() else np.zeros(3)
    return Detection(t, np.array([u, v, z]), tuple(map(float, region.box)), np.asarray(colour, float), region.score)


def _labels(job: VideoJob) -> list[str]:
    if not job.sounds:
        return ["clip"]
    return [label or Path(path).stem for label, path in job.sounds]


def _lift(label: str, track: Track, camera) -> TrackedSource:
    u, v, z = track.path.T
    positions = np.asarray(camera.lift(u, v, np.maximum(z, 0.3)), dtype=float)
    first = track.detections[min(track.detections)]
    return TrackedSource(label, track.times, positions, first.box)


def video_scene(job: VideoJob, analysis: VideoAnalysis, *, output_format: str, sample_rate: int):
    """The scene: each sound following its track (or in front when none is left), audio as arrays."""
    from soundstage.io.audio import load_audio
    from soundstage.scene import Scene

    sources = []
    if job.sounds:
        sounds = [(label or Path(path).stem, *load_audio(path, sample_rate=sample_rate)) for label, path in job.sounds]
    else:
        track, rate = read_audio_track(analysis.info)
        sounds = [("clip", track.mean(axis=0), rate)]
    for index, (label, signal, rate) in enumerate(sounds):
        source = {
            "name": label,
            "audio": np.asarray(signal, dtype=np.float32),
            "sample_rate": rate,
            "doppler": job.doppler,
        }
        if index < len(analysis.sources):
            tracked = analysis.sources[index]
            path = zip(tracked.times, tracked.positions, strict=True)
            keyframes = [{"t": float(t), "position": p.tolist()} for t, p in path]
            source["trajectory"] = {"keyframes": keyframes, "interpolate": "linear"}
        else:
            source["position"] = [3.0, 0.0, 0.0]
        sources.append(source)
    return Scene.model_validate({"sources": sources, "output": {"format": output_format, "sample_rate": sample_rate}})


@dataclass
class VideoResult:
    """What ``render_video`` wrote and how."""

    path: Path
    format: str
    sample_rate: int
    peak_dbfs: float
    gain_db: float
    analysis: VideoAnalysis
    details: dict[str, str]


def render_video(
    job: VideoJob,
    output: str | Path,
    *,
    output_format: str = "binaural",
    sample_rate: int = 48000,
    normalize: bool = False,
    overwrite: bool = False,
    progress: bool = True,
    analysis: VideoAnalysis | None = None,
) -> VideoResult:
    """Analyse a clip, render its spatial soundtrack and write an MP4 with the pictures copied.

    ``analysis`` reuses what :func:`analyse_video` found for the same job (to write several formats).

    Raises
    ------
    InputFileError, ParameterError
        For unusable inputs or options.
    OutputError
        For an output that exists, is the input, or whose soundtrack would clip (use ``normalize``).
    """
    from soundstage.io.atomic import check_writable
    from soundstage.io.inputs import InputFile
    from soundstage.video.mp4 import mp4_layout, write_spatial_mp4

    mp4_layout(output_format)  # an impossible format is refused before any work
    if not (np.isfinite(job.stride_s) and job.stride_s > 0):
        raise ParameterError(f"--stride {job.stride_s!r}: give the time between analysed frames in seconds, above 0")
    output = Path(output)
    if output.suffix.lower() not in (".mp4", ".m4v", ".mov"):
        raise OutputError(f"{output}: give a file name ending in .mp4")
    check_writable(output, overwrite=overwrite, inputs=(InputFile.of(job.video),))
    if job.learned and output_format != "binaural":
        raise ParameterError(f"--learned makes binaural sound; drop --format {output_format} (or --learned)")
    model = view_of = None
    if job.learned:
        from soundstage.learn.inference import load_binauralizer, picture_view

        model = load_binauralizer(job.model)

        def view_of(rgb):
            return picture_view(model.config.view, rgb, fov_deg=job.fov_deg)

    if analysis is None or (job.learned and not analysis.views):
        analysis = analyse_video(job, progress=progress, view_of=view_of)
    started = time.perf_counter()
    if job.learned:
        audio, rate, details = _learned(model, analysis, sample_rate)
        analysis.report.add("render", "learned binauralizer", [details["learned"]], started)
    else:
        from soundstage.acoustics.render import render

        scene = video_scene(job, analysis, output_format=output_format, sample_rate=sample_rate)
        result = render(scene, progress=progress)
        audio, rate, details = result.audio, result.sample_rate, dict(result.details)
        analysis.report.add("render", "block engine", [f"{len(scene.sources)} source(s), {output_format}"], started)
    length = round(analysis.info.duration_s * rate)
    fitted = np.zeros((audio.shape[0], length), dtype=np.float32)
    fitted[:, : min(length, audio.shape[1])] = audio[:, :length]
    peak = float(np.max(np.abs(fitted))) if fitted.size else 0.0
    gain_db = 0.0
    if normalize:
        from soundstage.io.export import normalization_gain_db

        gain_db = normalization_gain_db(peak, output)
        fitted *= np.float32(10 ** (gain_db / 20))
        peak = float(np.max(np.abs(fitted)))
    if peak > 1.0:
        raise OutputError(
            f"{output}: the soundtrack peaks at {20 * np.log10(peak):+.1f} dBFS and would clip; add --normalize "
            "(or lower the sounds' level)"
        )
    started = time.perf_counter()
    write_spatial_mp4(job.video, output, fitted, rate, output_format, overwrite=overwrite)
    analysis.report.add("mux", "pyav", [f"pictures copied, {output_format} soundtrack"], started)
    peak_dbfs = 20 * np.log10(peak) if peak > 0 else -np.inf
    return VideoResult(output, output_format, rate, float(peak_dbfs), float(gain_db), analysis, details)


def _learned(model, analysis: VideoAnalysis, sample_rate: int):
    """The clip's own mix lifted to two ears, the frame nearest each window as its picture."""
    from soundstage.io.audio import resample
    from soundstage.learn.inference import FrameViews, binauralize

    track, rate = read_audio_track(analysis.info)
    mono = track.mean(axis=0)
    if rate != sample_rate:
        mono = resample(mono, rate, sample_rate).astype(np.float32)
    frames = FrameViews(analysis.frame_times, analysis.views)
    result = binauralize(model, mono, sample_rate, frames)
    return result.audio, sample_rate, {"learned": f"{model.architecture}, {len(analysis.views)} frames"}
