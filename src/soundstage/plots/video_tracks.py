"""Figure of the video pipeline: the first frame with each tracked object, and its path over time."""

from __future__ import annotations

from pathlib import Path

from soundstage.plots.image_scene import COLOURS


def plot_tracks(analysis, path: str | Path, *, overwrite: bool = False) -> Path:
    """The annotated first frame, and each tracked sound's azimuth and distance over time.

    Parameters
    ----------
    analysis : VideoAnalysis
        What :func:`soundstage.video.pipeline.analyse_video` returned.
    path : str or Path
        PNG file to write (atomically).
    overwrite : bool, default False
        Replace an existing file.
    """
    from soundstage.conventions import cartesian_to_spherical
    from soundstage.plots.figure import pyplot, save_figure

    plt = pyplot()
    frame = analysis.first_frame
    figure, (picture, azimuths, distances) = plt.subplots(1, 3, figsize=(15.0, 4.2))
    picture.imshow(frame, extent=(0, frame.shape[1], frame.shape[0], 0))
    picture.set_title(f"{analysis.info.path.name}: first frame")
    picture.axis("off")
    for index, source in enumerate(analysis.sources):
        colour = COLOURS[index % len(COLOURS)]
        azimuth, _elevation, distance = cartesian_to_spherical(source.positions)
        azimuths.plot(source.times, azimuth, color=colour, label=source.label)
        distances.plot(source.times, distance, color=colour, label=source.label)
        if source.first_box is not None:
            u0, v0, u1, v1 = source.first_box
            picture.add_patch(plt.Rectangle((u0, v0), u1 - u0, v1 - v0, fill=False, edgecolor=colour, linewidth=2))
            picture.text(
                u0,
                v0,
                f" {source.label} (from {source.times[0]:.1f} s)",
                color="white",
                va="bottom",
                bbox={"facecolor": colour, "alpha": 0.7, "pad": 1, "edgecolor": "none"},
            )
    azimuths.set(xlabel="time (s)", ylabel="azimuth (°, + left)", title="direction of each tracked sound")
    distances.set(xlabel="time (s)", ylabel="distance (m)", title="distance")
    for ax in (azimuths, distances):
        ax.set_xlim(0, max(analysis.info.duration_s, 1e-3))
        ax.grid(alpha=0.3)
        if analysis.sources:
            ax.legend(loc="best")
    return save_figure(figure, path, overwrite=overwrite)
