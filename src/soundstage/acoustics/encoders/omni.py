"""One omnidirectional pressure microphone at the centre of the (absent) head."""

from __future__ import annotations

import numpy as np

from soundstage.acoustics.arrivals import Arrivals
from soundstage.acoustics.delay import sum_delayed
from soundstage.acoustics.encoders import check_sample_rate
from soundstage.acoustics.encoders.band_filter import arrival_filters, response_length
from soundstage.acoustics.encoders.base import Encoder


class OmniEncoder(Encoder):
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

    def impulse_response(self, arrivals: Arrivals) -> np.ndarray:
        """Impulse response of the microphone, shape (1, n_taps), float64.

        See :meth:`Encoder.impulse_response`.
        """
        if len(arrivals) == 0:
            return np.zeros((self.n_channels, 1))
        filters = arrival_filters(arrivals, self.sample_rate)
        n_taps = response_length(filters.delay_samples, filters.kernel_length)
        return sum_delayed(filters.delay_samples, filters.gain[:, None], n_taps, filters.kernels)
