"""The data every vision stage passes on, and the interfaces of the swappable stages.

The pipeline is image → :class:`LoadedImage` → (camera) → :class:`DepthMap` → :class:`Region` s
→ sounds assigned to regions → 3-D positions → scene. Each stage is an abstract class with
one method; backends register under a name in their stage's registry and are built from a
name plus keyword options, so a new model is one class and one registry entry.

Image coordinates: pixel ``(u, v)`` with ``u`` to the right and ``v`` down, origin at the
top-left corner of the top-left pixel, so pixel centres are at ``(i + 0.5, j + 0.5)``. Arrays
are indexed ``[v, u]`` (row, column), shape ``(height, width)``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from soundstage.errors import ParameterError

#: What a ``depth`` option may name besides a depth map's file: choose, the offline prior, a learned model.
DEPTH_KEYWORDS = ("auto", "geometric", "transformers")


@dataclass(frozen=True)
class LoadedImage:
    """An image ready for analysis.

    Attributes
    ----------
    rgb : np.ndarray, shape (H, W, 3), float32
        Colour in [0, 1], EXIF orientation applied, possibly downscaled for analysis.
    path : str
        Where it came from (for messages).
    original_size : tuple of int
        ``(width, height)`` of the full-resolution image after EXIF orientation, in pixels.
    scale : float
        ``rgb``'s width divided by the original width (1.0 when not downscaled): a pixel
        coordinate in ``rgb`` divided by ``scale`` is one in the original image.
    exif_focal_35mm : float or None
        Focal length in 35 mm film equivalent (mm) from EXIF, when the file has it.
    notes : tuple of str
        What loading did (converted from CMYK, rotated by EXIF, downscaled...), for ``--explain``.
    """

    rgb: np.ndarray
    path: str
    original_size: tuple[int, int]
    scale: float = 1.0
    exif_focal_35mm: float | None = None
    notes: tuple[str, ...] = ()

    @property
    def width(self) -> int:
        """Width of ``rgb`` in pixels."""
        return int(self.rgb.shape[1])

    @property
    def height(self) -> int:
        """Height of ``rgb`` in pixels."""
        return int(self.rgb.shape[0])


@dataclass(frozen=True)
class DepthMap:
    """Depth per pixel of a :class:`LoadedImage` (same height and width).

    Attributes
    ----------
    z_m : np.ndarray, shape (H, W), float32
        Depth along the camera's optical axis in metres (z-depth, as RGB-D cameras write it);
        NaN where unknown (no return, sky).
    metric : bool
        True when the values are metres from a metric source (a depth camera, a metric model);
        False when a relative estimate was scaled to metres by a stated rule.
    backend : str
        Name of the backend that produced it.
    notes : tuple of str
        How it was obtained and scaled, and its limits, for ``--explain``.
    estimated_horizontal_fov_deg : float or None
        The camera's horizontal field of view in degrees when the backend estimated it (Depth Pro
        does); the pipeline uses it when neither ``--fov`` nor EXIF gave one.
    """

    z_m: np.ndarray
    metric: bool
    backend: str
    notes: tuple[str, ...] = ()
    estimated_horizontal_fov_deg: float | None = None


@dataclass(frozen=True, eq=False)
class Region:
    """A part of the image that may emit sound (compared by identity: two regions are never "equal").

    Attributes
    ----------
    mask : np.ndarray, shape (H, W), bool
        The region's pixels in the analysed image.
    box : tuple of float
        ``(u0, v0, u1, v1)`` bounding box in analysed-image pixels.
    label : str or None
        What it is, when known (the detector's label, the user's name).
    score : float
        Confidence or saliency in [0, 1]; regions are ranked by it.
    backend : str
        Which backend found it.
    """

    mask: np.ndarray
    box: tuple[float, float, float, float]
    label: str | None
    score: float
    backend: str

    @property
    def area_fraction(self) -> float:
        """Share of the image the mask covers."""
        return float(np.mean(self.mask))

    def centroid(self) -> tuple[float, float]:
        """``(u, v)`` of the mask's centroid in analysed-image pixels (pixel centres at +0.5)."""
        rows, cols = np.nonzero(self.mask)
        if len(rows) == 0:
            u0, v0, u1, v1 = self.box
            return (u0 + u1) / 2.0, (v0 + v1) / 2.0
        return float(cols.mean() + 0.5), float(rows.mean() + 0.5)


class DepthBackend(ABC):
    """Depth for an image. ``name`` is the registry key; ``needs_weights`` says if it downloads models."""

    name: str
    needs_weights: bool = False

    @abstractmethod
    def estimate(self, image: LoadedImage, *, horizontal_fov_deg: float) -> DepthMap:
        """Depth of ``image`` seen by a camera of the given horizontal field of view (degrees)."""


class RegionBackend(ABC):
    """Sounding regions of an image. ``labels`` asks for named things; None asks for the most salient."""

    name: str
    needs_weights: bool = False

    @abstractmethod
    def find(self, image: LoadedImage, *, labels: list[str] | None, max_regions: int) -> list[Region]:
        """Up to ``max_regions`` regions, best first; with ``labels``, the best region per label
        (a label not found is left out, and the pipeline says so)."""


@dataclass
class Registry:
    """Backends of one stage by name: ``register(name, factory)``, ``create(name, **options)``."""

    stage: str
    factories: dict[str, Callable[..., Any]] = field(default_factory=dict)

    def register(self, name: str, factory: Callable[..., Any]) -> None:
        """Add a backend under ``name``."""
        self.factories[name] = factory

    def names(self) -> list[str]:
        """The registered names, in registration order."""
        return list(self.factories)

    def create(self, name: str, **options: Any) -> Any:
        """A backend built with ``options``; an unknown name is an error listing the known ones."""
        factory = self.factories.get(name)
        if factory is None:
            raise ParameterError(f"unknown {self.stage} backend {name!r}; use one of {', '.join(self.factories)}")
        return factory(**options)
