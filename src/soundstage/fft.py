"""Real FFTs for the still renderer, without importing SciPy for the small ones.

A short render's transforms are numpy's (the same pocketfft SciPy uses): importing ``scipy.fft`` costs a
quarter to half a second (its array-API layer brings much of numpy and SciPy along), more than a short render
takes. Batches of at least :data:`SCIPY_POINTS` points go through ``scipy.fft``, with
:func:`soundstage.threads.fft_workers` threads: numpy's forward transform of float32 is three to five times
slower than SciPy's (10 against 3 ms per million points), which pays for the import only past some 30 million
points. The choice depends on the batch alone, never on what the process has imported, so that a render gives
the same samples in any process. (The moving-sources engines, whose
processes import SciPy anyway, use ``scipy.fft`` directly.)
"""

from __future__ import annotations

import functools

import numpy as np

#: Batches of at least this many points (transform length × transforms) use SciPy's threaded FFT.
SCIPY_POINTS = 1 << 23


@functools.lru_cache(maxsize=1024)
def next_fast_len(n: int) -> int:
    """The smallest length ≥ ``n`` whose only prime factors are 2, 3 and 5 (fast for pocketfft).

    Examples
    --------
    >>> next_fast_len(1000), next_fast_len(1001), next_fast_len(1)
    (1000, 1024, 1)
    """
    n = int(n)
    if n <= 1:
        return 1
    best = 1 << (n - 1).bit_length()  # a power of two always qualifies
    five = 1
    while five < best:
        three = five
        while three < best:
            # The smallest power of two taking three (a multiple of 3 and 5 powers) to n or more.
            candidate = three << max(0, (-(-n // three) - 1).bit_length())
            best = min(best, candidate)
            three *= 3
        five *= 5
    return best


def _threaded(x: np.ndarray, n: int | None, axis: int) -> int:
    """Threads for SciPy's transform of ``x``, or 0 for numpy's."""
    from soundstage.threads import fft_workers

    points = (x.size // max(x.shape[axis], 1)) * (n if n is not None else x.shape[axis])
    return fft_workers() if points >= SCIPY_POINTS else 0


def rfft(x: np.ndarray, n: int | None = None, axis: int = -1) -> np.ndarray:
    """``numpy.fft.rfft`` (float32 in, complex64 out); SciPy's, threaded, for large batches."""
    return _transform("rfft", x, n, axis)


def irfft(x: np.ndarray, n: int | None = None, axis: int = -1) -> np.ndarray:
    """``numpy.fft.irfft`` (complex64 in, float32 out); SciPy's, threaded, for large batches."""
    return _transform("irfft", x, n, axis)


def _transform(name: str, x: np.ndarray, n: int | None, axis: int) -> np.ndarray:
    x = np.asarray(x)
    workers = _threaded(x, n, axis)
    if workers:
        import scipy.fft

        return getattr(scipy.fft, name)(x, n, axis=axis, workers=workers)
    return getattr(np.fft, name)(x, n, axis=axis)
