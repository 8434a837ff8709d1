"""Depth from a Hugging Face transformers model: Depth Anything V2 (relative or metric), Depth Pro, DPT, GLPN.

What each model's output means, and how it becomes z-depth in metres:

- **Metric models** — Depth-Anything-V2-Metric-Indoor/Outdoor (``depth_estimation_type =
  "metric"`` in the config; the head is ``sigmoid × max_depth``) and GLPN — predict metres
  directly: ``metric=True``.
- **Depth Pro** predicts a canonical *inverse* depth that becomes metres through the focal
  length: ``z = f_px / (W · inverse)`` with ``f_px = W / (2 tan(fov / 2))``. We use the camera
  stage's horizontal field of view — the one that also lifts pixels to 3-D — so depth and
  geometry agree; the model's own field-of-view estimate, when it has that head, is only
  reported. ``metric=True`` (as metric as the field of view is right).
- **Relative models** — Depth-Anything-V2-Small/Base/Large (``depth_estimation_type =
  "relative"``) and DPT/MiDaS — predict *relative inverse depth* ``d`` (disparity-like: larger
  is nearer, known only up to scale). It becomes depth by the stated rule
  ``z = scene_depth_m × median(d) / d``, so the median depth of the picture is ``scene_depth_m``
  (``--scene-depth``; default 3.0 m, a room seen from inside it). Pixels with ``d ≤ 0``
  (infinitely far: sky) are NaN. ``metric=False``. The shift these models also leave unknown is
  ignored, so far-away ratios are rough. Pixel values are never taken as metres.

The prediction is resized to the analysed image by bilinear interpolation (no overshoot, unlike
the bicubic of some processors' post-processing). Images go to the processor as RGB — not the
BGR that SEE-2-SOUND fed its depth model. When a processor class needs torchvision and it is not
installed (Depth Pro's does), the image is resized and normalised as the model's
``preprocessor_config.json`` says.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from soundstage.errors import InputFileError, ParameterError
from soundstage.hub import choose_device, load_pretrained, resolve_model
from soundstage.vision.models import to_pil
from soundstage.vision.stages import DepthBackend, DepthMap, LoadedImage

#: The default model: small, relative, Apache-2.0.
DEFAULT_DEPTH_MODEL = "depth-anything/Depth-Anything-V2-Small-hf"

#: Median depth given to relative depth when the user gives none: a room seen from inside it, in metres.
DEFAULT_SCENE_DEPTH_M = 3.0

_OFFLINE_ALTERNATIVE = "pass --depth-model PATH to a downloaded copy, or use --depth geometric / --depth FILE"

# How each supported model type's output is read (see the module docstring).
RELATIVE_INVERSE = "relative inverse depth"
METRIC = "metric depth in metres"
FOCAL_INVERSE = "inverse depth scaled by the focal length (Depth Pro)"


def output_kind(config: Any) -> str:
    """What a depth model's ``predicted_depth`` holds, decided from its config.

    Returns one of :data:`RELATIVE_INVERSE`, :data:`METRIC`, :data:`FOCAL_INVERSE`.

    Raises
    ------
    ParameterError
        A model type whose output this backend does not know how to read.
    """
    model_type = getattr(config, "model_type", None)
    if model_type == "depth_anything":
        kind = getattr(config, "depth_estimation_type", "relative")
        return METRIC if kind == "metric" else RELATIVE_INVERSE
    if model_type == "depth_pro":
        return FOCAL_INVERSE
    if model_type == "glpn":
        return METRIC
    if model_type == "dpt":
        return RELATIVE_INVERSE
    raise ParameterError(
        f"depth model type {model_type!r} is not supported by the transformers depth backend; "
        "use Depth Anything V2 (relative or metric), Depth Pro, DPT or GLPN"
    )


def relative_to_metres(inverse_depth: np.ndarray, scene_depth_m: float) -> np.ndarray:
    """Relative inverse depth → z-depth in metres whose median is ``scene_depth_m``.

    ``z = scene_depth_m × median(d) / d`` over the pixels with ``d > 0``; others are NaN.

    Parameters
    ----------
    inverse_depth : np.ndarray, shape (H, W)
        Relative inverse depth (larger is nearer), any scale.
    scene_depth_m : float
        Median depth to give the picture, in metres.

    Returns
    -------
    np.ndarray, shape (H, W), float32

    Examples
    --------
    >>> relative_to_metres(np.array([[1.0, 2.0, 4.0]]), 3.0).tolist()
    [[6.0, 3.0, 1.5]]
    """
    d = np.asarray(inverse_depth, dtype=np.float64)
    valid = np.isfinite(d) & (d > 0)
    if not np.any(valid):
        raise InputFileError("the depth model predicted no positive inverse depth anywhere; use --depth geometric")
    z = np.full(d.shape, np.nan)
    z[valid] = scene_depth_m * np.median(d[valid]) / d[valid]
    return z.astype(np.float32)


def focal_inverse_to_metres(inverse_depth: np.ndarray, horizontal_fov_deg: float) -> np.ndarray:
    """Depth Pro's canonical inverse depth → metres with the focal length of a ``horizontal_fov_deg`` camera.

    ``z = f_px / (W · inverse)`` with ``f_px = W / (2 tan(fov / 2))``, i.e. ``z = 1 / (2 tan(fov/2) · inverse)``.

    Examples
    --------
    >>> focal_inverse_to_metres(np.array([[0.5]]), 90.0).tolist()
    [[1.0]]
    """
    d = np.asarray(inverse_depth, dtype=np.float64)
    z = np.full(d.shape, np.nan)
    valid = np.isfinite(d) & (d > 0)
    z[valid] = 1.0 / (2.0 * math.tan(math.radians(horizontal_fov_deg) / 2.0) * d[valid])
    return z.astype(np.float32)


class TransformersDepth(DepthBackend):
    """Depth from a transformers depth-estimation model (see the module docstring for the rules).

    Parameters
    ----------
    model : str
        Hub id or local folder (``save_pretrained`` output).
    scene_depth_m : float or None
        Median depth in metres given to a *relative* model's output; None uses 3.0 m. Metric
        models ignore it (and say so in the notes).
    device : str or None
        ``"cpu"``, ``"cuda"``, or None to use a GPU when there is one.
    """

    name = "transformers"
    needs_weights = True

    def __init__(
        self, *, model: str = DEFAULT_DEPTH_MODEL, scene_depth_m: float | None = None, device: str | None = None
    ) -> None:
        self.model = model
        self.scene_depth_m = None if scene_depth_m is None else _positive_metres(scene_depth_m)
        self.device = choose_device(device)
        self._loaded: tuple[Any, Any, str] | None = None

    def _load(self) -> tuple[Any, Any, str]:
        """(model, preprocess function, folder), loaded once."""
        if self._loaded is None:
            folder = resolve_model(self.model, purpose="depth estimation", offline_alternative=_OFFLINE_ALTERNATIVE)
            from transformers import AutoConfig, AutoModelForDepthEstimation

            config = load_pretrained(AutoConfig, folder, purpose="depth estimation")
            output_kind(config)  # refuse unknown model types before loading weights
            network = load_pretrained(AutoModelForDepthEstimation, folder, purpose="depth estimation")
            preprocess = _preprocessor(folder, config.model_type)
            self._loaded = (network.to(self.device).eval(), preprocess, folder)
        return self._loaded

    def estimate(self, image: LoadedImage, *, horizontal_fov_deg: float) -> DepthMap:
        """Z-depth of ``image`` in metres, shape ``(H, W)``; NaN where the model sees infinitely far.

        Raises
        ------
        ParameterError
            Field of view outside (0, 180) degrees, or an unsupported model type.
        InputFileError, DownloadError
            The model cannot be found, downloaded or loaded.
        """
        horizontal_fov_deg = _field_of_view(horizontal_fov_deg)
        estimated_fov: float | None = None
        import torch

        network, preprocess, _folder = self._load()
        kind = output_kind(network.config)
        pixel_values = preprocess(image.rgb).to(self.device)
        with torch.no_grad():
            outputs = network(pixel_values=pixel_values)
        predicted = outputs.predicted_depth.reshape(1, 1, *outputs.predicted_depth.shape[-2:]).float()
        resized = torch.nn.functional.interpolate(
            predicted, size=(image.height, image.width), mode="bilinear", align_corners=False
        )
        raw = resized[0, 0].cpu().numpy().astype(np.float64)

        described = f"transformers depth model {self.model!r} ({kind}) on {self.device}"
        notes = [described]
        if kind == RELATIVE_INVERSE:
            scene_depth_m = DEFAULT_SCENE_DEPTH_M if self.scene_depth_m is None else self.scene_depth_m
            z_m = relative_to_metres(raw, scene_depth_m)
            notes.append(f"relative depth scaled so the median is {_metres(scene_depth_m)} m (--scene-depth)")
            notes.append("relative models know depth only up to scale and shift: distances are a guess anchored there")
            metric = False
        else:
            if kind == METRIC:
                z_m = np.where(raw > 0, raw, np.nan).astype(np.float32)
                notes.append("metric model: depth in metres as predicted")
            else:
                z_m = focal_inverse_to_metres(raw, horizontal_fov_deg)
                notes.append(f"Depth Pro scaled to metres with the camera's {horizontal_fov_deg:.1f}° field of view")
                own_fov = getattr(outputs, "field_of_view", None)
                if own_fov is not None:
                    own_deg = float(own_fov.reshape(-1)[0])
                    if 0.0 < own_deg < 180.0:
                        estimated_fov = own_deg
                    notes.append(f"the model itself estimated a {own_deg:.1f}° horizontal field of view")
            if self.scene_depth_m is not None:
                notes.append(f"--scene-depth {_metres(self.scene_depth_m)} m ignored: the model is metric")
            metric = True
        unknown = float(np.mean(~np.isfinite(z_m)))
        if unknown > 0:
            notes.append(f"{100 * unknown:.1f} % of pixels infinitely far or unknown (NaN)")
        return DepthMap(
            z_m=z_m, metric=metric, backend=self.name, notes=tuple(notes), estimated_horizontal_fov_deg=estimated_fov
        )


def _metres(value: float) -> str:
    """3.0 → '3.0', 2.5 → '2.5', 2.75 → '2.75' (one decimal at least, no float noise)."""
    return f"{value:.1f}" if round(value, 1) == value else f"{value:g}"


def _positive_metres(value: Any) -> float:
    try:
        metres = float(value)
    except (TypeError, ValueError):
        metres = math.nan
    if not (math.isfinite(metres) and metres > 0):
        raise ParameterError(f"scene_depth_m (--scene-depth) must be a positive number of metres, got {value!r}")
    return metres


def _field_of_view(value: Any) -> float:
    try:
        degrees = float(value)
    except (TypeError, ValueError):
        degrees = math.nan
    if not (math.isfinite(degrees) and 0.0 < degrees < 180.0):
        raise ParameterError(f"horizontal_fov_deg must be in (0, 180) degrees, got {value!r}")
    return degrees


def _preprocessor(folder: str, model_type: str):
    """A function rgb (H, W, 3) float → pixel_values tensor (1, 3, h, w) for the model in ``folder``."""
    from transformers import AutoImageProcessor

    try:
        processor = AutoImageProcessor.from_pretrained(folder, local_files_only=True)
    except (ImportError, OSError, ValueError, KeyError) as error:
        if model_type == "depth_pro":
            # Depth Pro's processor class needs torchvision; its preprocessing is a plain resize + normalise.
            return _config_preprocessor(folder)
        raise InputFileError(
            f"depth model folder {folder!r} has no usable image processor ({str(error).splitlines()[0]}); "
            "give a folder written by save_pretrained with its processor"
        ) from error

    def preprocess(rgb: np.ndarray):
        return processor(images=to_pil(rgb), return_tensors="pt")["pixel_values"]

    return preprocess


def _config_preprocessor(folder: str):
    """Resize to the configured fixed size and normalise, as ``preprocessor_config.json`` says."""
    settings = _processor_settings(Path(folder))
    size = settings.get("size") or {}
    if "height" not in size or "width" not in size:
        raise InputFileError(
            f"depth model folder {folder!r}: its processor needs torchvision (not installed) and its "
            "preprocessor_config.json has no fixed size to fall back on; install torchvision"
        )
    height, width = int(size["height"]), int(size["width"])
    mean = np.asarray(settings.get("image_mean", [0.5, 0.5, 0.5]), dtype=np.float32)
    std = np.asarray(settings.get("image_std", [0.5, 0.5, 0.5]), dtype=np.float32)
    normalise = settings.get("do_normalize", True)

    def preprocess(rgb: np.ndarray):
        import torch
        from PIL import Image

        resized = to_pil(rgb).resize((width, height), Image.Resampling.BILINEAR)
        array = np.asarray(resized, dtype=np.float32) / 255.0
        if normalise:
            array = (array - mean) / std
        return torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))[None]

    return preprocess


def _processor_settings(folder: Path) -> dict[str, Any]:
    for name, key in (("preprocessor_config.json", None), ("processor_config.json", "image_processor")):
        path = folder / name
        if path.is_file():
            try:
                settings = json.loads(path.read_text())
            except (OSError, ValueError) as error:
                raise InputFileError(f"{str(path)!r} is not valid JSON ({error}); re-save the model") from error
            return settings.get(key, {}) if key else settings
    raise InputFileError(f"depth model folder {str(folder)!r} has no preprocessor_config.json; re-save the model")
