"""The words the prompt reader knows: directions, clock positions, distances, motions, timing and rooms.

Directions are in Soundstage's azimuth: 0° ahead, +90° on the left, ±180° behind (see
:mod:`soundstage.conventions`). **Clock positions** are read as a listener looking at 12 o'clock sees a clock
face lying on the floor, hands going clockwise seen from above: 12 ahead, 3 on the right, 6 behind, 9 on the
left, so ``N o'clock`` is azimuth ``−30·N`` degrees, wrapped to (−180°, 180°].
"""

from __future__ import annotations

import re

#: "right" as an intensifier ("right in front", "right behind me"), not a side: removed before reading sides.
RIGHT_INTENSIFIER = (
    r"(?<!to )(?<!the )(?<!my )(?<!from )(?<!hard )(?<!far )(?<!and )(?<!or )\bright\s+"
    r"(?=in front|behind|next to|beside|above|over|here|there|at|by|in my ear|up)"
)
#: Direction words → (azimuth, elevation) in degrees; longer phrases are matched first.
DIRECTIONS: dict[str, tuple[float, float]] = {
    "to my left": (90.0, 0.0),
    "to my right": (-90.0, 0.0),
    "on my left": (90.0, 0.0),
    "on my right": (-90.0, 0.0),
    "hard left": (90.0, 0.0),
    "hard right": (-90.0, 0.0),
    "far left": (90.0, 0.0),
    "far right": (-90.0, 0.0),
    "at the back": (180.0, 0.0),
    "directly behind": (180.0, 0.0),
    "straight behind": (180.0, 0.0),
    "directly in front": (0.0, 0.0),
    "in front of me": (0.0, 0.0),
    "front-left": (45.0, 0.0),
    "front-right": (-45.0, 0.0),
    "back-left": (135.0, 0.0),
    "back-right": (-135.0, 0.0),
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
#: Motion patterns (regular expressions, any tense of the verb) → motion kind, tried in this order.
MOTION_PATTERNS: tuple[tuple[str, str], ...] = (
    (
        r"\bfl(?:y|ies|ying|ew|own)\s+(?:over(?:head)?|above)\b|\b(?:passing|passes|pass|going|goes)\s+overhead\b"
        r"|\bfl(?:y|ies|ying|ew)\s+over\s+(?:me|us|my head)\b|\bfly-?overs?\b",
        "overhead",
    ),
    (
        r"\bcircl(?:e|es|ed|ing)\b|\bin (?:a )?circles?\b|\brotat(?:e|es|ed|ing)\b|\borbit(?:s|ed|ing)?\b"
        r"|\bloop(?:s|ing)?\b|\ball the way (?:a)?round\b|\bfull (?:circle|turn)\b|\b360\b"
        r"|\bround and round\b|\b(?:go|goes|going|went|walk|walks|walking|move|moves|moving|spin|spins|spinning)"
        r"\s+(?:all\s+)?(?:a)?round\b",
        "circle",
    ),
    (
        r"\bapproach(?:es|ed|ing)?\b|\b(?:come|comes|coming|came|walk|walks|walking|drive|drives|driving|run|runs|"
        r"running|move|moves|moving|head|heads|heading|get|gets|getting)\s+(?:toward|towards|closer|nearer)\b"
        r"|\bdraw(?:s|ing)? near(?:er)?\b|\bcom(?:e|es|ing)\s+(?:in|at me|at us|straight at)\b|\bhead-on\b"
        r"|\btoward(?:s)? (?:me|us|the listener)\b",
        "approach",
    ),
    (
        r"\b(?:fad|mov|driv|walk|pull|run|runn|trott|head|drift|go|goe|went|recede|reced|leav|ride|rid|fly|flie|flyi)"
        r"(?:e|es|ed|ing|s)?\s+(?:away|off)\b|\breced(?:e|es|ed|ing)\b|\bdisappear(?:s|ed|ing)?\b"
        r"|\bfad(?:e|es|ed|ing)\s+(?:out|into)\b|\b(?!far\b)[a-z]+(?:ing|ed|s)\s+away\b",
        "recede",
    ),
    (r"\btravers(?:e|es|ed|ing)\b|\bsweep(?:s|ing)?\b|\bswept\b|\bpan(?:s|ned|ning)?\b", "traverse"),
    (
        r"\bpass(?:es|ed|ing)?\b|\b(?:drive|drives|driving|drove|run|runs|running|ran|walk|walks|walking|walked|go|goes|"
        r"going|went|zoom|zooms|zooming|whizz(?:es|ing)?|speed(?:s|ing)?|rush(?:es|ing)?|fly|flies|flying|flew|move|"
        r"moves|moving|moved|travel(?:s|ing|led)?)\s+(?:past|by)\b|\bpast\b",
        "pass",
    ),
    (
        r"\b(?:mov(?:e|es|ed|ing)|travel(?:s|ling|ing|led)?|go(?:es|ing)?|walk(?:s|ing|ed)?|drive(?:s)?|driving|"
        r"fl(?:y|ies|ying|ew)|run(?:s|ning)?|ran)\b(?=.*\bto\b)",
        "pass",
    ),
)
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
#: Words that may be left in a clause about direction, distance or time without naming anything that sounds.
MODIFIER_WORDS = FILLER | frozenset(
    """off side spot same way all again now still not one other both each first last next end start starts
    starting started begin begins beginning from where along further farther closer way long short steady
    constant continuous continuously loud soft here there right left front back behind""".split()
)
#: Room phrases → (kind, size in metres or ground material, wall/floor/ceiling materials).
ROOMS: dict[str, dict] = {
    "cathedral": {"size": (60.0, 25.0, 30.0), "materials": {"walls": "brick", "floor": "concrete", "ceiling": "brick"}},
    "church": {"size": (30.0, 15.0, 15.0), "materials": {"walls": "brick", "floor": "concrete", "ceiling": "plaster"}},
    "concert hall": {
        "size": (40.0, 25.0, 18.0),
        "materials": {"walls": "wood_panel", "floor": "audience", "ceiling": "plaster"},
    },
    "large hall": {
        "size": (30.0, 20.0, 10.0),
        "materials": {"walls": "painted_concrete", "floor": "wood_floor", "ceiling": "plaster"},
    },
    "hall": {
        "size": (20.0, 12.0, 7.0),
        "materials": {"walls": "painted_concrete", "floor": "wood_floor", "ceiling": "plaster"},
    },
    "tiled bathroom": {
        "size": (2.5, 2.0, 2.4),
        "materials": {"walls": "ceramic_tile", "floor": "ceramic_tile", "ceiling": "plaster"},
    },
    "bathroom": {
        "size": (3.0, 2.5, 2.4),
        "materials": {"walls": "ceramic_tile", "floor": "ceramic_tile", "ceiling": "plaster"},
    },
    "living room": {
        "size": (6.0, 4.5, 2.6),
        "materials": {"walls": "plaster", "floor": "carpet", "ceiling": "plaster"},
    },
    "bedroom": {
        "size": (4.5, 3.5, 2.5),
        "materials": {"walls": "plaster", "floor": "carpet_on_pad", "ceiling": "plaster"},
    },
    "office": {
        "size": (6.0, 5.0, 2.8),
        "materials": {"walls": "gypsum_board", "floor": "carpet", "ceiling": "acoustic_tile"},
    },
    "classroom": {
        "size": (9.0, 7.0, 3.0),
        "materials": {"walls": "painted_concrete", "floor": "linoleum", "ceiling": "acoustic_tile"},
    },
    "kitchen": {
        "size": (4.0, 3.5, 2.6),
        "materials": {"walls": "ceramic_tile", "floor": "ceramic_tile", "ceiling": "plaster"},
    },
    "corridor": {
        "size": (20.0, 2.5, 3.0),
        "materials": {"walls": "painted_concrete", "floor": "linoleum", "ceiling": "plaster"},
    },
    "hallway": {
        "size": (12.0, 2.2, 2.7),
        "materials": {"walls": "plaster", "floor": "wood_floor", "ceiling": "plaster"},
    },
    "stairwell": {
        "size": (4.0, 3.0, 12.0),
        "materials": {"walls": "concrete", "floor": "concrete", "ceiling": "concrete"},
    },
    "tunnel": {"size": (40.0, 5.0, 4.5), "materials": {"walls": "concrete", "floor": "asphalt", "ceiling": "concrete"}},
    "gym": {
        "size": (30.0, 18.0, 8.0),
        "materials": {"walls": "painted_concrete", "floor": "wood_floor", "ceiling": "plaster"},
    },
    "studio": {
        "size": (7.0, 5.0, 3.0),
        "materials": {"walls": "acoustic_tile", "floor": "carpet", "ceiling": "acoustic_tile"},
    },
    "theatre": {
        "size": (30.0, 22.0, 14.0),
        "materials": {"walls": "wood_panel", "floor": "audience", "ceiling": "plaster"},
    },
    "theater": {
        "size": (30.0, 22.0, 14.0),
        "materials": {"walls": "wood_panel", "floor": "audience", "ceiling": "plaster"},
    },
    "cafe": {"size": (10.0, 7.0, 3.2), "materials": {"walls": "plaster", "floor": "wood_floor", "ceiling": "plaster"}},
    "café": {"size": (10.0, 7.0, 3.2), "materials": {"walls": "plaster", "floor": "wood_floor", "ceiling": "plaster"}},
    "restaurant": {
        "size": (14.0, 10.0, 3.2),
        "materials": {"walls": "plaster", "floor": "wood_floor", "ceiling": "acoustic_tile"},
    },
    "bar": {
        "size": (10.0, 6.0, 3.0),
        "materials": {"walls": "wood_panel", "floor": "wood_floor", "ceiling": "plaster"},
    },
    "pub": {
        "size": (10.0, 6.0, 3.0),
        "materials": {"walls": "wood_panel", "floor": "wood_floor", "ceiling": "plaster"},
    },
    "lobby": {
        "size": (15.0, 10.0, 5.0),
        "materials": {"walls": "plaster", "floor": "ceramic_tile", "ceiling": "plaster"},
    },
    "library": {
        "size": (20.0, 12.0, 4.0),
        "materials": {"walls": "wood_panel", "floor": "carpet", "ceiling": "acoustic_tile"},
    },
    "museum": {
        "size": (25.0, 15.0, 6.0),
        "materials": {"walls": "plaster", "floor": "ceramic_tile", "ceiling": "plaster"},
    },
    "shop": {
        "size": (10.0, 8.0, 3.0),
        "materials": {"walls": "gypsum_board", "floor": "linoleum", "ceiling": "acoustic_tile"},
    },
    "warehouse": {
        "size": (40.0, 25.0, 9.0),
        "materials": {"walls": "concrete", "floor": "concrete", "ceiling": "concrete"},
    },
    "garage": {"size": (6.0, 3.5, 2.6), "materials": {"walls": "concrete", "floor": "concrete", "ceiling": "concrete"}},
    "small room": {
        "size": (3.5, 3.0, 2.5),
        "materials": {"walls": "plaster", "floor": "wood_floor", "ceiling": "plaster"},
    },
    "large room": {
        "size": (12.0, 9.0, 3.5),
        "materials": {"walls": "plaster", "floor": "wood_floor", "ceiling": "plaster"},
    },
    "room": {"size": (5.0, 4.0, 2.7), "materials": {"walls": "plaster", "floor": "wood_floor", "ceiling": "plaster"}},
}
#: Outdoor phrases → ground material.
OUTDOORS: dict[str, str] = {
    "in the park": "grass",
    "in a garden": "grass",
    "in the garden": "grass",
    "in the yard": "grass",
    "in the backyard": "grass",
    "in the woods": "grass",
    "in the forest": "grass",
    "forest clearing": "grass",
    "at the beach": "grass",
    "on the beach": "grass",
    "in the countryside": "grass",
    "in a city": "asphalt",
    "downtown": "asphalt",
    "on the sidewalk": "asphalt",
    "at a crossing": "asphalt",
    "at the station": "asphalt",
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
_SIDE = (
    r"(front[- ]left|front[- ]right|back[- ]left|back[- ]right|rear[- ]left|rear[- ]right|left|right|front|back|behind)"
)
SIDE_TO_SIDE = re.compile(rf"(?:from\s+)?(?:the\s+|my\s+)?{_SIDE}\s+to\s+(?:the\s+|my\s+)?{_SIDE}")
#: Outdoor words found anywhere in a prompt → ground material (after the phrases of OUTDOORS).
OUTDOOR_WORDS: dict[str, str] = {
    "street": "asphalt",
    "road": "asphalt",
    "highway": "asphalt",
    "parking": "asphalt",
    "city": "asphalt",
    "field": "grass",
    "park": "grass",
    "forest": "grass",
    "woods": "grass",
    "beach": "grass",
    "garden": "grass",
    "yard": "grass",
    "meadow": "grass",
    "mountain": "grass",
    "countryside": "grass",
    "outdoors": "grass",
    "outside": "grass",
    "open air": "grass",
    "campsite": "grass",
    "lawn": "grass",
    "square": "asphalt",
    "plaza": "asphalt",
    "market": "asphalt",
    "village": "asphalt",
    "town": "asphalt",
    "courtyard": "asphalt",
    "platform": "asphalt",
    "harbour": "asphalt",
    "harbor": "asphalt",
    "riverbank": "grass",
    "hill": "grass",
}
