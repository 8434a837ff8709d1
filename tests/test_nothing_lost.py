"""No input is ever destroyed: outputs that are inputs, symlinks at the output, signals mid-write.

Each test checks the bytes of the files a user owns before and after the command.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile

from soundstage.cli.main import main
from soundstage.errors import OutputError
from soundstage.io.atomic import atomic_write
from soundstage.io.inputs import InputFile, record_input, recording_inputs

RATE = 16000


def _noise(n: int = RATE // 4, channels: int = 1) -> np.ndarray:
    signal_ = np.random.default_rng(0).standard_normal((n, channels)) * 0.05
    return signal_[:, 0] if channels == 1 else signal_


@pytest.fixture
def scene(tmp_path: Path) -> Path:
    soundfile.write(tmp_path / "good.wav", _noise(), RATE)
    path = tmp_path / "s.yaml"
    path.write_text(
        "output: {format: binaural, sample_rate: 16000}\n"
        "sources:\n  - {name: a, audio: good.wav, position: {az: 30, el: 0, dist: 2}}\n",
        encoding="utf-8",
    )
    return path


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("soundstage: error:"), err
    return err[0]


def test_render_refuses_to_write_over_the_scenes_own_source_even_with_overwrite(scene, tmp_path, capsys):
    source = tmp_path / "good.wav"
    before = source.read_bytes()
    for output in (source, tmp_path / "." / "good.wav", Path(os.path.relpath(source))):
        assert main(["render", str(scene), "-o", str(output), "--overwrite", "--quiet"]) == 1
        assert "one of this job's inputs" in _one_error_line(capsys)
    assert source.read_bytes() == before


def test_a_symlink_or_hard_link_to_an_input_is_the_same_file(scene, tmp_path, capsys):
    source = tmp_path / "good.wav"
    before = source.read_bytes()
    (tmp_path / "link.wav").symlink_to(source)
    os.link(source, tmp_path / "hard.wav")
    for output in ("link.wav", "hard.wav"):
        assert main(["render", str(scene), "-o", str(tmp_path / output), "--overwrite", "--quiet"]) == 1
        assert "one of this job's inputs" in _one_error_line(capsys)
    assert source.read_bytes() == before


def test_the_scene_file_itself_is_protected(tmp_path, capsys):
    soundfile.write(tmp_path / "good.wav", _noise(), RATE)
    # A scene file whose name ends in .wav passes the output-suffix check: only input protection stops it.
    scene = tmp_path / "scene.wav"
    scene.write_text('{"sources": [{"name": "a", "audio": "good.wav", "position": [1, 0, 0]}]}')
    before = scene.read_bytes()
    assert main(["render", str(scene), "-o", str(scene), "--overwrite", "--quiet"]) == 1
    assert "one of this job's inputs" in _one_error_line(capsys)
    assert scene.read_bytes() == before


def test_binauralize_refuses_its_own_input(tmp_path, capsys):
    hoa = tmp_path / "hoa1.wav"
    soundfile.write(hoa, _noise(channels=4), RATE)
    before = hoa.read_bytes()
    assert main(["binauralize", str(hoa), "-o", str(hoa), "--overwrite", "--quiet"]) == 1
    assert "one of this job's inputs" in _one_error_line(capsys)
    assert hoa.read_bytes() == before


def test_image_refuses_to_write_over_its_sound(tmp_path, capsys):
    from PIL import Image

    Image.fromarray(np.full((48, 64, 3), 120, dtype=np.uint8)).save(tmp_path / "photo.png")
    sound = tmp_path / "in.wav"
    soundfile.write(sound, _noise(), RATE)
    before = sound.read_bytes()
    argv = ["image", str(tmp_path / "photo.png"), "--source", f"car={sound}", "-o", str(sound), "--overwrite"]
    assert main([*argv, "--quiet"]) == 1
    assert "one of this job's inputs" in _one_error_line(capsys)
    assert sound.read_bytes() == before


def test_python_api_write_render_knows_the_renders_inputs(tmp_path):
    from soundstage import Scene, render, write_render

    source = tmp_path / "voice.wav"
    soundfile.write(source, _noise(), RATE)
    before = source.read_bytes()
    scene = Scene(sources=[{"audio": str(source), "position": [1, 0, 0]}], output={"sample_rate": RATE})
    result = render(scene, progress=False)
    assert InputFile.of(source) in result.inputs
    with pytest.raises(OutputError, match="one of this job's inputs"):
        write_render(result, source, overwrite=True, bit_depth="float")
    assert source.read_bytes() == before
    write_render(result, tmp_path / "out.wav", bit_depth="float")  # any other path is fine


@pytest.mark.parametrize("kind", ["dangling", "loop", "to_a_file"])
def test_a_symlink_at_the_output_is_kept_without_overwrite(scene, tmp_path, capsys, kind):
    output = tmp_path / "out.wav"
    if kind == "dangling":
        output.symlink_to(tmp_path / "nowhere.wav")
    elif kind == "loop":
        output.symlink_to(output)
    else:
        (tmp_path / "mine.wav").write_bytes(b"mine")
        output.symlink_to(tmp_path / "mine.wav")
    target = os.readlink(output)
    assert main(["render", str(scene), "-o", str(output), "--quiet"]) == 1
    assert "exists (a symlink to" in _one_error_line(capsys)
    assert output.is_symlink() and os.readlink(output) == target
    if kind == "to_a_file":
        assert (tmp_path / "mine.wav").read_bytes() == b"mine"
    # With --overwrite the link itself is replaced by the render; what it pointed to is untouched.
    assert main(["render", str(scene), "-o", str(output), "--quiet", "--overwrite"]) == 0
    assert not output.is_symlink() and soundfile.info(str(output)).channels == 2
    if kind == "to_a_file":
        assert (tmp_path / "mine.wav").read_bytes() == b"mine"


def test_recording_scopes_nest_and_vanish(tmp_path):
    record_input(tmp_path / "outside.wav")  # no scope: nothing is kept
    with recording_inputs() as outer:
        with recording_inputs() as inner:
            record_input(tmp_path / "a.wav")
        record_input(tmp_path / "b.wav")
    assert {entry.path.name for entry in inner} == {"a.wav"}
    assert {entry.path.name for entry in outer} == {"a.wav", "b.wav"}


@pytest.mark.parametrize("signal_number", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_mid_write_leaves_no_temporary_file(tmp_path, monkeypatch, capsys, signal_number):
    """The CLI turns SIGTERM/SIGHUP into an exception; the atomic writer removes its temporary file."""
    import soundstage.cli.main as cli

    def handler(args):
        with atomic_write(tmp_path / "big.wav", overwrite=False) as temporary:
            temporary.write_bytes(b"\0" * 1_000_000)
            os.kill(os.getpid(), signal_number)
            time.sleep(5)  # the signal interrupts this sleep
        return 0

    parser = cli.build_parser()
    monkeypatch.setattr(cli, "parser_for", lambda argv: parser)
    parser.set_defaults(handler=handler)
    assert main([]) == 128 + signal_number
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    assert signal.Signals(signal_number).name in capsys.readouterr().err


def test_sigterm_to_a_real_render_leaves_no_partial_file(tmp_path):
    """End to end: whenever the signal lands, the folder holds the inputs and at most a complete output."""
    soundfile.write(tmp_path / "long.wav", _noise(RATE * 60), RATE)
    scene = tmp_path / "s.yaml"
    scene.write_text(
        "output: {format: hoa3, sample_rate: 16000}\n"
        "sources:\n  - {audio: long.wav, position: [1, 0, 0]}\n  - {audio: long.wav, position: [0, 1, 0]}\n"
    )
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "soundstage",
            "render",
            str(scene),
            "-o",
            str(tmp_path / "out.wav"),
            "--quiet",
            "--bit-depth",
            "float",
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_until_it_catches(process, signal.SIGTERM)  # a slow host may still be importing after seconds
    time.sleep(0.3)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert not [name for name in names if name.startswith(".")], names
    if process.returncode == 128 + signal.SIGTERM:
        assert "stopped by SIGTERM" in err and names == ["long.wav", "s.yaml"]
    elif process.returncode == -signal.SIGTERM:  # landed after the command, its handler gone: the output is whole
        assert soundfile.info(str(tmp_path / "out.wav")).frames > RATE * 60
    else:  # it finished before the signal: the output is whole
        assert process.returncode == 0 and soundfile.info(str(tmp_path / "out.wav")).frames > RATE * 60


def _wait_until_it_catches(process: subprocess.Popen, signal_number: int, timeout_s: float = 30.0) -> None:
    """Wait until ``process`` has a handler for ``signal_number`` (Linux: the SigCgt mask in /proc), or has ended."""
    status = Path(f"/proc/{process.pid}/status")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and process.poll() is None:
        try:
            caught = next(line for line in status.read_text().splitlines() if line.startswith("SigCgt:"))
        except (OSError, StopIteration):  # no /proc here: give it the time an idle machine needs
            time.sleep(1.5)
            return
        if int(caught.split()[1], 16) >> (signal_number - 1) & 1:
            return
        time.sleep(0.02)
