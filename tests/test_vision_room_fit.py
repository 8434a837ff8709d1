"""Tests of the room fit to depth point clouds (``--room auto``) and the ``--room`` option.

The clouds are what a level pinhole camera with a 65° horizontal field of view sees from inside
a known box: every pixel's ray is traced to the first wall it meets (exact geometry), then 1 cm
of noise is added and 2 % of the points are replaced by "flying pixels" at random depths along
their rays (some in front of the surface, some beyond it, outside the room).
"""

from __future__ import annotations

import numpy as np
import pytest

from soundstage.errors import ParameterError
from soundstage.vision.room_fit import (
    BACK_WALL_SHARE,
    DEFAULT_CEILING_HEIGHT_M,
    MIN_BACK_WALL_M,
    MIN_DIMENSION_M,
    RoomFit,
    back_wall_distance_m,
    fit_room,
    parse_room_option,
)

FOV_DEG = 65.0
WIDTH, HEIGHT = 160, 120


def camera_rays(width: int = WIDTH, height: int = HEIGHT, fov_deg: float = FOV_DEG) -> np.ndarray:
    """Ray directions (N, 3) with unit x of every pixel centre of a level pinhole camera."""
    f = width / 2 / np.tan(np.radians(fov_deg) / 2)
    v, u = np.meshgrid(np.arange(height) + 0.5, np.arange(width) + 0.5, indexing="ij")
    return np.column_stack([np.ones(u.size), -(u.ravel() - width / 2) / f, -(v.ravel() - height / 2) / f])


def box_cloud(size, camera, *, noise_m=0.01, outliers=0.02, seed=0) -> np.ndarray:
    """Points (listener frame) where the camera's rays leave the box ``[0, size]`` from ``camera`` (room frame)."""
    rng = np.random.default_rng(seed)
    rays = camera_rays()
    size, camera = np.asarray(size, float), np.asarray(camera, float)
    with np.errstate(divide="ignore"):
        # Distance along each ray to the wall it heads for, per axis; the nearest is where it hits.
        t = np.where(rays > 0, (size - camera) / rays, np.where(rays < 0, -camera / rays, np.inf))
    points = rays * t.min(axis=1, keepdims=True)
    points += noise_m * rng.standard_normal(points.shape)
    flying = rng.random(len(points)) < outliers
    points[flying] *= rng.uniform(0.3, 1.5, (int(flying.sum()), 1))
    return points


def assert_listener_inside(fit: RoomFit) -> None:
    assert np.all(fit.listener_position_m > 0) and np.all(fit.listener_position_m < fit.size_m)


def test_box_room_seen_from_inside_is_fitted_within_5_percent():
    size = np.array([7.0, 5.0, 2.8])
    camera = np.array([1.2, 2.3, 1.55])  # room frame; looking along +x
    fit = fit_room(box_cloud(size, camera))
    assert fit.kind == "shoebox"
    # Visible dimensions: width, height, and the far wall's distance ahead of the listener.
    far_true = size[0] - camera[0]
    far_fit = fit.size_m[0] - fit.listener_position_m[0]
    assert far_fit == pytest.approx(far_true, rel=0.05)
    assert fit.size_m[1] == pytest.approx(size[1], rel=0.05)
    assert fit.size_m[2] == pytest.approx(size[2], rel=0.05)
    assert fit.listener_position_m[1] == pytest.approx(camera[1], rel=0.05)  # distance to the right wall
    assert abs(fit.camera_height_m - camera[2]) < 0.05
    # The unseen back wall follows the documented rule.
    assert fit.listener_position_m[0] == pytest.approx(max(MIN_BACK_WALL_M, BACK_WALL_SHARE * far_fit))
    assert_listener_inside(fit)
    notes = " ".join(fit.notes)
    assert "floor seen" in notes and "ceiling seen" in notes and "back wall not visible" in notes


def test_translating_the_camera_moves_the_listener_not_the_room():
    size = np.array([6.0, 4.0, 3.0])
    a = fit_room(box_cloud(size, [1.0, 1.5, 1.4], seed=1))
    b = fit_room(box_cloud(size, [1.0, 2.5, 1.7], seed=2))
    assert b.size_m[1:] == pytest.approx(a.size_m[1:], rel=0.05)
    assert b.listener_position_m[1] - a.listener_position_m[1] == pytest.approx(1.0, abs=0.1)
    assert b.listener_position_m[2] - a.listener_position_m[2] == pytest.approx(0.3, abs=0.05)


def test_unseen_ceiling_gets_the_default_height_or_covers_the_visible_points():
    # A tall hall with a near far wall: the top of the view ends on the wall, not the ceiling.
    size, camera = np.array([5.0, 6.0, 8.0]), np.array([1.0, 3.0, 1.6])
    cloud = box_cloud(size, camera, outliers=0.0)
    fit = fit_room(cloud)
    assert fit.kind == "shoebox"
    assert any("ceiling not seen" in note for note in fit.notes)
    top_visible = np.percentile(cloud[:, 2], 98) + camera[2]
    assert fit.size_m[2] == pytest.approx(max(DEFAULT_CEILING_HEIGHT_M, top_visible), abs=0.02)
    assert abs(fit.camera_height_m - camera[2]) < 0.05
    # In a low room seen only by its floor and far wall, the default height applies.
    low = box_cloud([5.0, 6.0, 8.0], [1.0, 3.0, 0.5], outliers=0.0)
    low = low[low[:, 2] < 0.6]  # the wall's upper part hidden (e.g. by furniture masks)
    fit_low = fit_room(low)
    assert fit_low.size_m[2] == pytest.approx(DEFAULT_CEILING_HEIGHT_M)


def test_tiny_space_is_grown_to_the_minimum_size_with_the_listener_inside():
    fit = fit_room(box_cloud([1.0, 0.8, 1.2], [0.3, 0.4, 0.6], noise_m=0.002, outliers=0.0))
    assert fit.kind == "shoebox"
    assert np.all(fit.size_m >= MIN_DIMENSION_M - 1e-12)
    assert_listener_inside(fit)


def test_given_camera_height_overrides_the_floor():
    fit = fit_room(box_cloud([6.0, 5.0, 3.0], [1.0, 2.5, 1.5]), camera_height_m=1.2)
    assert fit.camera_height_m == 1.2
    assert any("as given" in note and "floor seen" in note for note in fit.notes)


def outdoor_cloud(far_m: float, *, seed: int = 0) -> np.ndarray:
    """Ground 1.6 m below the camera out to the horizon's cut-off, plus building fronts at ``far_m``."""
    rng = np.random.default_rng(seed)
    ground = np.column_stack([rng.uniform(3, far_m, 3000), rng.uniform(-15, 15, 3000), np.full(3000, -1.6)])
    facade = np.column_stack([np.full(1500, far_m), rng.uniform(-25, 25, 1500), rng.uniform(-1.6, 8, 1500)])
    return np.concatenate([ground, facade]) + 0.02 * rng.standard_normal((4500, 3))


def test_far_depth_means_an_open_scene_with_the_listener_above_the_ground():
    fit = fit_room(outdoor_cloud(60.0))
    assert fit.kind == "open" and fit.size_m is None
    assert fit.listener_position_m[:2].tolist() == [0.0, 0.0]
    assert abs(fit.camera_height_m - 1.6) < 0.05
    assert "beyond 30 m" in fit.notes[0]


def test_no_ceiling_and_walls_beyond_20_m_mean_an_open_scene():
    fit = fit_room(outdoor_cloud(25.0))
    assert fit.kind == "open"
    assert "no ceiling" in fit.notes[0]


def test_sky_fraction_means_an_open_scene_even_for_a_small_cloud():
    cloud = box_cloud([6.0, 5.0, 3.0], [1.0, 2.5, 1.5])
    assert fit_room(cloud, sky_fraction=0.1).kind == "shoebox"
    fit = fit_room(cloud, sky_fraction=0.6)
    assert fit.kind == "open" and "60 %" in fit.notes[0]
    # All sky (no depth at all): open, at the default or the given camera height.
    empty = fit_room(np.zeros((0, 3)), sky_fraction=1.0, camera_height_m=1.7)
    assert empty.kind == "open" and empty.camera_height_m == 1.7


def test_nonfinite_points_are_ignored():
    cloud = box_cloud([6.0, 5.0, 3.0], [1.0, 2.5, 1.5])
    spoiled = cloud.copy()
    spoiled[::50, 0] = np.nan
    spoiled[1::50, 2] = np.inf
    a, b = fit_room(cloud[np.all(np.isfinite(spoiled), axis=1)]), fit_room(spoiled)
    np.testing.assert_allclose(a.size_m, b.size_m)


def test_fit_room_errors():
    with pytest.raises(ParameterError, match=r"shape \(N, 3\)"):
        fit_room(np.zeros((10, 2)))
    with pytest.raises(ParameterError, match=r"sky_fraction must be a share in \[0, 1\]"):
        fit_room(np.zeros((30, 3)), sky_fraction=1.5)
    with pytest.raises(ParameterError, match="camera_height_m must be a positive"):
        fit_room(np.zeros((30, 3)), camera_height_m=-1.0)
    with pytest.raises(ParameterError, match=r"only 5 points with depth.*--room XxYxZ"):
        fit_room(np.ones((5, 3)))


def test_back_wall_rule():
    assert back_wall_distance_m(10.0) == pytest.approx(BACK_WALL_SHARE * 10.0)
    assert back_wall_distance_m(0.4) == MIN_BACK_WALL_M


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("auto", "auto"),
        (" NONE ", "none"),
        ("8x6x3", (8.0, 6.0, 3.0)),
        ("8X6X3", (8.0, 6.0, 3.0)),
        ("4.5×3.2×2.6", (4.5, 3.2, 2.6)),
        ("5 * 4 * 2.5", (5.0, 4.0, 2.5)),
        ("1e1x5x3", (10.0, 5.0, 3.0)),
    ],
)
def test_parse_room_option(text, expected):
    assert parse_room_option(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("big", "expected auto, none or a size XxYxZ"),
        ("8x6", "expected auto, none or a size XxYxZ"),
        ("8x6x3x2", "expected auto, none or a size XxYxZ"),
        ("8xsixx3", "expected auto, none or a size XxYxZ"),
        ("8xax3", "is not three numbers"),
        ("8x0x3", "must be positive lengths"),
        ("8x-6x3", "must be positive lengths"),
        ("8xnanx3", "must be positive lengths"),
    ],
)
def test_parse_room_option_errors(text, message):
    with pytest.raises(ParameterError, match=message):
        parse_room_option(text)
