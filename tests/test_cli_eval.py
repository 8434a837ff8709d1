"""`soundstage eval` and evaluate_folders: file matching, hand-known results, reports, and every bad input."""

import argparse
import csv
import json

import numpy as np
import pytest
import soundfile

from soundstage.cli.evaluate import register
from soundstage.errors import InputFileError, OutputError, ParameterError
from soundstage.metrics.evaluation import evaluate_folders

RATE = 16000
COSINE = np.cos(2 * np.pi * 100 * np.arange(RATE) / RATE)  # whole periods, peak exactly 1


def write(folder, name, audio, rate=RATE):
    """Write (n_channels, n_samples) as a float WAV, creating the folder."""
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, np.asarray(audio).T, rate, subtype="FLOAT")
    return path


def noise_pair(seed: int, n_samples: int = RATE, delay: int = 6) -> np.ndarray:
    s = 0.3 * np.random.default_rng(seed).standard_normal(n_samples + delay)
    return np.stack([s[delay:], 0.6 * s[:-delay]])


@pytest.fixture
def folders(tmp_path):
    """Two clips: one predicted perfectly, one with the left ear at half level."""
    pred, ref = tmp_path / "pred", tmp_path / "ref"
    both = np.stack([COSINE, COSINE])
    write(ref, "a.wav", both)
    write(pred, "a.wav", both)
    write(ref, "sub/b.wav", both)
    write(pred, "sub/b.wav", np.stack([0.5 * COSINE, COSINE]))
    (pred / "notes.txt").write_text("not audio, ignored")
    return pred, ref


def run_cli(argv):
    parser = argparse.ArgumentParser(prog="soundstage")
    register(parser.add_subparsers())
    args = parser.parse_args([str(a) for a in argv])
    return args.handler(args)


def test_folders_are_matched_by_name_and_give_hand_known_metrics(folders):
    pred, ref = folders
    report = evaluate_folders(pred, ref)
    assert [row["file"] for row in report.files] == ["a.wav", "sub/b.wav"]
    perfect, half_left = report.files
    assert perfect["wav_l2"] == 0.0 and perfect["phase"] == 0.0
    assert perfect["snr"] == pytest.approx(10 * np.log10(1 + 0.5 / 1e-4))
    # Left ear at half level: error power (0.5²·½ + 0)/2 over both ears, envelope off by 0.5 on the left.
    assert half_left["wav_l2"] == pytest.approx(125.0, rel=1e-6)
    assert half_left["env"] == pytest.approx(0.5, rel=1e-6)
    assert half_left["snr"] == pytest.approx(10 * np.log10((0.5 + 1e-4) / (0.0625 + 1e-4)), rel=1e-6)
    assert report.mean["wav_l2"] == pytest.approx(62.5, rel=1e-6)
    assert report.mono_mono is None
    assert perfect["itd_error_us"] == 0.0 and perfect["ild_error_db"] == 0.0
    assert set(report.to_dict()) == {
        *("stft", "env", "mag", "phase", "snr", "wav_l2", "itd_error_us", "ild_error_db", "coherence_error"),
        *("files", "settings"),
    }


def test_mono_mono_baseline_from_the_input_folder(tmp_path):
    pred, ref, mono = tmp_path / "pred", tmp_path / "ref", tmp_path / "mono"
    for index in range(2):
        truth = noise_pair(index)
        write(ref, f"{index}.wav", truth)
        write(pred, f"{index}.wav", truth)
        write(mono, f"{index}.wav", truth.mean(axis=0, keepdims=True))
    write(mono, "unused.wav", truth.mean(axis=0, keepdims=True))  # extra inputs are allowed
    report = evaluate_folders(pred, ref, input_dir=mono)
    # The mono on both ears has L-R = 0 (angle 0 everywhere) against a true L-R of uniformly spread angles.
    assert report.mono_mono["phase"] == pytest.approx(np.pi / 2, abs=0.05)
    # The truth's right ear lags 6 samples at 0.6 level; the mono copy has neither difference.
    assert report.mono_mono["itd_error_us"] == pytest.approx(6 / RATE * 1e6, abs=5.0)
    assert report.mono_mono["ild_error_db"] == pytest.approx(-20 * np.log10(0.6), abs=0.1)
    assert report.mean["itd_error_us"] == 0.0
    assert report.mean["phase"] == 0.0
    # A two-channel file given as the mono input would score a baseline that is not Mono-Mono: refused.
    with pytest.raises(InputFileError, match=r"ref/0\.wav has 2 channels; --input clips are the mono mixes"):
        evaluate_folders(pred, ref, input_dir=ref)
    assert "mono_mono" in report.to_dict()


def test_cli_prints_the_table_and_writes_json_and_csv(folders, tmp_path, capsys):
    pred, ref = folders
    out_json, out_csv = tmp_path / "r.json", tmp_path / "r.csv"
    assert run_cli(["eval", "--pred", pred, "--ref", ref, "--json", out_json, "--csv", out_csv, "--per-file"]) == 0
    stdout = capsys.readouterr().out
    assert "mean of 2 files" in stdout and "sub/b.wav" in stdout and "SNR dB" in stdout
    data = json.loads(out_json.read_text())
    assert data["wav_l2"] == pytest.approx(62.5, rel=1e-6)
    assert [row["file"] for row in data["files"]] == ["a.wav", "sub/b.wav"]
    assert data["settings"]["pad_mode"] == "reflect" and data["settings"]["n_fft"] == 512
    rows = list(csv.DictReader(out_csv.open()))
    assert [row["file"] for row in rows] == ["a.wav", "sub/b.wav"]
    assert float(rows[1]["wav_l2"]) == pytest.approx(125.0, rel=1e-6)


def test_cli_refuses_to_overwrite_before_evaluating_and_replaces_with_overwrite(folders, tmp_path):
    pred, ref = folders
    out_json = tmp_path / "r.json"
    out_json.write_text("keep")
    with pytest.raises(OutputError, match="exists; pass --overwrite"):
        run_cli(["eval", "--pred", pred, "--ref", tmp_path / "nowhere", "--json", out_json])
    assert out_json.read_text() == "keep"
    assert run_cli(["eval", "--pred", pred, "--ref", ref, "--json", out_json, "--overwrite"]) == 0
    assert json.loads(out_json.read_text())["files"][0]["file"] == "a.wav"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary left behind


def test_cli_constant_padding_and_wrong_suffix(folders, tmp_path):
    pred, ref = folders
    with pytest.raises(ParameterError, match=r"r\.txt: give a file name ending in \.json"):
        run_cli(["eval", "--pred", pred, "--ref", ref, "--json", tmp_path / "r.txt"])
    out = tmp_path / "c.json"
    assert run_cli(["eval", "--pred", pred, "--ref", ref, "--pad-mode", "constant", "--json", out]) == 0
    assert json.loads(out.read_text())["settings"]["pad_mode"] == "constant"


def two_channel(seed=0, n=RATE):
    return noise_pair(seed, n)


@pytest.mark.parametrize(
    ("pred_files", "ref_files", "match"),
    [
        ({"a.wav": two_channel()}, {"a.wav": two_channel(), "b.wav": two_channel()}, r"lacks 1 clip\(s\).*b\.wav"),
        (
            {"a.wav": two_channel(), "c.wav": two_channel()},
            {"a.wav": two_channel()},
            r"1 clip\(s\) with no reference.*c\.wav",
        ),
        ({"a.wav": (two_channel(), 48000)}, {"a.wav": two_channel()}, "at 48000 Hz but .* at 16000 Hz"),
        ({"a.wav": two_channel(n=8000)}, {"a.wav": two_channel()}, "has 8000 samples but .* has 16000"),
        ({"a.wav": two_channel()[:1]}, {"a.wav": two_channel()}, r"pred/a\.wav is mono where binaural"),
        ({"a.wav": two_channel()[:1]}, {"a.wav": two_channel()[:1]}, r"ref/a\.wav is mono where binaural"),
        ({"a.wav": np.ones((3, RATE)) * 0.1}, {"a.wav": two_channel()}, "has 3 channels but .* has 2"),
        ({"a.wav": np.ones((4, RATE)) * 0.1}, {"a.wav": np.ones((4, RATE)) * 0.1}, "have 4 channels; binaural"),
        ({"a.wav": two_channel()}, {"a.wav": np.zeros((2, RATE))}, r"ref/a\.wav is silent .*divide by zero"),
        ({"a.wav": np.zeros((2, RATE))}, {"a.wav": two_channel()}, r"pred/a\.wav is silent"),
        ({"a.wav": np.full((2, RATE), np.nan)}, {"a.wav": two_channel()}, "contains NaN"),
    ],
)
def test_bad_folders_raise_one_line_errors(tmp_path, pred_files, ref_files, match):
    for role, files in (("pred", pred_files), ("ref", ref_files)):
        for name, content in files.items():
            audio, rate = content if isinstance(content, tuple) else (content, RATE)
            write(tmp_path / role, name, audio, rate)
    with pytest.raises(InputFileError, match=match):
        evaluate_folders(tmp_path / "pred", tmp_path / "ref")


def test_missing_or_empty_folders_and_bad_inputs_raise(tmp_path):
    pred, ref, mono = tmp_path / "pred", tmp_path / "ref", tmp_path / "mono"
    with pytest.raises(InputFileError, match=r"pred folder .* does not exist"):
        evaluate_folders(pred, ref)
    pred.mkdir()
    (pred / "readme.txt").write_text("no audio here")
    write(ref, "a.wav", two_channel())
    with pytest.raises(InputFileError, match=r"pred folder .* holds no audio files"):
        evaluate_folders(pred, ref)
    write(pred, "a.wav", two_channel())
    write(mono, "other.wav", two_channel()[:1])
    with pytest.raises(InputFileError, match=r"input folder .* lacks 1 clip\(s\).*a\.wav"):
        evaluate_folders(pred, ref, input_dir=mono)
    write(mono, "a.wav", two_channel()[:1], rate=22050)
    with pytest.raises(InputFileError, match=r"at 22050 Hz but .* at 16000 Hz; resample the input"):
        evaluate_folders(pred, ref, input_dir=mono)
    write(mono, "a.wav", np.zeros((1, RATE)))
    with pytest.raises(InputFileError, match=r"mono/a\.wav is silent"):
        evaluate_folders(pred, ref, input_dir=mono)
    write(mono, "a.wav", two_channel(n=100)[:1])
    with pytest.raises(InputFileError, match="has 100 samples but"):
        evaluate_folders(pred, ref, input_dir=mono)
    with pytest.raises(InputFileError, match=r"ref folder .* is a file"):
        evaluate_folders(pred, ref / "a.wav")
