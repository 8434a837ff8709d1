"""5.1 and 7.1 surround: 2-D vector base panning (Pulkki 1997) over ITU-R BS.775 layouts.

Each arrival is projected onto the horizontal plane and panned between the two adjacent
loudspeakers that enclose it. With speaker unit vectors ``l_1, l_2`` (as rows of ``L``) and
source vector ``p``, the pair weights ``w = p L⁻¹`` are non-negative, and two gain laws
follow from them, each energy-normalised (``g_1² + g_2² = 1``):

- **velocity** (VBAP proper): ``g ∝ w``, so Gerzon's velocity vector ``r_V = Σ g_i l_i / Σ g_i``
  points at the source. That is what localisation follows below about 700 Hz, where the
  interaural phase difference dominates.
- **energy** (vector base intensity panning, Pernaux et al. 1998): ``g ∝ √w``, so the energy
  vector ``r_E = Σ g_i² l_i / Σ g_i²`` points at the source, which is what localisation
  follows at higher frequencies. With velocity gains ``r_E`` is pulled towards the louder
  speaker: up to 4.5° over the 30° front pairs, 11.5° over the 80° side pairs of 5.1, 18°
  over its 140° rear pair.

The default, ``panning="dual"``, uses each law in its band, joined by a 4th-order
Linkwitz–Riley crossover at 700 Hz (its two bands sum to an all-pass, the same for every
channel), so both vectors point at the source where each matters. Only one pair is active
at a time, and a source on a speaker feeds that speaker alone.

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
from soundstage.acoustics.encoders import check_sample_rate
from soundstage.acoustics.encoders.band_filter import CROSSOVER_PERIODS, linkwitz_riley
from soundstage.acoustics.encoders.base import Encoder, arrival_placer
from soundstage.acoustics.encoders.diffuse_field import (
    DIFFUSE_QUADRATURE_DEGREE,
    averaging_grid,
    band_average,
    check_band_centers,
)
from soundstage.acoustics.encoders.tdesign import spherical_quadrature
from soundstage.conventions import SPEAKER_LAYOUTS, channel_mask, unit_vectors
from soundstage.errors import ParameterError

#: Layouts this encoder accepts.
SURROUND_LAYOUTS = ("5.1", "7.1")
#: Gerzon vectors a gain law can aim at the source.
PANNING_VECTORS = ("velocity", "energy")
#: Panning laws of :class:`SurroundEncoder`: one vector at all frequencies, or each in its band.
PANNING_LAWS = ("dual", *PANNING_VECTORS)


def vbap_2d_gains(directions: np.ndarray, speaker_azimuth_deg: np.ndarray, *, vector: str = "velocity") -> np.ndarray:
    """Energy-normalised 2-D vector base panning gains of horizontal loudspeakers.

    Parameters
    ----------
    directions : np.ndarray, shape (K, 3)
        Vectors towards the sources (x forward, y left, z up); elevation is projected away.
    speaker_azimuth_deg : np.ndarray, shape (M,)
        Loudspeaker azimuths in degrees (+ = left), distinct, adjacent ones less than 180° apart.
    vector : {"velocity", "energy"}, default "velocity"
        Which of Gerzon's vectors points at the source: ``"velocity"`` is VBAP (gains
        proportional to ``p L⁻¹``), ``"energy"`` is intensity panning (squared gains
        proportional to it).

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
    if vector not in PANNING_VECTORS:
        raise ParameterError(f"vector must be one of {PANNING_VECTORS}, got {vector!r}")
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
    pair_weights = np.einsum("kd,pdj->kpj", unit, inverses)  # (K, P, 2): p L⁻¹ for every pair
    # The enclosing pair is the one whose weights are both non-negative; the largest minimum picks
    # it robustly (a source on a speaker is enclosed by two pairs that agree).
    best = np.argmax(pair_weights.min(axis=2), axis=1)
    chosen = np.maximum(pair_weights[np.arange(len(unit)), best], 0.0)
    if vector == "energy":
        chosen = np.sqrt(chosen)
    chosen /= np.linalg.norm(chosen, axis=1, keepdims=True)
    gains = np.zeros((len(unit), len(azimuth)))
    rows = np.arange(len(unit))
    gains[rows, first[best]] = chosen[:, 0]
    gains[rows, second[best]] += chosen[:, 1]
    gains[flat] = 1.0 / math.sqrt(len(azimuth))
    return gains


class SurroundEncoder(Encoder):
    """5.1 or 7.1 loudspeaker feeds by 2-D vector base panning over the ITU-R BS.775 layout.

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
    panning : {"dual", "velocity", "energy"}, default "dual"
        Gain law (see the module notes): velocity-vector gains (VBAP) below ``crossover_hz``
        and energy-vector gains above it, or one of them at all frequencies.
    crossover_hz : float, default 700
        Crossover of the ``"dual"`` law in Hz.

    Raises
    ------
    ParameterError
        For an unknown layout or panning law, or a cutoff or crossover outside
        (0, 0.45 × sample_rate).
    """

    def __init__(
        self,
        sample_rate: int,
        layout: str = "5.1",
        *,
        lfe: bool = False,
        lfe_cutoff_hz: float = 120.0,
        panning: str = "dual",
        crossover_hz: float = 700.0,
    ) -> None:
        self.sample_rate = check_sample_rate(sample_rate)
        if layout not in SURROUND_LAYOUTS:
            raise ParameterError(f"surround layout must be '5.1' or '7.1', got {layout!r}")
        if panning not in PANNING_LAWS:
            raise ParameterError(f"panning must be one of {PANNING_LAWS}, got {panning!r}")
        for field, value in (("lfe_cutoff_hz", lfe_cutoff_hz), ("crossover_hz", crossover_hz)):
            if not (np.isfinite(value) and 0.0 < value < 0.45 * self.sample_rate):
                raise ParameterError(f"{field} must be between 0 and {0.45 * self.sample_rate:g} Hz, got {value!r}")
        speakers = SPEAKER_LAYOUTS[layout]
        self.name = layout
        self.layout = layout
        self.lfe = bool(lfe)
        self.lfe_cutoff_hz = float(lfe_cutoff_hz)
        self.panning = panning
        self.crossover_hz = float(crossover_hz)
        self.channel_labels = tuple(s.label for s in speakers)
        self.channel_mask = channel_mask(layout)
        self._panned = np.array([i for i, s in enumerate(speakers) if not s.is_lfe])
        self._lfe_index = next((i for i, s in enumerate(speakers) if s.is_lfe), None)
        self._azimuth_deg = np.array([speakers[i].azimuth_deg for i in self._panned])
        lowest = min(self.crossover_hz, self.lfe_cutoff_hz) if self.lfe else self.crossover_hz
        self.filter_tail_taps = math.ceil(CROSSOVER_PERIODS * self.sample_rate / lowest)

    def channel_gains(self, directions: np.ndarray, vector: str = "velocity") -> np.ndarray:
        """Panning gains of every channel (LFE 0) for ``directions`` (K, 3), shape (K, n_channels).

        ``vector`` is the Gerzon vector the gains aim at the source (see :func:`vbap_2d_gains`).
        """
        gains = np.zeros((len(directions), self.n_channels))
        gains[:, self._panned] = vbap_2d_gains(directions, self._azimuth_deg, vector=vector)
        return gains

    def impulse_response(self, arrivals: Arrivals) -> np.ndarray:
        """Loudspeaker feeds, shape (n_channels, n_taps), float64.

        See :meth:`Encoder.impulse_response`.
        """
        if len(arrivals) == 0:
            return np.zeros((self.n_channels, 1))
        from scipy.signal import oaconvolve

        placed = arrival_placer(arrivals, self.sample_rate)
        if self.panning == "dual":
            bands = []
            for vector, kind in (("velocity", "lowpass"), ("energy", "highpass")):
                band = placed(self.channel_gains(arrivals.direction, vector))
                crossover = linkwitz_riley(self.crossover_hz, self.sample_rate, kind)
                bands.append(oaconvolve(band, crossover[None, :], axes=1))
            out = bands[0] + bands[1]
        else:
            out = placed(self.channel_gains(arrivals.direction, self.panning))
        if not self.lfe or self._lfe_index is None:
            return out
        mono = placed(np.ones((len(arrivals), 1)))[0]
        low = oaconvolve(mono, linkwitz_riley(self.lfe_cutoff_hz, self.sample_rate))
        padded = np.zeros((self.n_channels, max(len(low), out.shape[1])))
        padded[:, : out.shape[1]] = out
        padded[self._lfe_index, : len(low)] = low
        return padded

    def diffuse_covariance(self, band_centers_hz: np.ndarray) -> np.ndarray:
        """Decorrelated loudspeaker feeds carrying the panned diffuse power, shape (B, C, C).

        Each main channel's diagonal entry is its share of the diffuse power: the sphere mean
        of its squared panning gain under the gain law in force at the band's centre
        (velocity below ``crossover_hz`` and energy above it for ``"dual"``). Both laws are
        energy-normalised, so the main channels' powers sum to 1. Off-diagonals are 0: a
        diffuse field reproduced over loudspeakers needs decorrelated feeds, since panning
        one shared noise gives adjacent speakers correlated feeds and the image collapses
        between them. For decorrelated noise only the power per speaker matters, which is
        why the crossover's mixing of the two laws (which loses energy near 700 Hz for
        coherent signals) is not modelled.

        The LFE channel, when fed (``lfe=True``), carries the mono sum low-passed by the
        Linkwitz–Riley filter: its power is that filter's band-averaged power response
        ``|H_LP(f)|²`` (the mono sum of a unit diffuse field has power 1), uncorrelated with
        the other feeds. Without ``lfe`` it is 0.

        Parameters
        ----------
        band_centers_hz : np.ndarray, shape (B,)
            Positive, increasing band centre frequencies in Hz.
        """
        centers = check_band_centers(band_centers_hz, self.sample_rate)
        points, weights = spherical_quadrature(DIFFUSE_QUADRATURE_DEGREE)
        power = {vector: weights @ self.channel_gains(points, vector) ** 2 for vector in PANNING_VECTORS}
        diagonal = np.empty((len(centers), self.n_channels))
        for band, centre in enumerate(centers):
            vector = self.panning
            if vector == "dual":
                vector = "velocity" if centre < self.crossover_hz else "energy"
            diagonal[band] = power[vector]
        if self.lfe and self._lfe_index is not None:
            low_pass = linkwitz_riley(self.lfe_cutoff_hz, self.sample_rate)
            n_fft = averaging_grid(centers, self.sample_rate, len(low_pass))
            response = np.abs(np.fft.rfft(low_pass, n_fft)) ** 2
            freqs = np.fft.rfftfreq(n_fft, 1.0 / self.sample_rate)
            diagonal[:, self._lfe_index] = band_average(response, freqs, centers, self.sample_rate)
        return diagonal[:, :, None] * np.eye(self.n_channels)
