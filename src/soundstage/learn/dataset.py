"""Training examples from a synthesized dataset: crops of the mix, the ears' difference and the view.

A scene is cut into random crops of the model's window (0.63 s); the mix is the two ears' sum and
the target their difference, both scaled so the mix has an RMS of 0.1 (Mono2Binaural's
normalisation, so loud and quiet scenes weigh alike). Training augmentations, each physically
exact or modelling what a real picture gives:

- mirror: the view flipped left-right and the ears swapped (a left-right symmetric head hears the
  mirrored scene with swapped ears);
- the offline depth prior on half the crops: the ``depth`` channel replaced by the ground plane
  below the horizon and nothing above it, which is what a photograph without a depth map gets
  (:class:`soundstage.vision.depth.GeometricDepth`);
- region-finder errors on the ``objects`` channel: masks grown or shrunk by a pixel, each source
  weighted 0.6–1 (a finder's scores), a source's mask dropped now and then (a miss), and false
  blobs of lower weight (a finder's false finds).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from soundstage.errors import InputFileError
from soundstage.learn.data.synthesis import load_manifest
from soundstage.learn.spectral import SpectralConfig
from soundstage.learn.view import ViewConfig, build_view

#: RMS the mix of every crop is scaled to.
TARGET_RMS = 0.1


def objects_map(labels: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
    """The ``objects`` channel from a label image (``k+1`` = source k); augmented when ``rng`` is given."""
    from scipy import ndimage

    n_sources = int(labels.max())
    out = np.zeros(labels.shape, dtype=np.float32)
    for k in range(1, n_sources + 1):
        mask = labels == k
        if rng is None:
            out = np.maximum(out, mask.astype(np.float32))
            continue
        if k > 1 and rng.uniform() < 0.1:
            continue
        step = int(rng.integers(-1, 2))
        if step > 0:
            mask = ndimage.binary_dilation(mask, iterations=step)
        elif step < 0 and mask.sum() > 20:
            mask = ndimage.binary_erosion(mask, iterations=-step)
        out = np.maximum(out, mask * np.float32(rng.uniform(0.6, 1.0)))
    if rng is not None and rng.uniform() < 0.5:
        height, width = labels.shape
        yy, xx = np.mgrid[0:height, 0:width]
        for _ in range(int(rng.integers(1, 3))):
            cy, cx = rng.uniform(0, height), rng.uniform(0, width)
            ry, rx = rng.uniform(3, height / 4), rng.uniform(3, width / 6)
            blob = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1.0
            out = np.maximum(out, blob * np.float32(rng.uniform(0.2, 0.6)))
    return out


def ground_plane_depth(shape: tuple[int, int], fov_deg: float) -> np.ndarray:
    """z-depth of a level floor below the camera, NaN above the horizon: exactly what the offline
    prior (:class:`soundstage.vision.depth.GeometricDepth`, camera 1.6 m up) gives a photo."""
    from soundstage.learn.data.pictures import focal_length_px
    from soundstage.vision.depth.geometric import DEFAULT_CAMERA_HEIGHT_M as CAMERA_HEIGHT_M

    height, width = shape
    below = np.arange(height, dtype=np.float32) + 0.5 - height / 2.0
    f = focal_length_px(width, fov_deg)
    column = np.where(below > 0, f * CAMERA_HEIGHT_M / np.maximum(below, 1e-3), np.nan).astype(np.float32)
    return np.repeat(column[:, None], width, axis=1)


class BinauralScenes(torch.utils.data.Dataset):
    """Crops of one split of a dataset folder, held in memory.

    Parameters
    ----------
    folder : str or Path
        A dataset made by :func:`soundstage.learn.data.synthesis.synthesize_dataset`.
    split : {"train", "val", "test"}
    view : ViewConfig
        Channels the model reads.
    spectral : SpectralConfig
        The model's front end (sets the crop length and the expected sample rate).
    crops_per_scene : int
        Items per scene per epoch.
    augment : bool
        Random crops and the augmentations of the module docstring; False gives fixed crops
        (centred) and exact masks, for validation.
    seed : int
        Seed of crops and augmentations (with the epoch, see :meth:`set_epoch`).
    """

    def __init__(
        self,
        folder: str | Path,
        split: str,
        view: ViewConfig,
        spectral: SpectralConfig,
        *,
        crops_per_scene: int = 4,
        augment: bool = True,
        seed: int = 0,
    ):
        folder = Path(folder)
        scenes = load_manifest(folder, split)
        if not scenes:
            raise InputFileError(f"{folder}: no {split} scenes in manifest.jsonl")
        recipe_rate = _recipe_rate(folder)
        if recipe_rate != spectral.sample_rate:
            raise InputFileError(
                f"{folder}: audio at {recipe_rate} Hz but the model works at {spectral.sample_rate} Hz; "
                "make the data with the model's rate"
            )
        shards: dict[str, dict[str, np.ndarray]] = {}
        for name in dict.fromkeys(scene["shard"] for scene in scenes):
            with np.load(folder / "shards" / f"{name}.npz") as shard:
                shards[name] = {key: shard[key] for key in ("binaural", "rgb", "depth_m", "labels")}
        self.scenes = scenes
        self.binaural = np.concatenate([shards[s["shard"]]["binaural"][s["row"]][None] for s in scenes])
        self.pictures = {
            key: np.concatenate([shards[s["shard"]][key][s["row"]][None] for s in scenes])
            for key in ("rgb", "depth_m", "labels")
        }
        self.view, self.spectral = view, spectral
        self.crops_per_scene, self.augment, self.seed = crops_per_scene, augment, seed
        self.epoch = 0
        if self.binaural.shape[-1] < spectral.crop_samples:
            raise InputFileError(f"{folder}: scenes are shorter than the model's {spectral.crop_samples}-sample window")

    def set_epoch(self, epoch: int) -> None:
        """Make the crops and augmentations of ``epoch`` (deterministic per seed and epoch)."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.scenes) * self.crops_per_scene

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        scene = index // self.crops_per_scene
        rng = np.random.default_rng([self.seed, self.epoch, index]) if self.augment else None
        n = self.spectral.crop_samples
        total = self.binaural.shape[-1]
        start = int(rng.integers(0, total - n + 1)) if rng is not None else (total - n) // 2
        ears = self.binaural[scene, :, start : start + n].astype(np.float32)
        mix, difference = ears[0] + ears[1], ears[0] - ears[1]
        rms = float(np.sqrt(np.mean(mix**2)))
        scale = TARGET_RMS / rms if rms > 1e-6 else 1.0
        depth_m = self.pictures["depth_m"][scene].astype(np.float32)
        if rng is not None and rng.uniform() < 0.5:
            depth_m = ground_plane_depth(depth_m.shape, self.scenes[scene]["fov_deg"])
        view = build_view(
            self.view,
            objects=objects_map(self.pictures["labels"][scene], rng),
            depth_m=depth_m,
            rgb=self.pictures["rgb"][scene],
        )
        if rng is not None and rng.uniform() < 0.5:
            view, difference = view[:, :, ::-1].copy(), -difference
        return {
            "mix": torch.from_numpy(mix * scale),
            "difference": torch.from_numpy(difference * scale),
            "view": torch.from_numpy(view),
        }


def _recipe_rate(folder: Path) -> int:
    import json

    try:
        return int(json.loads((folder / "recipe.json").read_text())["sample_rate"])
    except (OSError, ValueError, KeyError):
        raise InputFileError(f"{folder}: no readable recipe.json; is this a dataset folder?") from None
