"""Processed heads on disk: the same HRIRs as a head processed afresh, kept per file content and rate, made
again when the file changes or the entry is damaged, and never a failure when the cache cannot be written."""

from __future__ import annotations

import numpy as np
import pytest

from soundstage.acoustics.hrtf import head_cache
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


def test_a_damaged_entry_is_made_again_and_an_unwritable_cache_is_no_failure(sofa, monkeypatch, tmp_path):
    entry = head_cache_path(sofa, RATE, "barycentric")
    entry.parent.mkdir(parents=True)
    entry.write_bytes(b"not an archive")
    head = load_sofa_head(sofa, RATE, "barycentric")
    assert head.n_taps > 0
    with np.load(entry) as state:  # replaced by a good one
        assert "min_phase" in state
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the cache folder would be")
    monkeypatch.setenv("SOUNDSTAGE_CACHE", str(blocked))
    assert load_sofa_head(sofa, RATE, "barycentric").n_taps == head.n_taps
    assert not list(tmp_path.glob("**/*.npz.part"))
    assert head_cache.CACHE_VERSION >= 1


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

    monkeypatch.setattr(head, "hrirs", no_series)
    again = DirectionCells(head, n_cells=256)  # another process would read the file: no series summed
    binaural._COVARIANCES.clear()
    assert np.array_equal(binaural.BinauralEncoder(8000, head).diffuse_covariance(bands), covariance)
    directions = queries()
    expected = DirectionCells(bare, n_cells=256).hrirs(directions)
    assert np.array_equal(again.hrirs(directions), expected) and np.array_equal(kept.hrirs(directions), expected)
