"""The offline sound pool: deterministic, resumable, valid clips, missing tools, user folders."""

from __future__ import annotations

import json
import os
import shutil
import struct
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile

from soundstage.errors import InputFileError, ParameterError
from soundstage.learn.data import midi, sounds
from soundstage.learn.data.sounds import (
    INSTRUMENTS,
    MAX_PEAK,
    MIN_SOUND_S,
    PEAK,
    POOL_FILE,
    PROCEDURAL,
    SoundClip,
    available_generators,
    build_sound_pool,
    load_clip,
)

RATE = 16000
SMALL = {"sample_rate": RATE, "clips_per_class": 1, "clip_seconds": 1.5, "seed": 7, "progress": False}
HAVE_FLUIDSYNTH = available_generators()["fluidsynth"] is None
HAVE_ESPEAK = available_generators()["espeak"] is None
NO_FLUIDSYNTH = "fluidsynth or the GM soundfont is not installed (Debian: fluidsynth, fluid-soundfont-gm)"
NO_ESPEAK = "espeak-ng is not installed (Debian: espeak-ng)"


def _build(folder: Path, **changes) -> list[SoundClip]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a missing tool warns; this machine may lack some
        return build_sound_pool(folder, **{**SMALL, **changes})


def _audio(path: Path) -> np.ndarray:
    return soundfile.read(path, dtype="float32")[0]


@pytest.fixture(scope="module")
def pool(tmp_path_factory) -> tuple[Path, list[SoundClip]]:
    folder = tmp_path_factory.mktemp("pool")
    return folder, _build(folder)


@pytest.fixture
def no_tools(tmp_path, monkeypatch) -> Path:
    """A PATH with no synthesizer on it, so only procedural (and user) clips are made, fast."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    return empty


def _write_tone(path: Path, seconds: float, rate: int = 44100, **kwargs) -> None:
    t = np.arange(round(seconds * rate)) / rate
    soundfile.write(path, 0.3 * np.sin(2 * np.pi * 440.0 * t) * np.hanning(t.size), rate, **kwargs)


# --- every clip ---------------------------------------------------------------------------------------------------


def test_every_clip_is_mono_finite_unclipped_and_holds_a_second_of_sound(pool):
    folder, clips = pool
    assert clips
    for clip in clips:
        assert clip.path == folder / f"{clip.clip_id}.wav"
        info = soundfile.info(clip.path)
        assert (info.samplerate, info.channels, info.subtype) == (RATE, 1, "FLOAT")
        audio = _audio(clip.path)
        assert np.all(np.isfinite(audio)), clip.clip_id
        assert 0.0 < np.max(np.abs(audio)) <= MAX_PEAK, clip.clip_id
        assert MIN_SOUND_S * RATE <= audio.size <= SMALL["clip_seconds"] * RATE, clip.clip_id
        # Trimmed: both ends hold sound, not 70 dB below the peak.
        edge = round(0.04 * RATE)
        for end in (audio[:edge], audio[-edge:]):
            assert np.max(np.abs(end)) > 10 ** (-70 / 20) * np.max(np.abs(audio)), clip.clip_id
        loaded = load_clip(clip)
        assert loaded.dtype == np.float32
        assert np.max(np.abs(loaded)) == pytest.approx(PEAK, rel=1e-6)


def test_classes_are_distinct_and_ids_unique(pool):
    _, clips = pool
    assert len({clip.clip_id for clip in clips}) == len(clips)
    kinds_of_label: dict[str, set[str]] = {}
    for clip in clips:
        kinds_of_label.setdefault(clip.label, set()).add(clip.kind)
        assert clip.clip_id.startswith(f"{clip.kind}/{clip.label}/")
    assert all(len(kinds) == 1 for kinds in kinds_of_label.values())
    assert {clip.label for clip in clips if clip.kind == "procedural"} == set(PROCEDURAL)
    assert len(PROCEDURAL) >= 8
    # No two clips sound the same.
    fingerprints = {_audio(clip.path)[:4000].tobytes() for clip in clips}
    assert len(fingerprints) == len(clips)


@pytest.mark.skipif(not HAVE_FLUIDSYNTH, reason=NO_FLUIDSYNTH)
def test_instruments_are_rendered_by_fluidsynth(pool):
    _, clips = pool
    labels = {clip.label for clip in clips if clip.kind == "fluidsynth"}
    assert labels == {instrument.label for instrument in INSTRUMENTS}
    assert len(labels) >= 10
    programs = {(instrument.style == "drums", program) for instrument in INSTRUMENTS for program in instrument.programs}
    assert len(programs) == sum(len(instrument.programs) for instrument in INSTRUMENTS)  # no program shared
    # The bass plays low and the flute high: the spectral centroids of the renders show it.
    centroid = {}
    for clip in clips:
        if clip.label in ("bass", "flute"):
            audio = _audio(clip.path)
            spectrum = np.abs(np.fft.rfft(audio))
            centroid[clip.label] = np.sum(spectrum * np.fft.rfftfreq(audio.size, 1 / RATE)) / spectrum.sum()
    assert centroid["bass"] < centroid["flute"]


@pytest.mark.skipif(not HAVE_ESPEAK, reason=NO_ESPEAK)
def test_speech_is_spoken_by_espeak(pool):
    folder, clips = pool
    assert [clip.label for clip in clips if clip.kind == "espeak"] == ["speech"]
    entry = next(e for e in json.loads((folder / POOL_FILE).read_text())["clips"] if e["kind"] == "espeak")
    voice, variant = entry["drawn"]["voice"].split("+")
    assert voice in sounds.VOICES
    assert variant in sounds.VARIANTS


# --- determinism and resumption -----------------------------------------------------------------------------------


def test_same_seed_gives_the_same_audio(pool, tmp_path):
    _, clips = pool
    again = _build(tmp_path / "again")
    assert [clip.clip_id for clip in again] == [clip.clip_id for clip in clips]
    for first, second in zip(clips, again, strict=True):
        assert np.array_equal(_audio(first.path), _audio(second.path)), first.clip_id


def test_another_seed_gives_other_audio(pool, tmp_path, no_tools):
    folder, _ = pool
    other = _build(tmp_path / "other", seed=8)
    for clip in other:
        assert not np.array_equal(_audio(clip.path)[:4000], _audio(folder / f"{clip.clip_id}.wav")[:4000])


def test_rebuild_remakes_only_a_deleted_or_damaged_clip(pool, tmp_path):
    folder, clips = pool
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    old_ns = 1_000_000_000 * 10**9  # a fixed past mtime: a rewritten file cannot keep it
    for clip in clips:
        os.utime(copy / f"{clip.clip_id}.wav", ns=(old_ns, old_ns))
    deleted = next((c for c in clips if c.kind == "fluidsynth"), clips[-1])
    damaged = next(c for c in clips if c.label == "rain")
    (copy / f"{deleted.clip_id}.wav").unlink()
    (copy / f"{damaged.clip_id}.wav").write_bytes(b"RIFF not really")

    rebuilt = _build(copy)

    assert [clip.clip_id for clip in rebuilt] == [clip.clip_id for clip in clips]
    remade = {clip.clip_id for clip in rebuilt if (clip.path.stat().st_mtime_ns != old_ns)}
    assert remade == {deleted.clip_id, damaged.clip_id}
    for clip in (deleted, damaged):
        assert np.array_equal(_audio(copy / f"{clip.clip_id}.wav"), _audio(clip.path))
    assert not list(copy.rglob("*.tmp"))  # atomic writes leave no temporary files


def test_changed_parameters_remake_the_clips(tmp_path, no_tools):
    first = _build(tmp_path / "pool")
    mtimes = {clip.clip_id: clip.path.stat().st_mtime_ns for clip in first}
    second = _build(tmp_path / "pool", clip_seconds=2.0)
    remade = {clip.clip_id: clip.path.stat().st_mtime_ns for clip in second}
    assert all(remade[clip_id] != mtime for clip_id, mtime in mtimes.items())
    assert max(soundfile.info(clip.path).frames for clip in second) > SMALL["clip_seconds"] * RATE
    assert json.loads((tmp_path / "pool" / POOL_FILE).read_text())["parameters"]["clip_seconds"] == 2.0
    grown = _build(tmp_path / "pool", clip_seconds=2.0, clips_per_class=2)
    assert len(grown) == 2 * len(second)
    assert {c.clip_id: c.path.stat().st_mtime_ns for c in grown if c.clip_id in remade} == remade


# --- missing tools ------------------------------------------------------------------------------------------------


def test_without_fluidsynth_the_pool_builds_from_the_rest(tmp_path, monkeypatch):
    tools = tmp_path / "bin"
    tools.mkdir()
    if HAVE_ESPEAK:  # keep espeak-ng on PATH, so only fluidsynth is missing
        (tools / "espeak-ng").symlink_to(shutil.which("espeak-ng"))
    monkeypatch.setenv("PATH", str(tools))
    assert "fluidsynth" in available_generators()["fluidsynth"]

    with pytest.warns(UserWarning) as caught:
        clips = build_sound_pool(tmp_path / "pool", **SMALL)

    fluid_warnings = [str(w.message) for w in caught if "fluidsynth" in str(w.message)]
    assert len(fluid_warnings) == 1
    assert "\n" not in fluid_warnings[0]
    assert "install the Debian packages fluidsynth and fluid-soundfont-gm" in fluid_warnings[0]
    kinds = {clip.kind for clip in clips}
    assert "fluidsynth" not in kinds
    assert "procedural" in kinds
    assert ("espeak" in kinds) == HAVE_ESPEAK
    assert "fluidsynth" in json.loads((tmp_path / "pool" / POOL_FILE).read_text())["skipped"]


def test_without_espeak_the_warning_names_its_package(tmp_path, no_tools):
    with pytest.warns(UserWarning) as caught:
        clips = build_sound_pool(tmp_path / "pool", **SMALL)
    assert any("install the Debian package espeak-ng" in str(w.message) for w in caught)
    assert {clip.kind for clip in clips} == {"procedural"}


@pytest.mark.skipif(sounds._soundfont() is None, reason="no General MIDI soundfont (Debian: fluid-soundfont-gm)")
def test_a_failing_fluidsynth_is_skipped_with_one_warning(tmp_path, no_tools):
    fake = no_tools / "fluidsynth"
    fake.write_text("#!/bin/sh\necho 'fluidsynth: error: broken install' >&2\nexit 3\n")
    fake.chmod(0o755)
    with pytest.warns(UserWarning) as caught:
        clips = build_sound_pool(tmp_path / "pool", **SMALL)
    failures = [str(w.message) for w in caught if "no more fluidsynth" in str(w.message)]
    assert failures == [
        "sound pool: no more fluidsynth sounds — fluidsynth failed with exit code 3: fluidsynth: error: broken install"
    ]
    assert {clip.kind for clip in clips} == {"procedural"}
    assert "broken install" in json.loads((tmp_path / "pool" / POOL_FILE).read_text())["skipped"]["fluidsynth"]


# --- user clips ---------------------------------------------------------------------------------------------------


def test_user_clips_are_labelled_by_folder_or_name_prefix(tmp_path, no_tools):
    user = tmp_path / "mine"
    (user / "Dog").mkdir(parents=True)
    _write_tone(user / "Dog" / "a.wav", 2.0)
    _write_tone(user / "Dog" / "b.flac", 2.5)
    _write_tone(user / "rain_03.wav", 3.0, rate=48000)
    _write_tone(user / "siren-2.ogg", 2.0)
    _write_tone(user / "tick.wav", 0.3)  # under a second of sound: skipped
    (user / "broken.wav").write_bytes(b"RIFF\x00\x00")  # unreadable: skipped
    (user / "notes.txt").write_text("not audio")

    with pytest.warns(UserWarning) as caught:
        clips = build_sound_pool(tmp_path / "pool", **SMALL, user_dir=user)
    assert any("skipped 2 unreadable or near-silent user file(s)" in str(w.message) for w in caught)

    mine = {clip.clip_id: clip for clip in clips if clip.kind == "user"}
    assert set(mine) == {"user/dog/dog_a", "user/dog/dog_b", "user/rain/rain_03", "user/siren/siren_2"}
    assert {clip.label for clip in mine.values()} == {"dog", "rain", "siren"}
    for clip in mine.values():
        info = soundfile.info(clip.path)
        assert (info.samplerate, info.channels) == (RATE, 1)
        assert MIN_SOUND_S * RATE <= info.frames <= SMALL["clip_seconds"] * RATE
        assert np.max(np.abs(load_clip(clip))) == pytest.approx(PEAK, rel=1e-6)
    assert {clip.kind for clip in clips} == {"user", "procedural"}


def test_a_missing_user_folder_is_an_error_naming_it(tmp_path):
    with pytest.raises(InputFileError, match=r"nowhere: user sound folder does not exist"):
        build_sound_pool(tmp_path / "pool", **SMALL, user_dir=tmp_path / "nowhere")
    assert not (tmp_path / "pool").exists()  # refused before anything was made


def test_a_user_folder_without_audio_is_an_error(tmp_path):
    user = tmp_path / "mine"
    user.mkdir()
    (user / "notes.txt").write_text("not audio")
    with pytest.raises(InputFileError, match=r"mine: user sound folder holds no \.wav/\.flac/\.ogg"):
        build_sound_pool(tmp_path / "pool", **SMALL, user_dir=user)


def test_a_user_folder_of_unreadable_files_is_an_error(tmp_path, no_tools):
    user = tmp_path / "mine"
    user.mkdir()
    (user / "broken.wav").write_bytes(b"RIFF\x00\x00")
    _write_tone(user / "blip.wav", 0.2)
    with pytest.raises(InputFileError, match=r"mine: holds no readable clip with at least 1 s of sound") as raised:
        _build(tmp_path / "pool", user_dir=user)
    assert "\n" not in str(raised.value)
    assert not list((tmp_path / "pool").rglob("procedural/*/*.wav"))  # refused before any synthesis


# --- parameters and the MIDI writer -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"sample_rate": 4000}, "sample_rate must be at least 8000 Hz"),
        ({"sample_rate": 16000.0}, "sample_rate must be a positive integer"),
        ({"clips_per_class": 0}, "clips_per_class must be a positive integer"),
        ({"clip_seconds": 0.5}, "clip_seconds must be at least 1 s"),
        ({"clip_seconds": float("nan")}, "clip_seconds must be at least 1 s"),
        ({"seed": -1}, "seed must be a non-negative integer"),
    ],
)
def test_bad_parameters_are_refused(tmp_path, change, message):
    with pytest.raises(ParameterError, match=message):
        build_sound_pool(tmp_path / "pool", **{**SMALL, **change})


def test_midi_file_is_a_valid_format_0_file():
    notes = [midi._Note(0.0, 1.0, 60, 100), midi._Note(0.5, 0.5, 64, 90), midi._Note(1.0, 200.0, 67, 80)]
    data = midi._midi_file(notes, program=40, channel=0, tempo_bpm=120.0)
    assert data[:4] == b"MThd"
    assert struct.unpack(">IHHH", data[4:14]) == (6, 0, 1, 480)
    assert data[14:18] == b"MTrk"
    (length,) = struct.unpack(">I", data[18:22])
    track = data[22:]
    assert len(track) == length
    # Walk the events: delta time (variable length), then a meta or channel message.
    position, tick, events = 0, 0, []
    while position < len(track):
        delta = 0
        while True:
            byte = track[position]
            position += 1
            delta = (delta << 7) | (byte & 0x7F)
            if byte < 0x80:
                break
        tick += delta
        if track[position] == 0xFF:
            size = track[position + 2]
            events.append((tick, track[position : position + 3 + size]))
            position += 3 + size
        else:
            size = 2 if track[position] & 0xF0 == 0xC0 else 3
            events.append((tick, track[position : position + size]))
            position += size
    assert events[0] == (0, b"\xff\x51\x03" + (500000).to_bytes(3, "big"))  # 120 bpm
    assert events[1] == (0, bytes([0xC0, 40]))
    assert events[-1][1] == b"\xff\x2f\x00"
    on = [(t, e[1]) for t, e in events if e[0] == 0x90]
    off = [(t, e[1]) for t, e in events if e[0] == 0x80]
    assert on == [(0, 60), (240, 64), (480, 67)]
    assert sorted(off) == [(480, 60), (480, 64), (480 + 96000, 67)]
    assert midi._variable_length(96000) == bytes([0x85, 0xEE, 0x00])
