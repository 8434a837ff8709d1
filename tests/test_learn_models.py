"""Learned binauralizers: the STFT front end, window overlap-add, shapes and checkpoints."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from soundstage.errors import InputFileError, ParameterError
from soundstage.learn.inference import overlap_add
from soundstage.learn.models.depth_attention import DepthAttention, DepthAttentionConfig
from soundstage.learn.models.mono2binaural import Mono2Binaural, Mono2BinauralConfig
from soundstage.learn.pretrained import load_model
from soundstage.learn.spectral import SpectralConfig, complex_multiply, istft, stft
from soundstage.learn.view import ViewConfig, build_view, nearness

TINY_VIEW = ViewConfig(inputs=("objects", "depth"), height=32, width=64)


def tiny_depth_attention(**changes) -> DepthAttention:
    config = DepthAttentionConfig(
        view=TINY_VIEW, base_channels=4, embed_dim=16, encoder_layers=1, heads=2, attention_dim=8, **changes
    )
    return DepthAttention(config)


def tiny_mono2binaural() -> Mono2Binaural:
    return Mono2Binaural(Mono2BinauralConfig(view=TINY_VIEW, base_channels=4, visual_channels=2))


def test_stft_and_istft_are_inverse_and_follow_the_protocol():
    config = SpectralConfig()
    audio = torch.from_numpy(np.random.default_rng(0).standard_normal((2, config.crop_samples)).astype(np.float32))
    spectrum = stft(audio, config)
    assert spectrum.shape == (2, 2, 256, 64)  # 0.63 s at 16 kHz, hop 160: 64 frames of 256 bins
    # The dropped Nyquist bin is the only loss: a signal without energy near it comes back to within
    # -60 dB (the periodic Hann window's leakage reaches the Nyquist bin at about that level; at the
    # ends, reflect-padded frames leak more, so they are left out).
    t = np.arange(config.crop_samples) / config.sample_rate
    tones = sum(np.sin(2 * np.pi * f * t + f) for f in (125.0, 1000.0, 3312.5, 5000.0)).astype(np.float32)
    back = istft(stft(torch.from_numpy(tones[None]), config), config, len(tones))
    assert np.allclose(back.numpy()[0, 256:-256], tones[256:-256], atol=2e-3)


def test_complex_multiply_is_complex_multiplication():
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((2, 1, 2, 3, 4))
    product = complex_multiply(torch.from_numpy(a), torch.from_numpy(b)).numpy()
    expected = (a[:, 0] + 1j * a[:, 1]) * (b[:, 0] + 1j * b[:, 1])
    assert np.allclose(product[:, 0], expected.real) and np.allclose(product[:, 1], expected.imag)


@pytest.mark.parametrize("hop", [1, 100, 5040, 10080])
def test_window_overlap_add_of_an_identity_model_returns_its_input(hop):
    signal = np.random.default_rng(2).standard_normal(23_456).astype(np.float32)
    assert np.allclose(overlap_add(signal, 10080, lambda batch: batch, hop_samples=hop), signal, atol=1e-5)


def test_window_overlap_add_of_a_gain_model_is_that_gain_everywhere():
    signal = np.ones(5000, dtype=np.float32)
    out = overlap_add(signal, 1000, lambda batch: 3.0 * batch, hop_samples=500)
    assert np.allclose(out, 3.0)


@pytest.mark.parametrize("make", [tiny_depth_attention, tiny_mono2binaural])
def test_models_predict_a_difference_spectrum_of_the_mix_shape(make):
    model = make()
    mix = torch.randn(3, 2, 256, 64)
    out = model(mix, torch.rand(3, TINY_VIEW.n_channels, 32, 64))
    assert out["difference"].shape == mix.shape
    assert torch.all(out["mask"].abs() <= 1.0)
    loss, parts = model.loss(out, torch.randn_like(mix))
    loss.backward()
    assert np.isfinite(float(loss.detach())) and "stft" in parts


def test_a_silent_mix_gives_a_silent_difference():
    # The output is a mask on the mix: no sound in, no sound out, whatever the picture.
    model = tiny_depth_attention().eval()
    with torch.no_grad():
        out = model(torch.zeros(1, 2, 256, 64), torch.rand(1, 2, 32, 64))
    assert float(out["difference"].abs().max()) == 0.0


@pytest.mark.parametrize("make", [tiny_depth_attention, tiny_mono2binaural])
def test_save_and_load_give_the_same_network(make, tmp_path):
    torch.manual_seed(0)
    model = make().eval()
    model.save_pretrained(tmp_path / "model")
    assert sorted(p.name for p in (tmp_path / "model").iterdir()) == ["config.json", "model.safetensors"]
    loaded = load_model(tmp_path / "model")
    assert type(loaded) is type(model) and loaded.config == model.config
    mix, view = torch.randn(2, 2, 256, 64), torch.rand(2, 2, 32, 64)
    with torch.no_grad():
        assert torch.equal(model(mix, view)["difference"], loaded(mix, view)["difference"])


def test_saving_over_a_model_needs_overwrite(tmp_path):
    model = tiny_mono2binaural()
    model.save_pretrained(tmp_path / "m")
    with pytest.raises(Exception, match="overwrite"):
        model.save_pretrained(tmp_path / "m")
    model.save_pretrained(tmp_path / "m", overwrite=True)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging folder left


def test_bad_checkpoints_are_one_clear_error(tmp_path):
    tiny_depth_attention().save_pretrained(tmp_path / "da")
    with pytest.raises(InputFileError, match="'depth_attention' checkpoint, not 'mono2binaural'"):
        Mono2Binaural.from_pretrained(tmp_path / "da")
    with pytest.raises(InputFileError, match="no such model folder"):
        load_model(tmp_path / "missing")
    config = json.loads((tmp_path / "da" / "config.json").read_text())

    newer = tmp_path / "newer"
    tiny_depth_attention().save_pretrained(newer)
    (newer / "config.json").write_text(json.dumps({**config, "format_version": 99}))
    with pytest.raises(InputFileError, match="newer than this soundstage reads"):
        load_model(newer)

    other_size = tmp_path / "other"
    tiny_depth_attention().save_pretrained(other_size)
    (other_size / "config.json").write_text(json.dumps({**config, "config": {**config["config"], "base_channels": 8}}))
    with pytest.raises(InputFileError, match="do not fit"):
        load_model(other_size)

    unknown = tmp_path / "unknown"
    tiny_depth_attention().save_pretrained(unknown)
    (unknown / "config.json").write_text(json.dumps({**config, "config": {**config["config"], "wings": 2}}))
    with pytest.raises(InputFileError, match="unknown config field"):
        load_model(unknown)

    corrupt = tmp_path / "corrupt"
    tiny_depth_attention().save_pretrained(corrupt)
    (corrupt / "model.safetensors").write_bytes(b"\x00" * 64)
    with pytest.raises(InputFileError, match="not a readable safetensors file"):
        load_model(corrupt)

    (corrupt / "config.json").write_text("{not json")
    with pytest.raises(InputFileError, match="not valid JSON"):
        load_model(corrupt)


def test_the_view_resizes_and_encodes_each_channel():
    config = ViewConfig(inputs=("objects", "depth", "rgb"), height=4, width=8)
    objects = np.zeros((8, 16), dtype=np.float32)
    objects[:, :8] = 1.0  # left half
    depth = np.full((8, 16), 3.0, dtype=np.float32)
    depth[0, 0] = np.nan
    rgb = np.full((8, 16, 3), 255, dtype=np.uint8)
    view = build_view(config, objects=objects, depth_m=depth, rgb=rgb)
    assert view.shape == (5, 4, 8)
    assert np.allclose(view[0, :, :4], 1.0) and np.allclose(view[0, :, 4:], 0.0)
    assert np.isclose(view[1, 2, 4], 0.25)  # nearness 1 / (1 + 3 m)
    assert np.allclose(view[2:], 0.5)
    assert nearness(np.array([np.nan, -1.0, 0.0]))[0] == 0.0
    with pytest.raises(ParameterError, match="looks at 'depth'"):
        build_view(config, objects=objects, rgb=rgb)
    with pytest.raises(ParameterError, match="distinct names"):
        ViewConfig(inputs=("objects", "sound"))


def test_a_mirrored_picture_gives_exactly_swapped_ears():
    # A left-right symmetric head hears the mirrored scene with its ears swapped: the inference
    # enforces it, whatever the (here untrained) weights.
    from soundstage.learn.inference import PictureView, binauralize

    torch.manual_seed(3)
    model = tiny_depth_attention().eval()
    mix = np.random.default_rng(4).standard_normal(20_000).astype(np.float32) * 0.1
    view = np.random.default_rng(5).random((2, 32, 64)).astype(np.float32)
    ears = binauralize(model, mix, 16000, PictureView(view)).audio
    mirrored = binauralize(model, mix, 16000, PictureView(view[:, :, ::-1].copy())).audio
    assert np.allclose(ears[::-1], mirrored, atol=1e-6)
    assert np.abs(ears[0] - ears[1]).max() > 0  # and it is not trivially centred
    assert np.allclose(ears.sum(axis=0), mix, atol=1e-6)
