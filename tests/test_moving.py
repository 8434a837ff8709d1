"""Moving sources and a turning head, checked against analytic truths and the still renderer.

Each test states the physical or geometric fact it checks: the still renderer's samples when nothing
moves, no clicks and no modulation sidebands for a sine circling the head, the Doppler shift
f·c/(c − v_r) along a pass, a jump that leaves nothing behind, the interaural level difference and the
FOA intensity direction following a passing source, and a head turned by +30° hearing what a scene
turned by −30° gives.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import hilbert

from soundstage.acoustics.render import impulse_responses, render
from soundstage.errors import ParameterError
from soundstage.scene import Scene

C = 343.0


def scene(source: dict, fmt: str, rate: int, **extra) -> Scene:
    return Scene.model_validate({"sources": [source], "output": {"format": fmt, "sample_rate": rate}, **extra})


def noise(seconds: float, rate: int, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal(int(seconds * rate)) * 0.1).astype(np.float32)


def relative_error_db(a: np.ndarray, b: np.ndarray) -> float:
    n = min(a.shape[1], b.shape[1])
    ratio = float(np.linalg.norm(a[:, :n] - b[:, :n])) / float(np.linalg.norm(b[:, :n]))
    return 20 * np.log10(max(ratio, 1e-300))


def emission_times(reception: np.ndarray, path, duration: float) -> np.ndarray:
    """Exact emission times of sound heard at ``reception`` from a source on ``path(t)`` (listener at 0)."""
    emitted = reception.copy()
    for _ in range(60):
        emitted = reception - np.linalg.norm(path(np.clip(emitted, 0.0, duration)), axis=1) / C
    return emitted


# -- the engine against the still renderer ---------------------------------------------------------


@pytest.mark.parametrize("fmt", ["binaural", "foa", "hoa3", "5.1", "stereo", "omni"])
@pytest.mark.parametrize("room", [None, {"ground": "grass"}])
def test_a_still_source_through_the_block_engine_renders_as_the_still_renderer(fmt, room):
    # An orientation track with one keyframe sends the scene through the block engine without moving it.
    rate = 16000
    source = {"audio": noise(0.5, rate), "sample_rate": rate, "position": {"az": 40, "el": 10, "dist": 3}}
    extra = {"propagation": {"air_absorption": True}}
    head = {"position": [0, 0, 1.6]}
    if room is not None:
        extra["room"] = room
    still = render(scene(source, fmt, rate, listener=head, **extra), progress=False)
    turning = {**head, "orientation_track": {"keyframes": [{"t": 0}]}}
    moving = render(scene(source, fmt, rate, listener=turning, **extra), progress=False)
    assert "motion" in moving.details and "motion" not in still.details
    # Equal to rounding, except that a near-field head is evaluated at distances rounded to 5 %.
    assert relative_error_db(moving.audio, still.audio) < (-70 if fmt == "binaural" else -100)


def test_a_still_source_in_a_shoebox_through_the_block_engine_renders_as_the_still_renderer():
    # Reflections of order ≥ 2 are read with cubic interpolation: equal below a quarter of the rate.
    from scipy.signal import butter, sosfilt

    rate = 16000
    low = sosfilt(butter(8, 0.15 * rate, fs=rate, output="sos"), noise(0.5, rate)).astype(np.float32)
    source = {"audio": low, "sample_rate": rate, "position": [3, 2.5, 1.7]}
    room = {"shoebox": {"size": [6, 4, 3]}, "rt60": 0.4}
    still = render(scene(source, "foa", rate, room=room, listener={"position": [1.2, 1.5, 1.5]}), progress=False)
    moving = render(
        scene(
            source,
            "foa",
            rate,
            room=room,
            listener={"position": [1.2, 1.5, 1.5], "orientation_track": {"keyframes": [{"t": 0}]}},
        ),
        progress=False,
    )
    assert relative_error_db(moving.audio, still.audio) < -45


def test_a_scene_that_does_not_move_takes_the_still_renderer():
    rate = 16000
    source = {
        "audio": noise(0.2, rate),
        "sample_rate": rate,
        "trajectory": {"keyframes": [{"t": 0, "position": [2, 1, 0]}, {"t": 1, "position": [2, 1, 0]}]},
    }
    result = render(scene(source, "binaural", rate), progress=False)
    assert "motion" not in result.details


# -- smoothness -------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["binaural", "foa"])
def test_a_sine_circling_the_head_has_no_clicks_and_no_sidebands(fmt):
    rate, f, duration = 48000, 1000.0, 2.0
    t = np.arange(int(rate * duration)) / rate
    sine = (0.5 * np.sin(2 * np.pi * f * t)).astype(np.float32)
    keyframes = [{"t": k * duration / 8, "position": {"az": 45 * k, "dist": 2}} for k in range(9)]
    source = {"audio": sine, "sample_rate": rate, "trajectory": {"keyframes": keyframes, "interpolate": "spline"}}
    y = render(scene(source, fmt, rate), progress=False).audio.astype(float)
    steady = y[:, int(0.1 * rate) : int(1.9 * rate)]
    loud = np.abs(steady).max(axis=1) > 1e-3
    # A sine of amplitude a never steps more than 2 a sin(π f / fs) between samples; margin 2 %.
    step = np.abs(np.diff(steady[loud], axis=1)).max(axis=1)
    assert np.all(step <= 1.02 * 2 * np.sin(np.pi * f / rate) * np.abs(steady[loud]).max(axis=1))
    # The only modulation is the slow turn: nothing 50 Hz or more away from the tone above −70 dB.
    spectrum = np.abs(np.fft.rfft(steady[0] * np.hanning(steady.shape[1])))
    freqs = np.fft.rfftfreq(steady.shape[1], 1 / rate)
    assert 20 * np.log10(spectrum[np.abs(freqs - f) > 50].max() / spectrum.max()) < -70


# -- Doppler -----------------------------------------------------------------------------------------


def _pass_frequency(doppler: bool):
    rate, f, speed, duration = 48000, 1000.0, 20.0, 4.0
    t = np.arange(int(rate * (duration + 0.3))) / rate
    tone = (0.5 * np.sin(2 * np.pi * f * t)).astype(np.float32)
    start, end = np.array([3.0, 40.0, 0.0]), np.array([3.0, 40.0 - speed * duration, 0.0])
    source = {
        "audio": tone,
        "sample_rate": rate,
        "doppler": doppler,
        "trajectory": {"keyframes": [{"t": 0, "position": start.tolist()}, {"t": duration, "position": end.tolist()}]},
    }
    y = render(scene(source, "omni", rate), progress=False).audio[0].astype(float)
    phase = np.unwrap(np.angle(hilbert(y)))
    window = int(0.005 * rate)
    instantaneous = np.convolve(np.diff(phase) * rate / (2 * np.pi), np.ones(window) / window, mode="same")
    reception = (np.arange(len(instantaneous)) + 0.5) / rate

    def where(time):
        return start + (end - start) * (time / duration)[:, None]

    emitted = emission_times(reception, where, duration)
    position = where(emitted)
    velocity = (end - start) / duration
    towards = -(position @ velocity) / np.linalg.norm(position, axis=1)  # radial speed towards the listener
    inside = (emitted > 0.2) & (emitted < duration - 0.2)
    return instantaneous[inside], f * C / (C - towards[inside]), f


def test_doppler_follows_the_analytic_shift_along_a_pass():
    measured, expected, _ = _pass_frequency(doppler=True)
    assert expected.max() / expected.min() > 1.1  # the pass sweeps more than 10 %
    assert np.max(np.abs(measured - expected) / expected) < 0.005


def test_without_doppler_the_pitch_does_not_move():
    measured, _, f = _pass_frequency(doppler=False)
    # Outside the short crossfades that reset a held delay, the tone is exactly f.
    assert np.mean(np.abs(measured - f) / f < 0.001) > 0.9
    assert abs(np.median(measured) - f) / f < 1e-4


# -- jumps -------------------------------------------------------------------------------------------


def test_a_jump_leaves_no_sound_at_the_old_place():
    rate = 48000
    left, right = {"az": 90, "dist": 2}, {"az": -90, "dist": 2}
    keyframes = [
        {"t": 0, "position": left},
        {"t": 1, "position": left},
        {"t": 1, "position": right},
        {"t": 2, "position": right},
    ]
    source = {"audio": noise(2.0, rate), "sample_rate": rate, "trajectory": {"keyframes": keyframes}}
    y = render(scene(source, "stereo", rate), progress=False).audio.astype(float)
    jump = rate  # the cut is heard at t = 1 s
    before = np.sqrt(np.mean(y[0, jump - 4800 : jump] ** 2))
    after = np.sqrt(np.mean(y[0, jump + int(0.003 * rate) : jump + int(0.1 * rate)] ** 2))
    assert before > 0.01 and after < 1e-6 * before  # left (the old place) is silent 3 ms after the cut
    assert np.sqrt(np.mean(y[1, jump + 480 : jump + 4800] ** 2)) > 0.5 * before


# -- direction follows the trajectory ----------------------------------------------------------------


def _passing_source(fmt: str, rate: int, duration: float = 3.0):
    source = {
        "audio": noise(duration, rate, seed=1),
        "sample_rate": rate,
        "trajectory": {"keyframes": [{"t": 0, "position": [2, 6, 0]}, {"t": duration, "position": [2, -6, 0]}]},
    }
    return render(scene(source, fmt, rate), progress=False).audio.astype(float)


def test_the_ild_of_a_source_passing_left_to_right_changes_sign_once_when_it_crosses_the_front():
    rate, duration = 16000, 3.0
    y = _passing_source("binaural", rate, duration)
    frame = int(0.02 * rate)
    n = y.shape[1] // frame
    energy = (y[:, : n * frame].reshape(2, n, frame) ** 2).sum(-1)
    ild = 10 * np.log10(energy[0] / energy[1])
    centre = (np.arange(n) + 0.5) * frame / rate
    keep = (centre > 0.1) & (centre < duration - 0.1)
    changes = np.flatnonzero(np.diff(np.sign(ild[keep])) != 0)
    assert len(changes) == 1
    # It crosses x = 2 m, y = 0 at 1.5 s, heard 2 m / c later.
    assert abs(centre[keep][changes[0]] - (duration / 2 + 2 / C)) < 0.02


def test_the_foa_intensity_direction_follows_a_passing_source():
    rate, duration = 16000, 3.0
    w, y_, _, x = _passing_source("foa", rate, duration)  # AmbiX: W, Y, Z, X
    frame = int(0.02 * rate)
    n = len(w) // frame
    azimuth = np.degrees(
        np.arctan2(
            (w[: n * frame] * y_[: n * frame]).reshape(n, frame).sum(1),
            (w[: n * frame] * x[: n * frame]).reshape(n, frame).sum(1),
        )
    )
    centre = (np.arange(n) + 0.5) * frame / rate

    def where(time):
        return np.stack([np.full_like(time, 2.0), 6 - 12 * time / duration, np.zeros_like(time)], axis=1)

    emitted = emission_times(centre, where, duration)
    truth = np.degrees(np.arctan2(*where(np.clip(emitted, 0, duration))[:, [1, 0]].T))
    inside = (emitted > 0.05) & (emitted < duration - 0.05)
    assert np.abs(azimuth - truth)[inside].max() < 2.0


# -- the head ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["binaural", "foa", "5.1"])
def test_turning_the_head_by_30_degrees_is_turning_the_scene_by_minus_30(fmt):
    rate = 16000
    sound = noise(1.0, rate)

    def moving(az0, az1, head_yaw):
        source = {
            "audio": sound,
            "sample_rate": rate,
            "trajectory": {
                "keyframes": [
                    {"t": 0, "position": {"az": az0, "el": 10, "dist": 3}},
                    {"t": 1, "position": {"az": az1, "dist": 2}},
                ]
            },
        }
        track = {"orientation_track": {"keyframes": [{"t": 0, "yaw": head_yaw}]}}
        return render(scene(source, fmt, rate, listener=track), progress=False).audio

    assert relative_error_db(moving(70, -20, 30.0), moving(40, -50, 0.0)) < -100


def test_a_head_turning_towards_a_source_brings_it_to_the_front():
    rate = 16000
    source = {"audio": noise(2.0, rate), "sample_rate": rate, "position": {"az": 90, "dist": 2}}
    track = {"orientation_track": {"keyframes": [{"t": 0, "yaw": 0}, {"t": 1, "yaw": 90}]}}
    y = render(scene(source, "binaural", rate, listener=track), progress=False).audio.astype(float)
    first = 10 * np.log10(np.sum(y[0, : rate // 4] ** 2) / np.sum(y[1, : rate // 4] ** 2))
    last = 10 * np.log10(np.sum(y[0, -rate // 2 :] ** 2) / np.sum(y[1, -rate // 2 :] ** 2))
    assert first > 3 and abs(last) < 0.5


# -- a moving source in a room ---------------------------------------------------------------------


def test_a_source_crossing_a_shoebox_renders_smoothly_and_keeps_the_tail():
    rate, duration, f = 16000, 2.0, 500.0
    t = np.arange(int(rate * duration)) / rate
    sine = (0.3 * np.sin(2 * np.pi * f * t)).astype(np.float32)
    source = {
        "audio": sine,
        "sample_rate": rate,
        "doppler": True,
        "trajectory": {"keyframes": [{"t": 0, "position": [3, 3.5, 1.5]}, {"t": duration, "position": [3, 0.5, 1.5]}]},
    }
    room = {"shoebox": {"size": [6, 4, 3]}, "rt60": 0.5}
    y = render(scene(source, "foa", rate, room=room, listener={"position": [1.5, 2, 1.5]}), progress=False).audio
    w = y[0].astype(float)
    assert len(w) > (duration + 0.4) * rate  # the late tail rings on after the sound stops
    tail = w[int((duration + 0.05) * rate) : int((duration + 0.15) * rate)]
    assert np.sqrt(np.mean(tail**2)) > 1e-3
    # Reflections that come and go fade: the waveform's steps stay those of a 500 Hz sine of its level.
    steady = w[int(0.2 * rate) : int((duration - 0.2) * rate)]
    frame = 400
    for k in range(0, len(steady) - frame, frame):
        piece = steady[k : k + frame]
        assert np.abs(np.diff(piece)).max() <= 1.5 * 2 * np.sin(np.pi * f / rate) * np.abs(piece).max() + 1e-6


# -- what users get wrong ----------------------------------------------------------------------------


def test_a_trajectory_through_the_head_is_refused():
    source = {
        "audio": noise(0.2, 16000),
        "sample_rate": 16000,
        "trajectory": {"keyframes": [{"t": 0, "position": [0, 3, 0]}, {"t": 1, "position": [0, -3, 0]}]},
    }
    with pytest.raises(ParameterError, match=r"trajectory: passes 0\.000 m from the listener .* inside the head"):
        render(scene(source, "binaural", 16000), progress=False)


def test_a_trajectory_faster_than_sound_is_refused():
    source = {
        "audio": noise(0.2, 16000),
        "sample_rate": 16000,
        "trajectory": {"keyframes": [{"t": 0, "position": [5, 300, 0]}, {"t": 1, "position": [5, -300, 0]}]},
    }
    with pytest.raises(ParameterError, match=r"moves at 600 m/s .* speed of sound"):
        render(scene(source, "binaural", 16000), progress=False)


def _box_mesh(tmp_path):
    from test_room_mesh import box_arrays, write_obj

    return write_obj(tmp_path / "box.obj", *box_arrays(size=(5.0, 4.0, 3.0)))


def test_a_still_source_in_a_mesh_room_through_the_block_engine_renders_as_the_still_renderer(tmp_path):
    from scipy.signal import butter, sosfilt

    rate = 16000
    low = sosfilt(butter(8, 0.15 * rate, fs=rate, output="sos"), noise(0.5, rate)).astype(np.float32)
    room = {"mesh": str(_box_mesh(tmp_path)), "rt60": 0.3}
    source = {"audio": low, "sample_rate": rate, "position": [1.0, 1.2, 1.1]}
    head = {"position": [3.2, 2.1, 1.5]}
    still = render(scene(source, "foa", rate, room=room, listener=head), progress=False)
    turning = {**head, "orientation_track": {"keyframes": [{"t": 0}]}}
    moving = render(scene(source, "foa", rate, room=room, listener=turning), progress=False)
    assert relative_error_db(moving.audio, still.audio) < -45


def test_a_source_leaving_a_mesh_room_is_refused(tmp_path):
    source = {"audio": noise(0.2, 16000), "sample_rate": 16000,
              "trajectory": {"keyframes": [{"t": 0, "position": [1, 1, 1]}, {"t": 1, "position": [7, 1, 1]}]}}
    room = {"mesh": str(_box_mesh(tmp_path)), "rt60": 0.3}
    s = scene(source, "foa", 16000, room=room, listener={"position": [3, 2, 1.5]})
    with pytest.raises(ParameterError, match=r"trajectory: the source leaves the mesh room .* at t = 0\.6"):
        render(s, progress=False)


def test_a_moving_scene_has_no_single_impulse_response():
    source = {
        "audio": noise(0.2, 16000),
        "sample_rate": 16000,
        "trajectory": {"keyframes": [{"t": 0, "position": [1, 1, 0]}, {"t": 1, "position": [2, 1, 0]}]},
    }
    with pytest.raises(ParameterError, match="no single impulse response"):
        impulse_responses(scene(source, "foa", 16000), progress=False)


def test_a_source_leaving_the_reflections_reach_and_coming_back_is_heard_throughout():
    # A large room with a short mixing time: the source walks beyond the reach of its reflections and back.
    rate = 16000
    keyframes = [{"t": 0, "position": [4, 7.5, 1.6]}, {"t": 1.5, "position": [28, 7.5, 1.6]},
                 {"t": 3, "position": [4, 7.5, 1.6]}]
    source = {"audio": noise(3.0, rate), "sample_rate": rate, "trajectory": {"keyframes": keyframes}}
    room = {"shoebox": {"size": [30, 15, 10]}, "rt60": 0.6, "mixing_time": 0.03}
    y = render(scene(source, "omni", rate, room=room, listener={"position": [2, 7.5, 1.6]}), progress=False).audio
    quarter = [float(np.sqrt(np.mean(y[0, int(a * rate) : int((a + 0.25) * rate)] ** 2))) for a in (0.2, 1.4, 2.7)]
    assert all(level > 1e-3 for level in quarter)  # near, far (direct sound only) and near again


def test_a_high_listener_over_a_ground_hears_the_bounce_without_running_out_of_delay_line():
    rate = 48000
    source = {"audio": noise(0.5, rate), "sample_rate": rate, "trajectory": {"keyframes": [
        {"t": 0, "position": [2, 0.5, 12]}, {"t": 0.5, "position": [2, -0.5, 12]}]}}
    y = render(scene(source, "stereo", rate, room={"ground": "asphalt"}, listener={"position": [0, 0, 12]}),
               progress=False).audio
    assert np.all(np.isfinite(y)) and np.max(np.abs(y)) > 0
    # The bounce comes 70 ms after the direct sound (24 m more): standing still, the engine renders it as the
    # still renderer does — it was not cut off by a delay line sized for the direct sound alone.
    still = {"audio": source["audio"], "sample_rate": rate, "position": [2, 0, 12]}
    high = {"position": [0, 0, 12]}
    reference = render(scene(still, "stereo", rate, room={"ground": "asphalt"}, listener=high), progress=False)
    turning = {**high, "orientation_track": {"keyframes": [{"t": 0}]}}
    engine = render(scene(still, "stereo", rate, room={"ground": "asphalt"}, listener=turning), progress=False)
    assert reference.audio.shape[1] > int(0.57 * rate)  # the bounce is in the still render: 0.5 s + 70 ms
    assert relative_error_db(engine.audio, reference.audio) < -60


def test_a_listener_jump_is_refused():
    from soundstage.errors import InputFileError
    from soundstage.scene import scene_from_dict

    with pytest.raises(InputFileError, match="would make the listener jump"):
        scene_from_dict({"sources": [{"audio": "a.wav", "position": [1, 0, 0]}], "listener": {"trajectory": {
            "keyframes": [{"t": 0, "position": [0, 0, 0]}, {"t": 1, "position": [0, 0, 0]},
                          {"t": 1, "position": [5, 0, 0]}]}}})
