"""``soundstage video``: a clip becomes a clip with spatial sound (MP4, pictures copied) and a figure of its tracks."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from soundstage.cli.main import path_argument


def register(commands: argparse._SubParsersAction) -> None:
    """Add the ``video`` sub-command to the ``soundstage`` parser."""
    video = commands.add_parser(
        "video",
        help="follow the sounding objects of a video and give it spatial sound (MP4)",
        description="Track the sounding objects of a clip, move the given sounds (or the clip's own soundtrack) "
        "along their paths, and write OUTPUT.mp4 with the pictures copied and the new soundtrack, plus "
        "OUTPUT.tracks.png (each track's direction and distance over time, and the first frame).",
    )
    video.add_argument("video", type=path_argument, help="the clip (MP4, MOV, MKV, WebM...)")
    video.add_argument("-o", "--output", type=path_argument, required=True, help="output MP4 file")
    video.add_argument(
        "--source",
        action="append",
        default=[],
        metavar="LABEL=FILE",
        help="a sound for a tracked object (repeatable; objects by rank); none: the clip's own soundtrack",
    )
    video.add_argument("--audio", action="append", default=[], metavar="FILE", help="an unlabelled sound (repeatable)")
    video.add_argument(
        "--learned",
        action="store_true",
        help="lift the clip's own mono mix to binaural with the learned model, the frame nearest each window",
    )
    video.add_argument("--model", help="learned model folder (default: the shipped one)")
    video.add_argument("--format", default="binaural", help="binaural | stereo | 5.1 | 7.1 | foa (default binaural)")
    video.add_argument("--sample-rate", type=int, default=48000, help="Hz (default 48000; foa is written at 48000)")
    video.add_argument("--stride", type=float, default=0.25, help="seconds between analysed frames (default 0.25)")
    video.add_argument("--depth", default="auto", help="auto | geometric | transformers")
    video.add_argument("--fov", type=float, help="horizontal field of view of the camera in degrees")
    video.add_argument("--doppler", action="store_true", help="let the pitch follow the objects' radial speed")
    video.add_argument(
        "--keep-level",
        action="store_true",
        help="keep the physical level instead of normalising the peak to -1 dBFS (a soundtrack that would clip is "
        "then refused)",
    )
    video.add_argument("--explain", action="store_true", help="print what each stage decided and which backend ran")
    video.add_argument("--overwrite", action="store_true", help="replace output files that exist")
    video.add_argument("--quiet", action="store_true", help="print only errors")
    video.set_defaults(handler=run_video)


def run_video(args: argparse.Namespace) -> int:
    """Handler of ``soundstage video``."""
    from soundstage.acoustics.render import check_output_rate
    from soundstage.cli.image import parse_sounds
    from soundstage.cli.outputs import check_outputs
    from soundstage.errors import ParameterError
    from soundstage.io.inputs import record_inputs
    from soundstage.plots.video_tracks import plot_tracks
    from soundstage.video.pipeline import VideoJob, render_video

    check_output_rate(args.sample_rate)
    figure = video_outputs(args.output)["tracks"]
    sounds = parse_sounds(args.source, args.audio)
    for label, file in sounds:
        if file is None:
            raise ParameterError(f"--source {label}: give LABEL=FILE; a video takes sound files (or its own track)")
    if args.learned and sounds:
        raise ParameterError("--learned lifts the clip's own soundtrack; drop --source/--audio (or --learned)")
    record_inputs([args.video, *(file for _, file in sounds)])
    check_outputs([(args.output, ".mp4"), (figure, ".png")], overwrite=args.overwrite)
    job = VideoJob(
        video=args.video,
        sounds=sounds,
        stride_s=args.stride,
        depth=args.depth,
        fov_deg=args.fov,
        doppler=args.doppler,
        learned=args.learned,
        model=args.model,
    )
    result = render_video(
        job,
        args.output,
        output_format=args.format.lower(),
        sample_rate=args.sample_rate,
        normalize=not args.keep_level,
        overwrite=args.overwrite,
        progress=not args.quiet,
    )
    plot_tracks(result.analysis, figure, overwrite=args.overwrite)
    report = result.analysis.report
    if args.explain:
        print(report.explain())
    for line in report.warnings:
        print(f"soundstage: note: {line}", file=sys.stderr)
    if not args.quiet:
        print(
            f"wrote {result.path} ({result.format} soundtrack, {result.analysis.info.duration_s:.2f} s, peak "
            f"{result.peak_dbfs:+.1f} dBFS"
            + (f", normalised by {result.gain_db:+.1f} dB" if result.gain_db else "")
            + f"; {len(result.analysis.sources)} tracked source(s)), {figure}"
        )
    return 0


def video_outputs(output: Path) -> dict[str, Path]:
    """The files written: ``out.mp4`` and ``out.tracks.png``.

    >>> sorted(p.name for p in video_outputs(Path("clip_spatial.mp4")).values())
    ['clip_spatial.mp4', 'clip_spatial.tracks.png']
    """
    stem = output.with_suffix("")
    return {"video": output, "tracks": stem.with_name(stem.name + ".tracks.png")}
