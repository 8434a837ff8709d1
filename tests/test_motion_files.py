"""Trajectories and head-tracking logs in scene files: what a user writes, what it means, what is refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile

from soundstage.cli.main import main
from soundstage.errors import InputFileError
from soundstage.scene import load_scene, save_scene, scene_from_dict
from soundstage.scene.motion import head_turn, keyframe_path, listener_path, read_orientation_csv, source_path

MOVING_SCENE = """\
output: {format: binaural, sample_rate: 16000}
sources:
  - name: car
    audio: engine.wav
    trajectory:
      keyframes: [{t: 0, position: {az: 80, el: 0, dist: 10}}, {t: 2, position: {az: -80, el: 0, dist: 10}}]
      interpolate: spline
    doppler: true
listener:
  position: [0, 0, 0]
  orientation_track: head.csv
"""


@pytest.fixture
def moving_scene(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    soundfile.write(tmp_path / "engine.wav", 0.1 * rng.standard_normal(32000), 16000)
    (tmp_path / "head.csv").write_text("t,yaw,pitch,roll\n0,0,0,0\n1,45,0,0\n2,90,5,0\n")
    path = tmp_path / "scene.yaml"
    path.write_text(MOVING_SCENE)
    return path


def test_the_issue_example_renders_from_the_command_line(moving_scene, tmp_path, capsys):
    out = tmp_path / "pass.wav"
    assert main(["render", str(moving_scene), "-o", str(out)]) == 0
    audio, rate = soundfile.read(out)
    assert rate == 16000 and audio.shape[1] == 2 and audio.shape[0] > 32000
    assert np.max(np.abs(audio)) > 0.001


def test_spherical_keyframes_are_around_the_listener_and_a_line_between_two_is_straight(moving_scene):
    scene = load_scene(moving_scene)
    path = source_path(scene, 0)
    start, middle, end = path.at(np.array([0.0, 1.0, 2.0]))
    assert np.allclose(start, [10 * np.cos(np.radians(80)), 10 * np.sin(np.radians(80)), 0])
    # Two keyframes: the spline is the chord, a car passing 1.74 m in front.
    assert np.allclose(middle, [10 * np.cos(np.radians(80)), 0, 0])
    assert np.allclose(end, start * [1, -1, 1])
    # Held before the first and after the last keyframe.
    assert np.allclose(path.at(-1.0), start) and np.allclose(path.at(5.0), end)


def test_a_spline_passes_through_every_keyframe_and_is_smooth():
    times = np.array([0.0, 1.0, 2.0, 3.0])
    points = np.array([[1.0, 0, 0], [0, 1.0, 0], [-1.0, 0, 0], [0, -1.0, 0]])
    path = keyframe_path(times, points, "spline")
    assert np.allclose(path.at(times), points)
    t = np.linspace(0, 3, 3001)
    velocity = np.diff(path.at(t), axis=0) / np.diff(t)[:, None]
    assert np.max(np.linalg.norm(np.diff(velocity, axis=0), axis=1)) < 0.01  # no kinks


def test_two_keyframes_at_one_time_are_a_jump():
    path = keyframe_path(np.array([0.0, 1.0, 1.0, 2.0]), np.array([[1.0, 0, 0], [1, 0, 0], [0, 5, 0], [0, 5, 0]]))
    assert path.jump_times.tolist() == [1.0]
    assert np.allclose(path.at(np.nextafter(1.0, 0.0)), [1, 0, 0]) and np.allclose(path.at(1.0), [0, 5, 0])


def test_the_head_track_interpolates_along_the_shortest_turn(moving_scene):
    turn = head_turn(load_scene(moving_scene))
    halfway = turn.rotations(np.array([0.5]))[0]
    assert np.allclose(halfway @ [1.0, 0, 0], [np.cos(np.radians(22.5)), np.sin(np.radians(22.5)), 0], atol=1e-9)


def test_a_moving_scene_round_trips_through_its_file(moving_scene, tmp_path):
    scene = load_scene(moving_scene)
    again = load_scene(save_scene(scene, tmp_path / "copy.yaml"))
    assert again.sources[0].trajectory == scene.sources[0].trajectory and again.sources[0].doppler
    listener = scene_from_dict(
        {
            "sources": [{"audio": "a.wav", "position": [1, 0, 0]}],
            "listener": {
                "trajectory": {"keyframes": [{"t": 0, "position": [0, 0, 0]}, {"t": 1, "position": [1, 1, 0]}]}
            },
        }
    )
    copy = load_scene(save_scene(listener, tmp_path / "walk.yaml"))
    assert copy.listener.trajectory == listener.listener.trajectory
    assert np.allclose(listener_path(copy).at(0.5), [0.5, 0.5, 0])


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ({"audio": "a.wav"}, "give a source either position .* got neither"),
        (
            {"audio": "a.wav", "position": [1, 0, 0], "trajectory": {"keyframes": [{"t": 0, "position": [1, 0, 0]}]}},
            "not both",
        ),
        (
            {
                "audio": "a.wav",
                "trajectory": {"keyframes": [{"t": 1, "position": [1, 0, 0]}, {"t": 0, "position": [2, 0, 0]}]},
            },
            "keyframe times must not decrease",
        ),
        (
            {"audio": "a.wav", "trajectory": {"keyframes": [{"t": 1, "position": [1, 0, 0]}] * 3}},
            "three keyframes at t = 1",
        ),
        (
            {"audio": "a.wav", "trajectory": {"keyframes": [{"t": 0, "position": [1, 0, 0]}], "interpolate": "cubic"}},
            "interpolate",
        ),
    ],
)
def test_malformed_trajectories_name_the_field(source, message):
    with pytest.raises(InputFileError, match=message):
        scene_from_dict({"sources": [source]})


def test_a_trajectory_leaving_the_room_names_its_field():
    with pytest.raises(InputFileError, match=r"sources\[0\]\.trajectory .* is outside the room"):
        scene_from_dict(
            {
                "room": {"shoebox": {"size": [5, 4, 3]}},
                "listener": {"position": [1, 1, 1.5]},
                "sources": [
                    {
                        "audio": "a.wav",
                        "trajectory": {"keyframes": [{"t": 0, "position": [2, 2, 1]}, {"t": 1, "position": [7, 2, 1]}]},
                    }
                ],
            }
        )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is empty"),
        ("yaw,pitch\n0,0\n", "line 1: the header must name t"),
        ("t,yaw,tilt\n0,0,0\n", "line 1: the header must name t"),
        ("t,yaw\n0,0\n1,abc\n", "line 3: .* not a number"),
        ("t,yaw\n0,0\n1\n", "line 3: has 1 values for 2 columns"),
        ("t,yaw,pitch\n0,0,95\n", "line 2: pitch"),
        ("t,yaw\n0,0\n0,10\n", "times in column t must increase"),
        ("t,yaw\n", "no rows"),
    ],
)
def test_a_bad_head_tracking_log_names_the_line(tmp_path, text, message):
    path = tmp_path / "head.csv"
    path.write_text(text)
    with pytest.raises(InputFileError, match=message):
        read_orientation_csv(path)


def test_a_missing_head_tracking_log_is_one_line_from_the_command_line(moving_scene, tmp_path, capsys):
    (tmp_path / "head.csv").unlink()
    code = main(["render", str(moving_scene), "-o", str(tmp_path / "out.wav")])
    err = capsys.readouterr().err
    assert code != 0 and "head.csv" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out.wav").exists()


def test_the_render_refuses_to_overwrite_the_head_tracking_log(moving_scene, tmp_path, capsys):
    log = tmp_path / "head.wav"  # a log under a name an output could have
    log.write_text((tmp_path / "head.csv").read_text())
    moving_scene.write_text(MOVING_SCENE.replace("head.csv", "head.wav"))
    before = log.read_text()
    code = main(["render", str(moving_scene), "-o", str(log), "--overwrite"])
    assert code != 0 and "one of this job's inputs" in capsys.readouterr().err
    assert log.read_text() == before
