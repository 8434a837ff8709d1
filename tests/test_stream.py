"""``soundstage stream``: the streamer against the offline render, OSC over loopback, no clicks, over-runs."""

from __future__ import annotations

import json
import os
import threading
import time

import numpy as np
import pytest
import soundfile

from soundstage.acoustics.render import render
from soundstage.cli.main import main
from soundstage.conventions import quaternion_matrix, rotation_matrix
from soundstage.errors import ParameterError
from soundstage.scene import Scene
from soundstage.stream.output import stream_to_file
from soundstage.stream.streamer import BlockTimes, Streamer

RATE = 48000


def tone_scene(az: float = 60.0, seconds: float = 1.0, frequency: float = 500.0, **extra) -> Scene:
    t = np.arange(int(seconds * RATE)) / RATE
    sine = (0.3 * np.sin(2 * np.pi * frequency * t)).astype(np.float32)
    source = {"name": "a", "audio": sine, "sample_rate": RATE, "position": {"az": az, "el": 0, "dist": 2}}
    return Scene.model_validate({"sources": [source], "output": {"format": "binaural", "sample_rate": RATE}, **extra})


def noise_scene(fmt: str, **extra) -> Scene:
    noise = (0.1 * np.random.default_rng(2).standard_normal(RATE)).astype(np.float32)
    source = {"name": "n", "audio": noise, "sample_rate": RATE, "position": {"az": 35, "el": 10, "dist": 3}}
    return Scene.model_validate({"sources": [source], "output": {"format": fmt, "sample_rate": RATE}, **extra})


def stream_blocks(streamer: Streamer, count: int) -> np.ndarray:
    return np.concatenate([streamer.next_block() for _ in range(count)], axis=0).T


def level_difference_db(stereo: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(stereo[0] ** 2) / np.sum(stereo[1] ** 2)))


@pytest.mark.parametrize("fmt", ["binaural", "foa", "5.1"])
def test_the_exact_stream_of_a_still_scene_is_the_offline_render(fmt) -> None:
    scene = noise_scene(fmt, listener={"position": [0, 0, 1.6]})
    offline = render(scene, progress=False).audio.astype(float)
    streamer = Streamer(scene, block=256, exact=True)
    streamed = stream_blocks(streamer, 200)[:, streamer.latency_samples :]
    n = RATE  # the first pass of the looped sound (its second pass starts after it)
    error = np.linalg.norm(streamed[:, :n] - offline[:, :n]) / np.linalg.norm(offline[:, :n])
    assert 20 * np.log10(error) < -60


def test_osc_head_turns_over_loopback_move_the_sound_to_the_other_ear(tmp_path) -> None:
    from pythonosc.udp_client import SimpleUDPClient

    from soundstage.stream.osc import OscControl

    streamer = Streamer(tone_scene(az=60.0, seconds=0.5, frequency=3000.0), block=512)  # ILD: a high tone
    control = OscControl(streamer, port=0)
    client = SimpleUDPClient("127.0.0.1", control.port)
    out = tmp_path / "stream.wav"
    runner = threading.Thread(target=stream_to_file, args=(streamer, out, 1.6))
    runner.start()
    time.sleep(0.6)
    client.send_message("/SceneRotator/ypr", [90.0, 0.0, 0.0])  # face left: the source is now on the right
    client.send_message("/ypr", ["not", "numbers", "!"])  # refused, and the stream goes on
    runner.join()
    control.close()
    audio, _ = soundfile.read(out, always_2d=True)
    before, after = audio[: int(0.5 * RATE)].T, audio[int(1.2 * RATE) :].T
    assert level_difference_db(before) > 3.0 and level_difference_db(after) < -3.0
    assert control.counts.applied == 1 and control.counts.refused == 1


def test_sources_move_by_name_and_quaternions_turn_the_head_like_ypr() -> None:
    streamer = Streamer(tone_scene(az=60.0, seconds=0.5, frequency=3000.0), block=512)  # ILD: a high tone
    stream_blocks(streamer, 10)
    streamer.move_source_around(streamer.source_index("a"), -60.0, 0.0, 2.0)
    stream_blocks(streamer, 10)
    assert level_difference_db(stream_blocks(streamer, 20)) < -3.0  # moved to the right
    w, z = np.cos(np.radians(-30.0)), np.sin(np.radians(-30.0))  # a turn of -60° about z (to the right)
    assert np.allclose(quaternion_matrix(w, 0.0, 0.0, z), rotation_matrix(-60.0, 0.0, 0.0))
    streamer.turn_head(quaternion_matrix(w, 0.0, 0.0, z))  # face the source: it is in front
    stream_blocks(streamer, 10)
    assert abs(level_difference_db(stream_blocks(streamer, 20))) < 1.0
    with pytest.raises(ParameterError, match="no such source"):
        streamer.source_index("b")


def test_fast_head_turns_leave_no_clicks() -> None:
    frequency = 500.0
    streamer = Streamer(tone_scene(az=30.0, seconds=2.0, frequency=frequency), block=256)
    blocks = []
    for index in range(300):  # 1.6 s: a quarter turn every 0.1 s, back and forth
        if index % 19 == 0:
            streamer.turn_head(rotation_matrix(90.0 if (index // 19) % 2 else 0.0, 0.0, 0.0))
        blocks.append(streamer.next_block())
    y = np.concatenate(blocks, axis=0).T[:, int(0.1 * RATE) :]
    # A sine of amplitude a never steps more than 2 a sin(π f / fs) between samples; a click would.
    for ear in y:
        step = np.abs(np.diff(ear)).max()
        assert step <= 1.05 * 2 * np.sin(np.pi * frequency / RATE) * np.abs(ear).max()


def test_an_overrun_is_counted_not_dropped() -> None:
    times = BlockTimes(block_s=0.01)
    for seconds in (0.002, 0.02, 0.005):
        times.add(seconds)
    assert times.overruns == 1 and times.worst_block_rtf == pytest.approx(2.0)
    assert times.real_time_factor == pytest.approx(0.9)


def test_the_benchmark_writes_its_figures(tmp_path, monkeypatch) -> None:
    soundfile.write(tmp_path / "a.wav", 0.1 * np.random.default_rng(0).standard_normal(RATE // 2), RATE)
    (tmp_path / "scene.yaml").write_text(
        "output: {format: foa, sample_rate: 48000}\nsources:\n  - {name: a, audio: a.wav, position: {az: 0, dist: 2}}\n"
    )
    monkeypatch.setattr("soundstage.stream.output.pin_to_one_core", lambda: None)  # the test process stays as it is
    figures = tmp_path / "bench.json"
    code = main(
        [
            "stream",
            str(tmp_path / "scene.yaml"),
            "--benchmark",
            "--seconds",
            "0.5",
            "--sources",
            "3",
            "--json",
            str(figures),
            "--quiet",
        ]
    )
    assert code == 0
    data = json.loads(figures.read_text())
    assert {"sources", "block", "sample_rate", "real_time_factor", "worst_block_rtf"} <= set(data)
    assert data["sources"] == 3 and data["block"] == 512 and data["real_time_factor"] > 0


def test_a_live_move_behind_the_head_goes_around_it_not_through_it() -> None:
    streamer = Streamer(tone_scene(az=0.0, seconds=1.0, frequency=1000.0), block=256)
    steady = np.abs(stream_blocks(streamer, 40)).max()
    streamer.move_source(0, np.array([-2.0, 0.0, 0.0]))  # straight through the head would be a straight line
    glide = stream_blocks(streamer, 120)
    assert np.abs(glide).max() < 2.0 * steady  # no near-field blast on the way (an ear at 0.3 m: over 20 dB)
    path = streamer.engine.sources[0].path
    moving = path.at(np.linspace(streamer.time - 0.5, streamer.time, 200))
    assert np.linalg.norm(moving, axis=1).min() > 1.99  # it kept its distance while it turned


def test_the_first_live_move_does_not_click() -> None:
    frequency = 500.0
    streamer = Streamer(tone_scene(az=40.0, seconds=2.0, frequency=frequency), block=256)
    blocks = [streamer.next_block() for _ in range(40)]
    here = streamer.engine.sources[0].path.at(streamer.time)
    streamer.move_source(0, here + np.array([0.0, 0.3, 0.0]))  # sound in flight still left the old place
    blocks += [streamer.next_block() for _ in range(40)]
    y = np.concatenate(blocks, axis=0).T[:, int(0.1 * RATE) :]
    for ear in y:
        assert np.abs(np.diff(ear)).max() <= 1.05 * 2 * np.sin(np.pi * frequency / RATE) * np.abs(ear).max()


def test_a_jump_in_the_scene_path_still_jumps_in_the_stream() -> None:
    t = np.arange(RATE) / RATE
    tone = (0.3 * np.sin(2 * np.pi * 3000.0 * t)).astype(np.float32)
    keyframes = [
        {"t": 0, "position": {"az": 60, "dist": 2}},
        {"t": 0.5, "position": {"az": 60, "dist": 2}},
        {"t": 0.5, "position": {"az": -60, "dist": 2}},
    ]
    scene = Scene.model_validate(
        {
            "sources": [{"audio": tone, "sample_rate": RATE, "trajectory": {"keyframes": keyframes}}],
            "output": {"format": "binaural", "sample_rate": RATE},
        }
    )
    y = stream_blocks(Streamer(scene, block=256), 180)
    assert level_difference_db(y[:, int(0.1 * RATE) : int(0.45 * RATE)]) > 3.0
    assert level_difference_db(y[:, int(0.6 * RATE) : int(0.95 * RATE)]) < -3.0


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="no CPU affinity on this system (Linux has it)")
def test_benchmark_pinning_holds_every_thread_to_one_core() -> None:
    import subprocess
    import sys

    code = (
        "import numpy, os\n"
        "from soundstage.stream.output import pin_to_one_core\n"
        "core = pin_to_one_core()\n"
        "cores = {frozenset(os.sched_getaffinity(int(t))) for t in os.listdir('/proc/self/task')}\n"
        "print(core, sorted(map(sorted, cores)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split(" ", 1)
    assert json.loads(out[1]) == [[int(out[0])]]


def test_a_live_input_source_renders_as_the_same_sound_from_a_file(tmp_path) -> None:
    from soundstage.scene import load_scene

    tone = (0.3 * np.sin(2 * np.pi * 700.0 * np.arange(RATE) / RATE)).astype(np.float32)
    soundfile.write(tmp_path / "tone.wav", tone, RATE, subtype="FLOAT")
    (tmp_path / "file.yaml").write_text(
        "output: {format: binaural, sample_rate: 48000}\n"
        "sources:\n  - {name: voice, audio: tone.wav, position: {az: 50, dist: 2}}\n"
    )
    # The live source's file is never read: the scene may name one that is not there.
    (tmp_path / "live.yaml").write_text((tmp_path / "file.yaml").read_text().replace("tone.wav", "microphone.wav"))
    from_file = Streamer(load_scene(tmp_path / "file.yaml"), block=256)
    live = Streamer(load_scene(tmp_path / "live.yaml"), block=256, live={"voice": 0})
    assert live.live == {0: 0} and live.signals == [None]
    a = np.concatenate([from_file.next_block() for _ in range(150)], axis=0)
    b = np.concatenate([live.next_block({0: tone[k * 256 : (k + 1) * 256]}) for k in range(150)], axis=0)
    assert np.abs(a).max() > 0.01
    np.testing.assert_allclose(b, a, atol=1e-6)
    with pytest.raises(ParameterError, match="no such source"):
        Streamer(load_scene(tmp_path / "file.yaml"), block=256, live={"guitar": 1})
