"""The scene file format: the issue's minimal file verbatim, positions, and errors that name the field."""

from pathlib import Path

import numpy as np
import pytest

from scene_texts import MINIMAL_SCENE
from soundstage.errors import InputFileError, OutputError, ParameterError
from soundstage.scene import Scene, load_scene, save_scene, source_world_position


def write(tmp_path: Path, text: str, name: str = "scene.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_minimal_scene_reads_verbatim(tmp_path):
    scene = load_scene(write(tmp_path, MINIMAL_SCENE))
    assert scene.output.format == "binaural" and scene.output.sample_rate == 48000
    assert [s.name for s in scene.sources] == ["left", "right"]
    assert scene.resolve_audio_path(0) == tmp_path.resolve() / "left.wav"
    left = source_world_position(scene.sources[0], scene.listener)
    np.testing.assert_allclose(left, [2 * np.cos(np.pi / 3), 2 * np.sin(np.pi / 3), 0], atol=1e-12)
    np.testing.assert_allclose(source_world_position(scene.sources[1], scene.listener), [1, -1.5, 0])


def test_spherical_positions_are_relative_to_the_listener(tmp_path):
    text = MINIMAL_SCENE.replace("position: [0, 0, 0]", "position: [1, 2, 0]")
    scene = load_scene(write(tmp_path, text))
    np.testing.assert_allclose(
        source_world_position(scene.sources[0], scene.listener), [1 + 1.0, 2 + np.sqrt(3), 0], atol=1e-12
    )
    # Cartesian positions are world coordinates and do not move with the listener.
    np.testing.assert_allclose(source_world_position(scene.sources[1], scene.listener), [1, -1.5, 0])


def test_json_scene_and_yaml_round_trip(tmp_path):
    scene = load_scene(write(tmp_path, MINIMAL_SCENE))
    save_scene(scene, tmp_path / "copy.json")
    again = load_scene(tmp_path / "copy.json")
    assert again.sources[0].position == scene.sources[0].position
    assert again.sources[1].position == scene.sources[1].position
    save_scene(scene, tmp_path / "copy.yaml")
    assert load_scene(tmp_path / "copy.yaml").model_dump() == {**scene.model_dump()}


def test_save_scene_keeps_existing_files_and_refuses_arrays(tmp_path):
    scene = load_scene(write(tmp_path, MINIMAL_SCENE))
    with pytest.raises(OutputError, match="exists; pass --overwrite"):
        save_scene(scene, tmp_path / "scene.yaml")
    assert (tmp_path / "scene.yaml").read_text() == MINIMAL_SCENE
    save_scene(scene, tmp_path / "scene.yaml", overwrite=True)
    assert load_scene(tmp_path / "scene.yaml").sources[1].position == scene.sources[1].position
    in_memory = scene.model_copy(update={"sources": [scene.sources[0].model_copy(update={"audio": np.zeros(8)})]})
    with pytest.raises(ParameterError, match=r"sources\[0\]\.audio: is an array"):
        save_scene(in_memory, tmp_path / "arrays.yaml")
    assert not (tmp_path / "arrays.yaml").exists()


def test_hrtf_accepts_a_plain_name(tmp_path):
    scene = load_scene(write(tmp_path, MINIMAL_SCENE + "hrtf: mit_kemar\n"))
    assert scene.hrtf.name == "mit_kemar"


def test_api_accepts_arrays():
    scene = Scene(sources=[{"audio": np.zeros(10), "sample_rate": 16000, "position": [1, 0, 0]}])
    assert scene.sources[0].sample_rate == 16000


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (MINIMAL_SCENE.replace("dist: 2", "dist: -2"), r"sources\[0\]\.position\.dist: .*greater than 0"),
        (MINIMAL_SCENE.replace("position: {x: 1", "positon: {x: 1"), r"sources\[1\]"),
        (MINIMAL_SCENE.replace("sample_rate: 48000", "sample_rate: fast"), r"output\.sample_rate"),
        (MINIMAL_SCENE.replace("el: 0,", "el: 100,"), r"sources\[0\]\.position\.el"),
        ("sources: []\n", r"sources: .*at least 1"),
        ("sources: [\n  - a\n", r"not valid YAML at line 2"),
        ("- just a list\n", r"must be a mapping"),
        (MINIMAL_SCENE + "colour: blue\n", r"colour: unknown field"),
    ],
)
def test_bad_scene_files_name_the_field(tmp_path, text, match):
    path = write(tmp_path, text)
    with pytest.raises(InputFileError, match=match) as info:
        load_scene(path)
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_scene_file(tmp_path):
    with pytest.raises(InputFileError, match=r"nope\.yaml: file does not exist"):
        load_scene(tmp_path / "nope.yaml")


def test_bad_json_gives_line(tmp_path):
    with pytest.raises(InputFileError, match="not valid JSON at line 2"):
        load_scene(write(tmp_path, '{"sources":\n [,]}', "scene.json"))


def test_array_without_sample_rate_is_refused():
    with pytest.raises(ValueError, match="needs its sample_rate"):
        Scene(sources=[{"audio": np.zeros(10), "position": [1, 0, 0]}])


def test_a_deeply_nested_scene_file_is_one_error_not_a_crash(tmp_path):
    """50 kB of nested brackets (libyaml's loader, recursing in C, dies of it): the one-line error, in a child
    process so that a crash fails this test rather than the run."""
    import subprocess
    import sys

    path = write(tmp_path, "sources: " + "[" * 25_000 + "]" * 25_000 + "\n")
    probe = (
        "import sys\n"
        "from soundstage.errors import InputFileError\n"
        "from soundstage.scene import load_scene\n"
        "try:\n"
        "    load_scene(sys.argv[1])\n"
        "except InputFileError as error:\n"
        "    print(error)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe, str(path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-500:]
    assert "nested too deeply" in done.stdout


@pytest.mark.parametrize(
    ("room", "listener", "position", "match"),
    [
        ({"ground": "grass"}, {"position": [0, 0, 1.7]}, [3, 0, 0], r"sources\[0\] 'a'\.position is at z = 0 m, on or"),
        ({"shoebox": {"size": [8, 6, 3]}}, {"position": [4, 3, 1.6]}, {"az": 0, "dist": 5}, r"\(9, 3, 1\.6\) is out"),
        # Spherical positions are measured from where a moving listener starts: 2 m behind (1, 3) is x = -1.
        (
            {"shoebox": {"size": [8, 6, 3]}},
            {"trajectory": {"keyframes": [{"t": 0, "position": [1, 3, 1.6]}, {"t": 1, "position": [7, 3, 1.6]}]}},
            {"az": 180, "dist": 2},
            r"sources\[0\] 'a'\.position \(-1, 3, 1\.6\) is outside the room",
        ),
    ],
)
def test_a_still_source_outside_the_room_or_under_the_ground_is_named(tmp_path, room, listener, position, match):
    data = {
        "room": room,
        "listener": listener,
        "sources": [{"name": "a", "audio": np.zeros(10), "sample_rate": 8000, "position": position}],
    }
    with pytest.raises(ValueError, match=match):
        Scene.model_validate(data)
    data["sources"][0]["position"] = [2, 2, 1]
    Scene.model_validate(data)  # the same scene with the source inside is fine
