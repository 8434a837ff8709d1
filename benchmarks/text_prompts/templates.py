"""The template half of the prompt suite: prompts built from phrase templates, each with its truth.

Kept apart from the held-out phrasings (``held_out.jsonl``, see ``HELD_OUT.md``): these templates were written
together with the reader's rules and measure how completely it covers them; the held-out set measures how it
copes with phrasings nobody wrote rules for. ``template_prompts(n, seed)`` draws ``n`` prompts deterministically.
Truth fields as in the held-out set: per event its sound class, start azimuth (None when all around), motion
kind (None when still) and ambient flag; the room kind (``shoebox``, ``ground`` or None).
"""

from __future__ import annotations

import numpy as np

SOUNDS = {
    "speech": ["a man speaking", "a woman talking", "someone speaking"],
    "piano": ["a piano", "a grand piano playing"],
    "guitar": ["a guitar", "an acoustic guitar"],
    "violin": ["a violin", "a violin playing"],
    "flute": ["a flute"],
    "drums": ["drums", "a drum kit"],
    "church_bell": ["a church bell", "bells"],
    "phone_ring": ["a phone ringing", "a telephone"],
    "clock": ["a clock ticking", "a ticking clock"],
    "footsteps": ["footsteps"],
    "car": ["a car", "a truck", "a car engine"],
    "helicopter": ["a helicopter"],
    "siren": ["a siren", "an ambulance"],
    "dog": ["a dog barking", "a barking dog"],
    "bird": ["a bird singing", "birds"],
    "water_stream": ["a stream", "running water"],
    "applause": ["applause"],
}
AMBIENT = {"rain": ["rain", "rain all around"], "wind": ["wind", "wind all around"], "crowd": ["a crowd all around"]}
DIRECTIONS = [("on the left", 90), ("on the right", -90), ("in front", 0), ("behind me", 180), ("front left", 45),
              ("front right", -45), ("back left", 135), ("back right", -135), ("straight ahead", 0)]
DISTANCES = ["", " 2 m away", " 5 meters away", " far away", " nearby", " in the distance"]
ROOMS = [("", None), (" in a cathedral", "shoebox"), (" in a small tiled bathroom", "shoebox"),
         (" in a living room", "shoebox"), (" in a concert hall", "shoebox"), (" outdoors on grass", "ground"),
         (" in the street", "ground")]
MOTIONS = [("passing from left to right", "pass", 90), ("passing from right to left", "pass", -90),
           ("circling around me", "circle", 0), ("approaching from the left", "approach", 90),
           ("moving away on the right", "recede", -90), ("flying over", "overhead", 0)]


def _wrap(azimuth: float) -> float:
    wrapped = -((180.0 - azimuth) % 360.0) + 180.0
    return 180.0 if wrapped == -180.0 else wrapped


def _static(rng) -> tuple[str, dict]:
    name = str(rng.choice(list(SOUNDS)))
    phrase = str(rng.choice(SOUNDS[name]))
    kind = rng.integers(3)
    if kind == 0:
        words, azimuth = DIRECTIONS[rng.integers(len(DIRECTIONS))]
    elif kind == 1:
        hour = int(rng.integers(1, 13))
        words, azimuth = f"at {hour} o'clock", _wrap(-30.0 * hour)
    else:
        azimuth = float(rng.choice(np.arange(-165, 181, 15)))
        words = str(rng.choice([f"at {azimuth:g}°", f"at {azimuth:g} degrees", f"{azimuth:g} degrees"]))
    distance = str(rng.choice(DISTANCES))
    return f"{phrase} {words}{distance}", {"sound": name, "azimuth": azimuth, "motion": None, "ambient": False}


def _moving(rng) -> tuple[str, dict]:
    name = str(rng.choice(["car", "helicopter", "siren", "footsteps", "bird", "dog", "violin", "speech"]))
    phrase = str(rng.choice(SOUNDS[name]))
    if rng.random() < 0.3:
        a, b = (int(v) for v in rng.choice(np.arange(-150, 181, 30), size=2, replace=False))
        return f"{phrase} traversing {a}°→{b}°", {"sound": name, "azimuth": a, "motion": "traverse", "ambient": False}
    words, kind, azimuth = MOTIONS[rng.integers(len(MOTIONS))]
    return f"{phrase} {words}", {"sound": name, "azimuth": azimuth, "motion": kind, "ambient": False}


def _ambient(rng) -> tuple[str, dict]:
    name = str(rng.choice(list(AMBIENT)))
    return str(rng.choice(AMBIENT[name])), {"sound": name, "azimuth": None, "motion": None, "ambient": True}


def template_prompts(n: int = 320, seed: int = 0) -> list[dict]:
    """``n`` prompts: a third single still events, a third moving, a third two or three events; a room in some."""
    rng = np.random.default_rng(seed)
    prompts = []
    for index in range(n):
        kind = index % 3
        if kind == 0:
            parts = [_static(rng)]
        elif kind == 1:
            parts = [_moving(rng)]
        else:
            parts = [_static(rng) if rng.random() < 0.6 else _moving(rng) for _ in range(int(rng.integers(2, 4)))]
            if rng.random() < 0.3:
                parts[-1] = _ambient(rng)
        joiners = [", then " if rng.random() < 0.5 else ", and " for _ in parts[1:]]
        text = parts[0][0] + "".join(j + p[0] for j, p in zip(joiners, parts[1:], strict=True))
        room_words, room = ROOMS[int(rng.integers(len(ROOMS)))] if rng.random() < 0.3 else ("", None)
        prompts.append({"prompt": text + room_words, "events": [p[1] for p in parts], "room": room})
    return prompts
