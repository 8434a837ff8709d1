"""Property-based fuzzing of the command line (issue 9, "A permanent guard").

For every generated input — a mutated scene file, a WAV file with a corrupted header, a damaged
SOFA head, a broken image or depth map, a random command line — the command must either succeed
or refuse the input the one way a user error is refused:

* exit 0, or a non-zero exit with exactly one stderr line starting with ``soundstage: error:``;
* never a Python traceback, never a warning (``RuntimeWarning``, ``UserWarning``...) on stderr;
* no file in the working folder changed except the outputs it was asked for (``-o`` and its
  documented side files), and never an input, even when ``-o`` names one with ``--overwrite``;
* no hidden temporary file (``.NAME.*.tmp``) left behind;
* bounded in time (:data:`EXAMPLE_TIMEOUT_S` per run) and memory (3 GiB of address space).

Runs go through :func:`fuzz_harness.run_cli`, which forks the test process instead of starting
an interpreter, so an example costs tens of milliseconds plus the command's own work.

Budget and longer runs
----------------------
By default every test uses a fixed seed (``derandomize=True``) and a small number of examples,
without shrinking, so the whole fuzz suite (with ``test_fuzz_catalogue.py``) stays within about
90 s on two cores. Set ``SOUNDSTAGE_FUZZ_EXAMPLES`` for a longer, randomised run with shrinking::

    SOUNDSTAGE_FUZZ_EXAMPLES=2000 python -m pytest -q tests/test_fuzz_cli.py

(``SOUNDSTAGE_FUZZ_SEED=N`` fixes the seed of such a run so that it can be repeated.)
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import fuzz_inputs as fi
import fuzz_strategies as fs
from fuzz_harness import RunResult, check_run, run_cli, snapshot

#: Wall-clock bound of one run, seconds.
EXAMPLE_TIMEOUT_S = 10.0
#: ``SOUNDSTAGE_FUZZ_EXAMPLES``: examples per test for a long run (0: the small CI defaults).
LONG_RUN_EXAMPLES = int(os.environ.get("SOUNDSTAGE_FUZZ_EXAMPLES", "0") or 0)
_SEED = os.environ.get("SOUNDSTAGE_FUZZ_SEED", "").strip()


def fuzz_settings(ci_examples: int) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Hypothesis settings: ``ci_examples`` with a fixed seed and no shrinking, or the long run.

    Parameters
    ----------
    ci_examples : int
        Examples in the default (CI) run.
    """
    long_run = LONG_RUN_EXAMPLES > 0
    chosen = settings(
        max_examples=LONG_RUN_EXAMPLES if long_run else ci_examples,
        derandomize=not long_run,
        deadline=None,
        database=None,
        print_blob=long_run,
        phases=(Phase.explicit, Phase.generate, Phase.shrink) if long_run else (Phase.explicit, Phase.generate),
        suppress_health_check=list(HealthCheck),
    )

    def apply(test: Callable[..., None]) -> Callable[..., None]:
        test = chosen(test)
        return seed(int(_SEED))(test) if long_run and _SEED.isdigit() else test

    return apply


@contextmanager
def workspace() -> Iterator[Path]:
    """A fresh copy of the fuzz workspace with its traps (links, loops, look-alike names), removed afterwards."""
    work = fi.copy_workspace(traps=True)
    try:
        yield work
    finally:
        fi.remove_workspace(work)


def _real(work: Path, name: str) -> str:
    return os.path.realpath(work / name)


def _option_values(argv: list[str], name: str) -> list[str]:
    return [argv[i + 1] for i, token in enumerate(argv[:-1]) if token == name]


def _scene_inputs(work: Path, scene: str) -> list[str]:
    """The scene file and every file it names (sources, SOFA head, mesh)."""
    names = [scene]
    try:
        data = yaml.safe_load((work / scene).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError, RecursionError):
        return names
    if not isinstance(data, dict):
        return names
    sources = data.get("sources")
    for source in sources if isinstance(sources, list) else []:
        if isinstance(source, dict) and isinstance(source.get("audio"), str):
            names.append(source["audio"])
    hrtf = data.get("hrtf")
    hrtf = hrtf.get("name") if isinstance(hrtf, dict) else hrtf
    if isinstance(hrtf, str):
        names.append(hrtf)
    room = data.get("room")
    if isinstance(room, dict) and isinstance(room.get("mesh"), str):
        names.append(room["mesh"])
    return names


def _source_names(work: Path, scene: str) -> list[str]:
    """The file-name-safe source names ``--ir-only`` suffixes its outputs with (as the CLI makes them)."""
    try:
        data = yaml.safe_load((work / scene).read_text(encoding="utf-8"))
        sources = data["sources"]
        names = [str(s.get("name") or f"source{i + 1}") for i, s in enumerate(sources)]
    except Exception:  # any scene the CLI will refuse anyway
        return []
    return [re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "source" for name in names]


def inputs_and_outputs(argv: list[str], work: Path) -> tuple[set[str], list[str]]:
    """What ``soundstage ARGV`` reads (real paths of existing files) and may write (relative paths or globs).

    Outputs are the files a successful run may create or replace: ``-o`` and its documented side
    files (``out_NAME.wav`` of ``--ir-only``; ``out.scene.yaml``, ``out.regions.png``,
    ``out.map.png`` and ``--mesh`` of ``image``; ``--json``, ``--plot``, ``--csv``; a demo folder).
    """
    command = argv[0] if argv else ""
    reads: list[str] = []
    writes: list[str] = []
    outputs = _option_values(argv, "-o")
    if command in ("render", "binauralize", "image", "analyze") and len(argv) > 1:
        reads.append(argv[1])
    reads += _option_values(argv, "--hrtf")
    if command == "render" and len(argv) > 1:
        reads += _scene_inputs(work, argv[1])
        for out in outputs:
            if "--ir-only" in argv:
                # One file per source, the output's name suffixed with the source's (README, --ir-only).
                stem, suffix = os.path.splitext(out)
                writes += [f"{stem}_{name}{suffix}" for name in _source_names(work, argv[1])]
                writes += [out, f"{stem}_*{suffix}"]
            else:
                writes.append(out)
    elif command == "binauralize":
        writes += outputs
    elif command == "image":
        reads += [value.partition("=")[2] for value in _option_values(argv, "--source")]
        reads += _option_values(argv, "--audio") + _option_values(argv, "--depth")
        for out in outputs:
            stem = os.path.splitext(out)[0]
            writes += [out, f"{stem}.scene.yaml", f"{stem}.regions.png", f"{stem}.map.png"]
        writes += _option_values(argv, "--mesh")
    elif command == "analyze":
        writes += _option_values(argv, "--json") + _option_values(argv, "--plot")
    elif command == "eval":
        for folder in _option_values(argv, "--pred") + _option_values(argv, "--ref") + _option_values(argv, "--input"):
            if (work / folder).is_dir():
                reads += [str(p.relative_to(work)) for p in (work / folder).iterdir()]
        writes += _option_values(argv, "--json") + _option_values(argv, "--csv")
    elif command == "demo":
        for out in outputs:
            # The folder (created with its missing parents, as the README says) and everything in it.
            parents = [str(p) for p in Path(out).parents if str(p) not in ("", ".")]
            writes += [out, f"{out}/*", *parents]
    real_reads = {_real(work, name) for name in reads if name and (work / name).is_file()}
    return real_reads, writes


def check_command(argv: list[str], work: Path, before: dict, result: RunResult) -> bool:
    """Every property for one run; an output that is an input must be refused and left alone."""
    real_reads, writes = inputs_and_outputs(argv, work)
    concrete = [w for w in writes if "*" not in w and w]
    written = [w for w in concrete if not (argv[:1] == ["render"] and "--ir-only" in argv and w in argv)]
    clobbers = sorted({w for w in written if _real(work, w) in real_reads})
    # Outputs may change only where they are not inputs; a link's target may change only if it is no input.
    allowed = [w for w in writes if w and _real(work, w) not in real_reads]
    for w in concrete:
        if (work / w).is_symlink() and _real(work, w) not in real_reads:
            allowed.append(os.path.relpath(_real(work, w), work))
    if clobbers:
        note = f"-o names an input ({', '.join(clobbers)}): it must be refused and the input kept"
        try:
            return check_run(result, work, before, allowed, expect="error")
        except AssertionError as error:
            raise AssertionError(f"{note}\n{error}") from None
    return check_run(result, work, before, allowed, expect="either")


def run_and_check(argv: list[str], work: Path) -> RunResult:
    """Run ``soundstage ARGV`` in ``work`` and check every property; the result, for further checks."""
    before = snapshot(work)
    result = run_cli(argv, work, timeout_s=EXAMPLE_TIMEOUT_S)
    try:
        check_command(argv, work, before, result)
    except AssertionError as error:
        raise AssertionError(f"replay: cd WORKSPACE && soundstage {shlex.join(argv)}\n{error}") from None
    return result


def fs_quick() -> list[str]:
    """The image options that skip what is not under test and slow (depth models, room fitting)."""
    return ["--depth", "geometric", "--room", "none"]


# --------------------------------------------------------------------------------------------------
# Scene files
# --------------------------------------------------------------------------------------------------


@fuzz_settings(36)
@given(mutation=fs.scene_mutations(), ir_only=st.booleans())
def test_mutated_scene_files(mutation: tuple[dict[str, Any], list[tuple]], ir_only: bool) -> None:
    data, _edits = mutation
    with workspace() as work:
        fi.write_yaml(work / "fuzz.yaml", data)
        run_and_check(["render", "fuzz.yaml", "-o", "out.wav", *(["--ir-only"] if ir_only else [])], work)


@fuzz_settings(16)
@given(
    content=st.one_of(
        st.binary(max_size=600),
        st.tuples(st.integers(0, 400), st.integers(0, 40), fs.TEXT),
    ),
    suffix=st.sampled_from([".yaml", ".json", ".yml", ".txt"]),
)
def test_scene_file_bytes(content: bytes | tuple[int, int, str], suffix: str) -> None:
    """Random bytes, or the valid scene with a slice replaced by random text, as the scene file."""
    with workspace() as work:
        path = work / f"fuzz{suffix}"
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            start, length, text = content
            valid = (work / ("s.json" if suffix == ".json" else "s.yaml")).read_text(encoding="utf-8")
            path.write_text(valid[:start] + text + valid[start + length :], encoding="utf-8")
        run_and_check(["render", path.name, "-o", "out.wav"], work)


# --------------------------------------------------------------------------------------------------
# WAV, SOFA, images, depth maps
# --------------------------------------------------------------------------------------------------


@fuzz_settings(36)
@given(wav=fs.wav_files())
def test_wav_files(wav: tuple[str, str, bytes, list]) -> None:
    role, _variant, data, _changes = wav
    with workspace() as work:
        if role == "eval_pred":
            (work / "pred" / "clip0.wav").write_bytes(data)
            argv = ["eval", "--pred", "pred", "--ref", "ref", "--input", "mono"]
        else:
            (work / "fuzz.wav").write_bytes(data)
            argv = {
                "source": ["render", "src.yaml", "-o", "out.wav"],
                "analyze": ["analyze", "fuzz.wav"],
                "analyze_ir": ["analyze", "fuzz.wav", "--ir"],
                "binauralize": ["binauralize", "fuzz.wav", "-o", "out.wav"],
            }[role]
            if role == "source":
                fi.write_yaml(work / "src.yaml", fi.scene(**{"sources.0.audio": "fuzz.wav"}))
        run_and_check(argv, work)


def _corrupt_file(path: Path, changes: list) -> None:
    data = path.read_bytes() if path.exists() else b""
    for change in changes:
        if change[0] == "bytes":
            data = fi.corrupt_bytes(data, change[1], change[2])
        elif change[0] == "truncate_fraction":
            data = data[: int(len(data) * change[1])]
    path.write_bytes(data)


@fuzz_settings(24)
@given(head=fs.sofa_files(), command=st.sampled_from(["render", "binauralize", "analyze"]))
def test_sofa_files(head: tuple[str, list], command: str) -> None:
    variant, changes = head
    with workspace() as work:
        path = fi.write_sofa_variant(work / "fuzz.sofa", variant)
        _corrupt_file(path, changes)
        argv = {
            "render": ["render", "s.yaml", "-o", "out.wav", "--hrtf", "fuzz.sofa"],
            "binauralize": ["binauralize", "hoa1.wav", "-o", "out.wav", "--hrtf", "fuzz.sofa"],
            "analyze": ["analyze", "bin.wav", "--hrtf", "fuzz.sofa"],
        }[command]
        run_and_check(argv, work)


@fuzz_settings(6)
@given(picture=fs.image_files())
def test_image_files(picture: tuple[str, str, list]) -> None:
    variant, suffix, changes = picture
    with workspace() as work:
        path = work / f"fuzz{suffix}"
        try:
            fi.write_image_variant(path, variant)
        except (OSError, ValueError, KeyError):  # Pillow cannot write that mode in that format: write it as PNG
            path = work / "fuzz.png"
            fi.write_image_variant(path, variant)
        _corrupt_file(path, changes)
        run_and_check(["image", path.name, "--source", "car=a.wav", "-o", "out.wav", *fs_quick()], work)


DEPTH_ELEMENTS = st.one_of(
    st.floats(width=32, allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -1.0, 1e-30, 1e30, np.nan, np.inf, 3.0]),
)


@fuzz_settings(6)
@given(
    depth=st.one_of(
        hnp.arrays(np.float32, (fi.IMAGE_SIZE[1], fi.IMAGE_SIZE[0]), elements=DEPTH_ELEMENTS),
        hnp.arrays(np.float32, hnp.array_shapes(min_dims=0, max_dims=3, max_side=70), elements=DEPTH_ELEMENTS),
        hnp.arrays(
            st.sampled_from([np.uint16, np.int32, np.float64, np.bool_, np.complex64]),
            (fi.IMAGE_SIZE[1], fi.IMAGE_SIZE[0]),
        ),
        st.sampled_from(sorted(fi.DEPTH_VARIANTS)),
    )
)
def test_depth_maps(depth: np.ndarray | str) -> None:
    with workspace() as work:
        if isinstance(depth, str):
            path = fi.write_depth_variant(work / f"fuzz{'.npy' if 'npy' in depth else '.png'}", depth)
        else:
            path = work / "fuzz.npy"
            np.save(path, depth)
        run_and_check(
            ["image", "img.png", "--source", "car=a.wav", "-o", "out.wav", "--depth", path.name, "--room", "none"], work
        )


# --------------------------------------------------------------------------------------------------
# Command lines
# --------------------------------------------------------------------------------------------------


@fuzz_settings(50)
@given(argv=fs.command_lines())
def test_command_lines(argv: list[str]) -> None:
    with workspace() as work:
        run_and_check(argv, work)


@fuzz_settings(24)
@given(
    command=st.sampled_from(["render", "binauralize", "image", "render-ir"]),
    target=st.sampled_from(
        [
            "a.wav",
            "b.wav",
            "in.wav",
            "hoa1.wav",
            "hoa3.wav",
            "alias.wav",
            "img.wav",
            "x.wav",
            "dangling.wav",
            "loop.wav",
            "out.wav",
            "pred",
            "missing/out.wav",
            "a.wav/out.wav",
        ]
    ),
    overwrite=st.booleans(),
)
def test_output_paths(command: str, target: str, overwrite: bool) -> None:
    """``-o`` at inputs, links to inputs, dangling links, loops, folders and missing folders."""
    argv = {
        "render": ["render", "s.yaml"],
        "render-ir": ["render", "s.yaml", "--ir-only"],
        "binauralize": ["binauralize", "hoa3.wav" if target != "hoa3.wav" else "hoa1.wav"],
        "image": [
            "image",
            "img.wav" if target in ("x.wav", "img.wav") else "x.regions.png",
            "--source",
            "car=in.wav",
            *fs_quick(),
        ],
    }[command]
    argv = [*argv, "-o", target, *(["--overwrite"] if overwrite else [])]
    if command == "binauralize" and target in ("hoa1.wav", "hoa3.wav"):
        argv[1] = target  # the input itself
    with workspace() as work:
        result = run_and_check(argv, work)
        link = work / target
        if link.is_symlink() and not link.exists() and not overwrite:
            assert result.code != 0, f"a {target} link was replaced without --overwrite\n{result.describe()}"


def test_fail_fast_offline_in_a_real_process(tmp_path: Path) -> None:
    """``--source car=`` and ``--source car`` offline: one line, in seconds, in a real interpreter.

    The bound is not a speed target (start-up lives in benchmarks/bench_startup.py): it catches a command that
    tries a download or loads a model before failing (tens of seconds, or the 30 s timeout). About 1 s on an idle
    machine; 4 s leaves room for a loaded CI host (2.1 s seen there)."""
    from fuzz_harness import assert_clean_error, run_subprocess

    work = fi.copy_workspace(tmp_path)
    for source in ("car=", "car"):
        result = run_subprocess(
            ["image", "img.png", "--source", source, "-o", "out.wav", *fs_quick()],
            work,
            env={"SOUNDSTAGE_OFFLINE": "1"},
            timeout_s=30,
        )
        assert_clean_error(result)
        assert result.seconds < 4.0, f"took {result.seconds:.1f} s offline (bound 4 s)\n{result.describe()}"
