"""Loading a picture for analysis: orientation, colour mode, size and the camera hints it carries.

:func:`load_image` turns any image Pillow reads into a :class:`~soundstage.vision.stages.LoadedImage`:
float32 RGB in [0, 1], upright (EXIF orientation applied), and no larger than ``max_side`` pixels
on its longer side. What it did is written in ``notes`` for ``--explain``:

- CMYK, YCbCr and other colour modes are converted to RGB by Pillow (no colour management);
- grayscale (8-bit, 16-bit, 32-bit integer or float) is repeated into the three channels,
  16-bit values scaled by 1/65535;
- palette images are expanded through their palette;
- transparency is composited on **white** (as a page or a viewer shows a transparent PNG), so
  transparent pixels do not turn into black objects for the region finder;
- a large image is downscaled (Lanczos) for analysis; ``scale`` and ``original_size`` keep the way
  back to the full-resolution pixels (:func:`to_original`, :func:`to_analysed`).

Pillow is imported inside the functions, so importing this module stays cheap.
"""

from __future__ import annotations

import math
import struct
import warnings
from pathlib import Path

import numpy as np

from soundstage.errors import InputFileError, ParameterError
from soundstage.vision.stages import LoadedImage

#: EXIF tag numbers (EXIF 2.3): Orientation in IFD0, the Exif sub-IFD pointer, and FocalLengthIn35mmFilm.
_TAG_ORIENTATION = 0x0112
_TAG_EXIF_IFD = 0x8769
_TAG_FOCAL_35MM = 0xA405

#: What each EXIF orientation value asks a viewer to do (EXIF 2.3, tag 274).
_ORIENTATION_WORDS = {
    2: "mirrored left-right",
    3: "rotated 180°",
    4: "mirrored top-bottom",
    5: "transposed (mirrored and rotated 90°)",
    6: "rotated 90° clockwise",
    7: "transversed (mirrored and rotated 270°)",
    8: "rotated 90° counter-clockwise",
}

#: Grayscale modes Pillow cannot resize or convert to 8-bit RGB without losing range; handled as floats.
_HIGH_DEPTH_GRAY = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")


#: What Pillow raises on damaged files besides OSError: its decoders index, unpack and divide by what
#: a file's header says, so a corrupt header surfaces as any of these.
PILLOW_DECODE_ERRORS = (
    OSError,
    SyntaxError,
    ValueError,
    IndexError,
    EOFError,
    KeyError,
    TypeError,
    ZeroDivisionError,
    struct.error,
)


def load_image(path: str | Path, *, max_side: int = 1024) -> LoadedImage:
    """Read an image file as upright float RGB, downscaled for analysis when large.

    Parameters
    ----------
    path : str or Path
        Image file (JPEG, PNG, TIFF, WebP... anything Pillow reads; the first frame of an animation).
    max_side : int, default 1024
        Longest side in pixels of the analysed image; larger images are downscaled, smaller
        ones are kept as they are (never upscaled).

    Returns
    -------
    LoadedImage
        ``rgb`` of shape (H, W, 3), float32 in [0, 1]; ``original_size`` is ``(width, height)``
        after EXIF orientation; ``scale`` is analysed width / original width;
        ``exif_focal_35mm`` is the EXIF 35 mm-equivalent focal length in mm, or None.

    Raises
    ------
    InputFileError
        The file is missing, empty, not an image, or corrupt/truncated.
    ParameterError
        ``max_side`` is not a positive integer.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    if isinstance(max_side, bool) or not isinstance(max_side, (int, np.integer)) or max_side < 1:
        raise ParameterError(f"max_side must be a positive whole number of pixels, got {max_side!r}")
    from soundstage.io.inputs import record_input

    path = Path(path)
    record_input(path)
    _check_file(path)
    name = str(path)
    notes: list[str] = []
    try:
        with warnings.catch_warnings(record=True) as pillow_warnings:
            # Pillow warns (and above twice the limit raises) on decompression bombs; the error is kept below.
            # Its other warnings (damaged metadata, a truncated tag) go to the stage's notes: when the image
            # cannot be read the one error line says so, and when it can, --explain shows what was odd.
            warnings.simplefilter("always")
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(path)
            full_width, full_height = (int(side) for side in img.size)
            orientation = _orientation(img)
            focal_35mm = _exif_focal_35mm(img)
            n_frames = int(getattr(img, "n_frames", 1))
            _draft_for_size(img, max_side)
            img.load()
            if orientation != 1:
                img = ImageOps.exif_transpose(img)
    except Image.DecompressionBombError as error:
        raise InputFileError(f"image {name!r} is too large to decode safely ({error}); downscale it first") from None
    except UnidentifiedImageError:
        raise InputFileError(f"image {name!r} is not an image file Pillow can read; give a JPEG or PNG") from None
    except PILLOW_DECODE_ERRORS as error:
        raise InputFileError(f"image {name!r} is corrupt or truncated ({error}); re-export or re-download it") from None
    notes.extend(f"Pillow: {' '.join(str(w.message).split())}" for w in pillow_warnings)
    # Orientations 5-8 swap the axes (a portrait photo stored landscape).
    swapped = orientation in (5, 6, 7, 8)
    original_size = (full_height, full_width) if swapped else (full_width, full_height)
    if orientation in _ORIENTATION_WORDS:
        notes.append(f"EXIF orientation {orientation}: {_ORIENTATION_WORDS[orientation]} to stand upright")
    if n_frames > 1:
        notes.append(f"first of {n_frames} frames used")
    if img.size != original_size:
        # draft() decoded a JPEG at a reduced DCT scale to save memory; the mapping stays relative to the full size.
        notes.append(f"JPEG decoded at reduced size {img.size[0]}×{img.size[1]} to save memory")

    target = _analysis_size(original_size, max_side)
    if img.mode in _HIGH_DEPTH_GRAY:
        gray, note = _gray_to_float(img)
        notes.append(note)
        if img.size != target:
            gray = np.asarray(Image.fromarray(gray.astype(np.float32)).resize(target, Image.Resampling.LANCZOS))
        rgb = np.repeat(np.clip(gray, 0.0, 1.0)[..., None], 3, axis=2)
    else:
        img, mode_notes = _to_rgb8(img)
        notes.extend(mode_notes)
        if img.size != target:
            img = img.resize(target, Image.Resampling.LANCZOS)
        rgb = np.asarray(img, dtype=np.float32) / np.float32(255.0)
    if target != original_size:
        notes.append(
            f"downscaled from {original_size[0]}×{original_size[1]} to {target[0]}×{target[1]} for analysis"
            f" (max_side={int(max_side)})"
        )
    return LoadedImage(
        rgb=np.ascontiguousarray(rgb, dtype=np.float32),
        path=str(path),
        original_size=original_size,
        scale=target[0] / original_size[0],
        exif_focal_35mm=focal_35mm,
        notes=tuple(notes),
    )


def to_original(
    u: np.ndarray | float, v: np.ndarray | float, image: LoadedImage
) -> tuple[np.ndarray | float, np.ndarray | float]:
    """Map analysed-image pixel coordinates to full-resolution ones.

    Coordinates are continuous (pixel centres at ``i + 0.5``); each axis uses its own exact ratio
    (original size / analysed size), which equals ``1 / image.scale`` up to the rounding of the
    analysed size to whole pixels.

    Parameters
    ----------
    u, v : float or np.ndarray
        Column and row coordinates in the analysed image (broadcast together).
    image : LoadedImage
        The image they refer to.

    Returns
    -------
    u, v : float or np.ndarray
        The same points in the original (EXIF-upright) image's pixels.

    Examples
    --------
    >>> img = LoadedImage(np.zeros((50, 100, 3), np.float32), "x.png", (200, 100), scale=0.5)
    >>> to_original(10.0, 5.0, img)
    (20.0, 10.0)
    """
    sx, sy = _axis_ratios(image)
    return _like(np.asarray(u, dtype=float) / sx, u), _like(np.asarray(v, dtype=float) / sy, v)


def to_analysed(
    u: np.ndarray | float, v: np.ndarray | float, image: LoadedImage
) -> tuple[np.ndarray | float, np.ndarray | float]:
    """Map full-resolution pixel coordinates to analysed-image ones (inverse of :func:`to_original`).

    Examples
    --------
    >>> img = LoadedImage(np.zeros((50, 100, 3), np.float32), "x.png", (200, 100), scale=0.5)
    >>> to_analysed(20.0, 10.0, img)
    (10.0, 5.0)
    """
    sx, sy = _axis_ratios(image)
    return _like(np.asarray(u, dtype=float) * sx, u), _like(np.asarray(v, dtype=float) * sy, v)


def _axis_ratios(image: LoadedImage) -> tuple[float, float]:
    """Analysed size over original size, per axis."""
    width, height = image.original_size
    return image.width / width, image.height / height


def _like(values: np.ndarray, given: np.ndarray | float) -> np.ndarray | float:
    """A Python float when the caller gave a scalar, else the array."""
    return float(values) if np.ndim(given) == 0 else values


def _check_file(path: Path) -> None:
    """Missing, directory and empty files get their own message before Pillow sees them."""
    from soundstage.io.inputs import check_input_file

    check_input_file(path, where=f"image {str(path)!r}", kind="image file")
    if path.stat().st_size == 0:
        raise InputFileError(f"image {str(path)!r} is empty (0 bytes); re-export or re-download it")


def _exif(img):
    """The image's EXIF block (empty when it has none or it is unreadable)."""
    try:
        return img.getexif()
    except Exception:  # a malformed EXIF block must not stop the picture from loading
        from PIL import Image

        return Image.Exif()


def _orientation(img) -> int:
    """EXIF orientation value (1 = upright) of an open image."""
    try:
        value = int(_exif(img).get(_TAG_ORIENTATION, 1))
    except (TypeError, ValueError):
        return 1
    return value if value in range(1, 9) else 1


def _exif_focal_35mm(img) -> float | None:
    """FocalLengthIn35mmFilm (mm) from the Exif sub-IFD, or IFD0 where some writers put it; 0 means unknown."""
    exif = _exif(img)
    value = None
    try:
        value = exif.get_ifd(_TAG_EXIF_IFD).get(_TAG_FOCAL_35MM)
    except Exception:  # a malformed sub-IFD is simply "no focal length"
        value = None
    if value is None:
        value = exif.get(_TAG_FOCAL_35MM)
    try:
        focal = float(value) if value is not None else None
    except (TypeError, ValueError):
        return None
    return focal if focal is not None and math.isfinite(focal) and focal > 0 else None


def _draft_for_size(img, max_side: int) -> None:
    """Let a large JPEG decode at a reduced DCT scale that is still at least the analysis size."""
    if img.format != "JPEG" or max(img.size) <= max_side:
        return
    width, height = img.size
    target = _analysis_size((width, height), max_side)
    # draft keeps both sides >= the request, so the final Lanczos resize still does the real downscale.
    img.draft(img.mode if img.mode in ("RGB", "L", "CMYK") else "RGB", target)


def _analysis_size(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    """``(width, height)`` with the longer side at most ``max_side``, aspect ratio kept."""
    width, height = size
    longest = max(width, height)
    if longest <= max_side:
        return int(width), int(height)
    factor = max_side / longest
    return max(1, round(width * factor)), max(1, round(height * factor))


def _gray_to_float(img) -> tuple[np.ndarray, str]:
    """High-bit-depth grayscale as float32 in [0, 1], and what was done."""
    values = np.asarray(img)
    if img.mode == "F":
        gray = values.astype(np.float32)
        finite = gray[np.isfinite(gray)]
        top = float(finite.max()) if finite.size else 1.0
        gray = np.nan_to_num(gray, nan=0.0, posinf=top, neginf=0.0)
        if top > 1.0:
            # A float image beyond [0, 1] has no agreed white; scale its maximum to white.
            return gray / np.float32(top), f"float grayscale scaled by 1/{top:g} (its maximum) to [0, 1]"
        return gray, "float grayscale used as [0, 1]"
    if img.mode.startswith("I;16"):
        return values.astype(np.float32) / np.float32(65535.0), "16-bit grayscale scaled by 1/65535"
    # Mode "I" (32-bit integer): Pillow uses it for 16-bit PNG/TIFF data too, so 65535 is white.
    gray = np.clip(values.astype(np.float64), 0.0, None)
    top = max(float(gray.max()) if gray.size else 0.0, 65535.0)
    return (gray / top).astype(np.float32), f"32-bit integer grayscale scaled by 1/{top:g}"


def _to_rgb8(img):
    """An 8-bit RGB Pillow image and the notes saying what conversion it took."""
    from PIL import Image

    mode = img.mode
    notes: list[str] = []
    if mode == "P" or mode == "PA":
        has_alpha = mode == "PA" or "transparency" in img.info
        img = img.convert("RGBA" if has_alpha else "RGB")
        notes.append("palette image expanded to RGB")
        mode = img.mode
    if mode in ("RGBA", "LA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        alpha = np.asarray(rgba.getchannel("A"))
        if alpha.min() < 255:
            white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            img = Image.alpha_composite(white, rgba).convert("RGB")
            notes.append(f"transparency ({mode}) composited on white")
        else:
            img = rgba.convert("RGB")
            notes.append(f"alpha channel of {mode} dropped (fully opaque)")
        if mode.startswith("L"):
            notes.append("grayscale repeated into R, G and B")
        return img, notes
    if mode == "RGB":
        return img, notes
    if mode in ("L", "1"):
        notes.append("grayscale repeated into R, G and B" if mode == "L" else "1-bit image expanded to RGB")
        return img.convert("RGB"), notes
    converted = img.convert("RGB")
    notes.append(f"converted from {mode} to RGB" + (" (no colour management)" if mode == "CMYK" else ""))
    return converted, notes
