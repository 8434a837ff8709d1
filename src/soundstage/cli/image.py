"""``soundstage image``: a photo (or RGB-D capture) and some sounds → spatial audio, scene file and figures."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from soundstage.cli.main import FORMAT_HELP, add_memory_option, path_argument

#: Triangles of the ``--mesh`` export: detailed enough to see the scene, few enough for image sources.
MESH_TRIANGLES = 4000


def register(commands: argparse._SubParsersAction) -> None:
    """Add the ``image`` sub-command to the ``soundstage`` parser."""
    image = commands.add_parser(
        "image",
        help="place sounds in a photo or RGB-D capture and render them",
        description="Find the sounding regions of an image, estimate where they are in 3-D, and render the given "
        "sounds from there. Writes OUTPUT, OUTPUT.scene.yaml (editable; re-render with `soundstage render`), "
        "OUTPUT.regions.png and OUTPUT.map.png.",
    )
    image.add_argument(
        "image", type=path_argument, help="the photo (JPEG, PNG, ...) or the colour image of an RGB-D capture"
    )
    image.add_argument("-o", "--output", type=path_argument, required=True, help="output WAV file")
    image.add_argument(
        "--source",
        action="append",
        default=[],
        metavar="LABEL=FILE",
        help="a sound for the region labelled LABEL (repeatable); LABEL alone generates the sound from the label",
    )
    image.add_argument(
        "--audio", action="append", default=[], metavar="FILE", help="an unlabelled sound (repeatable): regions by rank"
    )
    image.add_argument(
        "--region",
        action="append",
        default=[],
        metavar="LABEL=X0,Y0,X1,Y1",
        help="a region by box (or LABEL=X,Y by point) in image pixels (repeatable)",
    )
    image.add_argument(
        "--depth",
        default="auto",
        help="auto | geometric | transformers | FILE (16-bit PNG in mm, NPY/EXR in metres; z-depth)",
    )
    image.add_argument("--depth-model", help="transformers depth model id or folder (default Depth Anything V2 Small)")
    image.add_argument("--scene-depth", type=float, help="median scene depth in metres for relative depth models")
    image.add_argument("--regions", default="auto", help="auto | classical | detect | sam")
    image.add_argument("--detector", help="open-vocabulary detector id or folder (OWLv2, Grounding DINO)")
    image.add_argument("--segmenter", help="SAM model id or folder")
    image.add_argument("--fov", type=float, help="horizontal field of view of the camera in degrees")
    image.add_argument("--room", default="auto", help="auto (fit to the depth) | none | WxDxH in metres")
    image.add_argument("--mesh", type=path_argument, help="also write a triangle mesh of the depth map (PLY)")
    image.add_argument("--prompt", help="text-to-audio prompt for regions given without a sound")
    image.add_argument(
        "--downmix", action="store_true", help="average multichannel sound files to mono (otherwise they are refused)"
    )
    image.add_argument("--format", default="binaural", help=f"output format: {FORMAT_HELP}")
    image.add_argument("--sample-rate", type=int, default=48000, help="Hz (default 48000)")
    image.add_argument("--hrtf", help="head for binaural: sphere (built in), a registered name, or PATH.sofa")
    image.add_argument("--explain", action="store_true", help="print what each stage decided and which backend ran")
    image.add_argument(
        "--keep-level",
        action="store_true",
        help="keep the physical level (1/r from each source) instead of normalising the peak to -1 dBFS; "
        "a render that would clip is then refused (use --bit-depth float)",
    )
    image.add_argument("--bit-depth", choices=["16", "24", "32", "float"], default="24", help="default 24")
    image.add_argument("--overwrite", action="store_true", help="replace output files that exist")
    add_memory_option(image)
    image.add_argument("--quiet", action="store_true", help="print only errors")
    image.set_defaults(handler=run_image)


def run_image(args: argparse.Namespace) -> int:
    """Handler of ``soundstage image``."""
    from soundstage.acoustics.render import check_output_rate, render
    from soundstage.cli.outputs import check_outputs
    from soundstage.io.export import write_render
    from soundstage.io.inputs import record_inputs
    from soundstage.plots.image_scene import plot_map, plot_regions
    from soundstage.scene.files import save_scene
    from soundstage.vision.pipeline import ImageJob, image_to_scene

    check_output_rate(args.sample_rate)  # the option's value, named as the user gave it, before any work
    outputs = image_outputs(args.output)
    sounds = parse_sounds(args.source, args.audio)
    from soundstage.vision.stages import DEPTH_KEYWORDS

    depth_file = None if args.depth in DEPTH_KEYWORDS else args.depth
    record_inputs([args.image, depth_file, args.hrtf if str(args.hrtf).endswith(".sofa") else None])
    record_inputs(file for _, file in sounds)
    check_outputs(
        [
            (outputs["audio"], ".wav"),
            (outputs["scene"], ".yaml"),
            (outputs["regions"], ".png"),
            (outputs["map"], ".png"),
            (args.mesh, ".ply"),
        ],
        overwrite=args.overwrite,
    )
    job = ImageJob(
        image=args.image,
        sounds=sounds,
        downmix=args.downmix,
        regions=[_parse_region(text) for text in args.region],
        depth=args.depth,
        depth_model=args.depth_model,
        scene_depth_m=args.scene_depth,
        region_backend=args.regions,
        detector=args.detector,
        segmenter=args.segmenter,
        fov_deg=args.fov,
        room=args.room,
        prompt=args.prompt,
    )
    result = image_to_scene(job, output_format=args.format, sample_rate=args.sample_rate)
    rendered = render(result.scene, hrtf=args.hrtf, progress=not args.quiet, memory_limit=args.memory_limit)
    bit_depth = args.bit_depth if args.bit_depth == "float" else int(args.bit_depth)
    report = write_render(
        rendered, outputs["audio"], bit_depth=bit_depth, normalize=not args.keep_level, overwrite=args.overwrite
    )
    save_scene(result.scene, outputs["scene"], overwrite=args.overwrite)
    plot_regions(result, outputs["regions"], overwrite=args.overwrite)
    plot_map(result, outputs["map"], overwrite=args.overwrite)
    if args.mesh is not None:
        from soundstage.vision.depth_mesh import closed_room_mesh, export_mesh

        # Decimated so that it also serves as a mesh room (image sources are per plane), and moved into the
        # scene file's coordinates: `room: {mesh: out.ply}` can replace the scene's room as it is.
        mesh = closed_room_mesh(result.depth.z_m, result.camera, max_triangles=MESH_TRIANGLES)
        listener = result.scene.listener.position
        mesh.apply_translation([listener.x, listener.y, listener.z])
        export_mesh(mesh, args.mesh, overwrite=args.overwrite)
    if args.explain:
        print(result.report.explain())
    for line in result.report.warnings:
        # What changed the user's picture of the scene is said even without --explain.
        print(f"soundstage: note: {line}", file=sys.stderr)
    if not args.quiet:
        print(
            f"wrote {report.path} ({rendered.format}, {rendered.duration:.2f} s, peak {report.peak_dbfs:+.1f} dBFS"
            + (f", normalised by {report.gain_db:+.1f} dB" if report.gain_db else "")
            + "), "
            f"{outputs['scene']}, {outputs['regions']}, {outputs['map']}"
            + (f", {args.mesh}" if args.mesh is not None else "")
            + f"; {rendered.details.get('propagation', '')}"
        )
    return 0


def image_outputs(output: Path) -> dict[str, Path]:
    """The files written beside ``out.wav``: ``out.scene.yaml``, ``out.regions.png``, ``out.map.png``.

    >>> sorted(p.name for p in image_outputs(Path("street.wav")).values())
    ['street.map.png', 'street.regions.png', 'street.scene.yaml', 'street.wav']
    """
    stem = output.with_suffix("")
    return {
        "audio": output,
        "scene": stem.with_name(stem.name + ".scene.yaml"),
        "regions": stem.with_name(stem.name + ".regions.png"),
        "map": stem.with_name(stem.name + ".map.png"),
    }


def parse_sounds(sources: list[str], audio: list[str]) -> list[tuple[str | None, Path | None]]:
    """``--source LABEL=FILE`` / ``--source LABEL`` and ``--audio FILE`` as (label, file) pairs.

    >>> parse_sounds(["car=engine.wav", "bird"], ["a.wav"])
    [('car', PosixPath('engine.wav')), ('bird', None), (None, PosixPath('a.wav'))]
    """
    from soundstage.errors import ParameterError

    pairs: list[tuple[str | None, Path | None]] = []
    for text in sources:
        label, equals, file = text.partition("=")
        label, file = label.strip(), file.strip()
        if not label:
            raise ParameterError(f"--source {text!r}: give LABEL=FILE (e.g. --source car=engine.wav) or LABEL")
        if equals and not file:
            raise ParameterError(
                f"--source {text!r}: no file after '='; give --source {label}=FILE, or --source {label} alone "
                "to generate the sound from the label with a text-to-audio model"
            )
        if not equals and _looks_like_a_file(label):
            # A file without a label would otherwise be taken as a text-to-audio prompt and wait on a download.
            raise ParameterError(
                f"--source {text!r} names a file but no label; give --source LABEL={label} (e.g. car={label}), "
                f"or --audio {label} for an unlabelled sound"
            )
        pairs.append((label, Path(file) if file else None))
    pairs.extend((None, Path(file)) for file in audio)
    return pairs


#: Endings of sound files, to tell ``--source engine.wav`` (a forgotten label) from ``--source engine``.
SOUND_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".aif", ".aiff", ".opus", ".m4a")


def _looks_like_a_file(label: str) -> bool:
    """Whether ``--source LABEL`` is more likely a sound file than a label to generate a sound from."""
    return label.lower().endswith(SOUND_SUFFIXES) or "/" in label or Path(label).is_file()


def _parse_region(text: str):
    from soundstage.vision.regions.user import parse_region_option

    return parse_region_option(text)
