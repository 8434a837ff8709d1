"""Figures of the image pipeline: the photo with its sounding regions, and the map it became."""

from __future__ import annotations

from pathlib import Path

import numpy as np

#: Colours of successive regions (matplotlib's tab10).
#: Colours of the regions and tracks, one per source in turn.
COLOURS = ("tab:red", "tab:blue", "tab:green", "tab:orange", "tab:purple", "tab:cyan", "tab:pink", "tab:olive")


def plot_regions(result, path: str | Path, *, overwrite: bool = False) -> Path:
    """The analysed image with each placed region's mask, box, label and estimated direction and distance.

    Parameters
    ----------
    result : ImageScene
        What :func:`soundstage.vision.pipeline.image_to_scene` returned.
    path : str or Path
        PNG file to write (atomically).
    overwrite : bool, default False
        Replace an existing file.
    """
    from soundstage.plots.figure import pyplot, save_figure

    plt = pyplot()
    image = result.image
    figure, ax = plt.subplots(figsize=(8.0, 8.0 * image.height / max(image.width, 1) + 0.6))
    ax.imshow(image.rgb, extent=(0, image.width, image.height, 0))
    for index, placed in enumerate(result.placed):
        colour = COLOURS[index % len(COLOURS)]
        overlay = np.zeros((*placed.region.mask.shape, 4))
        overlay[placed.region.mask] = (*_rgb(colour), 0.35)
        ax.imshow(overlay, extent=(0, image.width, image.height, 0))
        u0, v0, u1, v1 = placed.region.box
        ax.add_patch(plt.Rectangle((u0, v0), u1 - u0, v1 - v0, fill=False, edgecolor=colour, linewidth=2))
        azimuth, elevation, distance = placed.direction()
        ax.text(
            u0,
            max(v0 - 4, 10),
            f"{placed.label}: az {azimuth:+.0f}°, el {elevation:+.0f}°, {distance:.1f} m",
            color="white",
            fontsize=9,
            bbox={"facecolor": colour, "alpha": 0.8, "pad": 2, "edgecolor": "none"},
        )
    ax.set_xlim(0, image.width)
    ax.set_ylim(image.height, 0)
    ax.set_axis_off()
    ax.set_title(f"{Path(image.path).name}: sounding regions ({result.depth.backend} depth)")
    return save_figure(figure, path, overwrite=overwrite)


def plot_map(result, path: str | Path, *, overwrite: bool = False) -> Path:
    """Top-down map of the scene the image became: room outline, listener, camera field of view, sources.

    Parameters are those of :func:`plot_regions`.
    """
    from soundstage.plots.figure import pyplot, save_figure
    from soundstage.scene.model import source_world_position

    plt = pyplot()
    scene = result.scene
    figure, ax = plt.subplots(figsize=(6.5, 6.5))
    listener = np.array([scene.listener.position.x, scene.listener.position.y, scene.listener.position.z])
    title = "free field"
    if scene.room is not None and scene.room.shoebox is not None:
        lx, ly, _ = scene.room.shoebox.size
        # Drawn with +x up the page and +y to the left, as the listener sees it.
        ax.add_patch(plt.Rectangle((-ly, 0), ly, lx, fill=False, edgecolor="0.3", linewidth=2))
        title = f"shoebox {lx:g} × {ly:g} × {scene.room.shoebox.size[2]:g} m"
    elif scene.room is not None:
        title = f"open scene over {scene.room.ground}"
    half_fov = np.radians(result.camera.horizontal_fov_deg / 2.0)
    reach = 1.0 + max([float(np.linalg.norm(p.position_m)) for p in result.placed] + [2.0])
    for sign in (-1.0, 1.0):
        end = listener[:2] + reach * np.array([np.cos(sign * half_fov), np.sin(sign * half_fov)])
        ax.plot([-listener[1], -end[1]], [listener[0], end[0]], color="0.6", linestyle="--", linewidth=1)
    ax.plot(-listener[1], listener[0], marker="^", markersize=12, color="black", label="listener (camera)")
    for index, source in enumerate(scene.sources):
        xyz = source_world_position(source, scene.listener)
        colour = COLOURS[index % len(COLOURS)]
        ax.plot(-xyz[1], xyz[0], marker="o", markersize=10, color=colour)
        ax.annotate(source.name or f"source{index + 1}", (-xyz[1], xyz[0]), textcoords="offset points", xytext=(6, 6))
    ax.set_aspect("equal")
    ax.set_xlabel("← +y (left)   metres")
    ax.set_ylabel("+x (forward)   metres")
    ax.set_title(f"top view: {title}")
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(True, alpha=0.3)
    xticks = ax.get_xticks()
    ax.set_xticks(xticks, [f"{-t:g}" for t in xticks])
    return save_figure(figure, path, overwrite=overwrite)


def _rgb(colour: str) -> tuple[float, float, float]:
    from matplotlib.colors import to_rgb

    return to_rgb(colour)
