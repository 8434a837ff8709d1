"""FFT convolution of source signals with per-channel impulse responses, summed into one mix, in float32."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from soundstage import fft

#: Channels transformed back together; bounds the memory of the inverse transforms for many-channel formats.
CHANNEL_CHUNK = 8
#: Samples per channel transformed back together (whole blocks, at least one): bounds the memory of the
#: inverse transforms beside the mix, however long it is (:func:`inverse_chunk_bytes`).
INVERSE_CHUNK_SAMPLES = 1 << 19


def blocks_per_chunk(n_fft: int) -> int:
    """Blocks of ``n_fft`` samples transformed back together: as many as fit :data:`INVERSE_CHUNK_SAMPLES`, one
    at least."""
    return max(1, INVERSE_CHUNK_SAMPLES // n_fft)


def inverse_chunk_bytes(n_channels: int, n_fft: int) -> float:
    """Peak bytes of one chunk of inverse transforms: its float32 output and the complex64 copy of its input
    the transform makes, ``CHANNEL_CHUNK`` channels of :func:`blocks_per_chunk` blocks at most (32 MiB)."""
    return 8.0 * min(n_channels, CHANNEL_CHUNK) * blocks_per_chunk(n_fft) * n_fft


def transform_length(longest_signal: int, longest_response: int) -> int:
    """The FFT length of a mix's blocks: at least twice the longest response, so that each block's tail
    (``longest_response - 1`` samples) reaches only into the next block; 8 × the response keeps the FFTs efficient
    without huge blocks for short responses (or the whole convolution, when shorter).

    >>> transform_length(10_000, 100), transform_length(100, 100)  # 8 × and 2 × the response
    (800, 200)
    """
    taps = max(int(longest_response), 1)
    return fft.next_fast_len(max(2 * taps, min(8 * taps, int(longest_signal) + taps - 1), 64))


class SpectralMix:
    """Sources convolved with their responses and summed in the frequency domain, on one block grid.

    Overlap-add FFT convolution (:mod:`soundstage.fft`): the output's timeline is cut into blocks at least as
    long as the longest response; each source's signal, placed at its start, is transformed block by block
    once, multiplied by each channel's response spectrum and added to the mix's block spectra. The mix then
    takes one inverse transform per channel and block, whatever the number of sources (a source's own
    inverse transforms were most of a many-source render's FFTs), and each block's output overlaps only the
    next. Work grows as ``n log m`` and memory with the mix (its block spectra are about 1.15 times its
    float32 samples), not with the number of sources.

    Use: :meth:`source_spectra` for each source (safe on several threads at once: it writes nothing shared),
    :meth:`add` for each result in source order (the sums, and so the samples, do not depend on the
    threads), then :meth:`mix` (or :meth:`inverse_steps`, a step per chunk, for a progress bar). Blocks no
    source reaches (a sparse timeline of short sounds) are not transformed back.

    Parameters
    ----------
    n_channels : int
        Output channels (every response has this many).
    starts : sequence of int
        Each source's first output sample.
    signal_lengths : sequence of int
        Each source's length in samples.
    response_taps : sequence of int
        Each source's response length in taps (at least 1).
    """

    def __init__(
        self, n_channels: int, starts: Sequence[int], signal_lengths: Sequence[int], response_taps: Sequence[int]
    ) -> None:
        taps = max(response_taps)
        self.n_channels = int(n_channels)
        self.length = max(
            (start + n + m - 1 for start, n, m in zip(starts, signal_lengths, response_taps, strict=True)), default=0
        )
        self.n_fft = transform_length(max(signal_lengths, default=0), taps)
        self.block = self.n_fft - taps + 1
        inputs_end = max((start + n for start, n in zip(starts, signal_lengths, strict=True)), default=0)
        self.n_blocks = -(-inputs_end // self.block)
        self._spectra = np.zeros((self.n_channels, self.n_blocks, self.n_fft // 2 + 1), dtype=np.complex64)
        self._reached = np.zeros(self.n_blocks, dtype=bool)
        self._blocks_per_chunk = blocks_per_chunk(self.n_fft)
        self._out: np.ndarray | None = None

    @property
    def n_steps(self) -> int:
        """Steps of :meth:`inverse_steps`: chunks of channels × chunks of blocks."""
        return -(-self.n_channels // CHANNEL_CHUNK) * -(-self.n_blocks // self._blocks_per_chunk)

    def source_spectra(
        self, start: int, signal: np.ndarray, response: np.ndarray
    ) -> tuple[int, np.ndarray, np.ndarray]:
        """A source's first block, its blocks' spectra (B, F) and its response's spectra (n_channels, F)."""
        x = np.asarray(signal, dtype=np.float32)
        h = np.atleast_2d(np.asarray(response, dtype=np.float32))
        if h.shape[0] != self.n_channels or h.shape[1] > self.n_fft - self.block + 1:
            raise ValueError(f"a response of shape {h.shape} does not fit this mix's channels and block grid")
        first = start // self.block
        last = -(-(start + len(x)) // self.block)
        blocks = np.zeros((max(last - first, 0), self.block), dtype=np.float32)
        offset = start - first * self.block
        blocks.reshape(-1)[offset : offset + len(x)] = x
        return first, fft.rfft(blocks, self.n_fft, axis=-1), fft.rfft(h, self.n_fft, axis=-1)

    def add(self, first: int, signal_spectra: np.ndarray, response_spectra: np.ndarray) -> None:
        """Add one source, from :meth:`source_spectra`, to the mix."""
        where = self._spectra[:, first : first + len(signal_spectra)]
        for channel in range(self.n_channels):
            where[channel] += signal_spectra * response_spectra[channel]
        self._reached[first : first + len(signal_spectra)] = True

    def mix(self) -> np.ndarray:
        """The mix, shape (n_channels, length), float32: every source's full convolution, placed and summed."""
        if self._out is None:
            for _ in self.inverse_steps():
                pass
        return self._out

    def inverse_steps(self) -> Iterator[None]:
        """Transform the mix back, one chunk of channels and blocks a step; :meth:`mix` then returns it."""
        out = np.zeros((self.n_channels, self.length), dtype=np.float32)
        block, spill, chunk = self.block, self.n_fft - self.block, self._blocks_per_chunk
        for lo in range(0, self.n_channels, CHANNEL_CHUNK):
            channels = slice(lo, lo + CHANNEL_CHUNK)
            for first in range(0, self.n_blocks, chunk):
                if not self._reached[first : first + chunk].any():
                    yield
                    continue
                y = fft.irfft(self._spectra[channels, first : first + chunk], self.n_fft, axis=-1)
                for k in range(y.shape[1]):  # each block's head, then its tail spilling into the next
                    start = (first + k) * block
                    stop = min(start + block + spill, self.length)
                    if stop > start:
                        out[channels, start:stop] += y[:, k, : stop - start]
                yield
        self._out = out
        self._spectra = None  # the mix is all that is needed now


def convolve_channels(signal: np.ndarray, impulse_responses: np.ndarray) -> np.ndarray:
    """Convolve one mono signal with one impulse response per output channel.

    Overlap-add FFT convolution (a :class:`SpectralMix` of one source).

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
    x = np.asarray(signal, dtype=np.float32)
    h = np.atleast_2d(np.asarray(impulse_responses, dtype=np.float32))
    if h.shape[1] == 0:
        return np.zeros((h.shape[0], max(len(x) - 1, 0)), dtype=np.float32)
    mix = SpectralMix(h.shape[0], [0], [len(x)], [h.shape[1]])
    mix.add(*mix.source_spectra(0, x, h))
    return mix.mix()
