"""What each output format does to one arrival, apart from its delay and distance gain.

The block engine applies a path's delay (with Doppler) and its 1/r gain to the signal itself, sample
by sample; what is left for the encoder is the part that depends on direction and on the surfaces met:
panning gains, an HRIR pair, a microphone's directivity and spacing, the band filter of the walls and
the air. These *direction kernels* are asked of the format's own encoder — the same code the still
renderer uses — by encoding a unit arrival placed ``lead`` samples late, so every format moves without
a second implementation. Formats whose channels differ only by a gain (:class:`PanningEncoder`) give
plain gains for paths with a flat spectrum, which the engine applies without any convolution.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from soundstage.acoustics.arrivals import OCTAVE_BANDS_HZ, Arrivals
from soundstage.acoustics.delay import HALF_WIDTH
from soundstage.acoustics.encoders.band_filter import band_filter_length
from soundstage.acoustics.encoders.base import Encoder, PanningEncoder

#: Steps of distance (natural log) at which direction kernels are computed.
_DISTANCE_STEP = 0.05
#: Extra lead for encoders whose channels may hear a wave before the head centre does (spaced microphones).
_SPACING_LEAD_S = 0.005


@dataclass(frozen=True)
class KernelShape:
    """How long direction kernels are, and how late in them an arrival sits.

    Attributes
    ----------
    lead : int
        Samples by which every kernel delays its arrival (so that filters reaching back in time
        — linear-phase band filters, HRIR onsets, microphones ahead of the centre — stay causal).
    length : int
        Taps of every kernel.
    """

    lead: int
    length: int


def kernel_shape(encoder: Encoder, banded: bool) -> KernelShape:
    """The lead and length of ``encoder``'s direction kernels (``banded``: some paths carry band gains)."""
    rate = encoder.sample_rate
    band = band_filter_length(rate, OCTAVE_BANDS_HZ) if banded else 1
    hrtf = getattr(encoder, "hrtf", None)
    hrir = int(getattr(hrtf, "n_taps", 0) or 0)
    latency = math.ceil(float(getattr(hrtf, "latency_s", 0.0) or 0.0) * rate)
    lead = (band - 1) // 2 + HALF_WIDTH + math.ceil(_SPACING_LEAD_S * rate) + latency
    tail = encoder.filter_tail_taps
    return KernelShape(lead, lead + band + hrir + 2 * HALF_WIDTH + tail + math.ceil(_SPACING_LEAD_S * rate))


def gains_only(encoder: Encoder) -> bool:
    """True when a flat-spectrum arrival reaches the channels as plain gains (no filter)."""
    return isinstance(encoder, PanningEncoder)


def panning_gains(encoder: Encoder, directions: np.ndarray) -> np.ndarray:
    """Channel gains (K, C) of a panning encoder for head-frame ``directions`` (K, 3)."""
    return np.asarray(encoder.channel_gains(np.asarray(directions, dtype=float)), dtype=float)


def direction_kernels(
    encoder: Encoder,
    shape: KernelShape,
    directions: np.ndarray,
    distances: np.ndarray,
    band_gains: np.ndarray | None,
) -> np.ndarray:
    """Each arrival's response without its delay and distance gain, shape (K, C, ``shape.length``).

    Parameters
    ----------
    encoder : Encoder
    shape : KernelShape
        From :func:`kernel_shape`; kernel ``k`` holds arrival ``k`` placed ``shape.lead`` samples late.
    directions : np.ndarray, shape (K, 3)
        Head-frame unit vectors towards each arrival.
    distances : np.ndarray, shape (K,)
        Path lengths in metres (near-field heads use them).
    band_gains : np.ndarray or None, shape (K, B)
        Gain per band of :data:`OCTAVE_BANDS_HZ` beyond the 1/r law (walls, air), or None for flat.
    """
    k = len(directions)
    # Near-field heads change by less than 0.1 dB per 5 % of distance; rounding to 5 % steps lets
    # them reuse their work as a source moves (the 1/r law is applied exactly, outside the kernel).
    distances = np.exp(np.round(np.log(np.asarray(distances, dtype=float)) / _DISTANCE_STEP) * _DISTANCE_STEP)
    if band_gains is None:
        gains, bands = np.ones(k), None
    else:
        gains, bands = np.asarray(band_gains, dtype=float), OCTAVE_BANDS_HZ
    arrivals = Arrivals(
        np.full(k, shape.lead / encoder.sample_rate),
        gains,
        np.asarray(directions, dtype=float),
        np.asarray(distances, dtype=float),
        bands,
    )
    return encoder.arrival_responses(arrivals, shape.length)
