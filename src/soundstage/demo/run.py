"""Build the demo scene, render it to every format and plot it."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from soundstage.demo import sounds

#: Every format the demo renders, with the file it writes.
DEMO_FORMATS = ("omni", "binaural", "stereo", "ortf", "5.1", "7.1", "foa", "hoa3")

#: The demo's sources: name, synthesizer, position (as written in the scene file), gain in dB.
_DEMO_SOURCES = (
    ("bell", sounds.bell, {"az": 60.0, "el": 0.0, "dist": 2.0}, 0.0),
    ("castanets", sounds.clicks, {"x": 0.0, "y": -1.5, "z": 0.0}, 0.0),
    ("bird", sounds.bird, {"az": 150.0, "el": 30.0, "dist": 3.0}, 3.0),
    ("drone", sounds.drone, {"az": 0.0, "el": 0.0, "dist": 4.0}, 3.0),
)


def build_demo_scene(folder: Path, *, sample_rate: int = 48000, hrtf: str = "sphere", overwrite: bool = False):
    """Synthesize the demo's sounds into ``folder/sources`` and write ``folder/scene.yaml``.

    Returns
    -------
    Scene
        The scene as read back from the file it wrote.
    """
    from soundstage.io.wav import write_wav
    from soundstage.scene.files import load_scene, save_scene, scene_from_dict

    (folder / "sources").mkdir(parents=True, exist_ok=True)
    sources = []
    for name, synthesize, position, gain_db in _DEMO_SOURCES:
        relative = Path("sources") / f"{name}.wav"
        write_wav(folder / relative, synthesize(sample_rate)[None, :], sample_rate, bit_depth=24, overwrite=overwrite)
        sources.append({"name": name, "audio": str(relative), "position": position, "gain_db": gain_db})
    scene = scene_from_dict(
        {"output": {"format": "binaural", "sample_rate": sample_rate}, "hrtf": hrtf, "sources": sources},
        base_dir=folder,
    )
    save_scene(scene, folder / "scene.yaml", overwrite=overwrite)
    return load_scene(folder / "scene.yaml")


#: The demo room: a living-room-sized shoebox, listener near its middle (room coordinates, metres).
DEMO_ROOM = {
    "shoebox": {"size": [6.0, 5.0, 2.8]},
    "materials": {"walls": "gypsum_board", "floor": "carpet_on_pad", "ceiling": "plaster"},
}
DEMO_ROOM_LISTENER = (3.0, 2.5, 1.5)


def build_demo_room_scene(scene, folder: Path, *, overwrite: bool = False):
    """The demo scene moved into :data:`DEMO_ROOM`, written to ``folder/room_scene.yaml`` and read back.

    The sources keep their directions and distances from the listener; in a room, positions are room
    coordinates, so each becomes the listener's room position plus its offset.
    """
    from soundstage.scene.files import load_scene, save_scene, scene_from_dict
    from soundstage.scene.model import source_world_position

    listener = np.asarray(DEMO_ROOM_LISTENER)
    sources = []
    for source in scene.sources:
        offset = source_world_position(source, scene.listener) - np.array(
            [scene.listener.position.x, scene.listener.position.y, scene.listener.position.z]
        )
        room_xyz = np.clip(listener + offset, 0.3, np.asarray(DEMO_ROOM["shoebox"]["size"]) - 0.3)
        sources.append({**source.model_dump(exclude_defaults=True), "position": [round(float(v), 3) for v in room_xyz]})
    data = {
        **scene.model_dump(mode="json", exclude_defaults=True, exclude={"base_dir", "sources", "listener"}),
        "sources": sources,
        "listener": {"position": list(DEMO_ROOM_LISTENER)},
        "room": DEMO_ROOM,
    }
    for source in data["sources"]:
        source["audio"] = str(source["audio"])
    room_scene = scene_from_dict(data, base_dir=folder)
    save_scene(room_scene, folder / "room_scene.yaml", overwrite=overwrite)
    return load_scene(folder / "room_scene.yaml")


def run_demo(
    folder: str | Path, *, sample_rate: int = 48000, hrtf: str = "sphere", overwrite: bool = False, verbose: bool = True
) -> dict[str, Path]:
    """Render the demo scene to every format in :data:`DEMO_FORMATS` and plot it.

    Parameters
    ----------
    folder : str or Path
        Output folder, created if missing.
    sample_rate : int, default 48000
        In Hz.
    hrtf : str, default "sphere"
        Head for the binaural renders.
    overwrite : bool, default False
        Replace the files of an earlier demo in ``folder``.
    verbose : bool, default True
        Print a table of what was written.

    Returns
    -------
    dict of str to Path
        Each output's name and path.
    """
    from soundstage.acoustics.hrtf import load_hrtf
    from soundstage.acoustics.render import check_output_rate, decode_to_binaural, render
    from soundstage.io.atomic import check_writable, ensure_dir
    from soundstage.io.export import write_render
    from soundstage.plots.scene import plot_scene

    # Everything that can be refused is checked before any file is written: the rate and the head.
    sample_rate = check_output_rate(sample_rate)
    head = load_hrtf(hrtf, sample_rate)  # once, for the binaural renders and both decodes
    folder = Path(folder)
    ensure_dir(folder)
    # Check every output before writing any, so a refused overwrite leaves the folder untouched.
    planned = [folder / f"{name}.wav" for name in (*DEMO_FORMATS, "foa_binaural", "hoa3_binaural", "binaural_room")]
    planned += [folder / "scene.png", folder / "scene.yaml", folder / "room_scene.yaml"]
    planned += [folder / "sources" / f"{name}.wav" for name, *_ in _DEMO_SOURCES]
    for path in planned:
        if path.parent.is_dir():
            check_writable(path, overwrite=overwrite)
    scene = build_demo_scene(folder, sample_rate=sample_rate, hrtf=hrtf, overwrite=overwrite)

    results = {}
    for format_name in DEMO_FORMATS:
        results[format_name] = render(scene, format=format_name, hrtf=head, progress=verbose)
    results["foa_binaural"] = decode_to_binaural(results["foa"], hrtf=head)
    results["hoa3_binaural"] = decode_to_binaural(results["hoa3"], hrtf=head)
    room_scene = build_demo_room_scene(scene, folder, overwrite=overwrite)
    results["binaural_room"] = render(room_scene, format="binaural", hrtf=head, progress=verbose)

    written = {}
    rows = []
    for name, result in results.items():
        # The room adds its reverberant energy to every source: that render is normalised (the table says by how much).
        normalize = name == "binaural_room"
        report = write_render(result, folder / f"{name}.wav", bit_depth=24, normalize=normalize, overwrite=overwrite)
        written[name] = report.path
        label = result.format + (f" (normalised {report.gain_db:+.1f} dB)" if report.gain_db else "")
        rows.append((report.path.name, label, len(result.channel_labels), report.peak_dbfs))
    written["plot"] = plot_scene(scene, results, folder / "scene.png", overwrite=overwrite)
    written["scene"] = folder / "scene.yaml"
    written["room_scene"] = folder / "room_scene.yaml"
    if verbose:
        _print_table(folder, rows, hrtf)
    return written


def _print_table(folder: Path, rows: list[tuple[str, str, int, float]], hrtf: str) -> None:
    out = sys.stdout
    print(
        f"demo written to {folder}/ (scene.yaml, sources/, one WAV per format, scene.png; binaural_room.wav is "
        f"room_scene.yaml: the same sources in a 6 × 5 × 2.8 m room); HRTF {hrtf}",
        file=out,
    )
    print(f"  {'file':<20} {'format':<32} {'channels':>8} {'peak dBFS':>10}", file=out)
    for name, format_name, n_channels, peak in rows:
        print(f"  {name:<20} {format_name:<32} {n_channels:>8} {peak:>10.1f}", file=out)
    print(f"re-render with: soundstage render {folder}/scene.yaml -o out.wav --format 5.1", file=out)
