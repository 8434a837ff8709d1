"""The binaural localizer recovers the directions the core renderer put sources at."""

import numpy as np
import pytest

from shared_data import KEMAR, need_kemar
from soundstage import Scene, render
from soundstage.acoustics.hrtf import load_hrtf
from soundstage.errors import ParameterError
from soundstage.metrics.localize_binaural import localize_binaural

RATE = 16000


def rendered(sources: list[dict], hrtf: str = "sphere") -> np.ndarray:
    scene = Scene(sources=sources, output={"sample_rate": RATE})
    return render(scene, format="binaural", hrtf=hrtf, progress=False).audio


def noise_source(azimuth_deg: float, signal: np.ndarray, **fields) -> dict:
    return {"audio": signal, "sample_rate": RATE, "position": {"az": azimuth_deg, "el": 0, "dist": 2}, **fields}


def test_sphere_renders_are_found_within_5_degrees_over_plus_minus_80():
    noise = np.random.default_rng(0).standard_normal(RATE)
    errors = []
    for azimuth in range(-80, 81, 20):
        found = localize_binaural(rendered([noise_source(azimuth, noise)]), RATE, hrtf="sphere")
        assert found.method == "binaural-itd-ild"
        assert len(found.sources) == 1
        source = found.sources[0]
        assert source.front_back_ambiguous and source.elevation_deg is None
        assert source.azimuth_deg == source.lateral_deg
        assert 0.9 < source.confidence <= 1.0
        errors.append(abs(source.lateral_deg - azimuth))
    assert max(errors) < 5.0


def test_a_source_behind_is_reported_at_its_frontal_mirror():
    noise = np.random.default_rng(1).standard_normal(RATE // 2)
    found = localize_binaural(rendered([noise_source(140, noise)]), RATE)
    # Lateral angle of az 140°, el 0 is 40°: the cone of confusion puts the estimate at 40°.
    assert found.sources[0].lateral_deg == pytest.approx(40.0, abs=5.0)


def test_two_sources_are_both_found_strongest_first():
    # Talker-like: each source plays in some 125 ms segments; they overlap in a third of them.
    segment = RATE // 8
    pattern_a = np.array([1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 0], float)
    pattern_b = np.roll(pattern_a, 1)
    rng = np.random.default_rng(2)
    a = rng.standard_normal(12 * segment) * np.repeat(pattern_a, segment)
    b = rng.standard_normal(12 * segment) * np.repeat(pattern_b, segment)
    audio = rendered([noise_source(50, a), noise_source(-30, b, gain_db=-6.0)])
    found = localize_binaural(audio, RATE)
    assert [round(s.lateral_deg / 5) * 5 for s in found.sources] == [50, -30]
    assert abs(found.sources[0].lateral_deg - 50) < 5 and abs(found.sources[1].lateral_deg + 30) < 5
    assert found.sources[0].confidence > found.sources[1].confidence > 0.05
    assert localize_binaural(audio, RATE, max_sources=1).sources == found.sources[:1]


def test_tracks_and_summary_describe_every_frame():
    noise = np.random.default_rng(3).standard_normal(RATE // 2)
    audio = rendered([noise_source(-45, noise)])
    audio[:, : RATE // 4] = 0.0  # first quarter second silent
    found = localize_binaural(audio, RATE)
    tracks, summary = found.tracks, found.summary
    n_frames = tracks["times_s"].size
    for key in ("lateral_deg", "itd_s", "ild_db", "coherence", "level_db"):
        assert tracks[key].shape == (n_frames,)
    assert summary["frames"] == n_frames
    assert summary["frames_used"] == int(np.sum(np.isfinite(tracks["lateral_deg"])))
    assert summary["frames_silent"] >= 20 and np.all(np.isnan(tracks["lateral_deg"][tracks["times_s"] < 0.24]))
    assert np.nanmedian(tracks["itd_s"]) < 0 and np.nanmedian(tracks["ild_db"]) < 0  # right side: right leads
    assert found.to_dict()["sources"][0]["lateral_deg"] == pytest.approx(-45, abs=5)


def test_diffuse_independent_noise_is_gated_out_by_coherence():
    audio = np.random.default_rng(4).standard_normal((2, RATE // 2))
    found = localize_binaural(audio, RATE)
    assert found.sources == []
    assert found.summary["frames_used"] == 0 and found.summary["frames_incoherent"] == found.summary["frames"]
    assert "coherence" in found.summary["reason"]


def test_silence_gives_no_source_and_says_why():
    found = localize_binaural(np.zeros((2, RATE // 2)), RATE)
    assert found.sources == [] and found.summary["frames_used"] == 0
    assert "silent" in found.summary["reason"]
    assert np.all(np.isnan(found.tracks["lateral_deg"]))


def test_an_hrtf_object_is_accepted_at_the_signal_rate_only():
    noise = np.random.default_rng(5).standard_normal(RATE // 2)
    audio = rendered([noise_source(25, noise)])
    found = localize_binaural(audio, RATE, hrtf=load_hrtf("sphere", RATE))
    assert found.sources[0].lateral_deg == pytest.approx(25, abs=5)
    with pytest.raises(ParameterError, match="load it at the signal's rate"):
        localize_binaural(audio, RATE, hrtf=load_hrtf("sphere", 48000))


def test_bad_input_raises_clear_errors():
    x = np.random.default_rng(6).standard_normal((2, RATE // 4))
    with pytest.raises(ParameterError, match="mono signal carries no interaural cue"):
        localize_binaural(x[:1], RATE)
    with pytest.raises(ParameterError, match="binaural with shape"):
        localize_binaural(x[0], RATE)
    with pytest.raises(ParameterError, match="not a known head"):
        localize_binaural(x, RATE, hrtf="no_such_head")
    with pytest.raises(ParameterError, match="hrtf must be"):
        localize_binaural(x, RATE, hrtf=3)
    with pytest.raises(ParameterError, match="max_sources"):
        localize_binaural(x, RATE, max_sources=0)
    with pytest.raises(ParameterError, match="min_coherence"):
        localize_binaural(x, RATE, min_coherence=1.5)
    with pytest.raises(ParameterError, match="energy_range_db"):
        localize_binaural(x, RATE, energy_range_db=-3.0)
    with pytest.raises(ParameterError, match="min_share"):
        localize_binaural(x, RATE, min_share=1.0)


def test_kemar_renders_are_on_the_right_side():
    need_kemar()
    noise = np.random.default_rng(7).standard_normal(RATE // 2)
    for azimuth in (-60, -20, 30, 70):
        found = localize_binaural(rendered([noise_source(azimuth, noise)], hrtf=str(KEMAR)), RATE, hrtf=KEMAR)
        lateral = found.sources[0].lateral_deg
        assert np.sign(lateral) == np.sign(azimuth)
        assert lateral == pytest.approx(azimuth, abs=10.0)
