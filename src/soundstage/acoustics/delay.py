"""Fractional delays: placing scaled, delayed copies of a kernel into an impulse response.

Propagation delays are rarely whole samples, and rounding them would quantise ITDs and
image-source timing to 1/fs (21 µs at 48 kHz). Each arrival is therefore placed with a
Kaiser-windowed sinc interpolator centred on its exact delay.
"""

from __future__ import annotations

import numpy as np

#: Half length of the fractional-delay interpolator in samples (the kernel has 2 × this taps).
HALF_WIDTH = 16
_KAISER_BETA = 8.0


def fractional_delay_kernels(fraction: np.ndarray) -> np.ndarray:
    """Windowed-sinc interpolation kernels for delays of ``fraction`` samples past a grid point.

    Parameters
    ----------
    fraction : np.ndarray, shape (K,)
        Fractional parts of the delays in samples, in [0, 1).

    Returns
    -------
    np.ndarray, shape (K, 2 * HALF_WIDTH)
        Kernel ``k`` has its peak at tap ``HALF_WIDTH - 1 + fraction[k]``: adding it to a
        buffer starting at ``floor(delay) - HALF_WIDTH + 1`` delays by exactly ``delay``.
    """
    fraction = np.asarray(fraction, dtype=float)
    taps = np.arange(2 * HALF_WIDTH) - (HALF_WIDTH - 1)
    offset = taps[None, :] - fraction[:, None]
    window = np.kaiser(2 * HALF_WIDTH + 1, _KAISER_BETA)
    # Sample the continuous window at the offset positions so it stays centred on the delay.
    window_at = np.interp(offset, np.arange(-HALF_WIDTH, HALF_WIDTH + 1), window, left=0.0, right=0.0)
    return np.sinc(offset) * window_at


def sum_delayed(
    delay_samples: np.ndarray,
    weights: np.ndarray,
    n_taps: int,
    kernels: np.ndarray | None = None,
) -> np.ndarray:
    """Sum weighted, fractionally delayed copies of per-arrival kernels into channels.

    Parameters
    ----------
    delay_samples : np.ndarray, shape (K,) or (K, C)
        Delay of each arrival in samples, the same for all channels (K,) or per channel.
    weights : np.ndarray, shape (K, C)
        Linear gain of each arrival in each output channel.
    n_taps : int
        Length of the impulse response to return, in samples. Arrivals whose kernels run
        past it are truncated.
    kernels : np.ndarray or None, shape (K, L) or (K, C, L)
        Filter of each arrival (per channel with shape (K, C, L)), e.g. an HRIR or a band
        filter, starting at its delay. None places a plain impulse.

    Returns
    -------
    np.ndarray, shape (C, n_taps)
        The summed impulse responses, float64.
    """
    weights = np.asarray(weights, dtype=float)
    n_arrivals, n_channels = weights.shape
    delays = np.asarray(delay_samples, dtype=float)
    shared_kernel = kernels is None or kernels.ndim == 2
    if delays.ndim == 1 and shared_kernel:
        # Every channel hears the same delayed piece, only weighted differently: build each piece once.
        whole = np.floor(delays).astype(np.int64)
        pieces = fractional_delay_kernels(delays - whole)
        if kernels is not None:
            pieces = np.stack([np.convolve(piece, kernel) for piece, kernel in zip(pieces, kernels, strict=True)])
        return place_kernels(whole - HALF_WIDTH + 1, pieces[:, None, :] * weights[:, :, None], n_taps)
    if delays.ndim == 1:
        delays = np.repeat(delays[:, None], n_channels, axis=1)
    out = np.zeros((n_channels, n_taps))
    whole = np.floor(delays).astype(np.int64)
    interpolators = fractional_delay_kernels((delays - whole).ravel()).reshape(n_arrivals, n_channels, -1)
    for k in range(n_arrivals):
        for c in range(n_channels):
            if weights[k, c] == 0.0:
                continue
            piece = interpolators[k, c] * weights[k, c]
            if kernels is not None:
                kernel = kernels[k, c] if kernels.ndim == 3 else kernels[k]
                piece = np.convolve(piece, kernel)
            start = whole[k, c] - HALF_WIDTH + 1
            _add_clipped(out[c], piece, start)
    return out


def place_kernels(start_samples: np.ndarray, kernels: np.ndarray, n_taps: int) -> np.ndarray:
    """Sum multichannel kernels placed at whole-sample offsets into a response.

    Parameters
    ----------
    start_samples : np.ndarray of int, shape (K,)
        Tap at which each kernel starts (may be negative; what falls outside is dropped).
    kernels : np.ndarray, shape (K, C, L)
        The kernels, one per arrival and channel.
    n_taps : int
        Length of the response.

    Returns
    -------
    np.ndarray, shape (C, n_taps)

    Examples
    --------
    >>> place_kernels(np.array([1, -1]), np.ones((2, 1, 2)), 4)
    array([[1., 1., 1., 0.]])
    """
    kernels = np.asarray(kernels, dtype=float)
    out = np.zeros((kernels.shape[1], n_taps))
    length = kernels.shape[2]
    for start, kernel in zip(np.asarray(start_samples, dtype=np.int64).tolist(), kernels, strict=True):
        lo, hi = max(start, 0), min(start + length, n_taps)
        if hi > lo:
            out[:, lo:hi] += kernel[:, lo - start : hi - start]
    return out


def _add_clipped(buffer: np.ndarray, piece: np.ndarray, start: int) -> None:
    """Add ``piece`` into ``buffer`` at ``start``, dropping what falls outside it."""
    lo = max(start, 0)
    hi = min(start + len(piece), len(buffer))
    if hi > lo:
        buffer[lo:hi] += piece[lo - start : hi - start]
