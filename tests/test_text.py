"""Text → spatial audio: what the reader makes of prompts, the scene it builds, and where the render puts sounds."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import soundfile

from soundstage.cli.main import main
from soundstage.errors import ParameterError
from soundstage.scene import Scene, load_scene
from soundstage.text.parse import parse_prompt
from soundstage.text.scene_builder import build_scene


def one(prompt: str):
    parsed = parse_prompt(prompt)
    assert len(parsed.events) == 1, parsed.explain()
    return parsed.events[0]


@pytest.mark.parametrize(("hour", "azimuth"), [(12, 0), (1, -30), (2, -60), (3, -90), (6, 180), (9, 90), (10, 60)])
def test_clock_positions_go_clockwise_from_ahead(hour, azimuth):
    # 3 o'clock is the right, where Soundstage's azimuth (positive to the left) is −90°.
    assert one(f"a phone ringing at {hour} o'clock").azimuth_deg == azimuth


@pytest.mark.parametrize(
    ("words", "azimuth", "elevation"),
    [
        ("on the left", 90, 0), ("on the right", -90, 0), ("in front", 0, 0), ("behind me", 180, 0),
        ("front right", -45, 0), ("back left", 135, 0), ("at 120°", 120, 0), ("at -45 degrees", -45, 0),
        ("45 degrees", 45, 0), ("at 270°", -90, 0), ("above", 0, 45), ("overhead", 0, 90),
        ("on the left above", 90, 45),
    ],
)
def test_directions_in_every_way_people_write_them(words, azimuth, elevation):
    event = one(f"a dog barking {words}")
    assert (event.azimuth_deg, event.elevation_deg) == (azimuth, elevation)


@pytest.mark.parametrize(
    ("words", "metres"), [("2 m away", 2.0), ("3.5 meters", 3.5), ("far away", 20.0), ("close to my ear", 0.3),
                          ("nearby", 1.5)]
)
def test_distances(words, metres):
    assert one(f"a violin on the left, {words}").distance_m == metres


def test_a_pass_from_left_to_right_goes_in_front_and_behind_me_goes_behind():
    front = one("a car passing from left to right")
    behind = one("a car passing from left to right behind me")
    for event, sign in ((front, 1), (behind, -1)):
        (a0, _, d0), (a1, _, d1) = event.path
        assert a0 > 0 > a1  # starts left, ends right
        assert np.sign(np.cos(np.radians(a0))) == sign and np.sign(np.cos(np.radians(a1))) == sign
        assert d0 == pytest.approx(d1)


@pytest.mark.parametrize(
    ("prompt", "kind", "check"),
    [
        ("helicopter traversing 120°→240°", "traverse", lambda p: (p[0][0], p[4][0], p[-1][0]) == (120, 180, 240)),
        ("a bird flying from 30° to -30°", "traverse", lambda p: p[0][0] == 30 and p[-1][0] == -30),
        ("footsteps circling around me", "circle", lambda p: p[-1][0] - p[0][0] == 360),
        ("a violin approaching from the front", "approach", lambda p: p[0][2] > p[-1][2] and p[0][0] == 0),
        ("a siren moving away on the right", "recede", lambda p: p[0][2] < p[-1][2] and p[0][0] == -90),
        ("a helicopter flying over", "overhead", lambda p: max(e for _, e, _ in p) == 90),
    ],
)
def test_motion_words(prompt, kind, check):
    event = one(prompt)
    assert event.motion == kind and check(event.path), parse_prompt(prompt).explain()


def test_several_events_and_their_timing():
    parsed = parse_prompt("a dog barking on the left for 2 seconds, then a bell on the right, while rain falls")
    dog, bell, rain = parsed.events
    assert (dog.sound, dog.duration_s, dog.start_s) == ("dog", 2.0, 0.0)
    assert (bell.sound, bell.start_s, bell.azimuth_deg) == ("church_bell", 2.0, -90.0)
    assert rain.sound == "rain" and rain.start_s == 0.0 and rain.ambient
    later = parse_prompt("a piano in front and a guitar on the left after 3 seconds").events
    assert later[1].start_s == 3.0


def test_rooms_map_to_presets_with_library_materials():
    from soundstage.acoustics.room.materials import MATERIALS

    cathedral = parse_prompt("a choir voice in a cathedral").room
    assert cathedral["shoebox"]["size"] == [60.0, 25.0, 30.0]
    bathroom = parse_prompt("a man speaking in a small tiled bathroom").room
    assert bathroom["materials"]["walls"] == "ceramic_tile" and "ceramic_tile" in MATERIALS
    assert parse_prompt("a dog barking outdoors on grass").room == {"ground": "grass"}
    assert parse_prompt("a dog barking").room is None


def test_words_not_understood_are_reported_and_defaults_are_shown():
    parsed = parse_prompt("a dog barking with purple elephants")
    assert parsed.unknown == ["purple", "elephants"]
    assert "dog: no direction given: in front" in parsed.explain()


@pytest.mark.parametrize(
    ("prompt", "message"),
    [
        ("", "the prompt is empty"),
        ("   ", "the prompt is empty"),
        ("something on the left", "no sound named"),
        ("a dog on the left and on the right", "contradict|placed at"),
        ("a dog -3 m away", "between 0.2 and 1000 m"),
        ("a dog at 10000°", "within ±360°"),
        ("a phone ringing at 13 o'clock", "from 1 to 12"),
        ("a dog barking for 9999 seconds", "between 0 and 600"),
    ],
)
def test_bad_prompts_get_one_line(prompt, message):
    with pytest.raises(ParameterError, match=message):
        parse_prompt(prompt)


# -- the scene and the render -------------------------------------------------------------------------


def _foa_azimuth(audio: np.ndarray) -> float:
    w, y, _z, x = audio.astype(float)
    return float(np.degrees(np.arctan2(np.sum(w * y), np.sum(w * x))))


@pytest.mark.parametrize(("prompt", "azimuth"), [("a dog barking at 60 degrees", 60.0),
                                                  ("a bird singing at 4 o'clock", -120.0),
                                                  ("a clock ticking behind me on the left", 135.0)])
def test_a_static_event_renders_where_the_prompt_says(prompt, azimuth):
    from soundstage.acoustics.render import render

    data, _sounds, _notes = build_scene(parse_prompt(prompt), output_format="foa", sample_rate=16000, duration_s=2.0)
    result = render(Scene.model_validate(data), progress=False)
    assert abs((_foa_azimuth(result.audio) - azimuth + 180) % 360 - 180) < 2.0


def test_an_event_too_far_for_the_room_is_brought_inside_and_said_so():
    data, _sounds, notes = build_scene(parse_prompt("a bell far away on the left in a small room"),
                                       sample_rate=16000, duration_s=1.0)
    scene = Scene.model_validate(data)  # validates that every source is inside the room
    assert any("brought inside" in note for note in notes) and scene.room is not None


def test_the_user_sound_is_used_for_its_label(tmp_path):
    bell = tmp_path / "my_bell.wav"
    tone = 0.2 * np.sin(2 * np.pi * 880 * np.arange(16000) / 16000)
    soundfile.write(bell, tone, 16000)
    _data, sounds, _ = build_scene(parse_prompt("a bell on the left"), sounds={"bell": bell}, sample_rate=16000,
                                   duration_s=1.0)
    assert sounds[0].origin == f"file {bell}"
    assert np.allclose(sounds[0].audio[200:-200], tone[200:-200].astype(np.float32), atol=1e-4)


def test_the_command_line_writes_audio_a_scene_that_re_renders_to_it_and_its_sounds(tmp_path, capsys):
    out = tmp_path / "out.wav"
    code = main(["text", "a dog barking on the left, then a car passing from left to right behind me", "-o",
                 str(out), "--sample-rate", "16000", "--explain", "--quiet"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "event 2: car" in printed and "sound: dog" in printed
    scene = load_scene(tmp_path / "out.scene.yaml")
    assert len(scene.sources) == 2 and scene.sources[1].trajectory is not None
    again = tmp_path / "again.wav"
    assert main(["render", str(tmp_path / "out.scene.yaml"), "-o", str(again), "--bit-depth", "float", "--quiet"]) == 0
    a, _ = soundfile.read(out)
    b, _ = soundfile.read(again)
    n = min(len(a), len(b))
    assert np.max(np.abs(a[:n] - b[:n])) < 1e-3 and np.max(np.abs(a)) <= 10 ** (-1 / 20) + 1e-6


def test_an_unreadable_sound_file_is_one_line(tmp_path, capsys):
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF nonsense")
    code = main(["text", "a bell on the left", "--sound", f"bell={broken}", "-o", str(tmp_path / "o.wav")])
    err = capsys.readouterr().err
    assert code != 0 and "broken.wav" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o.wav").exists() and not (tmp_path / "o.scene.yaml").exists()


# -- the library -------------------------------------------------------------------------------------


def _available(kind: str) -> bool:
    return {"fluidsynth": bool(shutil.which("fluidsynth")), "espeak": bool(shutil.which("espeak-ng"))}.get(kind, True)


@pytest.mark.parametrize("name", [c.name for c in __import__("soundstage.library", fromlist=["CLASSES"]).CLASSES])
def test_every_library_class_makes_a_sound_at_the_reference_level(name):
    from soundstage.library import BY_NAME, REFERENCE_RMS, make_sound

    if not _available(BY_NAME[name].kind):
        pytest.skip(f"{BY_NAME[name].kind} is not installed (apt-get install fluidsynth fluid-soundfont-gm espeak-ng)")
    audio, how = make_sound(name, 2.0, 16000)
    assert audio.dtype == np.float32 and len(audio) > 0.9 * 16000
    assert np.sqrt(np.mean(audio.astype(float) ** 2)) == pytest.approx(REFERENCE_RMS, rel=1e-3)
    assert how


def test_the_siren_sweeps_between_650_and_1500_hz_and_the_phone_rings_two_seconds_in_three():
    from scipy.signal import stft

    from soundstage.library.synthesizers import phone_ring, siren

    rate = 16000
    audio, _ = siren(np.random.default_rng(0), rate, 8.0)
    freqs, _, spectrum = stft(audio, rate, nperseg=2048)
    peaks = freqs[np.argmax(np.abs(spectrum), axis=0)][2:-2]
    assert 600 < peaks.min() < 700 and 1400 < peaks.max() < 1550
    ring, _ = phone_ring(np.random.default_rng(0), rate, 6.0)
    frames = np.sqrt(np.mean(ring.reshape(-1, rate // 10) ** 2, axis=1))
    assert np.mean(frames > 0.1 * frames.max()) == pytest.approx(2 / 3, abs=0.05)


def test_a_clock_position_is_not_a_clock():
    event = one("birds singing at 4 o'clock")
    assert (event.sound, event.azimuth_deg) == ("bird", -120.0)
    assert one("a clock ticking at 9 o'clock").sound == "clock"


def test_a_short_pass_is_shortened_to_a_car_speed():
    from soundstage.text.scene_builder import MAX_PASS_SPEED_M_S

    data, _, notes = build_scene(parse_prompt("a helicopter passing from left to right"), sample_rate=16000,
                                 duration_s=1.0)
    keyframes = data["sources"][0]["trajectory"]["keyframes"]
    start, end = (np.array(k["position"]) for k in (keyframes[0], keyframes[-1]))
    seconds = keyframes[-1]["t"] - keyframes[0]["t"]
    assert np.linalg.norm(end - start) / seconds == pytest.approx(MAX_PASS_SPEED_M_S, rel=1e-6)
    assert any("passes at" in note for note in notes)


def test_the_template_prompt_suite_is_read_right():
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks" / "text_prompts"))
    from templates import template_prompts

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from bench_text import check

    results = [check(item, parse_prompt(item["prompt"]))["all"] for item in template_prompts()]
    assert np.mean(results) >= 0.98


def test_tta_gives_each_event_a_generated_sound(tmp_path, monkeypatch):
    from test_audio_models import _tiny_audioldm2

    folder = tmp_path / "audioldm2"
    _tiny_audioldm2(tmp_path / "tokenizer").save_pretrained(folder)
    monkeypatch.setenv("SOUNDSTAGE_CACHE", str(tmp_path / "cache"))
    parsed = parse_prompt("a dog barking on the left, and a bell on the right")
    _data, sounds, _ = build_scene(parsed, tta=str(folder), tta_steps=2, sample_rate=16000, duration_s=0.2)
    assert [s.origin.split(":")[0] for s in sounds] == [f"text-to-audio {folder}"] * 2
    assert "'the sound of dog barking'" in sounds[0].origin
    assert all(len(s.audio) == round(0.2 * 16000) and np.any(s.audio != 0) for s in sounds)
    assert len(list((tmp_path / "cache" / "generated").glob("*.wav"))) == 2  # cached by prompt and seed


@pytest.mark.parametrize(
    ("prompt", "azimuth"),
    [("violin at azimuth -45", -45.0), ("a flute 30 degrees to the right", -30.0), ("a piano 45° left", 45.0),
     ("a drum at +30", 30.0), ("birdsong from behind me and to the right", -135.0),
     ("a drum kit behind me to the left", 135.0), ("someone speaking right in front of me", 0.0)],
)
def test_angles_and_sides_written_loosely(prompt, azimuth):
    assert one(prompt).azimuth_deg == azimuth


def test_sides_with_arrows_and_motion_said_after_the_sound():
    steps = one("footsteps left→right")
    assert steps.motion == "pass" and steps.path[0][0] > 0 > steps.path[-1][0]
    phone = one("a phone ringing, it moves in a circle around me")
    assert phone.motion == "circle"


@pytest.mark.parametrize(("prompt", "kind"), [("Living room, a clock directly behind me", "shoebox"),
                                               ("On a busy street, a car passes from left to right", "ground"),
                                               ("a church bell on the left", None)])
def test_a_place_named_anywhere_sets_the_room(prompt, kind):
    room = parse_prompt(prompt).room
    assert (None if room is None else ("ground" if "ground" in room else "shoebox")) == kind


def test_a_sound_word_the_vocabulary_lacks_is_matched_by_clap(tmp_path):
    from soundstage.text.matching import ClapMatcher
    from test_audio_models import _tiny_clap

    model, processor = _tiny_clap(tmp_path / "tokenizer")
    model.save_pretrained(tmp_path / "clap")
    processor.save_pretrained(tmp_path / "clap")
    matcher = ClapMatcher(str(tmp_path / "clap"), threshold=-1.0)  # a random tiny model: accept its best
    with pytest.raises(ParameterError, match="no sound named"):
        parse_prompt("a cat meowing on the left")
    parsed = parse_prompt("a cat meowing on the left", matcher=matcher)
    event = parsed.events[0]
    expected = matcher.names[int(np.argmax(matcher.similarities("cat meowing")))]
    assert (event.sound, event.azimuth_deg) == (expected, 90.0)
    assert "matched to it by CLAP" in parsed.explain() and not parsed.unknown
    # Above the threshold only: a matcher that never reaches it leaves the words not understood.
    strict = ClapMatcher(str(tmp_path / "clap"), threshold=1.01)
    with pytest.raises(ParameterError, match="no sound named"):
        parse_prompt("a cat meowing on the left", matcher=strict)


def test_offline_the_command_line_falls_back_to_the_synonym_table_and_says_so(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    code = main(["text", "a dog barking on the left, and a cat meowing", "-o", str(tmp_path / "o.wav"),
                 "--sample-rate", "16000", "--duration", "1", "--quiet"])
    err = capsys.readouterr().err
    assert code == 0 and "synonym table" in err and "not understood: cat, meowing" in err


def test_with_a_text_to_audio_model_any_sound_the_prompt_names_is_made(tmp_path, monkeypatch):
    from test_audio_models import _tiny_audioldm2

    folder = tmp_path / "audioldm2"
    _tiny_audioldm2(tmp_path / "tokenizer").save_pretrained(folder)
    monkeypatch.setenv("SOUNDSTAGE_CACHE", str(tmp_path / "cache"))
    parsed = parse_prompt("a cat meowing on the left", free_sounds=True)
    assert (parsed.events[0].sound, parsed.events[0].azimuth_deg) == ("cat meowing", 90.0)
    _data, sounds, _ = build_scene(parsed, tta=str(folder), tta_steps=2, sample_rate=16000, duration_s=0.2)
    assert "'the sound of cat meowing'" in sounds[0].origin


def test_diagonal_passes_sides_after_a_fly_over_and_attributes_that_are_not_events():
    car = one("a car goes by from front-left to back-right")
    assert car.motion == "pass" and abs(car.path[0][0] - 45) < 20 and abs(car.path[-1][0] + 135) < 20
    birds = one("birds flying overhead, back to front")
    assert birds.motion == "overhead" and birds.path[0][0] == 180 and birds.path[-1][0] == 0
    ambulance = one("an ambulance with its siren on, approaching from behind")
    assert (ambulance.sound, ambulance.motion, ambulance.azimuth_deg) == ("siren", "approach", 180)
    two = parse_prompt("a siren approaching from the left as a dog barks behind me").events
    assert [(e.sound, e.azimuth_deg) for e in two] == [("siren", 90), ("dog", 180)]


def test_an_object_wins_over_a_person_word_and_bare_angles_close_a_clause():
    assert one("someone playing piano on the left").sound == "piano"
    events = parse_prompt("guitar -30, flute +30, drums 180").events
    assert [e.azimuth_deg for e in events] == [-30, 30, 180]


def test_an_unknown_sound_keeps_its_own_words_and_does_not_move_the_one_before():
    parsed = parse_prompt("a piano, then a trumpet on the left")
    assert [(e.sound, e.azimuth_deg) for e in parsed.events] == [("piano", 0.0)] and parsed.unknown == ["trumpet"]
    assert parse_prompt("a dog on the left, a cat on the right").events[0].azimuth_deg == 90.0
    assert one("a guitar being strummed, positioned at -60").azimuth_deg == -60.0  # still a modifier


def test_nouns_win_over_verbs_and_far_left_is_a_side():
    assert one("a bell ringing on the left").sound == "church_bell"
    assert one("an alarm ringing").sound == "siren"
    piano = one("a piano on the far left")
    assert (piano.azimuth_deg, piano.distance_m) == (90.0, 2.0)


def test_the_wind_does_not_flutter_at_its_filter_updates():
    from soundstage.library.synthesizers import wind

    rate = 16000
    audio, _ = wind(np.random.default_rng(0), rate, 4.0)
    block = rate // 20
    edges = np.mean([np.mean(np.abs(audio[k : k + 16])) for k in range(block, len(audio) - block, block)])
    middles = np.mean([np.mean(np.abs(audio[k + block // 2 : k + block // 2 + 16]))
                       for k in range(block, len(audio) - block, block)])
    assert edges / middles > 0.85
