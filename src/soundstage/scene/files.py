"""Reading and writing scene files (YAML or JSON) with errors that point at the field."""

from __future__ import annotations

import difflib
import json
import os
import re
import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from soundstage.errors import InputFileError, ParameterError
from soundstage.scene.model import Scene


def load_scene(path: str | Path) -> Scene:
    """Read and validate a scene file.

    Parameters
    ----------
    path : str or Path
        A ``.yaml``/``.yml`` or ``.json`` file. Relative audio paths inside it are
        resolved against its folder.

    Returns
    -------
    Scene

    Raises
    ------
    InputFileError
        When the file is missing, is not valid YAML/JSON, or a field is wrong; the
        message names the file, the field and what is expected.
    """
    from soundstage.io.inputs import check_input_file, record_input, record_inputs

    if not isinstance(path, str | os.PathLike):
        raise ParameterError(f"path: give the path of a scene file, got {type(path).__name__}")
    path = Path(path)
    record_input(path)
    check_input_file(path, where=f"{path}", kind="scene file")
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as error:
        raise InputFileError(f"{path}: cannot be read ({error.strerror or error}); check its permissions") from None
    try:
        data = _parse(text, path)
        if not isinstance(data, dict):
            raise InputFileError(
                f"{path}: a scene file must be a mapping with 'sources' (and optional "
                "'listener', 'output', 'hrtf'); see the README"
            )
        scene = scene_from_dict(data, base_dir=path.resolve().parent, origin=str(path))
    except RecursionError:  # a YAML bomb of nested brackets
        raise InputFileError(f"{path}: nested too deeply to be a scene; check its brackets and indentation") from None
    # Recorded now, before any work: an output may not replace a file the scene plays or needs.
    record_inputs(scene.input_files())
    return scene


def scene_from_dict(data: dict[str, Any], *, base_dir: Path | None = None, origin: str = "scene") -> Scene:
    """Validate a scene given as a dictionary (the parsed contents of a scene file).

    Parameters
    ----------
    data : dict
        The scene's fields.
    base_dir : Path or None
        Folder that relative audio paths are resolved against.
    origin : str
        Name used in error messages (the file name).
    """
    try:
        return Scene.model_validate({**data, "base_dir": base_dir})
    except ValidationError as error:
        raise InputFileError(f"{origin}: {describe_validation_error(error)}") from None


def scene_file_data(scene: Scene) -> dict:
    """What a scene file holds for ``scene``: the fields that differ from their defaults, as JSON values."""
    data = scene.model_dump(mode="json", exclude_defaults=True, exclude={"base_dir"})
    if scene.listener.trajectory is not None:
        data["listener"].pop("position", None)  # where the trajectory starts, not a field of its own
    return data


def save_scene(scene: Scene, path: str | Path, *, overwrite: bool = False) -> Path:
    """Write a scene whose sources are audio files as YAML (or JSON for a ``.json`` path).

    The file is written atomically: a failure leaves no half-written scene behind.

    Parameters
    ----------
    scene : Scene
        Every source's ``audio`` must be a file path (arrays cannot be stored in a scene file).
    path : str or Path
        The scene file to write.
    overwrite : bool, default False
        Replace an existing file.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    ParameterError
        If a source's audio is an array rather than a file.
    OutputError
        If the file exists (without ``overwrite``) or cannot be written.
    """
    from soundstage.io.atomic import atomic_write

    if not isinstance(scene, Scene):
        raise ParameterError(f"scene: give a Scene to save, got {type(scene).__name__}")
    path = Path(path)
    for index, source in enumerate(scene.sources):
        if not isinstance(source.audio, (str, Path)):
            raise ParameterError(
                f"sources[{index}].audio: is an array, which a scene file cannot hold; "
                "write it to a WAV file and give its path"
            )
    data = scene_file_data(scene)
    for source in data.get("sources", []):
        source["audio"] = str(source["audio"])
    text = json.dumps(data, indent=2) if path.suffix == ".json" else yaml.safe_dump(data, sort_keys=False)
    with atomic_write(path, overwrite=overwrite) as temporary:
        temporary.write_text(text, encoding="utf-8")
    return path


def describe_validation_error(error: ValidationError) -> str:
    """One line for the first problem pydantic found: ``field.path: what is wrong``.

    An unknown field comes first: a misspelt ``sorces:`` also leaves ``sources`` missing, and
    the misspelling is what to fix. Unknown fields get the closest known names as a suggestion.
    """
    # An unknown field first (a misspelling explains a missing field), then a number that is not finite
    # (among a union's branches pydantic lists "should be a valid string" first, which misleads).
    rank = {"extra_forbidden": 0, "finite_number": 1}
    errors = sorted(error.errors(), key=lambda e: rank.get(e["type"], 2))
    first = errors[0]
    location = _format_location(first["loc"])
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        known = _fields_at(first["loc"])
        close = difflib.get_close_matches(str(first["loc"][-1]), sorted(known), n=2, cutoff=0.6)
        if close:
            message = f"unknown field; did you mean {' or '.join(repr(name) for name in close)}?"
        elif known:
            message = f"unknown field; the fields here are {', '.join(sorted(known))}"
        else:
            message = "unknown field; check its spelling (see the README for the fields)"
    elif first["type"] == "missing":
        message = "required field is missing"
    elif first["type"] == "finite_number":
        message = f"must be a finite number (got {first.get('input')!r})"
    more = len(errors) - 1
    suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    if message.startswith(f"{location}.") or message.startswith(f"{location}:"):
        return f"{message}{suffix}"  # a validator named a field inside this one (room.materials.walls...)
    return f"{location}: {message}{suffix}"


def _fields_at(loc: tuple[Any, ...]) -> set[str]:
    """The field names allowed where ``loc`` (a pydantic error location) points, for suggestions."""
    from soundstage.scene import model

    tags = {"cartesian": model.CartesianPosition, "spherical": model.SphericalPosition}
    current: type[BaseModel] = model.Scene
    for item in loc[:-1]:
        if isinstance(item, int):
            continue
        if item in tags:
            current = tags[item]
            continue
        field = current.model_fields.get(str(item))
        nested = _model_in(field.annotation) if field is not None else None
        if nested is None:
            return set()
        current = nested
    return set(current.model_fields) - {"base_dir"}


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The first pydantic model inside a type annotation (``list[Source]``, ``Room | None``...)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in typing.get_args(annotation):
        found = _model_in(argument)
        if found is not None:
            return found
    return None


#: How pydantic names the member of a union it tried (``str``, ``list[float]``, ``dict[str,union[...]]``).
_TYPE_TAG = re.compile(r"(str|int|float|bool|none|(list|dict|tuple|union|set)\[.*\]|function-\w+\[.*\])")


def _format_location(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts[-1 if parts else 0 :] = [f"{parts[-1] if parts else ''}[{item}]"]
        elif item in ("cartesian", "spherical") or _TYPE_TAG.fullmatch(str(item)):
            continue  # a position form's tag or a union member's type, not a field the user wrote
        else:
            parts.append(str(item))
    return ".".join(parts) or "scene"


def _parse(text: str, path: Path) -> Any:
    if path.suffix.lower() == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise InputFileError(f"{path}: not valid JSON at line {error.lineno}: {error.msg}") from None
    try:
        # The pure-Python loader, not libyaml's (6x faster on a scene of 2000 sources): libyaml recurses in C
        # without a limit, so a 50 kB file of nested brackets kills the process instead of raising RecursionError.
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(error, "problem", None) or "syntax error"
        raise InputFileError(f"{path}: not valid YAML{where}: {problem}") from None
