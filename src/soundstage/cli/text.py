"""``soundstage text``: a prompt naming sounds, where they are and how they move → a render and its scene file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from soundstage.cli.main import FORMAT_HELP, path_argument

#: Short names of the text-to-audio models ``--tta`` knows.
TTA_ALIASES = {"audioldm2": "cvssp/audioldm2", "stable-audio": "stabilityai/stable-audio-open-1.0"}


def register(commands: argparse._SubParsersAction) -> None:
    """Add the ``text`` sub-command to the ``soundstage`` parser."""
    text = commands.add_parser(
        "text",
        help="turn a prompt (sounds, directions, motion, room) into spatial audio",
        description="Read the prompt into sound events with exact directions, give each a sound (your file, the "
        "embedded library, or a text-to-audio model) and render. Writes OUTPUT, OUTPUT.scene.yaml (re-render "
        "with `soundstage render`) and the sounds it used in OUTPUT.sounds/.",
    )
    text.add_argument("prompt", help='e.g. "a church bell far away on the left, then a car passing behind me"')
    text.add_argument("-o", "--output", type=path_argument, required=True, help="output WAV file")
    text.add_argument(
        "--sound", action="append", default=[], metavar="LABEL=FILE",
        help="use FILE for the sound the prompt calls LABEL (repeatable); LABEL may be a word of the prompt",
    )
    text.add_argument(
        "--tta", metavar="MODEL",
        help="text-to-audio model for sounds without a file: audioldm2, stable-audio, a model id or a folder",
    )
    text.add_argument("--tta-steps", type=int, help="denoising steps of the text-to-audio model (default 200)")
    text.add_argument(
        "--match", choices=["auto", "synonyms"], default="auto",
        help="sound words the library's synonyms lack: auto matches them by CLAP when its weights are at hand "
        "(fetched on first use when online), synonyms reports them as not understood",
    )
    text.add_argument("--duration", type=float, help="length of the scene in seconds (default: the events', ≥ 6 s)")
    text.add_argument("--format", default="binaural", help=f"output format: {FORMAT_HELP}")
    text.add_argument("--sample-rate", type=int, default=48000, help="Hz (default 48000)")
    text.add_argument("--hrtf", help="head for binaural: sphere (built in), a registered name, or PATH.sofa")
    text.add_argument("--seed", type=int, default=0, help="seed of the library's sounds (default 0)")
    text.add_argument("--explain", action="store_true", help="print the parse: events, sounds, positions, room")
    text.add_argument("--overwrite", action="store_true", help="replace output files that exist")
    text.add_argument("--quiet", action="store_true", help="print only errors")
    text.set_defaults(handler=run_text)


def run_text(args: argparse.Namespace) -> int:
    """Handler of ``soundstage text``."""
    from soundstage.acoustics.render import check_output_rate, render
    from soundstage.cli.outputs import check_outputs
    from soundstage.errors import ParameterError
    from soundstage.io.atomic import ensure_dir
    from soundstage.io.export import normalization_gain_db, write_render
    from soundstage.io.inputs import record_inputs
    from soundstage.io.wav import write_wav
    from soundstage.scene import Scene
    from soundstage.scene.files import save_scene
    from soundstage.text.parse import parse_prompt
    from soundstage.text.scene_builder import build_scene

    check_output_rate(args.sample_rate)
    outputs = text_outputs(args.output)
    sounds: dict[str, Path] = {}
    for item in args.sound:
        label, equals, file = item.partition("=")
        if not (label.strip() and equals and file.strip()):
            raise ParameterError(f"--sound {item!r}: give LABEL=FILE, e.g. --sound bell=my_bell.wav")
        sounds[label.strip().lower()] = Path(file.strip())
    record_inputs(sounds.values())
    check_outputs([(outputs["audio"], ".wav"), (outputs["scene"], ".yaml")], overwrite=args.overwrite)
    matcher = None
    if args.match == "auto":
        from soundstage.text.matching import LazyMatcher

        matcher = LazyMatcher()
    parsed = parse_prompt(args.prompt, user_sounds=tuple(sounds), matcher=matcher, free_sounds=args.tta is not None)
    notes_from_matching = matcher.notes if matcher is not None else []
    tta = TTA_ALIASES.get(args.tta, args.tta) if args.tta else None
    scene_data, made, notes = build_scene(
        parsed, sounds=sounds, duration_s=args.duration, output_format=args.format, sample_rate=args.sample_rate,
        tta=tta, tta_steps=args.tta_steps, seed=args.seed,
    )
    scene = Scene.model_validate(scene_data)
    rendered = render(scene, hrtf=args.hrtf, progress=not args.quiet)
    # The render is normalised to -1 dBFS; the scene file carries the same gain, so it re-renders as written.
    gain_db = normalization_gain_db(rendered.peak, outputs["audio"])
    # Everything is computed; now the files: the sounds the scene file points at, the scene, the render.
    folder = ensure_dir(outputs["sounds"])
    for index, source in enumerate(scene_data["sources"]):
        path = folder / f"{index + 1:02d}_{source['name']}.wav"
        write_wav(path, source["audio"][None, :], source["sample_rate"], bit_depth="float", overwrite=True)
        source["audio"] = str(path.relative_to(outputs["scene"].parent)) if path.is_relative_to(
            outputs["scene"].parent) else str(path.resolve())
        source.pop("sample_rate")
        source["gain_db"] = round(float(source.get("gain_db", 0.0)) + gain_db, 3)
    save_scene(Scene.model_validate(scene_data), outputs["scene"], overwrite=args.overwrite)
    report = write_render(rendered, outputs["audio"], normalize=True, overwrite=args.overwrite)
    if args.explain:
        print(parsed.explain())
        for sound in made:
            print(f"sound: {sound.label} — {sound.origin}")
    not_understood = [f"not understood: {', '.join(parsed.unknown)}"] if parsed.unknown else []
    for line in dict.fromkeys(notes_from_matching + notes + not_understood):
        print(f"soundstage: note: {line}", file=sys.stderr)
    if not args.quiet:
        print(
            f"wrote {report.path} ({rendered.format}, {rendered.duration:.2f} s, {len(parsed.events)} event(s), "
            f"normalised by {report.gain_db:+.1f} dB), {outputs['scene']}, {outputs['sounds']}/"
        )
    return 0


def text_outputs(output: Path) -> dict[str, Path]:
    """The files written: ``out.wav``, ``out.scene.yaml`` and the folder ``out.sounds``.

    >>> sorted(p.name for p in text_outputs(Path("heli.wav")).values())
    ['heli.scene.yaml', 'heli.sounds', 'heli.wav']
    """
    stem = output.with_suffix("")
    return {
        "audio": output,
        "scene": stem.with_name(stem.name + ".scene.yaml"),
        "sounds": stem.with_name(stem.name + ".sounds"),
    }
