"""Sounding regions by name: open-vocabulary detection (OWLv2, OWL-ViT, Grounding DINO) refined to masks by SAM.

For each label asked for (``--source car=engine.wav`` asks for ``car``) the detector scores every
candidate box against the label's text; boxes scoring above ``threshold`` are kept, near-duplicate
boxes of one label are merged (box IoU > 0.5, the best kept), and the best box per label is
returned — or the best *n* when *n* sounds carry the same label. SAM then cuts each box to the
object's mask (box prompt, one mask); the mask is clipped to its box, and an empty cut falls back
to the box itself, so a region never leaks outside what the detector found. ``Region.box`` is the
detector's box (clipped to the image), the mask lies inside it.

Scores are the detector's probabilities (sigmoid of its logits), in [0, 1]:

- **OWLv2 / OWL-ViT**: one logit per (image patch, text query); the label text is the query.
  OWLv2 pads the image to a square (bottom/right) before resizing, so its normalised boxes are
  fractions of the padded square's side; OWL-ViT stretches the image, so its boxes are fractions
  of the width and height.
- **Grounding DINO** (and MM-Grounding-DINO): one logit per (query box, text token) for the prompt
  ``"label one. label two."``; a label's score is the largest over its own tokens, found from the
  tokenizer's character offsets.

A label with no box above ``threshold`` is left out (:attr:`DetectionRegions.last_notes` says
so, with its best score), for the pipeline to report and suggest a user box.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from soundstage.errors import InputFileError, ParameterError
from soundstage.hub import choose_device, load_pretrained, resolve_model
from soundstage.vision.models import load_sam, to_pil
from soundstage.vision.stages import LoadedImage, Region, RegionBackend

#: Default open-vocabulary detector.
DEFAULT_DETECTOR = "google/owlv2-base-patch16-ensemble"

#: Default segmenter refining boxes to masks.
DEFAULT_SEGMENTER = "facebook/sam-vit-base"

#: Default detection probability a box must exceed.
DEFAULT_THRESHOLD = 0.2

#: Boxes of one label overlapping more than this (IoU) are the same object.
SAME_OBJECT_IOU = 0.5

_OWL_TYPES = ("owlv2", "owlvit")
_DINO_TYPES = ("grounding-dino", "mm-grounding-dino")
_OFFLINE_ALTERNATIVE = "pass --detector PATH to a downloaded copy, give boxes with --region, or use --regions classical"


class DetectionRegions(RegionBackend):
    """Regions for named labels: detector boxes, refined to masks by SAM.

    Parameters
    ----------
    detector : str
        Hub id or folder of an OWLv2, OWL-ViT or Grounding DINO model.
    segmenter : str or None
        Hub id or folder of a SAM model; None keeps the detector's boxes as masks.
    threshold : float
        Detection probability in [0, 1] a box must exceed to count (1.0 finds nothing).
    device : str or None
        ``"cpu"``, ``"cuda"``, or None to use a GPU when there is one.
    """

    name = "detect"
    needs_weights = True

    def __init__(
        self,
        *,
        detector: str = DEFAULT_DETECTOR,
        segmenter: str | None = DEFAULT_SEGMENTER,
        threshold: float = DEFAULT_THRESHOLD,
        device: str | None = None,
    ) -> None:
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0.0 <= threshold <= 1.0:
            raise ParameterError(f"detection threshold must be a number in [0, 1], got {threshold!r}")
        self.detector = detector
        self.segmenter = segmenter
        self.threshold = float(threshold)
        self.device = choose_device(device)
        self.last_notes: tuple[str, ...] = ()
        self._detector: tuple[Any, Any, str] | None = None
        self._segmenter: tuple[Any, Any] | None = None

    def find(self, image: LoadedImage, *, labels: list[str] | None, max_regions: int) -> list[Region]:
        """The best region per label (several for a repeated label), best first, at most ``max_regions``.

        Raises
        ------
        ParameterError
            No labels (this backend finds named things only), an empty label, or ``max_regions < 1``.
        InputFileError, DownloadError
            A model cannot be found, downloaded or loaded.
        """
        wanted = _check_labels(labels)
        _check_max_regions(max_regions)
        counts = Counter(wanted)
        queries = list(counts)
        scores, boxes = self._detect(image, queries)
        notes: list[str] = [f"detector {self.detector!r}, threshold {self.threshold:g}"]
        chosen: list[tuple[float, str, np.ndarray]] = []
        for q, label in enumerate(queries):
            order = np.argsort(-scores[:, q], kind="stable")
            passing = [i for i in order if scores[i, q] > self.threshold]
            kept = box_nms(boxes[passing], scores[passing, q], SAME_OBJECT_IOU)[: counts[label]]
            if not kept:
                best = float(scores[:, q].max()) if len(scores) else 0.0
                notes.append(f"{label!r} not found (best score {best:.2f} ≤ threshold {self.threshold:g})")
            elif len(kept) < counts[label]:
                notes.append(f"{label!r}: {counts[label]} asked for, {len(kept)} found")
            chosen.extend((float(scores[passing[k], q]), label, boxes[passing[k]]) for k in kept)
        chosen.sort(key=lambda item: -item[0])
        chosen = chosen[:max_regions]
        if not chosen:
            self.last_notes = tuple(notes)
            return []
        box_array = np.array([box for _, _, box in chosen])
        masks = self._masks(image, box_array, notes)
        self.last_notes = tuple(notes)
        return [
            Region(mask=mask, box=tuple(float(x) for x in box), label=label, score=score, backend=self.name)
            for (score, label, box), mask in zip(chosen, masks, strict=True)
        ]

    def _load_detector(self) -> tuple[Any, Any, str]:
        if self._detector is None:
            folder = resolve_model(
                self.detector, purpose="open-vocabulary detection", offline_alternative=_OFFLINE_ALTERNATIVE
            )
            from transformers import AutoConfig, AutoModelForZeroShotObjectDetection, AutoProcessor

            config = load_pretrained(AutoConfig, folder, purpose="open-vocabulary detection")
            model_type = getattr(config, "model_type", None)
            if model_type not in _OWL_TYPES + _DINO_TYPES:
                raise InputFileError(
                    f"detector {self.detector!r} is a {model_type!r} model; use OWLv2, OWL-ViT or Grounding DINO "
                    f"(e.g. {DEFAULT_DETECTOR!r} or 'IDEA-Research/grounding-dino-tiny')"
                )
            model = load_pretrained(AutoModelForZeroShotObjectDetection, folder, purpose="open-vocabulary detection")
            processor = load_pretrained(AutoProcessor, folder, purpose="open-vocabulary detection")
            self._detector = (model.to(self.device).eval(), processor, model_type)
        return self._detector

    def _detect(self, image: LoadedImage, queries: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Scores ``(N, len(queries))`` in [0, 1] and boxes ``(N, 4)`` (u0, v0, u1, v1) in analysed pixels."""
        model, processor, model_type = self._load_detector()
        if model_type in _OWL_TYPES:
            scores, boxes = _detect_owl(model, processor, model_type, image, queries, self.device)
        else:
            scores, boxes = _detect_grounding_dino(model, processor, image, queries, self.device)
        # A box left with less than a pixel's width or height after clipping to the image holds no pixel.
        too_thin = (boxes[:, 2] - boxes[:, 0] < 1.0) | (boxes[:, 3] - boxes[:, 1] < 1.0)
        scores[too_thin] = 0.0
        return scores, boxes

    def _masks(self, image: LoadedImage, boxes: np.ndarray, notes: list[str]) -> np.ndarray:
        """Boolean masks ``(N, H, W)``: SAM's cut of each box, clipped to the box (the box when the cut is empty)."""
        inside = box_masks(boxes, image.height, image.width)
        if self.segmenter is None:
            notes.append("no segmenter: regions are the detector's boxes")
            return inside
        if self._segmenter is None:
            self._segmenter = load_sam(self.segmenter, device=self.device)
        model, processor = self._segmenter
        cut = segment_boxes(model, processor, image, boxes, self.device) & inside
        empty = ~cut.any(axis=(1, 2))
        if np.any(empty):
            notes.append(f"SAM found nothing inside {int(empty.sum())} box(es): the box is used as the mask")
            cut[empty] = inside[empty]
        notes.append(f"boxes refined to masks with SAM {self.segmenter!r}")
        return cut


def _check_labels(labels: list[str] | None) -> list[str]:
    if not labels:
        raise ParameterError(
            "the detect region backend finds named things: give labels (--source LABEL=FILE), "
            "or use --regions sam or classical for unlabelled sounds"
        )
    cleaned = []
    for label in labels:
        if not isinstance(label, str) or not label.strip():
            raise ParameterError(f"detection labels must be non-empty text, got {label!r}")
        cleaned.append(label.strip())
    return cleaned


def _check_max_regions(max_regions: int) -> None:
    if isinstance(max_regions, bool) or not isinstance(max_regions, int) or max_regions < 1:
        raise ParameterError(f"max_regions must be a positive integer, got {max_regions!r}")


def _sigmoid(logits: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(logits, -60.0, 60.0)))


def _corners(cxcywh: np.ndarray, scale_u: float, scale_v: float, width: int, height: int) -> np.ndarray:
    """Normalised (cx, cy, w, h) → (u0, v0, u1, v1) pixels, clipped to the image."""
    cx, cy, w, h = (cxcywh[:, i] for i in range(4))
    u0, u1 = (cx - w / 2) * scale_u, (cx + w / 2) * scale_u
    v0, v1 = (cy - h / 2) * scale_v, (cy + h / 2) * scale_v
    boxes = np.stack([u0, v0, u1, v1], axis=1)
    boxes[:, [0, 2]] = np.clip(boxes[:, [0, 2]], 0.0, width)
    boxes[:, [1, 3]] = np.clip(boxes[:, [1, 3]], 0.0, height)
    return boxes


def _detect_owl(model, processor, model_type: str, image: LoadedImage, queries: list[str], device: str):
    import torch

    inputs = processor(text=[queries], images=to_pil(image.rgb), return_tensors="pt").to(device)
    with torch.no_grad():
        outputs = model(**inputs)
    logits = outputs.logits[0].float().cpu().numpy()  # (patches, queries)
    cxcywh = outputs.pred_boxes[0].float().cpu().numpy()
    if model_type == "owlv2":
        # OWLv2 pads to a square (bottom/right) first: box fractions are of the square's side.
        side = float(max(image.width, image.height))
        scale_u = scale_v = side
    else:
        scale_u, scale_v = float(image.width), float(image.height)
    return _sigmoid(logits.astype(np.float64)), _corners(cxcywh, scale_u, scale_v, image.width, image.height)


def grounding_prompt(queries: list[str]) -> tuple[str, list[tuple[int, int]]]:
    """Grounding DINO's prompt for ``queries`` and each query's character span in it.

    Grounding DINO expects lower-case phrases, each ended by a full stop.

    Examples
    --------
    >>> grounding_prompt(["Car", "person"])
    ('car. person.', [(0, 3), (5, 11)])
    """
    text, spans = "", []
    for query in queries:
        phrase = query.lower().strip().rstrip(".")
        start = len(text)
        spans.append((start, start + len(phrase)))
        text += phrase + ". "
    return text.strip(), spans


def _detect_grounding_dino(model, processor, image: LoadedImage, queries: list[str], device: str):
    import torch

    text, spans = grounding_prompt(queries)
    inputs = processor(images=to_pil(image.rgb), text=text, return_tensors="pt").to(device)
    with torch.no_grad():
        outputs = model(**inputs)
    logits = outputs.logits[0].float().cpu().numpy()  # (boxes, max_text_len)
    cxcywh = outputs.pred_boxes[0].float().cpu().numpy()
    offsets = processor.tokenizer(text, return_offsets_mapping=True)["offset_mapping"]
    n_tokens = min(len(offsets), logits.shape[1])
    probabilities = _sigmoid(logits[:, :n_tokens].astype(np.float64))
    scores = np.zeros((len(cxcywh), len(queries)))
    for q, (start, end) in enumerate(spans):
        tokens = [i for i, (a, b) in enumerate(offsets[:n_tokens]) if b > a and a >= start and b <= end]
        if not tokens:
            raise InputFileError(
                f"detector tokenizer turned label {queries[q]!r} into no tokens; use a different word for it"
            )
        scores[:, q] = probabilities[:, tokens].max(axis=1)
    return scores, _corners(cxcywh, float(image.width), float(image.height), image.width, image.height)


def box_iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one ``(u0, v0, u1, v1)`` box with each of ``boxes`` ``(N, 4)``.

    Examples
    --------
    >>> box_iou(np.array([0, 0, 2, 2]), np.array([[1, 0, 3, 2], [5, 5, 6, 6]])).tolist()
    [0.3333333333333333, 0.0]
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    width = np.clip(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]), 0.0, None)
    height = np.clip(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]), 0.0, None)
    overlap = width * height
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    union = area + areas - overlap
    return np.divide(overlap, union, out=np.zeros_like(overlap), where=union > 0)


def box_nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> list[int]:
    """Indices of the boxes kept by greedy non-maximum suppression, best score first.

    Examples
    --------
    >>> box_nms(np.array([[0, 0, 2, 2], [0, 0, 2, 2.1], [5, 5, 6, 6]]), np.array([0.5, 0.9, 0.7]), 0.5)
    [1, 2]
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    kept: list[int] = []
    for i in np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable"):
        if not kept or np.all(box_iou(boxes[i], boxes[kept]) <= iou_threshold):
            kept.append(int(i))
    return kept


def box_masks(boxes: np.ndarray, height: int, width: int) -> np.ndarray:
    """Boolean masks ``(N, H, W)`` of the pixels whose centres lie inside each box."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    centres_u = np.arange(width) + 0.5
    centres_v = np.arange(height) + 0.5
    in_u = (centres_u[None, :] >= boxes[:, :1]) & (centres_u[None, :] <= boxes[:, 2:3])
    in_v = (centres_v[None, :] >= boxes[:, 1:2]) & (centres_v[None, :] <= boxes[:, 3:4])
    return in_v[:, :, None] & in_u[:, None, :]


def segment_boxes(model, processor, image: LoadedImage, boxes: np.ndarray, device: str) -> np.ndarray:
    """SAM's mask for each box prompt: boolean ``(N, H, W)`` at the analysed image's size."""
    import torch

    prompts = [[[float(x) for x in box] for box in np.asarray(boxes).reshape(-1, 4)]]
    inputs = processor(images=to_pil(image.rgb), input_boxes=prompts, return_tensors="pt")
    with torch.no_grad():
        outputs = model(
            pixel_values=inputs["pixel_values"].to(device),
            input_boxes=inputs["input_boxes"].to(device),
            multimask_output=False,
        )
    masks = processor.image_processor.post_process_masks(
        outputs.pred_masks.cpu(), inputs["original_sizes"], inputs["reshaped_input_sizes"]
    )[0]  # (N, 1, H, W)
    result = masks[:, 0].numpy().astype(bool)
    if result.shape[1:] != (image.height, image.width):
        raise InputFileError(f"SAM returned masks of {result.shape[1:]} for a {image.height}×{image.width} image")
    return result
