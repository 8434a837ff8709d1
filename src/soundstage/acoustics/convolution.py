"""FFT convolution of a source signal with per-channel impulse responses, in float32."""

from __future__ import annotations

import numpy as np


def convolve_channels(signal: np.ndarray, impulse_responses: np.ndarray) -> np.ndarray:
    """Convolve one mono signal with one impulse response per output channel.

    Uses overlap-add FFT convolution (``scipy.signal.oaconvolve``), which picks its block
    size from the lengths so that long signals with long responses stay fast and small.

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
    >>> convolve_channels(np.array([1.0, 2.0]), np.array([[1.0, 1.0], [0.0, 1.0]])).round(6)
    array([[1., 3., 2.],
           [0., 1., 2.]], dtype=float32)
    """
    from scipy.signal import oaconvolve

    signal32 = np.asarray(signal, dtype=np.float32)[None, :]
    responses32 = np.asarray(impulse_responses, dtype=np.float32)
    return oaconvolve(signal32, responses32, axes=1).astype(np.float32, copy=False)
