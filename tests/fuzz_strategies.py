"""Hypothesis strategies for the fuzz suite: mutated scenes, broken files and command lines.

Every strategy draws a *description* (plain data: names, paths, values) that a test turns into
files in a workspace made by :func:`fuzz_inputs.copy_workspace`, so that a failing example prints
as something a person can replay by hand.
"""

from __future__ import annotations

import copy
import math
from typing import Any

from hypothesis import strategies as st

import fuzz_inputs as fi

#: Text without surrogates (which cannot be written as UTF-8).
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=24)

#: Paths a field or option may be given: inputs of the workspace, the missing, the odd.
PATH_VALUES = (
    "",
    " ",
    ".",
    "..",
    "/",
    "a.wav",
    "b.wav",
    "stereo.wav",
    "hoa1.wav",
    "hoa3.wav",
    "bin.wav",
    "ir.wav",
    "img.png",
    "img.jpg",
    "depth.png",
    "depth.npy",
    "head.sofa",
    "s.yaml",
    "room.yaml",
    "pred",
    "missing.wav",
    "missing.sofa",
    "loop.wav",
    "dangling.wav",
    "/dev/null",
    "/dev/zero",
    "~/nothing.wav",
    "é🚗.wav",
    "a" * 300 + ".wav",
    "a.wav/x.wav",
    "-o",
    "--overwrite",
)

SPECIAL_FLOATS = (0.0, -0.0, -1.0, 1.0, 0.5, 1e-308, 5e-324, 1e308, -1e308, 1e30, math.inf, -math.inf, math.nan)
SPECIAL_INTS = (0, -1, 1, 2, 7, 8000, 48000, 2**31, 2**32, 2**63, 10**30, -(2**63))


def scalars() -> st.SearchStrategy[Any]:
    """Wrong-typed and extreme scalar values: none, booleans, huge ints, inf/nan, odd text and paths."""
    return st.one_of(
        st.none(),
        st.booleans(),
        st.sampled_from(SPECIAL_INTS),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.sampled_from(SPECIAL_FLOATS),
        st.floats(allow_nan=True, allow_infinity=True),
        st.sampled_from(PATH_VALUES),
        TEXT,
    )


def wild_values() -> st.SearchStrategy[Any]:
    """A scalar, or a small list or mapping of scalars (wrong nesting)."""
    return st.one_of(
        scalars(),
        st.lists(scalars(), max_size=4),
        st.dictionaries(
            st.sampled_from(["x", "y", "z", "az", "el", "dist", "name", "size", "walls", "a"]) | TEXT,
            scalars(),
            max_size=3,
        ),
    )


#: Keys a typo may turn a real key into, and keys that do not exist.
MISSPELLINGS = (
    "sorces",
    "source",
    "postion",
    "gain",
    "gain_dB",
    "audo",
    "sample-rate",
    "ouput",
    "listner",
    "head-radius",
    "rt_60",
    "maxorder",
    "shoe_box",
    "material",
    "format ",
    "Sources",
    "",
)


def _get(data: Any, path: tuple) -> Any:
    for key in path:
        data = data[key]
    return data


@st.composite
def scene_mutations(draw: st.DrawFn) -> tuple[dict[str, Any], list[tuple]]:
    """A valid scene (free field, shoebox or open) with one to three random edits.

    Returns
    -------
    (dict, list of tuple)
        The edited scene and the edits as ``(action, path, value)`` for the report.
    """
    base = draw(st.sampled_from([fi.BASE_SCENE, fi.ROOM_SCENE, fi.GROUND_SCENE]))
    data = copy.deepcopy(base)
    edits = []
    for _ in range(draw(st.integers(1, 3))):
        paths = fi.leaf_paths(data)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        action = draw(
            st.sampled_from(
                ["replace", "replace", "replace", "delete", "rename", "add", "wrap_list", "wrap_dict", "duplicate"]
            )
        )
        parent = _get(data, path[:-1])
        key = path[-1]
        value: Any = None
        if action == "replace":
            value = draw(wild_values())
            parent[key] = value
        elif action == "delete":
            del parent[key]
        elif action == "rename" and isinstance(parent, dict):
            value = draw(st.sampled_from(MISSPELLINGS) | TEXT)
            parent[value] = parent.pop(key)
        elif action == "add":
            target = parent[key] if isinstance(parent[key], dict) else parent
            value = (draw(st.sampled_from(MISSPELLINGS) | TEXT), draw(scalars()))
            if isinstance(target, dict):
                target[value[0]] = value[1]
            else:
                target.append(value[1])
        elif action == "wrap_list":
            parent[key] = [parent[key]]
        elif action == "wrap_dict":
            value = draw(st.sampled_from(["value", "x", "name", "size"]))
            parent[key] = {value: parent[key]}
        elif action == "duplicate" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[key]))
        edits.append((action, path, value))
    return data, edits


#: How a WAV file is used: as a scene source, by analyze (twice), binauralize or eval.
WAV_ROLES = ("source", "analyze", "analyze_ir", "binauralize", "eval_pred")


@st.composite
def wav_files(draw: st.DrawFn) -> tuple[str, str, bytes, list]:
    """A WAV variant, maybe with header bytes overwritten and maybe truncated, and the role it plays.

    Returns
    -------
    (str, str, bytes, list)
        Role, variant name, the file's bytes and the corruptions applied (for the report).
    """
    role = draw(st.sampled_from(WAV_ROLES))
    if role == "binauralize":
        variant = draw(st.sampled_from(["hoa1", "empty_file", "random_bytes", "header_only", "frame_count_lies"]))
        samples = fi.ambisonic_noise(1).astype(float)
        data = {
            "hoa1": lambda: fi.wav_bytes(samples, bits=32, float_format=True),
            "header_only": lambda: fi.wav_bytes(samples[:0], bits=32, float_format=True),
            "frame_count_lies": lambda: fi.wav_bytes(samples[:478], bits=32, float_format=True, data_size=48000 * 16),
        }.get(variant, fi.WAV_VARIANTS.get(variant))()
    else:
        variant = draw(st.sampled_from(sorted(fi.WAV_VARIANTS)))
        data = fi.WAV_VARIANTS[variant]()
    changes: list = []
    if data and draw(st.booleans()):
        positions = draw(st.lists(st.integers(0, min(80, len(data) - 1)), min_size=1, max_size=4))
        values = draw(st.lists(st.integers(0, 255), min_size=len(positions), max_size=len(positions)))
        data = fi.corrupt_bytes(data, positions, values)
        changes.append(("bytes", positions, values))
    if data and draw(st.integers(0, 4)) == 0:
        cut = draw(st.integers(0, len(data)))
        data = data[:cut]
        changes.append(("truncate", cut))
    return role, variant, data, changes


@st.composite
def sofa_files(draw: st.DrawFn) -> tuple[str, list]:
    """A SOFA variant name, and byte flips / a truncation to apply to it (empty lists: none)."""
    variant = draw(st.sampled_from(sorted(fi.SOFA_VARIANTS)))
    changes: list = []
    if draw(st.integers(0, 2)) == 0:
        positions = draw(st.lists(st.integers(0, 2**20), min_size=1, max_size=8))
        values = draw(st.lists(st.integers(0, 255), min_size=len(positions), max_size=len(positions)))
        changes.append(("bytes", positions, values))
    if draw(st.integers(0, 5)) == 0:
        changes.append(("truncate_fraction", draw(st.floats(0.0, 1.0))))
    return variant, changes


#: Suffixes an image may be written with, and whether Pillow can write that variant in that format.
IMAGE_SUFFIXES = (".png", ".jpg", ".bmp", ".gif", ".tif", ".webp")


@st.composite
def image_files(draw: st.DrawFn) -> tuple[str, str, list]:
    """An image variant, the suffix to write it with, and byte flips / a truncation to apply."""
    variant = draw(st.sampled_from(sorted(fi.IMAGE_VARIANTS)))
    suffix = draw(st.sampled_from(IMAGE_SUFFIXES))
    changes: list = []
    if draw(st.integers(0, 2)) == 0:
        positions = draw(st.lists(st.integers(0, 4000), min_size=1, max_size=6))
        values = draw(st.lists(st.integers(0, 255), min_size=len(positions), max_size=len(positions)))
        changes.append(("bytes", positions, values))
    if draw(st.integers(0, 4)) == 0:
        changes.append(("truncate_fraction", draw(st.floats(0.0, 1.0))))
    return variant, suffix, changes


# --------------------------------------------------------------------------------------------------
# Command lines
# --------------------------------------------------------------------------------------------------

FORMATS = (
    "omni",
    "binaural",
    "stereo",
    "ortf",
    "ab",
    "5.1",
    "7.1",
    "foa",
    "hoa2",
    "hoa3",
    "hoa0",
    "hoa-1",
    "hoa100",
    "HOA2",
    "5.1 ",
    "",
    "garbage",
    "bínaural",
    "hoa",
    "hoa1.5",
    "7.1.4",
)
RATES = (
    "8000",
    "16000",
    "0",
    "-1",
    "1",
    "7999",
    "44100.0",
    "1e5",
    "fast",
    "",
    "1000000000000",
    "384001",
    "99999999999999999999999",
)
BIT_DEPTHS = ("16", "24", "32", "float", "8", "64", "", "FLOAT")
HRTFS = ("sphere", "head.sofa", "missing.sofa", "garbage", "", "mit_kemar", "a.wav", "pred", "loop.sofa", "zero.sofa")
NUMBERS = ("0", "-1", "1", "45", "90", "179.9", "180", "360", "nan", "inf", "-inf", "1e-9", "1e308", "wide", "")


def _option(name: str, values: st.SearchStrategy[str]) -> st.SearchStrategy[list[str]]:
    """``[name, value]`` (value from ``values`` or any text)."""
    return st.tuples(st.just(name), values | TEXT).map(list)


def _flag(name: str) -> st.SearchStrategy[list[str]]:
    return st.just([name])


def _pick(*options: st.SearchStrategy[list[str]], max_size: int = 5) -> st.SearchStrategy[list[str]]:
    """A few options in random order, flattened."""
    return st.lists(st.one_of(*options), max_size=max_size).map(lambda groups: [x for g in groups for x in g])


OUTPUT_TARGETS = (
    "out.wav",
    "out.wav",
    "out.wav",
    "a.wav",
    "b.wav",
    "hoa3.wav",
    "hoa1.wav",
    "alias.wav",
    "dangling.wav",
    "loop.wav",
    "pred",
    "missing/out.wav",
    "a.wav/out.wav",
    "out.txt",
    "",
    "OUT.WAV",
    "img.wav",
    "x.regions.png",
)


@st.composite
def command_lines(draw: st.DrawFn) -> list[str]:
    """A command line for one of the commands, with random options and values."""
    command = draw(
        st.sampled_from(
            ["render", "render", "binauralize", "image", "analyze", "eval", "demo", "hrtf", "info", "other"]
        )
    )
    out = ["-o", draw(st.sampled_from(OUTPUT_TARGETS))]
    overwrite = _flag("--overwrite")
    if command == "render":
        scene = draw(
            st.sampled_from(
                ["s.yaml", "room.yaml", "ground.yaml", "s.json", "missing.yaml", "a.wav", "pred", "loop.yaml"]
            )
        )
        rest = draw(
            _pick(
                _option("--format", st.sampled_from(FORMATS)),
                _option("--sample-rate", st.sampled_from(RATES)),
                _option("--bit-depth", st.sampled_from(BIT_DEPTHS)),
                _option("--hrtf", st.sampled_from(HRTFS)),
                _flag("--lfe"),
                _flag("--ir-only"),
                _flag("--normalize"),
                overwrite,
                _flag("--quiet"),
            )
        )
        return ["render", scene, *out, *rest]
    if command == "binauralize":
        source = draw(
            st.sampled_from(["hoa1.wav", "hoa3.wav", "a.wav", "bin.wav", "missing.wav", "img.png", "loop.wav"])
        )
        rest = draw(
            _pick(
                _option("--convention", st.sampled_from(["ambix", "fuma", "n3d"])),
                _option("--hrtf", st.sampled_from(HRTFS)),
                _option("--bit-depth", st.sampled_from(BIT_DEPTHS)),
                _option("--sample-rate", st.sampled_from(RATES)),
                _flag("--normalize"),
                overwrite,
            )
        )
        return ["binauralize", source, *out, *rest]
    if command == "image":
        picture = draw(st.sampled_from(["img.png", "img.jpg", "img.wav", "x.regions.png", "missing.png", "a.wav"]))
        sounds = draw(
            st.lists(
                st.one_of(
                    st.tuples(
                        st.just("--source"),
                        st.sampled_from(
                            [
                                "car=a.wav",
                                "car=in.wav",
                                "person=b.wav",
                                "car=",
                                "=x.wav",
                                "car=stereo.wav",
                                "car=missing.wav",
                                "car=loop.wav",
                                "car=a.wav=b.wav",
                            ]
                        )
                        | TEXT,
                    ),
                    st.tuples(
                        st.just("--audio"), st.sampled_from(["a.wav", "b.wav", "in.wav", "", "stereo.wav"]) | TEXT
                    ),
                ).map(list),
                min_size=1,
                max_size=3,
            )
        )
        rest = draw(
            _pick(
                _option(
                    "--depth",
                    st.sampled_from(
                        ["geometric", "depth.png", "depth.npy", "x.map.png", "missing.png", "garbage", "a.wav"]
                    ),
                ),
                _option(
                    "--region",
                    st.sampled_from(
                        [
                            "car=10,10,30,30",
                            "car=20,20",
                            "car=1,2,3",
                            "=1,2",
                            "car=nan,1",
                            "car=30,30,10,10",
                            "car=1e9,1e9",
                            "",
                        ]
                    ),
                ),
                _option("--fov", st.sampled_from(NUMBERS)),
                _option(
                    "--room",
                    st.sampled_from(["none", "2x2x2", "8x6x3", "0x1x1", "cathedral", "-1x2x3", "8x6", "1e9x1e9x1e9"]),
                ),
                _option("--scene-depth", st.sampled_from(NUMBERS)),
                _option("--format", st.sampled_from(FORMATS)),
                _option("--sample-rate", st.sampled_from(RATES)),
                _option("--bit-depth", st.sampled_from(BIT_DEPTHS)),
                _option("--regions", st.sampled_from(["classical", "garbage"])),
                _option("--mesh", st.sampled_from(["m.ply", "m.txt", "a.wav", "missing/m.ply"])),
                _flag("--keep-level"),
                _flag("--explain"),
                overwrite,
                max_size=4,
            )
        )
        if "--depth" not in rest:
            rest += ["--depth", "geometric"]
        if "--room" not in rest:
            rest += ["--room", "none"]
        return ["image", picture, *[x for s in sounds for x in s], "-o", draw(st.sampled_from(OUTPUT_TARGETS)), *rest]
    if command == "analyze":
        source = draw(
            st.sampled_from(
                ["bin.wav", "hoa1.wav", "ir.wav", "a.wav", "stereo.wav", "missing.wav", "img.png", "loop.wav", "pred"]
            )
        )
        rest = draw(
            _pick(
                _option("--format", st.sampled_from(FORMATS)),
                _flag("--ir"),
                _option("--bands", st.sampled_from(["octave", "third"])),
                _option("--hrtf", st.sampled_from(HRTFS)),
                _option("--convention", st.sampled_from(["ambix", "fuma", "n3d"])),
                _option("--max-sources", st.sampled_from(["0", "-1", "1", "4", "1000000000", "all"])),
                _option("--json", st.sampled_from(["r.json", "r.txt", "a.wav", "missing/r.json"])),
                _option("--plot", st.sampled_from(["p.png", "p.jpg", "loop.wav", "img.png"])),
                overwrite,
            )
        )
        return ["analyze", source, *rest]
    if command == "eval":
        folders = ["pred", "ref", "mono", "missing", "a.wav", "."]
        rest = draw(
            _pick(
                _option("--input", st.sampled_from(folders)),
                _option("--pad-mode", st.sampled_from(["reflect", "constant", "zeros"])),
                _flag("--per-file"),
                _option("--json", st.sampled_from(["r.json", "r.csv"])),
                _option("--csv", st.sampled_from(["r.csv", "r.json"])),
                overwrite,
            )
        )
        return ["eval", "--pred", draw(st.sampled_from(folders)), "--ref", draw(st.sampled_from(folders)), *rest]
    if command == "demo":
        rest = draw(
            _pick(
                _option("--sample-rate", st.sampled_from(RATES)),
                _option("--hrtf", st.sampled_from(HRTFS)),
                overwrite,
                _flag("--quiet"),
            )
        )
        if "--sample-rate" not in rest:
            rest += ["--sample-rate", "8000"]
        return ["demo", "-o", draw(st.sampled_from(["d", "a.wav", "missing/d", "", "dangling", "pred/d"])), *rest]
    if command == "hrtf":
        return [
            "hrtf",
            *draw(st.lists(st.sampled_from(["fetch", "mit_kemar", "nonexistent", "", "--help-me"]), max_size=3)),
        ]
    if command == "info":
        return ["info", *draw(st.lists(st.sampled_from(["extra", "--verbose"]) | TEXT, max_size=1))]
    return draw(st.lists(st.sampled_from(["rendr", "--frobnicate", "", "-", "--", "render", "-o"]) | TEXT, max_size=3))
