"""``soundstage analyze``: where are the sources in a file, or how does an impulse response decay."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from soundstage.cli.main import path_argument


def register(commands: argparse._SubParsersAction) -> None:
    """Add the ``analyze`` sub-command to the ``soundstage`` parser."""
    analyze = commands.add_parser(
        "analyze",
        help="localize the sources in a rendered file, or measure an impulse response (--ir)",
        description="Localize the sources in a binaural, stereo, 5.1/7.1 or ambisonic file (strongest first), "
        "or with --ir measure T30/T20/EDT/C50/C80/DRR of impulse responses, one per channel.",
    )
    analyze.add_argument("input", type=path_argument, help="audio file (WAV; other formats soundfile reads)")
    analyze.add_argument(
        "--format",
        help="binaural | stereo | 5.1 | 7.1 | foa | hoaN (default: from the channel count and the WAV channel mask)",
    )
    analyze.add_argument("--ir", action="store_true", help="measure each channel as a room impulse response")
    analyze.add_argument("--bands", choices=["octave"], help="with --ir: also per octave band (125 Hz to 8 kHz)")
    analyze.add_argument("--hrtf", help="binaural: the head whose cues map ITD/ILD to angles (default sphere)")
    analyze.add_argument("--convention", choices=["ambix", "fuma"], default="ambix", help="ambisonics convention")
    analyze.add_argument("--max-sources", type=int, default=4, help="report at most this many sources (default 4)")
    analyze.add_argument("--json", type=path_argument, help="write the results as JSON")
    analyze.add_argument("--plot", type=path_argument, help="write a figure (PNG)")
    analyze.add_argument("--overwrite", action="store_true", help="replace the --json/--plot files if they exist")
    analyze.set_defaults(handler=run_analyze)


def run_analyze(args: argparse.Namespace) -> int:
    """Handler of ``soundstage analyze``."""
    from soundstage.cli.outputs import check_outputs
    from soundstage.errors import ParameterError
    from soundstage.io.reports import write_json

    check_outputs([(args.json, ".json"), (args.plot, ".png")], overwrite=args.overwrite)
    if args.max_sources < 1:
        raise ParameterError(f"--max-sources must be at least 1, got {args.max_sources}")
    audio, sample_rate, mask = read_any(args.input)
    try:
        if args.ir:
            report = _impulse_responses(audio, sample_rate, args)
        else:
            report = _directions(audio, sample_rate, mask, args)
    except ParameterError as error:
        # What the file cannot give (no direction in a mono file, too short a clip) names the file.
        message = str(error)
        raise ParameterError(message if message.startswith(str(args.input)) else f"{args.input}: {message}") from None
    if args.json is not None:
        write_json(report, args.json, overwrite=args.overwrite)
        print(f"wrote {args.json}")
    return 0


def read_any(path: Path):
    """Audio (n_channels, n_samples) float64, its sample rate, and the WAV channel mask (None if not extensible)."""
    from soundstage.io.audio import read_audio_file

    clip = read_audio_file(path, min_frames=2)  # one sample has no direction and no decay
    return clip.audio.astype("float64"), clip.sample_rate, clip.channel_mask


def _directions(audio, sample_rate: int, mask: int | None, args: argparse.Namespace) -> dict[str, Any]:
    from soundstage.metrics.localize import guess_format, localize

    format_name = args.format or guess_format(audio.shape[0], mask)
    found = localize(
        audio,
        sample_rate,
        format=format_name,
        hrtf=args.hrtf or "sphere",
        convention=args.convention,
        max_sources=args.max_sources,
    )
    print(f"{args.input}: {format_name}, {audio.shape[1] / sample_rate:.2f} s, method {found.method}")
    if not found.sources:
        reason = found.summary.get("reason", "nothing passed the energy and coherence gates")
        print(f"  no source found ({reason})")
    else:
        print(f"  {'#':>2} {'azimuth':>8} {'elevation':>9} {'lateral':>8} {'confidence':>10}")
        for index, source in enumerate(found.sources, start=1):
            elevation = "—" if source.elevation_deg is None else f"{source.elevation_deg:.1f}°"
            print(
                f"  {index:>2} {source.azimuth_deg:>7.1f}° {elevation:>9} {source.lateral_deg:>7.1f}° "
                f"{source.confidence:>10.2f}"
            )
        if found.sources[0].front_back_ambiguous:
            print("  (binaural cues cannot tell front from back: azimuths are given in front)")
    if args.plot is not None:
        from soundstage.plots.analysis import plot_localization

        plot_localization(audio, sample_rate, found, args.plot, title=str(args.input.name), overwrite=args.overwrite)
        print(f"wrote {args.plot}")
    return {"file": str(args.input), "format": format_name, **found.to_dict()}


def _impulse_responses(audio, sample_rate: int, args: argparse.Namespace) -> dict[str, Any]:
    import numpy as np

    from soundstage.metrics.room import room_acoustics

    results = [room_acoustics(channel, sample_rate, bands=args.bands) for channel in audio]
    names = ("t30_s", "t20_s", "edt_s", "c50_db", "c80_db", "drr_db")
    print(f"{args.input}: {audio.shape[0]} channel(s), {audio.shape[1] / sample_rate:.2f} s")
    print(f"  {'ch':>2} " + " ".join(f"{name:>8}" for name in names))
    rows = [result.to_dict() for result in results]
    for index, row in enumerate(rows):
        cells = " ".join("     n/a" if np.isnan(row[name]) else f"{row[name]:>8.3f}" for name in names)
        print(f"  {index:>2} {cells}")
        for warning in row.get("warnings", []):
            print(f"     channel {index}: {warning}")
    if args.plot is not None:
        from soundstage.plots.analysis import plot_decay

        plot_decay(results, sample_rate, args.plot, title=str(args.input.name), overwrite=args.overwrite)
        print(f"wrote {args.plot}")
    if len(rows) == 1:
        return {"file": str(args.input), **rows[0]}
    # Channels where a metric could not be measured (NaN, with its reason) are left out of its mean.
    values = np.array([[row[name] for name in names] for row in rows])
    usable = np.isfinite(values)
    counts = usable.sum(axis=0)
    sums = np.where(usable, values, 0.0).sum(axis=0)
    mean = {
        name: float(total / count) if count else float("nan")
        for name, total, count in zip(names, sums, counts, strict=True)
    }
    return {"file": str(args.input), **mean, "average": "mean over channels", "channels": rows}
