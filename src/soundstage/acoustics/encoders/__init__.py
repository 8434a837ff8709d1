"""Output formats: the registry of encoder names and a factory.

>>> parse_format("hoa3")
('ambisonics', 3)
>>> enc = make_encoder("5.1", 48000)
>>> enc.channel_labels, hex(enc.channel_mask)
(('FL', 'FR', 'FC', 'LFE', 'SL', 'SR'), '0x60f')

Encoder modules load only when :func:`make_encoder` needs them, so importing this stays cheap.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from soundstage.errors import ParameterError
from soundstage.sample_rate import check_sample_rate

if TYPE_CHECKING:
    from soundstage.acoustics.encoders.base import Encoder
    from soundstage.acoustics.hrtf.base import HRTF

__all__ = [
    "FORMAT_NAMES",
    "MAX_AMBISONIC_ORDER",
    "ambisonic_order",
    "check_sample_rate",
    "make_encoder",
    "parse_format",
]

#: Output format names; ``hoaN`` stands for any order N from 1 to MAX_AMBISONIC_ORDER (``hoa1`` ≡ ``foa``).
FORMAT_NAMES = ("omni", "binaural", "stereo", "ortf", "ab", "5.1", "7.1", "foa", "hoaN")
#: Highest ambisonic order accepted ((N + 1)² = 289 channels); far beyond any microphone or decoder in use.
MAX_AMBISONIC_ORDER = 16


def ambisonic_order(n_channels: int) -> int | None:
    """The order N of a signal with (N + 1)² channels, N from 1 to MAX_AMBISONIC_ORDER; None otherwise.

    Examples
    --------
    >>> ambisonic_order(4), ambisonic_order(16), ambisonic_order(2), ambisonic_order(1)
    (1, 3, None, None)
    """
    order = round(n_channels**0.5) - 1
    return order if 1 <= order <= MAX_AMBISONIC_ORDER and (order + 1) ** 2 == n_channels else None

_SIMPLE_KINDS = ("omni", "binaural", "stereo", "ortf", "ab", "5.1", "7.1")
_VALID = "omni, binaural, stereo, ortf, ab, 5.1, 7.1, foa or hoaN (N = 1..16, e.g. hoa3)"


def parse_format(format_name: str) -> tuple[str, int | None]:
    """Split an output format name into its kind and ambisonic order.

    Parameters
    ----------
    format_name : str
        One of :data:`FORMAT_NAMES` (case-insensitive), with ``hoaN`` for a concrete order.

    Returns
    -------
    kind : str
        ``"omni"``, ``"binaural"``, ``"stereo"``, ``"ortf"``, ``"ab"``, ``"5.1"``, ``"7.1"``
        or ``"ambisonics"``.
    order : int or None
        The ambisonic order (1 for ``foa``), None for the other kinds.

    Raises
    ------
    ParameterError
        For an unknown name, naming the valid ones.

    Examples
    --------
    >>> parse_format("FOA"), parse_format("binaural")
    (('ambisonics', 1), ('binaural', None))
    """
    if not isinstance(format_name, str):
        raise ParameterError(f"output format must be a string, got {format_name!r}; use {_VALID}")
    name = format_name.strip().lower()
    if name in _SIMPLE_KINDS:
        return name, None
    if name == "foa":
        return "ambisonics", 1
    match = re.fullmatch(r"hoa(-?\d+)", name)
    if match:
        order = int(match.group(1))
        if not 1 <= order <= MAX_AMBISONIC_ORDER:
            raise ParameterError(
                f"output format {format_name!r}: ambisonic order must be 1..{MAX_AMBISONIC_ORDER}, got {order}; "
                f"use {_VALID}"
            )
        return "ambisonics", order
    raise ParameterError(f"unknown output format {format_name!r}; use {_VALID}")


def make_encoder(
    format_name: str,
    sample_rate: int,
    *,
    hrtf: HRTF | None = None,
    lfe: bool = False,
    ambisonic_convention: str = "ambix",
) -> Encoder:
    """The encoder of an output format.

    Parameters
    ----------
    format_name : str
        See :func:`parse_format`.
    sample_rate : int
        Output sample rate in Hz.
    hrtf : HRTF or None
        Head for ``binaural`` (required there, ignored otherwise).
    lfe : bool, default False
        Feed the LFE channel of ``5.1``/``7.1`` with the low-passed mono sum (ignored otherwise).
    ambisonic_convention : {"ambix", "fuma"}, default "ambix"
        Channel convention of ``foa``/``hoaN`` (FuMa for first order only; ignored otherwise).

    Returns
    -------
    Encoder

    Raises
    ------
    ParameterError
        For an unknown format, binaural without a head, or FuMa above first order.
    """
    kind, order = parse_format(format_name)
    sample_rate = check_sample_rate(sample_rate)
    if kind == "omni":
        from soundstage.acoustics.encoders.omni import OmniEncoder

        return OmniEncoder(sample_rate)
    if kind == "binaural":
        if hrtf is None:
            raise ParameterError("the binaural format needs a head: pass hrtf=load_hrtf('sphere', sample_rate)")
        from soundstage.acoustics.encoders.binaural import BinauralEncoder

        return BinauralEncoder(sample_rate, hrtf)
    if kind == "stereo":
        from soundstage.acoustics.encoders.stereo import StereoPanEncoder

        return StereoPanEncoder(sample_rate)
    if kind in ("ortf", "ab"):
        from soundstage.acoustics.encoders.stereo import SpacedPairEncoder

        return SpacedPairEncoder(sample_rate, kind=kind)
    if kind in ("5.1", "7.1"):
        from soundstage.acoustics.encoders.surround import SurroundEncoder

        return SurroundEncoder(sample_rate, kind, lfe=lfe)
    from soundstage.acoustics.encoders.ambisonics import AmbisonicEncoder

    if ambisonic_convention == "fuma" and order != 1:
        raise ParameterError(
            f"output format {format_name!r}: the fuma convention exists for first order only; "
            "use ambisonic_convention='ambix' or format 'foa'"
        )
    return AmbisonicEncoder(sample_rate, order, convention=ambisonic_convention)
