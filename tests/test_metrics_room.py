"""Room metrics against closed forms: exponential decays, clarity integrals, a hand-built DRR, bad inputs."""

import json
import math

import numpy as np
import pytest

from soundstage.errors import ParameterError
from soundstage.metrics.room import onset_index, room_acoustics, schroeder_decay_db

RATE = 16000


def signs(n: int, seed: int = 0) -> np.ndarray:
    # Random ±1 noise has a constant square, so noise × envelope has exactly the envelope's energy:
    # the decay's true parameters are then the closed forms below, with no sampling scatter.
    return np.random.default_rng(seed).choice([-1.0, 1.0], n)


def decay(t60: float, length_s: float, noise=None) -> np.ndarray:
    t = np.arange(round(length_s * RATE)) / RATE
    carrier = signs(len(t)) if noise is None else noise(len(t))
    return carrier * np.exp(-3.0 * math.log(10.0) * t / t60)  # energy falls 60 dB in t60


@pytest.mark.parametrize("t60", [0.3, 1.0])
def test_decay_times_of_an_exponential_decay_are_its_t60(t60):
    result = room_acoustics(decay(t60, 1.5 * t60), RATE)
    for value in (result.t30_s, result.t20_s, result.edt_s):
        assert value == pytest.approx(t60, rel=0.01)
    assert [fit.name for fit in result.fits] == ["EDT", "T20", "T30"]
    assert result.warnings == []


def test_gaussian_noise_decay_times_within_one_percent():
    t60 = 1.0
    result = room_acoustics(decay(t60, 1.5, np.random.default_rng(4).standard_normal), RATE)
    for value in (result.t30_s, result.t20_s, result.edt_s):
        assert value == pytest.approx(t60, rel=0.01)


def test_clarity_matches_the_closed_form_integral():
    t60, length = 0.6, 1.0
    a = 6.0 * math.log(10.0) / t60  # energy decay rate, 1/s

    def clarity(split_s):  # ∫_0^split e^{-a t} / ∫_split^length e^{-a t}
        return 10 * math.log10((1 - math.exp(-a * split_s)) / (math.exp(-a * split_s) - math.exp(-a * length)))

    result = room_acoustics(decay(t60, length), RATE)
    assert result.c50_db == pytest.approx(clarity(0.05), abs=0.02)
    assert result.c80_db == pytest.approx(clarity(0.08), abs=0.02)


def test_drr_and_onset_of_an_impulse_with_a_known_tail():
    onset = 800  # 50 ms pre-delay of silence
    ir = np.zeros(RATE)
    ir[onset] = 1.0
    tail = 0.05 * decay(0.4, 0.5)
    start = onset + round(0.01 * RATE)  # the tail starts 10 ms after the direct sound
    ir[start : start + len(tail)] = tail
    result = room_acoustics(ir, RATE)
    assert onset_index(ir) == onset and result.onset_s == onset / RATE
    assert result.drr_db == pytest.approx(10 * math.log10(1.0 / np.sum(tail**2)), abs=1e-9)


def test_noise_floor_at_minus_60_db_is_compensated():
    rng = np.random.default_rng(7)
    t60 = 0.8
    ir = decay(t60, 2.0) + 1e-3 * rng.standard_normal(2 * RATE)  # noise 60 dB below the decay's start
    result = room_acoustics(ir, RATE)
    assert result.t30_s == pytest.approx(t60, rel=0.03)
    assert result.dynamic_range_db == pytest.approx(60.0, abs=1.5)
    assert result.truncation_s < 2.0 and np.isnan(result.edc_db[-1])
    # Integrating the noise as if it were decay flattens the curve and lengthens T30.
    plain = schroeder_decay_db(ir[onset_index(ir) :], RATE, noise_compensation=False)
    t = np.arange(len(plain)) / RATE
    used = (plain <= -5) & (plain >= -35)
    plain_t30 = -60.0 / np.polyfit(t[used], plain[used], 1)[0]
    assert abs(plain_t30 - t60) > 3 * abs(result.t30_s - t60)


def test_schroeder_curve_of_a_noiseless_decay_is_the_geometric_tail():
    n, ratio = RATE, 10 ** (-8 / RATE)  # energy falls 80 dB over the response
    ir = signs(n) * np.sqrt(ratio) ** np.arange(n)
    expected = 10 * np.log10((ratio ** np.arange(n) - ratio**n) / (1 - ratio**n))  # Σ_{j≥i} r^j, normalised
    plain = schroeder_decay_db(ir, RATE, noise_compensation=False)
    assert plain[0] == 0.0
    np.testing.assert_allclose(plain[:-1], expected[:-1], atol=1e-9)
    # Compensated: truncated near the end, the extrapolated tail keeps the curve on the true one.
    compensated = schroeder_decay_db(ir, RATE)
    finite = np.isfinite(compensated)
    assert compensated[0] == 0.0 and finite[: n // 2].all()
    upper = finite & (expected > -60.0)
    np.testing.assert_allclose(compensated[upper], expected[upper], atol=0.1)


def test_white_noise_has_no_decay_and_every_nan_is_explained():
    result = room_acoustics(np.random.default_rng(1).standard_normal(RATE), RATE)
    report = result.to_dict()
    for key in ("t30_s", "t20_s", "edt_s", "c50_db", "c80_db", "drr_db"):
        assert math.isnan(report[key])
        assert any(warning.startswith(f"{key} is NaN") for warning in report["warnings"])
    json.dumps(report)


def test_a_response_too_short_for_t30_keeps_t20():
    # 0.35 s of a 0.5 s decay falls 42 dB: enough for T20 (35 dB), not for T30 (45 dB).
    result = room_acoustics(decay(0.5, 0.35), RATE)
    assert result.t20_s == pytest.approx(0.5, rel=0.01)
    assert math.isnan(result.t30_s)
    assert any(w.startswith("t30_s is NaN") and "45 dB" in w for w in result.warnings)


def test_a_bare_impulse_has_no_reverberant_energy():
    ir = np.zeros(RATE // 2)
    ir[10] = 1.0
    result = room_acoustics(ir, RATE)
    assert math.isnan(result.drr_db) and math.isnan(result.c50_db)
    assert any(w.startswith("drr_db is NaN: no energy after") for w in result.warnings)
    assert any(w.startswith("t30_s is NaN: the response falls silent") for w in result.warnings)


def test_octave_bands_each_measure_their_own_decay():
    # One decaying tone at each band centre, each with its own T60: a band filter passes its own tone at
    # 0 dB and its neighbours' at about -39 dB, so each band's T30 is its tone's T60.
    t = np.arange(2 * RATE) / RATE
    t60 = {125: 1.2, 250: 1.1, 500: 1.0, 1000: 0.9, 2000: 0.8, 4000: 0.7}
    ir = sum(np.sin(2 * np.pi * f * t + 0.3) * np.exp(-3 * math.log(10) * t / value) for f, value in t60.items())
    report = room_acoustics(ir, RATE, bands="octave").to_dict()
    for centre, value in t60.items():
        assert report[f"t30_s_{centre}hz"] == pytest.approx(value, rel=0.01)
        assert report[f"edt_s_{centre}hz"] == pytest.approx(value, rel=0.01)
    assert "t30_s_8000hz" not in report
    assert any("8000 Hz band skipped" in w for w in report["warnings"])


@pytest.mark.parametrize(
    ("ir", "rate", "kwargs", "match"),
    [
        (np.zeros(100), RATE, {}, "silent"),
        (np.ones((2, 100)), RATE, {}, "1-D"),
        (np.array([1.0, np.nan]), RATE, {}, "NaN"),
        (np.ones(100), 0, {}, "sample_rate"),
        (np.ones(100), 44100.0, {}, "sample_rate"),
        (np.ones(100), RATE, {"bands": "third"}, "bands"),
    ],
)
def test_bad_inputs_raise(ir, rate, kwargs, match):
    with pytest.raises(ParameterError, match=match):
        room_acoustics(ir, rate, **kwargs)


def test_schroeder_rejects_silence():
    with pytest.raises(ParameterError, match="silent"):
        schroeder_decay_db(np.zeros(10), RATE)
