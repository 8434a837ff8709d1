"""5.1 and 7.1 surround: 2-D vector base amplitude panning (Pulkki 1997) over ITU-R BS.775 layouts.

Each arrival is projected onto the horizontal plane and panned between the two adjacent
loudspeakers that enclose it: with speaker unit vectors ``l_1, l_2`` (as rows of ``L``) and
source vector ``p``, the gains are ``g = p L⁻¹``, normalised to ``g_1² + g_2² = 1`` (constant
energy). Only one pair is active at a time, and a source on a speaker feeds that speaker
alone.

The energy vector ``r_E = Σ g_i² l_i / Σ g_i²`` (Gerzon) points at the source only at the
speakers and at each pair's bisector; between them it is pulled towards the louder speaker, more so
for wider pairs (measured over 0.1° steps): at most 4.5° over the 30° front pairs (0°/±30°),
11.5° over the 80° side pairs of 5.1 (30°→110°), 18° over its 140° rear pair, and 13° over
the 90° rear pair of 7.1.

The LFE channel takes no panned signal. With ``lfe=True`` it carries the mono sum of the
arrivals (each with its gain) low-passed by a 4th-order Linkwitz–Riley filter (two cascaded
2nd-order Butterworth sections, -6 dB at the cutoff, 24 dB/octave): the IIR filter's
impulse response, truncated after ``8 / cutoff`` seconds where it has decayed below -200 dB.
It is written at 0 dB; the main channels stay full-band (no bass management).
"""

from __future__ import annotations

import math

import numpy as np

from soundstage.acoustics.arrivals import Arrivals
from soundstage.acoustics.delay import sum_delayed
from soundstage.acoustics.encoders import check_sample_rate
from soundstage.acoustics.encoders.band_filter import arrival_filters, linkwitz_riley
from soundstage.acoustics.encoders.base import PanningEncoder
from soundstage.conventions import SPEAKER_LAYOUTS, channel_mask, unit_vectors
from soundstage.errors import ParameterError

#: Layouts this encoder accepts.
SURROUND_LAYOUTS = ("5.1", "7.1")


def vbap_2d_gains(directions: np.ndarray, speaker_azimuth_deg: np.ndarray) -> np.ndarray:
    """Energy-normalised 2-D VBAP gains of horizontal loudspeakers for each direction.

    Parameters
    ----------
    directions : np.ndarray, shape (K, 3)
        Vectors towards the sources (x forward, y left, z up); elevation is projected away.
    speaker_azimuth_deg : np.ndarray, shape (M,)
        Loudspeaker azimuths in degrees (+ = left), distinct, adjacent ones less than 180° apart.

    Returns
    -------
    np.ndarray, shape (K, M)
        Non-negative gains with ``Σ g² = 1`` per row. A direction straight up or down (no
        horizontal component) feeds every speaker equally.

    Examples
    --------
    >>> vbap_2d_gains(np.array([[1.0, 1.0, 0.0]]), np.array([0.0, 90.0])).round(6)   # 45°: equal
    array([[0.707107, 0.707107]])
    """
    directions = np.asarray(directions, dtype=float)
    azimuth = np.asarray(speaker_azimuth_deg, dtype=float)
    order = np.argsort(np.mod(azimuth, 360.0))
    first, second = order, np.roll(order, -1)
    speakers = unit_vectors(azimuth, np.zeros_like(azimuth))[:, :2]
    bases = np.stack([speakers[first], speakers[second]], axis=1)  # (P, 2 speakers, 2 dims)
    if np.any(np.abs(np.linalg.det(bases)) < 1e-9):
        raise ParameterError("loudspeakers must be distinct and adjacent ones less than 180 degrees apart")
    inverses = np.linalg.inv(bases)
    horizontal = directions[:, :2]
    norm = np.linalg.norm(horizontal, axis=1)
    flat = norm < 1e-12
    unit = horizontal / np.where(flat, 1.0, norm)[:, None]
    pair_gains = np.einsum("kd,pdj->kpj", unit, inverses)  # (K, P, 2): p L⁻¹ for every pair
    # The enclosing pair is the one whose gains are both non-negative; the largest minimum picks
    # it robustly (a source on a speaker is enclosed by two pairs that agree).
    best = np.argmax(pair_gains.min(axis=2), axis=1)
    chosen = np.maximum(pair_gains[np.arange(len(unit)), best], 0.0)
    chosen /= np.linalg.norm(chosen, axis=1, keepdims=True)
    gains = np.zeros((len(unit), len(azimuth)))
    rows = np.arange(len(unit))
    gains[rows, first[best]] = chosen[:, 0]
    gains[rows, second[best]] += chosen[:, 1]
    gains[flat] = 1.0 / math.sqrt(len(azimuth))
    return gains


class SurroundEncoder(PanningEncoder):
    """5.1 or 7.1 loudspeaker feeds by 2-D VBAP over the ITU-R BS.775 layout.

    Parameters
    ----------
    sample_rate : int
        Output sample rate in Hz.
    layout : {"5.1", "7.1"}, default "5.1"
        Channels in WAVE_FORMAT_EXTENSIBLE order: FL FR FC LFE SL SR (mask 0x60F) or
        FL FR FC LFE BL BR SL SR (0x63F).
    lfe : bool, default False
        Feed the LFE channel with the low-passed mono sum (else it stays silent).
    lfe_cutoff_hz : float, default 120
        LFE low-pass cutoff (-6 dB) in Hz.

    Raises
    ------
    ParameterError
        For an unknown layout or a cutoff outside (0, 0.45 × sample_rate).
    """

    def __init__(
        self, sample_rate: int, layout: str = "5.1", *, lfe: bool = False, lfe_cutoff_hz: float = 120.0
    ) -> None:
        self.sample_rate = check_sample_rate(sample_rate)
        if layout not in SURROUND_LAYOUTS:
            raise ParameterError(f"surround layout must be '5.1' or '7.1', got {layout!r}")
        if not (np.isfinite(lfe_cutoff_hz) and 0.0 < lfe_cutoff_hz < 0.45 * self.sample_rate):
            raise ParameterError(
                f"lfe_cutoff_hz must be between 0 and {0.45 * self.sample_rate:g} Hz, got {lfe_cutoff_hz!r}"
            )
        speakers = SPEAKER_LAYOUTS[layout]
        self.name = layout
        self.layout = layout
        self.lfe = bool(lfe)
        self.lfe_cutoff_hz = float(lfe_cutoff_hz)
        self.channel_labels = tuple(s.label for s in speakers)
        self.channel_mask = channel_mask(layout)
        self._panned = np.array([i for i, s in enumerate(speakers) if not s.is_lfe])
        self._lfe_index = next((i for i, s in enumerate(speakers) if s.is_lfe), None)
        self._azimuth_deg = np.array([speakers[i].azimuth_deg for i in self._panned])

    def channel_gains(self, directions: np.ndarray) -> np.ndarray:
        """Panning gains of every channel (LFE 0) for ``directions`` (K, 3), shape (K, n_channels)."""
        gains = np.zeros((len(directions), self.n_channels))
        gains[:, self._panned] = vbap_2d_gains(directions, self._azimuth_deg)
        return gains

    def impulse_response(self, arrivals: Arrivals) -> np.ndarray:
        """Loudspeaker feeds, shape (n_channels, n_taps), float64.

        See :meth:`Encoder.impulse_response`.
        """
        out = super().impulse_response(arrivals)
        if not self.lfe or self._lfe_index is None or len(arrivals) == 0:
            return out
        filters = arrival_filters(arrivals, self.sample_rate)
        n_taps = out.shape[1]
        from scipy.signal import oaconvolve

        mono = sum_delayed(filters.delay_samples, filters.gain[:, None], n_taps, filters.kernels)[0]
        low = oaconvolve(mono, linkwitz_riley(self.lfe_cutoff_hz, self.sample_rate))
        padded = np.zeros((self.n_channels, len(low)))
        padded[:, :n_taps] = out
        padded[self._lfe_index] = low
        return padded
