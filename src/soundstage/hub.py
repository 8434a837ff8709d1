"""Finding, fetching and loading the Hugging Face models every learned feature uses.

A model is named by a hub id (``"depth-anything/Depth-Anything-V2-Small-hf"``) or by a local
folder holding what ``save_pretrained`` wrote. :func:`resolve_model` turns either into a local
folder, for both layouts the hub holds:

- ``kind="model"``: a transformers model, ``config.json`` and its weights at the top of the folder;
- ``kind="pipeline"``: a diffusers pipeline, ``model_index.json`` at the top and one subfolder per
  component (unet, vae, text encoders, tokenizers, scheduler…).

One policy for every model: a hub id is looked up in the local Hugging Face cache first, and a
complete copy there is used without touching the network. Offline mode (``HF_HUB_OFFLINE`` or
``SOUNDSTAGE_OFFLINE`` set to ``1``/``true``/``yes``/``on``, see :mod:`soundstage.offline`) never
touches the network. Online, a model that is not cached is downloaded into the Hugging Face cache:
its small ``config.json`` / ``model_index.json`` first, so that a model of the wrong kind is
refused before gigabytes arrive, then one line on stderr saying what is fetched and how big, then
the files, with huggingface_hub's progress bars. Only what ``from_pretrained`` reads is fetched:
configs, tokenizer files and one copy of the weights (safetensors when the repo has them, else
PyTorch ``.bin``; no fp16/bf16 variants, no ONNX/TF/Flax copies).

The pipeline's ``auto`` choices go through :func:`fetch_for_auto`, the same policy made
forgiving: a cached copy or a folder is used; online, a missing model is fetched as above;
offline, or when the download fails, the auto choice falls back to its offline backend and gets
one line saying so (a failed download says why, and that ``SOUNDSTAGE_OFFLINE=1`` stops trying).

Every failure is one line that names the model, what it was for and what to do instead:
:class:`~soundstage.errors.InputFileError` when the model is missing or unreadable here (a bad
folder, or not cached while offline), :class:`~soundstage.errors.DownloadError` when fetching it
failed (unknown or gated repo, no connection).

torch, transformers and huggingface_hub are imported inside the functions, so importing this
module stays cheap for the CLI.
"""

from __future__ import annotations

import glob
import json
import os
import re
import sys
from collections import OrderedDict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Literal

from soundstage.errors import DownloadError, InputFileError, ParameterError, first_line
from soundstage.offline import is_offline, offline_reason

#: The two folder layouts :func:`resolve_model` knows.
Kind = Literal["model", "pipeline"]

#: The file at the top of a folder of each kind, which says what the model is.
MARKER_FILES = {"model": "config.json", "pipeline": "model_index.json"}

# What from_pretrained reads besides the weights: configs, tokenizer and processor files.
_SUPPORT_SUFFIXES = (".json", ".txt", ".model")
# Fallback patterns when the hub does not list the repo's files (transformers layout).
_ALLOW_PATTERNS = ["*.json", "*.txt", "*.model", "*.safetensors"]
_LEGACY_PATTERNS = ["*.json", "*.txt", "*.model", "pytorch_model*.bin"]

# owner/name with the characters the hub allows (a bare name is a legacy top-level id).
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


def resolve_model(
    name_or_path: str,
    *,
    purpose: str,
    offline_alternative: str,
    kind: Kind = "model",
    check: Callable[[dict[str, Any]], object] | None = None,
    size_hint: str | None = None,
) -> str:
    """A local folder holding the model ``name_or_path``, downloading it when allowed.

    Parameters
    ----------
    name_or_path : str
        A folder written by ``save_pretrained`` or a Hugging Face hub id (``owner/name``).
    purpose : str
        What the model is for, for messages (``"depth estimation"``).
    offline_alternative : str
        What the user can do instead when the model is unavailable, for messages
        (``"use --depth geometric"``).
    kind : {"model", "pipeline"}, default "model"
        A transformers model (``config.json``) or a diffusers pipeline (``model_index.json``).
    check : callable, optional
        Called with the parsed ``config.json`` / ``model_index.json`` before any weights are
        downloaded (and for folders and cached copies too); raises to refuse a model of the
        wrong kind.
    size_hint : str, optional
        The download size quoted when the model is missing offline (``"about 3 GB"``).

    Returns
    -------
    str
        Absolute path of a folder to pass to ``from_pretrained(..., local_files_only=True)``.

    Raises
    ------
    ParameterError
        ``name_or_path`` is not a non-empty string, or ``kind`` is unknown.
    InputFileError
        The folder is not a model folder of ``kind``, the id is malformed, or offline mode is on
        and the model is not in the local cache.
    DownloadError
        Online, but the hub refused the model or it could not be downloaded.

    Examples
    --------
    >>> resolve_model("no such folder/", purpose="depth estimation", offline_alternative="use --depth FILE")
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    soundstage.errors.InputFileError: depth estimation model 'no such folder/' is neither a folder nor a hub id...
    """
    if not isinstance(name_or_path, str) or not name_or_path.strip():
        raise ParameterError(f"{purpose} model must be a hub id or a folder, got {name_or_path!r}")
    _check_kind(kind)
    path = Path(name_or_path).expanduser()
    if path.exists():
        return _local_folder(path, name=name_or_path, purpose=purpose, kind=kind, check=check)
    if not _HUB_ID.match(name_or_path):
        raise InputFileError(
            f"{purpose} model {name_or_path!r} is neither a folder nor a hub id (owner/name); {offline_alternative}"
        )
    folder = cached_snapshot(name_or_path, kind=kind)
    if folder is not None:
        if check is not None:
            check(read_config(folder, kind=kind, name=name_or_path, purpose=purpose))
        return folder
    instead = _instead(name_or_path, offline_alternative)
    if is_offline():
        size = f" ({size_hint})" if size_hint else ""
        raise InputFileError(
            f"{purpose} model {name_or_path!r}{size} is not in the local cache and offline mode is on "
            f"({offline_reason()}); {instead}"
        )
    return _download(name_or_path, purpose=purpose, kind=kind, check=check, instead=instead)


def read_config(folder: str | os.PathLike, *, kind: Kind = "model", name: str | None = None, purpose: str) -> dict:
    """The parsed ``config.json`` (``kind="model"``) or ``model_index.json`` (``"pipeline"``) of ``folder``.

    Raises
    ------
    InputFileError
        The file is missing, unreadable, not JSON or not a JSON object; the message names the
        model (``name``, default the folder) and the purpose.
    """
    _check_kind(kind)
    marker = MARKER_FILES[kind]
    path = Path(folder) / marker
    model = name if name is not None else str(folder)
    what = "a diffusers pipeline" if kind == "pipeline" else "a transformers model"
    if not path.is_file():
        raise InputFileError(
            f"{purpose} model folder {model!r} has no {marker}, so it is not {what}; "
            "give a folder written by save_pretrained"
        )
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise InputFileError(
            f"{purpose} model {model!r}: {path} is not valid JSON ({first_line(error)}); "
            "re-download it or give a folder written by save_pretrained"
        ) from None
    if not isinstance(config, dict):
        raise InputFileError(
            f"{purpose} model {model!r}: {path} is not a JSON object; "
            "re-download it or give a folder written by save_pretrained"
        )
    return config


def cached_snapshot(repo_id: str, *, kind: Kind = "model") -> str | None:
    """The folder of a complete copy of hub id ``repo_id`` in the local Hugging Face cache, or None.

    Never touches the network and never raises: an unreadable cache counts as no copy. A copy is
    complete when it has its marker file and weights (``kind="model"``), or its
    ``model_index.json`` and every component folder it names, each non-empty (``"pipeline"``:
    an interrupted download leaves the index alone).
    """
    try:
        from huggingface_hub import snapshot_download

        folder = snapshot_download(repo_id, local_files_only=True)
    except Exception:  # not cached, no huggingface_hub, or a cache that cannot be read: the same here
        return None
    return str(folder) if _complete(Path(folder), kind) else None


def cached_locally(name_or_path: str, *, kind: Kind = "model") -> bool:
    """True when ``name_or_path`` is a complete model folder, or a hub id with a complete copy in the local
    Hugging Face cache. Looks at the file system only: imports nothing heavy and never touches the network,
    so the pipeline's ``auto`` choices can ask it before deciding to load torch.

    Examples
    --------
    >>> cached_locally("no such folder/")
    False
    """
    path = Path(name_or_path).expanduser()
    if path.exists():
        return path.is_dir() and _complete(path, kind)
    if not _HUB_ID.match(name_or_path) or "/" not in name_or_path:
        return False
    cache = os.environ.get("HF_HUB_CACHE") or os.path.join(
        os.environ.get("HF_HOME") or os.path.join(os.path.expanduser("~"), ".cache", "huggingface"), "hub"
    )
    snapshots = Path(cache) / ("models--" + name_or_path.replace("/", "--")) / "snapshots"
    return any(_complete(folder, kind) for folder in snapshots.glob("*"))


def weights_available(name_or_path: str, *, kind: Kind = "model") -> bool:
    """True when ``name_or_path`` can be loaded now: a model folder, a cached hub id, or (online) a hub id
    the hub answers for. Never downloads weights and never raises.

    Examples
    --------
    >>> weights_available("no such folder/")
    False
    """
    try:
        path = Path(name_or_path).expanduser()
        if path.exists():
            return path.is_dir() and _complete(path, kind)
        if not _HUB_ID.match(name_or_path):
            return False
        if cached_snapshot(name_or_path, kind=kind) is not None:
            return True
        if is_offline():
            return False
        from huggingface_hub import file_exists

        return bool(file_exists(name_or_path, MARKER_FILES[kind]))
    except Exception:  # a network failure or a malformed name both mean "not available"
        return False


def fetch_for_auto(name: str, *, purpose: str, fallback: str, kind: Kind = "model") -> tuple[str | None, str]:
    """The local folder of model ``name`` for an ``auto`` choice, fetching it when online, and one line saying so.

    Cached (or a complete folder): used. Not cached and offline mode off: downloaded through
    :func:`resolve_model`, which announces it on stderr (files, size) and shows progress bars.
    Not cached and offline mode on (nothing is asked of the network), a failed download (no
    network, hub refusal) or a model that cannot be used: ``None`` and a line naming ``fallback``
    and why — not an exception, as an ``auto`` choice always has somewhere to fall.

    Parameters
    ----------
    name : str
        Hub id (``owner/name``) or model folder.
    purpose : str
        What the model is for, as the backend that loads it says it (``"depth estimation"``).
    fallback : str
        What the auto choice uses without the model, for the note (``"the offline geometric prior"``).
    kind : {"model", "pipeline"}, default "model"
        As in :func:`resolve_model`.

    Returns
    -------
    folder : str or None
        Folder to load from, or None to fall back.
    note : str
        One line for ``--explain``: where the model came from, or why ``fallback`` is used.

    Raises
    ------
    ParameterError
        ``name`` is not a non-empty string, or ``kind`` is unknown.

    Examples
    --------
    >>> folder, note = fetch_for_auto("no such folder/", purpose="depth estimation", fallback="the geometric prior")
    >>> folder is None, note.endswith("is neither a folder nor a hub id (owner/name): using the geometric prior")
    (True, True)
    """
    if not isinstance(name, str) or not name.strip():
        raise ParameterError(f"{purpose} model must be a hub id or a folder, got {name!r}")
    _check_kind(kind)
    using = f"using {fallback}"
    path = Path(name).expanduser()
    if path.exists():
        if not (path.is_dir() and _complete(path, kind)):
            return (
                None,
                f"{purpose} model folder {name!r} holds no complete model ({MARKER_FILES[kind]} and weights): {using}",
            )
        return str(path.resolve()), f"{purpose} model {name!r} from its folder"
    if not _HUB_ID.match(name):
        return None, f"{purpose} model {name!r} is neither a folder nor a hub id (owner/name): {using}"
    cached = cached_locally(name, kind=kind)
    if not cached and is_offline():
        return (
            None,
            f"{purpose} model {name!r} is not in the local cache and offline mode is on ({offline_reason()}): {using}",
        )
    alternative = f"use {fallback}"
    try:
        folder = resolve_model(name, purpose=purpose, offline_alternative=alternative, kind=kind)
    except DownloadError as error:
        if error.__cause__ is not None:  # the network or HTTP error itself: "[Errno -2] Name or service not known"
            why = first_line(error.__cause__)
        else:  # the hub refused: our own message, without the model's name and the advice this note replaces
            why = first_line(error).split(_instead(name, alternative))[0].rstrip(" ,;").removesuffix(" or")
            why = "it " + why.removeprefix(f"{purpose} model {name!r} ").rstrip(" ,;")
        stop = "set SOUNDSTAGE_OFFLINE=1 to stop trying"
        return None, f"{purpose} model {name!r} could not be downloaded ({why}): {using}; {stop}"
    except InputFileError as error:
        return None, f"{purpose} model {name!r} cannot be used ({first_line(error)}): {using}"
    where = (
        "from the local Hugging Face cache" if cached else f"downloaded from the Hugging Face hub into {_cache_dir()}"
    )
    return folder, f"{purpose} model {name!r} {where}"


def choose_device(device: str | None = None) -> str:
    """The torch device to run on: ``"cuda"`` when available and not told otherwise, else ``"cpu"``.

    Parameters
    ----------
    device : str or None
        ``None`` or ``"auto"`` (pick), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.

    Examples
    --------
    >>> choose_device("cpu")
    'cpu'
    """
    if device is not None and not isinstance(device, str):
        raise ParameterError(f"device must be 'auto', 'cpu' or 'cuda', got {device!r}")
    choice = "auto" if device is None else device.strip().lower()
    if choice == "cpu":
        return "cpu"
    if choice not in {"auto", "cuda"} and not re.fullmatch(r"cuda:\d+", choice):
        raise ParameterError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {device!r}")
    import torch

    if choice == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if not torch.cuda.is_available():
        raise ParameterError(f"device {device!r} asked for, but torch sees no CUDA GPU; use device 'cpu' or 'auto'")
    return choice


#: Models loaded in this process, the most recent last: a batch or server worker that runs many jobs loads
#: each model once, not once per job. Keyed by loader, folder, options and the folder's files' times, so a
#: folder written again is loaded again.
_LOADED: OrderedDict[tuple, Any] = OrderedDict()
_LOADED_KEEP = 6


def load_pretrained(loader: Any, folder: str, *, purpose: str, **options: Any) -> Any:
    """``loader.from_pretrained(folder, local_files_only=True, **options)`` with one-line errors.

    ``loader`` is any class with ``from_pretrained`` (a transformers model or processor, a
    diffusers pipeline). A folder that does not hold what ``loader`` needs (wrong model kind,
    missing or corrupt files) raises :class:`~soundstage.errors.InputFileError` naming the
    folder and the purpose. The same loader on the same unchanged folder returns the object
    already loaded in this process.
    """
    key = _loaded_key(loader, folder, options)
    if key is not None and key in _LOADED:
        _LOADED.move_to_end(key)
        return _LOADED[key]
    try:
        loaded = loader.from_pretrained(folder, local_files_only=True, **options)
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as error:
        raise InputFileError(
            f"{purpose} model folder {folder!r} could not be loaded by {getattr(loader, '__name__', loader)} "
            f"({first_line(error)}); check that it is a complete download written by save_pretrained "
            "for this kind of model"
        ) from error
    if key is not None:
        _LOADED[key] = loaded
        while len(_LOADED) > _LOADED_KEEP:
            _LOADED.popitem(last=False)
    return loaded


def _loaded_key(loader: Any, folder: str, options: dict[str, Any]) -> tuple | None:
    """What identifies a load: the loader, the folder and the times of its files; None when not cacheable."""
    try:
        frozen = tuple(sorted((name, value) for name, value in options.items()))
        hash(frozen)
        root = Path(folder).resolve()
        stamps = tuple(
            sorted((str(path.relative_to(root)), path.stat().st_mtime_ns) for path in root.rglob("*") if path.is_file())
        )
    except (TypeError, OSError):
        return None
    return (getattr(loader, "__module__", ""), getattr(loader, "__qualname__", repr(loader)), str(root), frozen, stamps)


def format_size(n_bytes: int | None) -> str:
    """A byte count as people read download sizes (decimal units, as the hub shows them).

    Examples
    --------
    >>> format_size(3_400_000_000), format_size(12_345), format_size(None)
    ('3.4 GB', '12.3 kB', 'size unknown')
    """
    if n_bytes is None:
        return "size unknown"
    if n_bytes < 1000:
        return f"{n_bytes} B"
    size = n_bytes / 1000.0
    for unit in ("kB", "MB"):
        if size < 1000.0:
            return f"{size:.1f} {unit}"
        size /= 1000.0
    return f"{size:.1f} GB"


# ---------------------------------------------------------------- downloading


def _download(
    repo_id: str, *, purpose: str, kind: Kind, check: Callable[[dict[str, Any]], object] | None, instead: str
) -> str:
    """Fetch what ``from_pretrained`` needs of ``repo_id`` into the Hugging Face cache; announce it first."""
    import huggingface_hub
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError

    marker = MARKER_FILES[kind]
    try:
        info = huggingface_hub.model_info(repo_id, files_metadata=True)
        siblings = getattr(info, "siblings", None)
        listed = None if siblings is None else {s.rfilename: getattr(s, "size", None) for s in siblings}
        if listed is not None and marker not in listed:
            raise DownloadError(
                f"{purpose} model {repo_id!r} has no {marker} on the Hugging Face hub, so it is not "
                f"{'a diffusers pipeline' if kind == 'pipeline' else 'a transformers model'}; {instead}"
            )
        # The small config first: a model of the wrong kind is refused before its weights are fetched.
        config_folder = Path(huggingface_hub.hf_hub_download(repo_id, marker)).parent
        config = read_config(config_folder, kind=kind, name=repo_id, purpose=purpose)
        if check is not None:
            check(config)
        components = _components(config) if kind == "pipeline" else [""]
        if listed is None:
            count, n_bytes = "", None
            patterns = _ALLOW_PATTERNS if kind == "model" else [marker, *(f"{c}/*" for c in components)]
        else:
            patterns = _select(listed, components, kind)
            n_files, n_bytes = _still_to_fetch(repo_id, patterns, listed, getattr(info, "sha", None))
            count = f"{n_files} file{'s' if n_files != 1 else ''}, "
        print(
            f"soundstage: downloading {purpose} model {repo_id!r} from the Hugging Face hub "
            f"({count}{format_size(n_bytes)}) into {_cache_dir()}",
            file=sys.stderr,
            flush=True,
        )
        if listed is not None:
            patterns = [glob.escape(name) for name in patterns]  # exact names, whatever characters they hold
        folder = Path(huggingface_hub.snapshot_download(repo_id, allow_patterns=patterns))
        if listed is None and kind == "model" and not _has_weights(folder):
            # Older repos only carry PyTorch .bin weights.
            folder = Path(huggingface_hub.snapshot_download(repo_id, allow_patterns=_LEGACY_PATTERNS))
    except GatedRepoError:
        raise DownloadError(
            f"{purpose} model {repo_id!r} is gated on the Hugging Face hub: accept its licence on huggingface.co "
            f"and log in (hf auth login), or {instead}"
        ) from None
    except RepositoryNotFoundError as error:
        raise DownloadError(
            f"{purpose} model {repo_id!r} is not available on the Hugging Face hub ({first_line(error)}); "
            f"check the id, or {instead}"
        ) from None
    except (DownloadError, InputFileError, ParameterError):
        raise
    except Exception as error:  # HTTP and network errors come in many classes
        raise DownloadError(
            f"{purpose} model {repo_id!r} could not be downloaded ({first_line(error)}) and is not in the "
            f"local cache; {instead}"
        ) from error
    if not _complete(folder, kind):
        raise DownloadError(
            f"{purpose} model {repo_id!r} has no PyTorch weights (safetensors or .bin) on the Hugging Face hub; "
            f"{instead}"
        )
    return str(folder)


def _components(index: dict[str, Any]) -> list[str]:
    """The component folders a ``model_index.json`` names (entries ``[library, class]``, not ``[null, null]``)."""
    return [
        name
        for name, value in index.items()
        if not name.startswith("_") and isinstance(value, list) and any(part is not None for part in value)
    ]


def _select(listed: Iterable[str], components: list[str], kind: Kind) -> list[str]:
    """The repo files ``from_pretrained`` reads: the marker, and in each folder its configs and one weight copy.

    ``components`` are the folders to take (``""`` is the top of the repo). Within a folder the
    weights are the safetensors files if there are any, else the PyTorch ``.bin`` ones; variants
    (``model.fp16.safetensors``) are left out, as ``from_pretrained`` without ``variant`` reads none.
    """
    names = sorted(listed)
    chosen = [MARKER_FILES[kind]]
    for component in components:
        prefix = f"{component}/" if component else ""
        here = [n for n in names if n.startswith(prefix) and "/" not in n[len(prefix) :]]
        chosen += [n for n in here if n.endswith(_SUPPORT_SUFFIXES) and n not in chosen]
        weights = [n for n in here if n.endswith(".safetensors") and not _is_variant(n)]
        if not weights:
            weights = [n for n in here if _is_torch_bin(n) and not _is_variant(n)]
        chosen += weights
    return chosen


def _still_to_fetch(
    repo_id: str, files: list[str], sizes: dict[str, int | None], revision: str | None
) -> tuple[int, int | None]:
    """How many of ``files`` are not in the cache yet, and their summed size (None when the hub did not say)."""
    from huggingface_hub import try_to_load_from_cache

    count, total = 0, 0
    for name in files:
        try:
            if revision and isinstance(try_to_load_from_cache(repo_id, name, revision=revision), str):
                continue
        except Exception:  # an unreadable cache entry is fetched again
            pass
        count += 1
        size = sizes.get(name)
        total = None if total is None or size is None else total + int(size)
    return count, total


# ---------------------------------------------------------------- folders


def _local_folder(
    path: Path, *, name: str, purpose: str, kind: Kind, check: Callable[[dict[str, Any]], object] | None
) -> str:
    if not path.is_dir():
        raise InputFileError(
            f"{purpose} model {name!r} is a file, not a model folder; give the folder save_pretrained wrote"
        )
    config = read_config(path, kind=kind, name=name, purpose=purpose)
    if check is not None:
        check(config)
    return str(path.resolve())


def _complete(folder: Path, kind: Kind) -> bool:
    """Whether ``folder`` holds a loadable model of ``kind`` (file system only, never raises)."""
    try:
        if kind == "model":
            return (folder / "config.json").is_file() and _has_weights(folder)
        index = json.loads((folder / "model_index.json").read_text(encoding="utf-8"))
        return isinstance(index, dict) and all(
            (folder / name).is_dir() and any((folder / name).iterdir()) for name in _components(index)
        )
    except (OSError, ValueError):
        return False


def _has_weights(folder: Path) -> bool:
    return any(folder.glob("*.safetensors")) or any(folder.glob("pytorch_model*.bin"))


def _is_variant(name: str) -> bool:
    """``model.fp16.safetensors`` is a variant of ``model.safetensors``; sharded names have no inner dot."""
    stem = name.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    return "." in stem


def _is_torch_bin(name: str) -> bool:
    return name.endswith(".bin") and "pytorch_model" in name.rsplit("/", 1)[-1]


def _instead(repo_id: str, offline_alternative: str) -> str:
    return (
        f"download it on a connected machine (hf download {repo_id}) and point HF_HOME at that cache, "
        f"or {offline_alternative}"
    )


def _cache_dir() -> str:
    from huggingface_hub import constants

    return str(constants.HF_HUB_CACHE)


def _check_kind(kind: str) -> None:
    if kind not in MARKER_FILES:
        raise ParameterError(f"kind must be one of {', '.join(map(repr, MARKER_FILES))}, got {kind!r}")
