"""Regions the user gives: boxes and points in the original image's pixels.

``--region guitar=10,20,200,300`` is a box ``(x0, y0, x1, y1)`` (x right, y down, pixel edges, the
full-resolution image after EXIF rotation); ``--region guitar=120,340`` is a point. The label may be
left out (``--region 10,20,200,300``). Coordinates are converted to the analysed image with
:attr:`~soundstage.vision.stages.LoadedImage.scale`.

- A box's mask is the most salient connected component inside the box (saliency computed on the box
  plus a margin, so the box's surroundings count as background), when that component covers at least
  10 % of the box and its colour differs from its surroundings by at least ``min_delta_e``; otherwise
  the whole box. The region's ``box`` is the user's box.
- A point's mask is the classical segment containing it (:func:`.classical.segment_at`): the salient
  object there, or the patch of similar colour around it.

User regions have score 1 (the user said so) and keep the order given.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from soundstage.errors import ParameterError
from soundstage.vision.regions.classical import analyse_image, check_image_size, mask_box, segment_at
from soundstage.vision.stages import LoadedImage, Region, RegionBackend

_SYNTAX = "write LABEL=x0,y0,x1,y1 (a box) or LABEL=x,y (a point) in pixels of the original image"

#: A refined mask must cover at least this share of its box, else the whole box is used.
MIN_BOX_SHARE = 0.10


def parse_region_option(
    text: str, *, image_size: tuple[int, int] | None = None
) -> tuple[str | None, tuple[float, ...]]:
    """Parse ``LABEL=x0,y0,x1,y1`` (a box), ``LABEL=x,y`` (a point) or the same without ``LABEL=``.

    Parameters
    ----------
    text : str
        The option's value.
    image_size : tuple of int, optional
        ``(width, height)`` of the original image; when given, coordinates outside it are an error.

    Returns
    -------
    (str or None, tuple of float)
        The label (None when not given) and 4 box or 2 point coordinates, in original-image pixels.

    Examples
    --------
    >>> parse_region_option("guitar=10,20,200,300")
    ('guitar', (10.0, 20.0, 200.0, 300.0))
    >>> parse_region_option(" 120, 340 ")
    (None, (120.0, 340.0))
    """
    label: str | None = None
    numbers = text
    if "=" in text:
        label, _, numbers = text.rpartition("=")
        label = label.strip()
        if not label:
            raise ParameterError(f"region option {text!r}: the label before '=' is empty; {_SYNTAX}")
    values = []
    for item in numbers.split(","):
        try:
            values.append(float(item.strip()))
        except ValueError:
            raise ParameterError(f"region option {text!r}: {item.strip()!r} is not a number; {_SYNTAX}") from None
    coords = tuple(values)
    check_coordinates(coords, where=f"region option {text!r}")
    if image_size is not None:
        check_inside(coords, image_size, where=f"region option {text!r}")
    return label, coords


def check_coordinates(coords: Sequence[float], *, where: str) -> None:
    """Raise :class:`ParameterError` unless ``coords`` is a valid point ``(x, y)`` or box ``(x0, y0, x1, y1)``."""
    if len(coords) not in (2, 4):
        raise ParameterError(f"{where}: expected 2 numbers (a point) or 4 (a box), got {len(coords)}; {_SYNTAX}")
    if not all(math.isfinite(c) for c in coords):
        raise ParameterError(f"{where}: coordinates must be finite numbers; {_SYNTAX}")
    if min(coords) < 0:
        raise ParameterError(f"{where}: coordinates must be 0 or more (pixels from the top-left corner)")
    if len(coords) == 4:
        x0, y0, x1, y1 = coords
        if x1 <= x0:
            raise ParameterError(f"{where}: x1 ({x1:g}) must be greater than x0 ({x0:g}); {_SYNTAX}")
        if y1 <= y0:
            raise ParameterError(f"{where}: y1 ({y1:g}) must be greater than y0 ({y0:g}); {_SYNTAX}")


def check_inside(coords: Sequence[float], image_size: tuple[int, int], *, where: str) -> None:
    """Raise :class:`ParameterError` when a point or box lies outside a ``(width, height)`` image."""
    width, height = image_size
    if len(coords) == 4:
        inside = coords[2] <= width and coords[3] <= height
    else:
        inside = coords[0] < width and coords[1] < height
    if not inside:
        raise ParameterError(
            f"{where}: {_describe(coords)} lies outside the image ({width}×{height} px); "
            "give coordinates in pixels of the original, full-size image"
        )


class UserRegions(RegionBackend):
    """Regions from the user's boxes and points.

    Parameters
    ----------
    boxes : dict or list
        ``{label: coords}``; or a list whose items are ``(label, coords)`` pairs (label may be None),
        bare ``coords``, or option strings for :func:`parse_region_option`. ``coords`` is
        ``(x0, y0, x1, y1)`` or ``(x, y)`` in original-image pixels.
    min_delta_e : float
        Lab colour difference a box's salient component must have from its surroundings to replace the box.
    analysis_size, n_superpixels
        Passed to :func:`~soundstage.vision.regions.classical.analyse_image`.

    Examples
    --------
    >>> import numpy as np
    >>> from soundstage.vision.stages import LoadedImage
    >>> rgb = np.full((100, 200, 3), 0.8, dtype=np.float32)
    >>> rgb[20:40, 40:80] = (0.1, 0.2, 0.9)                  # a blue block, in a half-size copy
    >>> image = LoadedImage(rgb=rgb, path="desk.jpg", original_size=(400, 200), scale=0.5)
    >>> [region] = UserRegions({"radio": (60, 20, 180, 100)}).find(image, labels=None, max_regions=1)
    >>> region.label, region.box, int(region.mask.sum())
    ('radio', (30.0, 10.0, 90.0, 50.0), 800)
    """

    name = "user"
    needs_weights = False

    def __init__(
        self,
        boxes: Mapping[str, Sequence[float]] | Sequence[Any],
        *,
        min_delta_e: float = 10.0,
        analysis_size: int = 320,
        n_superpixels: int = 300,
    ) -> None:
        self.entries = _entries(boxes)
        self.min_delta_e = float(min_delta_e)
        self.analysis_size = int(analysis_size)
        self.n_superpixels = int(n_superpixels)

    def find(self, image: LoadedImage, *, labels: list[str] | None, max_regions: int) -> list[Region]:
        """The user's regions in the order given, at most ``max_regions``.

        With ``labels``, only the regions whose label matches one of them (after lower-casing and
        stripping), in the order of ``labels``.
        """
        if max_regions < 1:
            raise ParameterError(f"user regions: max_regions must be at least 1, got {max_regions}")
        check_image_size(image)
        entries = self.entries
        if labels is not None:
            wanted = [label.strip().lower() for label in labels]
            entries = [e for key in wanted for e in entries if e[0] is not None and e[0].strip().lower() == key]
        regions = []
        analysis = None  # of the whole image, computed once when a point needs it
        for label, coords in entries[:max_regions]:
            where = f"region {label!r}" if label else "region"
            check_inside(coords, image.original_size, where=f"{where} in {image.path}")
            if len(coords) == 4:
                regions.append(self._box_region(image, label, coords))
                continue
            if analysis is None:
                analysis = analyse_image(image.rgb, analysis_size=self.analysis_size, n_superpixels=self.n_superpixels)
            mask = segment_at(analysis, coords[0] * image.scale, coords[1] * image.scale)
            regions.append(Region(mask=mask, box=mask_box(mask), label=label, score=1.0, backend=self.name))
        return regions

    def _box_region(self, image: LoadedImage, label: str | None, coords: Sequence[float]) -> Region:
        box = tuple(float(c) * image.scale for c in coords)
        rows, cols = _pixel_span(box[1], box[3], image.height), _pixel_span(box[0], box[2], image.width)
        mask = np.zeros((image.height, image.width), dtype=bool)
        mask[rows, cols] = self._refine(image, rows, cols)
        return Region(mask=mask, box=box, label=label, score=1.0, backend=self.name)

    def _refine(self, image: LoadedImage, rows: slice, cols: slice) -> np.ndarray:
        """Mask inside the box (shape of the box's pixels): its most salient component, or all of it."""
        from scipy import ndimage
        from skimage.color import rgb2lab

        box_h, box_w = rows.stop - rows.start, cols.stop - cols.start
        whole = np.ones((box_h, box_w), dtype=bool)
        if min(box_h, box_w) < 8:
            return whole
        margin_v, margin_u = max(4, box_h // 4), max(4, box_w // 4)
        top, left = max(0, rows.start - margin_v), max(0, cols.start - margin_u)
        crop = image.rgb[top : rows.stop + margin_v, left : cols.stop + margin_u]
        analysis = analyse_image(crop, analysis_size=self.analysis_size, n_superpixels=self.n_superpixels)
        salient = analysis.to_image(analysis.salient)
        saliency = analysis.saliency_map()
        inner = (slice(rows.start - top, rows.stop - top), slice(cols.start - left, cols.stop - left))
        components, count = ndimage.label(salient[inner])
        if count == 0:
            return whole
        weight = ndimage.sum_labels(saliency[inner], components, index=np.arange(1, count + 1))
        best = components == 1 + int(np.argmax(weight))
        best = ndimage.binary_fill_holes(best)
        if best.mean() < MIN_BOX_SHARE:
            return whole
        # Only trust the component if its colour really differs from what surrounds it in the crop.
        lab = rgb2lab(np.clip(np.asarray(crop, dtype=np.float64), 0.0, 1.0))
        inside = np.zeros(crop.shape[:2], dtype=bool)
        inside[inner] = best
        if (~inside).sum() == 0:
            return whole
        delta_e = float(np.linalg.norm(lab[inside].mean(axis=0) - lab[~inside].mean(axis=0)))
        return best if delta_e >= self.min_delta_e else whole


def _entries(boxes: Mapping[str, Sequence[float]] | Sequence[Any]) -> list[tuple[str | None, tuple[float, ...]]]:
    """``(label, coords)`` of each given region, validated."""
    if isinstance(boxes, Mapping):
        items = list(boxes.items())
    else:
        items = []
        for item in boxes:
            if isinstance(item, str):
                items.append(parse_region_option(item))
            elif len(item) == 2 and (item[0] is None or isinstance(item[0], str)):
                items.append((item[0], item[1]))
            else:
                items.append((None, item))
    entries = []
    for label, coords in items:
        try:
            values = tuple(float(c) for c in coords)
        except (TypeError, ValueError):
            raise ParameterError(f"region {label!r}: coordinates {coords!r} are not numbers; {_SYNTAX}") from None
        check_coordinates(values, where=f"region {label!r}" if label else "region")
        entries.append((label, values))
    return entries


def _pixel_span(start: float, stop: float, size: int) -> slice:
    """Pixels whose centres ``i + 0.5`` lie in ``[start, stop)``, at least the one holding the midpoint."""
    first = max(0, math.ceil(start - 0.5))
    last = min(size, math.ceil(stop - 0.5))
    if last <= first:
        middle = min(max(int((start + stop) / 2), 0), size - 1)
        return slice(middle, middle + 1)
    return slice(first, last)


def _describe(coords: Sequence[float]) -> str:
    kind = "box" if len(coords) == 4 else "point"
    return f"{kind} ({', '.join(f'{c:g}' for c in coords)})"
