"""Figures of an analysis: spectrograms, interaural cues over time, found directions, decay curves."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from soundstage.plots.figure import pyplot, save_figure

if TYPE_CHECKING:
    from soundstage.metrics.directions import Localization
    from soundstage.metrics.room import RoomAcoustics


def plot_localization(
    audio: np.ndarray,
    sample_rate: int,
    found: Localization,
    path: str | Path,
    *,
    title: str = "",
    overwrite: bool = False,
) -> Path:
    """Spectrograms, cues over time (binaural) and a top-down map of the directions found.

    Parameters
    ----------
    audio : np.ndarray, shape (n_channels, n_samples)
        The analysed signal.
    sample_rate : int
        In Hz.
    found : Localization
        What the localizer reported; its ``tracks`` give the cues over time.
    path : str or Path
        PNG file to write (atomically).
    title : str
        Shown above the figure.
    overwrite : bool, default False
        Replace an existing file.

    Returns
    -------
    Path
        The file written.
    """
    plt = pyplot()
    binaural = audio.shape[0] == 2 and "itd_s" in found.tracks
    figure = plt.figure(figsize=(15, 4.2))
    grid = figure.add_gridspec(1, 4 if binaural else 2)
    channels = ((0, "left ear"), (1, "right ear")) if binaural else ((0, "channel 1"),)
    for column, (channel, label) in enumerate(channels):
        ax = figure.add_subplot(grid[0, column])
        _spectrogram(ax, audio[channel], sample_rate)
        ax.set_title(f"{label}: spectrogram")
    if binaural:
        _cues_over_time(figure.add_subplot(grid[0, 2]), found)
    _direction_map(figure.add_subplot(grid[0, -1], projection="polar"), found)
    if title:
        figure.suptitle(f"{title} — {found.method}", fontsize=10)
    return save_figure(figure, path, overwrite=overwrite)


def _spectrogram(ax, signal: np.ndarray, sample_rate: int) -> None:
    from scipy.signal import spectrogram

    n_fft = 1 << int(np.clip(np.round(np.log2(sample_rate * 0.032)), 8, 14))
    freqs, times, power = spectrogram(signal, fs=sample_rate, nperseg=n_fft, noverlap=n_fft * 3 // 4)
    level = 10 * np.log10(power + 1e-20)
    top = float(level.max()) if level.size else 0.0
    mesh = ax.pcolormesh(times, freqs / 1000.0, level, shading="auto", vmin=top - 80.0, vmax=top, cmap="magma")
    ax.set(xlabel="time (s)", ylabel="frequency (kHz)")
    ax.figure.colorbar(mesh, ax=ax, label="dB", pad=0.01)


def _cues_over_time(ax, found: Localization) -> None:
    tracks = found.tracks
    times = tracks["times_s"]
    ax.plot(times, tracks["itd_s"] * 1e6, ".", markersize=3, color="tab:blue", label="ITD")
    ax.set(xlabel="time (s)", ylabel="ITD (µs, + = left leads)", title="interaural cues per frame")
    ax.axhline(0.0, color="0.7", linewidth=0.8)
    other = ax.twinx()
    other.plot(times, tracks["ild_db"], ".", markersize=3, color="tab:orange", label="ILD")
    other.set_ylabel("ILD (dB, + = left louder)")
    if "lateral_deg" in tracks:
        used = np.isfinite(tracks["lateral_deg"])
        ax.plot(times[~used], tracks["itd_s"][~used] * 1e6, "x", markersize=3, color="0.6", label="gated out")
    lines = ax.get_legend_handles_labels()
    more = other.get_legend_handles_labels()
    ax.legend(lines[0] + more[0], lines[1] + more[1], fontsize=8, loc="upper right")


def _direction_map(ax, found: Localization) -> None:
    # Seen from above with the nose up: azimuth 0 at the top, +90 (left) to the left.
    ax.set_theta_zero_location("N")
    ax.set_theta_direction(1)
    ax.set_ylim(0, 1.05)
    ax.set_yticks([])
    ax.set_title("directions found (from above)", fontsize=10)
    for rank, source in enumerate(found.sources, start=1):
        theta = np.deg2rad(source.azimuth_deg)
        size = 60 + 240 * source.confidence
        ax.scatter([theta], [1.0], s=size, alpha=0.85, zorder=3)
        label = f"{rank}: {source.azimuth_deg:.0f}°"
        if source.elevation_deg is not None:
            label += f", el {source.elevation_deg:.0f}°"
        ax.annotate(label, (theta, 1.0), textcoords="offset points", xytext=(6, -12), fontsize=8)
        if source.front_back_ambiguous:
            mirrored = np.deg2rad(180.0 - source.azimuth_deg)
            ax.scatter([mirrored], [1.0], s=size, facecolors="none", edgecolors="0.5", linestyle=":", zorder=2)
    if not found.sources:
        ax.text(0.0, 0.0, "no source found", ha="center", va="center")
    if any(source.front_back_ambiguous for source in found.sources):
        ax.text(np.deg2rad(180.0), 0.55, "hollow: front/back mirror", ha="center", fontsize=7, color="0.4")


def plot_decay(
    results: Sequence[RoomAcoustics],
    sample_rate: int,
    path: str | Path,
    *,
    title: str = "",
    overwrite: bool = False,
) -> Path:
    """Energy decay curves with the T20/T30/EDT line fits, one curve per channel.

    Parameters
    ----------
    results : sequence of RoomAcoustics
        One per channel, from :func:`soundstage.metrics.room.room_acoustics`.
    sample_rate : int
        In Hz.
    path : str or Path
        PNG file to write (atomically).
    title : str
        Shown above the figure.
    overwrite : bool, default False
        Replace an existing file.

    Returns
    -------
    Path
        The file written.
    """
    plt = pyplot()
    figure, ax = plt.subplots(figsize=(8, 4.5))
    lowest = 0.0
    for channel, result in enumerate(results):
        edc = np.asarray(result.edc_db)
        times = np.arange(len(edc)) / sample_rate
        finite = np.isfinite(edc)
        (line,) = ax.plot(times[finite], edc[finite], linewidth=1.2, label=f"channel {channel + 1}: EDC")
        if np.any(finite):
            lowest = min(lowest, float(np.min(edc[finite])))
        for fit in result.fits:
            ax.plot(fit.times_s, fit.level_db, "--", color=line.get_color(), linewidth=1.0, alpha=0.8)
            ax.annotate(
                f"{fit.name} {fit.decay_time_s:.2f} s",
                (fit.times_s[-1], fit.level_db[-1]),
                fontsize=7,
                color=line.get_color(),
                textcoords="offset points",
                xytext=(4, 0),
            )
    ax.set(
        xlabel="time (s)",
        ylabel="energy decay (dB)",
        ylim=(max(lowest, -90.0) - 5.0, 5.0),
        title=(f"{title}: " if title else "") + "Schroeder decay and line fits",
    )
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return save_figure(figure, path, overwrite=overwrite)
