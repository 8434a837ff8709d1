"""What each job does, in a worker process: the same public API calls the CLI makes.

Every task takes its validated parameters, the store, and the job's output folder, writes its files
there with the atomic writers, and returns the JSON the page gets as the job's ``result`` (files named
by their key in ``result["files"]``, never by a path).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np

from soundstage.web.scenes import scene_to_json
from soundstage.web.store import UploadStore


def run_render(params: dict[str, Any], store: UploadStore, out: Path) -> dict[str, Any]:
    """Render a scene in one format; optionally plots, and an MP4 with a video's picture."""
    from soundstage.acoustics.render import render
    from soundstage.io.export import write_render
    from soundstage.web.scenes import resolve_scene

    scene = resolve_scene(params["scene"], store)
    result = render(
        scene,
        format=params.get("format"),
        sample_rate=params.get("sample_rate"),
        progress=False,
        memory_limit=store.limits.render_memory_bytes,
    )
    bit_depth = params.get("bit_depth", "24")
    report = write_render(
        result,
        out / "render.wav",
        bit_depth=bit_depth if bit_depth == "float" else int(bit_depth),
        normalize=bool(params.get("normalize", True)),
    )
    files = {"audio": "render.wav"}
    if params.get("plots"):
        files.update(_render_plots(scene, result, out))
    if params.get("video"):
        from soundstage.video.mp4 import write_spatial_mp4

        gain = 10.0 ** (report.gain_db / 20.0)
        write_spatial_mp4(
            store.path(params["video"], kind="video"),
            out / "render.mp4",
            result.audio * gain,
            result.sample_rate,
            result.format,
        )
        files["video"] = "render.mp4"
    return {
        "files": files,
        "format": result.format,
        "channels": len(result.channel_labels),
        "channel_labels": list(result.channel_labels),
        "duration": round(result.duration, 4),
        "sample_rate": result.sample_rate,
        "peak_dbfs": round(report.peak_dbfs, 2),
        "gain_db": round(report.gain_db, 2),
        "details": {str(key): str(value) for key, value in result.details.items()},
    }


def _render_plots(scene, result, out: Path) -> dict[str, str]:
    """The scene's top view and, for formats that carry directions, where the render's sources are heard."""
    from soundstage.errors import ParameterError
    from soundstage.metrics.localize import localize
    from soundstage.plots.analysis import plot_localization
    from soundstage.plots.scene import plot_scene

    plot_scene(scene, {result.format: result}, out / "scene.png", overwrite=True)
    files = {"plot": "scene.png"}
    try:
        found = localize(result.audio.astype("float64"), result.sample_rate, format=result.format, max_sources=4)
    except ParameterError:
        return files  # omni or a mono-like render: no direction to show
    plot_localization(result.audio, result.sample_rate, found, out / "localization.png", title="render")
    files["localization"] = "localization.png"
    return files


def run_image(params: dict[str, Any], store: UploadStore, out: Path) -> dict[str, Any]:
    """A photo and its sounds → a scene, the regions found, and the pipeline's figures."""
    from soundstage.plots.image_scene import plot_map, plot_regions
    from soundstage.vision.pipeline import ImageJob, image_to_scene

    job = ImageJob(
        image=store.path(params["image"], kind="image", field="image"),
        sounds=_sounds(params, store),
        depth=params.get("depth", "auto"),
        region_backend=params.get("regions", "auto"),
        fov_deg=params.get("fov"),
        room=params.get("room", "auto"),
    )
    found = image_to_scene(
        job, output_format=params.get("format", "binaural"), sample_rate=params.get("sample_rate", 48000)
    )
    plot_regions(found, out / "regions.png")
    plot_map(found, out / "map.png")
    meta = store.meta(params["image"])
    scale = found.image.scale
    regions = [
        {
            "source": index,
            "label": placed.label,
            "box": [round(v / scale, 1) for v in placed.region.box],
            "outline": _outline(placed.region.mask, scale),
        }
        for index, placed in enumerate(found.placed)
    ]
    return {
        "scene": scene_to_json(found.scene, store),
        "picture": {"id": meta["id"], "width": meta["width"], "height": meta["height"]},
        "regions": regions,
        "camera": {"hfov_deg": round(found.camera.horizontal_fov_deg, 2)},
        "explain": found.report.explain(),
        "notes": list(found.report.warnings),
        "files": {"regions": "regions.png", "map": "map.png"},
    }


def _outline(mask: np.ndarray, scale: float, tolerance_px: float = 1.5) -> list[list[float]]:
    """The largest outer contour of a mask as a polygon in original-image pixels."""
    from skimage.measure import approximate_polygon, find_contours

    padded = np.pad(mask.astype(float), 1)  # a region touching the border still closes
    contours = find_contours(padded, 0.5)
    if not contours:
        return []
    contour = approximate_polygon(max(contours, key=len), tolerance=tolerance_px)
    # (row, col) of the padded mask → (u, v) pixel coordinates of the original image.
    return [[round((col - 1 + 0.5) / scale, 1), round((row - 1 + 0.5) / scale, 1)] for row, col in contour]


def run_video(params: dict[str, Any], store: UploadStore, out: Path) -> dict[str, Any]:
    """A video and its sounds → a scene of moving sources (one trajectory per tracked object)."""
    from PIL import Image

    from soundstage.plots.video_tracks import plot_tracks
    from soundstage.scene import Scene
    from soundstage.video.pipeline import VideoJob, analyse_video, video_scene

    job = VideoJob(
        video=store.path(params["video"], kind="video", field="video"),
        sounds=_sounds(params, store),
        stride_s=params.get("stride", 0.25),
        fov_deg=params.get("fov"),
        doppler=bool(params.get("doppler", False)),
    )
    analysis = analyse_video(job, progress=False)
    rate = params.get("sample_rate", 48000)
    scene = video_scene(job, analysis, output_format=params.get("format", "binaural"), sample_rate=rate)
    # The user's sounds stay the uploads they are (the renderer resamples files itself), named as the page
    # shows them; only the clip's own soundtrack, an array, becomes a new upload.
    data = scene.model_dump(exclude={"base_dir"}, exclude_defaults=True)
    for index, (label, path) in enumerate(job.sounds):
        data["sources"][index].update(audio=str(path), name=label or Path(store.meta(path.parent.name)["name"]).stem)
        data["sources"][index].pop("sample_rate", None)
    scene = _arrays_to_uploads(Scene.model_validate(data), store)
    frame = np.asarray(analysis.first_frame)
    if frame.dtype != np.uint8:
        frame = np.clip(np.round(frame * 255.0), 0, 255).astype(np.uint8)
    png = io.BytesIO()
    Image.fromarray(frame).save(png, format="PNG")
    picture = store.add_bytes(png.getvalue(), "first frame.png", expected="image")
    regions = [
        {
            "source": index,
            "label": tracked.label,
            "box": [round(float(v), 1) for v in tracked.first_box],
            "outline": _box_outline(tracked.first_box),
        }
        for index, tracked in enumerate(analysis.sources)
        if tracked.first_box is not None and index < len(scene.sources)
    ]
    plot_tracks(analysis, out / "tracks.png")
    return {
        "scene": scene_to_json(scene, store),
        "picture": {"id": picture["id"], "width": picture["width"], "height": picture["height"]},
        "regions": regions,
        "camera": None,
        "explain": analysis.report.explain(),
        "notes": list(analysis.report.warnings),
        "files": {"tracks": "tracks.png"},
    }


def _box_outline(box) -> list[list[float]]:
    u0, v0, u1, v1 = (round(float(v), 1) for v in box)
    return [[u0, v0], [u1, v0], [u1, v1], [u0, v1]]


def run_text(params: dict[str, Any], store: UploadStore, out: Path) -> dict[str, Any]:
    """A prompt → a scene whose sounds are the user's uploads or the embedded library's."""
    from soundstage.errors import ParameterError
    from soundstage.scene import Scene
    from soundstage.text.matching import LazyMatcher
    from soundstage.text.parse import parse_prompt
    from soundstage.text.scene_builder import build_scene

    sounds = {
        label.strip().lower(): store.path(upload, kind="sound", field=f"sounds.{label}")
        for label, upload in params.get("sounds", {}).items()
    }
    matcher = LazyMatcher()
    parsed = parse_prompt(params["prompt"], user_sounds=tuple(sounds), matcher=matcher, free_sounds=False)
    if len(parsed.events) > store.limits.max_sources:  # before any sound is made for them
        raise ParameterError(
            f"prompt: {len(parsed.events)} sounds is more than this server renders at once "
            f"({store.limits.max_sources}); name fewer"
        )
    scene_data, made, notes = build_scene(
        parsed,
        sounds=sounds,
        duration_s=params.get("duration"),
        output_format=params.get("format", "binaural"),
        sample_rate=params.get("sample_rate", 48000),
        seed=params.get("seed", 0),
    )
    limits = store.limits
    lasts = max(s.get("start", 0.0) + len(s["audio"]) / s["sample_rate"] for s in scene_data["sources"])
    if lasts > limits.max_render_seconds:
        raise ParameterError(
            f"prompt: the scene lasts {lasts:.1f} s, more than this server renders ({limits.max_render_seconds:g} s); "
            "give a shorter duration or earlier times"
        )
    scene = _arrays_to_uploads(Scene.model_validate(scene_data), store)
    unknown = [f"not understood: {', '.join(parsed.unknown)}"] if parsed.unknown else []
    explain = parsed.explain() + "".join(f"\nsound: {sound.label} — {sound.origin}" for sound in made)
    return {
        "scene": scene_to_json(scene, store),
        "picture": None,
        "regions": [],
        "camera": None,
        "explain": explain,
        "notes": list(dict.fromkeys(matcher.notes + notes + unknown)),
        "files": {},
    }


def run_sound(params: dict[str, Any], store: UploadStore, out: Path) -> dict[str, Any]:
    """A text-to-audio model's sound for a prompt, stored as an upload."""
    from soundstage.audio_models.text_to_audio import generate_audio_file
    from soundstage.cli.text import TTA_ALIASES

    # Generated into the job's own folder, so that it expires with the job.
    path = generate_audio_file(
        params["prompt"],
        model=TTA_ALIASES[params.get("model") or "audioldm2"],
        duration_s=params.get("seconds", 5.0),
        seed=params.get("seed", 0),
        cache_dir=out,
    )
    meta = store.add_bytes(Path(path).read_bytes(), f"{params['prompt'][:60]} (generated).wav", expected="sound")
    return {"sound": meta}


def library_sound(name: str, seconds: float, seed: int, store: UploadStore) -> dict[str, Any]:
    """One of the embedded library's sounds, stored as an upload (fast: runs in the request)."""
    from soundstage.library import make_sound

    signal, _description = make_sound(name, seconds, 48000, seed=seed)
    return store.add_bytes(_wav_bytes(signal, 48000), f"{name} (library).wav", expected="sound")


TASKS = {"render": run_render, "image": run_image, "video": run_video, "text": run_text, "sound": run_sound}


def _sounds(params: dict[str, Any], store: UploadStore) -> list[tuple[str | None, Path]]:
    return [
        (item.get("label") or None, store.path(item["sound"], kind="sound", field=f"sounds[{index}].sound"))
        for index, item in enumerate(params.get("sounds", []))
    ]


def _arrays_to_uploads(scene, store: UploadStore):
    """The scene with every array given as audio stored as a WAV upload and named by reference."""
    from soundstage.scene import Scene

    data = scene.model_dump(exclude={"base_dir"}, exclude_defaults=True)
    for index, source in enumerate(scene.sources):
        if isinstance(source.audio, np.ndarray):
            name = f"{source.name or f'source {index + 1}'}.wav"
            meta = store.add_bytes(_wav_bytes(source.audio, int(source.sample_rate)), name, expected="sound")
            data["sources"][index]["audio"] = str(store.path(meta["id"]))
            data["sources"][index].pop("sample_rate", None)
    return Scene.model_validate(data)


def _wav_bytes(signal: np.ndarray, sample_rate: int) -> bytes:
    import soundfile

    buffer = io.BytesIO()
    soundfile.write(buffer, np.asarray(signal, dtype=np.float32), sample_rate, format="WAV", subtype="FLOAT")
    return buffer.getvalue()
