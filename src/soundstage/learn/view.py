"""The scene as a network sees it: a small stack of image channels, the same in training and use.

What transfers from synthetic training pictures to real photographs is not the pixels (a drawn
shape does not look like a real guitar) but what the vision pipeline extracts from any picture:
where the sounding objects are and how far away things are. So a view has up to three kinds of
channels, chosen per model by :class:`ViewConfig`:

``objects``
    A map in [0, 1] of where sounding objects are: in training the drawn objects' exact masks
    (augmented with the misses and false finds a region finder makes); in use the image pipeline's
    regions (:mod:`soundstage.vision.regions`), weighted by their scores.
``depth``
    Nearness ``1 / (1 + z)`` with ``z`` the z-depth in metres (0 where unknown): in training the
    drawn scene's exact depth; in use a depth file, a depth model or the geometric prior.
``rgb``
    The colour picture, centred on 0 (kept so that the choice can be measured, see the README).

All are resized to ``height × width`` (64 × 128 by default: the horizontal axis is the one that
carries azimuth, so it gets the resolution).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from soundstage.errors import ParameterError

VIEW_CHANNELS = ("objects", "depth", "rgb")


@dataclass(frozen=True)
class ViewConfig:
    """Which channels a model looks at and at what size.

    Attributes
    ----------
    inputs : tuple of str
        Channel kinds in order, from ``objects``, ``depth`` and ``rgb``.
    height, width : int
        Size of every channel in pixels.
    """

    inputs: tuple[str, ...] = ("objects", "depth")
    height: int = 64
    width: int = 128

    def __post_init__(self) -> None:
        unknown = [name for name in self.inputs if name not in VIEW_CHANNELS]
        if unknown or not self.inputs or len(set(self.inputs)) != len(self.inputs):
            raise ParameterError(
                f"view inputs {list(self.inputs)}: give distinct names from {', '.join(VIEW_CHANNELS)}"
            )

    @property
    def n_channels(self) -> int:
        """Number of image channels (rgb counts three)."""
        return sum(3 if name == "rgb" else 1 for name in self.inputs)

    def channel_slices(self, names: tuple[str, ...]) -> list[int]:
        """Indices of the channels of the given kinds, in view order."""
        indices: list[int] = []
        start = 0
        for name in self.inputs:
            width = 3 if name == "rgb" else 1
            if name in names:
                indices += list(range(start, start + width))
            start += width
        return indices


def nearness(depth_m: np.ndarray) -> np.ndarray:
    """``1 / (1 + z)`` for z-depth in metres; 0 where the depth is unknown (NaN) or not positive."""
    depth_m = np.asarray(depth_m, dtype=np.float32)
    valid = np.isfinite(depth_m) & (depth_m > 0)
    out = np.zeros_like(depth_m)
    out[valid] = 1.0 / (1.0 + depth_m[valid])
    return out


def resize_plane(plane: np.ndarray, height: int, width: int) -> np.ndarray:
    """A 2-D float array resized by area averaging (shrinking) or bilinear (growing)."""
    from PIL import Image

    image = Image.fromarray(np.ascontiguousarray(plane, dtype=np.float32), mode="F")
    shrinking = plane.shape[0] >= height and plane.shape[1] >= width
    resized = image.resize((width, height), Image.Resampling.BOX if shrinking else Image.Resampling.BILINEAR)
    return np.asarray(resized, dtype=np.float32)


def build_view(
    config: ViewConfig,
    *,
    objects: np.ndarray | None = None,
    depth_m: np.ndarray | None = None,
    rgb: np.ndarray | None = None,
) -> np.ndarray:
    """Stack the channels a model wants, resized to its view size.

    Parameters
    ----------
    config : ViewConfig
    objects : np.ndarray, shape (H, W), optional
        Sounding-object map in [0, 1].
    depth_m : np.ndarray, shape (H, W), optional
        z-depth in metres (NaN where unknown).
    rgb : np.ndarray, shape (H, W, 3), optional
        Colour in [0, 1] (float) or 0–255 (uint8).

    Returns
    -------
    np.ndarray, shape (config.n_channels, config.height, config.width), float32
    """
    planes: list[np.ndarray] = []
    given = {"objects": objects, "depth": depth_m, "rgb": rgb}
    for name in config.inputs:
        value = given[name]
        if value is None:
            raise ParameterError(f"this model looks at {name!r}; give it (the view needs {list(config.inputs)})")
        if name == "objects":
            planes.append(np.clip(resize_plane(value, config.height, config.width), 0.0, 1.0))
        elif name == "depth":
            planes.append(resize_plane(nearness(value), config.height, config.width))
        else:
            colour = np.asarray(value, dtype=np.float32)
            if np.asarray(value).dtype == np.uint8:
                colour = colour / 255.0
            planes += [resize_plane(colour[..., k], config.height, config.width) - 0.5 for k in range(3)]
    return np.stack(planes).astype(np.float32)
