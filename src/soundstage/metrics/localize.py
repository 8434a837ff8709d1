"""One entry point to localize the sources in a rendered file, whatever its format.

Each format has the localizer its channels allow: interaural cues for binaural,
pseudo-intensity for ambisonics, Gerzon's vectors for loudspeaker feeds. This module
only chooses; the methods live in :mod:`~soundstage.metrics.localize_binaural` and
:mod:`~soundstage.metrics.localize_fields`.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING

import numpy as np

from soundstage.conventions import channel_mask
from soundstage.errors import ParameterError

if TYPE_CHECKING:
    from soundstage.acoustics.hrtf.base import HRTF
    from soundstage.metrics.directions import Localization

#: Formats :func:`localize` understands (``hoaN`` for any order N).
LOCALIZABLE_FORMATS = ("binaural", "stereo", "5.1", "7.1", "foa", "hoaN")

_HOA = re.compile(r"hoa(\d+)$")


def ambisonic_order(format_name: str) -> int | None:
    """Order of an ambisonic format name (``foa`` → 1, ``hoa3`` → 3), None for other formats.

    Examples
    --------
    >>> ambisonic_order("foa"), ambisonic_order("hoa3"), ambisonic_order("5.1")
    (1, 3, None)
    """
    if format_name == "foa":
        return 1
    match = _HOA.match(format_name)
    return int(match.group(1)) if match else None


def guess_format(n_channels: int, mask: int | None) -> str:
    """The most likely format of a file from its channel count and WAV channel mask.

    Two channels are taken as binaural unless the mask says front left/right loudspeakers;
    6 and 8 channels as 5.1 and 7.1; a square number ``(N + 1)²`` of channels without a
    loudspeaker mask as ambisonics of order N.

    Raises
    ------
    ParameterError
        For a single channel (a mono file carries no direction) or a count no format has.

    Examples
    --------
    >>> guess_format(2, None), guess_format(2, 0x3), guess_format(6, 0x60F), guess_format(16, 0)
    ('binaural', 'stereo', '5.1', 'hoa3')
    """
    if n_channels == 1:
        raise ParameterError(
            "a mono file carries no direction to localize; pass --ir to measure it as an impulse response"
        )
    if n_channels == 2:
        return "stereo" if mask == channel_mask("stereo") else "binaural"
    for layout in ("5.1", "7.1"):
        if mask == channel_mask(layout):
            return layout
    order = math.isqrt(n_channels) - 1
    if (order + 1) ** 2 == n_channels and not mask:
        return "foa" if order == 1 else f"hoa{order}"
    if n_channels in (6, 8) and not mask:
        return {6: "5.1", 8: "7.1"}[n_channels]
    raise ParameterError(
        f"cannot tell the format of a {n_channels}-channel file (channel mask {mask or 0:#x}); pass --format "
        "(binaural, stereo, 5.1, 7.1, foa or hoaN)"
    )


def localize(
    audio: np.ndarray,
    sample_rate: int,
    *,
    format: str,
    hrtf: str | HRTF = "sphere",
    convention: str = "ambix",
    max_sources: int = 4,
) -> Localization:
    """Find the sources in a rendered signal, strongest first.

    Parameters
    ----------
    audio : np.ndarray, shape (n_channels, n_samples)
        The signal, channels first.
    sample_rate : int
        In Hz.
    format : str
        ``binaural``, ``stereo``, ``5.1``, ``7.1``, ``foa`` or ``hoaN``.
    hrtf : str or HRTF, default "sphere"
        Binaural only: the head whose cues map ITD/ILD to lateral angles.
    convention : {"ambix", "fuma"}, default "ambix"
        Ambisonics only.
    max_sources : int, default 4
        At most this many sources are reported.

    Returns
    -------
    Localization

    Raises
    ------
    ParameterError
        For an unknown format or a channel count that does not fit it.
    """
    audio = np.asarray(audio, dtype=float)
    if audio.ndim != 2:
        raise ParameterError(f"audio must have shape (n_channels, n_samples), got {audio.shape}")
    n_channels = audio.shape[0]
    order = ambisonic_order(format)
    if format == "binaural":
        expected = 2
    elif format in ("stereo", "5.1", "7.1"):
        expected = {"stereo": 2, "5.1": 6, "7.1": 8}[format]
    elif order is not None:
        expected = (order + 1) ** 2
    else:
        raise ParameterError(f"cannot localize format {format!r}; use one of {', '.join(LOCALIZABLE_FORMATS)}")
    if n_channels != expected:
        raise ParameterError(f"format {format} has {expected} channels, but the signal has {n_channels}")
    if format == "binaural":
        from soundstage.metrics.localize_binaural import localize_binaural

        return localize_binaural(audio, sample_rate, hrtf=hrtf, max_sources=max_sources)
    if order is not None:
        from soundstage.metrics.localize_fields import localize_ambisonic

        return localize_ambisonic(audio, sample_rate, convention=convention, max_sources=max_sources)
    from soundstage.metrics.localize_fields import localize_loudspeakers

    return localize_loudspeakers(audio, format, sample_rate, max_sources=max_sources)
