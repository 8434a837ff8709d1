"""The model that ships inside the package: it loads offline, and on real photographs it puts the sound
on the side of the object."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from shared_data import SHARED_DATA
from soundstage.learn.inference import binauralize, load_binauralizer, picture_view, shipped_model_folder

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))


def test_the_shipped_model_is_small_complete_and_documents_its_recipe():
    folder = shipped_model_folder()
    weights = folder / "model.safetensors"
    assert weights.is_file() and weights.stat().st_size <= 20 * 2**20
    document = json.loads((folder / "config.json").read_text())
    assert document["architecture"] == "depth_attention"
    training = document["training"]
    assert training["data_recipe"]["scenes"] >= 1000 and training["step"] >= 1000
    assert training["run"]["model"] == "depth_attention"
    model = load_binauralizer()
    assert model.config.view.inputs == ("objects", "depth")


def high_band_ild_db(ears: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(ears, axis=1)) ** 2
    high = np.fft.rfftfreq(ears.shape[1], 1 / rate) > 1500.0
    return float(10 * np.log10(spectrum[0, high].sum() / spectrum[1, high].sum()))


@pytest.mark.parametrize("photo", ["truck.jpg", "groceries.jpg"])
def test_on_real_photos_the_sound_goes_to_the_object_s_side(photo):
    # A wide shot with the photo on one side (an out-of-focus surround elsewhere), and its mirror image:
    # the region finder finds the object on that side, and the model must put the sound there.
    path = SHARED_DATA / "images" / photo
    if not path.is_file():
        pytest.skip(f"../shared/data absent: {path} not found")
    from bench_learned_real_photos import wide_shot
    from soundstage.vision.image import load_image

    model = load_binauralizer()
    rgb = (load_image(path).rgb * 255).astype(np.uint8)
    rate = 16000
    mono = (0.1 * np.random.default_rng(0).standard_normal(3 * rate)).astype(np.float32)
    for side in ("left", "right"):
        for mirrored in (False, True):
            picture = wide_shot(rgb, side)
            picture = picture[:, ::-1].copy() if mirrored else picture
            expected = side if not mirrored else {"left": "right", "right": "left"}[side]
            view = picture_view(model.config.view, picture, fov_deg=65.0)
            ild = high_band_ild_db(binauralize(model, mono, rate, view).audio, rate)
            assert (ild > 0) == (expected == "left"), (photo, side, mirrored, ild)
