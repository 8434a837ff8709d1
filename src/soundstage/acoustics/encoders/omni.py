"""One omnidirectional pressure microphone at the centre of the (absent) head."""

from __future__ import annotations

import numpy as np

from soundstage.acoustics.encoders import check_sample_rate
from soundstage.acoustics.encoders.base import PanningEncoder
from soundstage.acoustics.encoders.diffuse_field import check_band_centers


class OmniEncoder(PanningEncoder):
    """A pressure microphone at the head centre: every arrival with its delay and gain, direction ignored.

    Parameters
    ----------
    sample_rate : int
        Output sample rate in Hz.

    Examples
    --------
    >>> from soundstage.acoustics.arrivals import Arrivals
    >>> a = Arrivals(np.array([0.001]), np.array([0.5]), np.array([[0.0, 1.0, 0.0]]), np.array([0.343]))
    >>> ir = OmniEncoder(48000).impulse_response(a)
    >>> ir.shape[0], int(np.argmax(ir[0])), float(ir[0, 48].round(12))
    (1, 48, 0.5)
    """

    def __init__(self, sample_rate: int) -> None:
        self.sample_rate = check_sample_rate(sample_rate)
        self.name = "omni"
        self.channel_labels = ("M",)
        self.channel_mask = 0

    def channel_gains(self, directions: np.ndarray) -> np.ndarray:
        """An omnidirectional microphone weights every direction alike: ones, shape (K, 1)."""
        return np.ones((len(directions), 1))

    def diffuse_covariance(self, band_centers_hz: np.ndarray) -> np.ndarray:
        """An omni channel receives the diffuse field's unit power in every band: ones, shape (B, 1, 1).

        See :meth:`Encoder.diffuse_covariance <soundstage.acoustics.encoders.base.Encoder.diffuse_covariance>`.

        Examples
        --------
        >>> OmniEncoder(48000).diffuse_covariance(np.array([500.0, 1000.0])).ravel()
        array([1., 1.])
        """
        centers = check_band_centers(band_centers_hz, self.sample_rate)
        return np.ones((len(centers), 1, 1))
