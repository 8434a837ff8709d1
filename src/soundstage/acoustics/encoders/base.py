"""The encoder interface: arrivals in, one impulse response per output channel out."""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from soundstage.acoustics.arrivals import Arrivals


class Encoder(ABC):
    """Turns the arrivals of one source into impulse responses for every output channel.

    Subclasses set ``name``, ``channel_labels`` and ``channel_mask`` and implement
    :meth:`impulse_response`. The renderer convolves each source's signal with the
    responses and sums over sources, so an encoder never sees audio.

    Attributes
    ----------
    name : str
        Format name as given on the command line (``"binaural"``, ``"5.1"``, ``"hoa3"``...).
    sample_rate : int
        Output sample rate in Hz.
    channel_labels : tuple of str
        One label per output channel, in file order.
    channel_mask : int
        WAVE_FORMAT_EXTENSIBLE dwChannelMask for the file, 0 when the channels are not
        loudspeaker feeds (binaural, ambisonics, omni).
    """

    name: str
    sample_rate: int
    channel_labels: tuple[str, ...]
    channel_mask: int = 0

    @property
    def n_channels(self) -> int:
        """Number of output channels."""
        return len(self.channel_labels)

    @abstractmethod
    def impulse_response(self, arrivals: Arrivals) -> np.ndarray:
        """Impulse responses from the source to every channel.

        Parameters
        ----------
        arrivals : Arrivals
            The arrivals of one source in the head frame.

        Returns
        -------
        np.ndarray, shape (n_channels, n_taps)
            Responses at ``sample_rate``; tap 0 is the moment the source emits, so
            propagation delays are included.
        """
