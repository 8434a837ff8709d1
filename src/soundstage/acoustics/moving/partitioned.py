"""Block-by-block convolution with a long fixed response (uniformly partitioned, overlap-save).

A room's late tail lasts seconds but does not follow a moving source, so it is one fixed response
per source. Convolving it one block at a time — as the block engine and a real-time stream must —
cuts the response into block-long partitions whose spectra are kept, and multiplies them with the
spectra of the last inputs (a frequency-domain delay line): the cost per block grows with the
response's length divided by the block, and the output is exactly the full convolution.
"""

from __future__ import annotations

import numpy as np
import scipy.fft as sp_fft


class PartitionedConvolver:
    """Convolve a mono input, block by block, with one response per output channel.

    A :class:`MatrixConvolver` with one input.

    Parameters
    ----------
    response : np.ndarray, shape (C, N)
        The impulse responses.
    block : int
        Samples per call of :meth:`process`.

    Examples
    --------
    >>> conv = PartitionedConvolver(np.array([[1.0, 0.5, 0.25]]), block=2)
    >>> np.round(np.concatenate([conv.process(np.array([1.0, 0.0]))[0], conv.process(np.zeros(2))[0]]), 6)
    array([1.  , 0.5 , 0.25, 0.  ])
    """

    def __init__(self, response: np.ndarray, block: int) -> None:
        response = np.atleast_2d(np.asarray(response, dtype=np.float64))
        self.n_channels = response.shape[0]
        self._matrix = MatrixConvolver(response[:, None, :], block)

    def process(self, x: np.ndarray) -> np.ndarray:
        """The next ``block`` output samples (C, block) for the next ``block`` input samples."""
        return self._matrix.process(np.asarray(x, dtype=np.float64)[None, :])


class MatrixConvolver:
    """Convolve several inputs, block by block, with one filter per (output, input), summed per output.

    Uniformly partitioned overlap-save with a matrix of responses: an ambisonic stream decoded to two ears is
    2 × (N + 1)² filters, a source's tail one filter per output channel.

    Parameters
    ----------
    filters : np.ndarray, shape (O, I, N)
        ``out[o] = Σ_i filters[o, i] * in[i]`` (convolution).
    block : int
        Samples per call of :meth:`process`.

    Examples
    --------
    >>> filters = np.zeros((1, 2, 3)); filters[0, 0, 0] = 1.0; filters[0, 1, 2] = 2.0   # in0 + 2 × in1 two late
    >>> conv = MatrixConvolver(filters, block=2)
    >>> x = np.array([[1.0, 0.0], [1.0, 0.0]])
    >>> np.round(np.concatenate([conv.process(x)[0], conv.process(np.zeros((2, 2)))[0]]), 6)
    array([1., 0., 2., 0.])
    """

    def __init__(self, filters: np.ndarray, block: int) -> None:
        filters = np.asarray(filters, dtype=np.float64)
        self.block = int(block)
        n_out, n_in, taps = filters.shape
        n_parts = max(1, -(-taps // self.block))
        padded = np.zeros((n_out, n_in, n_parts * self.block))
        padded[..., :taps] = filters
        self.n_fft = 2 * self.block
        parts = padded.reshape(n_out, n_in, n_parts, self.block)
        self.spectra = sp_fft.rfft(parts, self.n_fft, axis=-1)  # (O, I, P, F)
        self.history = np.zeros((n_parts, n_in, self.n_fft // 2 + 1), dtype=complex)  # newest first
        self.previous = np.zeros((n_in, self.block))

    def process(self, x: np.ndarray) -> np.ndarray:
        """The next ``block`` output samples (O, block) for the next ``block`` samples of each input (I, block)."""
        x = np.asarray(x, dtype=np.float64)
        window = np.concatenate([self.previous, x], axis=1)
        self.previous = x
        self.history = np.roll(self.history, 1, axis=0)
        self.history[0] = sp_fft.rfft(window, axis=-1)
        total = np.einsum("oipf,pif->of", self.spectra, self.history)
        return sp_fft.irfft(total, self.n_fft, axis=-1)[:, self.block :]
