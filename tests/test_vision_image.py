"""Image loading: every colour mode to RGB in [0, 1], EXIF orientation, downscaling and bad files."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from shared_data import SHARED_DATA
from soundstage.errors import InputFileError, ParameterError
from soundstage.vision.camera import PinholeCamera, camera_for
from soundstage.vision.image import load_image, to_analysed, to_original

RED = (255, 0, 0)
BLUE = (0, 0, 255)


def _left_red_right_blue(width: int = 64, height: int = 32) -> Image.Image:
    img = Image.new("RGB", (width, height), BLUE)
    img.paste(RED, (0, 0, width // 2, height))
    return img


def _is_red(pixels: np.ndarray) -> bool:
    mean = pixels.reshape(-1, 3).mean(axis=0)
    return bool(mean[0] > 0.9 and mean[2] < 0.1)


def _is_blue(pixels: np.ndarray) -> bool:
    mean = pixels.reshape(-1, 3).mean(axis=0)
    return bool(mean[2] > 0.9 and mean[0] < 0.1)


# EXIF 2.3 orientation table: 3 = rotate 180°; 6 = stored row 0 is the visual right side and stored
# column 0 the visual top (rotate 90° clockwise to view); 8 = stored column 0 is the visual bottom.
@pytest.mark.parametrize(
    ("orientation", "size", "red_part", "blue_part"),
    [
        (3, (64, 32), np.s_[:, 40:], np.s_[:, :24]),
        (6, (32, 64), np.s_[:24, :], np.s_[40:, :]),
        (8, (32, 64), np.s_[40:, :], np.s_[:24, :]),
    ],
)
def test_exif_orientation_is_applied(tmp_path, orientation, size, red_part, blue_part):
    path = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = orientation
    _left_red_right_blue().save(path, exif=exif, quality=95)
    image = load_image(path)
    assert (image.width, image.height) == size and image.original_size == size
    assert _is_red(image.rgb[red_part]) and _is_blue(image.rgb[blue_part])
    assert any(f"EXIF orientation {orientation}" in note for note in image.notes)


def test_exif_focal_length_is_read_and_drives_the_camera(tmp_path):
    path = tmp_path / "phone.jpg"
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0xA405] = 26  # FocalLengthIn35mmFilm lives in the Exif sub-IFD
    Image.new("RGB", (400, 300), (90, 120, 150)).save(path, exif=exif)
    image = load_image(path)
    assert image.exif_focal_35mm == 26.0
    camera, note = camera_for(image)
    assert camera.fx == pytest.approx(PinholeCamera.from_focal_35mm(400, 300, 26.0).fx)
    assert "EXIF" in note
    plain = tmp_path / "plain.jpg"
    Image.new("RGB", (40, 30)).save(plain)
    assert load_image(plain).exif_focal_35mm is None


def test_cmyk_jpeg_becomes_rgb(tmp_path):
    path = tmp_path / "print.jpg"
    # Cyan 0, magenta and yellow full, no black: printed red.
    Image.new("CMYK", (48, 32), (0, 255, 255, 0)).save(path, quality=95)
    image = load_image(path)
    assert image.rgb.shape == (32, 48, 3) and image.rgb.dtype == np.float32
    np.testing.assert_allclose(image.rgb.reshape(-1, 3).mean(axis=0), [1.0, 0.0, 0.0], atol=0.03)
    assert any("CMYK" in note for note in image.notes)


def test_16_bit_grayscale_png_keeps_its_levels(tmp_path):
    path = tmp_path / "gray16.png"
    levels = np.linspace(0, 65535, 40 * 30).astype(np.uint16).reshape(30, 40)
    Image.fromarray(levels).save(path)
    image = load_image(path)
    expected = levels.astype(np.float64) / 65535.0
    for channel in range(3):
        np.testing.assert_allclose(image.rgb[..., channel], expected, atol=1e-6)
    # More than 256 distinct levels survive: the 16 bits were not truncated to 8.
    assert np.unique(image.rgb[..., 0]).size > 1000
    assert any("16-bit" in note for note in image.notes)


def test_float_tiff_is_used_as_is_or_scaled_by_its_maximum(tmp_path):
    unit = np.linspace(0.0, 1.0, 20, dtype=np.float32).reshape(4, 5)
    Image.fromarray(unit).save(tmp_path / "unit.tiff")
    np.testing.assert_allclose(load_image(tmp_path / "unit.tiff").rgb[..., 1], unit, atol=1e-7)
    Image.fromarray(unit * 4.0).save(tmp_path / "hdr.tiff")
    hdr = load_image(tmp_path / "hdr.tiff")
    np.testing.assert_allclose(hdr.rgb[..., 2], unit, atol=1e-6)
    assert any("maximum" in note for note in hdr.notes)


def test_grayscale_and_palette_images_become_rgb(tmp_path):
    gray = np.arange(256, dtype=np.uint8).reshape(16, 16)
    Image.fromarray(gray).save(tmp_path / "gray.png")
    image = load_image(tmp_path / "gray.png")
    np.testing.assert_allclose(image.rgb, np.repeat(gray[..., None] / 255.0, 3, axis=2), atol=1e-7)

    palette = Image.new("P", (8, 4))
    palette.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    palette.paste(1, (4, 0, 8, 4))  # right half uses palette entry 1 (blue)
    palette.save(tmp_path / "palette.png")
    image = load_image(tmp_path / "palette.png")
    assert _is_red(image.rgb[:, :4]) and _is_blue(image.rgb[:, 4:])
    assert any("palette" in note for note in image.notes)


def test_transparency_is_composited_on_white(tmp_path):
    rgba = np.zeros((2, 3, 4), dtype=np.uint8)
    rgba[0, 0] = (0, 0, 0, 0)  # transparent black
    rgba[0, 1] = (255, 0, 0, 255)  # opaque red
    rgba[0, 2] = (0, 0, 0, 128)  # half-transparent black
    rgba[1] = (0, 0, 255, 255)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    image = load_image(tmp_path / "rgba.png")
    np.testing.assert_allclose(image.rgb[0, 0], [1.0, 1.0, 1.0], atol=1e-7)
    np.testing.assert_allclose(image.rgb[0, 1], [1.0, 0.0, 0.0], atol=1e-7)
    # Over white: black · a + white · (1 − a).
    np.testing.assert_allclose(image.rgb[0, 2], [1.0 - 128 / 255] * 3, atol=1.5 / 255)
    assert any("composited on white" in note for note in image.notes)

    palette = Image.new("P", (4, 2), 0)
    palette.putpalette([0, 0, 0, 0, 200, 0] + [0] * 762)
    palette.paste(1, (2, 0, 4, 2))
    palette.info["transparency"] = 0  # entry 0 (black) is transparent
    palette.save(tmp_path / "palette_alpha.png", transparency=0)
    image = load_image(tmp_path / "palette_alpha.png")
    np.testing.assert_allclose(image.rgb[:, :2], 1.0, atol=1e-7)
    np.testing.assert_allclose(image.rgb[0, 3], [0.0, 200 / 255, 0.0], atol=1e-6)

    opaque = np.full((2, 2, 2), 255, dtype=np.uint8)
    opaque[..., 0] = 60
    Image.fromarray(opaque, "LA").save(tmp_path / "la.png")
    image = load_image(tmp_path / "la.png")
    np.testing.assert_allclose(image.rgb, 60 / 255, atol=1e-7)
    assert any("dropped" in note for note in image.notes)


def _square_centre(rgb: np.ndarray) -> tuple[float, float]:
    rows, cols = np.nonzero(rgb[..., 0] > 0.5)
    weights = rgb[rows, cols, 0]
    return float(np.average(cols + 0.5, weights=weights)), float(np.average(rows + 0.5, weights=weights))


def test_a_large_png_is_downscaled_and_coordinates_map_back(tmp_path):
    big = np.zeros((2000, 3000, 3), dtype=np.uint8)
    big[900:960, 1500:1560] = 255  # a square centred at (1530, 930) in full-resolution pixels
    Image.fromarray(big).save(tmp_path / "big.png", compress_level=1)
    image = load_image(tmp_path / "big.png", max_side=1024)
    assert (image.width, image.height) == (1024, 683)
    assert image.original_size == (3000, 2000) and image.scale == pytest.approx(1024 / 3000)
    u, v = to_original(*_square_centre(image.rgb), image)
    assert u == pytest.approx(1530.0, abs=1.5) and v == pytest.approx(930.0, abs=1.5)
    back_u, back_v = to_analysed(u, v, image)
    assert to_original(back_u, back_v, image) == pytest.approx((u, v))
    assert any("downscaled from 3000×2000 to 1024×683" in note for note in image.notes)
    assert load_image(tmp_path / "big.png", max_side=4000).scale == 1.0  # never upscaled


def test_a_large_jpeg_is_decoded_small_and_still_maps_back(tmp_path):
    big = np.zeros((3000, 4000, 3), dtype=np.uint8)
    big[2000:2100, 600:700] = 255  # centred at (650, 2050)
    Image.fromarray(big).save(tmp_path / "big.jpg", quality=90)
    image = load_image(tmp_path / "big.jpg", max_side=1000)
    assert (image.width, image.height) == (1000, 750) and image.original_size == (4000, 3000)
    u, v = to_original(*_square_centre(image.rgb), image)
    assert u == pytest.approx(650.0, abs=3.0) and v == pytest.approx(2050.0, abs=3.0)
    arrays = to_original(np.array([0.0, 1000.0]), np.array([0.0, 750.0]), image)
    np.testing.assert_allclose(arrays[0], [0.0, 4000.0])
    np.testing.assert_allclose(arrays[1], [0.0, 3000.0])
    assert any("JPEG decoded at reduced size" in note for note in image.notes)  # DCT scaling saved memory


@pytest.mark.parametrize("max_side", [0, -5, 2.5, True])
def test_max_side_must_be_a_positive_integer(tmp_path, max_side):
    Image.new("RGB", (4, 4)).save(tmp_path / "small.png")
    with pytest.raises(ParameterError, match="max_side"):
        load_image(tmp_path / "small.png", max_side=max_side)


def test_bad_files_are_input_errors_naming_the_file(tmp_path):
    with pytest.raises(InputFileError, match=r"missing\.jpg'.*does not exist"):
        load_image(tmp_path / "missing.jpg")
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(InputFileError, match=r"empty\.png' is empty"):
        load_image(tmp_path / "empty.png")
    with pytest.raises(InputFileError, match="is a folder, not an image file"):
        load_image(tmp_path)
    (tmp_path / "noise.jpg").write_bytes(np.random.default_rng(3).bytes(5000))
    with pytest.raises(InputFileError, match=r"noise\.jpg' is not an image file"):
        load_image(tmp_path / "noise.jpg")
    whole = tmp_path / "whole.jpg"
    noisy = np.random.default_rng(4).integers(0, 256, (200, 300, 3), dtype=np.uint8)
    Image.fromarray(noisy).save(whole, quality=95)
    (tmp_path / "cut.jpg").write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(InputFileError, match=r"cut\.jpg' is corrupt or truncated"):
        load_image(tmp_path / "cut.jpg")


def test_a_decompression_bomb_is_refused(tmp_path, monkeypatch):
    Image.new("RGB", (300, 200)).save(tmp_path / "bomb.png")
    # Pillow refuses images above twice MAX_IMAGE_PIXELS; shrink the limit instead of writing gigapixels.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10_000)
    with pytest.raises(InputFileError, match=r"bomb\.png' is too large to decode safely"):
        load_image(tmp_path / "bomb.png")


@pytest.mark.parametrize("name", ["truck.jpg", "groceries.jpg"])
def test_the_shared_photos_load(name):
    path = SHARED_DATA / "images" / name
    if not path.is_file():
        pytest.skip(f"../shared/data absent: {path} not found")
    image = load_image(path)
    with Image.open(path) as header:
        full_size = header.size
    assert image.original_size == full_size
    assert max(image.width, image.height) == min(1024, max(full_size))
    assert image.rgb.dtype == np.float32 and 0.0 <= image.rgb.min() and image.rgb.max() <= 1.0
    assert image.rgb.std() > 0.05  # a real picture, not a blank
