"""The command line as a user drives it: one line per job, clear one-line errors, nothing lost."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

from scene_texts import MINIMAL_SCENE
from soundstage.cli.main import main
from soundstage.io.wav import read_wav_header
from soundstage.scene import load_scene


@pytest.fixture
def scene_file(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    soundfile.write(tmp_path / "left.wav", 0.1 * rng.standard_normal(44100), 44100)
    soundfile.write(tmp_path / "right.wav", 0.1 * rng.standard_normal(16000), 16000)
    path = tmp_path / "scene.yaml"
    path.write_text(MINIMAL_SCENE)
    return path


def run(args, capsys):
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_render_the_minimal_scene_to_binaural(scene_file, tmp_path, capsys):
    out = tmp_path / "out.wav"
    code, stdout, _ = run(["render", scene_file, "-o", out], capsys)
    assert code == 0
    audio, rate = soundfile.read(out)
    assert rate == 48000 and audio.shape[1] == 2
    assert "binaural" in stdout and "peak" in stdout


@pytest.mark.parametrize(("fmt", "channels", "mask"), [("5.1", 6, 0x60F), ("7.1", 8, 0x63F), ("hoa2", 9, None)])
def test_render_formats_and_sample_rate_override(scene_file, tmp_path, capsys, fmt, channels, mask):
    out = tmp_path / f"out_{fmt}.wav"
    code, _, _ = run(["render", scene_file, "-o", out, "--format", fmt, "--sample-rate", "32000"], capsys)
    assert code == 0
    header = read_wav_header(out)
    assert header.n_channels == channels and header.sample_rate == 32000
    if mask is not None:
        assert header.channel_mask == mask


def test_existing_output_is_kept_without_overwrite(scene_file, tmp_path, capsys):
    out = tmp_path / "out.wav"
    out.write_bytes(b"precious")
    code, _, err = run(["render", scene_file, "-o", out], capsys)
    assert code == 1 and "--overwrite" in err and err.count("\n") == 1
    assert out.read_bytes() == b"precious"
    code, _, _ = run(["render", scene_file, "-o", out, "--overwrite"], capsys)
    assert code == 0 and out.read_bytes() != b"precious"


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda s: s.replace("binaural", "quadraphonic"), "quadraphonic"),
        (lambda s: s.replace("dist: 2}", "dist: 2"), "not valid YAML"),
        (lambda s: s.replace("left.wav", "missing.wav"), "missing.wav"),
        (lambda s: s.replace("{x: 1, y: -1.5, z: 0}", "{x: 0.01, y: 0, z: 0}"), "inside the head"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(scene_file, tmp_path, capsys, edit, match):
    scene_file.write_text(edit(MINIMAL_SCENE))
    out = tmp_path / "out.wav"
    code, _, err = run(["render", scene_file, "-o", out], capsys)
    assert code == 1
    assert match in err and err.startswith("soundstage: error:") and err.count("\n") == 1
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["left.wav", "right.wav", "scene.yaml"]


def test_unwritable_output_folder(scene_file, tmp_path, capsys):
    code, _, err = run(["render", scene_file, "-o", tmp_path / "no" / "such" / "out.wav"], capsys)
    assert code == 1 and "does not exist" in err


def test_clipping_is_refused_unless_normalized_or_float(scene_file, tmp_path, capsys):
    scene_file.write_text(MINIMAL_SCENE.replace("name: left", "name: left\n    gain_db: 40"))
    out = tmp_path / "out.wav"
    code, _, err = run(["render", scene_file, "-o", out], capsys)
    assert code == 1 and "--normalize" in err and "dBFS" in err
    assert not out.exists()
    code, stdout, _ = run(["render", scene_file, "-o", out, "--normalize"], capsys)
    assert code == 0 and "normalised by -" in stdout
    audio, _ = soundfile.read(out)
    assert np.max(np.abs(audio)) == pytest.approx(10 ** (-1 / 20), abs=1e-3)
    code, stdout, _ = run(["render", scene_file, "-o", out, "--bit-depth", "float", "--overwrite"], capsys)
    assert code == 0 and "above full scale" in stdout
    assert np.max(np.abs(soundfile.read(out)[0])) > 1.0


def test_demo_renders_every_format_and_a_plot(tmp_path, capsys):
    folder = tmp_path / "demo"
    code, stdout, _ = run(["demo", "-o", folder, "--sample-rate", "16000"], capsys)
    assert code == 0
    for name, channels in [
        ("omni", 1),
        ("binaural", 2),
        ("stereo", 2),
        ("ortf", 2),
        ("5.1", 6),
        ("7.1", 8),
        ("foa", 4),
        ("hoa3", 16),
        ("foa_binaural", 2),
        ("hoa3_binaural", 2),
        ("binaural_room", 2),
    ]:
        assert read_wav_header(folder / f"{name}.wav").n_channels == channels, name
    assert (folder / "scene.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (folder / "scene.yaml").is_file() and "5.1.wav" in stdout
    room = load_scene(folder / "room_scene.yaml")  # the same sources, in a room
    assert room.room.shoebox is not None and [s.name for s in room.sources] == ["bell", "castanets", "bird", "drone"]
    # The scene it wrote renders again from the command line.
    code, _, _ = run(["render", folder / "scene.yaml", "-o", tmp_path / "again.wav", "--format", "stereo"], capsys)
    assert code == 0
    # A second demo into the same folder keeps the first, every file of it, unless told.
    before = {path: path.stat().st_mtime_ns for path in folder.rglob("*")}
    code, _, err = run(["demo", "-o", folder, "--sample-rate", "16000"], capsys)
    assert code == 1 and "--overwrite" in err
    assert {path: path.stat().st_mtime_ns for path in folder.rglob("*")} == before


def test_binauralize_an_ambisonic_file(scene_file, tmp_path, capsys):
    foa = tmp_path / "foa.wav"
    assert run(["render", scene_file, "-o", foa, "--format", "foa"], capsys)[0] == 0
    out = tmp_path / "headphones.wav"
    code, _, _ = run(["binauralize", foa, "-o", out], capsys)
    assert code == 0 and read_wav_header(out).n_channels == 2
    code, _, err = run(["binauralize", scene_file.parent / "left.wav", "-o", tmp_path / "x.wav"], capsys)
    assert code == 1 and "a mono mix needs a picture of its scene" in err and "--image" in err


def test_info_lists_formats_and_hrtfs(capsys):
    code, stdout, _ = run(["info"], capsys)
    assert code == 0
    assert "hoaN" in stdout and "sphere" in stdout and "mit_kemar" in stdout
    assert "carpet" in stdout and "acoustic_tile" in stdout  # the room materials library


def test_cli_start_up_does_not_import_heavy_libraries():
    probe = (
        "import sys, soundstage.cli.main as m; m.build_parser(); "
        "heavy = ('scipy', 'matplotlib', 'h5py', 'soxr', 'torch', 'trimesh', 'PIL', 'skimage', 'transformers', "
        "'diffusers'); print(','.join(x for x in heavy if x in sys.modules))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == ""


def test_entry_point_runs():
    completed = subprocess.run([sys.executable, "-m", "soundstage", "--version"], capture_output=True, text=True)
    assert completed.returncode == 0 and "soundstage" in completed.stdout


def test_the_console_command_renders_and_exits_with_mains_code(scene_file, tmp_path):
    """``python -m soundstage`` (what the installed ``soundstage`` script runs): a render writes its file and
    exits 0, a problem exits 1 with its one line, a usage error 2 (the process freezes its objects at exit)."""
    command = [sys.executable, "-m", "soundstage", "render", str(scene_file)]
    done = subprocess.run([*command, "-o", str(tmp_path / "out.wav")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert soundfile.info(str(tmp_path / "out.wav")).channels == 2
    missing = [*command[:-1], str(tmp_path / "nope.yaml"), "-o", "x.wav"]
    missing = subprocess.run(missing, capture_output=True, text=True)
    assert missing.returncode == 1 and missing.stderr.count("\n") == 1 and "nope.yaml" in missing.stderr
    usage = subprocess.run(command, capture_output=True, text=True)
    assert usage.returncode == 2 and "--output" in usage.stderr


def test_a_command_line_gets_the_parser_of_its_command_alone():
    """Each command's own parser holds that command (and its module's others); every command is in the table."""
    import argparse

    from soundstage.cli.main import COMMANDS, build_parser, parser_for

    def commands_of(parser: argparse.ArgumentParser) -> list[str]:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        return list(sub.choices)

    assert commands_of(build_parser()) == list(COMMANDS)  # the table is the whole CLI, in help order
    for name, module in COMMANDS.items():
        alone = commands_of(build_parser(name))
        assert name in alone
        assert set(alone) == ({name} if module is None else {n for n, m in COMMANDS.items() if m == module})
    assert commands_of(parser_for(["render", "s.yaml", "-o", "x.wav"])) == ["render"]
    for line in ([], ["--help"], ["--version"], ["rendr"], ["-o", "x"]):
        assert commands_of(parser_for(line)) == list(COMMANDS)
    args = parser_for(["render", "s.yaml", "-o", "x.wav", "--format", "foa"]).parse_args(
        ["render", "s.yaml", "-o", "x.wav", "--format", "foa"]
    )
    assert args == build_parser().parse_args(["render", "s.yaml", "-o", "x.wav", "--format", "foa"])
