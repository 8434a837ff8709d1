"""The band weights of the diffuse tail and covariances, written out independently of the package."""

from __future__ import annotations

import numpy as np


def reference_weights(freqs: np.ndarray, centers: np.ndarray, width: float = 1.0 / 3.0) -> np.ndarray:
    """The documented band weights, band by band: cos²/sin² crossovers at the geometric means of neighbours."""
    x = np.log2(np.maximum(freqs, 1e-9))
    c = np.log2(centers)
    weights = np.ones((len(centers), len(freqs)))
    for i in range(len(centers) - 1):
        mid, half = (c[i] + c[i + 1]) / 2.0, width * (c[i + 1] - c[i]) / 2.0
        share_above = np.sin(np.pi / 2.0 * np.clip((x - mid + half) / (2.0 * half), 0.0, 1.0)) ** 2
        weights[i] *= 1.0 - share_above
        weights[i + 1] *= share_above
    return weights
