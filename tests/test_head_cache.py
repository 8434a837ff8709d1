"""Processed heads on disk: the same HRIRs as a head processed afresh, kept per file content and rate, made
again when the file changes or the entry is damaged, and never a failure when the cache cannot be written."""

from __future__ import annotations

import numpy as np
import pytest

from soundstage.acoustics.hrtf.head_cache import head_cache_path, load_sofa_head
from soundstage.acoustics.hrtf.sofa import SofaHRTF, write_sofa

RATE = 16000


@pytest.fixture
def sofa(tmp_path, monkeypatch):
    monkeypatch.setenv("SOUNDSTAGE_CACHE", str(tmp_path / "cache"))
    rng = np.random.default_rng(0)
    directions = [(az, el) for el in (-40, -10, 20, 50, 80) for az in range(0, 360, 30)]
    hrirs = 0.1 * rng.standard_normal((len(directions), 2, 96))
    hrirs[:, 0, 10] += 1.0
    hrirs[:, 1, 14] += 1.0
    positions = np.array([[az, el, 1.5] for az, el in directions], dtype=float)
    path = tmp_path / "head.sofa"
    write_sofa(path, hrirs, positions, 48000)
    return path


def queries() -> np.ndarray:
    rng = np.random.default_rng(1)
    directions = rng.standard_normal((40, 3))
    return directions / np.linalg.norm(directions, axis=1, keepdims=True)


def test_a_head_from_the_cache_is_the_head_processed_afresh(sofa, monkeypatch):
    fresh = SofaHRTF.from_file(sofa, RATE)
    first = load_sofa_head(sofa, RATE, "barycentric")
    assert head_cache_path(sofa, RATE, "barycentric").is_file()

    def no_reading(*args, **kwargs):
        raise AssertionError("the SOFA file was read again")

    monkeypatch.setattr(SofaHRTF, "from_file", no_reading)
    cached = load_sofa_head(sofa, RATE, "barycentric", name="kept")
    assert cached.name == "kept" and cached.sample_rate == RATE
    for head in (first, cached):
        assert np.array_equal(head.hrirs(queries(), np.ones(40)), fresh.hrirs(queries(), np.ones(40)))
        assert np.array_equal(head.measured_hrirs, fresh.measured_hrirs)


def test_an_edited_file_another_rate_or_interpolation_is_processed_again(sofa, monkeypatch):
    load_sofa_head(sofa, RATE, "barycentric")
    calls = []
    original = SofaHRTF.from_file.__func__

    def counting(cls, *args, **kwargs):
        calls.append(args)
        return original(cls, *args, **kwargs)

    monkeypatch.setattr(SofaHRTF, "from_file", classmethod(counting))
    load_sofa_head(sofa, RATE, "barycentric")
    assert not calls
    load_sofa_head(sofa, 22050, "barycentric")
    load_sofa_head(sofa, RATE, "nearest")
    assert len(calls) == 2
    before = head_cache_path(sofa, RATE, "barycentric")
    with open(sofa, "ab") as f:  # the same file name, other content
        f.write(b"\0")
    assert head_cache_path(sofa, RATE, "barycentric") != before
    load_sofa_head(sofa, RATE, "barycentric")
    assert len(calls) == 3


@pytest.mark.parametrize("damage", ["not an archive", "truncated", "empty"])
def test_a_damaged_entry_is_made_again(sofa, damage):
    entry = head_cache_path(sofa, RATE, "barycentric")
    good = load_sofa_head(sofa, RATE, "barycentric")
    kept = entry.read_bytes()
    entry.write_bytes({"not an archive": b"not an archive", "truncated": kept[: len(kept) // 2], "empty": b""}[damage])
    head = load_sofa_head(sofa, RATE, "barycentric")
    assert np.array_equal(head.measured_hrirs, good.measured_hrirs)
    with np.load(entry) as state:  # replaced by a good one
        assert "min_phase" in state


def test_a_damaged_array_beside_a_head_is_made_again(tmp_path, monkeypatch):
    from soundstage.acoustics.hrtf.head_cache import cached_array
    from soundstage.acoustics.hrtf.sphere import SphereHRTF

    monkeypatch.setenv("SOUNDSTAGE_CACHE", str(tmp_path))
    head = SphereHRTF(8000, n_taps=256)
    first = cached_array(head, "numbers", lambda: np.arange(5.0))
    (entry,) = tmp_path.glob("heads/*numbers*.npy")
    entry.write_bytes(b"")
    assert np.array_equal(cached_array(head, "numbers", lambda: np.arange(5.0)), first)
    assert np.array_equal(np.load(entry), first)


def test_an_unwritable_cache_is_no_failure(sofa, monkeypatch, tmp_path):
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the cache folder would be")
    monkeypatch.setenv("SOUNDSTAGE_CACHE", str(blocked))
    assert load_sofa_head(sofa, RATE, "barycentric").n_taps > 0
    assert blocked.read_text().startswith("a file")


def test_keys_name_the_file_s_content_the_head_s_parameters_and_the_code(sofa):
    from soundstage.acoustics.hrtf.head_cache import code_version
    from soundstage.acoustics.hrtf.sphere import SphereHRTF

    assert code_version() in head_cache_path(sofa, RATE, "barycentric").name
    keys = {SphereHRTF(16000).cache_key, SphereHRTF(16000, head_radius=0.09).cache_key,
            SphereHRTF(16000, ear_azimuth_deg=100).cache_key, SphereHRTF(16000, n_taps=256).cache_key,
            SphereHRTF(22050).cache_key}
    assert len(keys) == 5


def test_a_render_with_a_cached_head_still_records_the_sofa_file_as_an_input(sofa):
    from soundstage.acoustics.render import render
    from soundstage.scene import Scene

    noise = np.random.default_rng(0).standard_normal(RATE // 4).astype(np.float32) * 0.1
    scene = Scene.model_validate(
        {
            "sources": [{"audio": noise, "sample_rate": RATE, "position": {"az": 30, "dist": 2}}],
            "output": {"format": "binaural", "sample_rate": RATE},
            "hrtf": {"name": str(sofa)},
        }
    )
    for _ in range(2):  # processed, then kept (in this process, and on disk)
        result = render(scene, progress=False)
        assert any(str(item.path) == str(sofa.resolve()) for item in result.inputs)


def test_direction_cells_and_diffuse_statistics_are_kept_beside_the_head(tmp_path, monkeypatch):
    from soundstage.acoustics.encoders import binaural
    from soundstage.acoustics.hrtf.direction_cells import DirectionCells
    from soundstage.acoustics.hrtf.sphere import SphereHRTF

    monkeypatch.setenv("SOUNDSTAGE_CACHE", str(tmp_path))
    head, bare = SphereHRTF(8000, n_taps=256), SphereHRTF(8000, n_taps=256)
    bare.cache_key = None  # computed cell by cell, as a head made in memory is
    assert head.cache_key is not None
    kept = DirectionCells(head, n_cells=256)
    assert list(tmp_path.glob("heads/*cells256*.npy"))
    bands = np.array([250.0, 1000.0])
    covariance = binaural.BinauralEncoder(8000, head).diffuse_covariance(bands)

    def no_series(*args, **kwargs):
        raise AssertionError("the head was asked again")

    # Another process, with a head of the same parameters, reads the files: no series summed.
    other = SphereHRTF(8000, n_taps=256)
    monkeypatch.setattr(other, "hrirs", no_series)
    again = DirectionCells(other, n_cells=256)
    assert np.array_equal(binaural.BinauralEncoder(8000, other).diffuse_covariance(bands), covariance)
    directions = queries()
    expected = DirectionCells(bare, n_cells=256).hrirs(directions)
    assert np.array_equal(again.hrirs(directions), expected) and np.array_equal(kept.hrirs(directions), expected)
