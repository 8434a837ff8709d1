"""Plots where a picture beats numbers: the scene from above and where each render put the sound."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from soundstage.conventions import SPEAKER_LAYOUTS, cartesian_to_spherical
from soundstage.scene.model import Scene, source_world_position


def plot_scene(
    scene: Scene, results: dict | None = None, path: str | Path = "scene.png", *, overwrite: bool = False
) -> Path:
    """Draw the scene from above and, when renders are given, how each format spread the sound.

    Panels: (1) top view, listener at the centre facing up the page (+x), +y to the
    left, sources labelled with azimuth/elevation/distance; (2) binaural: left and right
    level over time; (3) 5.1 / 7.1: energy per loudspeaker in dB.

    Parameters
    ----------
    scene : Scene
        The scene.
    results : dict of str to RenderResult, optional
        Renders keyed by format name; ``binaural``, ``5.1`` and ``7.1`` are used.
    path : str or Path
        PNG file to write (atomically).
    overwrite : bool, default False
        Replace an existing file.

    Returns
    -------
    Path
        The file written.
    """
    from soundstage.plots.figure import pyplot, save_figure

    plt = pyplot()
    results = results or {}
    panels = 1 + ("binaural" in results) + any(k in results for k in ("5.1", "7.1"))
    figure, axes = plt.subplots(1, panels, figsize=(5.2 * panels, 5.0), squeeze=False)
    _top_view(axes[0, 0], scene)
    column = 1
    if "binaural" in results:
        _binaural_levels(axes[0, column], results["binaural"])
        column += 1
    if any(k in results for k in ("5.1", "7.1")):
        _speaker_energy(axes[0, column], {k: results[k] for k in ("5.1", "7.1") if k in results})
    return save_figure(figure, path, overwrite=overwrite)


def _top_view(ax, scene: Scene) -> None:
    listener = np.array([scene.listener.position.x, scene.listener.position.y, scene.listener.position.z])
    reach = 1.0
    for index, source in enumerate(scene.sources):
        offset = source_world_position(source, scene.listener) - listener
        az, el, dist = (float(v) for v in cartesian_to_spherical(offset))
        reach = max(reach, dist)
        # Page: +x (forward) up, +y (left) to the left (the horizontal axis runs from +y to -y).
        marker = ax.plot(offset[1], offset[0], "o", markersize=10)[0]
        if source.trajectory is not None:  # a moving source: its path, from the marker (where it starts)
            from soundstage.scene.motion import source_path

            path = source_path(scene, index).sample_points() - listener
            ax.plot(path[:, 1], path[:, 0], "-", color=marker.get_color(), alpha=0.6)
            ax.annotate(
                "",
                xy=(path[-1, 1], path[-1, 0]),
                xytext=(path[-2, 1], path[-2, 0]),
                arrowprops={"arrowstyle": "->", "color": marker.get_color()},
            )
            reach = max(reach, float(np.max(np.linalg.norm(path[:, :2], axis=1))))
        label = source.name or f"source {index}"
        ax.annotate(
            f"{label}\naz {az:.0f}° el {el:.0f}° {dist:.1f} m",
            (offset[1], offset[0]),
            textcoords="offset points",
            xytext=(8, 6),
            fontsize=8,
        )
    head = scene.listener.head_radius * 4
    ax.add_patch(_circle((0.0, 0.0), head))
    yaw = np.deg2rad(scene.listener.orientation.yaw)
    ax.annotate(
        "", xy=(np.sin(yaw) * head * 2.5, np.cos(yaw) * head * 2.5), xytext=(0, 0), arrowprops={"arrowstyle": "->"}
    )
    for ring in np.arange(1, np.ceil(reach) + 1):
        ax.add_patch(_circle((0.0, 0.0), ring, fill=False, linestyle=":", alpha=0.4))
    limit = np.ceil(reach) * 1.25
    ax.set(
        xlim=(limit, -limit),
        ylim=(-limit, limit),
        aspect="equal",
        xlabel="y (m) — left is left",
        ylabel="x (m) — forward",
        title="scene from above (listener faces up)",
    )


def _circle(centre, radius, **style):
    from matplotlib.patches import Circle

    return Circle(centre, radius, **{"fill": True, "alpha": 0.3, **style})


def _binaural_levels(ax, result) -> None:
    frame = max(1, int(0.05 * result.sample_rate))
    n_frames = result.audio.shape[1] // frame
    if n_frames == 0:
        return
    blocks = result.audio[:, : n_frames * frame].reshape(2, n_frames, frame)
    level_db = 10 * np.log10(np.mean(blocks.astype(float) ** 2, axis=2) + 1e-12)
    times = (np.arange(n_frames) + 0.5) * frame / result.sample_rate
    ax.plot(times, level_db[0], label="left ear")
    ax.plot(times, level_db[1], label="right ear")
    ax.set(
        xlabel="time (s)",
        ylabel="level (dB FS, 50 ms RMS)",
        title=f"binaural ({result.details.get('hrtf')})",
        ylim=(max(level_db.max() - 60, level_db.min()), level_db.max() + 3),
    )
    ax.legend()


def _speaker_energy(ax, results: dict, floor_db: float = -40.0) -> None:
    ticks, labels, cursor = [], [], 0.0
    for layout, result in results.items():
        speakers = SPEAKER_LAYOUTS[layout]
        energy = 10 * np.log10(np.mean(result.audio.astype(float) ** 2, axis=1) + 1e-12)
        relative = np.maximum(energy - energy.max(), floor_db)
        positions = cursor + np.arange(len(speakers))
        ax.bar(positions, relative - floor_db, bottom=floor_db, label=layout)
        ticks.extend(positions)
        labels.extend("LFE" if s.is_lfe else f"{s.label}\n{s.azimuth_deg:+.0f}°" for s in speakers)
        cursor += len(speakers) + 1
    ax.set_xticks(ticks, labels, fontsize=7)
    ax.set(ylabel="energy re loudest (dB)", ylim=(floor_db, 3), title="loudspeaker energy (ITU-R BS.775)")
    ax.legend()
