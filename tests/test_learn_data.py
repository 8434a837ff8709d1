"""Training data from our own physics: pictures, scenes, splits, determinism and resumption."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from soundstage.errors import ParameterError
from soundstage.learn.data.heads import DEFAULT_TRAIN_HEADS, parse_sphere
from soundstage.learn.data.pictures import DrawnObject, draw_picture, focal_length_px, project
from soundstage.learn.data.scenes import sample_scene, source_offsets
from soundstage.learn.data.synthesis import DatasetRecipe, clip_split, load_manifest, synthesize_dataset
from soundstage.learn.dataset import BinauralScenes, ground_plane_depth, objects_map
from soundstage.learn.spectral import SpectralConfig
from soundstage.learn.view import ViewConfig


def recipe_of(folder) -> DatasetRecipe:
    """The recipe a dataset folder was made with."""
    values = json.loads((folder / "recipe.json").read_text())
    return DatasetRecipe(
        **{**values, "train_heads": tuple(values["train_heads"]), "split_fractions": tuple(values["split_fractions"])}
    )


def test_projection_puts_left_azimuths_in_the_left_half_and_follows_the_pinhole_model():
    u, v, z = project(30.0, 0.0, 2.0, 200, 100, 90.0)
    f = focal_length_px(200, 90.0)
    assert f == pytest.approx(100.0)
    assert u == pytest.approx(100.0 - f * math.tan(math.radians(30.0)))  # u = W/2 - f·y/x
    assert v == pytest.approx(50.0) and z == pytest.approx(2.0 * math.cos(math.radians(30.0)))
    assert project(10.0, 20.0, 3.0, 200, 100, 90.0)[1] < 50.0  # up is up


def test_a_drawn_object_sits_at_its_projection_with_size_falling_as_one_over_distance():
    sizes = {}
    for distance in (3.0, 6.0):
        picture = draw_picture(
            [DrawnObject("violin", 20.0, 0.0, distance, 0.4)],
            height=96,
            width=192,
            horizontal_fov_deg=60.0,
            seed=1,
            n_distractors=0,
        )
        rows, cols = np.nonzero(picture.labels == 1)
        u, v, z = project(20.0, 0.0, distance, 192, 96, 60.0)
        # The box is centred on the projection (a shape need not be symmetric about it vertically).
        assert abs((cols.min() + cols.max() + 1) / 2 - u) < 1.5 and rows.min() < v < rows.max() + 1
        assert np.allclose(picture.depth_m[picture.labels == 1], z)
        sizes[distance] = rows.max() - rows.min() + 1
    assert sizes[3.0] / sizes[6.0] == pytest.approx(2.0, rel=0.15)


def test_nearer_objects_hide_farther_ones():
    picture = draw_picture(
        [DrawnObject("piano", 0.0, 0.0, 6.0, 1.0), DrawnObject("drums", 0.0, 0.0, 2.0, 1.0)],
        height=96,
        width=192,
        horizontal_fov_deg=60.0,
        seed=0,
        n_distractors=0,
    )
    centre = picture.labels[48, 96]
    assert centre == 2 and (picture.labels == 1).sum() < (picture.labels == 2).sum()


def test_sampled_scenes_stay_in_view_within_range_and_inside_their_rooms():
    rng = np.random.default_rng(0)
    clips = [{"clip_id": f"c{k}", "label": f"class{k}"} for k in range(6)]
    for _ in range(200):
        scene = sample_scene(rng, clips, list(DEFAULT_TRAIN_HEADS), aspect=2.0, clip_seconds=2.0, clip_lengths_s={})
        half = scene["fov_deg"] / 2.0
        assert 1 <= len(scene["sources"]) <= 3
        assert len({s["label"] for s in scene["sources"]}) == len(scene["sources"])
        for source in scene["sources"]:
            assert abs(source["azimuth_deg"]) <= half and 1.0 <= source["distance_m"] <= 8.0
        if scene["room"]:
            size, listener = np.array(scene["room"]["size"]), np.array(scene["room"]["listener"])
            assert 0.2 <= scene["room"]["rt60"] <= 1.0
            for source in scene["sources"]:
                position = listener + np.array(source_offsets(source))
                assert np.all(position > 0.15) and np.all(position < size - 0.3)  # 0.2 m: on the floor


def test_heads_are_parsed_and_checked():
    assert parse_sphere("sphere:8.75:90") == (0.0875, 90.0)
    assert parse_sphere("mit_kemar") is None
    with pytest.raises(ParameterError, match="sphere:RADIUS_CM:EAR_DEG"):
        parse_sphere("sphere:big")
    with pytest.raises(ParameterError, match="must be unseen"):
        DatasetRecipe(test_head=DEFAULT_TRAIN_HEADS[0])


def test_clip_splits_are_stable_and_roughly_proportional():
    splits = [clip_split(f"fluidsynth/violin/{k:03d}") for k in range(2000)]
    assert splits == [clip_split(f"fluidsynth/violin/{k:03d}") for k in range(2000)]
    shares = {name: splits.count(name) / len(splits) for name in ("train", "val", "test")}
    assert shares["train"] == pytest.approx(0.8, abs=0.03) and shares["test"] == pytest.approx(0.1, abs=0.02)


def test_the_dataset_splits_by_clip_and_by_head(tiny_binaural_dataset):
    scenes = load_manifest(tiny_binaural_dataset)
    by_split = {name: [s for s in scenes if s["split"] == name] for name in ("train", "val", "test")}
    assert [len(by_split[name]) for name in ("train", "val", "test")] == [12, 4, 4]
    clips = {name: {src["clip_id"] for s in group for src in s["sources"]} for name, group in by_split.items()}
    assert not clips["train"] & clips["test"] and not clips["train"] & clips["val"]
    recipe = json.loads((tiny_binaural_dataset / "recipe.json").read_text())
    assert {s["head"] for s in by_split["test"]} == {recipe["test_head"]}
    assert recipe["test_head"] not in {s["head"] for s in by_split["train"] + by_split["val"]}


def test_the_louder_ear_at_high_frequencies_is_on_the_source_side(tiny_binaural_dataset):
    # The head shadows the far ear: a physical truth the training pairs must carry.
    scenes = load_manifest(tiny_binaural_dataset)
    checked = 0
    for scene in scenes:
        azimuth = scene["sources"][0]["azimuth_deg"]
        if scene["room"] is not None or abs(azimuth) < 10.0:
            continue
        with np.load(tiny_binaural_dataset / "shards" / f"{scene['shard']}.npz") as shard:
            ears = shard["binaural"][scene["row"]].astype(np.float64)
        spectrum = np.abs(np.fft.rfft(ears, axis=1)) ** 2
        high = np.fft.rfftfreq(ears.shape[1], 1 / 16000) > 2000.0
        ild = 10 * np.log10(spectrum[0, high].sum() / spectrum[1, high].sum())
        assert np.sign(ild) == np.sign(azimuth), (azimuth, ild)
        checked += 1
    assert checked >= 3


def test_synthesis_is_deterministic_and_resumes_only_missing_shards(tiny_binaural_dataset, tmp_path):
    recipe = recipe_of(tiny_binaural_dataset)
    again = tmp_path / "again"
    synthesize_dataset(again, recipe, backend="local", progress=False)
    for shard in sorted((tiny_binaural_dataset / "shards").glob("*.npz")):
        with np.load(shard) as first, np.load(again / "shards" / shard.name) as second:
            for key in ("binaural", "rgb", "depth_m", "labels"):
                assert np.array_equal(first[key], second[key]), (shard.name, key)
    assert (again / "manifest.jsonl").read_text() == (tiny_binaural_dataset / "manifest.jsonl").read_text()

    shards = sorted((again / "shards").glob("*.npz"))
    times = {p.name: p.stat().st_mtime_ns for p in shards}
    shards[1].unlink()
    summary = synthesize_dataset(again, recipe, backend="local", progress=False)
    assert (summary.shards_made, summary.shards_reused) == (1, len(shards) - 1)
    assert {p.name: p.stat().st_mtime_ns for p in shards if p != shards[1]} == {
        k: v for k, v in times.items() if k != shards[1].name
    }
    with pytest.raises(ParameterError, match="another recipe"):
        synthesize_dataset(again, DatasetRecipe(scenes=21, clips_per_class=1), backend="local", progress=False)


def test_training_crops_scale_the_mix_and_mirror_exactly(tiny_binaural_dataset):
    view = ViewConfig(height=32, width=64)
    plain = BinauralScenes(tiny_binaural_dataset, "train", view, SpectralConfig(), augment=False)
    item = plain[0]
    assert item["mix"].shape == (SpectralConfig().crop_samples,)
    assert float(item["mix"].pow(2).mean().sqrt()) == pytest.approx(0.1, rel=1e-3)
    assert item["view"].shape == (2, 32, 64)
    augmented = BinauralScenes(tiny_binaural_dataset, "train", view, SpectralConfig(), seed=5)
    a, b = augmented[3], augmented[3]
    assert all(np.array_equal(a[k].numpy(), b[k].numpy()) for k in a)  # same seed, epoch and index


def test_region_finder_errors_are_modelled_on_the_objects_channel():
    labels = np.zeros((32, 64), dtype=np.uint8)
    labels[10:20, 5:15] = 1
    exact = objects_map(labels, None)
    assert exact.sum() == 100 and exact.max() == 1.0
    rng = np.random.default_rng(0)
    noisy = [objects_map(labels, rng) for _ in range(20)]
    assert all(0.6 <= m[15, 10] <= 1.0 for m in noisy)
    assert any((m[labels == 0] > 0).any() for m in noisy)  # false finds happen


def test_the_ground_plane_prior_is_unknown_above_the_horizon_and_nearer_below():
    depth = ground_plane_depth((40, 80), 60.0)
    assert np.all(np.isnan(depth[:20])) and np.all(np.diff(depth[20:, 0]) < 0)
    f = focal_length_px(80, 60.0)
    assert depth[39, 0] == pytest.approx(f * 1.6 / 19.5)  # the geometric prior's camera height


def test_ray_makes_the_same_shards_as_one_process(tiny_binaural_dataset, tmp_path):
    import os

    recipe = recipe_of(tiny_binaural_dataset)
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    summary = synthesize_dataset(tmp_path / "ray", recipe, backend="ray", workers=2, progress=False)
    assert summary.shards_made == len(list((tiny_binaural_dataset / "shards").glob("*.npz")))
    for shard in sorted((tiny_binaural_dataset / "shards").glob("*.npz")):
        with np.load(shard) as local, np.load(tmp_path / "ray" / "shards" / shard.name) as remote:
            assert np.array_equal(local["binaural"], remote["binaural"]) and np.array_equal(local["rgb"], remote["rgb"])


def test_parallel_backends_are_chosen_as_asked():
    from soundstage.parallel import choose_backend, map_tasks

    assert list(map_tasks(abs, [-1, 2, -3], backend="local")) == [1, 2, 3]
    with pytest.raises(ParameterError, match="use one of"):
        choose_backend("dask")
    with pytest.raises(ParameterError, match="--address joins a Ray cluster"):
        choose_backend("local", "ray://host:10001")


def test_a_failing_shard_stops_nothing_else_and_a_second_run_makes_it(tiny_binaural_dataset, tmp_path, monkeypatch):
    from soundstage.errors import SoundstageError
    from soundstage.learn.data import synthesis

    recipe = recipe_of(tiny_binaural_dataset)
    real = synthesis.synthesize_shard

    def broken_second_shard(task):
        if task.index == 1:
            raise MemoryError("pretend the worker ran out of memory")
        return real(task)

    monkeypatch.setattr(synthesis, "synthesize_shard", broken_second_shard)
    folder = tmp_path / "flaky"
    with pytest.raises(SoundstageError, match=r"1 of \d+ shards failed \(first: \w+ shard 1: pretend"):
        synthesize_dataset(folder, recipe, backend="local", progress=False)
    made = sorted(p.name for p in (folder / "shards").glob("*.npz"))
    assert made and not (folder / "manifest.jsonl").exists()  # the others were made; no manifest yet
    monkeypatch.setattr(synthesis, "synthesize_shard", real)
    summary = synthesize_dataset(folder, recipe, backend="local", progress=False)
    assert summary.shards_made >= 1 and summary.shards_reused == len(made)
