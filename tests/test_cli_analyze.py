"""`soundstage analyze`: renders localized back to where they were placed, impulse responses measured, errors."""

import json

import numpy as np
import pytest

from soundstage import Scene, render, write_render
from soundstage.cli.main import main
from soundstage.io.wav import write_wav

RATE = 16000


def run(args, capsys):
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def rendered(tmp_path, format_name: str, azimuth_deg: float, elevation_deg: float = 0.0):
    noise = 0.1 * np.random.default_rng(5).standard_normal(RATE)
    scene = Scene(
        sources=[
            {"audio": noise, "sample_rate": RATE, "position": {"az": azimuth_deg, "el": elevation_deg, "dist": 2}}
        ],
        output={"format": format_name, "sample_rate": RATE},
    )
    path = tmp_path / f"{format_name}.wav"
    write_render(render(scene, progress=False), path, bit_depth="float")
    return path


def test_binaural_file_is_localized_and_written_as_json_and_plot(tmp_path, capsys):
    path = rendered(tmp_path, "binaural", 40.0)
    code, stdout, err = run(["analyze", path, "--json", tmp_path / "a.json", "--plot", tmp_path / "a.png"], capsys)
    assert code == 0, err
    report = json.loads((tmp_path / "a.json").read_text())
    assert report["format"] == "binaural" and report["method"] == "binaural-itd-ild"
    strongest = report["sources"][0]
    assert abs(strongest["lateral_deg"] - 40.0) < 5.0 and strongest["front_back_ambiguous"] is True
    assert (tmp_path / "a.png").read_bytes()[:4] == b"\x89PNG"
    assert "front from back" in stdout


@pytest.mark.parametrize(("format_name", "azimuth", "elevation"), [("foa", 60.0, 20.0), ("5.1", -70.0, 0.0)])
def test_format_is_told_from_the_file_and_the_direction_found(tmp_path, capsys, format_name, azimuth, elevation):
    path = rendered(tmp_path, format_name, azimuth, elevation)
    code, _, err = run(["analyze", path, "--json", tmp_path / "r.json"], capsys)
    assert code == 0, err
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["format"] == format_name
    strongest = report["sources"][0]
    assert abs((strongest["azimuth_deg"] - azimuth + 180) % 360 - 180) < 5.0
    if format_name == "foa":
        assert abs(strongest["elevation_deg"] - elevation) < 5.0


def test_impulse_response_decay_times(tmp_path, capsys):
    # Exponentially decaying noise: energy falls 60 dB in T seconds, so T30 = T20 = EDT = T.
    t60 = 0.5
    t = np.arange(int(1.5 * RATE)) / RATE
    ir = np.random.default_rng(2).standard_normal(len(t)) * 10 ** (-3 * t / t60)
    ir[0] = 5.0
    write_wav(tmp_path / "ir.wav", ir[None, :] / np.max(np.abs(ir)), RATE, bit_depth="float")
    code, _, err = run(
        ["analyze", tmp_path / "ir.wav", "--ir", "--json", tmp_path / "ir.json", "--plot", tmp_path / "ir.png"], capsys
    )
    assert code == 0, err
    report = json.loads((tmp_path / "ir.json").read_text())
    for key in ("t30_s", "t20_s", "edt_s", "c50_db", "drr_db"):
        assert key in report
    assert report["t30_s"] == pytest.approx(t60, rel=0.03)
    assert (tmp_path / "ir.png").read_bytes()[:4] == b"\x89PNG"


def test_errors_are_one_line_and_nothing_is_overwritten(tmp_path, capsys):
    mono = tmp_path / "mono.wav"
    write_wav(mono, 0.1 * np.random.default_rng(1).standard_normal((1, RATE)), RATE)
    code, _, err = run(["analyze", mono], capsys)
    assert code == 1 and "--ir" in err and err.count("\n") == 1
    code, _, err = run(["analyze", tmp_path / "missing.wav"], capsys)
    assert code == 1 and "missing.wav: file does not exist" in err
    path = rendered(tmp_path, "binaural", 10.0)
    existing = tmp_path / "kept.json"
    existing.write_text("keep")
    code, _, err = run(["analyze", path, "--json", existing], capsys)
    assert code == 1 and "--overwrite" in err and existing.read_text() == "keep"
    code, _, err = run(["analyze", path, "--plot", tmp_path / "figure.jpg"], capsys)
    assert code == 1 and "ending in .png" in err
    code, _, err = run(["analyze", path, "--format", "5.1"], capsys)
    assert code == 1 and "has 6 channels" in err
