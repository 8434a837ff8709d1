"""Procedural sounds for the sound pool: the demo's, with their parameters drawn, and four more.

The bell, clicks, bird and drone of :mod:`soundstage.demo.sounds` with a drawn pitch, rate or
fundamental, plus an engine, footsteps, rain and a barking dog synthesized here. Each
synthesizer takes a seeded generator, a rate in Hz and a length in seconds and returns the raw
(unnormalized) audio with the parameters it drew; :data:`PROCEDURAL` names them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np


def _pitched(make: Callable[[int, float], np.ndarray], rate: int, seconds: float, pitch: float) -> np.ndarray:
    """A fixed-pitch synthesizer's sound moved by the factor ``pitch``, keeping its length.

    Synthesizing at ``rate / pitch`` and playing at ``rate`` scales every frequency by ``pitch``
    (and every duration by ``1 / pitch``, hence the longer or shorter synthesis).
    """
    return make(round(rate / pitch), seconds * pitch)


def _bell(rng: np.random.Generator, rate: int, seconds: float) -> tuple[np.ndarray, dict[str, Any]]:
    from soundstage.demo import sounds

    pitch = float(2.0 ** rng.uniform(-1.0, 1.0))  # an octave either side of the demo's C5
    period_s = float(rng.uniform(0.8, 2.5))
    audio = _pitched(lambda r, d: sounds.bell(r, d, period=period_s * pitch), rate, seconds, pitch)
    return audio, {"pitch_ratio": round(pitch, 4), "period_s": round(period_s, 3)}


def _clicks(rng: np.random.Generator, rate: int, seconds: float) -> tuple[np.ndarray, dict[str, Any]]:
    from soundstage.demo import sounds

    rate_hz, seed = float(rng.uniform(2.0, 9.0)), int(rng.integers(2**31))
    return sounds.clicks(rate, seconds, rate_hz=rate_hz, seed=seed), {"rate_hz": round(rate_hz, 3)}


def _bird(rng: np.random.Generator, rate: int, seconds: float) -> tuple[np.ndarray, dict[str, Any]]:
    from soundstage.demo import sounds

    pitch, seed = float(2.0 ** rng.uniform(-0.5, 0.15)), int(rng.integers(2**31))
    return _pitched(lambda r, d: sounds.bird(r, d, seed=seed), rate, seconds, pitch), {"pitch_ratio": round(pitch, 4)}


def _drone(rng: np.random.Generator, rate: int, seconds: float) -> tuple[np.ndarray, dict[str, Any]]:
    from soundstage.demo import sounds

    fundamental_hz = float(rng.uniform(35.0, 110.0))
    return sounds.drone(rate, seconds, fundamental_hz=fundamental_hz), {"fundamental_hz": round(fundamental_hz, 2)}


def _wander(rng: np.random.Generator, n: int, rate: int, depth: float, knots_per_s: float = 1.0) -> np.ndarray:
    """A smooth random curve around 1 (±``depth``), through random knots ``knots_per_s`` a second."""
    n_knots = max(2, math.ceil(n / rate * knots_per_s) + 1)
    knots = 1.0 + rng.uniform(-depth, depth, n_knots)
    return np.interp(np.arange(n), np.linspace(0, n - 1, n_knots), knots)


def _bandpass(signal: np.ndarray, rate: int, low_hz: float, high_hz: float, order: int = 2) -> np.ndarray:
    from scipy.signal import butter, sosfilt

    sos = butter(order, [low_hz, min(high_hz, 0.45 * rate)], btype="bandpass", fs=rate, output="sos")
    return sosfilt(sos, signal)


def _engine(rng: np.random.Generator, rate: int, seconds: float) -> tuple[np.ndarray, dict[str, Any]]:
    """An idling-to-revving engine: half orders of the crank speed, firing orders loudest, plus exhaust noise."""
    n = round(seconds * rate)
    cylinders = int(rng.choice([2, 4, 6, 8]))
    rpm = float(rng.uniform(700.0, 3500.0))
    crank_hz = rpm / 60.0 * _wander(rng, n, rate, 0.12)  # the driver's foot moves the speed slowly
    crank_phase = 2 * np.pi * np.cumsum(crank_hz) / rate
    tone = np.zeros(n)
    # A four-stroke cylinder fires every second turn: half orders k/2 of the crank speed, and
    # multiples of the firing order (cylinders / 2) dominate; uneven cylinders give the others.
    # exp(i k θ/2) by repeated multiplication: one complex product per order instead of a sine.
    half_order = np.exp(0.5j * crank_phase)
    partial = np.ones(n, dtype=complex)
    for k in range(1, 61):
        if k / 2 * crank_hz.max() > min(4000.0, 0.45 * rate):
            break
        partial *= half_order
        weight = (1.0 if k % cylinders == 0 else rng.uniform(0.1, 0.4)) / k**0.6
        tone += weight * (partial * np.exp(1j * rng.uniform(0, 2 * np.pi))).imag
    firing = 0.5 + 0.5 * np.sin(cylinders / 2 * crank_phase)  # each combustion is a burst of exhaust noise
    exhaust = _bandpass(rng.standard_normal(n), rate, 150.0, 1800.0) * firing**2
    audio = tone / np.max(np.abs(tone)) + 0.6 * exhaust / np.max(np.abs(exhaust))
    return audio, {"cylinders": cylinders, "rpm": round(rpm, 1)}


def _footsteps(rng: np.random.Generator, rate: int, seconds: float) -> tuple[np.ndarray, dict[str, Any]]:
    """Heel and toe strikes at a walking pace on a hard floor, a wooden floor or gravel."""
    surface = str(rng.choice(["hard", "wood", "gravel"]))
    interval_s = float(rng.uniform(0.42, 0.75))
    n = round(seconds * rate)
    audio = np.zeros(n)
    time = float(rng.uniform(0.05, 0.2))
    while time < seconds - 0.3:
        for offset_s, gain in ((0.0, 1.0), (rng.uniform(0.05, 0.11), 0.5)):  # heel, then toe
            step = _step(rng, rate, surface) * gain * rng.uniform(0.8, 1.1)
            start = round((time + offset_s) * rate)
            stop = min(n, start + step.size)
            audio[start:stop] += step[: stop - start]
        time += interval_s * rng.uniform(0.93, 1.07)
    return audio, {"surface": surface, "interval_s": round(interval_s, 3)}


def _step(rng: np.random.Generator, rate: int, surface: str) -> np.ndarray:
    """One strike: a low thump, a noise click, and (wood) a board resonance or (gravel) a crunch."""
    length = round((0.18 if surface == "gravel" else 0.1) * rate)
    t = np.arange(length) / rate
    thump = np.sin(2 * np.pi * rng.uniform(60.0, 130.0) * t) * np.exp(-t / 0.02)
    click = _bandpass(rng.standard_normal(length), rate, 300.0, 4000.0) * np.exp(-t / 0.006)
    step = 0.8 * thump + 0.6 * click
    if surface == "wood":
        step += 0.5 * np.sin(2 * np.pi * rng.uniform(180.0, 420.0) * t) * np.exp(-t / 0.045)
    elif surface == "gravel":
        grains = (rng.random(length) < 3000.0 / rate) * rng.standard_normal(length)  # stones shifting
        crunch = _bandpass(
            np.convolve(grains, np.exp(-np.arange(round(0.001 * rate)) / (0.0003 * rate))), rate, 900.0, 8000.0
        )
        step += 2.0 * crunch[:length] * np.exp(-t / 0.06)
    return step


def _rain(rng: np.random.Generator, rate: int, seconds: float) -> tuple[np.ndarray, dict[str, Any]]:
    """Rain: a hiss of many distant drops plus near drops, each a ringing bubble (after Minnaert)."""
    n = round(seconds * rate)
    drops_per_s = float(rng.uniform(20.0, 250.0))
    hiss = _bandpass(rng.standard_normal(n), rate, 500.0, 7000.0) * _wander(rng, n, rate, 0.25, 2.0)
    audio = 0.15 * hiss / np.max(np.abs(hiss))
    drop_len = round(0.03 * rate)
    t = np.arange(drop_len) / rate
    for _ in range(rng.poisson(drops_per_s * seconds)):
        frequency_hz = min(rng.uniform(1200.0, 4500.0), 0.4 * rate)
        decay_s = rng.uniform(0.002, 0.008)
        # A bubble's resonance rises as it shrinks: a short upward chirp.
        phase = 2 * np.pi * frequency_hz * (t + rng.uniform(5.0, 25.0) * t**2)
        drop = np.sin(phase) * np.exp(-t / decay_s) * rng.lognormal(-1.5, 0.6)
        start = int(rng.integers(0, max(1, n - drop_len)))
        audio[start : start + drop_len] += drop[: n - start]
    return audio, {"drops_per_s": round(drops_per_s, 1)}


def _dog_bark(rng: np.random.Generator, rate: int, seconds: float) -> tuple[np.ndarray, dict[str, Any]]:
    """Barks in groups: a harmonic source with a rising-falling pitch through three formant resonators."""
    size = float(rng.uniform(0.6, 1.6))  # a bigger dog barks lower and longer, with lower formants
    n = round(seconds * rate)
    audio = np.zeros(n)
    time = float(rng.uniform(0.05, 0.3))
    while time < seconds - 0.35:
        for _ in range(int(rng.integers(1, 5))):
            bark = _bark(rng, rate, size)
            start = min(n, round(time * rate))
            stop = min(n, start + bark.size)
            audio[start:stop] += bark[: stop - start]
            time += bark.size / rate + rng.uniform(0.08, 0.3)
        time += rng.uniform(0.4, 1.2)
    return audio, {"size": round(size, 3)}


def _bark(rng: np.random.Generator, rate: int, size: float) -> np.ndarray:
    from scipy.signal import iirpeak, lfilter

    length_s = rng.uniform(0.12, 0.28) * size**0.5
    n = round(length_s * rate)
    x = np.linspace(0.0, 1.0, n)
    start_hz = rng.uniform(300.0, 500.0) / size
    f0 = start_hz * np.interp(x, [0.0, 0.3, 1.0], [1.0, rng.uniform(1.3, 1.8), 0.7])
    phase = 2 * np.pi * np.cumsum(f0) / rate
    n_harmonics = max(1, min(40, int(0.45 * rate / f0.max())))
    source = sum(np.sin(k * phase) / k for k in range(1, n_harmonics + 1))
    source = source + 0.3 * rng.standard_normal(n)  # breath and roughness
    formants = (rng.uniform(500.0, 900.0), rng.uniform(1300.0, 1900.0), rng.uniform(2500.0, 3400.0))
    voiced = np.zeros(n)
    for gain, frequency_hz in zip((1.0, 0.7, 0.4), formants, strict=True):
        b, a = iirpeak(frequency_hz / size**0.3, Q=frequency_hz / 150.0, fs=rate)
        voiced += gain * lfilter(b, a, source)
    envelope = np.minimum(1.0, x * length_s / 0.008) * np.exp(-np.maximum(0.0, x - 0.35) * 4.0)
    return voiced * envelope


#: The procedural classes: label → synthesizer (rng, rate in Hz, seconds) → (audio, drawn parameters).
PROCEDURAL: dict[str, Callable[[np.random.Generator, int, float], tuple[np.ndarray, dict[str, Any]]]] = {
    "bell": _bell,
    "clicks": _clicks,
    "bird": _bird,
    "drone": _drone,
    "engine": _engine,
    "footsteps": _footsteps,
    "rain": _rain,
    "dog_bark": _dog_bark,
}
