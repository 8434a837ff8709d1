"""``soundstage stream``: render a scene in real time, steered over OSC, to an audio device or a file."""

from __future__ import annotations

import argparse
import gc
import json

from soundstage.cli.main import FORMAT_HELP, path_argument


def register(commands: argparse._SubParsersAction) -> None:
    """Add the ``stream`` sub-command to the ``soundstage`` parser."""
    stream = commands.add_parser(
        "stream",
        help="render a scene in real time (sounds looped), steered over OSC, to a device or a file",
        description="Play SCENE block by block through the moving-sources engine, its sources looped. Head "
        "trackers steer it over OSC (/SceneRotator/ypr, /SceneRotator/quaternions, /ypr) and sources move by "
        "name (/source/NAME/xyz, /source/NAME/aed). --benchmark renders without a device and reports the "
        "real-time factor on one core.",
    )
    stream.add_argument("scene", type=path_argument, help="scene file (YAML or JSON)")
    stream.add_argument(
        "--osc-port", type=int, default=9000, help="UDP port for OSC on 127.0.0.1 (default 9000; 0: none)"
    )
    stream.add_argument("--block", type=int, default=512, help="samples per block (default 512)")
    where = stream.add_mutually_exclusive_group()
    where.add_argument("--device", help="output device name or number (default: the system's)")
    where.add_argument("--to", type=path_argument, help="write the stream to this WAV file (paced in real time)")
    where.add_argument("--benchmark", action="store_true", help="no device: render as fast as possible on one core")
    stream.add_argument(
        "--input",
        action="append",
        default=[],
        metavar="NAME=CHANNEL",
        help="feed source NAME from channel CHANNEL (from 0) of the audio input instead of its file (repeatable)",
    )
    stream.add_argument("--input-device", help="input device name or number for --input (default: the system's)")
    stream.add_argument("--seconds", type=float, help="how long (default: until Ctrl-C on a device; 10 s otherwise)")
    stream.add_argument("--sources", type=int, help="load test: this many copies of the sources on random paths")
    stream.add_argument("--json", type=path_argument, help="with --benchmark: write the figures as JSON")
    stream.add_argument(
        "--exact",
        action="store_true",
        help="each source on its own with the head's exact filters, as the offline render (for a few sources)",
    )
    stream.add_argument("--format", help=f"output format, overrides the scene: {FORMAT_HELP}")
    stream.add_argument(
        "--via",
        help="binaural through this ambisonic format and one decode to the ears (foa, hoaN): for many sources",
    )
    stream.add_argument("--sample-rate", type=int, help="output sample rate in Hz, overrides the scene")
    stream.add_argument("--hrtf", help="head for binaural: sphere (built in), a registered name, or PATH.sofa")
    stream.add_argument("--overwrite", action="store_true", help="replace the --to/--json file if it exists")
    stream.add_argument("--quiet", action="store_true", help="print only errors")
    stream.set_defaults(handler=run_stream)


def run_stream(args: argparse.Namespace) -> int:
    """Handler of ``soundstage stream``."""
    from soundstage.cli.outputs import check_outputs
    from soundstage.errors import ParameterError
    from soundstage.scene.files import load_scene

    if args.json is not None and not args.benchmark:
        raise ParameterError("--json writes the --benchmark figures; add --benchmark or drop --json")
    if not 0 <= args.osc_port < 65536:
        raise ParameterError(f"--osc-port {args.osc_port}: give a port from 1 to 65535, or 0 for no OSC")
    if args.sources is not None and not 1 <= args.sources <= 4096:
        raise ParameterError(f"--sources {args.sources}: give 1 to 4096")
    live = _live_inputs(args.input)
    if live and (args.to is not None or args.benchmark or args.sources):
        raise ParameterError("--input feeds a live device stream; drop --to, --benchmark and --sources with it")
    check_outputs([(args.to, ".wav"), (args.json, ".json")], overwrite=args.overwrite)
    if args.benchmark:
        from soundstage.stream.output import pin_to_one_core

        core = pin_to_one_core()  # before anything heavy is set up, so that all of it runs on that core
    else:
        from soundstage.stream.output import one_blas_thread

        one_blas_thread()
    from soundstage.stream.streamer import Streamer

    scene = load_scene(args.scene)
    streamer = Streamer(
        scene,
        block=args.block,
        format=args.format,
        sample_rate=args.sample_rate,
        hrtf=args.hrtf,
        clones=args.sources or 0,
        live=live,
        via=args.via,
        exact=args.exact,
    )
    # What the set-up made (scene models, clones, tables) lives as long as the stream: keep the cyclic
    # garbage collector from scanning it again, which takes tens of milliseconds, longer than a block.
    gc.collect()
    gc.freeze()
    if args.benchmark:
        return _benchmark(streamer, args, core)
    control = None
    if args.osc_port:
        from soundstage.stream.osc import OscControl

        try:
            control = OscControl(streamer, port=args.osc_port)
        except OSError as error:
            raise ParameterError(
                f"--osc-port {args.osc_port}: cannot listen there ({error.strerror}); choose another"
            ) from None
    if not args.quiet:
        print(
            f"streaming {len(streamer.signals)} source(s), {streamer.format}, {streamer.rate} Hz, blocks of "
            f"{streamer.block}; latency {streamer.latency_ms:.1f} ms (one block + the engine's filters) plus the "
            "device's"
            + (f"; OSC on 127.0.0.1:{control.port}" if control else ""),
            flush=True,
        )
    try:
        if args.to is not None:
            from soundstage.stream.output import stream_to_file

            times = stream_to_file(streamer, args.to, args.seconds or 10.0, overwrite=args.overwrite)
        else:
            from soundstage.stream.output import stream_to_device

            times = stream_to_device(
                streamer, _device(args.device), args.seconds, input_device=_device(args.input_device)
            )
    finally:
        if control is not None:
            control.close()
    if not args.quiet:
        where = f"wrote {args.to}" if args.to is not None else "played"
        print(
            f"{where}: {len(times.seconds)} blocks, real-time factor {times.real_time_factor:.3f} (worst block "
            f"{times.worst_block_rtf:.3f}), {times.overruns} over-run(s)"
            + (f", {streamer.underflows} device underflow(s)" if args.to is None else "")
            + (f"; OSC messages applied {control.counts.applied}, refused {control.counts.refused}" if control else "")
        )
    if times.overruns:
        print(
            f"soundstage: note: {times.overruns} block(s) took longer than they last (over-runs); "
            "use fewer sources, a larger --block or a lighter format"
        )
    return 0


def _benchmark(streamer, args: argparse.Namespace, core: int | None) -> int:
    from soundstage.io.reports import write_json
    from soundstage.stream.output import benchmark

    figures = benchmark(streamer, args.seconds or 10.0)
    figures["core"] = core
    if args.json is not None:
        write_json(figures, args.json, overwrite=args.overwrite)
    if not args.quiet:
        print(json.dumps(figures))
    return 0


def _device(text: str | None) -> str | int | None:
    return int(text) if text is not None and text.isdigit() else text


def _live_inputs(items: list[str]) -> dict[str, int]:
    """``--input NAME=CHANNEL`` options as {name: channel}.

    >>> _live_inputs(["voice=0", "guitar=1"])
    {'voice': 0, 'guitar': 1}
    """
    from soundstage.errors import ParameterError

    live = {}
    for item in items:
        name, equals, channel = item.partition("=")
        if not (name.strip() and equals and channel.strip().isdigit()):
            raise ParameterError(f"--input {item!r}: give NAME=CHANNEL, e.g. --input voice=0 (channels from 0)")
        live[name.strip()] = int(channel)
    return live
