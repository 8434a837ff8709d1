"""The words the prompt reader knows: directions, clock positions, distances, motions, timing and rooms.

Directions are in Soundstage's azimuth: 0° ahead, +90° on the left, ±180° behind (see
:mod:`soundstage.conventions`). **Clock positions** are read as a listener looking at 12 o'clock sees a clock
face lying on the floor, hands going clockwise seen from above: 12 ahead, 3 on the right, 6 behind, 9 on the
left, so ``N o'clock`` is azimuth ``−30·N`` degrees, wrapped to (−180°, 180°].
"""

from __future__ import annotations

import re

#: Direction words → (azimuth, elevation) in degrees; longer phrases are matched first.
DIRECTIONS: dict[str, tuple[float, float]] = {
    "front left": (45.0, 0.0),
    "front right": (-45.0, 0.0),
    "left front": (45.0, 0.0),
    "right front": (-45.0, 0.0),
    "back left": (135.0, 0.0),
    "back right": (-135.0, 0.0),
    "rear left": (135.0, 0.0),
    "rear right": (-135.0, 0.0),
    "left rear": (135.0, 0.0),
    "right rear": (-135.0, 0.0),
    "behind me on the left": (135.0, 0.0),
    "behind me on the right": (-135.0, 0.0),
    "behind on the left": (135.0, 0.0),
    "behind on the right": (-135.0, 0.0),
    "in front": (0.0, 0.0),
    "ahead": (0.0, 0.0),
    "front": (0.0, 0.0),
    "straight ahead": (0.0, 0.0),
    "left": (90.0, 0.0),
    "right": (-90.0, 0.0),
    "behind": (180.0, 0.0),
    "back": (180.0, 0.0),
    "rear": (180.0, 0.0),
}
#: Elevation words → elevation in degrees (combined with a direction word when there is one).
ELEVATIONS: dict[str, float] = {
    "directly above": 90.0,
    "straight above": 90.0,
    "overhead": 90.0,
    "above": 45.0,
    "up high": 45.0,
    "high up": 45.0,
    "below": -40.0,
    "beneath": -40.0,
    "underneath": -40.0,
    "under": -40.0,
}
#: Words meaning a sound of everywhere.
AROUND = ("all around", "everywhere", "surrounding", "around me", "around us", "all sides")
#: Distance words → metres.
DISTANCES: dict[str, float] = {
    "right next to my ear": 0.3,
    "next to my ear": 0.3,
    "close to my ear": 0.3,
    "in my ear": 0.3,
    "very close": 0.7,
    "very far away": 40.0,
    "very far": 40.0,
    "far away": 20.0,
    "in the distance": 25.0,
    "distant": 20.0,
    "far": 15.0,
    "nearby": 1.5,
    "near": 1.5,
    "close": 1.0,
}
#: Motion words → motion kind; longer phrases first.
MOTIONS: dict[str, str] = {
    "flying overhead": "overhead",
    "flying over": "overhead",
    "passing overhead": "overhead",
    "flies over": "overhead",
    "circling around": "circle",
    "circling": "circle",
    "circles": "circle",
    "going around": "circle",
    "approaching": "approach",
    "coming closer": "approach",
    "coming towards": "approach",
    "coming toward": "approach",
    "moving away": "recede",
    "going away": "recede",
    "receding": "recede",
    "driving away": "recede",
    "passing": "pass",
    "passes": "pass",
    "driving past": "pass",
    "going past": "pass",
    "moving": "pass",
    "traversing": "traverse",
    "sweeping": "traverse",
    "panning": "traverse",
}
#: Words that only glue a prompt together; never reported as not understood.
FILLER = frozenset(
    """a an the of at on in to from my me i is are be being am by with and then while after before it its
    this that there here some someone's somewhere sound sounds sounding noise can hear heard hearing we you
    slowly quickly fast slow loud loudly softly quiet quietly gently very just also too side s sec second
    seconds meter meters metre metres m deg degree degrees o'clock oclock clock position around over past
    across through toward towards into onto away up down direction listener head""".split()
)
#: Room phrases → (kind, size in metres or ground material, wall/floor/ceiling materials).
ROOMS: dict[str, dict] = {
    "cathedral": {"size": (60.0, 25.0, 30.0), "materials": {"walls": "brick", "floor": "concrete", "ceiling": "brick"}},
    "church": {"size": (30.0, 15.0, 15.0), "materials": {"walls": "brick", "floor": "concrete", "ceiling": "plaster"}},
    "concert hall": {"size": (40.0, 25.0, 18.0), "materials": {"walls": "wood_panel", "floor": "audience",
                                                               "ceiling": "plaster"}},
    "large hall": {"size": (30.0, 20.0, 10.0), "materials": {"walls": "painted_concrete", "floor": "wood_floor",
                                                             "ceiling": "plaster"}},
    "hall": {"size": (20.0, 12.0, 7.0), "materials": {"walls": "painted_concrete", "floor": "wood_floor",
                                                      "ceiling": "plaster"}},
    "tiled bathroom": {"size": (2.5, 2.0, 2.4), "materials": {"walls": "ceramic_tile", "floor": "ceramic_tile",
                                                              "ceiling": "plaster"}},
    "bathroom": {"size": (3.0, 2.5, 2.4), "materials": {"walls": "ceramic_tile", "floor": "ceramic_tile",
                                                        "ceiling": "plaster"}},
    "living room": {"size": (6.0, 4.5, 2.6), "materials": {"walls": "plaster", "floor": "carpet",
                                                           "ceiling": "plaster"}},
    "bedroom": {"size": (4.5, 3.5, 2.5), "materials": {"walls": "plaster", "floor": "carpet_on_pad",
                                                       "ceiling": "plaster"}},
    "office": {"size": (6.0, 5.0, 2.8), "materials": {"walls": "gypsum_board", "floor": "carpet",
                                                      "ceiling": "acoustic_tile"}},
    "classroom": {"size": (9.0, 7.0, 3.0), "materials": {"walls": "painted_concrete", "floor": "linoleum",
                                                         "ceiling": "acoustic_tile"}},
    "kitchen": {"size": (4.0, 3.5, 2.6), "materials": {"walls": "ceramic_tile", "floor": "ceramic_tile",
                                                       "ceiling": "plaster"}},
    "corridor": {"size": (20.0, 2.5, 3.0), "materials": {"walls": "painted_concrete", "floor": "linoleum",
                                                         "ceiling": "plaster"}},
    "garage": {"size": (6.0, 3.5, 2.6), "materials": {"walls": "concrete", "floor": "concrete", "ceiling": "concrete"}},
    "small room": {"size": (3.5, 3.0, 2.5), "materials": {"walls": "plaster", "floor": "wood_floor",
                                                          "ceiling": "plaster"}},
    "large room": {"size": (12.0, 9.0, 3.5), "materials": {"walls": "plaster", "floor": "wood_floor",
                                                           "ceiling": "plaster"}},
    "room": {"size": (5.0, 4.0, 2.7), "materials": {"walls": "plaster", "floor": "wood_floor", "ceiling": "plaster"}},
}
#: Outdoor phrases → ground material.
OUTDOORS: dict[str, str] = {
    "on grass": "grass",
    "in a park": "grass",
    "in a field": "grass",
    "in a meadow": "grass",
    "in a forest": "grass",
    "in the street": "asphalt",
    "on the street": "asphalt",
    "on a street": "asphalt",
    "in a street": "asphalt",
    "in a parking lot": "asphalt",
    "on a road": "asphalt",
    "outdoors": "grass",
    "outside": "grass",
}
#: Size words that scale a room.
ROOM_SCALES = {"tiny": 0.6, "small": 0.75, "little": 0.75, "big": 1.5, "large": 1.5, "huge": 2.5, "vast": 3.0}

NUMBER = r"[-+−]?\d+(?:\.\d+)?"
DEGREE_UNIT = r"(?:°|º|\s?deg(?:rees?)?\b)"
#: "120°→240°", "120° to 240°", "from 30° to -30°", "from 30 to -30 degrees".
ARC = re.compile(rf"(?:from\s+)?({NUMBER})\s*{DEGREE_UNIT}?\s*(?:→|->|–>|to)\s*({NUMBER})\s*{DEGREE_UNIT}")
ARC_FROM = re.compile(rf"from\s+({NUMBER})\s*{DEGREE_UNIT}\s*(?:→|->|to)\s*({NUMBER})\s*{DEGREE_UNIT}?")
ANGLE = re.compile(rf"(?:at\s+)?({NUMBER})\s*{DEGREE_UNIT}")
CLOCK = re.compile(r"(?:at\s+)?(\d{1,2})(?:\s*|:00\s*)(?:o'?\s?clock|oclock)")
METRES = re.compile(rf"({NUMBER})\s*(?:m\b|meters?\b|metres?\b)(?:\s+away)?")
SECONDS = re.compile(rf"for\s+({NUMBER})\s*(?:s\b|sec\b|secs\b|seconds?\b)")
AFTER = re.compile(rf"after\s+({NUMBER})\s*(?:s\b|sec\b|secs\b|seconds?\b)")
#: "from left to right", "from the front to the back", "left to right".
SIDE_TO_SIDE = re.compile(
    r"(?:from\s+)?(?:the\s+)?(left|right|front|back|behind)\s+to\s+(?:the\s+)?(left|right|front|back|behind)"
)
