"""Measured heads from AES69 SOFA files (conventions ``SimpleFreeFieldHRIR`` 0.4 and 1.0).

SOFA files are netCDF-4, i.e. HDF5, and are read with h5py. What is read:

``Data.IR`` (M, R=2, N)
    The HRIRs; receiver 0 is taken as the left ear. If ``ReceiverPosition`` puts receiver
    0 at negative y (the right, in SOFA's x-forward / y-left frame) and receiver 1 at
    positive y, the ears are swapped so that the left ear still comes first.
``Data.SamplingRate``
    In Hz (one value).
``Data.Delay`` (1, 2) or (M, 2)
    Broadband delays in samples; non-zero delays are put back into the IRs (prepended).
``SourcePosition`` (M, 3)
    ``Type`` ``spherical`` (azimuth °, elevation °, distance m; the default) or
    ``cartesian`` (m), relative to the listener.
``ListenerView`` / ``ListenerUp``
    When the listener does not face +x with +z up, the source positions are rotated into
    the listener's own frame.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from fractions import Fraction
from pathlib import Path

import numpy as np

from soundstage.acoustics.hrtf.base import HRTF
from soundstage.acoustics.hrtf.interpolation import INTERPOLATION_METHODS, DirectionInterpolator
from soundstage.acoustics.hrtf.minimum_phase import delay_irs
from soundstage.conventions import cartesian_to_spherical, spherical_to_cartesian
from soundstage.errors import InputFileError, OutputError, ParameterError

CONVENTIONS = "SimpleFreeFieldHRIR"
#: Conventions versions read and written, with the SOFA (AES69) version each belongs to.
CONVENTIONS_VERSIONS = {"0.4": "1.0", "1.0": "2.1"}
_NETCDF_DIMENSION = "This is a netCDF dimension but not a netCDF variable.{:10d}"


@dataclass(frozen=True)
class SofaData:
    """The contents of a SimpleFreeFieldHRIR file that matter for rendering.

    Attributes
    ----------
    hrirs : np.ndarray, shape (M, 2, N)
        HRIRs at ``sample_rate``, left ear first, with ``Data.Delay`` already applied.
    source_positions_deg : np.ndarray, shape (M, 3)
        Azimuth (°, + left), elevation (°) and distance (m) of each measurement, listener frame.
    sample_rate : float
        Sample rate of ``hrirs`` in Hz.
    conventions_version : str
        ``SOFAConventionsVersion`` of the file.
    attributes : dict of str to str
        The file's global attributes (``License``, ``References``, ``Title``...).
    """

    hrirs: np.ndarray
    source_positions_deg: np.ndarray
    sample_rate: float
    conventions_version: str
    attributes: dict[str, str] = field(default_factory=dict)


def _text(value: object) -> str:
    """A netCDF/HDF5 attribute as a str (they come as bytes, np.bytes_, str or 1-element arrays)."""
    if isinstance(value, np.ndarray):
        value = value.ravel()[0] if value.size else ""
    if isinstance(value, bytes | np.bytes_):
        return value.decode("utf-8", errors="replace").strip("\x00 ")
    if hasattr(value, "dtype") and not isinstance(value, str):  # h5py Empty and friends
        return ""
    return str(value).strip("\x00 ")


def read_sofa(path: str | os.PathLike) -> SofaData:
    """Read and validate a SimpleFreeFieldHRIR SOFA file.

    Parameters
    ----------
    path : str or PathLike
        The ``.sofa`` file.

    Returns
    -------
    SofaData

    Raises
    ------
    InputFileError
        When the file is missing, not HDF5, of other conventions, or inconsistent.
    """
    import h5py

    from soundstage.io.inputs import record_input

    path = Path(path)
    record_input(path)
    if not path.is_file():
        raise InputFileError(f"HRTF file {path} does not exist; give the path of a .sofa file or use --hrtf sphere")
    if not h5py.is_hdf5(path):
        raise InputFileError(f"{path} is not a SOFA file (those are netCDF-4/HDF5); check the file or re-download it")
    try:
        with h5py.File(path, "r") as f:
            return _read_open_file(f, path)
    except (OSError, KeyError, RuntimeError, ValueError, TypeError) as exc:
        if isinstance(exc, InputFileError):
            raise
        # h5py reports damaged metadata as KeyError/RuntimeError as often as OSError.
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputFileError(f"{path} cannot be read as HDF5 ({reason}); check the file or re-download it") from None


def _read_open_file(f, path: Path) -> SofaData:
    attributes = {key: _text(value) for key, value in f.attrs.items()}
    conventions = attributes.get("SOFAConventions", "")
    version = attributes.get("SOFAConventionsVersion", "")
    accepted = f"{CONVENTIONS} {' or '.join(CONVENTIONS_VERSIONS)}"
    if conventions != CONVENTIONS or version not in CONVENTIONS_VERSIONS:
        found = f"{conventions or '(none)'} {version}".strip()
        raise InputFileError(f"{path}: SOFA conventions {found} are not supported; Soundstage reads {accepted}")
    data_type = attributes.get("DataType", "FIR")
    if data_type != "FIR":
        raise InputFileError(f"{path}: DataType is {data_type!r}; {CONVENTIONS} files must hold FIR data")
    for name in ("Data.IR", "Data.SamplingRate", "SourcePosition"):
        if name not in f:
            raise InputFileError(f"{path}: the variable {name} is missing; the file is not a valid {CONVENTIONS} file")

    irs = np.asarray(f["Data.IR"][()], dtype=float)
    if irs.ndim != 3 or irs.shape[1] != 2 or irs.shape[0] < 1 or irs.shape[2] < 1:
        raise InputFileError(f"{path}: Data.IR has shape {irs.shape}; expected (M, 2, N) with two receivers (ears)")
    n_meas = irs.shape[0]
    if not np.all(np.isfinite(irs)):
        raise InputFileError(f"{path}: Data.IR contains NaN or infinite values")
    peak = float(np.max(np.abs(irs)))
    if peak > MAX_HRIR_AMPLITUDE:
        raise InputFileError(
            f"{path}: Data.IR reaches {peak:.3g}; HRIRs in linear units stay far below {MAX_HRIR_AMPLITUDE:g} "
            "— the file is damaged or in other units"
        )
    silent = ~np.any(irs != 0.0, axis=(1, 2))
    if silent.any():
        # A silent measurement makes its direction inaudible without a word; an all-zero set, every direction.
        which = "every measurement" if silent.all() else f"{int(silent.sum())} of {len(silent)} measurements"
        raise InputFileError(
            f"{path}: Data.IR is all zero for {which} (first: measurement {int(np.argmax(silent))}); "
            "the file is damaged — re-download or re-export it"
        )

    rates = np.unique(np.asarray(f["Data.SamplingRate"][()], dtype=float).ravel())
    if len(rates) != 1 or not (np.isfinite(rates[0]) and rates[0] > 0):
        raise InputFileError(f"{path}: Data.SamplingRate must be one positive value, got {rates}")
    if rates[0] < MIN_HRIR_RATE_HZ:
        raise InputFileError(
            f"{path}: Data.SamplingRate is {rates[0]:g} Hz; HRIRs are measured at {MIN_HRIR_RATE_HZ:g} Hz or more "
            "— the file is damaged"
        )

    positions = _source_positions(f, path, n_meas)
    delays = _delays(f, path, n_meas)
    if np.any(delays != 0):
        irs = _apply_delays(irs, delays)
    if _receivers_swapped(f):
        irs = irs[:, ::-1, :]
    return SofaData(
        hrirs=np.ascontiguousarray(irs),
        source_positions_deg=positions,
        sample_rate=float(rates[0]),
        conventions_version=version,
        attributes=attributes,
    )


def _positions_as_cartesian(dataset, path: Path) -> np.ndarray:
    """A position variable in metres (cartesian), whatever its ``Type``."""
    values = _plausible(np.asarray(dataset[()], dtype=float), dataset, path)
    kind = _text(dataset.attrs.get("Type", "cartesian")).lower()
    if values.shape[-1] != 3 and not (values.ndim >= 2 and values.shape[1] == 3):
        raise InputFileError(f"{path}: {dataset.name.lstrip('/')} has shape {values.shape}; expected 3 coordinates")
    if kind == "spherical":
        if values.shape[-1] != 3:  # (R, C, I): coordinates on axis 1
            values = np.moveaxis(values, 1, -1)
        return spherical_to_cartesian(values[..., 0], values[..., 1], values[..., 2])
    if kind != "cartesian":
        raise InputFileError(f"{path}: {dataset.name.lstrip('/')} has Type {kind!r}; expected spherical or cartesian")
    return values if values.shape[-1] == 3 else np.moveaxis(values, 1, -1)


#: Largest magnitude of a position value (degrees or metres) in a SOFA file: HRTFs are measured within metres.
MAX_POSITION_VALUE = 1e6


def _plausible(values: np.ndarray, dataset, path: Path) -> np.ndarray:
    """``values`` of a position variable, refused when not finite or beyond any degrees or metres."""
    name = dataset.name.lstrip("/")
    if not np.all(np.isfinite(values)):
        raise InputFileError(f"{path}: {name} contains NaN or infinite values")
    if values.size and float(np.max(np.abs(values))) > MAX_POSITION_VALUE:
        raise InputFileError(
            f"{path}: {name} reaches {float(np.max(np.abs(values))):.3g}, beyond any angle in degrees or distance in "
            "metres — the file is damaged"
        )
    return values


def _source_positions(f, path: Path, n_meas: int) -> np.ndarray:
    dataset = f["SourcePosition"]
    values = np.asarray(dataset[()], dtype=float)
    if values.shape not in ((n_meas, 3), (1, 3)) or (values.shape[0] == 1 and n_meas != 1):
        raise InputFileError(
            f"{path}: SourcePosition has shape {values.shape}; expected ({n_meas}, 3) to match Data.IR"
        )
    values = _plausible(values, dataset, path)
    kind = _text(dataset.attrs.get("Type", "spherical")).lower()
    if kind == "spherical":
        xyz = spherical_to_cartesian(values[:, 0], values[:, 1], values[:, 2])
    elif kind == "cartesian":
        xyz = values
    else:
        raise InputFileError(f"{path}: SourcePosition has Type {kind!r}; expected spherical or cartesian")
    rotation = _listener_frame(f, path)
    if rotation is not None:
        xyz = xyz @ rotation  # rows: world -> listener is R.T @ v, i.e. v @ R
    if np.any(np.linalg.norm(xyz, axis=1) <= 0):
        raise InputFileError(f"{path}: SourcePosition has a source at the centre of the head (distance 0)")
    az, el, dist = cartesian_to_spherical(xyz)
    return np.stack([az, el, dist], axis=1)


def _listener_frame(f, path: Path) -> np.ndarray | None:
    """Rotation (columns: listener x, y, z in file coordinates) when the listener is not facing +x, z up."""
    if "ListenerView" not in f:
        return None
    view = _positions_as_cartesian(f["ListenerView"], path).reshape(-1, 3)
    up = _positions_as_cartesian(f["ListenerUp"], path).reshape(-1, 3) if "ListenerUp" in f else np.array([[0, 0, 1.0]])
    if len(np.unique(view, axis=0)) > 1 or len(np.unique(up, axis=0)) > 1:
        raise InputFileError(f"{path}: ListenerView/ListenerUp change between measurements; not supported")
    if not (np.all(np.isfinite(view[0])) and np.all(np.isfinite(up[0])) and np.linalg.norm(view[0]) > 1e-9):
        raise InputFileError(f"{path}: ListenerView {view[0].tolist()} is not a direction; fix or remove it")
    x = view[0] / np.linalg.norm(view[0])
    z = up[0] - (up[0] @ x) * x
    if np.linalg.norm(z) < 1e-9:
        raise InputFileError(f"{path}: ListenerUp is parallel to ListenerView")
    z /= np.linalg.norm(z)
    rotation = np.stack([x, np.cross(z, x), z], axis=1)
    return None if np.allclose(rotation, np.eye(3), atol=1e-9) else rotation


#: Largest onset delay a SOFA file may add, in samples (0.1 s at 48 kHz: far beyond any head).
MAX_DELAY_SAMPLES = 4800
#: Lowest sampling rate of a usable HRIR set, in Hz (telephone band; real sets are 44.1–96 kHz).
MIN_HRIR_RATE_HZ = 8000.0
#: Largest |sample| of an HRIR in linear units: far above any measured ear's gain, well below overflow.
MAX_HRIR_AMPLITUDE = 1e6


def _delays(f, path: Path, n_meas: int) -> np.ndarray:
    if "Data.Delay" not in f:
        return np.zeros((n_meas, 2))
    delays = np.asarray(f["Data.Delay"][()], dtype=float)
    if delays.shape in ((2,), (1, 2)):
        delays = np.broadcast_to(delays.reshape(1, 2), (n_meas, 2))
    elif delays.shape != (n_meas, 2):
        raise InputFileError(f"{path}: Data.Delay has shape {delays.shape}; expected (1, 2) or ({n_meas}, 2)")
    if not np.all(np.isfinite(delays)) or np.any(delays < 0):
        raise InputFileError(f"{path}: Data.Delay must be finite and not negative")
    if np.any(delays > MAX_DELAY_SAMPLES):
        raise InputFileError(
            f"{path}: Data.Delay reaches {float(delays.max()):.6g} samples; an HRIR's onset delay is at most "
            f"{MAX_DELAY_SAMPLES} samples — the file is damaged"
        )
    return delays


def _apply_delays(irs: np.ndarray, delays: np.ndarray) -> np.ndarray:
    """Prepend ``delays`` samples to each IR (exact for whole samples, band-limited otherwise)."""
    n_out = irs.shape[-1] + math.ceil(float(delays.max()))
    whole = np.floor(delays).astype(np.int64)
    out = np.zeros((*irs.shape[:2], n_out))
    for shift in np.unique(whole):
        m, e = np.nonzero(whole == shift)
        out[m, e, shift : shift + irs.shape[-1]] = irs[m, e]
    fraction = delays - whole
    if np.any(fraction > 0):
        out = delay_irs(out, fraction)
    return out


def _receivers_swapped(f) -> bool:
    """True when receiver 0 is at -y (the right ear) and receiver 1 at +y."""
    if "ReceiverPosition" not in f:
        return False
    try:
        xyz = _positions_as_cartesian(f["ReceiverPosition"], Path(f.filename))
    except InputFileError:
        return False
    xyz = xyz.reshape(xyz.shape[0], -1, 3)[:, 0, :] if xyz.ndim == 3 else xyz.reshape(-1, 3)
    return xyz.shape[0] == 2 and xyz[0, 1] < 0 < xyz[1, 1]


def resample_hrirs(hrirs: np.ndarray, from_rate: float, to_rate: int) -> np.ndarray:
    """HRIRs at another sample rate, with their frequency responses and onsets kept.

    Each output sample is the band-limited interpolation of the input at its time, with a
    Kaiser-windowed sinc (:data:`_RESAMPLE_HALF_WIDTH` input samples either side, low-pass at the
    lower of the two Nyquist frequencies): zero phase, so each onset stays at the same time in
    seconds, and short, so it does not ring before the onset the way long streaming resamplers
    do. The result is scaled by ``from_rate / to_rate`` because an IR's samples are a density
    in time (a unit impulse stays a filter of unit gain).

    Parameters
    ----------
    hrirs : np.ndarray, shape (..., N)
        Impulse responses at ``from_rate``.
    from_rate, to_rate : float, int
        Sample rates in Hz.

    Returns
    -------
    np.ndarray, shape (..., ceil(N * to_rate / from_rate))

    Examples
    --------
    >>> h = np.zeros(64); h[20] = 1.0
    >>> g = resample_hrirs(h, 24000, 48000)
    >>> len(g), int(np.argmax(g)), round(float(g.sum()), 4)
    (128, 40, 1.0)
    """
    hrirs = np.asarray(hrirs, dtype=float)
    ratio = Fraction(round(float(to_rate)), round(float(from_rate)))
    if ratio == 1:
        return hrirs.copy()
    n_in = hrirs.shape[-1]
    n_out = -(-n_in * ratio.numerator // ratio.denominator)
    cutoff = min(1.0, float(ratio))  # of the input's Nyquist frequency
    reach = _RESAMPLE_HALF_WIDTH / cutoff
    offset = np.arange(n_out)[:, None] / float(ratio) - np.arange(n_in)[None, :]  # output time - input time
    window = np.kaiser(2 * 1024 + 1, _RESAMPLE_KAISER_BETA)
    taper = np.interp(offset / reach, np.linspace(-1.0, 1.0, len(window)), window, left=0.0, right=0.0)
    kernel = cutoff * np.sinc(cutoff * offset) * taper  # (n_out, n_in), banded
    return (hrirs.reshape(-1, n_in) @ kernel.T).reshape(*hrirs.shape[:-1], n_out) * (from_rate / to_rate)


#: Half length of the resampling kernel, in samples at the lower of the two rates.
_RESAMPLE_HALF_WIDTH = 16
#: Kaiser window shape of the resampling kernel (about 80 dB stop-band rejection).
_RESAMPLE_KAISER_BETA = 8.0


class SofaHRTF(HRTF):
    """A measured head: HRIRs at a set of directions, interpolated in between.

    Parameters
    ----------
    hrirs : np.ndarray, shape (M, 2, N)
        HRIRs at ``sample_rate``, left ear first.
    source_positions_deg : np.ndarray, shape (M, 3)
        Azimuth (°), elevation (°) and distance (m) of each measurement.
    sample_rate : int
        Sample rate of ``hrirs`` (and of what :meth:`hrirs` returns) in Hz.
    name : str, default "sofa"
        Name shown in reports.
    interpolation : {"barycentric", "nearest"}
        See :class:`~soundstage.acoustics.hrtf.interpolation.DirectionInterpolator`.

    Notes
    -----
    The set is treated as far field: the query distance is ignored. Where a direction was
    measured at several distances, the measurement nearest the median distance is used.
    ``latency_s`` is 0: the stored onsets (the time sound takes from the measurement's
    reference point to each ear) are kept as they are.
    """

    latency_s = 0.0

    def __init__(
        self,
        hrirs: np.ndarray,
        source_positions_deg: np.ndarray,
        sample_rate: int,
        *,
        name: str = "sofa",
        interpolation: str = "barycentric",
    ) -> None:
        if interpolation not in INTERPOLATION_METHODS:
            raise ParameterError(f"interpolation must be one of {INTERPOLATION_METHODS}, got {interpolation!r}")
        hrirs = np.asarray(hrirs, dtype=float)
        positions = np.asarray(source_positions_deg, dtype=float)
        if hrirs.ndim != 3 or hrirs.shape[1] != 2 or positions.shape != (hrirs.shape[0], 3):
            raise ParameterError(
                f"hrirs must have shape (M, 2, N) and source_positions_deg (M, 3), got {hrirs.shape} and "
                f"{positions.shape}"
            )
        self.name = name
        self.sample_rate = int(sample_rate)
        self.interpolation = interpolation
        keep = _one_per_direction(positions)
        self.source_positions_deg = positions[keep]
        directions = spherical_to_cartesian(positions[keep, 0], positions[keep, 1], 1.0)
        self._interpolator = DirectionInterpolator(directions, hrirs[keep], self.sample_rate, interpolation)

    @classmethod
    def from_file(
        cls,
        path: str | os.PathLike,
        sample_rate: int,
        *,
        interpolation: str = "barycentric",
        name: str | None = None,
    ) -> SofaHRTF:
        """Load a SimpleFreeFieldHRIR file and resample its HRIRs to ``sample_rate``.

        Parameters
        ----------
        path : str or PathLike
            The ``.sofa`` file.
        sample_rate : int
            Output sample rate in Hz.
        interpolation : {"barycentric", "nearest"}
            Interpolation between measured directions.
        name : str or None
            Name shown in reports (default: the file's stem).
        """
        data = read_sofa(path)
        hrirs = resample_hrirs(data.hrirs, data.sample_rate, sample_rate)
        return cls(
            hrirs,
            data.source_positions_deg,
            sample_rate,
            name=name or Path(path).stem,
            interpolation=interpolation,
        )

    def state(self) -> dict[str, np.ndarray]:
        """The processed head as arrays (HRIRs at the output rate, their decomposition and triangulation)."""
        return {
            **self._interpolator.state(),
            "sample_rate": np.array(self.sample_rate),
            "interpolation": np.array(self.interpolation),
            "source_positions_deg": self.source_positions_deg,
        }

    @classmethod
    def from_state(cls, state, *, name: str) -> SofaHRTF:
        """The head :meth:`state` described, without reading, resampling or decomposing anything again."""
        self = cls.__new__(cls)
        self.name = name
        self.sample_rate = int(state["sample_rate"])
        self.interpolation = str(state["interpolation"])
        self.source_positions_deg = np.asarray(state["source_positions_deg"], dtype=float)
        self._interpolator = DirectionInterpolator.from_state(state)
        return self

    @property
    def n_taps(self) -> int:
        """Length of every HRIR in samples."""
        return self._interpolator.n_taps

    @property
    def measured_hrirs(self) -> np.ndarray:
        """The stored HRIRs at ``sample_rate``, shape (M, 2, n_taps), in ``source_positions_deg`` order."""
        return self._interpolator.hrirs

    def hrirs(self, directions: np.ndarray, distances: np.ndarray) -> np.ndarray:
        """HRIRs for a batch of directions, shape (K, 2, n_taps); ``distances`` are not used.

        See :meth:`HRTF.hrirs`.
        """
        directions = np.asarray(directions, dtype=float)
        if directions.ndim != 2 or directions.shape[1] != 3 or np.shape(distances) != (directions.shape[0],):
            raise ParameterError(
                f"directions must have shape (K, 3) and distances (K,), got {directions.shape} and "
                f"{np.shape(distances)}"
            )
        if not np.all(np.isfinite(directions)) or np.any(np.linalg.norm(directions, axis=1) == 0):
            raise ParameterError("directions must be finite, non-zero vectors")
        return self._interpolator(directions)


def _one_per_direction(positions: np.ndarray) -> np.ndarray:
    """Indices keeping one measurement per direction (the one nearest the median distance), sorted."""
    unit = spherical_to_cartesian(positions[:, 0], positions[:, 1], 1.0)
    key = np.round(unit, 9) + 0.0  # + 0.0 turns -0.0 into 0.0
    _, group = np.unique(key, axis=0, return_inverse=True)
    group = group.ravel()
    off_median = np.abs(positions[:, 2] - np.median(positions[:, 2]))
    order = np.lexsort((off_median, group))
    first = np.ones(len(order), dtype=bool)
    first[1:] = group[order][1:] != group[order][:-1]
    return np.sort(order[first])


def write_sofa(
    path: str | os.PathLike,
    hrirs: np.ndarray,
    source_positions_deg: np.ndarray,
    sample_rate: float,
    *,
    version: str = "1.0",
    receiver_radius: float = 0.0875,
    attributes: dict[str, str] | None = None,
) -> Path:
    """Write a minimal SimpleFreeFieldHRIR SOFA file (netCDF-4 layout with dimension scales).

    Parameters
    ----------
    path : str or PathLike
        Output ``.sofa`` file (overwritten if it exists).
    hrirs : np.ndarray, shape (M, 2, N)
        HRIRs, left ear first.
    source_positions_deg : np.ndarray, shape (M, 3)
        Azimuth (°, + left), elevation (°) and distance (m) of each HRIR.
    sample_rate : float
        In Hz.
    version : {"1.0", "0.4"}
        ``SOFAConventionsVersion`` to write.
    receiver_radius : float, default 0.0875
        Distance of the ears (receivers) from the head centre, metres, written to ``ReceiverPosition``.
    attributes : dict or None
        Global attributes to add or override (``Title``, ``License``, ``ListenerShortName``...).

    Returns
    -------
    Path
        ``path``.
    """
    import h5py

    hrirs = np.asarray(hrirs, dtype=float)
    positions = np.asarray(source_positions_deg, dtype=float)
    if version not in CONVENTIONS_VERSIONS:
        raise ParameterError(f"version must be one of {tuple(CONVENTIONS_VERSIONS)}, got {version!r}")
    if hrirs.ndim != 3 or hrirs.shape[1] != 2 or positions.shape != (hrirs.shape[0], 3):
        raise ParameterError(
            f"hrirs must have shape (M, 2, N) and source_positions_deg (M, 3), got {hrirs.shape} and {positions.shape}"
        )
    if not (np.all(np.isfinite(hrirs)) and np.all(np.isfinite(positions))):
        raise ParameterError("hrirs and source_positions_deg must be finite")
    if not (np.isfinite(sample_rate) and sample_rate > 0):
        raise ParameterError(f"sample_rate must be positive, got {sample_rate!r}")
    path = Path(path)
    if not path.parent.is_dir():
        raise OutputError(f"cannot write {path}: the folder {path.parent} does not exist")
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    n_meas, _, n_samples = hrirs.shape
    globals_ = {
        "Conventions": "SOFA",
        "Version": CONVENTIONS_VERSIONS[version],
        "SOFAConventions": CONVENTIONS,
        "SOFAConventionsVersion": version,
        "APIName": "soundstage",
        "APIVersion": "0.1.0",
        "ApplicationName": "soundstage",
        "ApplicationVersion": "0.1.0",
        "AuthorContact": "",
        "Comment": "",
        "DataType": "FIR",
        "History": "",
        "License": "No license provided, ask the author for permission",
        "Organization": "",
        "References": "",
        "RoomType": "free field",
        "Origin": "",
        "DateCreated": now,
        "DateModified": now,
        "Title": "HRTF",
        "DatabaseName": "soundstage",
        "ListenerShortName": "",
    }
    globals_.update(attributes or {})
    try:
        with h5py.File(path, "w", track_order=True) as f:
            for key, value in globals_.items():
                f.attrs[key] = np.bytes_(str(value).encode("utf-8"))
            dims = {"C": 3, "I": 1, "M": n_meas, "R": 2, "E": 1, "N": n_samples}
            for name, size in dims.items():
                scale = f.create_dataset(name, data=np.zeros(size, dtype="f4"))
                scale.make_scale(_NETCDF_DIMENSION.format(size))

            def variable(name, data, dim_names, **attrs):
                dataset = f.create_dataset(name, data=np.asarray(data, dtype=float))
                for axis, dim in enumerate(dim_names):
                    dataset.dims[axis].attach_scale(f[dim])
                for key, value in attrs.items():
                    dataset.attrs[key] = np.bytes_(value.encode("utf-8"))

            metre = "meter" if version == "0.4" else "metre"
            variable("ListenerPosition", [[0.0, 0.0, 0.0]], "IC", Type="cartesian", Units=metre)
            variable("ListenerUp", [[0.0, 0.0, 1.0]], "IC", Type="cartesian", Units=metre)
            variable("ListenerView", [[1.0, 0.0, 0.0]], "IC", Type="cartesian", Units=metre)
            receivers = np.array([[[0.0], [receiver_radius], [0.0]], [[0.0], [-receiver_radius], [0.0]]])
            variable("ReceiverPosition", receivers, "RCI", Type="cartesian", Units=metre)
            variable("SourcePosition", positions, "MC", Type="spherical", Units=f"degree, degree, {metre}")
            variable("EmitterPosition", np.zeros((1, 3, 1)), "ECI", Type="cartesian", Units=metre)
            variable("Data.IR", hrirs, "MRN")
            variable("Data.SamplingRate", [float(sample_rate)], "I", Units="hertz")
            variable("Data.Delay", np.zeros((1, 2)), "IR")
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc}") from exc
    return path
