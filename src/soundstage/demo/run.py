"""Build the demo scene, render it to every format and plot it."""

from __future__ import annotations

import sys
from pathlib import Path

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
    from soundstage.acoustics.render import decode_to_binaural, load_scene_hrtf, render
    from soundstage.io.atomic import check_writable, ensure_dir
    from soundstage.io.export import write_render
    from soundstage.plots.scene import plot_scene

    folder = Path(folder)
    ensure_dir(folder)
    # Check every output before writing any, so a refused overwrite leaves the folder untouched.
    planned = [folder / f"{name}.wav" for name in (*DEMO_FORMATS, "foa_binaural", "hoa3_binaural")]
    planned += [folder / "scene.png", folder / "scene.yaml"]
    planned += [folder / "sources" / f"{name}.wav" for name, *_ in _DEMO_SOURCES]
    for path in planned:
        if path.parent.is_dir():
            check_writable(path, overwrite=overwrite)
    scene = build_demo_scene(folder, sample_rate=sample_rate, hrtf=hrtf, overwrite=overwrite)

    head = load_scene_hrtf(scene, sample_rate)  # once, for the binaural render and both decodes
    results = {}
    for format_name in DEMO_FORMATS:
        results[format_name] = render(scene, format=format_name, hrtf=head, progress=verbose)
    results["foa_binaural"] = decode_to_binaural(results["foa"], hrtf=head)
    results["hoa3_binaural"] = decode_to_binaural(results["hoa3"], hrtf=head)

    written = {}
    rows = []
    for name, result in results.items():
        report = write_render(result, folder / f"{name}.wav", bit_depth=24, overwrite=overwrite)
        written[name] = report.path
        rows.append((report.path.name, result.format, len(result.channel_labels), report.peak_dbfs))
    written["plot"] = plot_scene(scene, results, folder / "scene.png", overwrite=overwrite)
    written["scene"] = folder / "scene.yaml"
    if verbose:
        _print_table(folder, rows, hrtf)
    return written


def _print_table(folder: Path, rows: list[tuple[str, str, int, float]], hrtf: str) -> None:
    out = sys.stdout
    print(f"demo written to {folder}/ (scene.yaml, sources/, one WAV per format, scene.png); HRTF {hrtf}", file=out)
    print(f"  {'file':<20} {'format':<10} {'channels':>8} {'peak dBFS':>10}", file=out)
    for name, format_name, n_channels, peak in rows:
        print(f"  {name:<20} {format_name:<10} {n_channels:>8} {peak:>10.1f}", file=out)
    print(f"re-render with: soundstage render {folder}/scene.yaml -o out.wav --format 5.1", file=out)
