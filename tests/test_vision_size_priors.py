"""Typical sizes fix the scale of relative depth: checked on the ray-cast scene with known geometry."""

from __future__ import annotations

import numpy as np

from soundstage.vision.size_priors import scale_by_size_priors, typical_height_m
from soundstage.vision.stages import DepthMap, Region
from synthetic_scene import CARDS, render

WIDTH, HEIGHT = 480, 360


def _region(ids: np.ndarray, card: int, label: str) -> Region:
    mask = ids == 3 + card
    rows, cols = np.nonzero(mask)
    return Region(mask, (cols.min(), rows.min(), cols.max() + 1, rows.max() + 1), label, 1.0, "user")


def test_a_thing_of_known_height_puts_relative_depth_to_scale() -> None:
    depth, ids, camera = render(WIDTH, HEIGHT)
    assert 2 * CARDS[0].half_z == typical_height_m("guitar")  # the card is as tall as a typical guitar: 1 m
    relative = DepthMap((depth * 0.37).astype(np.float32), False, "transformers")  # right shape, wrong scale
    scaled, lines = scale_by_size_priors(relative, [_region(ids, 0, "guitar")], camera.fy)
    assert not scaled.metric and any("typical sizes" in note for note in scaled.notes) and lines
    # The whole map now has the true scale, to the pixel quantisation of the card's height (±1 of ~86 px).
    np.testing.assert_allclose(np.median(scaled.z_m[ids == 3]), CARDS[0].centre[0], rtol=0.015)
    np.testing.assert_allclose(scaled.z_m / depth, scaled.z_m[0, 0] / depth[0, 0], rtol=1e-5)


def test_one_odd_detection_does_not_decide_the_scale() -> None:
    depth, ids, camera = render(WIDTH, HEIGHT)
    relative = DepthMap((depth * 2.0).astype(np.float32), False, "transformers")
    # Two 1 m cards called guitars, and a 0.8 m card mistaken for a 3 m bus.
    regions = [_region(ids, 0, "guitar"), _region(ids, 2, "guitar"), _region(ids, 1, "bus")]
    scaled, _ = scale_by_size_priors(relative, regions, camera.fy)
    np.testing.assert_allclose(np.median(scaled.z_m[ids == 3]), CARDS[0].centre[0], rtol=0.03)


def test_metric_maps_and_unknown_labels_are_left_alone() -> None:
    depth, ids, camera = render(WIDTH, HEIGHT)
    metric = DepthMap(depth.astype(np.float32), True, "file")
    assert scale_by_size_priors(metric, [_region(ids, 0, "guitar")], camera.fy) == (metric, [])
    relative = DepthMap(depth.astype(np.float32), False, "transformers")
    assert scale_by_size_priors(relative, [_region(ids, 0, "cloud"), _region(ids, 1, None)], camera.fy)[0] is relative
