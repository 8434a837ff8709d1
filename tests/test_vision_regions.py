"""Sounding regions: the classical finder on drawn scenes and real photos, and the user's boxes and points."""

from __future__ import annotations

import numpy as np
import pytest

from shared_data import SHARED_DATA
from soundstage.errors import ParameterError
from soundstage.vision.regions import REGION_BACKENDS, _lazy
from soundstage.vision.regions.classical import ClassicalRegions, analyse_image, segment_at
from soundstage.vision.regions.user import UserRegions, parse_region_option
from soundstage.vision.stages import LoadedImage

IMAGES = SHARED_DATA / "images"


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.count_nonzero(a & b) / np.count_nonzero(a | b))


def shapes_scene(height: int = 240, width: int = 320, seed: int = 0) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """A noisy beige wall with a red disc, a green square and a blue triangle at known places."""
    rng = np.random.default_rng(seed)
    s = width / 320
    v, u = (np.mgrid[0:height, 0:width] + 0.5) / s
    disc = (u - 70) ** 2 + (v - 80) ** 2 < 40**2
    square = (u > 180) & (u < 250) & (v > 40) & (v < 110)
    triangle = (v > 140) & (v < 220) & (np.abs(u - 150) < (v - 140) * 50 / 80)
    rgb = np.empty((height, width, 3))
    rgb[:] = (0.82, 0.80, 0.74)
    rgb[disc] = (0.85, 0.15, 0.10)
    rgb[square] = (0.10, 0.55, 0.20)
    rgb[triangle] = (0.15, 0.20, 0.80)
    rgb += rng.normal(0.0, 0.03, rgb.shape)
    return np.clip(rgb, 0, 1).astype(np.float32), {"disc": disc, "square": square, "triangle": triangle}


def sky_floor_scene(height: int = 240, width: int = 320, seed: int = 1) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """A blue-gradient sky over a grey floor, an orange ellipse across the horizon and a purple box."""
    rng = np.random.default_rng(seed)
    v, u = np.mgrid[0:height, 0:width] + 0.5
    horizon = 0.45 * height
    sky = v < horizon
    t = np.clip(v / horizon, 0, 1)
    rgb = np.stack([0.35 + 0.4 * t, 0.55 + 0.3 * t, np.full_like(t, 0.95)], axis=-1)
    rgb[~sky] = (0.5, 0.5, 0.5)
    ellipse = (u - 90) ** 2 / 30**2 + (v - 150) ** 2 / 45**2 < 1
    box = (u > 200) & (u < 260) & (v > 130) & (v < 200)
    rgb[ellipse] = (0.95, 0.55, 0.10)
    rgb[box] = (0.60, 0.10, 0.50)
    rgb += rng.normal(0.0, 0.02, rgb.shape)
    truth = {"ellipse": ellipse, "box": box, "sky": sky & ~ellipse, "floor": ~sky & ~ellipse & ~box}
    return np.clip(rgb, 0, 1).astype(np.float32), truth


def loaded(rgb: np.ndarray, path: str = "scene.png", *, scale: float = 1.0) -> LoadedImage:
    height, width = rgb.shape[:2]
    return LoadedImage(rgb=rgb, path=path, original_size=(round(width / scale), round(height / scale)), scale=scale)


def half_size(rgb: np.ndarray) -> np.ndarray:
    return rgb.reshape(rgb.shape[0] // 2, 2, rgb.shape[1] // 2, 2, 3).mean(axis=(1, 3))


# --- registry -------------------------------------------------------------------------------------------


def test_registry_lists_all_region_backends_and_builds_the_offline_ones():
    assert REGION_BACKENDS.names() == ["classical", "user", "detect", "sam"]
    assert isinstance(REGION_BACKENDS.create("classical"), ClassicalRegions)
    assert isinstance(REGION_BACKENDS.create("user", boxes={"a": (0, 0, 4, 4)}), UserRegions)
    with pytest.raises(ParameterError, match="unknown regions backend 'yolo'; use one of classical, user"):
        REGION_BACKENDS.create("yolo")


def test_lazy_factory_says_when_a_module_has_no_backend_of_that_name():
    with pytest.raises(ImportError, match="defines no RegionBackend subclass with name = 'nope'"):
        _lazy("nope", "soundstage.vision.regions.classical")()


# --- classical finder -------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [(240, 320), (480, 640)])
def test_classical_finds_the_three_shapes_and_ranks_them_above_the_background(size):
    rgb, truth = shapes_scene(*size)
    regions = ClassicalRegions().find(loaded(rgb), labels=None, max_regions=10)
    assert len(regions) >= 3
    top = regions[:3]
    for name, mask in truth.items():
        assert max(iou(r.mask, mask) for r in top) >= 0.7, name
    background = ~(truth["disc"] | truth["square"] | truth["triangle"])
    for region in regions[3:]:
        assert region.score < 0.5 * top[-1].score
    assert all(iou(r.mask, background) < 0.1 for r in regions)
    assert [r.score for r in regions] == sorted((r.score for r in regions), reverse=True)
    for region in top:
        rows, cols = np.nonzero(region.mask)
        assert region.box == (cols.min(), rows.min(), cols.max() + 1, rows.max() + 1)
        assert region.label is None and region.backend == "classical" and 0 <= region.score <= 1


def test_classical_returns_unlabelled_regions_when_asked_for_labels():
    rgb, _ = shapes_scene()
    regions = ClassicalRegions().find(loaded(rgb), labels=["guitar", "drum"], max_regions=2)
    assert len(regions) == 2
    assert [r.label for r in regions] == [None, None]


def test_classical_does_not_return_sky_or_floor():
    rgb, truth = sky_floor_scene()
    regions = ClassicalRegions().find(loaded(rgb), labels=None, max_regions=8)
    assert len(regions) >= 2
    assert {max(("ellipse", "box"), key=lambda k, r=r: iou(r.mask, truth[k])) for r in regions[:2]} == {
        "ellipse",
        "box",
    }
    assert iou(regions[0].mask, truth["ellipse"]) >= 0.7 or iou(regions[0].mask, truth["box"]) >= 0.7
    assert max(iou(r.mask, truth["ellipse"]) for r in regions) >= 0.7
    assert max(iou(r.mask, truth["box"]) for r in regions) >= 0.7
    for region in regions:
        assert np.count_nonzero(region.mask & truth["sky"]) < 0.2 * np.count_nonzero(region.mask)
        assert np.count_nonzero(region.mask & truth["floor"]) < 0.2 * np.count_nonzero(region.mask)


def test_classical_finds_nothing_in_an_empty_sky():
    rgb, _ = sky_floor_scene(height=100, width=160)
    sky_only = np.repeat(rgb[:40].mean(axis=1, keepdims=True), 160, axis=1)
    sky_only = np.concatenate([sky_only, sky_only[::-1]], axis=0)
    assert ClassicalRegions().find(loaded(sky_only), labels=None, max_regions=5) == []


def test_classical_bad_settings_and_images_are_errors():
    rgb, _ = shapes_scene()
    with pytest.raises(ParameterError, match="max_regions must be at least 1, got 0"):
        ClassicalRegions().find(loaded(rgb), labels=None, max_regions=0)
    with pytest.raises(ParameterError, match=r"tiny.png: 5×6 px is too small to find regions in"):
        ClassicalRegions().find(loaded(rgb[:6, :5], "tiny.png"), labels=None, max_regions=1)
    with pytest.raises(ParameterError, match=r"expected an RGB image of shape \(H, W, 3\)"):
        ClassicalRegions().find(loaded(rgb[..., :2], "two.png"), labels=None, max_regions=1)
    with pytest.raises(ParameterError, match="analysis_size must be at least 16 pixels"):
        ClassicalRegions(analysis_size=8)
    with pytest.raises(ParameterError, match="n_superpixels must be at least 4"):
        ClassicalRegions(n_superpixels=2)


def test_segment_at_a_point_on_the_background_is_the_background():
    rgb, truth = shapes_scene()
    analysis = analyse_image(rgb)
    background = ~(truth["disc"] | truth["square"] | truth["triangle"])
    assert iou(segment_at(analysis, 300.0, 10.0), background) >= 0.9
    assert iou(segment_at(analysis, 70.0, 80.0), truth["disc"]) >= 0.7


def _need_image(name: str):
    path = IMAGES / name
    if not path.is_file():
        pytest.skip(f"../shared/data absent: {path} not found")
    from PIL import Image

    with Image.open(path) as image:
        rgb = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
    return loaded(rgb, str(path))


@pytest.mark.parametrize("name", ["truck.jpg", "groceries.jpg"])
def test_classical_on_real_photos_picks_an_object_not_sky_or_road(name):
    image = _need_image(name)
    regions = ClassicalRegions().find(image, labels=None, max_regions=8)
    assert len(regions) >= 1
    best = regions[0].mask
    # Sky and road fill the top and bottom edges of these photos; the best region touches neither.
    assert not best[0].any() and not best[-1].any()
    assert regions[0].area_fraction <= 0.35


# --- user regions -----------------------------------------------------------------------------------------


def test_user_box_in_original_pixels_is_scaled_and_refined_to_the_object():
    full, truth = shapes_scene(480, 640)
    image = loaded(half_size(full), "shapes.jpg", scale=0.5)
    disc_half = shapes_scene(240, 320)[1]["disc"]  # the same disc drawn at the analysed size
    boxes = {"Drum": (40, 60, 240, 260), "empty": (400, 300, 600, 420)}
    drum, empty = UserRegions(boxes).find(image, labels=None, max_regions=5)
    assert drum.label == "Drum" and drum.backend == "user" and drum.score == 1.0
    assert drum.box == (20.0, 30.0, 120.0, 130.0)
    assert iou(drum.mask, disc_half) >= 0.7
    assert not drum.mask[:30].any() and not drum.mask[:, 120:].any()
    # Nothing stands out in the second box: the mask is the whole box, pixel for pixel.
    expected = np.zeros_like(empty.mask)
    expected[150:210, 200:300] = True
    assert np.array_equal(empty.mask, expected)
    assert truth["disc"].shape == (480, 640)


def test_user_points_pick_the_segment_under_them():
    full, _ = shapes_scene(480, 640)
    image = loaded(half_size(full), "shapes.jpg", scale=0.5)
    truth = shapes_scene(240, 320)[1]
    regions = UserRegions([("bell", (430, 150)), (None, (300, 360))]).find(image, labels=None, max_regions=2)
    assert [r.label for r in regions] == ["bell", None]
    assert iou(regions[0].mask, truth["square"]) >= 0.7
    assert iou(regions[1].mask, truth["triangle"]) >= 0.7


def test_user_regions_accept_every_form_and_filter_by_label():
    rgb, _ = shapes_scene()
    given = ["guitar=10,20,60,80", ("Drum", (100, 100, 150, 150)), (200, 10, 260, 40)]
    backend = UserRegions(given)
    assert [e[0] for e in backend.entries] == ["guitar", "Drum", None]
    regions = backend.find(loaded(rgb), labels=[" drum ", "GUITAR", "bass"], max_regions=5)
    assert [r.label for r in regions] == ["Drum", "guitar"]
    assert len(backend.find(loaded(rgb), labels=None, max_regions=2)) == 2
    # A box smaller than a pixel of the analysed image still covers one pixel.
    [tiny] = UserRegions({"bee": (100.2, 100.2, 100.4, 100.4)}).find(
        loaded(half_size(shapes_scene(480, 640)[0]), scale=0.5), labels=None, max_regions=1
    )
    assert np.count_nonzero(tiny.mask) == 1 and tiny.mask[50, 50]


def test_parse_region_option():
    assert parse_region_option("guitar=10,20,200,300") == ("guitar", (10.0, 20.0, 200.0, 300.0))
    assert parse_region_option("big drum = 1.5, 2 ") == ("big drum", (1.5, 2.0))
    assert parse_region_option("0,0,640,480", image_size=(640, 480)) == (None, (0.0, 0.0, 640.0, 480.0))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("guitar=10,abc,200,300", r"'abc' is not a number; write LABEL=x0,y0,x1,y1"),
        ("guitar=10,20,30", "expected 2 numbers \\(a point\\) or 4 \\(a box\\), got 3"),
        ("guitar=200,20,10,300", r"x1 \(10\) must be greater than x0 \(200\)"),
        ("guitar=10,300,200,20", r"y1 \(20\) must be greater than y0 \(300\)"),
        ("guitar=-5,20", "coordinates must be 0 or more"),
        ("guitar=nan,20", "coordinates must be finite numbers"),
        ("=10,20", "the label before '=' is empty"),
        ("guitar=10,20,700,300", r"box \(10, 20, 700, 300\) lies outside the image \(640×480 px\)"),
        ("guitar=100,480", r"point \(100, 480\) lies outside the image \(640×480 px\)"),
    ],
)
def test_parse_region_option_errors(text, message):
    with pytest.raises(ParameterError, match=message):
        parse_region_option(text, image_size=(640, 480))


def test_user_region_errors():
    rgb, _ = shapes_scene()
    image = loaded(half_size(rgb), "street.jpg", scale=0.5)  # original 320×240
    with pytest.raises(ParameterError, match=r"region 'car' in street.jpg: box \(0, 0, 400, 100\) lies outside"):
        UserRegions({"car": (0, 0, 400, 100)}).find(image, labels=None, max_regions=1)
    with pytest.raises(ParameterError, match=r"region 'car': coordinates 'abc' are not numbers"):
        UserRegions({"car": "abc"})
    with pytest.raises(ParameterError, match=r"region 'car': x1 \(1\) must be greater than x0 \(5\)"):
        UserRegions({"car": (5, 0, 1, 4)})
    with pytest.raises(ParameterError, match="user regions: max_regions must be at least 1"):
        UserRegions({"car": (0, 0, 4, 4)}).find(image, labels=None, max_regions=0)
