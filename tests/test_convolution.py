"""Overlap-add convolution against numpy's direct convolution."""

from __future__ import annotations

import numpy as np
import pytest

from soundstage.acoustics.convolution import convolve_channels


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
