"""The pinhole camera against trigonometry, the 35 mm-equivalent definition and the listener conventions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from soundstage.conventions import spherical_to_cartesian
from soundstage.errors import ParameterError
from soundstage.vision.camera import DEFAULT_HORIZONTAL_FOV_DEG, PinholeCamera, camera_for
from soundstage.vision.stages import LoadedImage


def _image(width: int, height: int, focal_35mm: float | None = None) -> LoadedImage:
    return LoadedImage(
        np.zeros((height, width, 3), np.float32), "test.png", (width, height), exif_focal_35mm=focal_35mm
    )


def test_from_fov_puts_the_image_edges_at_half_the_field_of_view():
    camera = PinholeCamera.from_fov(640, 480, 70.0)
    assert camera.fx == pytest.approx(320.0 / math.tan(math.radians(35.0)))
    assert camera.fy == camera.fx and (camera.cx, camera.cy) == (320.0, 240.0)
    assert camera.horizontal_fov_deg == pytest.approx(70.0)
    # Left edge (u = 0) is to the listener's left (positive azimuth), right edge to the right.
    azimuth, elevation = camera.direction_deg(np.array([0.0, 640.0]), np.array([240.0, 240.0]))
    np.testing.assert_allclose(azimuth, [35.0, -35.0], atol=1e-9)
    np.testing.assert_allclose(elevation, [0.0, 0.0], atol=1e-9)
    # Vertical edges: tan(vfov / 2) = (h / 2) / fy.
    assert camera.vertical_fov_deg == pytest.approx(2 * math.degrees(math.atan(240.0 / camera.fy)))


def test_rays_point_forward_at_the_centre_right_at_the_right_edge_and_down_at_the_bottom():
    camera = PinholeCamera.from_fov(400, 300, 60.0)
    centre = camera.rays(200.0, 150.0)
    np.testing.assert_allclose(centre, [1.0, 0.0, 0.0], atol=1e-15)
    right = camera.rays(399.5, 150.0)
    assert right[1] < 0.0 and right[2] == pytest.approx(0.0, abs=1e-15)
    bottom = camera.rays(200.0, 299.5)
    assert bottom[2] < 0.0 and bottom[1] == pytest.approx(0.0, abs=1e-15)
    rng = np.random.default_rng(0)
    many = camera.rays(rng.uniform(0, 400, 50), rng.uniform(0, 300, 50))
    assert many.shape == (50, 3)
    np.testing.assert_allclose(np.linalg.norm(many, axis=1), 1.0, atol=1e-12)


def test_direction_deg_matches_the_pinhole_trigonometry():
    camera = PinholeCamera(800, 600, fx=500.0, fy=520.0, cx=410.0, cy=290.0)
    rng = np.random.default_rng(1)
    u, v = rng.uniform(0, 800, 40), rng.uniform(0, 600, 40)
    azimuth, elevation = camera.direction_deg(u, v)
    # The ray is (1, (cx - u)/fx, (cy - v)/fy): azimuth from its horizontal part, elevation above it.
    side, up = (410.0 - u) / 500.0, (290.0 - v) / 520.0
    np.testing.assert_allclose(azimuth, np.degrees(np.arctan2(side, 1.0)), atol=1e-9)
    np.testing.assert_allclose(elevation, np.degrees(np.arctan2(up, np.hypot(1.0, side))), atol=1e-9)


def test_lift_gives_z_depth_along_the_optical_axis_and_project_inverts_it():
    camera = PinholeCamera(640, 480, fx=600.0, fy=610.0, cx=315.0, cy=245.0)
    rng = np.random.default_rng(2)
    u, v, z = rng.uniform(0, 640, 100), rng.uniform(0, 480, 100), rng.uniform(0.3, 30.0, 100)
    points = camera.lift(u, v, z)
    assert points.shape == (100, 3)
    np.testing.assert_allclose(points[:, 0], z)  # z-depth is the forward coordinate, not the ray length
    np.testing.assert_allclose(points[:, 1], -z * (u - 315.0) / 600.0)
    np.testing.assert_allclose(points[:, 2], -z * (v - 245.0) / 610.0)
    u_back, v_back = camera.project(points)
    np.testing.assert_allclose(u_back, u, atol=1e-9)
    np.testing.assert_allclose(v_back, v, atol=1e-9)
    # Lifted points lie along the rays through their pixels.
    np.testing.assert_allclose(points / np.linalg.norm(points, axis=1, keepdims=True), camera.rays(u, v), atol=1e-12)


def test_project_agrees_with_the_listener_conventions_and_hides_points_behind():
    camera = PinholeCamera.from_fov(1000, 750, 80.0)
    point = spherical_to_cartesian(20.0, 10.0, 5.0)  # 20° left, 10° up, 5 m away
    u, v = camera.project(point)
    assert u < camera.cx and v < camera.cy  # left of and above the centre
    azimuth, elevation = camera.direction_deg(u, v)
    assert float(azimuth) == pytest.approx(20.0, abs=1e-9)
    assert float(elevation) == pytest.approx(10.0, abs=1e-9)
    u_behind, v_behind = camera.project(np.array([[-1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]))
    assert np.all(np.isnan(u_behind)) and np.all(np.isnan(v_behind))


def test_from_focal_35mm_uses_the_diagonal_definition():
    # A 4:3 frame with the 43.27 mm diagonal of 36 × 24 mm film is 34.62 mm wide.
    diagonal_mm = math.hypot(36.0, 24.0)
    width_mm = diagonal_mm * 4.0 / 5.0
    camera = PinholeCamera.from_focal_35mm(4000, 3000, 26.0)
    expected = 2.0 * math.degrees(math.atan(width_mm / 2.0 / 26.0))
    assert camera.horizontal_fov_deg == pytest.approx(expected, abs=1e-9)
    assert camera.horizontal_fov_deg == pytest.approx(67.3, abs=0.05)  # the documented figure
    # On a 3:2 picture the equivalent frame is the 36 mm film width itself.
    film = PinholeCamera.from_focal_35mm(3000, 2000, 26.0)
    assert film.horizontal_fov_deg == pytest.approx(2.0 * math.degrees(math.atan(18.0 / 26.0)), abs=1e-9)
    # The diagonal sees 2 atan(21.635 / f) whatever the aspect ratio.
    portrait = PinholeCamera.from_focal_35mm(900, 1600, 50.0)
    diagonal_fov = 2.0 * math.degrees(math.atan(math.hypot(450.0, 800.0) / portrait.fx))
    assert diagonal_fov == pytest.approx(2.0 * math.degrees(math.atan(diagonal_mm / 2.0 / 50.0)), abs=1e-9)


def test_camera_for_prefers_the_given_fov_then_exif_then_the_default():
    image = _image(800, 600, focal_35mm=26.0)
    camera, note = camera_for(image, 90.0)
    assert camera.horizontal_fov_deg == pytest.approx(90.0) and "--fov" in note
    camera, note = camera_for(image)
    assert camera.horizontal_fov_deg == pytest.approx(PinholeCamera.from_focal_35mm(800, 600, 26.0).horizontal_fov_deg)
    assert "EXIF" in note and "26 mm" in note
    camera, note = camera_for(_image(800, 600))
    assert camera.horizontal_fov_deg == pytest.approx(DEFAULT_HORIZONTAL_FOV_DEG)
    assert "assumed" in note and "--fov" in note
    assert (camera.width, camera.height) == (800, 600)


@pytest.mark.parametrize("fov", [0.0, 1e-9, 0.5, 179.5, 180.0, -10.0, float("nan")])
def test_from_fov_refuses_impossible_fields_of_view(fov):
    with pytest.raises(ParameterError, match="field of view"):
        PinholeCamera.from_fov(640, 480, fov)


@pytest.mark.parametrize("focal", [0.0, -26.0, float("inf")])
def test_from_focal_35mm_refuses_non_positive_focal_lengths(focal):
    with pytest.raises(ParameterError, match="35 mm-equivalent focal length"):
        PinholeCamera.from_focal_35mm(640, 480, focal)


def test_camera_refuses_bad_intrinsics_and_bad_point_arrays():
    with pytest.raises(ParameterError, match="image size must be positive"):
        PinholeCamera(0, 480, 500.0, 500.0, 0.0, 240.0)
    with pytest.raises(ParameterError, match="focal length fy"):
        PinholeCamera(640, 480, 500.0, float("nan"), 320.0, 240.0)
    with pytest.raises(ParameterError, match="principal point cx"):
        PinholeCamera(640, 480, 500.0, 500.0, float("inf"), 240.0)
    with pytest.raises(ParameterError, match=r"shape \(\.\.\., 3\)"):
        PinholeCamera.from_fov(640, 480, 60.0).project(np.zeros((4, 2)))
