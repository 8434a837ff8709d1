"""Sounding regions without labels: SAM's automatic masks, ranked by how likely they are to emit sound.

SAM is prompted with a regular grid of points (``points_per_side`` × ``points_per_side``, at the
centres of a grid of equal cells); each point gives three candidate masks with SAM's predicted
IoU. Candidates below ``min_predicted_iou`` or unstable (the mask changes a lot when its logit
threshold moves by ±1, SAM's stability score) are dropped. The rest are ranked by

    score = predicted IoU × distinctness × size factor × border factor            (all in [0, 1])

- **distinctness** — how different the mask's mean colour is from a ring of pixels just
  around it (``1 − exp(−Δ / 0.1)``, Δ the RGB distance scaled to [0, 1]): objects stand out
  from their surroundings, parts of a uniform background do not. A mean, not a sum, so a big
  mask gains nothing by its size.
- **size factor** — 1 up to 35 % of the image, then falling as ``((1 − a) / 0.65)²`` to 0 for the
  whole image; masks under 0.2 % of the image (specks) are scaled down in proportion.
- **border factor** — ``(1 − c)²`` with ``c`` the share of the image's border pixels the mask
  covers: sky, floor and walls run along the frame, things that make sound rarely do.

This replaces SEE-2-SOUND's "largest masks first", which picks sky and floor. Near-duplicate masks
(mask IoU above ``nms_iou``) are merged by greedy non-maximum suppression on this score.

Ranking and deduplication work on SAM's low-resolution mask logits (256 px on the long side of
the padded input), cropped to the image; only the masks returned are upsampled to the analysed
image, which keeps memory bounded for a 16 × 16 grid (768 candidates).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from soundstage.errors import ParameterError
from soundstage.hub import choose_device
from soundstage.vision.models import load_sam, to_pil
from soundstage.vision.stages import LoadedImage, Region, RegionBackend

#: Default SAM model.
DEFAULT_SEGMENTER = "facebook/sam-vit-base"

#: Masks larger than this share of the image are penalised (likely background).
LARGE_MASK_FRACTION = 0.35

#: Masks smaller than this share of the image are penalised in proportion (specks).
SMALL_MASK_FRACTION = 0.002

#: Colour distance (RGB, scaled to [0, 1]) at which distinctness reaches 1 − 1/e.
CONTRAST_SCALE = 0.1


def size_factor(area_fraction: np.ndarray | float) -> np.ndarray:
    """Penalty in [0, 1] for a mask covering ``area_fraction`` of the image (see the module docstring).

    Examples
    --------
    >>> size_factor(np.array([0.001, 0.1, 0.35, 0.675, 1.0])).round(3).tolist()
    [0.5, 1.0, 1.0, 0.25, 0.0]
    """
    a = np.clip(np.asarray(area_fraction, dtype=np.float64), 0.0, 1.0)
    large = np.where(a > LARGE_MASK_FRACTION, ((1.0 - a) / (1.0 - LARGE_MASK_FRACTION)) ** 2, 1.0)
    small = np.minimum(1.0, a / SMALL_MASK_FRACTION)
    return large * small


def border_factor(masks: np.ndarray) -> np.ndarray:
    """``(1 − c)²`` per mask, ``c`` the share of the image's border pixels it covers; masks ``(N, H, W)``.

    Examples
    --------
    >>> top_row = np.zeros((1, 4, 4), bool); top_row[0, 0, :] = True
    >>> border_factor(top_row).round(4).tolist()  # 4 of the 12 border pixels: (1 - 1/3)²
    [0.4444]
    """
    masks = np.asarray(masks, dtype=bool)
    frame = np.zeros(masks.shape[1:], dtype=bool)
    frame[0, :] = frame[-1, :] = frame[:, 0] = frame[:, -1] = True
    covered = masks[:, frame].mean(axis=1)
    return (1.0 - covered) ** 2


def distinctness(masks: np.ndarray, rgb: np.ndarray) -> np.ndarray:
    """How much each mask's mean colour differs from the ring around it, in [0, 1].

    Parameters
    ----------
    masks : np.ndarray, shape (N, H, W), bool
    rgb : np.ndarray, shape (H, W, 3)
        Colour in [0, 1] at the masks' resolution.

    Returns
    -------
    np.ndarray, shape (N,)
        ``1 − exp(−Δ / CONTRAST_SCALE)`` with Δ the RGB distance of the means divided by √3;
        0 for an empty mask or one with no pixels around it.
    """
    from scipy import ndimage

    masks = np.asarray(masks, dtype=bool)
    rgb = np.asarray(rgb, dtype=np.float64)
    out = np.zeros(len(masks))
    for i, mask in enumerate(masks):
        area = int(mask.sum())
        if area == 0:
            continue
        # Ring width grows with the object so a big object is compared with its surroundings, not its own edge.
        width = max(1, round(0.1 * math.sqrt(area)))
        ring = ndimage.binary_dilation(mask, iterations=width) & ~mask
        if not ring.any():
            continue
        delta = np.linalg.norm(rgb[mask].mean(axis=0) - rgb[ring].mean(axis=0)) / math.sqrt(3.0)
        out[i] = 1.0 - math.exp(-delta / CONTRAST_SCALE)
    return out


def sounding_scores(masks: np.ndarray, rgb: np.ndarray, predicted_iou: np.ndarray | None = None) -> np.ndarray:
    """The ranking score of each mask, in [0, 1]: predicted IoU × distinctness × size × border factors.

    Parameters
    ----------
    masks : np.ndarray, shape (N, H, W), bool
    rgb : np.ndarray, shape (H, W, 3)
        The image in [0, 1] at the masks' resolution.
    predicted_iou : np.ndarray, shape (N,), optional
        SAM's quality estimate per mask (clipped to [0, 1]); None counts as 1.
    """
    masks = np.asarray(masks, dtype=bool)
    if masks.ndim != 3 or np.asarray(rgb).shape != (*masks.shape[1:], 3):
        raise ParameterError(f"masks (N, H, W) and rgb (H, W, 3) must match, got {masks.shape} and {np.shape(rgb)}")
    quality = np.ones(len(masks)) if predicted_iou is None else np.clip(np.asarray(predicted_iou, float), 0.0, 1.0)
    area = masks.mean(axis=(1, 2))
    return quality * distinctness(masks, rgb) * size_factor(area) * border_factor(masks)


def mask_nms(masks: np.ndarray, scores: np.ndarray, iou_threshold: float) -> list[int]:
    """Indices of the masks kept by greedy non-maximum suppression on mask IoU, best score first.

    Examples
    --------
    >>> a = np.zeros((3, 4, 4), bool); a[0, :2] = True; a[1, :2, :3] = True; a[2, 2:] = True
    >>> mask_nms(a, np.array([0.9, 0.8, 0.7]), 0.5)  # mask 1 is mask 0 plus two pixels
    [0, 2]
    """
    masks = np.asarray(masks, dtype=bool)
    flat = masks.reshape(len(masks), int(np.prod(masks.shape[1:])))
    areas = flat.sum(axis=1).astype(np.float64)
    kept: list[int] = []
    kept_flat = np.zeros((0, flat.shape[1]), dtype=np.float32)
    for i in np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable"):
        if kept:
            overlap = kept_flat @ flat[i].astype(np.float32)
            union = areas[kept] + areas[i] - overlap
            iou = np.divide(overlap, union, out=np.zeros_like(overlap, dtype=np.float64), where=union > 0)
            if np.any(iou > iou_threshold):
                continue
        kept.append(int(i))
        kept_flat = np.vstack([kept_flat, flat[i].astype(np.float32)[None]])
    return kept


def stability_scores(logits: np.ndarray, offset: float = 1.0) -> np.ndarray:
    """SAM's stability score per mask: IoU of the masks thresholded at ``+offset`` and ``−offset``.

    ``logits`` has shape ``(N, h, w)``; a mask whose area barely changes is stable (score near 1).

    Examples
    --------
    >>> stability_scores(np.array([[[5.0, 5.0, -5.0, 0.5]]])).tolist()
    [0.6666666666666666]
    """
    logits = np.asarray(logits)
    high = (logits > offset).sum(axis=(1, 2)).astype(np.float64)
    low = (logits > -offset).sum(axis=(1, 2)).astype(np.float64)
    return np.divide(high, low, out=np.zeros_like(high), where=low > 0)


def point_grid(points_per_side: int, width: int, height: int) -> np.ndarray:
    """``(n², 2)`` prompt points ``(u, v)`` at the centres of an ``n × n`` grid of cells over the image.

    Examples
    --------
    >>> point_grid(2, 4, 2).tolist()
    [[1.0, 0.5], [3.0, 0.5], [1.0, 1.5], [3.0, 1.5]]
    """
    fractions = (np.arange(points_per_side) + 0.5) / points_per_side
    u, v = np.meshgrid(fractions * width, fractions * height)
    return np.stack([u.ravel(), v.ravel()], axis=1)


class SamAutoRegions(RegionBackend):
    """The most likely sound sources among SAM's automatic masks (see the module docstring).

    Parameters
    ----------
    segmenter : str
        Hub id or folder of a SAM model.
    points_per_side : int
        Prompt grid size (``points_per_side²`` points).
    points_per_batch : int
        Points sent to the mask decoder at once (bounds memory).
    min_predicted_iou : float
        Candidates whose SAM-predicted IoU is below this are dropped (SAM's default 0.88).
    min_stability : float
        Candidates whose stability score is below this are dropped (SAM's default 0.95).
    nms_iou : float
        Masks overlapping a better one by more than this IoU are duplicates.
    device : str or None
        ``"cpu"``, ``"cuda"``, or None to use a GPU when there is one.
    """

    name = "sam"
    needs_weights = True

    def __init__(
        self,
        *,
        segmenter: str = DEFAULT_SEGMENTER,
        points_per_side: int = 16,
        points_per_batch: int = 64,
        min_predicted_iou: float = 0.88,
        min_stability: float = 0.95,
        nms_iou: float = 0.7,
        device: str | None = None,
    ) -> None:
        for field, value in (("points_per_side", points_per_side), ("points_per_batch", points_per_batch)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ParameterError(f"{field} must be a positive integer, got {value!r}")
        for field, value in (
            ("min_predicted_iou", min_predicted_iou),
            ("min_stability", min_stability),
            ("nms_iou", nms_iou),
        ):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
                raise ParameterError(f"{field} must be a number in [0, 1], got {value!r}")
        self.segmenter = segmenter
        self.points_per_side = points_per_side
        self.points_per_batch = points_per_batch
        self.min_predicted_iou = float(min_predicted_iou)
        self.min_stability = float(min_stability)
        self.nms_iou = float(nms_iou)
        self.device = choose_device(device)
        self.last_notes: tuple[str, ...] = ()
        self._sam: tuple[Any, Any] | None = None

    def find(self, image: LoadedImage, *, labels: list[str] | None, max_regions: int) -> list[Region]:
        """Up to ``max_regions`` unlabelled regions, best first. SAM does not name things, so ``labels``
        only adds a note: the assignment stage matches sounds to these regions.

        Raises
        ------
        ParameterError
            ``max_regions < 1``.
        InputFileError, DownloadError
            The SAM model cannot be found, downloaded or loaded.
        """
        if isinstance(max_regions, bool) or not isinstance(max_regions, int) or max_regions < 1:
            raise ParameterError(f"max_regions must be a positive integer, got {max_regions!r}")
        if self._sam is None:
            self._sam = load_sam(self.segmenter, device=self.device)
        model, processor = self._sam
        notes = [f"SAM {self.segmenter!r}, {self.points_per_side}×{self.points_per_side} point prompts"]
        if labels:
            notes.append("SAM does not recognise labels: regions are unlabelled, ranked by how likely they sound")
        logits, quality, crop = self._candidates(model, processor, image)
        masks = logits > 0.0
        nonempty = masks.any(axis=(1, 2))
        logits, masks, quality = logits[nonempty], masks[nonempty], quality[nonempty]
        small_rgb = _resize_rgb(image.rgb, crop)
        scores = sounding_scores(masks, small_rgb, quality)
        kept = mask_nms(masks, scores, self.nms_iou)[:max_regions]
        notes.append(f"{int(nonempty.sum())} candidate masks, {len(kept)} kept after deduplication")
        self.last_notes = tuple(notes)
        if not kept:
            return []
        full = _upsample(logits[kept], crop, image.height, image.width) > 0.0
        regions = []
        for index, mask in zip(kept, full, strict=True):
            rows, cols = np.nonzero(mask)
            if len(rows) == 0:
                continue  # vanished at full resolution (a one-cell speck)
            box = (float(cols.min()), float(rows.min()), float(cols.max() + 1), float(rows.max() + 1))
            regions.append(Region(mask=mask, box=box, label=None, score=float(scores[index]), backend=self.name))
        return regions

    def _candidates(self, model, processor, image: LoadedImage) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
        """Low-resolution logits ``(N, h, w)`` of the candidates passing the filters, their predicted IoU,
        and ``(h, w)``: the part of SAM's low-resolution grid that covers the image (the rest is padding)."""
        import torch

        points = point_grid(self.points_per_side, image.width, image.height)
        inputs = processor(
            images=to_pil(image.rgb),
            input_points=[[[[float(u), float(v)]] for u, v in points]],
            input_labels=[[[1] for _ in points]],
            return_tensors="pt",
        )
        with torch.no_grad():
            embeddings = model.get_image_embeddings(inputs["pixel_values"].to(self.device))
        pad = processor.image_processor.pad_size
        resized_h, resized_w = (int(x) for x in inputs["reshaped_input_sizes"][0])
        kept_logits, kept_quality = [], []
        crop = (0, 0)
        for start in range(0, len(points), self.points_per_batch):
            stop = start + self.points_per_batch
            with torch.no_grad():
                outputs = model(
                    image_embeddings=embeddings,
                    input_points=inputs["input_points"][:, start:stop].to(self.device),
                    input_labels=inputs["input_labels"][:, start:stop].to(self.device),
                    multimask_output=True,
                )
            low = outputs.pred_masks[0].float().cpu().numpy()  # (points, 3, h_low, w_low) over the padded input
            h_low, w_low = low.shape[-2:]
            crop = (
                max(1, math.ceil(resized_h * h_low / pad["height"])),
                max(1, math.ceil(resized_w * w_low / pad["width"])),
            )
            low = low[..., : crop[0], : crop[1]].reshape(-1, *crop)
            quality = outputs.iou_scores[0].float().cpu().numpy().reshape(-1)
            keep = (quality >= self.min_predicted_iou) & (stability_scores(low) >= self.min_stability)
            kept_logits.append(low[keep].astype(np.float16))
            kept_quality.append(quality[keep])
        logits = np.concatenate(kept_logits) if kept_logits else np.zeros((0, *crop), np.float16)
        return logits.astype(np.float32), np.concatenate(kept_quality) if kept_quality else np.zeros(0), crop


def _resize_rgb(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``rgb`` resized to ``size = (h, w)`` by area averaging (PIL box filter)."""
    from PIL import Image

    height, width = size
    image = to_pil(rgb).resize((width, height), Image.Resampling.BOX)
    return np.asarray(image, dtype=np.float64) / 255.0


def _upsample(logits: np.ndarray, crop: tuple[int, int], height: int, width: int) -> np.ndarray:
    """Low-resolution logits ``(N, h, w)`` covering the image → ``(N, height, width)`` by bilinear interpolation."""
    import torch

    tensor = torch.from_numpy(np.ascontiguousarray(logits, dtype=np.float32))[:, None]
    return torch.nn.functional.interpolate(tensor, size=(height, width), mode="bilinear", align_corners=False)[
        :, 0
    ].numpy()
