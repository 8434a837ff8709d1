"""A picture and some sounds → a scene: the stages in order, each backend chosen by name.

1. **image** — loaded, EXIF-oriented, converted to RGB, downscaled for analysis (coordinates kept);
2. **camera** — pinhole intrinsics from ``fov_deg``, the EXIF 35 mm focal length, or the default;
3. **depth** — a depth file from a 3-D camera (metric), a transformers model (metric, or
   relative scaled by a stated rule: ``scene_depth_m``, else the typical sizes of labelled
   regions (:mod:`soundstage.vision.size_priors`), else a 3 m median), or the offline geometric
   prior (ground plane);
4. **regions** — the user's boxes/points, then a backend: ``classical`` (offline saliency and
   segmentation), ``detect`` (open-vocabulary detection + SAM) or ``sam`` (automatic masks);
5. **assignment** — sounds to regions by label, else by order of rank (or CLAP similarity);
6. **audio** — a sound per region, generated from its label with text-to-audio when none is given;
7. **positions** — each region's pixel centroid lifted to 3-D at its depth: the median depth over
   its mask, or where it touches the ground under the geometric prior;
8. **room** — fitted to the depth point cloud (``auto``), given (``WxDxH``), or none; open
   outdoor scenes get free field plus a ground reflection.

:func:`image_to_scene` returns the scene and a :class:`PipelineReport` that says what each stage
decided and which backend ran (``--explain`` prints it).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from soundstage.audio_models.text_to_audio import DEFAULT_MODEL as DEFAULT_AUDIO_MODEL
from soundstage.errors import ParameterError
from soundstage.vision.stages import DEPTH_KEYWORDS, DepthMap, LoadedImage, Region

#: Distance in metres given to a region whose depth is unknown (no depth over its mask, above the horizon).
FALLBACK_DISTANCE_M = 3.0
#: Camera height above the floor assumed by the geometric prior, in metres (standing eye height).
CAMERA_HEIGHT_M = 1.6
#: Farthest ground point the geometric prior contributes to a fitted room, in metres.
GEOMETRIC_REACH_M = 12.0
#: Length of generated sounds in seconds.
GENERATED_DURATION_S = 10.0


@dataclass
class ImageJob:
    """Everything ``soundstage image`` is asked to do.

    Attributes
    ----------
    image : Path
        The photo (or the colour image of an RGB-D capture).
    sounds : list of (str or None, Path or None)
        ``(label, audio file)`` pairs: ``--source LABEL=FILE`` gives both, ``--audio FILE`` no label,
        ``--source LABEL`` no file (the sound is generated from the label).
    regions : list of (str, tuple)
        User regions ``(label, (x0, y0, x1, y1))`` or ``(label, (x, y))`` in original-image pixels.
    depth : str
        ``auto`` (the depth model, downloaded on first use when online; ``geometric`` when offline
        mode is on or the download fails), ``geometric``, ``transformers``, or the path of a depth file.
    depth_model : str or None
        Model id or folder for the transformers depth backend.
    scene_depth_m : float or None
        Median scene depth in metres used to scale relative depth.
    region_backend : str
        ``auto`` (``detect`` when sounds are labelled and its weights are cached or can be downloaded,
        else ``classical``), ``classical``, ``detect`` or ``sam``.
    fov_deg : float or None
        Horizontal field of view of the camera in degrees.
    room : str
        ``auto``, ``none`` or ``WxDxH`` in metres.
    prompt : str or None
        Text-to-audio prompt for regions without a sound (default: the region's label).
    audio_model : str
        Text-to-audio model id or folder.
    downmix : bool
        Average multichannel sound files to mono (otherwise they are refused before any work).
    """

    image: Path
    sounds: list[tuple[str | None, Path | None]]
    regions: list[tuple[str, tuple[float, ...]]] = field(default_factory=list)
    depth: str = "auto"
    depth_model: str | None = None
    scene_depth_m: float | None = None
    region_backend: str = "auto"
    detector: str | None = None
    segmenter: str | None = None
    fov_deg: float | None = None
    room: str = "auto"
    prompt: str | None = None
    audio_model: str = DEFAULT_AUDIO_MODEL
    max_side: int = 1024
    downmix: bool = False


@dataclass
class StageReport:
    """What one stage did: its backend, its decisions (lines) and its time in seconds."""

    stage: str
    backend: str
    lines: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class PipelineReport:
    """The stages in order, for ``--explain`` and the benchmark."""

    stages: list[StageReport] = field(default_factory=list)
    #: What the user should hear about even without ``--explain``: sources moved, guessed distances.
    warnings: list[str] = field(default_factory=list)

    def add(self, stage: str, backend: str, lines: list[str] | tuple[str, ...], started: float) -> None:
        self.stages.append(StageReport(stage, backend, list(lines), time.perf_counter() - started))

    def explain(self) -> str:
        """Every stage's backend, decisions and time, one block per stage."""
        out = []
        for stage in self.stages:
            out.append(f"{stage.stage}: {stage.backend} ({stage.seconds * 1000:.0f} ms)")
            out.extend(f"  {line}" for line in stage.lines)
        return "\n".join(out)


@dataclass
class PlacedSource:
    """A sound placed at a region: its label, audio, region and position in the listener frame."""

    label: str
    audio: Path
    region: Region
    position_m: np.ndarray  # (3,) listener frame
    distance_rule: str

    def direction(self) -> tuple[float, float, float]:
        """Azimuth and elevation in degrees and distance in metres from the listener."""
        from soundstage.conventions import cartesian_to_spherical

        azimuth, elevation, distance = cartesian_to_spherical(np.asarray(self.position_m, dtype=float)[None, :])
        return tuple(float(np.ravel(value)[0]) for value in (azimuth, elevation, distance))


@dataclass
class ImageScene:
    """What the pipeline produced: the scene and what it was built from (for plots and reports)."""

    scene: Any
    image: LoadedImage
    camera: Any
    depth: DepthMap
    placed: list[PlacedSource]
    room_fit: Any
    report: PipelineReport


def image_to_scene(job: ImageJob, *, output_format: str = "binaural", sample_rate: int = 48000) -> ImageScene:
    """Run every stage on ``job`` and build the scene.

    Parameters
    ----------
    job : ImageJob
    output_format : str, default "binaural"
        Written into the scene's ``output``.
    sample_rate : int, default 48000
        Written into the scene's ``output``, in Hz.

    Returns
    -------
    ImageScene

    Raises
    ------
    InputFileError, ParameterError
        For unreadable inputs and impossible requests, with the fix in the message.
    """
    from soundstage.vision.camera import camera_for
    from soundstage.vision.image import load_image

    if not isinstance(job, ImageJob):
        raise ParameterError(f"job: give an ImageJob(image=..., sounds=[(label, path), ...]), got {type(job).__name__}")
    report = PipelineReport()
    if not job.sounds:
        raise ParameterError("give at least one sound: --source LABEL=FILE or --audio FILE")
    if job.scene_depth_m is not None and not (math.isfinite(job.scene_depth_m) and job.scene_depth_m > 0):
        # Checked whatever the depth backend: a value the run would ignore is still a mistake to report.
        raise ParameterError(f"--scene-depth {job.scene_depth_m:g}: give the median scene depth in metres, above 0")
    _check_sound_files(job)

    started = time.perf_counter()
    image = load_image(job.image, max_side=job.max_side)
    report.add(
        "image",
        "pillow",
        [
            f"{image.original_size[0]}×{image.original_size[1]} px, analysed at {image.width}×{image.height}",
            *image.notes,
        ],
        started,
    )

    started = time.perf_counter()
    camera, camera_note = camera_for(image, job.fov_deg)
    report.add("camera", "pinhole", [camera_note], started)

    started = time.perf_counter()
    depth = _depth(job, image, camera)
    report.add("depth", depth.backend, list(depth.notes), started)
    if depth.backend == "geometric":
        report.warnings.append(
            "distances come from the offline geometric prior (a level camera 1.6 m over flat ground), not from a "
            "depth measurement: give --depth FILE (RGB-D) or a depth model (--depth transformers) for real distances"
        )
    if depth.estimated_horizontal_fov_deg is not None and job.fov_deg is None and image.exif_focal_35mm is None:
        camera, depth, line = _camera_from_depth_model(image, camera, depth)
        report.stages[1].lines.append(line)

    started = time.perf_counter()
    regions, region_lines, region_backend = _regions(job, image)
    report.add("regions", region_backend, region_lines, started)

    started = time.perf_counter()
    assignments, assign_lines = _assign(job, regions, image)
    report.add("assignment", "labels, then rank order", assign_lines, started)

    started = time.perf_counter()
    audio_paths, audio_lines = _audio_for(job, assignments)
    backend = "files" if not audio_lines else "text-to-audio"
    report.add("audio", backend, audio_lines or ["every region has a sound"], started)

    if not depth.metric and depth.backend != "geometric" and job.scene_depth_m is None:
        from soundstage.vision.size_priors import scale_by_size_priors

        started = time.perf_counter()
        depth, scale_lines = scale_by_size_priors(depth, [region for _, region in assignments], camera.fy)
        if scale_lines:
            report.add("scale", "typical sizes", scale_lines, started)

    started = time.perf_counter()
    placed = [
        place_region(label, audio, region, depth, camera)
        for (label, region), audio in zip(assignments, audio_paths, strict=True)
    ]
    report.add(
        "positions",
        "pinhole lift",
        [
            f"{p.label}: az {az:+.1f}°, el {el:+.1f}°, {distance:.2f} m ({p.distance_rule})"
            for p in placed
            for az, el, distance in [p.direction()]
        ],
        started,
    )

    started = time.perf_counter()
    room_fit, room_lines = _room(job, image, depth, camera, placed)
    moved = _keep_inside(placed, room_fit)
    room_lines += moved
    report.warnings.extend(moved)
    report.add("room", room_fit.kind if room_fit is not None else "none", room_lines, started)

    scene = _build_scene(placed, room_fit, output_format, sample_rate, downmix=job.downmix)
    return ImageScene(scene, image, camera, depth, placed, room_fit, report)


def _check_sound_files(job: ImageJob) -> None:
    """Read every given sound once before the image work, so a bad file fails fast and names its option."""
    from soundstage.io.audio import load_audio

    for label, audio in job.sounds:
        if audio is None:
            continue
        option = f"--source {label}={audio}" if label else f"--audio {audio}"
        load_audio(audio, downmix=job.downmix, field=option, downmix_hint="pass --downmix (ImageJob(downmix=True))")


def _depth(job: ImageJob, image: LoadedImage, camera) -> DepthMap:
    from soundstage.vision.depth import DEPTH_BACKENDS

    fov = camera.horizontal_fov_deg
    if job.depth not in DEPTH_KEYWORDS:
        return DEPTH_BACKENDS.create("file", path=Path(job.depth)).estimate(image, horizontal_fov_deg=fov)
    backend, note = depth_backend(job.depth, depth_model=job.depth_model, scene_depth_m=job.scene_depth_m)
    depth = backend.estimate(image, horizontal_fov_deg=fov)
    return depth if note is None else replace(depth, notes=(note, *depth.notes))


def depth_backend(
    choice: str, *, depth_model: str | None = None, scene_depth_m: float | None = None
) -> tuple[Any, str | None]:
    """The depth stage's backend for ``auto``, ``geometric`` or ``transformers``, and what ``auto`` decided.

    ``auto`` takes the depth model when its weights are cached or can be fetched (said in the note), else the
    offline geometric prior (a level camera :data:`CAMERA_HEIGHT_M` over flat ground); the note is None for the
    other choices.
    """
    from soundstage.vision.depth import DEPTH_BACKENDS

    note = None
    if choice == "auto":
        from soundstage.hub import fetch_for_auto
        from soundstage.vision.depth.transformers_depth import DEFAULT_DEPTH_MODEL

        folder, note = fetch_for_auto(
            depth_model or DEFAULT_DEPTH_MODEL, purpose="depth estimation", fallback="the offline geometric prior"
        )
        choice = "transformers" if folder is not None else "geometric"
    if choice == "geometric":
        return DEPTH_BACKENDS.create("geometric", camera_height_m=CAMERA_HEIGHT_M), note
    options: dict[str, Any] = {"scene_depth_m": scene_depth_m}
    if depth_model:
        options["model"] = depth_model
    return DEPTH_BACKENDS.create("transformers", **options), note


def _camera_from_depth_model(image: LoadedImage, camera, depth: DepthMap):
    """The camera of the field of view the depth model estimated, and the depth map rescaled to match.

    Depth Pro's metric depth is its inverse depth times the focal length, so a depth map made with
    the default field of view scales by ``tan(default / 2) / tan(estimated / 2)`` under the estimate.
    """
    from soundstage.vision.camera import PinholeCamera

    estimated = float(depth.estimated_horizontal_fov_deg)
    scale = np.tan(np.radians(camera.horizontal_fov_deg) / 2.0) / np.tan(np.radians(estimated) / 2.0)
    better = PinholeCamera.from_fov(image.width, image.height, estimated)
    rescaled = DepthMap(
        depth.z_m * np.float32(scale),
        depth.metric,
        depth.backend,
        (*depth.notes, f"depth rescaled ×{scale:.3f} to the model's own {estimated:.1f}° field of view"),
        estimated,
    )
    line = f"horizontal field of view {estimated:.1f}° as the depth model ({depth.backend}) estimated it"
    return better, rescaled, line


def _regions(job: ImageJob, image: LoadedImage) -> tuple[list[Region], list[str], str]:
    from soundstage.vision.regions import REGION_BACKENDS

    lines: list[str] = []
    regions: list[Region] = []
    if job.regions:
        user = REGION_BACKENDS.create("user", boxes=list(job.regions)).find(
            image, labels=None, max_regions=len(job.regions)
        )
        regions.extend(user)
        lines.append(f"{len(user)} region(s) given by the user: {', '.join(str(r.label) for r in user)}")
    wanted = [label for label, _ in job.sounds if label and label not in {r.label for r in regions}]
    needed = len(job.sounds) - len(regions)
    if needed <= 0:
        return regions, lines, "user"
    name = job.region_backend
    labels = wanted or None
    options: dict[str, Any] = {}
    if name == "auto":
        name = "classical"
        if labels:
            name, auto_lines, options = _detect_if_available(job)
            lines.extend(auto_lines)
    elif name == "detect":
        options = {k: v for k, v in (("detector", job.detector), ("segmenter", job.segmenter)) if v}
    elif name == "sam" and job.segmenter:
        options = {"segmenter": job.segmenter}
    found = REGION_BACKENDS.create(name, **options).find(image, labels=labels, max_regions=max(needed, 8))
    described = [
        f"{r.label or 'unlabelled'} (score {r.score:.2f}, {100 * r.area_fraction:.1f} % of the image)" for r in found
    ]
    lines.append(f"{len(found)} region(s) found: " + ", ".join(described))
    if name == "classical" and labels:
        lines.append("the classical finder does not recognise classes: labels go to regions in rank order")
    return regions + found, lines, "user + " + name if regions else name


def _detect_if_available(job: ImageJob) -> tuple[str, list[str], dict[str, Any]]:
    """``detect`` when the detector is cached or can be fetched, else ``classical``: (backend, why, its options).

    SAM, which cuts the detector's boxes to masks, goes the same way; without it the boxes are the masks.
    """
    from soundstage.hub import fetch_for_auto
    from soundstage.vision.regions.detection import DEFAULT_DETECTOR, DEFAULT_SEGMENTER

    detector = job.detector or DEFAULT_DETECTOR
    folder, note = fetch_for_auto(detector, purpose="open-vocabulary detection", fallback="the classical finder")
    if folder is None:
        return "classical", [note], {}
    segmenter = job.segmenter or DEFAULT_SEGMENTER
    sam_folder, sam_note = fetch_for_auto(
        segmenter, purpose="segmentation (SAM)", fallback="the detector's boxes as masks"
    )
    lines = [note, sam_note, f"open-vocabulary detection with {detector}"]
    return "detect", lines, {"detector": detector, "segmenter": segmenter if sam_folder is not None else None}


def _assign(job: ImageJob, regions: list[Region], image: LoadedImage) -> tuple[list[tuple[str, Region]], list[str]]:
    from soundstage.vision.assign import assign_sounds

    sounds = [(label, str(audio) if audio is not None else None) for label, audio in job.sounds]
    similarity, lines = _clap_if_useful(sounds, regions)
    assignments = assign_sounds(sounds, regions, image_name=Path(job.image).name, similarity=similarity)
    out: list[tuple[str, Region]] = []
    for (label, _audio), assignment in zip(sounds, assignments, strict=True):
        region = assignment.region
        rank = next(i for i, candidate in enumerate(regions) if candidate is region)
        name = label or region.label or f"region{rank + 1}"
        out.append((name, region))
        lines.append(f"{name}: {assignment.reason}")
    return out, lines


def _clap_if_useful(sounds, regions: list[Region]):
    """CLAP similarity when unlabelled sounds could go to labelled regions and its weights are cached or fetched."""
    if not (any(label is None and audio for label, audio in sounds) and any(r.label for r in regions)):
        return None, []
    from soundstage.audio_models.clap import DEFAULT_MODEL as DEFAULT_CLAP_MODEL
    from soundstage.audio_models.clap import ClapSimilarity
    from soundstage.hub import fetch_for_auto

    folder, note = fetch_for_auto(
        DEFAULT_CLAP_MODEL, purpose="CLAP audio–text matching", fallback="rank order for unlabelled sounds"
    )
    if folder is None:
        return None, [note]
    return ClapSimilarity(DEFAULT_CLAP_MODEL), [
        note,
        f"unlabelled sounds matched to labels by CLAP ({DEFAULT_CLAP_MODEL})",
    ]


def _audio_for(job: ImageJob, assignments: list[tuple[str, Region]]) -> tuple[list[Path], list[str]]:
    paths: list[Path] = []
    lines: list[str] = []
    for (label, _region), (_given_label, audio) in zip(assignments, job.sounds, strict=True):
        if audio is not None:
            paths.append(Path(audio))
            continue
        from soundstage.audio_models.text_to_audio import generate_audio_file

        prompt = job.prompt or f"the sound of a {label}"
        path = generate_audio_file(prompt, model=job.audio_model, duration_s=GENERATED_DURATION_S)
        paths.append(path)
        lines.append(f"{label}: generated from {prompt!r} with {job.audio_model} → {path}")
    return paths, lines


def place_region(label: str, audio: Path, region: Region, depth: DepthMap, camera) -> PlacedSource:
    """The region's centroid lifted to 3-D at the region's depth.

    With a measured or estimated depth map the region's depth is the median over its mask. The
    geometric prior knows only the ground, so there a region stands where its lowest pixel
    touches the ground (a region whose bottom is above the horizon gets no depth).
    """
    u, v = region.centroid()
    z, rule = float("nan"), ""
    if depth.backend != "geometric":
        values = depth.z_m[region.mask] if region.mask.any() else np.array([])
        values = values[np.isfinite(values)]
        if len(values) >= max(5, 0.05 * np.count_nonzero(region.mask)):
            z = float(np.median(values))
            rule = "median depth over the region" + ("" if depth.metric else " (scaled estimate)")
    if not np.isfinite(z):
        from soundstage.vision.depth.geometric import ground_contact_depth

        z = float(ground_contact_depth(region.mask, camera, CAMERA_HEIGHT_M))
        rule = f"where it touches the ground, {CAMERA_HEIGHT_M:g} m below a level camera"
    if not np.isfinite(z) or z <= 0:
        z = FALLBACK_DISTANCE_M
        rule = f"no depth for the region: placed at {FALLBACK_DISTANCE_M:g} m"
    position = np.asarray(camera.lift(np.array([u]), np.array([v]), np.array([z])), dtype=float).reshape(3)
    return PlacedSource(label, audio, region, position, rule)


def _room(job: ImageJob, image: LoadedImage, depth: DepthMap, camera, placed: list[PlacedSource]):
    """The room the scene gets (None: free field) and what decided it."""
    from soundstage.vision.room_fit import RoomFit, fit_room, parse_room_option, sky_share

    choice = parse_room_option(job.room)
    if choice == "none":
        return None, ["free field (--room none)"]
    if choice != "auto":
        size = np.asarray(choice, dtype=float)
        listener = np.array([min(1.0, size[0] / 4), size[1] / 2, min(CAMERA_HEIGHT_M, size[2] * 0.6)])
        note = f"shoebox {size[0]:g} × {size[1]:g} × {size[2]:g} m as given; listener at {listener.round(2)}"
        return RoomFit("shoebox", size, listener, (note,)), [note]
    points = _depth_points(depth, camera)
    if depth.backend == "geometric":
        # The prior knows only the ground, and near the horizon its depths are guesses.
        points = points[points[:, 0] <= GEOMETRIC_REACH_M]
    sky = sky_share(image.rgb, None if depth.backend == "geometric" else depth.z_m)
    source_points = np.stack([p.position_m for p in placed])
    fit = fit_room(np.concatenate([points, source_points]), sky_fraction=sky, camera_height_m=None)
    return fit, [f"sky covers {100 * sky:.0f} % of the upper half of the image", *fit.notes]


def _keep_inside(placed: list[PlacedSource], room_fit, margin_m: float = 0.1) -> list[str]:
    """Pull sources that fall outside the shoebox (or below the ground) back along their ray, and say so.

    Moving a source along the ray from the listener keeps its direction — what the picture shows —
    and changes only its distance.
    """
    if room_fit is None:
        return []
    listener = np.asarray(room_fit.listener_position_m, dtype=float)
    lines = []
    for source in placed:
        offset = source.position_m
        if room_fit.kind == "shoebox":
            size = np.asarray(room_fit.size_m, dtype=float)
            low, high = np.full(3, margin_m) - listener, size - margin_m - listener
        else:  # open scene: only the ground bounds it
            low, high = np.array([-np.inf, -np.inf, margin_m - listener[2]]), np.full(3, np.inf)
        with np.errstate(divide="ignore", invalid="ignore"):
            limits = np.where(offset > 0, high / offset, np.where(offset < 0, low / offset, np.inf))
        scale = float(min(1.0, np.min(limits)))
        if scale < 1.0:
            before = float(np.linalg.norm(offset))
            source.position_m = offset * max(scale, 0.0)
            lines.append(
                f"{source.label}: {before:.2f} m away is outside the room; moved along its direction to "
                f"{np.linalg.norm(source.position_m):.2f} m"
            )
    return lines


def _depth_points(depth: DepthMap, camera, max_points: int = 20000) -> np.ndarray:
    """Points (N, 3) of the depth map in the listener frame, subsampled."""
    rows, cols = np.nonzero(np.isfinite(depth.z_m))
    if len(rows) > max_points:
        keep = np.random.default_rng(0).choice(len(rows), max_points, replace=False)
        rows, cols = rows[keep], cols[keep]
    if not len(rows):
        return np.zeros((0, 3))
    return np.asarray(camera.lift(cols + 0.5, rows + 0.5, depth.z_m[rows, cols]), dtype=float)


def _build_scene(placed, room_fit, output_format: str, sample_rate: int, *, downmix: bool = False):
    from soundstage.scene import scene_from_dict

    listener = np.zeros(3)
    room = None
    if room_fit is not None:
        listener = np.asarray(room_fit.listener_position_m, dtype=float)
        if room_fit.kind == "shoebox":
            size = [round(float(v), 3) for v in room_fit.size_m]
            room = {"shoebox": {"size": size}, "materials": _default_materials()}
        else:
            room = {"ground": "grass"}
    sources = []
    for p in placed:
        world = listener + p.position_m
        source = {"name": p.label, "audio": str(p.audio), "position": [round(float(v), 3) for v in world]}
        sources.append({**source, "downmix": True} if downmix else source)
    data: dict[str, Any] = {
        "sources": sources,
        "listener": {"position": [round(float(v), 3) for v in listener]},
        "output": {"format": output_format, "sample_rate": int(sample_rate)},
    }
    if room is not None:
        data["room"] = room
    return scene_from_dict(data)


def _default_materials() -> dict[str, str]:
    """Materials of a fitted room: a furnished office-like room (RT60 ≈ 0.4–0.8 s), not an empty plaster box."""
    return {"walls": "gypsum_board", "floor": "carpet", "ceiling": "acoustic_tile"}
