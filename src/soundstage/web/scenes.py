"""Scenes as the page sends them: the scene model's JSON, with files named ``"upload:<id>"``.

The page never names a path: a source's ``audio`` and a SOFA head are uploads, and every other file
field (a mesh room, a head-tracking CSV) is refused. These functions turn such JSON into a
:class:`~soundstage.scene.Scene` over the store's files and back, bound what one render may cost, and
carry scenes in and out as scene files (import by file name, export as a ZIP that renders anywhere).
"""

from __future__ import annotations

import copy
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from soundstage.errors import ParameterError
from soundstage.scene import Scene, scene_from_dict
from soundstage.scene.files import scene_file_data
from soundstage.web.limits import Limits
from soundstage.web.store import REF_PREFIX, UploadStore

#: Largest scene file ``/api/scenes/import`` reads, in bytes.
MAX_SCENE_TEXT = 1_000_000


def resolve_scene(data: Any, store: UploadStore) -> Scene:
    """A validated scene whose ``upload:<id>`` references point at the store's files.

    Raises
    ------
    ParameterError
        For a file path anywhere in the scene, an unknown upload, one of the wrong kind, or more sources
        or keyframes than the server's limits (counted before the scene is validated, which costs time).
    InputFileError
        For a scene the model refuses (the same one-line message ``soundstage render`` gives).
    """
    if not isinstance(data, dict):
        raise ParameterError("scene: give the scene as a JSON object (see GET /api/schema/scene)")
    _check_size(data, store.limits)
    data = copy.deepcopy(data)
    data.pop("base_dir", None)
    sources = data.get("sources")
    if isinstance(sources, list):
        for index, source in enumerate(sources):
            if isinstance(source, dict) and "audio" in source:
                source["audio"] = str(_upload_path(source["audio"], store, "sound", f"sources[{index}].audio"))
    hrtf = data.get("hrtf")
    name = hrtf.get("name") if isinstance(hrtf, dict) else hrtf
    if isinstance(name, str) and (name.startswith(REF_PREFIX) or _looks_like_path(name)):
        path = str(_upload_path(name, store, "sofa", "hrtf.name"))
        data["hrtf"] = {**hrtf, "name": path} if isinstance(hrtf, dict) else {"name": path}
    room = data.get("room")
    if isinstance(room, dict) and room.get("mesh") is not None:
        raise ParameterError("room.mesh: mesh rooms are not available here; give a shoebox or a ground")
    listener = data.get("listener")
    if isinstance(listener, dict) and isinstance(listener.get("orientation_track"), str):
        raise ParameterError("listener.orientation_track: give the head's turns as keyframes, not a file")
    return scene_from_dict(data, origin="scene")


def _check_size(data: dict[str, Any], limits: Limits) -> None:
    """Refuse too many sources or keyframes before anything is validated."""
    sources = data.get("sources")
    if isinstance(sources, list) and len(sources) > limits.max_sources:
        raise ParameterError(
            f"sources: {len(sources)} sources is more than this server renders at once ({limits.max_sources}); "
            "remove some"
        )
    holders = [*(sources if isinstance(sources, list) else []), data.get("listener")]
    keyframes = 0
    for holder in holders:
        if isinstance(holder, dict):
            for field in ("trajectory", "orientation_track"):
                track = holder.get(field)
                if isinstance(track, dict) and isinstance(track.get("keyframes"), list):
                    keyframes += len(track["keyframes"])
    if keyframes > limits.max_keyframes:
        raise ParameterError(
            f"trajectory: {keyframes} keyframes in all is more than this server takes ({limits.max_keyframes}); "
            "give fewer (a keyframe every 0.1 s is plenty for any motion a listener follows)"
        )


def scene_to_json(scene: Scene, store: UploadStore) -> dict[str, Any]:
    """The scene's JSON with store paths written back as ``upload:<id>`` (arrays are not allowed here)."""
    data = scene_file_data(scene)
    for index, source in enumerate(scene.sources):
        data["sources"][index]["audio"] = _reference(source.audio, store, f"sources[{index}].audio")
    if scene.hrtf.name.lower().endswith(".sofa") or store.id_of_path(scene.hrtf.name):
        data.setdefault("hrtf", {})["name"] = _reference(scene.hrtf.name, store, "hrtf.name")
    _complete_positions(data)
    return data


def _complete_positions(data: dict[str, Any]) -> None:
    """Write every position with all three of its numbers (a dump without defaults drops ``z: 0``).

    >>> scene = {"sources": [{"position": {"y": 6.0}}, {"trajectory": {"keyframes": [{"position": {"dist": 2}}]}}]}
    >>> _complete_positions(scene); scene["sources"][0]["position"], scene["sources"][1]["trajectory"]["keyframes"]
    ({'x': 0.0, 'y': 6.0, 'z': 0.0}, [{'position': {'az': 0.0, 'el': 0.0, 'dist': 2}}])
    """
    holders = [*data.get("sources", []), data.get("listener") or {}]
    positions = [holder["position"] for holder in holders if isinstance(holder.get("position"), dict)]
    for holder in holders:
        for keyframe in (holder.get("trajectory") or {}).get("keyframes", []):
            positions.append(keyframe["position"])
    for position in positions:
        names = ("az", "el", "dist") if {"az", "el", "dist"} & set(position) else ("x", "y", "z")
        complete = {name: position.get(name, 0.0) for name in names}
        position.clear()
        position.update(complete)


def render_duration(scene: Scene, store: UploadStore) -> float:
    """Seconds of sound the scene asks for: the latest end of a source or of a trajectory, plus the
    time sound takes from the farthest point of a source's path to the listener."""
    from soundstage.scene.motion import listener_path, source_path

    listener = listener_path(scene)
    heads = listener.sample_points()
    centre = heads[0]
    head_reach = float(np.max(np.linalg.norm(heads - centre, axis=1)))
    end = 0.0
    for index, source in enumerate(scene.sources):
        upload = store.id_of_path(scene.resolve_audio_path(index))
        length = float(store.meta(upload).get("duration", 0.0)) if upload else 0.0
        last = source.trajectory.keyframes[-1].t if source.trajectory is not None else 0.0
        points = source_path(scene, index, listener).sample_points()
        # An upper bound of the source–listener distance over the scene (the triangle inequality).
        farthest = float(np.max(np.linalg.norm(points - centre, axis=1))) + head_reach
        end = max(end, last, source.start + length + farthest / scene.propagation.speed_of_sound)
    return end


def check_render_cost(scene: Scene, store: UploadStore, limits: Limits) -> float:
    """Refuse a render past the server's limits on its length and reflection order; returns its length.

    (The number of sources is bounded when the scene is resolved, the output by the endpoints.)
    """
    duration = render_duration(scene, store)
    if duration > limits.max_render_seconds:
        raise ParameterError(
            f"sources: the scene lasts {duration:.1f} s, more than this server renders "
            f"({limits.max_render_seconds:g} s); shorten the sounds or start them earlier"
        )
    room = scene.room
    if room is not None and room.max_order is not None and room.max_order > limits.max_reflection_order:
        raise ParameterError(
            f"room.max_order: {room.max_order} is more than this server computes ({limits.max_reflection_order}); "
            "lower it (the diffuse tail carries the rest)"
        )
    return duration


def import_scene(text: str, sounds: dict[str, str], store: UploadStore) -> dict[str, Any]:
    """A scene file's text (YAML or JSON) with its files replaced by uploads matched on file name.

    Parameters
    ----------
    text : str
        The scene file as written for ``soundstage render``.
    sounds : dict
        File name (as the page uploaded it) → upload identifier, for the sounds and the SOFA head.
    store : UploadStore
    """
    import yaml

    if len(text.encode("utf-8")) > MAX_SCENE_TEXT:
        raise ParameterError(f"scene file: larger than {MAX_SCENE_TEXT // 1000} kB; a scene file is a short text")
    try:
        # Anchors and aliases would let a few bytes stand for a huge scene; scene files have no use for them.
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent):
                raise ParameterError("scene file: YAML aliases (*name) are not taken here; write the values out")
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ParameterError(f"scene file: not valid YAML or JSON{where}; fix the syntax") from None
    if not isinstance(data, dict) or not isinstance(data.get("sources"), list):
        raise ParameterError("scene file: give a mapping with a list of sources (see the README, 'Scene files')")
    by_name = {Path(name).name: upload for name, upload in sounds.items()}
    missing = []
    for source in data["sources"]:
        if isinstance(source, dict) and isinstance(source.get("audio"), str):
            file = Path(source["audio"]).name
            if file in by_name:
                source["audio"] = REF_PREFIX + by_name[file]
            else:
                missing.append(file)
    hrtf = data.get("hrtf")
    name = hrtf.get("name") if isinstance(hrtf, dict) else hrtf
    if isinstance(name, str) and name.lower().endswith(".sofa"):
        file = Path(name).name
        if file in by_name:
            data["hrtf"] = {**(hrtf if isinstance(hrtf, dict) else {}), "name": REF_PREFIX + by_name[file]}
        else:
            missing.append(file)
    if missing:
        raise ParameterError(
            f"scene file: upload the files it names along with it: {', '.join(dict.fromkeys(missing))}"
        )
    return scene_to_json(resolve_scene(data, store), store)


def export_scene_zip(scene: Scene, store: UploadStore, target: Path) -> Path:
    """Write a ZIP of ``scene.yaml`` and the files it names (``sounds/``, ``heads/``) for ``soundstage render``.

    The sounds are stored as they are (compressing audio gains little and costs the server time).
    """
    import yaml

    data = scene_file_data(scene)
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED) as archive:
        written: dict[str, str] = {}
        for index, source in enumerate(scene.sources):
            path = scene.resolve_audio_path(index)
            upload = store.id_of_path(path)
            meta = store.meta(upload) if upload else {"name": path.name, "container": "wav"}
            if str(path) not in written:
                stem = _safe_stem(source.name or Path(meta["name"]).stem or "sound")
                written[str(path)] = f"sounds/{index + 1:02d}_{stem}.{_extension(meta)}"
                archive.write(path, written[str(path)])
            data["sources"][index]["audio"] = written[str(path)]
        if scene.hrtf.name.lower().endswith(".sofa") or store.id_of_path(scene.hrtf.name):
            head = f"heads/{_safe_stem(Path(store.meta(store.id_of_path(scene.hrtf.name) or '')['name']).stem)}.sofa"
            archive.write(scene.hrtf.name, head)
            data.setdefault("hrtf", {})["name"] = head
        archive.writestr("scene.yaml", yaml.safe_dump(data, sort_keys=False))
    return target


def _upload_path(value: Any, store: UploadStore, kind: str, field: str) -> Path:
    if isinstance(value, np.ndarray) or not isinstance(value, str) or not value.startswith(REF_PREFIX):
        shown = json.dumps(value)[:60] if isinstance(value, str | int | float | type(None)) else type(value).__name__
        raise ParameterError(
            f'{field}: {shown} is not an upload; give "upload:<id>" of an uploaded {kind} '
            "(the server reads no file paths)"
        )
    return store.path(value[len(REF_PREFIX) :], kind=kind, field=field)


def _reference(path: Any, store: UploadStore, field: str) -> str:
    upload = store.id_of_path(path) if isinstance(path, str | Path) else None
    if upload is None:
        raise ParameterError(f"{field}: not a file of this server's store")
    return REF_PREFIX + upload


def _looks_like_path(name: str) -> bool:
    return name.lower().endswith(".sofa") or "/" in name or "\\" in name


def _safe_stem(text: str) -> str:
    """A file-name-safe version of a label.

    >>> _safe_stem("../a dog!")
    'a-dog'
    """
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.") or "file"


def _extension(meta: dict[str, Any]) -> str:
    return {"wav": "wav", "flac": "flac", "ogg": "ogg"}.get(meta.get("container", "wav"), "wav")
