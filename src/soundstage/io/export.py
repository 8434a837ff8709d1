"""Writing a render to disk: level check, optional normalisation, atomic WAV."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from soundstage.errors import OutputError

#: Peak level that ``normalize`` scales to, in dBFS (1 dB of headroom for inter-sample peaks).
NORMALIZE_TARGET_DBFS = -1.0


@dataclass(frozen=True)
class WriteReport:
    """What was written: path, peak level after any scaling (dBFS) and the gain applied (dB)."""

    path: Path
    peak_dbfs: float
    gain_db: float
    bit_depth: int | str


def normalization_gain_db(peak: float, path: str | Path) -> float:
    """The gain in dB that brings a signal whose peak is ``peak`` (linear) to :data:`NORMALIZE_TARGET_DBFS`.

    Raises
    ------
    OutputError
        For silence (naming ``path``, the file it was meant for).

    Examples
    --------
    >>> round(normalization_gain_db(0.5, "out.wav"), 3)
    5.021
    """
    if peak <= 0.0:
        raise OutputError(f"{path}: the render is silent, so it cannot be normalised; check the sources")
    return float(NORMALIZE_TARGET_DBFS - 20.0 * np.log10(peak))


def write_render(
    result,
    path: str | Path,
    *,
    bit_depth: int | str = 24,
    normalize: bool = False,
    overwrite: bool = False,
) -> WriteReport:
    """Write a :class:`~soundstage.acoustics.render.RenderResult` as a WAV file.

    Parameters
    ----------
    result : RenderResult
        The render.
    path : str or Path
        Output file. Written atomically; an existing file is kept unless ``overwrite``, and
        a file the render was made from (``result.inputs``) is never replaced.
    bit_depth : {16, 24, 32, "float"}, default 24
        Integer PCM bits, or ``"float"`` for 32-bit IEEE float.
    normalize : bool, default False
        Scale so the peak sits at -1 dBFS; the report says by how much.
    overwrite : bool, default False
        Replace an existing file.

    Returns
    -------
    WriteReport

    Raises
    ------
    OutputError
        If the file is one of the render's inputs, exists (without ``overwrite``), cannot be
        written, or an integer format would clip (the message gives the peak and the fixes).
    """
    from soundstage.acoustics.render import RenderResult
    from soundstage.errors import ParameterError
    from soundstage.io.wav import write_wav

    if not isinstance(result, RenderResult):
        raise ParameterError(
            f"result: give the RenderResult that render() returned, got {type(result).__name__} "
            "(for a bare array use soundstage.io.wav.write_wav)"
        )
    audio = result.audio
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    gain_db = 0.0
    if normalize:
        gain_db = normalization_gain_db(peak, path)
        audio = audio * np.float32(10.0 ** (gain_db / 20.0))
        peak = float(np.max(np.abs(audio)))
    write_wav(
        path,
        audio,
        result.sample_rate,
        bit_depth=bit_depth,
        # Binaural and ambisonic channels are no loudspeaker feeds: mask 0 says so (a bare 2-channel
        # file would read as front left/right stereo). A mono file keeps the default (front centre).
        channel_mask=result.channel_mask if result.channel_mask or audio.shape[0] > 1 else None,
        overwrite=overwrite,
        inputs=getattr(result, "inputs", ()),
    )
    peak_dbfs = 20.0 * np.log10(peak) if peak > 0 else -np.inf
    return WriteReport(Path(path), float(peak_dbfs), float(gain_db), bit_depth)
