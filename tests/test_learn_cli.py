"""``soundstage binauralize --image``, ``soundstage data binaural`` and ``soundstage train`` as a user drives them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch
from PIL import Image

from soundstage.cli.main import main
from soundstage.learn.models.depth_attention import DepthAttention, DepthAttentionConfig
from soundstage.learn.view import ViewConfig

RATE = 16000


def run(args, capsys):
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def learned(files, mix: str, out, capsys, *extra):
    """``binauralize MIX --image frame.png --model <tiny> -o OUT [EXTRA]`` in the fixture's files."""
    return run(
        ["binauralize", files[mix], "--image", files["frame.png"], "--model", files["model"], "-o", out, *extra], capsys
    )


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    rng = np.random.default_rng(0)
    soundfile.write(tmp_path / "mix.wav", 0.1 * rng.standard_normal(RATE * 2), RATE, subtype="FLOAT")
    soundfile.write(tmp_path / "mix48.wav", 0.1 * rng.standard_normal(48000), 48000, subtype="FLOAT")
    soundfile.write(tmp_path / "stereo.wav", 0.1 * rng.standard_normal((RATE, 2)), RATE)
    picture = np.full((120, 160, 3), 90, dtype=np.uint8)
    picture[40:100, 10:60] = (200, 40, 40)  # a red object on the left
    Image.fromarray(picture).save(tmp_path / "frame.png")
    Image.fromarray(np.full((30, 40), 2000, dtype=np.uint16)).save(tmp_path / "small_depth.png")
    torch.manual_seed(0)
    config = DepthAttentionConfig(
        view=ViewConfig(height=32, width=64), base_channels=4, embed_dim=16, encoder_layers=1, heads=2, attention_dim=8
    )
    DepthAttention(config).save_pretrained(tmp_path / "model")
    return {
        name: tmp_path / name
        for name in ("mix.wav", "mix48.wav", "stereo.wav", "frame.png", "small_depth.png", "model")
    }


def test_a_mono_mix_and_a_picture_become_two_ears_that_sum_to_the_mix(files, tmp_path, capsys):
    out = tmp_path / "out.wav"
    code, stdout, err = learned(files, "mix.wav", out, capsys, "--bit-depth", "float")
    assert code == 0, err
    ears, rate = soundfile.read(out)
    mix, _ = soundfile.read(files["mix.wav"])
    assert rate == RATE and ears.shape == (len(mix), 2)
    assert np.allclose(ears[:, 0] + ears[:, 1], mix, atol=1e-6)  # L = (M + D)/2, R = (M - D)/2
    assert "sounding region" in err and "geometric prior" in err and "model depth_attention" in stdout


def test_other_rates_are_resampled_for_the_model_and_written_at_their_own(files, tmp_path, capsys):
    out = tmp_path / "out48.wav"
    code, _, err = learned(files, "mix48.wav", out, capsys)
    assert code == 0 and "resampled 48000 → 16000 Hz" in err
    assert soundfile.info(out).samplerate == 48000 and soundfile.info(out).frames == 48000


def test_a_stereo_file_with_a_picture_is_averaged_to_mono_with_a_note(files, tmp_path, capsys):
    code, _, err = learned(files, "stereo.wav", tmp_path / "o.wav", capsys)
    assert code == 0 and "2 channels averaged to a mono mix" in err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "a mono mix needs a picture of its scene"),
        (["--image", "frame.png", "--hrtf", "sphere"], "--hrtf sets the ambisonic decoder's head"),
        (["--depth", "small_depth.png"], "--depth goes with --image"),
        (["--image", "frame.png", "--depth", "small_depth.png"], "small_depth.png"),
        (["--image", "mix.wav"], "mix.wav"),
        (["--image", "frame.png", "--model", "./nowhere/model"], "no such model folder"),
        (["--image", "frame.png", "--fov", "0"], "--fov 0"),
    ],
)
def test_bad_requests_are_one_line_and_write_nothing(files, tmp_path, capsys, extra, message):
    folder = files["mix.wav"].parent
    extra = [str(folder / e) if (folder / e).exists() else e for e in extra]
    if "--model" not in extra:
        extra += ["--model", str(files["model"])] if "--image" in extra else []
    out = tmp_path / "never.wav"
    code, _, err = run(["binauralize", files["mix.wav"], *extra, "-o", out], capsys)
    assert code == 1 and message in err and err.count("\n") == 1, err
    assert not out.exists()


def test_a_corrupt_checkpoint_is_one_line(files, tmp_path, capsys):
    (files["model"] / "model.safetensors").write_bytes(b"garbage")
    code, _, err = learned(files, "mix.wav", tmp_path / "o.wav", capsys)
    assert code == 1 and "not a readable safetensors file" in err and err.count("\n") == 1


def test_the_output_may_not_replace_the_mix(files, capsys):
    before = files["mix.wav"].read_bytes()
    code, _, _ = learned(files, "mix.wav", files["mix.wav"], capsys, "--overwrite")
    assert code == 1 and files["mix.wav"].read_bytes() == before


def test_data_and_train_commands_make_and_resume(tmp_path, capsys):
    data = tmp_path / "data"
    args = [
        "data",
        "binaural",
        "--out",
        data,
        "--scenes",
        "6",
        "--clips-per-class",
        "1",
        "--shard-size",
        "3",
        "--local",
        "--quiet",
    ]
    assert run(args, capsys)[0] == 0
    assert (data / "manifest.jsonl").is_file()
    code, stdout, _ = run(args[:-1], capsys)
    assert code == 0 and "0 shard(s) made" in stdout
    code, _, err = run(
        ["data", "binaural", "--out", data, "--scenes", "7", "--clips-per-class", "1", "--local"], capsys
    )
    assert code == 1 and "another recipe" in err
    code, stdout, err = run(
        ["train", "debug", "--data", data, "--out", tmp_path / "run", "--steps", "2", "--quiet"], capsys
    )
    assert code == 0, err
    assert (tmp_path / "run" / "model" / "model.safetensors").is_file()
    code, _, err = run(["train", "debug", "--data", tmp_path / "none", "--out", tmp_path / "r2"], capsys)
    assert code == 1 and "no manifest.jsonl" in err
    code, _, err = run(["data", "binaural", "--out", data, "--scenes", "0"], capsys)
    assert code == 1 and "--scenes 0" in err


def test_a_hub_model_offline_is_one_line_naming_it(files, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SOUNDSTAGE_OFFLINE", "1")
    code, _, err = run(
        [
            "binauralize",
            files["mix.wav"],
            "--image",
            files["frame.png"],
            "--model",
            "someone/binauralizer",
            "-o",
            tmp_path / "o.wav",
        ],
        capsys,
    )
    assert code == 1 and "someone/binauralizer" in err and err.count("\n") == 1
