"""Running a learned binauralizer over a clip of any length, with a photograph as its view.

The model sees 0.63 s windows at its own rate (16 kHz); the clip is cut into windows overlapping
by half, each window's predicted difference is weighted by a Hann window and the weighted sum is
divided by the summed weights (so any hop reconstructs exactly what the model returns). The ears
are ``L = (mix + diff) / 2`` and ``R = (mix - diff) / 2`` at the clip's own rate: the mix keeps
its full band and only the difference (the spatial cues, below the model's Nyquist frequency of
8 kHz) is resampled — above it both ears get the mix, centred.

The view comes from the picture through the vision pipeline (:mod:`soundstage.learn.view`): the
offline region finder's regions weighted by their scores for ``objects`` (or any region backend),
a depth file or the geometric prior for ``depth``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from soundstage.errors import InputFileError, ParameterError

#: Regions whose score is below this share of the best one's are left out of the objects map.
REGION_SCORE_RATIO = 0.5
#: Most regions drawn into the objects map (scenes have 1–3 sources in training).
MAX_REGIONS = 3
#: Field of view assumed for a photograph without EXIF focal length, degrees (the training range's middle).
DEFAULT_FOV_DEG = 65.0


@dataclass
class PictureView:
    """A view built from a picture, with what was done to build it."""

    view: np.ndarray
    notes: list[str] = field(default_factory=list)
    objects: np.ndarray | None = None


@dataclass
class FrameViews:
    """Views of a moving picture: one per analysed frame, each window of the mix takes the nearest.

    Attributes
    ----------
    times_s : np.ndarray, shape (F,)
        Time of each frame in seconds from the start of the mix, increasing.
    views : list of PictureView
    """

    times_s: np.ndarray
    views: list[PictureView]


def overlap_add(
    signal: np.ndarray, window_samples: int, function: Callable[[np.ndarray], np.ndarray], *, hop_samples: int
) -> np.ndarray:
    """Apply ``function`` to overlapping windows of ``signal`` and overlap-add the results.

    Parameters
    ----------
    signal : np.ndarray, shape (n_samples,)
    window_samples : int
        Length of each window.
    function : callable
        Maps a batch ``(n_windows, window_samples)`` to outputs of the same shape.
    hop_samples : int
        Advance between windows (at most ``window_samples``).

    Returns
    -------
    np.ndarray, shape (n_samples,)
        ``Σ w·function(window) / Σ w`` with Hann weights ``w`` (a window's edges weigh little).

    Examples
    --------
    >>> x = np.random.default_rng(0).standard_normal(1000)
    >>> bool(np.allclose(overlap_add(x, 256, lambda b: b, hop_samples=128), x))
    True
    """
    if not 0 < hop_samples <= window_samples:
        raise ParameterError(f"hop_samples must be 1–{window_samples}, got {hop_samples}")
    n = len(signal)
    pad = window_samples // 2
    n_windows = int(np.ceil((n + 2 * pad - window_samples) / hop_samples)) + 1
    padded = np.zeros(pad + n + (n_windows - 1) * hop_samples + window_samples, dtype=np.float32)
    padded[pad : pad + n] = signal
    starts = np.arange(n_windows) * hop_samples
    batch = np.stack([padded[s : s + window_samples] for s in starts])
    outputs = np.asarray(function(batch), dtype=np.float64)
    weights = np.hanning(window_samples + 2)[1:-1]
    total = np.zeros(len(padded))
    norm = np.zeros(len(padded))
    for start, output in zip(starts, outputs, strict=True):
        total[start : start + window_samples] += weights * output
        norm[start : start + window_samples] += weights
    return (total[pad : pad + n] / norm[pad : pad + n]).astype(np.float32)


def picture_view(
    config,
    image: str | Path | np.ndarray,
    *,
    depth: str | Path | np.ndarray | None = None,
    fov_deg: float | None = None,
    region_backend: str = "classical",
) -> PictureView:
    """The view a model wants, from a photograph, through the vision pipeline's stages.

    Parameters
    ----------
    config : ViewConfig
        The model's view.
    image : str, Path or np.ndarray
        A picture file, or RGB ``(H, W, 3)`` (uint8, or float in [0, 1]).
    depth : str, Path, np.ndarray or None
        A depth file (same size as the picture; see ``soundstage image --depth``), a z-depth array
        in metres, or None for the offline geometric prior.
    fov_deg : float or None
        Horizontal field of view in degrees (None: EXIF focal length, else 65°).
    region_backend : str
        Region finder for the ``objects`` channel (``classical`` works offline).

    Returns
    -------
    PictureView
    """
    from soundstage.learn.view import build_view
    from soundstage.vision.depth import DEPTH_BACKENDS
    from soundstage.vision.regions import REGION_BACKENDS
    from soundstage.vision.stages import LoadedImage

    notes: list[str] = []
    if isinstance(image, str | Path):
        from soundstage.vision.image import load_image

        loaded = load_image(image)
    else:
        rgb = np.asarray(image)
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.shape[0] < 8 or rgb.shape[1] < 8:
            raise ParameterError(f"image: an RGB array of shape (H, W, 3) at least 8×8 is needed, got {rgb.shape}")
        rgb = rgb.astype(np.float32) / 255.0 if rgb.dtype == np.uint8 else rgb.astype(np.float32)
        if not np.all(np.isfinite(rgb)):
            raise ParameterError("image: the array holds NaN or infinite values")
        loaded = LoadedImage(np.clip(rgb, 0, 1), "<array>", (rgb.shape[1], rgb.shape[0]))
    if fov_deg is None:
        if loaded.exif_focal_35mm:
            fov_deg = float(np.degrees(2 * np.arctan(18.0 / loaded.exif_focal_35mm)))
            notes.append(f"field of view {fov_deg:.0f}° from the EXIF focal length")
        else:
            fov_deg = DEFAULT_FOV_DEG
            notes.append(f"field of view {fov_deg:.0f}° assumed (no EXIF focal length; give --fov)")
    objects = None
    if "objects" in config.inputs:
        regions = REGION_BACKENDS.create(region_backend).find(loaded, labels=None, max_regions=MAX_REGIONS)
        objects = np.zeros((loaded.height, loaded.width), dtype=np.float32)
        if regions:
            best = max(region.score for region in regions)
            kept = [r for r in regions if best > 0 and r.score >= REGION_SCORE_RATIO * best][:MAX_REGIONS]
            for region in kept:
                objects = np.maximum(objects, region.mask * np.float32(region.score / best if best > 0 else 1.0))
            described = ", ".join(
                f"{100 * r.area_fraction:.0f} % of the picture at u={r.centroid()[0] / loaded.width:.2f}" for r in kept
            )
            notes.append(f"{len(kept)} sounding region(s) from the {region_backend} finder: {described}")
        else:
            notes.append(f"the {region_backend} region finder found nothing; the model sees no sounding object")
    depth_m = None
    if "depth" in config.inputs:
        if depth is None:
            estimate = DEPTH_BACKENDS.create("geometric").estimate(loaded, horizontal_fov_deg=fov_deg)
            notes.append("depth from the offline geometric prior (give --depth FILE for a measured one)")
        elif isinstance(depth, str | Path):
            estimate = DEPTH_BACKENDS.create("file", path=Path(depth)).estimate(loaded, horizontal_fov_deg=fov_deg)
        else:
            array = np.asarray(depth, dtype=np.float32)
            if array.shape != (loaded.height, loaded.width):
                raise ParameterError(
                    f"depth: shape {array.shape} is not the picture's {(loaded.height, loaded.width)}; "
                    "give a depth map of the same size"
                )
            estimate = None
            depth_m = array
        if estimate is not None:
            depth_m = estimate.z_m
    view = build_view(config, objects=objects, depth_m=depth_m, rgb=loaded.rgb)
    return PictureView(view, notes, objects)


@dataclass
class LearnedBinaural:
    """The two ears a learned model made, with its notes."""

    audio: np.ndarray
    sample_rate: int
    notes: list[str]
    model: str


def binauralize(
    model,
    mono: np.ndarray,
    sample_rate: int,
    image: Any,
    *,
    depth: Any = None,
    fov_deg: float | None = None,
    region_backend: str = "classical",
    batch_size: int = 32,
    mirror_symmetric: bool = True,
) -> LearnedBinaural:
    """Two ears from a mono mix and a picture of its scene.

    Parameters
    ----------
    model : SpectralBinauralizer
        A loaded model (:func:`soundstage.learn.pretrained.load_model`).
    mono : np.ndarray, shape (n_samples,) or (n_channels, n_samples)
        The mix; several channels are averaged to mono (and a note says so).
    sample_rate : int
        Its rate in Hz; the model's own rate is reached by resampling (a note says so).
    image : str, Path, np.ndarray, PictureView or FrameViews
        The scene's picture (see :func:`picture_view`), a view already built, or the views of a
        video's frames (each window of the mix then takes the frame nearest its centre).
    depth, fov_deg, region_backend
        See :func:`picture_view`.
    batch_size : int
        Windows per forward pass.
    mirror_symmetric : bool
        Average the prediction for the picture with the negated prediction for its mirror image:
        for a left-right symmetric head the mirrored scene gives exactly swapped ears, so the
        result obeys that symmetry exactly instead of approximately (a trained model keeps a small
        bias to one side). Costs a second pass of the decoder.

    Returns
    -------
    LearnedBinaural
        ``audio`` (2, n_samples) at ``sample_rate``.
    """
    import torch

    from soundstage.io.audio import resample
    from soundstage.learn.spectral import istft, stft
    from soundstage.sample_rate import check_sample_rate

    sample_rate = check_sample_rate(sample_rate)
    notes: list[str] = []
    mix = np.asarray(mono, dtype=np.float32)
    if mix.ndim == 2:
        if mix.shape[0] > 1:
            notes.append(f"{mix.shape[0]} channels averaged to one mono mix")
        mix = mix.mean(axis=0)
    if mix.ndim != 1 or mix.size == 0:
        raise ParameterError(
            f"mono: give samples as (n_samples,) or (n_channels, n_samples), got shape {np.shape(mono)}"
        )
    if not np.all(np.isfinite(mix)):
        raise ParameterError("mono: the signal holds NaN or infinite values")
    if isinstance(image, FrameViews):
        views, frame_times = image.views, np.asarray(image.times_s, dtype=float)
        if not views or len(views) != len(frame_times):
            raise ParameterError("image: FrameViews needs one view per frame time, at least one")
        notes.append(f"{len(views)} frames, each window of the mix with the frame nearest its centre")
    else:
        views = [
            image
            if isinstance(image, PictureView)
            else picture_view(model.config.view, image, depth=depth, fov_deg=fov_deg, region_backend=region_backend)
        ]
        frame_times = np.zeros(1)
        notes += views[0].notes
    spectral = model.spectral
    model_rate = spectral.sample_rate
    at_model_rate = mix
    if sample_rate != model_rate:
        at_model_rate = resample(mix, sample_rate, model_rate).astype(np.float32)
        notes.append(
            f"resampled {sample_rate} → {model_rate} Hz for the model (trained at {model_rate} Hz); "
            f"the output stays at {sample_rate} Hz with spatial cues below {model_rate // 2} Hz"
        )
    rms = float(np.sqrt(np.mean(at_model_rate**2)))
    scale = 0.1 / rms if rms > 1e-8 else 1.0
    view_tensors = torch.from_numpy(np.ascontiguousarray(np.stack([v.view for v in views])))
    hop = spectral.crop_samples // 2

    def predict(batch: np.ndarray) -> np.ndarray:
        # Window k of overlap_add is centred on sample k · hop of the mix.
        centres = np.arange(len(batch)) * hop / model_rate
        nearest = np.abs(centres[:, None] - frame_times[None, :]).argmin(axis=1)
        outputs = []
        with torch.inference_mode():
            for start in range(0, len(batch), batch_size):
                audio = torch.from_numpy(batch[start : start + batch_size] * np.float32(scale))
                spectrum = stft(audio, spectral)
                views = view_tensors[torch.from_numpy(nearest[start : start + batch_size])]
                if mirror_symmetric:
                    both = model(spectrum.repeat(2, 1, 1, 1), torch.cat([views, views.flip(-1)]))["difference"]
                    difference = (both[: audio.shape[0]] - both[audio.shape[0] :]) / 2.0
                else:
                    difference = model(spectrum, views)["difference"]
                outputs.append(istft(difference, spectral, audio.shape[1]).numpy() / scale)
        return np.concatenate(outputs)

    model.eval()
    difference = overlap_add(at_model_rate, spectral.crop_samples, predict, hop_samples=hop)
    if sample_rate != model_rate:
        resampled = resample(difference, model_rate, sample_rate).astype(np.float32)
        difference = np.zeros_like(mix)
        difference[: min(len(mix), len(resampled))] = resampled[: len(mix)]
    ears = np.stack([(mix + difference) / 2.0, (mix - difference) / 2.0]).astype(np.float32)
    return LearnedBinaural(ears, sample_rate, notes, model.architecture)


def shipped_model_folder() -> Path:
    """Folder of the model that ships inside the package (used when no model is named)."""
    from importlib import resources

    return Path(str(resources.files("soundstage.learn") / "shipped" / "depth_attention_small"))


def load_binauralizer(name_or_path: str | Path | None = None):
    """A model by folder or hub id, or the shipped one when None."""
    import importlib.util

    if importlib.util.find_spec("torch") is None:
        raise ParameterError(
            "the learned binauralizer needs PyTorch: pip install 'soundstage[models]' (the CPU wheel is enough)"
        )
    from soundstage.learn.pretrained import load_model

    if name_or_path is None:
        folder = shipped_model_folder()
        if not (folder / "model.safetensors").is_file():
            raise InputFileError(
                f"{folder}: the shipped model is missing from this installation; reinstall soundstage or give --model"
            )
        return load_model(folder)
    return load_model(name_or_path)
