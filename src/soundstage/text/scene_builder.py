"""Events → a scene: sounds for each event, positions or trajectories, levels, the room.

Each event's sound comes from the user's file when ``--sound LABEL=FILE`` names its label or class, else from a
text-to-audio model when one is asked for (``--tta``), else from the embedded library (:mod:`soundstage.library`).
Levels follow the class (a bell is 30 dB louder than a voice at the same distance) and the renderer's 1/r law;
the CLI normalises the mix, so it never clips. In a room the listener stands at the room's centre, 1.6 m up (or
half its height), and a source farther than the walls allow is brought inside, 0.3 m from them (and said so).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from soundstage.errors import ParameterError
from soundstage.text.parse import Event, ParsedPrompt

#: Length of the scene when neither the prompt nor ``--duration`` gives one, in seconds.
DEFAULT_DURATION_S = 6.0
#: Directions an "all around" sound comes from (azimuths in degrees, on the horizon).
AROUND_AZIMUTHS = tuple(range(0, 360, 45))
#: How close to a wall a source may be brought, metres.
WALL_MARGIN_M = 0.3
#: Fastest a pass moves, m/s (a fast car; a pass over a short event is shortened instead).
MAX_PASS_SPEED_M_S = 70.0
#: Height of the listener's ears in a room or outdoors, metres.
EAR_HEIGHT_M = 1.6


@dataclass
class SceneSound:
    """The sound of one source of the scene: samples at ``sample_rate`` and how they were obtained."""

    label: str
    audio: np.ndarray
    sample_rate: int
    origin: str


def build_scene(
    parsed: ParsedPrompt,
    *,
    sounds: dict[str, Path] | None = None,
    duration_s: float | None = None,
    output_format: str = "binaural",
    sample_rate: int = 48000,
    tta: str | None = None,
    tta_steps: int | None = None,
    seed: int = 0,
) -> tuple[dict, list[SceneSound], list[str]]:
    """The scene (as a scene mapping whose sources' ``audio`` are arrays), the sounds, and notes.

    Parameters
    ----------
    parsed : ParsedPrompt
    sounds : dict of str to Path
        The user's files by label (matched to an event's class or the label it was named by).
    duration_s : float or None
        Length of the scene; None: the events' own, else :data:`DEFAULT_DURATION_S`.
    output_format, sample_rate
        Written into the scene.
    tta : str or None
        A text-to-audio model (id or folder) for events without a file; None: the library.
    tta_steps : int or None
        Its denoising steps (None: the backend's default).
    seed : int
        Seeds the library's sounds and the text-to-audio model.
    """
    from soundstage.library import BY_NAME

    sounds = dict(sounds or {})
    notes: list[str] = []
    total = _scene_length(parsed, duration_s)
    listener, bounds = _listener_and_room(parsed.room)
    sources, made = [], []
    for index, event in enumerate(parsed.events):
        length = max(0.1, (event.duration_s if event.duration_s is not None else total - event.start_s))
        sound = _sound_for(event, sounds, (tta, tta_steps), length, sample_rate, seed + index)
        made.append(sound)
        level = BY_NAME[event.sound].level_db if event.sound in BY_NAME else 0.0
        common = {"audio": sound.audio, "sample_rate": sound.sample_rate, "start": event.start_s}
        if event.ambient:
            for k, azimuth in enumerate(AROUND_AZIMUTHS):
                part = np.roll(sound.audio, k * len(sound.audio) // len(AROUND_AZIMUTHS))  # decorrelated copies
                position = _inside(listener, bounds, azimuth, 0.0, event.distance_m, notes, event.sound)
                sources.append({**common, "audio": part, "name": f"{event.sound}_{k + 1}",
                                "gain_db": level - 10 * np.log10(len(AROUND_AZIMUTHS)), "position": position})
            continue
        source = {**common, "name": f"{event.sound}_{index + 1}", "gain_db": level}
        if event.motion:
            if event.motion == "pass":
                event.path = _slow_enough(event.path, length, notes, event.sound)
            times = np.linspace(event.start_s, event.start_s + length, len(event.path))
            keyframes = [
                {"t": float(t), "position": _inside(listener, bounds, a, e, d, notes, event.sound)}
                for t, (a, e, d) in zip(times, event.path, strict=True)
            ]
            interpolate = "spline" if len(keyframes) > 2 else "linear"
            source.update(trajectory={"keyframes": keyframes, "interpolate": interpolate}, doppler=True)
        else:
            source["position"] = _inside(
                listener, bounds, event.azimuth_deg, event.elevation_deg, event.distance_m, notes, event.sound
            )
        sources.append(source)
    scene = {"sources": sources, "output": {"format": output_format, "sample_rate": sample_rate}}
    if parsed.room is not None:
        scene["room"] = parsed.room
        scene["listener"] = {"position": listener.tolist()}
    return scene, made, notes


def _slow_enough(path, seconds: float, notes: list[str], label: str):
    """A straight pass shortened about its closest point so that it moves at most MAX_PASS_SPEED."""
    from soundstage.conventions import cartesian_to_spherical, spherical_to_cartesian

    start, end = (spherical_to_cartesian(a, e, d) for a, e, d in path)
    speed = float(np.linalg.norm(end - start)) / seconds
    if speed <= MAX_PASS_SPEED_M_S:
        return path
    along = (end - start) / np.linalg.norm(end - start)
    closest = start - along * float(start @ along)
    half = MAX_PASS_SPEED_M_S * seconds / 2
    notes.append(f"{label}: passes at {MAX_PASS_SPEED_M_S:g} m/s over {seconds:g} s, so it starts nearer the front")
    out = []
    for point in (closest - along * half, closest + along * half):
        azimuth, elevation, distance = cartesian_to_spherical(point)
        out.append((float(azimuth), float(elevation), float(distance)))
    return out


def _scene_length(parsed: ParsedPrompt, duration_s: float | None) -> float:
    from soundstage.text.parse import MAX_DURATION_S

    if duration_s is not None:
        if not (np.isfinite(duration_s) and 0 < duration_s <= MAX_DURATION_S):
            raise ParameterError(f"--duration {duration_s!r}: give seconds between 0 and {MAX_DURATION_S:g}")
        return float(duration_s)
    ends = [e.start_s + e.duration_s for e in parsed.events if e.duration_s is not None]
    starts = [e.start_s for e in parsed.events]
    return max([DEFAULT_DURATION_S, *ends, *(s + 1.0 for s in starts)])


def _listener_and_room(room: dict | None) -> tuple[np.ndarray, np.ndarray | None]:
    """The listener's position, and the room's size when positions must stay inside a shoebox."""
    if room is None:
        return np.zeros(3), None
    if "ground" in room:
        return np.array([0.0, 0.0, EAR_HEIGHT_M]), None
    size = np.asarray(room["shoebox"]["size"], dtype=float)
    return np.array([size[0] / 2, size[1] / 2, min(EAR_HEIGHT_M, size[2] / 2)]), size


def _inside(listener, bounds, azimuth, elevation, distance, notes: list[str], label: str) -> list[float]:
    """World position of a direction and distance from the listener, kept inside the room (and above ground)."""
    from soundstage.conventions import spherical_to_cartesian

    direction = spherical_to_cartesian(azimuth, elevation, 1.0)
    reach = float(distance)
    if bounds is not None:
        with np.errstate(divide="ignore"):
            limits = np.where(direction > 0, (bounds - WALL_MARGIN_M - listener) / direction,
                              np.where(direction < 0, (WALL_MARGIN_M - listener) / direction, np.inf))
        fit = float(np.min(limits))
        if reach > fit:
            notes.append(f"{label}: {distance:g} m away does not fit in the room; brought inside, 0.3 m from the walls")
            reach = fit
    point = listener + direction * reach
    if bounds is None and listener[2] > 0:  # outdoors: above the ground
        point[2] = max(point[2], 0.1)
    return [round(float(v), 4) for v in point]


def _sound_for(event: Event, sounds: dict[str, Path], tta: tuple, seconds: float, rate: int, seed: int):
    """The samples of an event: the user's file, a text-to-audio model, or the library."""
    from soundstage.io.audio import load_audio

    for key in (event.sound, event.phrase):
        if key in sounds:
            audio, _rate = load_audio(sounds[key], sample_rate=rate, field=f"--sound {key}")
            return SceneSound(event.sound, _fit(audio, seconds, rate), rate, f"file {sounds[key]}")
    model, steps = tta
    if model is not None:
        from soundstage.audio_models.text_to_audio import DEFAULT_STEPS, generate_audio_file

        prompt = f"the sound of {event.phrase}"
        path = generate_audio_file(
            prompt, model=model, duration_s=seconds, seed=seed, num_inference_steps=steps or DEFAULT_STEPS
        )
        audio, _ = load_audio(path, sample_rate=rate, field=f"{model} output")
        return SceneSound(event.sound, _fit(audio, seconds, rate), rate, f"text-to-audio {model}: {prompt!r}")
    from soundstage.library import make_sound

    audio, how = make_sound(event.sound, seconds, rate, seed=seed)
    return SceneSound(event.sound, _fit(audio, seconds, rate), rate, f"library: {how}")


def _fit(audio: np.ndarray, seconds: float, rate: int) -> np.ndarray:
    """The sound looped or cut to ``seconds`` (with 10 ms fades at the cut)."""
    audio = np.asarray(audio, dtype=np.float32)
    n = max(1, round(seconds * rate))
    if len(audio) < n:
        audio = np.tile(audio, int(np.ceil(n / len(audio))))
    audio = audio[:n].copy()
    fade = min(int(0.01 * rate), n // 2)
    if fade:
        ramp = np.linspace(0.0, 1.0, fade, dtype=np.float32)
        audio[:fade] *= ramp
        audio[-fade:] *= ramp[::-1]
    return audio
