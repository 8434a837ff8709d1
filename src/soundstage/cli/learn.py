"""``soundstage binauralize``, ``soundstage data binaural`` and ``soundstage train``: the learned side."""

from __future__ import annotations

import argparse
import sys

from soundstage.cli.main import path_argument


def register(commands: argparse._SubParsersAction) -> None:
    """Add the binauralize, data and train sub-commands."""
    from soundstage.cli.main import _add_hrtf_option, _add_write_options

    binauralize = commands.add_parser(
        "binauralize",
        help="a mono mix + a picture (learned model), or ambisonics (decoder), → binaural",
        description="With --image, lift a mono mix (multichannel files are averaged to mono) to two ears with the "
        "learned model (the shipped one unless --model), looking at the picture's sounding regions and depth. "
        "Without --image, decode an ambisonic WAV ((N+1)² channels) through virtual loudspeakers.",
    )
    binauralize.add_argument("input", type=path_argument, help="mono mix, or ambisonic WAV ((N+1)² channels)")
    binauralize.add_argument("-o", "--output", type=path_argument, required=True, help="output WAV file (2 channels)")
    binauralize.add_argument("--image", type=path_argument, help="picture of the scene: use the learned model")
    binauralize.add_argument(
        "--depth", type=path_argument, help="depth map of the picture (16-bit PNG in mm, NPY/EXR in metres)"
    )
    binauralize.add_argument("--model", help="learned model folder or hub id (default: the shipped model)")
    binauralize.add_argument(
        "--fov", type=float, help="picture's horizontal field of view in degrees (default: EXIF, else 65)"
    )
    binauralize.add_argument(
        "--regions", default="classical", help="region finder for the picture: classical (offline), detect, sam"
    )
    binauralize.add_argument(
        "--convention", choices=["ambix", "fuma"], default="ambix", help="ambisonic input's convention (default ambix)"
    )
    binauralize.add_argument("--sample-rate", type=int, help="output sample rate in Hz (default: the input's)")
    _add_hrtf_option(binauralize)
    _add_write_options(binauralize, bit_depth_default=24)
    binauralize.set_defaults(handler=_binauralize)

    data = commands.add_parser("data", help="make training data: `soundstage data binaural --out DIR`")
    data_commands = data.add_subparsers(title="data commands", metavar="KIND")
    binaural = data_commands.add_parser(
        "binaural",
        help="mono mixes, pictures and binaural truth rendered by soundstage (resumable)",
        description="Synthesize training scenes for learned binauralizers: sounds placed in the camera's view, "
        "rendered to two ears (free field or shoebox rooms), with the matching picture and depth. Run it again with "
        "the same options to resume after a kill.",
    )
    binaural.add_argument("--out", type=path_argument, required=True, help="dataset folder")
    binaural.add_argument("--scenes", type=int, default=1000, help="scenes in all splits (default 1000)")
    binaural.add_argument("--seed", type=int, default=0, help="seed of sounds, scenes and pictures (default 0)")
    binaural.add_argument("--sounds", type=path_argument, help="a folder of your own clips to add to the pool")
    binaural.add_argument("--images", type=path_argument, help="a folder of photographs to use as backgrounds")
    binaural.add_argument(
        "--hrtf",
        action="append",
        metavar="HEAD",
        help="training head (repeatable): sphere:RADIUS_CM:EAR_DEG, a registered name or PATH.sofa",
    )
    binaural.add_argument("--test-hrtf", metavar="HEAD", help="the test split's head, unseen in training")
    binaural.add_argument("--clips-per-class", type=int, default=8, help="generated clips per sound class (default 8)")
    binaural.add_argument("--clip-seconds", type=float, default=2.0, help="audio per scene in seconds (default 2)")
    binaural.add_argument(
        "--rooms",
        type=float,
        default=0.5,
        help="share of scenes in a shoebox room, 0–1 (default 0.5; the rest free field)",
    )
    binaural.add_argument(
        "--max-sources", type=int, default=3, choices=[1, 2, 3], help="most sources per scene (default 3)"
    )
    binaural.add_argument("--shard-size", type=int, default=100, help="scenes per shard (default 100)")
    binaural.add_argument("--workers", type=int, help="parallel workers (default: all cores Ray sees)")
    binaural.add_argument("--address", help="Ray cluster to join (default: a local one when Ray is installed)")
    binaural.add_argument("--local", action="store_true", help="run in this process even if Ray is installed")
    binaural.add_argument("--quiet", action="store_true", help="print only errors")
    binaural.set_defaults(handler=_data_binaural)
    data.set_defaults(handler=_data_usage)

    train = commands.add_parser(
        "train",
        help="train a learned binauralizer (resumable): soundstage train CONFIG --data DIR --out RUN",
        description="Train a model from a run config (a YAML file, or a packaged config: debug, "
        "depth_attention_small, mono2binaural_small, depth_attention_full, mono2binaural_full). A run folder "
        "that holds a checkpoint resumes. For several processes use torchrun -m soundstage.learn.train.",
    )
    train.add_argument("config", help="YAML run config or a packaged config's name")
    train.add_argument("--data", type=path_argument, required=True, help="dataset folder (soundstage data binaural)")
    train.add_argument("--out", type=path_argument, required=True, help="run folder")
    train.add_argument(
        "--steps",
        type=int,
        help="override training.steps (extends a run; its cosine schedule is recomputed for the new length)",
    )
    train.add_argument("--device", choices=["cpu", "cuda"], help="default: cuda when available")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(handler=_train)


def _binauralize(args: argparse.Namespace) -> int:
    from soundstage.binauralizers import LearnedBinauralization, binauralize_file
    from soundstage.cli.main import _bit_depth, _describe
    from soundstage.cli.outputs import check_outputs
    from soundstage.io.export import write_render

    check_outputs([(args.output, ".wav")], overwrite=args.overwrite)
    if args.fov is not None and not 1.0 <= args.fov <= 179.0:
        from soundstage.errors import ParameterError

        raise ParameterError(f"--fov {args.fov:g}: give the horizontal field of view in degrees, 1–179")
    result, chosen = binauralize_file(
        args.input,
        sample_rate=args.sample_rate,
        image=args.image,
        depth=args.depth,
        model=args.model,
        hrtf=args.hrtf,
        convention=args.convention,
        fov_deg=args.fov,
        region_backend=args.regions,
    )
    if isinstance(chosen, LearnedBinauralization) and not args.quiet:
        for note in chosen.notes:
            print(f"soundstage: note: {note}", file=sys.stderr)
    report = write_render(
        result,
        args.output,
        bit_depth=_bit_depth(args.bit_depth, 24),
        normalize=args.normalize,
        overwrite=args.overwrite,
    )
    if not args.quiet:
        print(_describe(report, result))
    return 0


def _data_usage(args: argparse.Namespace) -> int:
    from soundstage.errors import ParameterError

    raise ParameterError("data: give a kind: soundstage data binaural --out DIR [--scenes N]")


def _data_binaural(args: argparse.Namespace) -> int:
    from soundstage.learn.data.heads import DEFAULT_TEST_HEAD, DEFAULT_TRAIN_HEADS
    from soundstage.learn.data.synthesis import DatasetRecipe, synthesize_dataset

    _check_positive(
        ("--scenes", args.scenes),
        ("--clips-per-class", args.clips_per_class),
        ("--shard-size", args.shard_size),
        ("--workers", args.workers),
    )
    if not 0.7 <= args.clip_seconds <= 60.0:
        from soundstage.errors import ParameterError

        raise ParameterError(f"--clip-seconds {args.clip_seconds:g}: give 0.7–60 s (a model window is 0.63 s)")
    recipe = DatasetRecipe(
        scenes=args.scenes,
        seed=args.seed,
        clip_seconds=args.clip_seconds,
        train_heads=tuple(args.hrtf) if args.hrtf else DEFAULT_TRAIN_HEADS,
        test_head=args.test_hrtf or DEFAULT_TEST_HEAD,
        shard_size=args.shard_size,
        clips_per_class=args.clips_per_class,
        sounds_dir=str(args.sounds) if args.sounds else None,
        images_dir=str(args.images) if args.images else None,
        max_sources=args.max_sources,
        room_probability=args.rooms,
    )
    summary = synthesize_dataset(
        args.out,
        recipe,
        backend="local" if args.local else "auto",
        address=args.address,
        workers=args.workers,
        progress=not args.quiet,
    )
    if not args.quiet:
        counts = ", ".join(f"{split} {n}" for split, n in summary.scenes.items())
        pool = ", ".join(f"{split} {n}" for split, n in summary.pool.items())
        print(
            f"wrote {summary.folder}: scenes {counts}; clips {pool}; "
            f"{summary.shards_made} shard(s) made, {summary.shards_reused} already done"
        )
    return 0


def _train(args: argparse.Namespace) -> int:
    from soundstage.learn.train import train

    result = train(args.config, args.data, args.out, steps=args.steps, device=args.device, progress=not args.quiet)
    if not args.quiet:
        resumed = f" (resumed at step {result.resumed_from})" if result.resumed_from else ""
        print(
            f"trained {result.steps} steps{resumed} in {result.seconds:.0f} s; best validation STFT loss "
            f"{result.best_validation:.4f}; model in {result.folder / 'model'}"
        )
    return 0


def _check_positive(*options: tuple[str, int | None]) -> None:
    from soundstage.errors import ParameterError

    for name, value in options:
        if value is not None and value < 1:
            raise ParameterError(f"{name} {value}: give a positive whole number")
