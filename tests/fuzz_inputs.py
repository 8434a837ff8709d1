"""Tiny valid inputs for every command, and ways to break them, for the fuzz suites.

:func:`make_workspace` writes a folder of small, valid inputs (0.2 s sounds at 8–16 kHz, 64×48
images, a 50-direction SOFA head, ambisonic files, evaluation folders) once; :func:`copy_workspace`
clones it for each example (a plain copy of a few hundred kilobytes). The corruption helpers
(:func:`wav_bytes`, :func:`corrupt_wav`, :func:`write_bad_sofa`, :func:`write_image_variant`,
:func:`write_depth_variant`) build each broken file from a name, so that the catalogue and the
Hypothesis strategies share one vocabulary of broken inputs.
"""

from __future__ import annotations

import atexit
import copy
import json
import os
import shutil
import struct
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import soundfile
import yaml
from PIL import Image

#: Rate of the workspace's sounds and scenes, Hz (low, so that renders are quick).
RATE = 8000
#: Length of the workspace's sounds in samples (0.2 s at 8 kHz).
N_SAMPLES = 1600
#: Size of the workspace's images (width, height).
IMAGE_SIZE = (64, 48)

#: The free-field scene every scene mutation starts from (``s.yaml``).
BASE_SCENE: dict[str, Any] = {
    "output": {"format": "binaural", "sample_rate": RATE, "bit_depth": 16, "lfe": False},
    "listener": {
        "position": [0.0, 0.0, 0.0],
        "orientation": {"yaw": 0.0, "pitch": 0.0, "roll": 0.0},
        "head_radius": 0.0875,
    },
    "hrtf": {"name": "sphere", "ear_azimuth_deg": 90.0, "interpolation": "barycentric"},
    "propagation": {"speed_of_sound": 343.0, "air_absorption": False, "temperature_c": 20.0, "relative_humidity": 50.0},
    "sources": [
        {
            "name": "a",
            "audio": "a.wav",
            "position": {"az": 30.0, "el": 0.0, "dist": 2.0},
            "gain_db": 0.0,
            "start": 0.0,
            "downmix": False,
        },
        {"name": "b", "audio": "b.wav", "position": {"x": 1.0, "y": -1.0, "z": 0.0}},
    ],
}

#: A small shoebox scene (``room.yaml``): every room field present.
ROOM_SCENE: dict[str, Any] = {
    "output": {"format": "binaural", "sample_rate": RATE, "bit_depth": 16},
    "room": {
        "shoebox": {"size": [4.0, 3.0, 2.5]},
        "materials": {"walls": "plaster", "floor": "carpet", "ceiling": "acoustic_tile"},
        "max_order": 2,
        "mixing_time": 0.05,
        "late_reverb": True,
        "randomize": 0.0,
        "seed": 0,
    },
    "listener": {"position": [2.0, 1.5, 1.2]},
    "sources": [{"name": "a", "audio": "a.wav", "position": {"x": 1.0, "y": 1.0, "z": 1.0}}],
}

#: An open scene over grass (``ground.yaml``).
GROUND_SCENE: dict[str, Any] = {
    "output": {"format": "stereo", "sample_rate": RATE},
    "room": {"ground": "grass"},
    "listener": {"position": [0.0, 0.0, 1.6]},
    "sources": [{"name": "a", "audio": "a.wav", "position": {"x": 3.0, "y": 1.0, "z": 1.0}}],
}

#: Files of the workspace that commands read (an output naming one of these must be refused).
INPUT_FILES = (
    "a.wav",
    "b.wav",
    "stereo.wav",
    "s.yaml",
    "s.json",
    "room.yaml",
    "ground.yaml",
    "img.png",
    "img.jpg",
    "depth.png",
    "depth.npy",
    "hoa1.wav",
    "hoa3.wav",
    "bin.wav",
    "ir.wav",
    "head.sofa",
)


def _noise(n: int, seed: int = 0, level: float = 0.1) -> np.ndarray:
    return (level * np.random.default_rng(seed).standard_normal(n)).astype(np.float32)


def write_yaml(path: Path, data: Any) -> Path:
    """``data`` as YAML (any Python value yaml can represent)."""
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def sofa_directions() -> np.ndarray:
    """(M, 3) azimuth, elevation, distance of a coarse sphere grid (50 directions)."""
    rows = [(az, el, 1.5) for el in (-40, -10, 20, 50) for az in range(0, 360, 30)]
    rows += [(0.0, 90.0, 1.5), (0.0, -80.0, 1.5)]
    return np.array(rows, dtype=float)


def sofa_hrirs(positions: np.ndarray, n_taps: int = 32) -> np.ndarray:
    """Simple plausible HRIRs: an impulse per ear, delayed and attenuated by the lateral angle."""
    hrirs = np.zeros((len(positions), 2, n_taps))
    for index, (az, _el, _dist) in enumerate(positions):
        lateral = np.sin(np.radians(az))
        hrirs[index, 0, 4 + round(3 * (1 - lateral))] = 0.6 + 0.3 * lateral
        hrirs[index, 1, 4 + round(3 * (1 + lateral))] = 0.6 - 0.3 * lateral
    return hrirs


def write_sofa_file(
    path: Path, *, hrirs: np.ndarray | None = None, positions: np.ndarray | None = None, sample_rate: float = RATE
) -> Path:
    """A valid SimpleFreeFieldHRIR file written by Soundstage's own writer."""
    from soundstage.acoustics.hrtf.sofa import write_sofa

    positions = sofa_directions() if positions is None else positions
    hrirs = sofa_hrirs(positions) if hrirs is None else hrirs
    return write_sofa(path, hrirs, positions, sample_rate)


def ambisonic_noise(order: int, n: int = N_SAMPLES, seed: int = 3) -> np.ndarray:
    """(n, (order+1)²) decorrelated noise with a stronger W: a plausible diffuse ambisonic signal."""
    channels = (order + 1) ** 2
    data = 0.05 * np.random.default_rng(seed).standard_normal((n, channels))
    data[:, 0] *= 2.0
    return data.astype(np.float32)


def make_workspace(folder: Path) -> Path:
    """Write every valid input the commands take into ``folder`` and return it.

    Files: ``a.wav`` (mono 8 kHz), ``b.wav`` (mono 16 kHz), ``stereo.wav``, ``s.yaml``/``s.json``
    (free field), ``room.yaml`` (shoebox), ``ground.yaml`` (open), ``img.png``/``img.jpg`` (64×48),
    ``depth.png`` (16-bit mm), ``depth.npy`` (metres), ``hoa1.wav``/``hoa3.wav`` (AmbiX), ``bin.wav``
    (two-channel "binaural"), ``ir.wav`` (an exponentially decaying impulse response),
    ``head.sofa`` and ``pred/``, ``ref/``, ``mono/`` (two clips each, for ``eval``).
    """
    folder.mkdir(parents=True, exist_ok=True)
    soundfile.write(folder / "a.wav", _noise(N_SAMPLES, 0), RATE, subtype="PCM_16")
    soundfile.write(folder / "b.wav", _noise(2 * N_SAMPLES, 1), 2 * RATE, subtype="PCM_16")
    soundfile.write(folder / "stereo.wav", np.stack([_noise(N_SAMPLES, 2), _noise(N_SAMPLES, 4)], 1), RATE)
    write_yaml(folder / "s.yaml", BASE_SCENE)
    (folder / "s.json").write_text(json.dumps(BASE_SCENE), encoding="utf-8")
    write_yaml(folder / "room.yaml", ROOM_SCENE)
    write_yaml(folder / "ground.yaml", GROUND_SCENE)
    rng = np.random.default_rng(5)
    width, height = IMAGE_SIZE
    picture = np.zeros((height, width, 3), dtype=np.uint8)
    picture[: height // 2] = (120, 160, 220)  # sky-ish top
    picture[height // 2 :] = (90, 80, 70)  # floor-ish bottom
    picture[16:36, 8:24] = (220, 40, 30)  # a red object on the left
    picture[20:40, 40:56] = (30, 200, 60)  # a green object on the right
    picture = np.clip(picture.astype(int) + rng.integers(-10, 10, picture.shape), 0, 255).astype(np.uint8)
    Image.fromarray(picture).save(folder / "img.png")
    Image.fromarray(picture).save(folder / "img.jpg", quality=90)
    rows = np.linspace(1.0, 0.0, height)[:, None] * np.ones((1, width))
    depth_m = 1.5 + 4.0 * rows
    Image.fromarray((depth_m * 1000).astype(np.uint16)).save(folder / "depth.png")
    np.save(folder / "depth.npy", depth_m.astype(np.float32))
    soundfile.write(folder / "hoa1.wav", ambisonic_noise(1), RATE, subtype="FLOAT")
    soundfile.write(folder / "hoa3.wav", ambisonic_noise(3), RATE, subtype="FLOAT")
    binaural = np.stack([_noise(N_SAMPLES, 6), 0.5 * _noise(N_SAMPLES, 6)], 1)
    soundfile.write(folder / "bin.wav", binaural, RATE, subtype="PCM_16")
    t = np.arange(RATE // 2) / RATE
    ir = (np.random.default_rng(7).standard_normal(len(t)) * np.exp(-t / 0.05)).astype(np.float32)
    ir[0] = 1.0
    soundfile.write(folder / "ir.wav", 0.5 * ir / np.max(np.abs(ir)), RATE, subtype="FLOAT")
    write_sofa_file(folder / "head.sofa")
    for sub in ("pred", "ref", "mono"):
        (folder / sub).mkdir(exist_ok=True)
    for index in range(2):
        mono = _noise(RATE // 2, 10 + index)
        left, right = mono, np.roll(mono, 3) * 0.7
        soundfile.write(folder / "ref" / f"clip{index}.wav", np.stack([left, right], 1), RATE, subtype="PCM_16")
        soundfile.write(folder / "pred" / f"clip{index}.wav", np.stack([left, 0.9 * right], 1), RATE, subtype="PCM_16")
        soundfile.write(folder / "mono" / f"clip{index}.wav", mono, RATE, subtype="PCM_16")
    return folder


_TEMPLATES: dict[bool, Path] = {}


def add_traps(folder: Path) -> Path:
    """Add the awkward paths the random command lines aim at to a workspace.

    ``loop.wav``/``loop.yaml``/``loop.sofa`` (symlink loops), ``dangling.wav`` and ``dangling``
    (links to nothing), ``alias.wav`` (a link to ``a.wav``), ``in.wav`` (a sound), ``img.wav`` (a
    PNG named like a WAV), ``x.regions.png`` (an image named like a side file of ``x.wav``),
    ``x.map.png`` (a depth map named like one) and ``zero.sofa`` (all-zero responses).
    """
    for name in ("loop.wav", "loop.yaml", "loop.sofa", "loop.png"):
        os.symlink(f"{name}.loop", folder / name)
        os.symlink(name, folder / f"{name}.loop")
    os.symlink("nowhere.wav", folder / "dangling.wav")
    os.symlink("nowhere", folder / "dangling")
    os.symlink("a.wav", folder / "alias.wav")
    shutil.copyfile(folder / "a.wav", folder / "in.wav")
    shutil.copyfile(folder / "img.png", folder / "img.wav")
    shutil.copyfile(folder / "img.png", folder / "x.regions.png")
    shutil.copyfile(folder / "depth.png", folder / "x.map.png")
    write_sofa_variant(folder / "zero.sofa", "all_zero_ir")
    return folder


def template(traps: bool = False) -> Path:
    """The workspace (with :func:`add_traps` if ``traps``), written once per test session under /tmp."""
    if traps not in _TEMPLATES:
        if not _TEMPLATES:
            atexit.register(_remove_templates, os.getpid())
        folder = make_workspace(Path(tempfile.mkdtemp(prefix="soundstage-fuzz-template-")) / "w")
        _TEMPLATES[traps] = add_traps(folder) if traps else folder
    return _TEMPLATES[traps]


def _remove_templates(owner: int) -> None:
    if os.getpid() == owner:  # never from a forked child
        for folder in _TEMPLATES.values():
            shutil.rmtree(folder.parent, ignore_errors=True)


def copy_workspace(parent: Path | None = None, *, traps: bool = False) -> Path:
    """A fresh copy of the workspace (in ``parent``, or a new temporary folder); the caller removes it."""
    parent = Path(tempfile.mkdtemp(prefix="soundstage-fuzz-")) if parent is None else parent
    target = parent / "w"
    shutil.copytree(template(traps), target, symlinks=True)
    return target


def remove_workspace(folder: Path) -> None:
    """Remove a workspace made by :func:`copy_workspace`, whatever a run left in it (links, read-only folders)."""
    root = folder.parent if folder.name == "w" else folder
    for dirpath, dirnames, _ in os.walk(root):
        for name in dirnames:
            path = Path(dirpath, name)
            if not path.is_symlink():
                path.chmod(0o755)
    shutil.rmtree(root, ignore_errors=True)


# --------------------------------------------------------------------------------------------------
# Scenes
# --------------------------------------------------------------------------------------------------


def scene(base: dict[str, Any] | None = None, **changes: Any) -> dict[str, Any]:
    """A deep copy of ``base`` (:data:`BASE_SCENE`) with dotted-path changes (``"sources.0.gain_db"``).

    A value of :data:`DELETE` removes the key. Keys use ``__`` for dots in keyword form:
    ``scene(sources__0__start=1e8)``.
    """
    data = copy.deepcopy(BASE_SCENE if base is None else base)
    for dotted, value in changes.items():
        set_path(data, dotted.replace("__", "."), value)
    return data


class _Delete:
    def __repr__(self) -> str:
        return "DELETE"


#: Marker for :func:`set_path`: remove the key instead of setting it.
DELETE = _Delete()


def set_path(data: Any, dotted: str, value: Any) -> None:
    """Set (or with :data:`DELETE`, remove) ``data[a][b][c]`` for ``dotted == "a.b.c"``; list indices are ints."""
    keys = [int(k) if k.lstrip("-").isdigit() else k for k in dotted.split(".")]
    target = data
    for key in keys[:-1]:
        if isinstance(target, dict) and key not in target:
            target[key] = {}
        target = target[key]
    last = keys[-1]
    if value is DELETE:
        del target[last]
    else:
        target[last] = value


def leaf_paths(data: Any, prefix: tuple = ()) -> list[tuple]:
    """Every path (tuple of keys/indices) into ``data``, inner nodes included."""
    paths = [prefix] if prefix else []
    if isinstance(data, dict):
        for key, value in data.items():
            paths += leaf_paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            paths += leaf_paths(value, (*prefix, index))
    return paths


# --------------------------------------------------------------------------------------------------
# WAV files
# --------------------------------------------------------------------------------------------------


def wav_bytes(
    samples: np.ndarray,
    sample_rate: int = RATE,
    *,
    bits: int = 16,
    float_format: bool = False,
    n_channels: int | None = None,
    data_size: int | None = None,
    riff_size: int | None = None,
    block_align: int | None = None,
    format_tag: int | None = None,
    fmt_size: int = 16,
) -> bytes:
    """A WAV file as bytes, every header field overridable (to lie about the data).

    Parameters
    ----------
    samples : np.ndarray, shape (n,) or (n, channels)
        Full-scale ±1 floats (or raw codes when ``bits`` is 8/16/32 and they are integers).
    sample_rate : int
        Written into the header as is (0, huge...).
    bits : int
        Bits per sample of the encoding (and in the header).
    float_format : bool
        IEEE float (tag 3) instead of PCM (tag 1).
    n_channels, data_size, riff_size, block_align, format_tag : int, optional
        Header values written instead of the true ones.
    fmt_size : int
        Size of the fmt chunk (16, or 18 with a zero cbSize).
    """
    array = np.asarray(samples)
    channels = 1 if array.ndim < 2 else array.shape[1]
    frames = array.reshape(-1, channels)
    if float_format:
        data = np.ascontiguousarray(frames, dtype="<f4" if bits == 32 else "<f8").tobytes()
    elif bits == 8:
        data = np.clip(np.rint(frames * 127 + 128), 0, 255).astype(np.uint8).tobytes()
    elif bits == 24:
        codes = np.clip(np.rint(frames * 2**23), -(2**23), 2**23 - 1).astype("<i4")
        data = codes.view(np.uint8).reshape(-1, 4)[:, :3].tobytes()
    else:
        scale = 2 ** (bits - 1)
        data = np.clip(np.rint(frames * scale), -scale, scale - 1).astype(f"<i{bits // 8}").tobytes()
    n_ch = channels if n_channels is None else n_channels
    align = n_ch * bits // 8 if block_align is None else block_align
    tag = (3 if float_format else 1) if format_tag is None else format_tag
    fmt = struct.pack(
        "<HHIIHH", tag, n_ch, sample_rate & 0xFFFFFFFF, (sample_rate * max(align, 0)) & 0xFFFFFFFF, align & 0xFFFF, bits
    )
    if fmt_size > 16:
        fmt += b"\x00" * (fmt_size - 16)
    size = len(data) if data_size is None else data_size
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", size) + data
    riff = len(body) if riff_size is None else riff_size
    return b"RIFF" + struct.pack("<I", riff & 0xFFFFFFFF) + body


def _mono(n: int = N_SAMPLES, seed: int = 0) -> np.ndarray:
    return _noise(n, seed).astype(np.float64)


#: Named broken (or edge-case) WAV files: name → bytes. Shared by the catalogue and the strategies.
WAV_VARIANTS: dict[str, Callable[[], bytes]] = {
    "valid": lambda: wav_bytes(_mono()),
    "empty_file": lambda: b"",
    "riff_only": lambda: b"RIFF",
    "header_only": lambda: wav_bytes(np.zeros(0)),
    "one_sample": lambda: wav_bytes(np.array([0.25])),
    "two_samples": lambda: wav_bytes(np.array([0.25, -0.25])),
    "silent": lambda: wav_bytes(np.zeros(N_SAMPLES)),
    "frame_count_lies": lambda: wav_bytes(_mono(478), data_size=48000 * 2),
    "data_size_huge": lambda: wav_bytes(_mono(), data_size=0xFFFFFFF0),
    "riff_size_lies": lambda: wav_bytes(_mono(), riff_size=4),
    "zero_channels": lambda: wav_bytes(_mono(), n_channels=0, block_align=2),
    "zero_rate": lambda: wav_bytes(_mono(), sample_rate=0),
    "rate_1hz": lambda: wav_bytes(_mono(), sample_rate=1),
    "rate_7hz": lambda: wav_bytes(_mono(), sample_rate=7),
    "rate_huge": lambda: wav_bytes(_mono(), sample_rate=4_000_000_000),
    "rate_odd": lambda: wav_bytes(_mono(), sample_rate=11025 + 7),
    "block_align_wrong": lambda: wav_bytes(_mono(), block_align=3),
    "bits_12": lambda: wav_bytes(_mono(), bits=16)[:34] + struct.pack("<H", 12) + wav_bytes(_mono(), bits=16)[36:],
    "compressed_tag": lambda: wav_bytes(_mono(), format_tag=0x0055),
    "truncated_data": lambda: wav_bytes(_mono())[:-1001],
    "truncated_header": lambda: wav_bytes(_mono())[:30],
    "random_bytes": lambda: np.random.default_rng(11).integers(0, 256, 4000, dtype=np.uint8).tobytes(),
    "riff_random": lambda: b"RIFF" + np.random.default_rng(12).integers(0, 256, 400, dtype=np.uint8).tobytes(),
    "nan_samples": lambda: wav_bytes(
        np.where(np.arange(N_SAMPLES) == 100, np.nan, _mono()), bits=32, float_format=True
    ),
    "inf_samples": lambda: wav_bytes(
        np.where(np.arange(N_SAMPLES) == 100, np.inf, _mono()), bits=32, float_format=True
    ),
    "all_inf": lambda: wav_bytes(np.full(N_SAMPLES, np.inf), bits=32, float_format=True),
    "huge_float": lambda: wav_bytes(_mono() * 1e30, bits=32, float_format=True),
    "float64": lambda: wav_bytes(_mono(), bits=64, float_format=True),
    "float_above_full_scale": lambda: wav_bytes(_mono() * 40, bits=32, float_format=True),
    "pcm8": lambda: wav_bytes(_mono(), bits=8),
    "pcm24": lambda: wav_bytes(_mono(), bits=24),
    "pcm32": lambda: wav_bytes(_mono(), bits=32),
    "stereo": lambda: wav_bytes(np.stack([_mono(), _mono(seed=1)], 1)),
    "six_channels": lambda: wav_bytes(np.stack([_mono(seed=s) for s in range(6)], 1)),
    "dc_full_scale": lambda: wav_bytes(np.ones(N_SAMPLES) * 0.999),
    "denormal_float": lambda: wav_bytes(np.full(N_SAMPLES, 1e-42), bits=32, float_format=True),
    "very_short_8": lambda: wav_bytes(_mono(8)),
}


def write_wav_variant(path: Path, name: str) -> Path:
    """Write the WAV variant ``name`` of :data:`WAV_VARIANTS` to ``path``."""
    path.write_bytes(WAV_VARIANTS[name]())
    return path


def corrupt_bytes(data: bytes, positions: list[int], values: list[int]) -> bytes:
    """``data`` with the bytes at ``positions`` (modulo its length) replaced by ``values``."""
    if not data:
        return data
    out = bytearray(data)
    for position, value in zip(positions, values, strict=False):
        out[position % len(out)] = value & 0xFF
    return bytes(out)


# --------------------------------------------------------------------------------------------------
# SOFA files
# --------------------------------------------------------------------------------------------------


_DIMENSION_NAMES = ("C", "I", "M", "R", "E", "N")
_SCALE_ATTRIBUTES = ("DIMENSION_LIST", "REFERENCE_LIST", "CLASS", "NAME", "_Netcdf4Dimid", "_Netcdf4Coordinates")


def _edit_sofa(path: Path, edit: Callable[[dict[str, Any], dict[str, Any]], None]) -> Path:
    """A valid SOFA file's variables and attributes, edited, written back as plain HDF5 datasets.

    ``edit(variables, attributes)`` changes the dicts in place: ``variables`` maps a name to
    ``(array, attributes)``; ``attributes`` holds the global attributes.
    """
    import h5py

    write_sofa_file(path)
    with h5py.File(path, "r") as f:
        attributes = dict(f.attrs)
        variables = {
            name: (np.asarray(f[name][()]), {k: v for k, v in f[name].attrs.items() if k not in _SCALE_ATTRIBUTES})
            for name in f
            if name not in _DIMENSION_NAMES
        }
    edit(variables, attributes)
    path.unlink()
    with h5py.File(path, "w") as f:
        for key, value in attributes.items():
            f.attrs[key] = value
        for name, (data, attrs) in variables.items():
            dataset = f.create_dataset(name, data=data)
            for key, value in attrs.items():
                dataset.attrs[key] = value
    return path


def _replace(name: str, data: Any) -> Callable[[dict[str, Any], dict[str, Any]], None]:
    def edit(variables: dict[str, Any], attributes: dict[str, Any]) -> None:
        attrs = variables[name][1] if name in variables else {}
        variables[name] = (np.asarray(data, dtype=float), attrs)

    return edit


def _delete(name: str) -> Callable[[dict[str, Any], dict[str, Any]], None]:
    def edit(variables: dict[str, Any], attributes: dict[str, Any]) -> None:
        del variables[name]

    return edit


def _set_attr(key: str, value: str) -> Callable[[dict[str, Any], dict[str, Any]], None]:
    def edit(variables: dict[str, Any], attributes: dict[str, Any]) -> None:
        attributes[key] = np.bytes_(value.encode())

    return edit


def _set_var_attr(name: str, key: str, value: str) -> Callable[[dict[str, Any], dict[str, Any]], None]:
    def edit(variables: dict[str, Any], attributes: dict[str, Any]) -> None:
        variables[name][1][key] = np.bytes_(value.encode())

    return edit


def _positions_with(change: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    return change(sofa_directions().copy())


def _nan_position(p: np.ndarray) -> np.ndarray:
    p[3, 0] = np.nan
    return p


def _inf_distance(p: np.ndarray) -> np.ndarray:
    p[:, 2] = np.inf
    return p


def _zero_distance(p: np.ndarray) -> np.ndarray:
    p[:, 2] = 0.0
    return p


def _same_direction(p: np.ndarray) -> np.ndarray:
    p[:, :2] = 0.0
    p[:, 2] = 1.0 + np.arange(len(p)) * 0.01
    return p


def _one_ring(p: np.ndarray) -> np.ndarray:
    p[:, 1] = 0.0
    return p


_M = len(sofa_directions())

#: Named broken (or edge-case) SOFA files: name → writer(path).
SOFA_VARIANTS: dict[str, Callable[[Path], Any]] = {
    "valid": write_sofa_file,
    "valid_48k": lambda p: write_sofa_file(p, sample_rate=48000),
    "empty_file": lambda p: p.write_bytes(b""),
    "random_bytes": lambda p: p.write_bytes(np.random.default_rng(13).integers(0, 256, 3000, dtype=np.uint8).tobytes()),
    "hdf5_magic_then_garbage": lambda p: p.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00" * 200),
    "truncated": lambda p: p.write_bytes(write_sofa_file(p).read_bytes()[:2000]),
    "missing_ir": lambda p: _edit_sofa(p, _delete("Data.IR")),
    "missing_rate": lambda p: _edit_sofa(p, _delete("Data.SamplingRate")),
    "missing_positions": lambda p: _edit_sofa(p, _delete("SourcePosition")),
    "all_zero_ir": lambda p: write_sofa_file(p, hrirs=np.zeros((_M, 2, 32))),
    "one_ear_zero": lambda p: write_sofa_file(p, hrirs=sofa_hrirs(sofa_directions()) * np.array([1, 0])[None, :, None]),
    "ir_three_receivers": lambda p: _edit_sofa(p, _replace("Data.IR", np.zeros((_M, 3, 32)))),
    "ir_two_dims": lambda p: _edit_sofa(p, _replace("Data.IR", np.zeros((_M, 32)))),
    "ir_zero_taps": lambda p: _edit_sofa(p, _replace("Data.IR", np.zeros((_M, 2, 0)))),
    "ir_one_tap": lambda p: _edit_sofa(p, _replace("Data.IR", np.ones((_M, 2, 1)))),
    "ir_nan": lambda p: _edit_sofa(p, _replace("Data.IR", np.full((_M, 2, 32), np.nan))),
    "ir_huge": lambda p: _edit_sofa(p, _replace("Data.IR", sofa_hrirs(sofa_directions()) * 1e300)),
    "positions_nan": lambda p: _edit_sofa(p, _replace("SourcePosition", _positions_with(_nan_position))),
    "positions_inf_distance": lambda p: _edit_sofa(p, _replace("SourcePosition", _positions_with(_inf_distance))),
    "positions_zero_distance": lambda p: _edit_sofa(p, _replace("SourcePosition", _positions_with(_zero_distance))),
    "positions_wrong_count": lambda p: _edit_sofa(p, _replace("SourcePosition", sofa_directions()[:5])),
    "positions_two_columns": lambda p: _edit_sofa(p, _replace("SourcePosition", sofa_directions()[:, :2])),
    "positions_one_direction": lambda p: _edit_sofa(p, _replace("SourcePosition", _positions_with(_same_direction))),
    "positions_one_ring": lambda p: _edit_sofa(p, _replace("SourcePosition", _positions_with(_one_ring))),
    "positions_unknown_type": lambda p: _edit_sofa(p, _set_var_attr("SourcePosition", "Type", "polar")),
    "single_measurement": lambda p: write_sofa_file(
        p, hrirs=sofa_hrirs(sofa_directions()[:1]), positions=sofa_directions()[:1]
    ),
    "three_measurements": lambda p: write_sofa_file(
        p, hrirs=sofa_hrirs(sofa_directions()[:3]), positions=sofa_directions()[:3]
    ),
    "rate_zero": lambda p: _edit_sofa(p, _replace("Data.SamplingRate", [0.0])),
    "rate_negative": lambda p: _edit_sofa(p, _replace("Data.SamplingRate", [-44100.0])),
    "rate_nan": lambda p: _edit_sofa(p, _replace("Data.SamplingRate", [np.nan])),
    "rate_tiny": lambda p: _edit_sofa(p, _replace("Data.SamplingRate", [1.0])),
    "rate_huge": lambda p: _edit_sofa(p, _replace("Data.SamplingRate", [1e12])),
    "rate_two_values": lambda p: _edit_sofa(p, _replace("Data.SamplingRate", [8000.0, 16000.0])),
    "delay_negative": lambda p: _edit_sofa(p, _replace("Data.Delay", [[-3.0, 0.0]])),
    "delay_huge": lambda p: _edit_sofa(p, _replace("Data.Delay", [[1e9, 0.0]])),
    "delay_nan": lambda p: _edit_sofa(p, _replace("Data.Delay", [[np.nan, 0.0]])),
    "delay_wrong_shape": lambda p: _edit_sofa(p, _replace("Data.Delay", np.zeros((3, 3)))),
    "listener_view_zero": lambda p: _edit_sofa(p, _replace("ListenerView", [[0.0, 0.0, 0.0]])),
    "listener_up_parallel": lambda p: _edit_sofa(p, _replace("ListenerUp", [[1.0, 0.0, 0.0]])),
    "listener_view_nan": lambda p: _edit_sofa(p, _replace("ListenerView", [[np.nan, 0.0, 0.0]])),
    "conventions_other": lambda p: _edit_sofa(p, _set_attr("SOFAConventions", "GeneralFIR")),
    "conventions_version_other": lambda p: _edit_sofa(p, _set_attr("SOFAConventionsVersion", "9.9")),
    "datatype_tf": lambda p: _edit_sofa(p, _set_attr("DataType", "TF")),
    "plain_hdf5": lambda p: _plain_hdf5(p),
}


def _plain_hdf5(path: Path) -> Path:
    import h5py

    with h5py.File(path, "w") as f:
        f.create_dataset("x", data=np.zeros(3))
    return path


def write_sofa_variant(path: Path, name: str) -> Path:
    """Write the SOFA variant ``name`` of :data:`SOFA_VARIANTS` to ``path``."""
    SOFA_VARIANTS[name](path)
    return path


# --------------------------------------------------------------------------------------------------
# Images and depth maps
# --------------------------------------------------------------------------------------------------


def _picture(mode: str, size: tuple[int, int] = IMAGE_SIZE) -> Image.Image:
    rng = np.random.default_rng(17)
    width, height = size
    if mode == "I;16":
        return Image.fromarray(rng.integers(0, 65535, (height, width), dtype=np.uint16))
    if mode == "F":
        return Image.fromarray(rng.random((height, width), dtype=np.float32))
    base = Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8))
    return base.convert(mode)


def _save(image: Image.Image, path: Path, **options: Any) -> Path:
    fmt = {
        ".png": "PNG",
        ".jpg": "JPEG",
        ".jpeg": "JPEG",
        ".gif": "GIF",
        ".bmp": "BMP",
        ".tif": "TIFF",
        ".tiff": "TIFF",
        ".webp": "WEBP",
    }.get(path.suffix.lower(), "PNG")
    image.save(path, format=fmt, **options)
    return path


def _truncated_png(path: Path) -> Path:
    buffer = Path(str(path) + ".whole")
    _save(_picture("RGB"), buffer)
    data = buffer.read_bytes()
    buffer.unlink()
    path.write_bytes(data[: len(data) // 2])
    return path


def _animated_gif(path: Path) -> Path:
    frames = [_picture("P"), _picture("P").rotate(90)]
    frames[0].save(path, format="GIF", save_all=True, append_images=frames[1:])
    return path


def _exif_rotated_jpeg(path: Path) -> Path:
    image = _picture("RGB")
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90° CW to stand upright
    image.save(path, format="JPEG", exif=exif.tobytes())
    return path


#: Named image variants: name → writer(path). The path's suffix picks the encoding.
IMAGE_VARIANTS: dict[str, Callable[[Path], Any]] = {
    "rgb": lambda p: _save(_picture("RGB"), p),
    "gray": lambda p: _save(_picture("L"), p),
    "rgba": lambda p: _save(_picture("RGBA"), p),
    "palette": lambda p: _save(_picture("P"), p),
    "bilevel": lambda p: _save(_picture("1"), p),
    "gray16": lambda p: _save(_picture("I;16"), p),
    "la": lambda p: _save(_picture("LA"), p),
    "cmyk_jpeg": lambda p: _picture("CMYK").save(p, format="JPEG"),
    "float_tiff": lambda p: _picture("F").save(p, format="TIFF"),
    "one_pixel": lambda p: _save(_picture("RGB", (1, 1)), p),
    "one_row": lambda p: _save(_picture("RGB", (64, 1)), p),
    "one_column": lambda p: _save(_picture("RGB", (1, 48)), p),
    "two_by_two": lambda p: _save(_picture("RGB", (2, 2)), p),
    "uniform_black": lambda p: _save(Image.new("RGB", IMAGE_SIZE), p),
    "uniform_white": lambda p: _save(Image.new("RGB", IMAGE_SIZE, (255, 255, 255)), p),
    "wide_strip": lambda p: _save(_picture("RGB", (2000, 3)), p),
    "empty_file": lambda p: p.write_bytes(b""),
    "random_bytes": lambda p: p.write_bytes(np.random.default_rng(19).integers(0, 256, 5000, dtype=np.uint8).tobytes()),
    "png_magic_only": lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n"),
    "truncated_png": _truncated_png,
    "text_file": lambda p: p.write_text("not an image\n"),
    "animated_gif": _animated_gif,
    "exif_rotated_jpeg": _exif_rotated_jpeg,
    "huge_declared_png": lambda p: p.write_bytes(_png_header(100_000, 100_000)),
    "zero_size_png": lambda p: p.write_bytes(_png_header(0, 0)),
}


def _png_header(width: int, height: int) -> bytes:
    """A PNG signature and an IHDR chunk declaring ``width`` × ``height`` (8-bit RGB), nothing after."""
    import zlib

    body = b"IHDR" + struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + body + struct.pack(">I", zlib.crc32(body))


def write_image_variant(path: Path, name: str) -> Path:
    """Write the image variant ``name`` of :data:`IMAGE_VARIANTS` to ``path``."""
    IMAGE_VARIANTS[name](path)
    return path


def _depth16(values_mm: np.ndarray) -> Image.Image:
    return Image.fromarray(np.asarray(values_mm, dtype=np.uint16))


_H, _W = IMAGE_SIZE[1], IMAGE_SIZE[0]

#: Named depth-map variants: name → writer(path) (PNG variants for .png paths, arrays for .npy).
DEPTH_VARIANTS: dict[str, Callable[[Path], Any]] = {
    "valid_png": lambda p: _depth16(np.full((_H, _W), 3000)).save(p),
    "valid_npy": lambda p: np.save(p, np.full((_H, _W), 3.0, dtype=np.float32)),
    "no_valid_pixel_png": lambda p: _depth16(np.zeros((_H, _W))).save(p),
    "no_valid_pixel_npy": lambda p: np.save(p, np.zeros((_H, _W), dtype=np.float32)),
    "all_nan_npy": lambda p: np.save(p, np.full((_H, _W), np.nan, dtype=np.float32)),
    "all_negative_npy": lambda p: np.save(p, np.full((_H, _W), -2.0, dtype=np.float32)),
    "all_inf_npy": lambda p: np.save(p, np.full((_H, _W), np.inf, dtype=np.float32)),
    "one_valid_pixel_npy": lambda p: np.save(p, np.where(np.arange(_H * _W).reshape(_H, _W) == 5, 2.0, 0.0)),
    "huge_values_npy": lambda p: np.save(p, np.full((_H, _W), 1e30, dtype=np.float32)),
    "tiny_values_npy": lambda p: np.save(p, np.full((_H, _W), 1e-30, dtype=np.float32)),
    "wrong_size_png": lambda p: _depth16(np.full((10, 10), 3000)).save(p),
    "transposed_npy": lambda p: np.save(p, np.full((_W, _H), 3.0, dtype=np.float32)),
    "three_d_npy": lambda p: np.save(p, np.full((_H, _W, 3), 3.0, dtype=np.float32)),
    "one_d_npy": lambda p: np.save(p, np.full(_H * _W, 3.0, dtype=np.float32)),
    "int_npy": lambda p: np.save(p, np.full((_H, _W), 3, dtype=np.int32)),
    "bool_npy": lambda p: np.save(p, np.ones((_H, _W), dtype=bool)),
    "complex_npy": lambda p: np.save(p, np.ones((_H, _W), dtype=complex)),
    "object_npy": lambda p: np.save(p, np.array([{"a": 1}], dtype=object), allow_pickle=True),
    "rgb_png": lambda p: Image.fromarray(np.zeros((_H, _W, 3), dtype=np.uint8)).save(p),
    "gray8_png": lambda p: Image.fromarray(np.full((_H, _W), 100, dtype=np.uint8)).save(p),
    "empty_file": lambda p: p.write_bytes(b""),
    "random_bytes": lambda p: p.write_bytes(np.random.default_rng(23).integers(0, 256, 999, dtype=np.uint8).tobytes()),
    "far_horizon_png": lambda p: _depth16(np.full((_H, _W), 65535)).save(p),
}


def write_depth_variant(path: Path, name: str) -> Path:
    """Write the depth variant ``name`` of :data:`DEPTH_VARIANTS` to ``path``."""
    DEPTH_VARIANTS[name](path)
    return path
