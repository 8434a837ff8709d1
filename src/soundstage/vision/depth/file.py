"""Depth from a file written by a 3-D camera or another tool: metric and exact, no model involved.

Accepted files (z-depth along the optical axis, registered pixel for pixel to the colour image):

- **16-bit PNG** (or TIFF) in **millimetres**, the way RGB-D cameras (Kinect, RealSense, iPhone
  exports) write it; 0 means "no return". 8-bit and colour PNGs are refused: 256 levels cannot
  hold metric depth, and a colour depth picture is a visualisation, not data.
- **NPY / NPZ** in **metres** (float). Integer arrays need their unit stated (``units``).
- **EXR** in metres, when the ``OpenEXR`` Python module (>= 3.3) is installed.

``units`` overrides the unit: ``"m"``, ``"cm"``, ``"mm"`` or a number of metres per stored unit
(e.g. 0.0002 for the TUM RGB-D dataset's 1/5000 m). Zero, negative and non-finite values
become NaN (unknown). The map must have the size of the original image; it is reduced to the
analysed size by a NaN-aware median over each analysed pixel's footprint, so holes do not
spread and object edges stay sharp.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from soundstage.errors import InputFileError, ParameterError
from soundstage.vision.stages import DepthBackend, DepthMap, LoadedImage

#: Metres per unit for the unit names ``units`` accepts.
UNIT_METRES = {"m": 1.0, "cm": 0.01, "mm": 0.001}

#: Most samples per axis taken from an analysed pixel's footprint when reducing (bounds memory).
_MAX_TAPS = 4

#: NPZ keys tried, in order, when the archive holds several arrays.
_NPZ_KEYS = ("depth", "z_m", "depth_m", "z")

#: EXR channels tried, in order (depth passes are usually "Z"; single-channel exports often "Y" or "R").
_EXR_CHANNELS = ("Z", "depth", "Depth", "D", "distance", "Y", "R")


class FileDepth(DepthBackend):
    """Depth read from a file registered to the image (see the module docstring for formats).

    Parameters
    ----------
    path : str or Path
        The depth file.
    units : str or float or None
        ``"m"``, ``"cm"``, ``"mm"``, or metres per stored unit; None uses the format's convention
        (PNG: mm, NPY/NPZ/EXR float: m).
    """

    name = "file"
    needs_weights = False

    def __init__(self, path: str | Path, *, units: str | float | None = None) -> None:
        self.path = Path(path)
        self.metres_per_unit = metres_per_unit(units)

    def estimate(self, image: LoadedImage, *, horizontal_fov_deg: float) -> DepthMap:
        """The file's depth at the analysed image's size.

        ``horizontal_fov_deg`` is not needed: the file already holds z-depth per pixel.

        Raises
        ------
        InputFileError
            Missing/unreadable file, unsupported format, or a size that is not the image's.
        """
        z_m, notes = read_depth_file(self.path, units=self.metres_per_unit)
        height, width = z_m.shape
        original_width, original_height = image.original_size
        if (width, height) != (original_width, original_height):
            raise InputFileError(
                f"depth file {str(self.path)!r}: the depth map is {width}×{height} but the image is"
                f" {original_width}×{original_height}; give the depth map registered to this image"
            )
        if (width, height) != (image.width, image.height):
            z_m = reduce_depth(z_m, image.width, image.height)
            notes.append(
                f"reduced from {width}×{height} to {image.width}×{image.height} by a median over each pixel's footprint"
            )
        return DepthMap(z_m=z_m.astype(np.float32), metric=True, backend=self.name, notes=tuple(notes))


def metres_per_unit(units: str | float | None) -> float | None:
    """Metres per stored unit for a ``units`` option (None stays None: the format decides).

    Examples
    --------
    >>> metres_per_unit("mm"), metres_per_unit(0.0002), metres_per_unit(None)
    (0.001, 0.0002, None)
    """
    if units is None:
        return None
    if isinstance(units, str):
        if units not in UNIT_METRES:
            names = ", ".join(UNIT_METRES)
            raise ParameterError(f"depth units {units!r} unknown; use one of {names} or a number of metres per unit")
        return UNIT_METRES[units]
    try:
        value = float(units)
    except (TypeError, ValueError):
        value = math.nan
    if not (math.isfinite(value) and value > 0.0):
        raise ParameterError(f"depth units must be a positive number of metres per unit, got {units!r}")
    return value


#: Depths beyond this (metres) are no measurement (a sensor's "far" code, a unit mix-up): treated as no data.
MAX_DEPTH_M = 1e5


def read_depth_file(path: str | Path, *, units: float | None = None) -> tuple[np.ndarray, list[str]]:
    """Read a depth file as metres.

    Parameters
    ----------
    path : str or Path
        A 16-bit PNG/TIFF (mm), NPY/NPZ (m) or EXR (m) file.
    units : float or None
        Metres per stored unit, overriding the format's convention (see :func:`metres_per_unit`).

    Returns
    -------
    z_m : np.ndarray, shape (H, W), float32
        z-depth in metres, NaN where the file has no data (0, negative, non-finite).
    notes : list of str
        What was read and how it was converted.

    Raises
    ------
    InputFileError
        If the file is missing, empty, of an unsupported type or layout, holds integers with no
        stated unit, or has no valid depth at all.
    """
    from soundstage.io.inputs import check_input_file, record_input

    path = Path(path)
    record_input(path)
    check_input_file(path, where=f"depth file {str(path)!r} (--depth)", kind="depth file")
    if path.stat().st_size == 0:
        raise InputFileError(f"depth file {str(path)!r} is empty (0 bytes); export the depth map again")
    suffix = path.suffix.lower()
    if suffix in (".png", ".tif", ".tiff"):
        values, default_unit, what = _read_image(path)
    elif suffix == ".npy":
        values, default_unit, what = _read_npy(path)
    elif suffix == ".npz":
        values, default_unit, what = _read_npz(path)
    elif suffix == ".exr":
        values, default_unit, what = _read_exr(path)
    else:
        raise InputFileError(
            f"depth file {str(path)!r} has an unsupported type {suffix or '(none)'!r};"
            " give a 16-bit PNG in millimetres, an NPY/NPZ in metres, or an EXR in metres"
        )
    scale = units if units is not None else default_unit
    if scale is None:
        raise InputFileError(
            f"depth file {str(path)!r} holds integers ({what}) with no stated unit;"
            " store metres as floats, or say the unit (units='mm')"
        )
    z_m = values.astype(np.float64) * scale
    # 0 is the RGB-D convention for "no return"; negative or infinite depth is not a point in front of the camera.
    invalid = ~np.isfinite(z_m) | (z_m <= 0.0) | (z_m > MAX_DEPTH_M)
    if invalid.all():
        raise InputFileError(
            f"depth file {str(path)!r} has no valid pixel (every depth is 0, negative or not finite); "
            "export the depth map again, or drop --depth to use the offline prior"
        )
    z_m[invalid] = np.nan
    notes = [f"depth file {path.name}: {what}, {_unit_words(scale)}, z-depth along the optical axis"]
    if invalid.any():
        notes.append(f"{100.0 * invalid.mean():.1f}% of pixels have no depth (0 or invalid in the file)")
    return z_m.astype(np.float32), notes


def reduce_depth(z_m: np.ndarray, width: int, height: int) -> np.ndarray:
    """Reduce a depth map to ``width`` × ``height`` by a NaN-aware median over each output pixel's footprint.

    Up to 4 × 4 evenly spaced samples are taken inside each footprint; the median of the valid ones
    is kept (NaN when none is valid). A median picks a depth that exists in the footprint
    rather than blending foreground and background at object edges.

    Parameters
    ----------
    z_m : np.ndarray, shape (H, W)
        Depth in metres, NaN for unknown.
    width, height : int
        Output size in pixels.

    Returns
    -------
    np.ndarray, shape (height, width), float32

    Examples
    --------
    >>> z = np.array([[1.0, 1.0, 2.0, np.nan], [1.0, 9.0, 2.0, 2.0]])
    >>> reduce_depth(z, 2, 1)
    array([[1., 2.]], dtype=float32)
    """
    z_m = np.asarray(z_m, dtype=np.float32)
    rows_in, cols_in = z_m.shape
    taps_v = max(1, min(_MAX_TAPS, math.ceil(rows_in / height)))
    taps_u = max(1, min(_MAX_TAPS, math.ceil(cols_in / width)))
    # Sample positions spread evenly over each output pixel, in input-pixel units.
    rows = _footprint_indices(height, rows_in, taps_v)
    cols = _footprint_indices(width, cols_in, taps_u)
    samples = z_m[rows[:, None, :, None], cols[None, :, None, :]].reshape(height, width, taps_v * taps_u)
    # NaN-aware median by sorting (NaN sorts last): several times faster than np.nanmedian here.
    ordered = np.sort(samples, axis=-1)
    count = np.sum(np.isfinite(ordered), axis=-1)
    low = np.take_along_axis(ordered, np.maximum(count - 1, 0)[..., None] // 2, axis=-1)[..., 0]
    high = np.take_along_axis(ordered, (count // 2)[..., None], axis=-1)[..., 0] if ordered.shape[-1] > 1 else low
    median = np.where(count > 0, 0.5 * (low + high), np.nan)
    return median.astype(np.float32)


def _footprint_indices(n_out: int, n_in: int, taps: int) -> np.ndarray:
    """Input indices (n_out, taps) sampling each output pixel's footprint evenly."""
    positions = (np.arange(n_out)[:, None] + (np.arange(taps)[None, :] + 0.5) / taps) * (n_in / n_out)
    return np.clip(np.floor(positions).astype(np.intp), 0, n_in - 1)


def _unit_words(scale: float) -> str:
    names = {value: name for name, value in UNIT_METRES.items()}
    return f"values in {names[scale]}" if scale in names else f"values × {scale:g} m"


def _read_image(path: Path) -> tuple[np.ndarray, float | None, str]:
    """A 16-bit (mm) or float (m) single-channel image; 8-bit and colour images are refused."""
    from PIL import Image, UnidentifiedImageError

    from soundstage.vision.image import PILLOW_DECODE_ERRORS

    try:
        with Image.open(path) as img:
            img.load()
            mode = img.mode
            values = np.asarray(img)
    except UnidentifiedImageError:
        raise InputFileError(f"depth file {str(path)!r} is not an image Pillow can read; check the file") from None
    except PILLOW_DECODE_ERRORS as error:
        raise InputFileError(f"depth file {str(path)!r} is corrupt or truncated ({error}); export it again") from None
    if mode.startswith("I;16") or mode == "I":
        return values, UNIT_METRES["mm"], f"{'16' if mode.startswith('I;16') else '32'}-bit integer image"
    if mode == "F":
        return values, UNIT_METRES["m"], "32-bit float image"
    if mode in ("1", "L", "P", "LA", "PA"):
        raise InputFileError(
            f"depth file {str(path)!r} is an 8-bit image ({mode}), which cannot hold metric depth;"
            " give the 16-bit PNG in millimetres or an NPY in metres"
        )
    raise InputFileError(
        f"depth file {str(path)!r} is a colour image ({mode}), a picture of depth rather than depth;"
        " give the 16-bit single-channel PNG in millimetres or an NPY in metres"
    )


def _read_npy(path: Path) -> tuple[np.ndarray, float | None, str]:
    try:
        values = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as error:
        raise InputFileError(f"depth file {str(path)!r} is not a readable NPY array ({error})") from None
    return _check_array(values, path, "NPY")


def _read_npz(path: Path) -> tuple[np.ndarray, float | None, str]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            keys = list(archive.files)
            key = keys[0] if len(keys) == 1 else next((k for k in _NPZ_KEYS if k in keys), None)
            if key is None:
                raise InputFileError(
                    f"depth file {str(path)!r} holds arrays {keys} and none is named"
                    f" {' or '.join(_NPZ_KEYS)}; save the depth as 'depth'"
                )
            values = archive[key]
    except InputFileError:
        raise
    except (OSError, ValueError, EOFError) as error:
        raise InputFileError(f"depth file {str(path)!r} is not a readable NPZ archive ({error})") from None
    return _check_array(values, path, f"NPZ array {key!r}")


def _check_array(values: np.ndarray, path: Path, what: str) -> tuple[np.ndarray, float | None, str]:
    """A 2-D real array, with its default unit (metres for floats, none for integers)."""
    if values.ndim == 3 and 1 in (values.shape[0], values.shape[-1]):
        values = values.reshape(values.shape[1:] if values.shape[0] == 1 else values.shape[:-1])
    if values.ndim != 2:
        raise InputFileError(f"depth file {str(path)!r}: the {what} has shape {values.shape}; a depth map is (H, W)")
    if np.issubdtype(values.dtype, np.floating):
        return values, UNIT_METRES["m"], f"{what} of {values.dtype}"
    if np.issubdtype(values.dtype, np.integer):
        return values, None, f"{what} of {values.dtype}"
    raise InputFileError(f"depth file {str(path)!r}: the {what} has dtype {values.dtype}; give float metres")


def _read_exr(path: Path) -> tuple[np.ndarray, float | None, str]:
    """The depth channel of an EXR file, via the OpenEXR module (>= 3.3's ``File`` API)."""
    try:
        import OpenEXR
    except ImportError:
        raise InputFileError(
            f"depth file {str(path)!r} is EXR, which needs the OpenEXR Python module (pip install OpenEXR);"
            " or convert it to an NPY in metres"
        ) from None
    if not hasattr(OpenEXR, "File"):
        raise InputFileError(
            f"depth file {str(path)!r}: the installed OpenEXR module is older than 3.3;"
            " upgrade it (pip install -U OpenEXR) or convert the depth to an NPY in metres"
        )
    try:
        with OpenEXR.File(str(path), separate_channels=True) as exr:
            channels = {name: np.asarray(channel.pixels) for name, channel in exr.channels().items()}
    except Exception as error:  # the binding raises plain RuntimeError/Exception for bad files
        raise InputFileError(f"depth file {str(path)!r} is not a readable EXR file ({error})") from None
    name = next((n for n in _EXR_CHANNELS if n in channels), None)
    if name is None and len(channels) == 1:
        name = next(iter(channels))
    if name is None:
        raise InputFileError(
            f"depth file {str(path)!r} has EXR channels {sorted(channels)} and none is a depth channel"
            f" ({', '.join(_EXR_CHANNELS)}); export depth as a 'Z' channel"
        )
    return _check_array(channels[name], path, f"EXR channel {name!r}")
