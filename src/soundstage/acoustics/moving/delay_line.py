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
        taps = np.arange(-half + 1, half + 1)
        index = whole[..., None] + taps - oldest
        samples = self.buffer[index]
        if interpolator == "sinc":
            # Interpolating at w + f weights sample w + o by sinc(o − f): the fractional-delay kernel of f,
            # looked up in a table of phases (linear between them: 1e-7 from computing it afresh).
            table = _sinc_table()
            phase = fraction * _PHASES
            below = np.minimum(phase.astype(np.int64), _PHASES - 1)
            step = (phase - below)[..., None]
            weights = table[below] * (1.0 - step) + table[below + 1] * step
        else:
            weights = _lagrange3(fraction)
        return np.einsum("...t,...t->...", samples, weights)


@functools.cache
def _sinc_table() -> np.ndarray:
    """The windowed-sinc kernels at fractions 0, 1/_PHASES, …, 1, shape (_PHASES + 1, 2 * HALF_WIDTH)."""
    return fractional_delay_kernels(np.arange(_PHASES + 1) / _PHASES)


def _lagrange3(fraction: np.ndarray) -> np.ndarray:
    """Cubic Lagrange weights for the samples at offsets −1, 0, 1, 2 around ``floor(position)``."""
    d = fraction[..., None]
    offsets = np.array([-1.0, 0.0, 1.0, 2.0])
    weights = np.ones((*fraction.shape, 4))
    for j, node in enumerate(offsets):
        for m, other in enumerate(offsets):
            if m != j:
                weights[..., j] *= (d[..., 0] - other) / (node - other)
    return weights
