"""Finding and loading the Hugging Face models the vision backends use, online or offline.

A model is named by a hub id (``"depth-anything/Depth-Anything-V2-Small-hf"``) or by a local
folder holding what ``save_pretrained`` wrote. :func:`resolve_model` turns either into a local
folder: a hub id is looked up in the local Hugging Face cache and downloaded when the machine
is online. Offline mode (``HF_HUB_OFFLINE`` or ``SOUNDSTAGE_OFFLINE`` set to ``1``/``true``/
``yes``/``on``) never touches the network; online, a failed download falls back to the cache.
Every failure becomes one line that names the model, what it was for and what to do instead
(:class:`~soundstage.errors.InputFileError` when the model is missing or unreadable here,
:class:`~soundstage.errors.DownloadError` when fetching it failed).

torch, transformers and huggingface_hub are imported inside the functions, so importing this
module stays cheap for the CLI.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from soundstage.errors import DownloadError, InputFileError, ParameterError
from soundstage.offline import OFFLINE_VARIABLES, is_offline

# Only what from_pretrained needs: configs, tokenizer/processor files, safetensors weights.
# Hub repos often also carry .bin/.h5/.onnx copies of the same weights that we never read.
_ALLOW_PATTERNS = ["*.json", "*.txt", "*.model", "*.safetensors"]
_LEGACY_WEIGHTS = ["*.json", "*.txt", "*.model", "pytorch_model*.bin"]

# owner/name with the characters the hub allows (a bare name is a legacy top-level id).
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def _has_weights(folder: Path) -> bool:
    return any(folder.glob("*.safetensors")) or any(folder.glob("pytorch_model*.bin"))


def _local_folder(path: Path, *, purpose: str) -> str:
    if not path.is_dir():
        raise InputFileError(
            f"{purpose} model {str(path)!r} is a file, not a model folder; give the folder save_pretrained wrote"
        )
    if not (path / "config.json").is_file():
        raise InputFileError(
            f"{purpose} model folder {str(path)!r} has no config.json; give a folder written by save_pretrained"
        )
    return str(path.resolve())


def resolve_model(name_or_path: str, *, purpose: str, offline_alternative: str) -> str:
    """A local folder holding the model ``name_or_path``, downloading it when allowed.

    Parameters
    ----------
    name_or_path : str
        A folder written by ``save_pretrained`` or a Hugging Face hub id (``owner/name``).
    purpose : str
        What the model is for, for messages (``"depth estimation"``).
    offline_alternative : str
        What the user can do instead when the model is unavailable, for messages
        (``"pass --depth-model PATH to a downloaded copy, or use --depth geometric"``).

    Returns
    -------
    str
        Absolute path of a folder to pass to ``from_pretrained(..., local_files_only=True)``.

    Raises
    ------
    InputFileError
        The folder is not a model folder, the id is malformed, or offline mode is on and the
        model is not in the local cache.
    DownloadError
        Online, but the model could neither be downloaded nor found in the cache.

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
    path = Path(name_or_path).expanduser()
    if path.exists():
        return _local_folder(path, purpose=purpose)
    if not _HUB_ID.match(name_or_path):
        raise InputFileError(
            f"{purpose} model {name_or_path!r} is neither a folder nor a hub id (owner/name); {offline_alternative}"
        )
    return _snapshot(name_or_path, purpose=purpose, offline_alternative=offline_alternative)


def _snapshot(repo_id: str, *, purpose: str, offline_alternative: str) -> str:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError

    def cached() -> str | None:
        try:
            folder = Path(snapshot_download(repo_id, allow_patterns=_ALLOW_PATTERNS, local_files_only=True))
        except Exception:  # any failure here just means "not in the cache"
            return None
        return str(folder) if (folder / "config.json").is_file() and _has_weights(folder) else None

    if is_offline():
        folder = cached()
        if folder is None:
            raise InputFileError(
                f"{purpose} model {repo_id!r} is not in the local cache and offline mode is on "
                f"({'/'.join(OFFLINE_VARIABLES)}); {offline_alternative}"
            )
        return folder
    try:
        folder = Path(snapshot_download(repo_id, allow_patterns=_ALLOW_PATTERNS))
        if not _has_weights(folder):
            # Older repos only carry PyTorch .bin weights.
            folder = Path(snapshot_download(repo_id, allow_patterns=_LEGACY_WEIGHTS))
    except (RepositoryNotFoundError, GatedRepoError) as error:
        raise DownloadError(
            f"{purpose} model {repo_id!r} is not available on the Hugging Face hub ({_first_line(error)}); "
            f"{offline_alternative}"
        ) from error
    except Exception as error:  # network errors come in many classes; the cache may still help
        folder_name = cached()
        if folder_name is None:
            raise DownloadError(
                f"{purpose} model {repo_id!r} could not be downloaded ({_first_line(error)}) and is not in the "
                f"local cache; {offline_alternative}"
            ) from error
        return folder_name
    if not _has_weights(folder):
        raise DownloadError(f"{purpose} model {repo_id!r} has no PyTorch weights on the hub; {offline_alternative}")
    return str(folder)


def cached_locally(name_or_path: str) -> bool:
    """True when ``name_or_path`` is a model folder with weights, or a hub id whose weights are in the local
    Hugging Face cache. Looks at the file system only: imports nothing heavy and never touches the network,
    so the pipeline's ``auto`` choices can ask it before deciding to load torch.

    Examples
    --------
    >>> cached_locally("no such folder/")
    False
    """
    path = Path(name_or_path).expanduser()
    if path.exists():
        return path.is_dir() and (path / "config.json").is_file() and _has_weights(path)
    if not _HUB_ID.match(name_or_path) or "/" not in name_or_path:
        return False
    cache = os.environ.get("HF_HUB_CACHE") or os.path.join(
        os.environ.get("HF_HOME") or os.path.join(os.path.expanduser("~"), ".cache", "huggingface"), "hub"
    )
    snapshots = Path(cache) / ("models--" + name_or_path.replace("/", "--")) / "snapshots"
    return any((folder / "config.json").is_file() and _has_weights(folder) for folder in snapshots.glob("*"))


def weights_available(name_or_path: str) -> bool:
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
            return path.is_dir() and (path / "config.json").is_file() and _has_weights(path)
        if not _HUB_ID.match(name_or_path):
            return False
        from huggingface_hub import file_exists, snapshot_download

        try:
            folder = Path(snapshot_download(name_or_path, allow_patterns=_ALLOW_PATTERNS, local_files_only=True))
            if (folder / "config.json").is_file() and _has_weights(folder):
                return True
        except Exception:  # not cached
            pass
        return not is_offline() and bool(file_exists(name_or_path, "config.json"))
    except Exception:  # a network failure or a malformed name both mean "not available"
        return False


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


def load_pretrained(loader: Any, folder: str, *, purpose: str, **options: Any) -> Any:
    """``loader.from_pretrained(folder, local_files_only=True, **options)`` with one-line errors.

    A folder that does not hold what ``loader`` needs (wrong model kind, missing or corrupt
    files) raises :class:`~soundstage.errors.InputFileError` naming the folder and the purpose.
    """
    try:
        return loader.from_pretrained(folder, local_files_only=True, **options)
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as error:
        raise InputFileError(
            f"{purpose} model folder {folder!r} could not be loaded by {getattr(loader, '__name__', loader)} "
            f"({_first_line(error)}); give a folder written by save_pretrained for this kind of model"
        ) from error


def to_pil(rgb: np.ndarray) -> Any:
    """A PIL RGB image from a float ``(H, W, 3)`` array in [0, 1] (RGB order, as processors expect).

    Passing a PIL image rather than an array spares the processors from guessing the channel
    axis (a 3-pixel-high array is ambiguous) and from rescaling floats twice.
    """
    from PIL import Image

    array = np.asarray(rgb)
    if array.ndim != 3 or array.shape[2] != 3:
        raise ParameterError(f"image must have shape (H, W, 3), got {array.shape}")
    return Image.fromarray(np.round(np.clip(array, 0.0, 1.0) * 255.0).astype(np.uint8))


def load_sam(name_or_path: str, *, device: str) -> tuple[Any, Any]:
    """SAM model (eval mode, on ``device``) and its processor, from a hub id or a folder."""
    folder = resolve_model(
        name_or_path,
        purpose="segmentation (SAM)",
        offline_alternative="pass a downloaded SAM folder, or use the offline region backend (--regions saliency)",
    )
    from transformers import AutoConfig, SamModel, SamProcessor

    config = load_pretrained(AutoConfig, folder, purpose="segmentation (SAM)")
    if getattr(config, "model_type", None) != "sam":
        raise InputFileError(
            f"segmentation model {name_or_path!r} is a {getattr(config, 'model_type', '?')!r} model, not SAM; "
            "give a SAM model such as 'facebook/sam-vit-base'"
        )
    model = load_pretrained(SamModel, folder, purpose="segmentation (SAM)").to(device).eval()
    processor = load_pretrained(SamProcessor, folder, purpose="segmentation (SAM)")
    return model, processor
