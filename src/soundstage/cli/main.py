"""The ``soundstage`` command line: parse, call one API function, report.

Known problems (bad input, missing files, offline) print one line and exit 1; bugs
keep their traceback. Heavy libraries are imported inside the commands so that
``soundstage --help`` starts fast.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path

FORMAT_HELP = "omni | binaural | stereo | ortf | ab | 5.1 | 7.1 | foa | hoaN (any order N, e.g. hoa3)"

#: Every command, in the order of ``soundstage --help``, with the module of :mod:`soundstage.cli` that registers
#: it (None: this one). A command line naming one gets a parser with that command alone: the whole parser is some
#: 20 sub-commands and 180 options, 30-40 ms of a short render's start-up.
COMMANDS: dict[str, str | None] = {
    "render": None,
    "demo": None,
    "binauralize": "learn",
    "data": "learn",
    "train": "learn",
    "image": "image",
    "analyze": "analyze",
    "eval": "evaluate",
    "video": "video",
    "text": "text",
    "serve": "serve",
    "batch": "batch",
    "stream": "stream",
    "info": None,
    "hrtf": None,
}


def run() -> None:
    """The ``soundstage`` console command: :func:`main` in a process that ends with it.

    Before exiting, what the process built (tens of thousands of objects: modules, the scene model's
    validators) is frozen out of the garbage collector, so that the interpreter's last collections skip
    it rather than visit it for nothing: 50-60 ms of a short render. Exit handlers and flushes run as usual.
    """
    import gc

    code = main()
    gc.freeze()
    sys.exit(code)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 1 a problem the user can fix, 2 bad usage).

    Every command runs inside :func:`~soundstage.io.inputs.recording_inputs`, so no output
    replaces a file the command read, and with SIGTERM/SIGHUP turned into an exception, so
    that ``timeout``, service managers and closed terminals leave no temporary file behind
    (the atomic writers remove theirs while the exception passes), as Ctrl-C does.
    """
    # Pydantic looks for plugins by reading every installed package's metadata when the scene
    # model is defined: a fifth of a short render's start-up. The CLI uses none; a user who does
    # can still name theirs in this variable.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    from soundstage.errors import SoundstageError, one_line
    from soundstage.io.inputs import recording_inputs

    argv = sys.argv[1:] if argv is None else list(argv)
    parser = parser_for(argv)
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        print(
            "soundstage: error: give a command, e.g. soundstage render scene.yaml -o out.wav (see soundstage --help)",
            file=sys.stderr,
        )
        return 2
    try:
        with recording_inputs(), _signals_as_exceptions(), _warnings_as_notes():
            return int(args.handler(args) or 0)
    except SoundstageError as error:
        print(f"soundstage: error: {one_line(error)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("soundstage: interrupted; no partial file was left", file=sys.stderr)
        return 130
    except Terminated as stop:
        print(f"soundstage: stopped by {stop.signal_name}; no partial file was left", file=sys.stderr)
        return 128 + stop.signal_number


class Terminated(BaseException):
    """Raised in the main thread when the process receives SIGTERM or SIGHUP.

    A BaseException, like KeyboardInterrupt, so that ``except Exception`` blocks do not swallow
    it and ``finally``/context managers (the atomic writers' clean-up) run on the way out.
    """

    def __init__(self, signal_number: int) -> None:
        import signal

        super().__init__(signal_number)
        self.signal_number = signal_number
        self.signal_name = signal.Signals(signal_number).name


@contextlib.contextmanager
def _signals_as_exceptions():
    """SIGTERM and SIGHUP raise :class:`Terminated` inside the block (main thread only)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signal_number: int, _frame) -> None:
        raise Terminated(signal_number)

    caught = [signal.SIGTERM] + ([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])
    previous = {number: signal.signal(number, stop) for number in caught}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


@contextlib.contextmanager
def _warnings_as_notes():
    """Python warnings inside the block print as one ``soundstage: note:`` line, without source lines.

    A library's advice (a SOFA set that cannot be triangulated falls back to the nearest HRIR) is
    worth a line; numpy's RuntimeWarnings mean a check is missing, so they say to report them.
    """
    import warnings

    def note(message, category, filename, lineno, file=None, line=None) -> None:
        text = " ".join(str(message).split())
        if not issubclass(category, UserWarning):
            text += f" ({category.__name__} in {Path(filename).name}:{lineno}; please report this)"
        print(f"soundstage: note: {text}", file=sys.stderr)

    with warnings.catch_warnings():
        warnings.showwarning = note
        yield


def path_argument(text: str) -> Path:
    """A file or folder given on the command line; an empty one is refused (``Path("")`` would mean ".").

    >>> path_argument("out.wav")
    PosixPath('out.wav')
    """
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path; give a file or folder name")
    return Path(text)


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line (and exit code 2), like every other error."""

    def error(self, message: str):  # type: ignore[override]
        command = self.prog.partition(" ")[2]
        where = f"{command}: " if command else ""
        self.exit(2, f"soundstage: error: {where}{message} (see {self.prog} --help)\n")


def parser_for(argv: list[str]) -> argparse.ArgumentParser:
    """The parser for a command line: the command it names alone, else every command (help, errors, ``--version``)."""
    named = str(argv[0]) if argv else None
    return build_parser(named if named in COMMANDS else None)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser with every sub-command, or with ``command`` (a key of :data:`COMMANDS`) alone."""
    import importlib

    from soundstage import __version__

    parser = OneLineParser(
        prog="soundstage",
        description="Spatial audio from mono sounds and a scene: binaural, stereo, 5.1/7.1, ambisonics.",
    )
    parser.add_argument("--version", action="version", version=f"soundstage {__version__}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")
    wanted = list(COMMANDS) if command is None else [command]
    registered: set[str] = set()
    for name in wanted:
        module = COMMANDS[name]
        if module is None:
            _BUILT_IN[name](commands)
        elif module not in registered:
            importlib.import_module(f"soundstage.cli.{module}").register(commands)
            registered.add(module)
    return parser


def _add_render(commands: argparse._SubParsersAction) -> None:
    render = commands.add_parser("render", help="render a scene file to a WAV file")
    render.add_argument("scene", type=path_argument, help="scene file (YAML or JSON)")
    render.add_argument("-o", "--output", type=path_argument, required=True, help="output WAV file")
    render.add_argument("--format", help=f"output format, overrides the scene: {FORMAT_HELP}")
    render.add_argument("--sample-rate", type=int, help="output sample rate in Hz, overrides the scene")
    render.add_argument(
        "--lfe",
        action="store_true",
        default=None,
        help="5.1/7.1: feed the LFE channel with the sum low-passed at 120 Hz",
    )
    render.add_argument(
        "--ir-only",
        action="store_true",
        help="write the impulse response of each source instead of the mix (32-bit float unless --bit-depth): "
        "one file per source, OUTPUT's name suffixed with the source's name (-o ir.wav → ir_NAME.wav)",
    )
    render.add_argument(
        "--explain",
        action="store_true",
        help="also print what the render used, one line each: head, propagation, the room's decay per band and "
        "where it came from (ray tracing or a formula)",
    )
    _add_hrtf_option(render)
    _add_write_options(render, bit_depth_default=None)
    add_memory_option(render)
    render.set_defaults(handler=_render)


def _add_demo(commands: argparse._SubParsersAction) -> None:
    demo = commands.add_parser("demo", help="synthesize a scene and render it to every format, with a plot")
    demo.add_argument("-o", "--output", type=path_argument, default=Path("demo"), help="output folder (default: demo)")
    demo.add_argument("--sample-rate", type=int, default=48000, help="sample rate in Hz (default 48000)")
    demo.add_argument("--overwrite", action="store_true", help="replace files from an earlier demo")
    demo.add_argument("--quiet", action="store_true", help="print only errors")
    _add_hrtf_option(demo)
    demo.set_defaults(handler=_demo)


def _add_info(commands: argparse._SubParsersAction) -> None:
    info = commands.add_parser("info", help="formats, HRTFs available, versions")
    info.set_defaults(handler=_info)


def _add_hrtf(commands: argparse._SubParsersAction) -> None:
    hrtf = commands.add_parser("hrtf", help="manage HRTF sets: fetch a registered set into the cache")
    hrtf_commands = hrtf.add_subparsers(title="hrtf commands", metavar="ACTION")
    fetch = hrtf_commands.add_parser("fetch", help="download a registered HRTF set (checksum-verified)")
    fetch.add_argument("name", help="registered name (see `soundstage info`)")
    fetch.set_defaults(handler=_hrtf_fetch)
    hrtf.set_defaults(handler=_hrtf_usage)


#: The commands this module registers itself, by name.
_BUILT_IN = {"render": _add_render, "demo": _add_demo, "info": _add_info, "hrtf": _add_hrtf}


def add_memory_option(parser: argparse.ArgumentParser) -> None:
    """``--memory-limit``: the budget a render is held to before any heavy work."""
    parser.add_argument(
        "--memory-limit",
        metavar="SIZE",
        help="refuse renders estimated to need more memory than this (e.g. 4G, 512M; "
        "default $SOUNDSTAGE_MEMORY_LIMIT, else half the machine's memory up to 8G)",
    )


def _add_hrtf_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--hrtf", help="head for binaural: sphere (built in), a registered name, or PATH.sofa")


def _add_write_options(parser: argparse.ArgumentParser, *, bit_depth_default: str | None) -> None:
    parser.add_argument(
        "--bit-depth",
        choices=["16", "24", "32", "float"],
        default=bit_depth_default,
        help="integer PCM bits or 32-bit float (default: the scene's, else 24)",
    )
    parser.add_argument("--normalize", action="store_true", help="scale so the peak is at -1 dBFS")
    parser.add_argument("--overwrite", action="store_true", help="replace the output file if it exists")
    parser.add_argument("--quiet", action="store_true", help="print only errors")


def _bit_depth(value: str | None, fallback: int | str) -> int | str:
    if value is None:
        return fallback
    return value if value == "float" else int(value)


def _render(args: argparse.Namespace) -> int:
    from soundstage.acoustics.render import render
    from soundstage.cli.outputs import check_outputs
    from soundstage.io.export import write_render
    from soundstage.scene.files import load_scene

    check_outputs([(args.output, ".wav")], overwrite=args.overwrite)
    scene = load_scene(args.scene)  # records the scene's own files as inputs: checked again below
    if args.ir_only:
        return _render_impulse_responses(args, scene)
    check_outputs([(args.output, ".wav")], overwrite=args.overwrite)
    result = render(scene, **_render_options(args))
    report = write_render(
        result,
        args.output,
        bit_depth=_bit_depth(args.bit_depth, scene.output.bit_depth),
        normalize=args.normalize,
        overwrite=args.overwrite,
    )
    if not args.quiet:
        print(_describe(report, result))
    if args.explain:
        print(_explain(result))
    return 0


def _explain(result) -> str:
    """What the render used, one ``name: value`` line each (its details, the decay per band among them)."""
    return "\n".join(f"{key}: {value}" for key, value in result.details.items())


def _render_options(args: argparse.Namespace) -> dict:
    """The options ``render`` and ``impulse_responses`` take from ``soundstage render``'s arguments."""
    return {
        "format": args.format,
        "sample_rate": args.sample_rate,
        "hrtf": args.hrtf,
        "lfe": args.lfe,
        "progress": not args.quiet,
        "memory_limit": args.memory_limit,
    }


def _render_impulse_responses(args: argparse.Namespace, scene) -> int:
    from soundstage.acoustics.render import impulse_responses
    from soundstage.cli.outputs import check_outputs
    from soundstage.io.export import write_render

    outputs = impulse_response_paths(args.output, [s.name or f"source{i + 1}" for i, s in enumerate(scene.sources)])
    check_outputs([(path, ".wav") for path in outputs], overwrite=args.overwrite)
    results = impulse_responses(scene, **_render_options(args))
    for path, (_, result) in zip(outputs, results, strict=True):
        report = write_render(
            result,
            path,
            bit_depth=_bit_depth(args.bit_depth, "float"),
            normalize=args.normalize,
            overwrite=args.overwrite,
        )
        if not args.quiet:
            print(_describe(report, result))
    if args.explain and results:
        print(_explain(results[-1][1]))
    return 0


def impulse_response_paths(output: Path, names: list[str]) -> list[Path]:
    """``output`` suffixed with each source's name, one source or many (so scripts can rely on the name).

    >>> [p.name for p in impulse_response_paths(Path("ir.wav"), ["a", "b c"])]
    ['ir_a.wav', 'ir_b-c.wav']
    >>> [p.name for p in impulse_response_paths(Path("ir.wav"), ["a"])]
    ['ir_a.wav']
    """
    import re

    from soundstage.errors import ParameterError

    safe = [re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "source" for name in names]
    if len(set(safe)) != len(safe):
        raise ParameterError("sources: give every source a distinct name to write one impulse response each")
    return [output.with_name(f"{output.stem}_{name}{output.suffix}") for name in safe]


def _describe(report, result) -> str:
    """One line: what was written, its level and what was used."""
    parts = [
        f"wrote {report.path}: {result.format}, {len(result.channel_labels)} ch "
        f"({' '.join(result.channel_labels[:8])}{' ...' if len(result.channel_labels) > 8 else ''}), "
        f"{result.sample_rate} Hz, {result.duration:.2f} s, peak {report.peak_dbfs:+.1f} dBFS"
    ]
    if report.gain_db:
        parts.append(f"normalised by {report.gain_db:+.1f} dB")
    if report.peak_dbfs > 0:
        parts.append("peak above full scale kept in float; normalise before converting to integer PCM")
    # The decay per band is long; --explain prints it.
    parts.extend(f"{key} {value}" for key, value in result.details.items() if key != "decay")
    return "; ".join(parts)


def _demo(args: argparse.Namespace) -> int:
    from soundstage.demo import run_demo

    run_demo(
        args.output,
        sample_rate=args.sample_rate,
        hrtf=args.hrtf or "sphere",
        overwrite=args.overwrite,
        verbose=not args.quiet,
    )
    return 0


def _info(args: argparse.Namespace) -> int:
    import platform

    import numpy

    from soundstage import __version__
    from soundstage.acoustics.hrtf import list_hrtfs

    print(f"soundstage {__version__} (Python {platform.python_version()}, numpy {numpy.__version__})")
    print(f"formats: {FORMAT_HELP}")
    print("conventions: x forward, y left, z up; azimuth + left; AmbiX = ACN/SN3D; ITU-R BS.775 layouts")
    print("HRTFs:")
    print("  sphere      built-in rigid-sphere head (Duda & Martens 1998), no download")
    for entry in list_hrtfs():
        state = "cached" if entry.is_cached() else "downloads on first use"
        print(f"  {entry.name:<11} {entry.description} [{state}]")
    print("  PATH.sofa   any AES69 SimpleFreeFieldHRIR file (conventions 0.4 or 1.0)")
    from soundstage.acoustics.room.materials import MATERIALS

    print("room materials (absorption at 125 Hz … 4 kHz; or give numbers per octave band):")
    for material in MATERIALS.values():
        coefficients = " ".join(f"{value:.3f}" for value in material.absorption)
        print(f"  {material.name:<17} {coefficients}  {material.description}")
    return 0


def _hrtf_usage(args: argparse.Namespace) -> int:
    from soundstage.errors import ParameterError

    raise ParameterError("hrtf: give an action: soundstage hrtf fetch NAME (registered names: soundstage info)")


def _hrtf_fetch(args: argparse.Namespace) -> int:
    from soundstage.acoustics.hrtf import fetch_hrtf

    path = fetch_hrtf(args.name)
    print(f"{args.name}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
