"""FFT convolution of a source signal with per-channel impulse responses, in float32."""

from __future__ import annotations

import numpy as np

#: Channels convolved together; bounds the memory of the block spectra for many-channel formats.
_CHANNEL_CHUNK = 8


def convolve_channels(signal: np.ndarray, impulse_responses: np.ndarray) -> np.ndarray:
    """Convolve one mono signal with one impulse response per output channel.

    Overlap-add FFT convolution (:mod:`soundstage.fft`): the signal is cut into blocks of at least
    the response's length, each block's spectrum is computed once and multiplied by every
    channel's response spectrum, and each block's output overlaps only the next one. Work
    grows as ``n log m`` and memory with the block size, not with the signal.

    Parameters
    ----------
    signal : np.ndarray, shape (n_samples,)
        Mono source signal.
    impulse_responses : np.ndarray, shape (n_channels, n_taps)
        One response per output channel.

    Returns
    -------
    np.ndarray, shape (n_channels, n_samples + n_taps - 1), float32
        The full convolution.

    Examples
    --------
    >>> convolve_channels(np.array([1.0, 2.0]), np.array([[1.0, 1.0], [0.0, 1.0]])).round(6) + 0.0
    array([[1., 3., 2.],
           [0., 1., 2.]], dtype=float32)
    """
    from soundstage import fft

    x = np.asarray(signal, dtype=np.float32)
    h = np.atleast_2d(np.asarray(impulse_responses, dtype=np.float32))
    n, m = len(x), h.shape[1]
    out = np.zeros((h.shape[0], n + m - 1), dtype=np.float32)
    if n == 0 or m == 0:
        return out
    # Blocks at least as long as the response, so each block's tail (m - 1 samples) reaches only
    # into the next block; 8 m keeps the FFTs efficient without huge blocks for short responses.
    n_fft = fft.next_fast_len(max(2 * m, min(8 * m, n + m - 1), 64))
    block = n_fft - m + 1
    n_blocks = -(-n // block)
    blocks = np.zeros((n_blocks, block), dtype=np.float32)
    blocks.reshape(-1)[:n] = x
    spectra = fft.rfft(blocks, n_fft, axis=-1)  # (n_blocks, F)
    for lo in range(0, h.shape[0], _CHANNEL_CHUNK):
        responses = fft.rfft(h[lo : lo + _CHANNEL_CHUNK], n_fft, axis=-1)  # (c, F)
        y = fft.irfft(spectra[None, :, :] * responses[:, None, :], n_fft, axis=-1)
        length = n_blocks * block
        heads = y[:, :, :block].reshape(len(responses), -1)[:, : min(length, out.shape[1])]
        out[lo : lo + len(responses), : heads.shape[1]] += heads
        tails = y[:, :, block:]  # (c, n_blocks, m - 1): spills into the next block
        for k in range(n_blocks):
            start = (k + 1) * block
            stop = min(start + tails.shape[2], out.shape[1])
            if stop > start:
                out[lo : lo + len(responses), start:stop] += tails[:, k, : stop - start]
    return out
