"""The web application: a FastAPI app whose endpoints call the same public API as the CLI.

Uploads go into the :class:`~soundstage.web.store.UploadStore` (checked by content, named by the
server), long work into the :class:`~soundstage.web.jobs.JobManager` (worker processes, a queue, a
cache), and the page is the static files beside this module. Every library error becomes a 4xx answer
whose ``detail`` is the same one line the CLI prints.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import FastAPI, File, Form, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from starlette.background import BackgroundTask
from starlette.middleware.trustedhost import TrustedHostMiddleware

from soundstage import __version__
from soundstage.errors import ParameterError, SoundstageError, one_line
from soundstage.web.content import MEDIA_TYPES
from soundstage.web.guards import BodyLimit, SameOrigin
from soundstage.web.jobs import JobManager
from soundstage.web.limits import Limits
from soundstage.web.store import UploadStore

STATIC = Path(__file__).parent / "static"
#: Formats the page offers (any ``hoaN`` renders too; these are the usual ones).
FORMATS = ["binaural", "stereo", "ortf", "ab", "5.1", "7.1", "foa", "hoa2", "hoa3", "omni"]

#: Longest a request for a job's state waits for the job to end, in seconds.
MAX_WAIT_S = 30.0

SceneJSON = Annotated[
    dict[str, Any],
    Field(description='A scene in the scene model\'s JSON (GET /api/schema/scene); files as "upload:<id>"'),
]


# -- request bodies ------------------------------------------------------------------------------------


class _Body(BaseModel):
    model_config = {"extra": "forbid"}


class SoundChoice(_Body):
    """A sound for the image or video pipeline: an upload, with the label of the thing that makes it."""

    label: str | None = Field(None, max_length=100, description="what makes the sound (e.g. dog); none: by rank")
    sound: str = Field(description="upload id of the sound")


class ImageRequest(_Body):
    image: str = Field(description="upload id of the photo")
    sounds: list[SoundChoice] = Field(min_length=1, max_length=32)
    depth: Literal["auto", "geometric", "transformers"] = "auto"
    regions: Literal["auto", "classical", "detect", "sam"] = "auto"
    fov: float | None = Field(None, gt=1, lt=179, description="horizontal field of view in degrees")
    room: str = Field("auto", pattern=r"^(auto|none|\d+(\.\d+)?x\d+(\.\d+)?x\d+(\.\d+)?)$")
    format: str = "binaural"
    sample_rate: int = Field(48000, ge=8000, le=192000)


class VideoRequest(_Body):
    video: str = Field(description="upload id of the video")
    sounds: list[SoundChoice] = Field(default_factory=list, max_length=32)
    stride: float = Field(0.25, ge=0.04, le=5.0, description="seconds between analysed frames")
    fov: float | None = Field(None, gt=1, lt=179)
    doppler: bool = False
    format: str = "binaural"
    sample_rate: int = Field(48000, ge=8000, le=192000)


class TextRequest(_Body):
    prompt: str = Field(min_length=1, max_length=2000)
    sounds: dict[str, str] = Field(default_factory=dict, description="label → upload id of a sound to use for it")
    duration: float | None = Field(None, gt=0, le=600)
    seed: int = Field(0, ge=0, lt=2**31)
    format: str = "binaural"
    sample_rate: int = Field(48000, ge=8000, le=192000)


class RenderRequest(_Body):
    scene: SceneJSON
    format: str | None = Field(None, description="output format; overrides the scene's")
    sample_rate: int | None = Field(None, ge=8000, le=384000)
    normalize: bool = Field(True, description="scale the peak to -1 dBFS")
    bit_depth: Literal["16", "24", "32", "float"] = "24"
    plots: bool = Field(False, description="also draw the scene and where the render's sources are heard")
    video: str | None = Field(None, description="upload id of a video: also write an MP4 with its picture")


class SoundRequest(_Body):
    prompt: str = Field(min_length=1, max_length=500)
    seconds: float = Field(5.0, gt=0, le=30)
    # Only the models this server knows: a free-form id would let a request start any download, or name a folder.
    model: Literal["audioldm2", "stable-audio"] | None = Field(None, description="text-to-audio model (audioldm2)")
    seed: int = Field(0, ge=0, lt=2**31)


class LibraryRequest(_Body):
    name: str = Field(description="a class of the embedded library (GET /api/info)")
    seconds: float = Field(4.0, gt=0, le=30)
    seed: int = Field(0, ge=0, lt=2**31)


class SceneRequest(_Body):
    scene: SceneJSON


class ImportRequest(_Body):
    text: str = Field(description="the scene file, YAML or JSON")
    sounds: dict[str, str] = Field(default_factory=dict, description="file name → upload id, for each file it names")


# -- the application -----------------------------------------------------------------------------------


def default_data_dir() -> Path:
    """``$SOUNDSTAGE_CACHE/serve`` or ``~/.cache/soundstage/serve``."""
    from soundstage.cache import cache_dir

    return cache_dir("serve")


def create_app(
    data_dir: str | Path | None = None,
    *,
    limits: Limits | None = None,
    workers: int = 2,
    allowed_hosts: list[str] | None = None,
) -> FastAPI:
    """The web application.

    Parameters
    ----------
    data_dir : str, Path or None
        Where uploads and job results live (default :func:`default_data_dir`).
    limits : Limits or None
        Upload and job bounds (default :class:`Limits`()).
    workers : int
        Jobs that run at once, each in its own process.
    allowed_hosts : list of str or None
        ``Host`` names to answer (``soundstage serve`` on 127.0.0.1 gives the loopback names, so that a
        page whose DNS name was rebound to this machine is refused); None answers any.
    """
    limits = limits or Limits()
    folder = Path(data_dir) if data_dir is not None else default_data_dir()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        folder.mkdir(parents=True, exist_ok=True)
        app.state.store = UploadStore(folder, limits)
        app.state.jobs = JobManager(folder, app.state.store, limits, workers=workers)
        try:
            yield
        finally:
            app.state.jobs.close()

    app = FastAPI(
        title="Soundstage",
        version=__version__,
        description="Build spatial audio scenes from photos, videos, prompts and sounds; render them in any format.",
        lifespan=lifespan,
    )
    app.state.limits = limits
    app.add_middleware(BodyLimit, max_bytes=limits.max_upload_bytes)
    app.add_middleware(SameOrigin)
    if allowed_hosts is not None:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts)
    _add_error_handlers(app)
    _add_routes(app)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def _add_error_handlers(app: FastAPI) -> None:
    def answer(status: int, message: str) -> JSONResponse:
        return JSONResponse({"detail": " ".join(message.split())}, status_code=status)

    @app.exception_handler(SoundstageError)
    async def library(request: Request, error: SoundstageError) -> JSONResponse:
        # Errors that name their HTTP status carry it (a refused upload, an unknown id, a full queue); the rest
        # are the library's refusals of what was asked.
        return answer(getattr(error, "status", 422), one_line(error))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        first = error.errors()[0] if error.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
        more = len(error.errors()) - 1
        suffix = f" (and {more} more problem{'s' * (more > 1)})" if more > 0 else ""
        return answer(422, f"{where or 'request'}: {first.get('msg', 'invalid')}{suffix}")


def _add_routes(app: FastAPI) -> None:
    def store(request: Request) -> UploadStore:
        return request.app.state.store

    def jobs(request: Request) -> JobManager:
        return request.app.state.jobs

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    @app.get("/api/info", summary="Formats, heads, materials, room presets, library sounds and limits")
    def info(request: Request) -> dict[str, Any]:
        return server_info(request.app.state.limits)

    @app.get("/api/schema/scene", summary="The JSON schema of a scene (what the render endpoints take)")
    def scene_schema() -> dict[str, Any]:
        from soundstage.scene import Scene

        return Scene.model_json_schema()

    @app.post("/api/uploads", status_code=201, summary="Upload a sound, image, video or SOFA head (checked by content)")
    def upload(
        request: Request,
        file: Annotated[UploadFile, File(description="the file")],
        kind: Annotated[Literal["sound", "image", "video", "sofa"] | None, Form(description="what it must be")] = None,
    ) -> dict[str, Any]:
        target = store(request).folder
        handle, temporary = tempfile.mkstemp(prefix=".upload-", dir=target)
        with os.fdopen(handle, "wb") as out:
            while chunk := file.file.read(1 << 20):
                out.write(chunk)
        return store(request).add(Path(temporary), file.filename or "upload", expected=kind, isolated=True)

    @app.get("/api/uploads/{upload_id}", summary="What an upload is")
    def upload_meta(request: Request, upload_id: str) -> dict[str, Any]:
        return store(request).meta(upload_id)

    @app.get("/api/uploads/{upload_id}/content", summary="An upload's bytes")
    def upload_content(request: Request, upload_id: str) -> FileResponse:
        meta = store(request).meta(upload_id)
        return FileResponse(store(request).path(upload_id), media_type=meta["media_type"])

    @app.post("/api/library", status_code=201, summary="Add a sound from the embedded library")
    def library(request: Request, body: LibraryRequest) -> dict[str, Any]:
        from soundstage.web.tasks import library_sound

        return library_sound(body.name, body.seconds, body.seed, store(request))

    @app.post("/api/scenes/validate", summary="Check a scene; returns it normalised, with its length")
    def validate_scene(request: Request, body: SceneRequest) -> dict[str, Any]:
        from soundstage.web.scenes import check_render_cost, resolve_scene, scene_to_json

        scene = resolve_scene(body.scene, store(request))
        limits = request.app.state.limits
        _check_output(scene.output.format, scene.output.sample_rate, limits)
        duration = check_render_cost(scene, store(request), limits)
        return {"scene": scene_to_json(scene, store(request)), "moves": scene.moves, "duration": round(duration, 3)}

    @app.post("/api/scenes/import", summary="Read a scene file whose files were uploaded beside it")
    def import_scene_file(request: Request, body: ImportRequest) -> dict[str, Any]:
        from soundstage.web.scenes import import_scene

        return {"scene": import_scene(body.text, body.sounds, store(request))}

    @app.post(
        "/api/scenes/export",
        summary="The scene as a ZIP: scene.yaml and its sounds, for soundstage render",
        response_class=FileResponse,
        responses={200: {"content": {"application/zip": {}}}},
    )
    def export_scene(request: Request, body: SceneRequest) -> FileResponse:
        from soundstage.web.scenes import check_render_cost, export_scene_zip, resolve_scene

        scene = resolve_scene(body.scene, store(request))
        check_render_cost(scene, store(request), request.app.state.limits)
        handle, temporary = tempfile.mkstemp(prefix=".export-", suffix=".zip", dir=store(request).folder)
        os.close(handle)
        try:
            export_scene_zip(scene, store(request), Path(temporary))
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        # Written to disk (not memory), sent, then removed.
        return FileResponse(
            temporary,
            media_type="application/zip",
            filename="scene.zip",
            background=BackgroundTask(Path(temporary).unlink, missing_ok=True),
        )

    @app.post("/api/jobs/image", status_code=202, summary="Find where the sounds are in a photo → a scene")
    def image_job(request: Request, body: ImageRequest) -> dict[str, Any]:
        _check_uploads(store(request), {"image": (body.image, "image")}, body.sounds)
        _check_output(body.format, body.sample_rate, request.app.state.limits)
        return jobs(request).submit("image", body.model_dump())

    @app.post("/api/jobs/video", status_code=202, summary="Track the sounding objects of a video → a moving scene")
    def video_job(request: Request, body: VideoRequest) -> dict[str, Any]:
        _check_uploads(store(request), {"video": (body.video, "video")}, body.sounds)
        _check_output(body.format, body.sample_rate, request.app.state.limits)
        return jobs(request).submit("video", body.model_dump())

    @app.post("/api/jobs/text", status_code=202, summary="Read a prompt into a scene")
    def text_job(request: Request, body: TextRequest) -> dict[str, Any]:
        for label, upload_id in body.sounds.items():
            store(request).path(upload_id, kind="sound", field=f"sounds.{label}")
        limits = request.app.state.limits
        _check_output(body.format, body.sample_rate, limits)
        if body.duration is not None and body.duration > limits.max_render_seconds:
            raise ParameterError(
                f"duration: {body.duration:g} s is more than this server renders ({limits.max_render_seconds:g} s)"
            )
        return jobs(request).submit("text", body.model_dump())

    @app.post("/api/jobs/render", status_code=202, summary="Render a scene in one format")
    def render_job(request: Request, body: RenderRequest) -> dict[str, Any]:
        from soundstage.web.scenes import check_render_cost, resolve_scene

        limits = request.app.state.limits
        scene = resolve_scene(body.scene, store(request))  # refused now, with the field, not in a worker
        check_render_cost(scene, store(request), limits)
        _check_output(body.format or scene.output.format, body.sample_rate or scene.output.sample_rate, limits)
        if body.video is not None:
            from soundstage.video.mp4 import mp4_layout

            store(request).path(body.video, kind="video", field="video")
            mp4_layout(body.format or scene.output.format)
        return jobs(request).submit("render", body.model_dump())

    @app.post("/api/jobs/sound", status_code=202, summary="Generate a sound from text (text-to-audio model)")
    def sound_job(request: Request, body: SoundRequest) -> dict[str, Any]:
        return jobs(request).submit("sound", body.model_dump())

    @app.get("/api/jobs/{job_id}", summary="A job's state, progress and result (?wait=S to wait for its end)")
    async def job_state(request: Request, job_id: str, wait: float = 0.0) -> dict[str, Any]:
        # Waiting here, rather than answering many quick polls, keeps the server's CPU for the workers.
        deadline = time.monotonic() + min(max(wait, 0.0), MAX_WAIT_S)
        job = jobs(request).get(job_id)
        while job["state"] in ("queued", "running") and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
            job = jobs(request).get(job_id, touch=False)
        return job

    @app.get("/api/jobs/{job_id}/files/{name}", summary="A file of a finished job (?download=1 to save it)")
    def job_file(request: Request, job_id: str, name: str, download: bool = False) -> FileResponse:
        path = jobs(request).file(job_id, name)
        media = MEDIA_TYPES.get(path.suffix[1:], "application/octet-stream")
        return FileResponse(path, media_type=media, filename=path.name if download else None)


def server_info(limits: Limits) -> dict[str, Any]:
    """What the page needs to offer choices: formats, heads, materials, room presets, library, limits."""
    import importlib.util

    from soundstage.acoustics.hrtf import list_hrtfs
    from soundstage.acoustics.room.materials import MATERIALS
    from soundstage.audio_models.text_to_audio import DEFAULT_MODEL
    from soundstage.hub import cached_locally
    from soundstage.library import CLASSES
    from soundstage.offline import is_offline, offline_reason
    from soundstage.text.vocabulary import ROOMS

    installed = all(importlib.util.find_spec(name) is not None for name in ("torch", "diffusers"))
    cached = installed and cached_locally(DEFAULT_MODEL, kind="pipeline")
    offline = is_offline()
    if not installed:
        why = "install the models extra: pip install 'soundstage[models]'"
    elif cached:
        why = f"{DEFAULT_MODEL} is in the local cache"
    elif offline:
        why = f"offline ({offline_reason()}) and {DEFAULT_MODEL} is not in the local cache"
    else:
        why = f"the first use downloads {DEFAULT_MODEL} (several GB)"
    available = installed and (cached or not offline)
    presets: dict[tuple, dict[str, Any]] = {}
    for name, preset in ROOMS.items():  # spelling variants (theatre/theater) are one room
        key = (tuple(preset["size"]), tuple(sorted(preset["materials"].items())))
        presets.setdefault(
            key,
            {
                "name": name,
                "description": f"{preset['size'][0]:g} × {preset['size'][1]:g} × {preset['size'][2]:g} m",
                "room": {"shoebox": {"size": list(preset["size"])}, "materials": dict(preset["materials"])},
            },
        )
    return {
        "version": __version__,
        "formats": FORMATS,
        "hrtfs": [{"name": "sphere", "description": "rigid-sphere head (built in)", "available": True}]
        + [{"name": e.name, "description": e.description, "available": e.is_cached()} for e in list_hrtfs()],
        "materials": [{"name": m.name, "description": m.description} for m in MATERIALS.values()],
        "room_presets": list(presets.values()),
        "library": [{"name": c.name, "description": c.words[0] if c.words else c.name} for c in CLASSES],
        "text_to_audio": {"available": available, "why": why},
        "limits": limits.to_dict(),
    }


def _check_uploads(store: UploadStore, named: dict[str, tuple[str, str]], sounds: list[SoundChoice]) -> None:
    for field, (upload_id, kind) in named.items():
        store.path(upload_id, kind=kind, field=field)
    for index, choice in enumerate(sounds):
        store.path(choice.sound, kind="sound", field=f"sounds[{index}].sound")


def _check_output(format_name: str, sample_rate: int, limits: Limits) -> None:
    from soundstage.acoustics.encoders import parse_format

    parse_format(format_name)
    if sample_rate > limits.max_sample_rate:
        raise ParameterError(
            f"sample_rate: {sample_rate} Hz is more than this server renders ({limits.max_sample_rate} Hz); lower it"
        )
