"""Two-channel stereo: amplitude panning between ±30° loudspeakers, and simulated microphone pairs.

:class:`StereoPanEncoder` is a constant-power (sine/cosine) pan pot: level differences
only, the classic studio way of placing a mono sound on a stereo stage.
:class:`SpacedPairEncoder` records the arrivals with two real microphones (ORTF or AB),
so the stereo image comes from both the time and level differences between them.
"""

from __future__ import annotations

import numpy as np

from soundstage.acoustics.arrivals import Arrivals
from soundstage.acoustics.delay import sum_delayed
from soundstage.acoustics.encoders import check_sample_rate
from soundstage.acoustics.encoders.band_filter import arrival_filters, response_length
from soundstage.acoustics.encoders.base import Encoder, PanningEncoder
from soundstage.acoustics.encoders.diffuse_field import averaging_grid, band_average, check_band_centers
from soundstage.conventions import SPEED_OF_SOUND, channel_mask, unit_vectors
from soundstage.errors import ParameterError

#: Azimuth of the left loudspeaker (the right one is at minus this), degrees.
SPEAKER_AZIMUTH_DEG = 30.0


def pan_azimuth_deg(directions: np.ndarray) -> np.ndarray:
    """Azimuth on the stereo stage of each direction, in [-30, 30] degrees.

    The direction is projected onto the horizontal plane; rear directions are mirrored to
    the front about the interaural axis (``az → 180° - az``), and anything beyond a
    loudspeaker is placed on it. Straight up or down maps to the centre.

    Parameters
    ----------
    directions : np.ndarray, shape (K, 3)
        Vectors towards the sources (x forward, y left, z up).

    Returns
    -------
    np.ndarray, shape (K,)

    Examples
    --------
    >>> pan_azimuth_deg(np.array([[-1.0, 0.2, 0.0], [0.0, -1.0, 0.0]])).round(6)
    array([ 11.309932, -30.      ])
    """
    directions = np.asarray(directions, dtype=float)
    # |x| folds the rear half onto the front: (x, y) and (-x, y) share a lateral angle.
    azimuth = np.rad2deg(np.arctan2(directions[:, 1], np.abs(directions[:, 0])))
    return np.clip(azimuth, -SPEAKER_AZIMUTH_DEG, SPEAKER_AZIMUTH_DEG)


def constant_power_pan(azimuth_deg: np.ndarray) -> np.ndarray:
    """Sine/cosine pan gains of the left and right loudspeakers, shape (K, 2), with L² + R² = 1.

    Parameters
    ----------
    azimuth_deg : np.ndarray, shape (K,)
        Position on the stage, -30 (right speaker) to +30 (left speaker) degrees.

    Examples
    --------
    >>> constant_power_pan(np.array([30.0, 0.0])).round(6)
    array([[1.      , 0.      ],
           [0.707107, 0.707107]])
    """
    position = (np.asarray(azimuth_deg, dtype=float) + SPEAKER_AZIMUTH_DEG) / (2.0 * SPEAKER_AZIMUTH_DEG)
    angle = 0.5 * np.pi * np.clip(position, 0.0, 1.0)
    return np.stack([np.sin(angle), np.cos(angle)], axis=-1)


class StereoPanEncoder(PanningEncoder):
    """Constant-power amplitude panning onto loudspeakers at ±30° (FL = +30°, FR = -30°).

    Parameters
    ----------
    sample_rate : int
        Output sample rate in Hz.

    Notes
    -----
    Each arrival's azimuth is mapped by :func:`pan_azimuth_deg` (horizontal projection,
    rear mirrored to the front, clamped to the speakers) and panned with
    :func:`constant_power_pan`, so each arrival's energy ``gain²`` is split between FL and FR.
    """

    def __init__(self, sample_rate: int) -> None:
        self.sample_rate = check_sample_rate(sample_rate)
        self.name = "stereo"
        self.channel_labels = ("FL", "FR")
        self.channel_mask = channel_mask("stereo")

    def channel_gains(self, directions: np.ndarray) -> np.ndarray:
        """Pan-pot gains (left, right) for unit ``directions`` (K, 3), shape (K, 2)."""
        return constant_power_pan(pan_azimuth_deg(directions))

    def diffuse_covariance(self, band_centers_hz: np.ndarray) -> np.ndarray:
        """Decorrelated loudspeaker feeds carrying the panned diffuse power, shape (B, 2, 2).

        The diagonal is each loudspeaker's share of the diffuse power, the sphere mean of its
        squared pan gain; the off-diagonal is 0. A diffuse field reproduced over loudspeakers
        needs decorrelated feeds: panning one shared noise would make the two feeds
        correlated, and correlated feeds collapse into a phantom image between the speakers
        instead of surrounding the listener. The pan law is energy-normalised
        (``L² + R² = 1``), so the trace is 1 and the diffuse energy is preserved. The same in
        every band.

        Parameters
        ----------
        band_centers_hz : np.ndarray, shape (B,)
            Positive, increasing band centre frequencies in Hz.
        """
        panned = super().diffuse_covariance(band_centers_hz)
        return np.einsum("bcc->bc", panned)[:, :, None] * np.eye(self.n_channels)


#: Microphone pairs: spacing in metres, axis azimuth in degrees, first-order pattern ``a + (1 - a) cos θ``.
SPACED_PAIRS = {
    "ortf": {"spacing_m": 0.17, "axis_azimuth_deg": 55.0, "omni_part": 0.5},
    "ab": {"spacing_m": 0.40, "axis_azimuth_deg": 0.0, "omni_part": 1.0},
}


class SpacedPairEncoder(Encoder):
    """A stereo microphone pair at the listener position, recording the arrivals as plane waves.

    ``kind="ortf"``: two cardioids 17 cm apart on the interaural (y) axis, aimed at ±55°
    (French broadcasting ORTF). ``kind="ab"``: two omnidirectional microphones 40 cm apart.
    The left microphone sits at ``+spacing / 2`` on y and feeds FL.

    Each microphone receives every arrival with its directivity gain
    ``a + (1 - a) cos θ`` (``θ`` from its axis) and its own delay: a plane wave from unit
    direction ``u`` reaches a microphone at ``p`` earlier than the centre by ``p · u / c``
    (far field: the arrival's distance does not change the level difference).

    Parameters
    ----------
    sample_rate : int
        Output sample rate in Hz.
    kind : {"ortf", "ab"}, default "ortf"
    speed_of_sound : float, default 343
        In m/s.

    Raises
    ------
    ParameterError
        For an unknown kind.
    """

    def __init__(self, sample_rate: int, kind: str = "ortf", *, speed_of_sound: float = SPEED_OF_SOUND) -> None:
        self.sample_rate = check_sample_rate(sample_rate)
        if kind not in SPACED_PAIRS:
            raise ParameterError(f"microphone pair kind must be 'ortf' or 'ab', got {kind!r}")
        if not (np.isfinite(speed_of_sound) and speed_of_sound > 0):
            raise ParameterError(f"speed_of_sound must be positive in m/s, got {speed_of_sound!r}")
        spec = SPACED_PAIRS[kind]
        self.name = kind
        self.kind = kind
        self.speed_of_sound = float(speed_of_sound)
        self.channel_labels = ("FL", "FR")
        self.channel_mask = channel_mask("stereo")
        half = spec["spacing_m"] / 2.0
        #: Microphone positions (left, right) in metres, shape (2, 3).
        self.positions = np.array([[0.0, half, 0.0], [0.0, -half, 0.0]])
        #: Microphone axes (left, right), unit vectors, shape (2, 3).
        self.axes = unit_vectors(np.array([spec["axis_azimuth_deg"], -spec["axis_azimuth_deg"]]), np.zeros(2))
        self.omni_part = spec["omni_part"]

    def directivity(self, directions: np.ndarray) -> np.ndarray:
        """Gain of each microphone for plane waves from ``directions`` (K, 3), shape (K, 2)."""
        directions = np.asarray(directions, dtype=float)
        unit = directions / np.linalg.norm(directions, axis=1, keepdims=True)
        return self.omni_part + (1.0 - self.omni_part) * (unit @ self.axes.T)

    def lead_s(self, directions: np.ndarray) -> np.ndarray:
        """How much earlier than the pair's centre each microphone hears each plane wave, s, shape (K, 2)."""
        directions = np.asarray(directions, dtype=float)
        unit = directions / np.linalg.norm(directions, axis=1, keepdims=True)
        return unit @ self.positions.T / self.speed_of_sound

    def impulse_response(self, arrivals: Arrivals) -> np.ndarray:
        """Microphone signals, shape (2, n_taps), float64, left first.

        See :meth:`Encoder.impulse_response`.
        """
        if len(arrivals) == 0:
            return np.zeros((self.n_channels, 1))
        filters = arrival_filters(arrivals, self.sample_rate)
        delay = filters.delay_samples[:, None] - self.lead_s(arrivals.direction) * self.sample_rate
        weights = self.directivity(arrivals.direction) * filters.gain[:, None]
        n_taps = response_length(delay, filters.kernel_length)
        return sum_delayed(delay, weights, n_taps, filters.kernels)

    def diffuse_covariance(self, band_centers_hz: np.ndarray) -> np.ndarray:
        """Physical diffuse-field covariance of the two microphones, shape (B, 2, 2).

        A plane wave from ``u`` reaches microphone ``c`` with gain ``g_c(u)`` (its directivity)
        and lead ``τ_c(u)`` (see :meth:`lead_s`), so at frequency ``f``
        ``C_cc'(f) = mean over the sphere of g_c g_c' cos(2π f (τ_c - τ_c'))``. For two omnis
        ``d`` apart this is the classic ``sin(kd) / (kd)`` with ``k = 2π f / c``. Each band's
        value is the mean over its band weight on a linear frequency grid
        (:func:`~soundstage.acoustics.encoders.diffuse_field.band_average`).

        The sphere mean uses polar coordinates about the spacing axis: Gauss–Legendre nodes in
        the cosine of the angle to the axis, enough to integrate the oscillating phase term
        exactly up to Nyquist, times 8 azimuths about it (exact for the degree-2 product of
        two first-order directivities).

        Parameters
        ----------
        band_centers_hz : np.ndarray, shape (B,)
            Positive, increasing band centre frequencies in Hz.
        """
        centers = check_band_centers(band_centers_hz, self.sample_rate)
        points, weights = self._spacing_axis_quadrature()
        gains = self.directivity(points)  # (Q, 2)
        lead = self.lead_s(points)
        difference = lead[:, 0] - lead[:, 1]
        n_fft = averaging_grid(centers, self.sample_rate)
        freqs = np.fft.rfftfreq(n_fft, 1.0 / self.sample_rate)
        phase = np.cos(2.0 * np.pi * np.outer(freqs, difference))  # (F, Q)
        cross = phase @ (weights * gains[:, 0] * gains[:, 1])  # (F,)
        power = weights @ gains**2  # (2,): no phase term on the diagonal
        covariance = np.zeros((len(freqs), 2, 2))
        covariance[:, 0, 0], covariance[:, 1, 1] = power
        covariance[:, 0, 1] = covariance[:, 1, 0] = cross
        return band_average(covariance, freqs, centers, self.sample_rate)

    def _spacing_axis_quadrature(self) -> tuple[np.ndarray, np.ndarray]:
        """Sphere quadrature in polar coordinates about the microphones' spacing axis, (Q, 3) and (Q,)."""
        spacing = self.positions[0] - self.positions[1]
        length = float(np.linalg.norm(spacing))
        axis = spacing / length if length > 0 else np.array([0.0, 1.0, 0.0])
        # Two unit vectors completing a right-handed frame with the axis.
        helper = np.array([1.0, 0.0, 0.0]) if abs(axis[0]) < 0.9 else np.array([0.0, 0.0, 1.0])
        first = np.cross(axis, helper)
        first /= np.linalg.norm(first)
        second = np.cross(axis, first)
        # exp(i κ x) with κ = k d at Nyquist is integrated exactly once the node count passes κ / 2.
        kappa = np.pi * self.sample_rate * length / self.speed_of_sound
        n_nodes = int(np.ceil(kappa / 2.0)) + 16
        n_azimuths = 8
        x, x_weights = np.polynomial.legendre.leggauss(n_nodes)
        azimuth = 2.0 * np.pi * np.arange(n_azimuths) / n_azimuths
        ring = np.sqrt(1.0 - x * x)
        points = (
            x[:, None, None] * axis
            + (ring[:, None] * np.cos(azimuth))[:, :, None] * first
            + (ring[:, None] * np.sin(azimuth))[:, :, None] * second
        ).reshape(-1, 3)
        weights = np.repeat(x_weights / 2.0 / n_azimuths, n_azimuths)
        return points, weights
