"""Overlap-add convolution against numpy's direct convolution."""

from __future__ import annotations

import numpy as np
import pytest

from soundstage.acoustics import convolution
from soundstage.acoustics.convolution import SpectralMix, convolve_channels


@pytest.mark.parametrize(
    ("n_samples", "n_taps", "n_channels"),
    [(1, 1, 1), (5, 300, 2), (300, 5, 2), (10_000, 1_000, 3), (4_097, 4_096, 1), (20_000, 37, 17)],
)
def test_overlap_add_equals_direct_convolution(n_samples: int, n_taps: int, n_channels: int) -> None:
    rng = np.random.default_rng(n_samples + n_taps)
    signal = rng.standard_normal(n_samples)
    responses = rng.standard_normal((n_channels, n_taps))
    out = convolve_channels(signal, responses)
    assert out.dtype == np.float32 and out.shape == (n_channels, n_samples + n_taps - 1)
    for channel in range(n_channels):
        expected = np.convolve(signal, responses[channel])
        np.testing.assert_allclose(out[channel], expected, atol=2e-5 * np.sqrt(n_taps) * np.abs(expected).max())


@pytest.mark.parametrize(("taps", "n_channels"), [((8, 3, 1, 5), 10), ((300, 2_000, 50, 7), 2)])
def test_a_spectral_mix_equals_the_direct_convolutions_placed_and_summed(taps, n_channels, monkeypatch) -> None:
    """Sources of different lengths, starts and response lengths on one block grid (many blocks, chunks of them
    and of channels, a silent stretch no source reaches, an empty sound), against numpy's direct convolution of
    each, added at its start."""
    monkeypatch.setattr(convolution, "INVERSE_CHUNK_SAMPLES", 256)  # a few blocks a chunk
    rng = np.random.default_rng(sum(taps))
    starts, lengths = [0, 1_234, 60_000, 70_000], [10_000, 1, 3_001, 0]
    signals = [rng.standard_normal(n) for n in lengths]
    responses = [rng.standard_normal((n_channels, m)) for m in taps]
    mix = SpectralMix(n_channels, starts, lengths, taps)
    for start, signal, response in zip(starts, signals, responses, strict=True):
        mix.add(*mix.source_spectra(start, signal, response))
    assert mix.n_steps > 2 * len(list(range(0, n_channels, convolution.CHANNEL_CHUNK)))
    out = mix.mix()
    length = max(start + n + m - 1 for start, n, m in zip(starts, lengths, taps, strict=True))
    expected = np.zeros((n_channels, length))
    for start, signal, response in zip(starts, signals, responses, strict=True):
        for channel in range(n_channels):
            piece = np.convolve(signal, response[channel]) if len(signal) else np.zeros(0)
            expected[channel, start : start + len(piece)] += piece
    assert out.dtype == np.float32 and out.shape == expected.shape
    np.testing.assert_allclose(out, expected, atol=2e-5 * np.sqrt(max(taps)) * np.abs(expected).max())
