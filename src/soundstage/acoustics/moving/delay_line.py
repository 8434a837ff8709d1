"""A source's recent signal, read back at delays that change from sample to sample.

A moving source is heard through delays that glide: reading its signal ``τ(n)`` samples in the
past, with ``τ`` changing every sample, resamples it by ``1 − dτ/dn`` — which *is* the Doppler
shift, exact when ``τ`` is the exact propagation delay. Fractional positions are interpolated
with a windowed sinc (the direct sound, whose timbre is heard) or a cubic Lagrange polynomial
(reflections, many of them, 8× cheaper).
"""

from __future__ import annotations

import functools

import numpy as np

from soundstage.acoustics.delay import HALF_WIDTH, fractional_delay_kernels

#: Interpolators by name: taps either side of the read position.
INTERPOLATOR_HALF_WIDTH = {"sinc": HALF_WIDTH, "cubic": 2}
#: Fractional positions tabulated for the windowed sinc.
_PHASES = 2048


class DelayLine:
    """The recent past of one signal, written a block at a time and read at fractional delays.

    Samples are addressed by their absolute index since the start (sample ``i`` of the input is
    index ``i``); indices before the start read as silence.

    Parameters
    ----------
    capacity : int
        Most samples kept; reads further back than that are an error in the caller's bounds.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = int(capacity)
        self.buffer = np.zeros(self.capacity, dtype=np.float64)
        self.written = 0  # absolute index one past the newest sample

    def write(self, block: np.ndarray) -> None:
        """Append ``block`` (n,) to the line, forgetting what falls beyond the capacity."""
        block = np.asarray(block, dtype=np.float64)
        n = len(block)
        if n >= self.capacity:
            self.buffer[:] = block[-self.capacity :]
        else:
            self.buffer[:-n] = self.buffer[n:]
            self.buffer[-n:] = block
        self.written += n

    def read(self, positions: np.ndarray, interpolator: str = "sinc") -> np.ndarray:
        """The signal at fractional absolute ``positions`` (any shape), interpolated.

        Positions later than the newest sample minus the interpolator's half width, or further back
        than the capacity allows, are a programming error in the caller and raise.
        """
        half = INTERPOLATOR_HALF_WIDTH[interpolator]
        positions = np.asarray(positions, dtype=np.float64)
        whole = np.floor(positions).astype(np.int64)
        fraction = positions - whole
        oldest = self.written - self.capacity
        if positions.size and (whole.max() + half >= self.written or whole.min() - half + 1 < oldest):
            raise ValueError(
                f"delay line read at {positions.min():.1f}–{positions.max():.1f} outside what it holds "
                f"({oldest}–{self.written - 1} less {half} taps)"
            )
        base = whole - oldest  # index into the buffer of each read's floor sample
        buffer = self.buffer
        if interpolator == "cubic":
            weights = _lagrange3_weights(fraction)
            return sum(w * buffer[base + offset] for w, offset in zip(weights, (-1, 0, 1, 2), strict=True))
        return _sinc_sum(buffer, base - half + 1, fraction)


def _sinc_sum(samples: np.ndarray, first: np.ndarray, fraction: np.ndarray) -> np.ndarray:
    """Windowed-sinc interpolation: ``samples[first + tap]`` (flat indices of each read's first tap) weighted by the
    fractional-delay kernel of ``fraction`` (same shape as ``first``).

    Interpolating at w + f weights sample w + o by sinc(o − f): the kernel of f is looked up in a table of phases
    (linear between them: 1e-7 from computing it afresh). One tap at a time keeps every array the size of the block.
    """
    columns, slopes = _sinc_columns()
    phase = fraction * _PHASES
    below = np.minimum(phase.astype(np.int64), _PHASES - 1)
    step = phase - below
    out = np.zeros(first.shape)
    for tap in range(2 * INTERPOLATOR_HALF_WIDTH["sinc"]):
        out += (columns[tap][below] + step * slopes[tap][below]) * samples[first + tap]
    return out


@functools.cache
def _sinc_columns() -> tuple[np.ndarray, np.ndarray]:
    """The windowed-sinc kernels at fractions 0, 1/_PHASES, …, 1 by tap (2 * HALF_WIDTH, _PHASES + 1), and steps."""
    table = fractional_delay_kernels(np.arange(_PHASES + 1) / _PHASES)
    return np.ascontiguousarray(table.T), np.ascontiguousarray(np.diff(table, axis=0).T)


def _lagrange3_weights(fraction: np.ndarray) -> tuple[np.ndarray, ...]:
    """Cubic Lagrange weights of the samples at offsets −1, 0, 1, 2 from ``floor(position)``.

    Examples
    --------
    >>> [float(w) for w in _lagrange3_weights(np.array(0.5))]
    [-0.0625, 0.5625, 0.5625, -0.0625]
    """
    d = np.asarray(fraction, dtype=np.float64)
    plus, minus, minus2 = d + 1.0, d - 1.0, d - 2.0
    return -d * minus * minus2 / 6.0, plus * minus * minus2 / 2.0, -plus * d * minus2 / 2.0, plus * d * minus / 6.0


class DelayLines:
    """The recent past of many signals (one row each), written a block at a time, read in whole blocks.

    Each row is a ring buffer whose first ``spill`` samples are also kept after its end, so that any run of
    up to ``spill`` consecutive samples is one contiguous slice: a block read at a held delay is a copy, and
    the taps of an interpolated read never wrap.

    Parameters
    ----------
    rows : int
        Signals.
    capacity : int
        Most samples kept per signal.
    spill : int
        Longest run read at once (a block, or an interpolator's taps).
    """

    def __init__(self, rows: int, capacity: int, spill: int) -> None:
        self.capacity = int(capacity)
        self.spill = min(int(spill), self.capacity)
        # Filled, not just allocated: the pages are touched now rather than by the first blocks of a stream.
        self.buffer = np.full((rows, self.capacity + self.spill), 0.0, dtype=np.float32)
        self.written = 0  # absolute index one past the newest sample

    def write(self, block: np.ndarray) -> None:
        """Append ``block`` (rows, n) with n ≤ capacity."""
        n, cap, spill = block.shape[1], self.capacity, self.spill
        start = self.written % cap
        first = min(n, cap - start)
        self.buffer[:, start : start + first] = block[:, :first]
        self.buffer[:, : n - first] = block[:, first:]
        if start < spill:  # the head of the ring was written: so is its copy after the end
            k = min(first, spill - start)
            self.buffer[:, cap + start : cap + start + k] = block[:, :k]
        if first < n:
            k = min(n - first, spill)
            self.buffer[:, cap : cap + k] = block[:, first : first + k]
        self.written += n

    def _check(self, lowest: int, highest: int) -> None:
        if highest >= self.written or lowest < self.written - self.capacity:
            raise ValueError(
                f"delay lines read at {lowest}–{highest} outside what they hold "
                f"({self.written - self.capacity}–{self.written - 1})"
            )

    def read_blocks(self, rows: np.ndarray, starts: np.ndarray, length: int) -> np.ndarray:
        """Samples ``starts[k]``… ``starts[k] + length`` (absolute indices) of each row ``rows[k]``, shape (K, length).

        ``length`` must not exceed ``spill``.
        """
        if not len(rows):
            return np.zeros((0, length), dtype=np.float32)
        self._check(int(starts.min()), int(starts.max()) + length - 1)
        windows = np.lib.stride_tricks.sliding_window_view(self.buffer, length, axis=1)
        return windows[rows, starts % self.capacity]

    def read(self, rows: np.ndarray, positions: np.ndarray) -> np.ndarray:
        """Row ``rows[k]`` at fractional absolute ``positions[k]`` (K, n), windowed-sinc interpolated."""
        half = INTERPOLATOR_HALF_WIDTH["sinc"]
        whole = np.floor(positions).astype(np.int64)
        if not len(rows):
            return np.zeros(positions.shape, dtype=np.float32)
        self._check(int(whole.min()) - half + 1, int(whole.max()) + half)
        # Index of each read's first tap in the flattened buffer (its copy further on keeps every tap in the row).
        first = (rows * self.buffer.shape[1])[:, None] + (whole - half + 1) % self.capacity
        return _sinc_sum(self.buffer.ravel(), first, positions - whole)
