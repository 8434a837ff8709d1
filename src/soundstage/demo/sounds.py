"""Sounds the demo synthesizes itself, so it needs no files or downloads.

Each one is chosen to be easy to localize: broadband transients (clicks), a bright
inharmonic bell, frequency-modulated chirps (a bird) and a low drone that feeds the
LFE. All are seeded and peak at ``peak`` (linear full scale).
"""

from __future__ import annotations

import numpy as np


def _normalise(signal: np.ndarray, peak: float) -> np.ndarray:
    return (signal * (peak / np.max(np.abs(signal)))).astype(np.float32)


def bell(sample_rate: int, duration: float = 6.0, *, period: float = 1.5, peak: float = 0.25) -> np.ndarray:
    """A struck bell every ``period`` seconds: inharmonic partials with exponential decay."""
    t = np.arange(int(duration * sample_rate)) / sample_rate
    partials_hz = 523.0 * np.array([0.5, 1.0, 1.19, 1.56, 2.0, 2.51, 2.66, 3.01])
    decays_s = np.array([2.0, 1.4, 1.0, 0.8, 0.6, 0.45, 0.4, 0.3])
    local = t % period
    strike = np.zeros_like(t)
    for frequency, decay, weight in zip(partials_hz, decays_s, np.linspace(1.0, 0.4, len(partials_hz)), strict=True):
        strike += weight * np.sin(2 * np.pi * frequency * local) * np.exp(-local / decay)
    return _normalise(strike * np.minimum(1.0, local * 2000.0), peak)


def clicks(
    sample_rate: int, duration: float = 6.0, *, rate_hz: float = 5.0, seed: int = 1, peak: float = 0.25
) -> np.ndarray:
    """Castanet-like bursts of decaying white noise, ``rate_hz`` per second with a swing."""
    rng = np.random.default_rng(seed)
    signal = np.zeros(int(duration * sample_rate))
    burst_len = int(0.03 * sample_rate)
    envelope = np.exp(-np.arange(burst_len) / (0.004 * sample_rate))
    onset = 0.05
    while onset < duration - 0.05:
        start = int(onset * sample_rate)
        signal[start : start + burst_len] += rng.standard_normal(burst_len) * envelope
        onset += (1.0 / rate_hz) * (0.7 if int(onset * rate_hz) % 2 else 1.3)
    return _normalise(signal, peak)


def bird(sample_rate: int, duration: float = 6.0, *, seed: int = 2, peak: float = 0.25) -> np.ndarray:
    """Chirps sweeping 2–6 kHz in short phrases."""
    rng = np.random.default_rng(seed)
    signal = np.zeros(int(duration * sample_rate))
    time = 0.2
    while time < duration - 0.4:
        n_notes = rng.integers(3, 7)
        for _ in range(n_notes):
            length = rng.uniform(0.04, 0.09)
            n = int(length * sample_rate)
            tau = np.arange(n) / sample_rate
            f0, f1 = rng.uniform(2000.0, 3500.0), rng.uniform(4000.0, 6000.0)
            sweep = f0 + (f1 - f0) * (tau / length) ** 2
            phase = 2 * np.pi * np.cumsum(sweep) / sample_rate
            start = int(time * sample_rate)
            stop = min(start + n, len(signal))
            if stop <= start:  # a phrase running past the end of a short clip
                break
            signal[start:stop] += (np.sin(phase) * np.hanning(n))[: stop - start]
            time += length + 0.03
        time += rng.uniform(0.4, 0.9)
    return _normalise(signal, peak)


def drone(sample_rate: int, duration: float = 6.0, *, fundamental_hz: float = 55.0, peak: float = 0.25) -> np.ndarray:
    """A low harmonic drone with slow vibrato and fades, rich below 120 Hz for the LFE."""
    t = np.arange(int(duration * sample_rate)) / sample_rate
    vibrato = 1.0 + 0.004 * np.sin(2 * np.pi * 0.3 * t)
    phase = 2 * np.pi * fundamental_hz * np.cumsum(vibrato) / sample_rate
    tone = sum(np.sin(k * phase) / k for k in range(1, 9))
    fade = np.minimum(1.0, np.minimum(t, duration - t) / 0.5)
    return _normalise(tone * fade, peak)
