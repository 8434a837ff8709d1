"""Saving and loading learned models: a folder with ``config.json`` and ``model.safetensors``.

Every model is an ``nn.Module`` with a config dataclass (Hugging Face's convention): the config
says everything needed to rebuild the network, the safetensors file holds its weights, and
``config.json`` also records the architecture's name and the checkpoint format version so that a
checkpoint of another model or of a newer Soundstage is refused with one line, not a shape error
from deep inside torch. A model is named by a local folder or a Hugging Face hub id
(:func:`soundstage.hub.resolve_model` fetches and caches it).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import tempfile
import types
import typing
from pathlib import Path
from typing import Any, ClassVar

from soundstage.errors import InputFileError, OutputError
from soundstage.io.atomic import current_umask

#: Version of the folder layout and ``config.json`` keys; bumped when an older reader could misread.
FORMAT_VERSION = 1
CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"

#: Architectures by the name stored in ``config.json`` (filled by :func:`register_architecture`).
ARCHITECTURES: dict[str, type] = {}


def register_architecture(cls: type) -> type:
    """Class decorator: make ``cls`` loadable by :func:`load_model` under ``cls.architecture``."""
    ARCHITECTURES[cls.architecture] = cls
    return cls


def config_to_dict(config: Any) -> dict[str, Any]:
    """A config dataclass (nested ones included) as plain JSON values."""
    return json.loads(json.dumps(dataclasses.asdict(config)))


def config_from_dict(config_class: type, values: dict[str, Any], *, where: str) -> Any:
    """Rebuild ``config_class`` from :func:`config_to_dict`'s output; unknown keys are errors."""
    if not isinstance(values, dict):
        raise InputFileError(f"{where}: 'config' must be a mapping, got {type(values).__name__}")
    hints = typing.get_type_hints(config_class)
    known = {field.name for field in dataclasses.fields(config_class)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise InputFileError(
            f"{where}: unknown config field(s) {', '.join(unknown)} (written by another version of soundstage?)"
        )
    kwargs: dict[str, Any] = {}
    for name, value in values.items():
        kind = hints[name]
        if dataclasses.is_dataclass(kind):
            kwargs[name] = config_from_dict(kind, value, where=f"{where}: {name}")
        elif typing.get_origin(kind) is tuple or (isinstance(kind, types.GenericAlias) and kind.__origin__ is tuple):
            kwargs[name] = tuple(value)
        else:
            kwargs[name] = value
    try:
        return config_class(**kwargs)
    except (TypeError, ValueError) as error:
        raise InputFileError(f"{where}: {error}") from None


class PretrainedMixin:
    """``save_pretrained`` / ``from_pretrained`` for an ``nn.Module`` built from ``self.config``.

    Subclasses set ``architecture`` (the name in ``config.json``) and ``config_class`` and take the
    config as their only constructor argument.
    """

    architecture: ClassVar[str]
    config_class: ClassVar[type]
    config: Any

    def save_pretrained(self, folder: str | Path, *, overwrite: bool = False, metadata: dict | None = None) -> Path:
        """Write ``config.json`` and ``model.safetensors`` into ``folder``, atomically.

        Parameters
        ----------
        folder : str or Path
            The model folder to create.
        overwrite : bool, default False
            Replace an existing folder.
        metadata : dict or None
            Extra JSON facts stored under ``"training"`` (data recipe, steps, metrics).

        Returns
        -------
        Path
            The folder.
        """
        from safetensors.torch import save_file

        folder = Path(folder)
        if folder.exists() and not overwrite:
            raise OutputError(f"{folder} exists; pass overwrite=True (--overwrite) to replace it")
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.", suffix=".tmp"))
        try:
            document = {
                "architecture": self.architecture,
                "format_version": FORMAT_VERSION,
                "config": config_to_dict(self.config),
                "training": metadata or {},
            }
            (staging / CONFIG_NAME).write_text(json.dumps(document, indent=2) + "\n")
            # Shared or non-contiguous tensors cannot be saved by safetensors as they are.
            state = {key: value.detach().contiguous().clone() for key, value in self.state_dict().items()}
            save_file(state, str(staging / WEIGHTS_NAME), metadata={"architecture": self.architecture})
            # mkdtemp makes the folder private; give it and its files the modes ordinary new ones get.
            mask = current_umask()
            os.chmod(staging, 0o777 & ~mask)
            for path in staging.iterdir():
                os.chmod(path, 0o666 & ~mask)
            old = None
            if folder.exists():  # moved aside, not deleted, until the new one is in place
                old = folder.with_name(f".{folder.name}.old-{os.getpid()}")
                os.replace(folder, old)
            os.replace(staging, folder)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return folder

    @classmethod
    def from_pretrained(cls, name_or_path: str | Path, *, device: str = "cpu") -> Any:
        """Load a model saved by :meth:`save_pretrained` from a folder or a hub id.

        Raises
        ------
        InputFileError
            For a missing, corrupt or foreign checkpoint (another architecture, a newer format).
        """
        folder = resolve_model_folder(name_or_path)
        document = read_config(folder)
        if document["architecture"] != cls.architecture:
            raise InputFileError(
                f"{folder}: a {document['architecture']!r} checkpoint, not {cls.architecture!r}; "
                f"load it with soundstage.learn.pretrained.load_model or give a {cls.architecture} checkpoint"
            )
        return _build(cls, folder, document, device)


def resolve_model_folder(name_or_path: str | Path) -> Path:
    """A local model folder for a path or a hub id (downloaded and cached when allowed)."""
    path = Path(name_or_path).expanduser()
    if path.exists() or isinstance(name_or_path, Path) or str(name_or_path).startswith((".", "/", "~")):
        if not path.is_dir():
            raise InputFileError(f"{path}: no such model folder; give the folder save_pretrained wrote")
        return path
    from soundstage.hub import resolve_model

    return Path(
        resolve_model(
            str(name_or_path),
            purpose="binauralizer",
            offline_alternative="give a local model folder, or leave the model out to use the shipped one",
        )
    )


def read_config(folder: Path) -> dict[str, Any]:
    """``config.json`` of a model folder, checked for the keys and version this reader knows."""
    path = folder / CONFIG_NAME
    if not path.is_file():
        raise InputFileError(f"{folder}: no {CONFIG_NAME}; give a folder written by save_pretrained")
    try:
        document = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InputFileError(f"{path}: not valid JSON ({error}); the checkpoint is damaged, save it again") from None
    if not isinstance(document, dict) or not {"architecture", "format_version", "config"} <= document.keys():
        raise InputFileError(f"{path}: not a soundstage model config (needs architecture, format_version, config)")
    version = document["format_version"]
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise InputFileError(
            f"{path}: checkpoint format {version!r} is newer than this soundstage reads ({FORMAT_VERSION}); "
            "upgrade soundstage"
        )
    if document["architecture"] not in ARCHITECTURES:
        _import_architectures()
    if document["architecture"] not in ARCHITECTURES:
        raise InputFileError(
            f"{path}: unknown architecture {document['architecture']!r}; known: {', '.join(sorted(ARCHITECTURES))}"
        )
    return document


def load_model(name_or_path: str | Path, *, device: str = "cpu") -> Any:
    """Load any registered architecture from a folder or hub id, in eval mode."""
    folder = resolve_model_folder(name_or_path)
    document = read_config(folder)
    return _build(ARCHITECTURES[document["architecture"]], folder, document, device)


def _build(cls: type, folder: Path, document: dict[str, Any], device: str) -> Any:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    config = config_from_dict(cls.config_class, document["config"], where=str(folder / CONFIG_NAME))
    weights = folder / WEIGHTS_NAME
    if not weights.is_file():
        raise InputFileError(f"{folder}: no {WEIGHTS_NAME}; the checkpoint is incomplete, save it again")
    try:
        state = load_file(str(weights), device=device)
    except (SafetensorError, OSError, ValueError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise InputFileError(f"{weights}: not a readable safetensors file ({first}); save the model again") from None
    try:
        model = cls(config)
    except (ValueError, TypeError) as error:
        raise InputFileError(f"{folder / CONFIG_NAME}: the config does not build a network ({error})") from None
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    extra = sorted(set(state) - set(own))
    wrong = sorted(key for key in set(own) & set(state) if own[key].shape != state[key].shape)
    if missing or extra or wrong:
        detail = "; ".join(
            f"{label} {', '.join(keys[:3])}{' …' if len(keys) > 3 else ''}"
            for label, keys in (("missing", missing), ("unexpected", extra), ("wrong shape", wrong))
            if keys
        )
        raise InputFileError(f"{weights}: weights do not fit the config's {cls.architecture} network ({detail})")
    model.load_state_dict(state)
    model.training_metadata = document.get("training", {})
    return model.to(device).eval()


def _import_architectures() -> None:
    """Import the model modules so their classes register themselves."""
    from soundstage.learn.models import depth_attention, mono2binaural  # noqa: F401
