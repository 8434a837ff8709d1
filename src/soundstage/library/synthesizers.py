"""Sounds the library synthesizes itself, each from a simple physical or spectral model.

Each synthesizer takes a seeded generator, a rate in Hz and a length in seconds and returns raw
(unnormalized) mono audio and the parameters it drew, like :mod:`soundstage.learn.data.procedural_sounds`.

==============  ============================================================================================
phone_ring      a classic two-tone ring (440 + 480 Hz, the North American ringback pair), 2 s on, 1 s off,
                with a fast warble
clock           a mechanical tick-tock: two damped resonances (3.1 and 2.4 kHz) alternating once a second
helicopter      blade slap (band-passed noise bursts at the blade-passing rate, 16–22 Hz) over turbine whine
siren           a wail: a sawtooth-rich tone sweeping 650–1500 Hz and back every 3–5 s
wind            noise low-passed at a wandering 200–900 Hz with slow gusts
water_stream    many small bubbles (decaying sinusoids with a rising pitch, Minnaert) over soft noise
crowd           babble: a dozen voices of glottal pulses through wandering vowel formants, syllables ~4 Hz
applause        claps: short band-passed noise bursts, Poisson-timed, a few hundred per second at full strength
==============  ============================================================================================
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.signal import butter, lfilter, lfilter_zi, sosfilt


def _time(rate: int, seconds: float) -> np.ndarray:
    return np.arange(int(rate * seconds)) / rate


def _bandpass(signal: np.ndarray, rate: int, low_hz: float, high_hz: float, order: int = 2) -> np.ndarray:
    sos = butter(order, [low_hz, min(high_hz, 0.45 * rate)], btype="bandpass", fs=rate, output="sos")
    return sosfilt(sos, signal)


def _wander(rng: np.random.Generator, n: int, rate: int, knots_per_s: float) -> np.ndarray:
    """A smooth random curve in [-1, 1] with about ``knots_per_s`` turns per second."""
    knots = max(2, int(n / rate * knots_per_s) + 2)
    return np.interp(np.arange(n), np.linspace(0, n, knots), rng.uniform(-1.0, 1.0, knots))


def phone_ring(rng: np.random.Generator, rate: int, seconds: float) -> tuple[np.ndarray, dict[str, Any]]:
    t = _time(rate, seconds)
    warble = float(rng.uniform(15.0, 25.0))
    tone = np.sin(2 * np.pi * 440 * t) + np.sin(2 * np.pi * 480 * t)
    tone *= 0.6 + 0.4 * np.sign(np.sin(2 * np.pi * warble * t))  # a bell-like warble
    on = (t % 3.0) < 2.0
    edges = np.convolve(on.astype(float), np.hanning(int(0.01 * rate)) / (0.005 * rate), mode="same")
    return tone * np.clip(edges, 0.0, 1.0), {"warble_hz": round(warble, 2)}


def _resonance(rate: int, frequency: float, decay_s: float, length_s: float) -> np.ndarray:
    t = _time(rate, length_s)
    return np.sin(2 * np.pi * frequency * t) * np.exp(-t / decay_s)


def clock(rng: np.random.Generator, rate: int, seconds: float) -> tuple[np.ndarray, dict[str, Any]]:
    out = np.zeros(int(rate * seconds))
    tick, tock = _resonance(rate, 3100.0, 0.004, 0.03), _resonance(rate, 2400.0, 0.005, 0.03)
    period = float(rng.uniform(0.95, 1.05))
    for k, start in enumerate(np.arange(0.05, seconds, period / 2)):
        piece = tick if k % 2 == 0 else tock
        i = int(start * rate)
        stop = min(len(out), i + len(piece))
        out[i:stop] += piece[: stop - i]
    return out, {"period_s": round(period, 3)}


def helicopter(rng: np.random.Generator, rate: int, seconds: float) -> tuple[np.ndarray, dict[str, Any]]:
    n = int(rate * seconds)
    blade_hz = float(rng.uniform(16.0, 22.0))
    t = _time(rate, seconds)
    phase = (t * blade_hz) % 1.0
    slap = np.exp(-phase / 0.08) * _bandpass(rng.standard_normal(n), rate, 60.0, 1200.0)
    whine = 0.05 * np.sin(2 * np.pi * float(rng.uniform(2500.0, 3500.0)) * t)
    rumble = 0.5 * _bandpass(rng.standard_normal(n), rate, 30.0, 200.0)
    return slap + whine + rumble, {"blade_hz": round(blade_hz, 2)}


def siren(rng: np.random.Generator, rate: int, seconds: float) -> tuple[np.ndarray, dict[str, Any]]:
    t = _time(rate, seconds)
    cycle = float(rng.uniform(3.0, 5.0))
    frequency = 1075.0 - 425.0 * np.cos(2 * np.pi * t / cycle)
    phase = 2 * np.pi * np.cumsum(frequency) / rate
    tone = sum(np.sin(k * phase) / k for k in range(1, 6))  # the first harmonics of a sawtooth
    return tone, {"cycle_s": round(cycle, 2)}


def wind(rng: np.random.Generator, rate: int, seconds: float) -> tuple[np.ndarray, dict[str, Any]]:
    n = int(rate * seconds)
    noise = rng.standard_normal(n)
    out = np.zeros(n)
    centre = 550.0 + 350.0 * _wander(rng, n, rate, 0.5)
    block = rate // 20
    state = None
    for start in range(0, n, block):  # a slowly moving low-pass, 50 ms at a time, its state carried across
        b, a = butter(2, centre[start], fs=rate)
        stop = min(n, start + block)
        if state is None:
            state = lfilter_zi(b, a) * noise[0]
        out[start:stop], state = lfilter(b, a, noise[start:stop], zi=state)
    gusts = 0.55 + 0.45 * _wander(rng, n, rate, 0.3)
    return out * gusts, {}


def water_stream(rng: np.random.Generator, rate: int, seconds: float) -> tuple[np.ndarray, dict[str, Any]]:
    n = int(rate * seconds)
    out = 0.05 * _bandpass(rng.standard_normal(n), rate, 300.0, 6000.0)
    count = int(seconds * float(rng.uniform(150.0, 300.0)))
    for start in rng.integers(0, n, count):
        radius_mm = float(rng.uniform(1.0, 6.0))
        f0 = 3260.0 / radius_mm  # Minnaert resonance of an air bubble in water, Hz
        length = int(0.02 * rate)
        t = np.arange(length) / rate
        chirp = np.sin(2 * np.pi * f0 * (t + 0.5 * 40.0 * t**2)) * np.exp(-t / (0.002 * radius_mm))
        stop = min(n, start + length)
        out[start:stop] += float(rng.uniform(0.05, 0.3)) * chirp[: stop - start]
    return out, {"bubbles": count}


def crowd(rng: np.random.Generator, rate: int, seconds: float) -> tuple[np.ndarray, dict[str, Any]]:
    n = int(rate * seconds)
    out = np.zeros(n)
    voices = int(rng.integers(10, 16))
    t = _time(rate, seconds)
    for _ in range(voices):
        f0 = float(rng.uniform(95.0, 240.0)) * (1.0 + 0.08 * _wander(rng, n, rate, 3.0))
        pulses = (np.diff(np.floor(np.cumsum(f0) / rate), prepend=0.0) > 0).astype(float)
        voice = np.zeros(n)
        for formant in (float(rng.uniform(400, 800)), float(rng.uniform(1000, 2200)), float(rng.uniform(2400, 3200))):
            voice += _bandpass(pulses, rate, formant * 0.85, formant * 1.15)
        syllables = np.clip(np.sin(2 * np.pi * float(rng.uniform(3.0, 5.0)) * t + rng.uniform(0, 6.3)), 0.0, 1.0)
        out += voice * syllables * float(rng.uniform(0.3, 1.0))
    return out, {"voices": voices}


def applause(rng: np.random.Generator, rate: int, seconds: float) -> tuple[np.ndarray, dict[str, Any]]:
    n = int(rate * seconds)
    out = np.zeros(n)
    clappers = int(rng.integers(20, 60))
    length = int(0.006 * rate)
    shape = np.exp(-np.arange(length) / (0.0015 * rate))
    for _ in range(clappers):
        period = float(rng.uniform(0.2, 0.35))
        for start in np.arange(float(rng.uniform(0, period)), seconds, period):
            i = int((start + rng.normal(0, 0.01)) * rate)
            if 0 <= i < n - length:
                burst = rng.standard_normal(length) * shape * float(rng.uniform(0.5, 1.0))
                out[i : i + length] += burst
    return _bandpass(out, rate, 600.0, 6000.0), {"clappers": clappers}


#: The library's own synthesizers by class name.
SYNTHESIZERS: dict[str, Callable[[np.random.Generator, int, float], tuple[np.ndarray, dict[str, Any]]]] = {
    "phone_ring": phone_ring,
    "clock": clock,
    "helicopter": helicopter,
    "siren": siren,
    "wind": wind,
    "water_stream": water_stream,
    "crowd": crowd,
    "applause": applause,
}
