"""Depth backends against a scene this file ray-casts itself: known objects, exact z-depth, known camera.

The scene (listener frame, metres): camera at the origin looking along +x, 1.6 m above a floor
(z = −1.6), a back wall at x = 9; fronto-parallel cards (rectangles facing the camera) whose centres
are known exactly, one card standing on the floor, and a sphere.
"""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest
from PIL import Image

from soundstage.conventions import cartesian_to_spherical
from soundstage.errors import InputFileError, ParameterError
from soundstage.vision.camera import PinholeCamera, camera_for
from soundstage.vision.depth import DEPTH_BACKENDS, FileDepth, GeometricDepth
from soundstage.vision.depth.file import read_depth_file, reduce_depth
from soundstage.vision.depth.geometric import ground_contact_depth, ground_plane_depth
from soundstage.vision.image import load_image
from soundstage.vision.stages import LoadedImage
from synthetic_scene import (
    CAMERA_HEIGHT_M,
    CARDS,
    FLOOR,
    FOV_DEG,
    SPHERE,
    SPHERE_CENTRE,
    SPHERE_RADIUS,
    render,
    save_scene_files,
)


def _label_map(ids: np.ndarray, width: int, height: int) -> np.ndarray:
    """Object ids at the analysed size (nearest pixel centre)."""
    rows = ((np.arange(height) + 0.5) * ids.shape[0] / height).astype(int)
    cols = ((np.arange(width) + 0.5) * ids.shape[1] / width).astype(int)
    return ids[np.ix_(rows, cols)]


def _check_cards(image: LoadedImage, depth_map, ids_full: np.ndarray) -> None:
    """Each card's mask centroid lifted at its median depth lands on the card's known centre."""
    camera, _ = camera_for(image, FOV_DEG)
    ids = _label_map(ids_full, image.width, image.height)
    for index, card in enumerate(CARDS):
        mask = ids == 3 + index
        rows, cols = np.nonzero(mask)
        u, v = cols.mean() + 0.5, rows.mean() + 0.5
        z = float(np.nanmedian(depth_map.z_m[mask]))
        estimate = camera.lift(u, v, z)
        az, el, dist = cartesian_to_spherical(estimate)
        true_az, true_el, true_dist = cartesian_to_spherical(np.array(card.centre))
        assert abs(dist - true_dist) / true_dist < 0.02, card
        assert abs(az - true_az) < 1.0 and abs(el - true_el) < 1.0, card


def test_file_depth_from_a_16_bit_png_places_objects_where_they_are(tmp_path):
    _, ids, _ = save_scene_files(tmp_path, 640, 480)
    image = load_image(tmp_path / "scene.png")
    depth_map = FileDepth(tmp_path / "depth.png").estimate(image, horizontal_fov_deg=FOV_DEG)
    assert depth_map.metric and depth_map.backend == "file" and depth_map.z_m.shape == (480, 640)
    assert "values in mm" in depth_map.notes[0]
    _check_cards(image, depth_map, ids)
    # Every lifted sphere pixel lies on the sphere (mm quantisation → sub-2-mm error).
    camera, _ = camera_for(image, FOV_DEG)
    rows, cols = np.nonzero(ids == SPHERE)
    points = camera.lift(cols + 0.5, rows + 0.5, depth_map.z_m[rows, cols])
    np.testing.assert_allclose(np.linalg.norm(points - SPHERE_CENTRE, axis=1), SPHERE_RADIUS, atol=2e-3)


def test_file_depth_from_npy_reduced_for_a_downscaled_image_keeps_positions(tmp_path):
    _, ids, _ = save_scene_files(tmp_path, 1280, 960)
    image = load_image(tmp_path / "scene.png", max_side=640)
    assert image.scale == pytest.approx(0.5)
    depth_map = FileDepth(tmp_path / "depth.npy").estimate(image, horizontal_fov_deg=FOV_DEG)
    assert depth_map.z_m.shape == (480, 640) and any("reduced from 1280×960" in n for n in depth_map.notes)
    _check_cards(image, depth_map, ids)
    # Inside an object the reduced depth is one of that object's depths, not a blend with the background.
    small_ids = _label_map(ids, 640, 480)
    inside = (small_ids == 3) & (np.roll(small_ids, 2, 0) == 3) & (np.roll(small_ids, -2, 0) == 3)
    inside &= (np.roll(small_ids, 2, 1) == 3) & (np.roll(small_ids, -2, 1) == 3)
    np.testing.assert_allclose(depth_map.z_m[inside], CARDS[0].centre[0], rtol=1e-6)


def test_reduce_depth_is_a_nan_aware_median_over_each_footprint():
    z = np.arange(64, dtype=np.float32).reshape(8, 8)
    np.testing.assert_allclose(reduce_depth(z, 2, 2), [[13.5, 17.5], [45.5, 49.5]])  # 4×4 block medians
    z[:4, :4] = np.nan
    z[0, 4:] = np.nan
    reduced = reduce_depth(z, 2, 2)
    assert np.isnan(reduced[0, 0])  # no valid sample in the footprint
    assert reduced[0, 1] == np.median(np.arange(64).reshape(8, 8)[1:4, 4:])  # holes ignored
    assert reduce_depth(z, 8, 8) is not z and np.array_equal(reduce_depth(z, 8, 8), z, equal_nan=True)


def test_zero_and_invalid_depth_is_unknown_and_units_can_be_stated(tmp_path):
    raw = np.array([[0, 1500], [2500, 65535]], dtype=np.uint16)
    Image.fromarray(raw).save(tmp_path / "d.png")
    z_m, notes = read_depth_file(tmp_path / "d.png")
    np.testing.assert_allclose(z_m, [[np.nan, 1.5], [2.5, 65.535]])
    assert "25.0% of pixels have no depth" in notes[1]
    tum, _ = read_depth_file(tmp_path / "d.png", units=0.0002)  # TUM RGB-D: 5000 units per metre
    np.testing.assert_allclose(tum[0, 1], 0.3, rtol=1e-6)
    np.save(tmp_path / "mm.npy", raw.astype(np.int32))
    with pytest.raises(InputFileError, match=r"holds integers \(NPY of int32\) with no stated unit"):
        read_depth_file(tmp_path / "mm.npy")
    image = LoadedImage(np.zeros((2, 2, 3), np.float32), "x.png", (2, 2))
    stated = FileDepth(tmp_path / "mm.npy", units="mm").estimate(image, horizontal_fov_deg=60.0)
    np.testing.assert_allclose(stated.z_m, [[np.nan, 1.5], [2.5, 65.535]], rtol=1e-6)
    np.save(tmp_path / "bad.npy", np.array([[-1.0, np.inf], [np.nan, 2.0]]))
    np.testing.assert_allclose(read_depth_file(tmp_path / "bad.npy")[0], [[np.nan, np.nan], [np.nan, 2.0]])


def test_npz_archives_use_the_depth_array(tmp_path):
    depth = np.full((3, 4), 2.5, dtype=np.float32)
    np.savez(tmp_path / "one.npz", anything=depth)
    np.savez(tmp_path / "named.npz", rgb=np.zeros((3, 4, 3)), depth=depth * 2)
    np.savez(tmp_path / "many.npz", a=depth, b=depth)
    np.testing.assert_allclose(read_depth_file(tmp_path / "one.npz")[0], 2.5)
    np.testing.assert_allclose(read_depth_file(tmp_path / "named.npz")[0], 5.0)
    with pytest.raises(InputFileError, match=r"holds arrays \['a', 'b'\] and none is named depth"):
        read_depth_file(tmp_path / "many.npz")


def test_depth_of_another_size_is_refused_naming_both_sizes(tmp_path):
    Image.fromarray(np.full((480, 640), 1000, dtype=np.uint16)).save(tmp_path / "depth.png")
    image = LoadedImage(np.zeros((360, 640, 3), np.float32), "photo.jpg", (1280, 720), scale=0.5)
    with pytest.raises(InputFileError, match="the depth map is 640×480 but the image is 1280×720; give the depth map"):
        FileDepth(tmp_path / "depth.png").estimate(image, horizontal_fov_deg=60.0)


def test_pictures_of_depth_and_unknown_files_are_refused(tmp_path):
    Image.fromarray(np.full((4, 4), 200, dtype=np.uint8)).save(tmp_path / "eight.png")
    with pytest.raises(InputFileError, match=r"8-bit image .* cannot hold metric depth"):
        read_depth_file(tmp_path / "eight.png")
    Image.new("RGB", (4, 4), (10, 20, 30)).save(tmp_path / "colour.png")
    with pytest.raises(InputFileError, match="colour image"):
        read_depth_file(tmp_path / "colour.png")
    (tmp_path / "depth.jpg").write_bytes(b"\xff\xd8 not really")
    with pytest.raises(InputFileError, match=r"unsupported type '\.jpg'"):
        read_depth_file(tmp_path / "depth.jpg")
    with pytest.raises(InputFileError, match=r"nowhere\.png'.*does not exist"):
        read_depth_file(tmp_path / "nowhere.png")
    (tmp_path / "empty.npy").write_bytes(b"")
    with pytest.raises(InputFileError, match="is empty"):
        read_depth_file(tmp_path / "empty.npy")
    (tmp_path / "junk.npy").write_bytes(b"not an npy file at all")
    with pytest.raises(InputFileError, match="not a readable NPY"):
        read_depth_file(tmp_path / "junk.npy")
    (tmp_path / "junk.png").write_bytes(b"not a png file at all")
    with pytest.raises(InputFileError, match="not an image"):
        read_depth_file(tmp_path / "junk.png")
    np.save(tmp_path / "cube.npy", np.ones((2, 3, 4)))
    with pytest.raises(InputFileError, match=r"shape \(2, 3, 4\); a depth map is \(H, W\)"):
        read_depth_file(tmp_path / "cube.npy")
    np.save(tmp_path / "flags.npy", np.ones((2, 3), dtype=bool))
    with pytest.raises(InputFileError, match="dtype bool"):
        read_depth_file(tmp_path / "flags.npy")


@pytest.mark.parametrize(("units", "message"), [("furlong", "unknown"), (-1.0, "positive"), ("", "unknown")])
def test_depth_units_must_be_known(units, message):
    with pytest.raises(ParameterError, match=message):
        FileDepth("depth.png", units=units)


def test_exr_without_openexr_says_how_to_convert(tmp_path, monkeypatch):
    (tmp_path / "depth.exr").write_bytes(b"v/1\x01 pretend")
    monkeypatch.setitem(sys.modules, "OpenEXR", None)  # makes `import OpenEXR` fail
    with pytest.raises(InputFileError, match=r"needs the OpenEXR Python module .* NPY in metres"):
        read_depth_file(tmp_path / "depth.exr")


def test_exr_depth_channel_is_read_in_metres(tmp_path):
    openexr = pytest.importorskip("OpenEXR")
    z = np.linspace(0.5, 6.0, 12, dtype=np.float32).reshape(3, 4)
    header = {"compression": openexr.ZIP_COMPRESSION, "type": openexr.scanlineimage}
    with openexr.File(header, {"Z": z, "A": np.ones_like(z)}) as exr:
        exr.write(str(tmp_path / "depth.exr"))
    np.testing.assert_allclose(read_depth_file(tmp_path / "depth.exr")[0], z)
    with openexr.File(header, {"U": z, "V": z}) as exr:
        exr.write(str(tmp_path / "flow.exr"))
    with pytest.raises(InputFileError, match=r"channels \['U', 'V'\] and none is a depth channel"):
        read_depth_file(tmp_path / "flow.exr")


def test_geometric_prior_matches_a_ray_cast_ground_plane():
    depth, ids, camera = render(320, 240)
    image = LoadedImage(np.zeros((240, 320, 3), np.float32), "scene.png", (320, 240))
    prior = GeometricDepth(camera_height_m=CAMERA_HEIGHT_M).estimate(image, horizontal_fov_deg=FOV_DEG)
    assert prior.metric is False and prior.backend == "geometric"
    assert "no depth above the horizon" in prior.notes[0] and "1.6 m" in prior.notes[0]
    floor = ids == FLOOR
    np.testing.assert_allclose(prior.z_m[floor], depth[floor], rtol=1e-5)
    assert np.all(np.isnan(prior.z_m[:120])) and np.all(np.isfinite(prior.z_m[120:]))
    # The closed form h · fy / (v − cy) at pixel centres.
    v = np.arange(120, 240) + 0.5
    np.testing.assert_allclose(prior.z_m[120:, 7], CAMERA_HEIGHT_M * camera.fy / (v - camera.cy), rtol=1e-6)


def test_geometric_horizon_is_given_in_original_pixels():
    image = LoadedImage(np.zeros((240, 320, 3), np.float32), "big.jpg", (1280, 960), scale=0.25)
    prior = GeometricDepth(camera_height_m=2.0, horizon_v=600.0).estimate(image, horizontal_fov_deg=90.0)
    finite_rows = np.flatnonzero(np.isfinite(prior.z_m[:, 0]))
    assert finite_rows[0] == 150  # row 600 of 960 is row 150 of 240
    camera = PinholeCamera.from_fov(320, 240, 90.0)
    assert prior.z_m[150, 0] == pytest.approx(2.0 * camera.fy / 0.5, rel=1e-6)
    assert "row 600 of the original image" in prior.notes[1]


def test_ground_contact_depth_places_a_standing_object_and_not_a_floating_one():
    _, ids, camera = render(640, 480)
    standing = ground_contact_depth(ids == 5, camera, CAMERA_HEIGHT_M)
    assert standing == pytest.approx(CARDS[2].centre[0], rel=0.02)
    assert math.isnan(ground_contact_depth(ids == 4, camera, CAMERA_HEIGHT_M))  # above the horizon
    # Same rule as the per-pixel ground plane one row below the contact line.
    rows = np.flatnonzero((ids == 5).any(axis=1))
    plane = ground_plane_depth(camera, CAMERA_HEIGHT_M, horizon_v=camera.cy - 0.5)
    assert standing == pytest.approx(float(plane[rows[-1], 0]), rel=1e-6)


def test_geometric_errors_name_the_field():
    camera = PinholeCamera.from_fov(40, 30, 60.0)
    with pytest.raises(ParameterError, match="camera height"):
        GeometricDepth(camera_height_m=0.0)
    with pytest.raises(ParameterError, match="horizon_v"):
        GeometricDepth(horizon_v=float("nan"))
    with pytest.raises(ParameterError, match="region mask is empty"):
        ground_contact_depth(np.zeros((30, 40), bool), camera, 1.6)
    with pytest.raises(ParameterError, match="region mask is 10×10 but the camera image is 40×30"):
        ground_contact_depth(np.ones((10, 10), bool), camera, 1.6)
    with pytest.raises(ParameterError, match="camera height"):
        ground_plane_depth(camera, -1.0)


def test_registry_lists_and_builds_the_depth_backends(tmp_path):
    assert DEPTH_BACKENDS.names() == ["file", "geometric", "transformers"]
    assert isinstance(DEPTH_BACKENDS.create("file", path=tmp_path / "d.npy", units="m"), FileDepth)
    backend = DEPTH_BACKENDS.create("geometric", camera_height_m=1.2)
    assert isinstance(backend, GeometricDepth) and backend.camera_height_m == 1.2 and not backend.needs_weights
    with pytest.raises(ParameterError, match="unknown depth backend 'lidar'; use one of file, geometric"):
        DEPTH_BACKENDS.create("lidar")
