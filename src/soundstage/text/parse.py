"""Reading a prompt into events: which sound, where, how it moves, when, and in what room.

The rule-based reader, offline and deterministic. A prompt is split into *clauses* at ``then``, ``while``,
``and``, commas and full stops; each clause holds at most one sounding thing (the longest sound phrase of
the library found in it) and what the clause says about it. Words the reader does not use are reported, never
dropped silently. Rules for what a prompt leaves open (each shown by ``--explain``):

- no direction: in front (0°); no distance: the class's usual distance (a voice 1.5 m, a bell 25 m...);
- ``passing`` / ``from left to right`` without ``behind``: a straight line in front of the listener, at the
  event's distance at its closest; with ``behind``: behind the listener;
- a degree range (``120°→240°``): an arc at constant distance that follows the numbers (``120→240`` goes
  through 180°, ``170→-170`` through the front; write ``170→190`` for the short way behind);
- ``circling``: one turn a clip, counter-clockwise seen from above (to the left first);
- ``approaching`` / ``moving away``: along the event's direction between 20 m and its distance (default 2 m);
- ``flying over``: from ahead to behind, 10 m up, crossing overhead halfway;
- timing: clauses joined by ``then`` follow each other, others start together; ``after N seconds`` starts N s
  after the previous event's start; ``for N seconds`` sets the event's length (else the prompt's duration).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from soundstage.conventions import cartesian_to_spherical, spherical_to_cartesian, wrap_azimuth
from soundstage.errors import ParameterError
from soundstage.text import vocabulary as words

#: Most seconds a prompt may ask for (the whole scene).
MAX_DURATION_S = 600.0
#: Distances a prompt may give, in metres.
MIN_DISTANCE_M, MAX_DISTANCE_M = 0.2, 1000.0
#: Usual distance of each class when the prompt gives none, in metres.
USUAL_DISTANCE_M = {"church_bell": 25.0, "helicopter": 30.0, "siren": 20.0, "car": 8.0, "dog": 6.0, "bird": 6.0,
                    "crowd": 8.0, "applause": 8.0, "clock": 1.5, "phone_ring": 2.0, "water_stream": 4.0}
DEFAULT_DISTANCE_M = 2.0
#: A pass runs this many times its closest distance either side of it: it starts and ends within 5° of the
#: sides named (a car passing 8 m away covers 190 m, at 115 km/h over 6 s).
PASS_LENGTH = 12.0
#: Length of an event followed by another ("then") when the prompt gives it none, in seconds.
DEFAULT_EVENT_S = 3.0


@dataclass
class Event:
    """One sounding thing of a prompt.

    Attributes
    ----------
    sound : str
        The library class (``church_bell``) — or the user's label when ``--sound`` names it.
    phrase : str
        The words of the prompt that named it.
    azimuth_deg, elevation_deg : float
        Where it is (where it starts when it moves), Soundstage's convention.
    distance_m : float
    motion : str or None
        ``pass``, ``traverse``, ``circle``, ``approach``, ``recede``, ``overhead`` or None.
    path : list of (float, float, float)
        For motion: (azimuth, elevation, distance) at the start and end (and in between for arcs and circles).
    start_s : float
    duration_s : float or None
        None: the prompt's duration.
    ambient : bool
        All around (rain, a crowd): rendered from several directions at once.
    """

    sound: str
    phrase: str
    azimuth_deg: float = 0.0
    elevation_deg: float = 0.0
    distance_m: float = DEFAULT_DISTANCE_M
    motion: str | None = None
    path: list[tuple[float, float, float]] = field(default_factory=list)
    start_s: float = 0.0
    duration_s: float | None = None
    ambient: bool = False
    placed: bool = False  # the prompt gave its direction


@dataclass
class ParsedPrompt:
    """A prompt read into events, a room, and what the reader decided or did not understand."""

    prompt: str
    events: list[Event]
    room: dict | None
    room_phrase: str | None
    decisions: list[str]
    unknown: list[str]

    def explain(self) -> str:
        """The parse, one line per event and per decision, for ``--explain``."""
        lines = [f"prompt: {self.prompt!r}"]
        for index, event in enumerate(self.events):
            where = f"az {event.azimuth_deg:+.0f}°, el {event.elevation_deg:+.0f}°, {event.distance_m:g} m"
            if event.motion:
                steps = " → ".join(f"{a:+.0f}°/{e:+.0f}°/{d:g} m" for a, e, d in event.path)
                where = f"{event.motion}: {steps}"
            if event.ambient:
                where = f"all around, {event.distance_m:g} m"
            length = f"{event.duration_s:g} s" if event.duration_s is not None else "the whole scene"
            lines.append(f"event {index + 1}: {event.sound} ({event.phrase!r}) — {where}; from {event.start_s:g} s "
                         f"for {length}")
        lines.append(f"room: {self.room_phrase or 'none (free field)'}")
        lines += [f"decided: {line}" for line in self.decisions]
        if self.unknown:
            lines.append(f"not understood: {', '.join(self.unknown)}")
        return "\n".join(lines)


def parse_prompt(
    prompt: str, *, user_sounds: tuple[str, ...] = (), matcher=None, free_sounds: bool = False
) -> ParsedPrompt:
    """Read ``prompt`` into events (see the module docstring for the rules).

    Parameters
    ----------
    prompt : str
    user_sounds : tuple of str
        Labels the user gives files for (``--sound bell=my_bell.wav``): they count as sound words.
    matcher : callable or None
        For a clause naming no sound the vocabulary knows: ``matcher(words) -> (class, similarity) or None``
        (:class:`soundstage.text.matching.ClapMatcher`). Without one, its words are reported as not understood.
    free_sounds : bool
        A clause naming no known sound becomes an event named by its own words (for a text-to-audio model to
        make), when no matcher takes it.

    Raises
    ------
    ParameterError
        For an empty prompt, one that names no sound, contradictory or absurd directions and distances.
    """
    if not isinstance(prompt, str) or not prompt.strip():
        raise ParameterError("the prompt is empty; describe the sounds, e.g. \"a dog barking on the left\"")
    text = _normalise(prompt)
    decisions: list[str] = []
    room, room_phrase, text = _room(text)
    events: list[Event] = []
    unknown: list[str] = []
    for connector, clause in _clauses(text):
        event, leftover = _event(clause, user_sounds, decisions)
        if event is None:
            described = " ".join(w for w in _without_modifiers(clause).split() if w not in words.FILLER)
            found = matcher(described) if matcher is not None and described else None
            if found is None and free_sounds and described and not (events and _only_modifiers(clause)):
                found = (described, None)
            if found is None:
                content = [w for w in described.split() if w not in words.MODIFIER_WORDS and w not in VERB_WORDS]
                # "a trumpet on the left" names a thing (an article before a word the reader does not know);
                # "placed front right" or "3 m away" only says more about the sound before it.
                names_a_thing = bool(content) and re.match(r"(?:a|an|the|some|another|several)\s+[a-z]", clause)
                if events and not names_a_thing and _only_modifiers(clause):
                    # "..., far away" or "... for 3 seconds" after the sound: it modifies the previous event.
                    _apply_modifiers(events[-1], clause, decisions, later=True)
                elif _meaningful(leftover):
                    # A sound the reader does not know ("a trumpet on the left"): reported, and its direction is
                    # not given to the sound before it.
                    unknown += [w for w in (content or leftover.split()) if w not in words.FILLER]
                continue
            name, similarity = found
            event = Event(name, described)
            _apply_modifiers(event, clause, decisions, name=name)
            if similarity is None:
                decisions.append(f"{described!r}: not in the library; its sound is made from these words")
            else:
                decisions.append(f"{name}: {described!r} matched to it by CLAP (text similarity {similarity:.2f})")
            leftover = ""
        if connector == "then" and events:
            previous = events[-1]
            event.start_s = previous.start_s + (previous.duration_s or 0.0)
            if previous.duration_s is None:
                previous.duration_s = DEFAULT_EVENT_S
                event.start_s = previous.start_s + DEFAULT_EVENT_S
                decisions.append(
                    f"{previous.sound} lasts {DEFAULT_EVENT_S:g} s (no length given) before {event.sound} follows"
                )
        after = words.AFTER.search(clause)
        if after:
            event.start_s = (events[-1].start_s if events else 0.0) + float(after.group(1))
        events.append(event)
        unknown += [w for w in leftover.split() if w not in words.FILLER and w not in VERB_WORDS and not w.isdigit()]
    if not events:
        from soundstage.library import BY_NAME

        raise ParameterError(
            f"no sound named in {prompt!r}; name one the library knows ({', '.join(BY_NAME)}), give "
            "--sound LABEL=FILE and use LABEL in the prompt, or make any sound with a text-to-audio model (--tta)"
        )
    return ParsedPrompt(prompt, events, room, room_phrase, decisions, sorted(set(unknown), key=unknown.index))


def _normalise(prompt: str) -> str:
    text = prompt.lower().replace("−", "-").replace("–", "-").replace("’", "'").replace("º", "°")
    text = re.sub(r"(\d)\s*°", r"\1°", text)
    text = re.sub(words.RIGHT_INTENSIFIER, "", text)  # "right in front of me" is in front, not on the right
    text = re.sub(r"\s*(?:→|->|–>)\s*", " to ", text)  # arrows read as "to" (degree ranges and sides alike)
    text = re.sub(r"\bup front\b", "in front", text)
    # "azimuth 120", "at -45": bare numbers where only an angle can be meant are degrees.
    not_unit = r"(?!\s*(?:°|deg|m\b|meters?|metres?|s\b|sec|seconds?|o'?\s?clock|:))"
    text = re.sub(rf"\bazimuth\s+(?:of\s+)?([-+]?\d+(?:\.\d+)?)\b{not_unit}", r"\1°", text)
    text = re.sub(rf"\bat\s+([-+]\d+(?:\.\d+)?)\b{not_unit}", r"at \1°", text)
    text = re.sub(r"(?<=\s)([-+]\d+(?:\.\d+)?)\b(?=\s*(?:,|$|\.|\band\b))", r"\1°", text)
    clause_end = r"(?=\s*(?:,|;|$|\.\s|\.$))"
    text = re.sub(rf"(?<![0-9])(?<!for )(?<!after )(?<!every )(?<!in )(?<=[a-z] )(\d{{1,3}}(?:\.\d+)?){clause_end}",
                  r"\1°", text)
    # "30 degrees to the right" is −30°, "45° left" +45°.
    text = re.sub(
        r"(\d+(?:\.\d+)?)\s*(?:°|degrees?\b|deg\b)\s*(?:to\s+(?:the|my)\s+|on\s+(?:the|my)\s+)?(left|right)\b",
        lambda m: f"{'-' if m.group(2) == 'right' else ''}{m.group(1)}°",
        text,
    )
    text = re.sub(r"\b(one|two|three|four|five|six|seven|eight|nine|ten)\b", lambda m: str(_NUMBERS[m.group(1)]), text)
    return re.sub(r"\s+", " ", text).strip()


_NUMBERS = {w: i for i, w in enumerate("zero one two three four five six seven eight nine ten".split())}


def _room(text: str) -> tuple[dict | None, str | None, str]:
    """The room the prompt names (removed from the text), as a scene ``room`` mapping."""
    outdoors = [phrase for phrase in words.OUTDOORS if re.search(rf"\b{re.escape(phrase)}\b", text)]
    if outdoors:
        material = words.OUTDOORS[outdoors[0]]
        for phrase in outdoors:
            text = re.sub(rf"\b{re.escape(phrase)}\b", " ", text)
        return {"ground": material}, " ".join(outdoors), text
    scales = "|".join(words.ROOM_SCALES)
    names = "|".join(sorted(map(re.escape, words.ROOMS), key=len, reverse=True))
    pattern = rf"(?:in|inside|within|at) (?:(?:a|an|the|my|our)\s+)?((?:(?:{scales})\s+)?(?:[a-z]+\s+)?(?:{names}))\b"
    match = re.search(pattern, text)
    if not match:
        return _room_named_anywhere(text)
    phrase = match.group(1)
    name = next(n for n in sorted(words.ROOMS, key=len, reverse=True) if phrase.endswith(n))
    preset = words.ROOMS[name]
    scale = next((words.ROOM_SCALES[w] for w in phrase.split() if w in words.ROOM_SCALES and w not in name), 1.0)
    if scale < 1.0 and np.prod(preset["size"]) < 30.0:
        scale = 1.0  # a bathroom is small already: "small" does not shrink it below a person's size
    size = [round(side * scale, 2) for side in preset["size"]]
    room = {"shoebox": {"size": size}, "materials": dict(preset["materials"])}
    return room, phrase, text[: match.start()] + " " + text[match.end() :]


def _room_named_anywhere(text: str) -> tuple[dict | None, str | None, str]:
    """A room or outdoor place named without "in a" ("Living room, a clock behind me", "On a busy street...")."""
    masked = _mask_sounds(text)
    for name in sorted(words.ROOMS, key=len, reverse=True):
        if name != "room" and re.search(rf"\b{re.escape(name)}s?\b", masked):
            preset = words.ROOMS[name]
            room = {"shoebox": {"size": list(preset["size"])}, "materials": dict(preset["materials"])}
            return room, name, re.sub(rf"\b{re.escape(name)}s?\b", " ", text, count=1)
    for word, material in sorted(words.OUTDOOR_WORDS.items(), key=lambda item: -len(item[0])):
        if re.search(rf"\b{re.escape(word)}\b", masked):
            return {"ground": material}, word, re.sub(rf"\b{re.escape(word)}\b", " ", text, count=1)
    return None, None, text


def _mask_sounds(text: str) -> str:
    """``text`` with every sound phrase blanked out (a "church bell" names no church)."""
    from soundstage.library import CLASSES

    for phrase in sorted((p for c in CLASSES for p in c.words), key=len, reverse=True):
        text = re.sub(rf"\b{re.escape(phrase)}s?\b", lambda m: " " * len(m.group(0)), text)
    return text


_SEPARATORS = re.compile(r"(,\s*and then\s+|\s+and then\s+|,\s*then\s+|\s+then\s+|;\s*|\.\s+|,\s*while\s+|\s+while\s+|"
                         r",\s*and\s+|\s+and\s+(?!then)|,\s*with\s+(?!its\b|his\b|her\b|their\b)|\s+with\s+(?!its\b|his\b|her\b|their\b)|"
                         r"\s+as\s+(?=(?:a|an|the|someone|somebody|people)\b)|,\s*)")


def _clauses(text: str) -> list[tuple[str, str]]:
    """(connector, clause) pairs: connector ``then`` or ``with`` (simultaneous) to the clause before."""
    parts = _SEPARATORS.split(text.rstrip(". "))
    out, connector = [], "with"
    for part in parts:
        if _SEPARATORS.fullmatch(part):
            connector = "then" if "then" in part else "with"
            continue
        if part.strip():
            out.append((connector, part.strip()))
            connector = "with"
    # "from left to right": the separator split "left to right" apart only when written with "and"; keep as is.
    return out


def _find_sound(clause: str, user_sounds: tuple[str, ...]) -> tuple[str, str, str] | None:
    """(class or user label, phrase, clause without it) for the longest sound phrase in ``clause``."""
    from soundstage.library import CLASSES

    candidates = [(label, label) for label in user_sounds]
    candidates += [(sound.name, phrase) for sound in CLASSES for phrase in sound.words]
    # "3 o'clock" is a direction, not a clock: hidden (same length, so positions hold) while sounds are sought.
    masked = words.CLOCK.sub(lambda m: " " * len(m.group(0)), clause)
    found = []
    # Nouns before the verbs a class is also known by ("a bell ringing" is a bell, not a phone), longest first.
    ranked = sorted(candidates, key=lambda item: (item[1] in VERB_WORDS, -len(item[1])))
    for name, phrase in ranked:
        match = re.search(rf"\b{re.escape(phrase)}s?\b", masked)
        if match:
            found.append((name, match))
    if not found:
        return None
    name, match = found[0]
    # "someone playing piano" is a piano: a person word yields to an object the clause also names.
    if name == "speech" and match.group(0).rstrip("s") in PERSON_WORDS:
        name, match = next(((n, m) for n, m in found if n != "speech"), (name, match))
    return name, match.group(0), clause[: match.start()] + " " + clause[match.end() :]


#: Words of the library that are verbs: they name a sound only when the clause holds no noun of one.
VERB_WORDS = frozenset(
    """ringing rings ticking ticks barking barks yapping yaps chirping chirps tweeting speaking talking says saying
    speaks talks chatting whispering whisper strumming tolling walking clapping claps murmuring murmur raining
    gurgling trickling""".split()
)
#: Words for a person, which name speech only when the clause names no other sound.
PERSON_WORDS = frozenset("man woman person someone somebody child kid boy girl guy lady stranger friend".split())


def _event(clause: str, user_sounds: tuple[str, ...], decisions: list[str]) -> tuple[Event | None, str]:
    found = _find_sound(clause, user_sounds)
    if found is None:
        return None, clause
    name, phrase, rest = found
    event = Event(name, phrase)
    rest = _apply_modifiers(event, rest, decisions, name=name)
    return event, rest


def _apply_modifiers(
    event: Event, rest: str, decisions: list[str], *, name: str | None = None, later: bool = False
) -> str:
    """Read timing, distance, motion and direction from ``rest`` into ``event``; return what is left.

    ``later``: the words follow the event in a clause of their own (``..., 3 m away``); they change only what
    they name.
    """
    from soundstage.library import BY_NAME

    name = name or event.sound
    duration = words.SECONDS.search(rest)
    if duration:
        seconds = float(duration.group(1))
        if not 0 < seconds <= MAX_DURATION_S:
            raise ParameterError(f"{duration.group(0)!r}: give a length between 0 and {MAX_DURATION_S:g} seconds")
        event.duration_s = seconds
        rest = rest.replace(duration.group(0), " ")
    after = words.AFTER.search(rest)
    if after:
        rest = rest.replace(after.group(0), " ")
    distance = _distance(rest)
    if distance is not None:
        event.distance_m, rest = distance
    elif name in USUAL_DISTANCE_M and event.distance_m == DEFAULT_DISTANCE_M:
        event.distance_m = USUAL_DISTANCE_M[name]
    moving = any(re.search(pattern, rest) for pattern, _kind in words.MOTION_PATTERNS) or bool(
        words.SIDE_TO_SIDE.search(rest) or words.ARC.search(rest) or words.ARC_FROM.search(rest)
    )
    if later:
        sides = words.SIDE_TO_SIDE.search(rest)
        if event.motion in ("pass", "overhead") and sides:
            trigger = "flying over" if event.motion == "overhead" else "passing"
            event.motion = None
            return _motion(event, f"{trigger} {rest}", decisions)
        if moving and event.motion is None:
            rest = _motion(event, rest, decisions)
            return rest
        if not moving and _has_direction(rest):
            before, was_placed = event.azimuth_deg, event.placed
            rest = _direction(event, rest, decisions, default_note=False)
            combined = _combine_sides(before, [event.azimuth_deg]) if was_placed else None
            if combined is not None:
                event.azimuth_deg = combined
            elif was_placed and abs(_wrap(event.azimuth_deg - before)) >= 90.0:
                raise ParameterError(
                    f"{event.sound}: placed at {before:+.0f}° and then at {event.azimuth_deg:+.0f}°; for motion say "
                    "\"from ... to ...\", for two sounds name each"
                )
        return rest
    if not moving and (
        any(phrase in rest for phrase in words.AROUND)
        or (BY_NAME.get(name) and BY_NAME[name].ambient and not _has_direction(rest))
    ):
        event.ambient = True
        for phrase in words.AROUND:
            rest = rest.replace(phrase, " ")
        if not any(phrase in event.phrase for phrase in words.AROUND) and not _has_direction(rest):
            decisions.append(f"{name}: a sound of everywhere, rendered from eight directions around")
        return rest
    rest = _motion(event, rest, decisions)
    if event.motion is None:
        rest = _direction(event, rest, decisions)
    return rest


def _has_direction(text: str) -> bool:
    return bool(words.CLOCK.search(text) or words.ANGLE.search(text)
                or any(re.search(rf"\b{re.escape(w)}\b", text) for w in words.DIRECTIONS))


def _distance(text: str) -> tuple[float, str] | None:
    match = words.METRES.search(text)
    if match:
        value = float(match.group(1).replace("−", "-"))
        if not MIN_DISTANCE_M <= value <= MAX_DISTANCE_M:
            raise ParameterError(
                f"{match.group(0)!r}: a distance must be between {MIN_DISTANCE_M:g} and {MAX_DISTANCE_M:g} m"
            )
        return value, text.replace(match.group(0), " ")
    for phrase, metres in sorted(words.DISTANCES.items(), key=lambda item: -len(item[0])):
        # "far left" is a side, not a distance.
        pattern = rf"\b{re.escape(phrase)}\b(?![- ](?:left|right)\b)"
        if re.search(pattern, text):
            return metres, re.sub(pattern, " ", text, count=1)
    return None


def _angle(value: str, where: str) -> float:
    degrees = float(value)
    if abs(degrees) > 360.0:
        raise ParameterError(f"{where!r}: an azimuth must be within ±360°")
    return degrees


def _motion(event: Event, rest: str, decisions: list[str]) -> str:
    arc = words.ARC_FROM.search(rest) or words.ARC.search(rest)
    if arc:
        start, end = _angle(arc.group(1), arc.group(0)), _angle(arc.group(2), arc.group(0))
        elevation = _elevation(rest)
        steps = np.linspace(start, end, 9)
        event.motion = "traverse"
        event.path = [(float(a), elevation, event.distance_m) for a in steps]
        event.azimuth_deg, event.elevation_deg = start, elevation
        return _drop_motion_words(_drop_elevation_words(rest.replace(arc.group(0), " ")))
    kind = next((k for pattern, k in words.MOTION_PATTERNS if re.search(pattern, rest)), None)
    sides = words.SIDE_TO_SIDE.search(rest)
    if sides and kind is None:
        kind = "pass"
    if kind is None:
        return rest
    d = event.distance_m
    behind = bool(re.search(r"\bbehind\b", rest)) and not (sides and "behind" in sides.group(0))
    if kind == "pass":
        start_side, end_side = (sides.group(1), sides.group(2)) if sides else ("left", "right")
        if not sides:
            decisions.append(f"{event.sound}: passing with no sides given: from left to right")
        a0, a1 = _side_azimuth(start_side), _side_azimuth(end_side)
        event.path = _straight_pass(a0, a1, d, behind)
        if sides:
            rest = rest.replace(sides.group(0), " ")
    elif kind == "circle":
        start = _static_azimuth(rest)
        a0 = 0.0 if start is None else start
        event.path = [(float(a), 0.0, d) for a in a0 + np.linspace(0.0, 360.0, 9)]
    elif kind in ("approach", "recede"):
        direction = _static_azimuth(rest)
        a0 = 0.0 if direction is None else direction
        near = d if d < 20.0 else DEFAULT_DISTANCE_M
        far = 20.0
        if d == USUAL_DISTANCE_M.get(event.sound, DEFAULT_DISTANCE_M) and d >= 20.0:
            near = DEFAULT_DISTANCE_M
        path = [(a0, 0.0, far), (a0, 0.0, near)]
        event.path = path if kind == "approach" else path[::-1]
        decisions.append(f"{event.sound}: {'approaching' if kind == 'approach' else 'moving away'} between 20 m and "
                         f"{near:g} m")
    elif kind == "overhead":
        start_side = sides.group(1) if sides else ("behind" if re.search(r"\bfrom (?:the )?(?:behind|back)\b", rest)
                                                   else ("left" if re.search(r"\bfrom (?:the |my )?left\b", rest)
                                                         else ("right" if re.search(r"\bfrom (?:the |my )?right\b",
                                                                                    rest) else "front")))
        a0 = _side_azimuth(start_side)
        named = _static_azimuth(rest) if not sides and start_side == "front" else None
        if named is not None:
            a0 = named
        a1 = _side_azimuth(sides.group(2)) if sides else _wrap(a0 + 180.0)
        event.path = [(a0, 45.0, 14.0), (a0, 90.0, 10.0), (a1, 45.0, 14.0)]
        if sides:
            rest = rest.replace(sides.group(0), " ")
        decisions.append(f"{event.sound}: flying over, 10 m up, from {start_side} to the opposite side"
                         if not sides else f"{event.sound}: flying over, 10 m up, from {sides.group(1)} to "
                         f"{sides.group(2)}")
    elif kind == "traverse":
        event.path = [(90.0, 0.0, d), (0.0, 0.0, d), (-90.0, 0.0, d)]
        decisions.append(f"{event.sound}: traversing with no angles given: from the left to the right in front")
    event.motion = kind
    event.azimuth_deg, event.elevation_deg, event.distance_m = event.path[0]
    for phrase in words.AROUND:
        rest = rest.replace(phrase, " ")
    for word in ("behind", "left", "right", "front", "in front", "ahead"):
        rest = re.sub(rf"\b{word}\b", " ", rest)
    return _drop_motion_words(rest)


def _drop_elevation_words(text: str) -> str:
    for phrase in sorted(words.ELEVATIONS, key=len, reverse=True):
        text = re.sub(rf"\b{re.escape(phrase)}\b", " ", text)
    return text


def _drop_motion_words(text: str) -> str:
    for pattern, _kind in words.MOTION_PATTERNS:
        text = re.sub(pattern, " ", text)
    for phrase in sorted(words.MOTIONS, key=len, reverse=True):
        text = re.sub(rf"\b{re.escape(phrase)}\b", " ", text)
    return text


def _side_azimuth(side: str) -> float:
    side = side.replace("-", " ").replace("rear", "back")
    simple = {"left": 90.0, "right": -90.0, "front": 0.0, "back": 180.0, "behind": 180.0}
    return simple[side] if side in simple else words.DIRECTIONS[side][0]


def _straight_pass(a0: float, a1: float, closest_m: float, behind: bool) -> list[tuple[float, float, float]]:
    """A straight line from direction ``a0`` to ``a1`` passing ``closest_m`` from the listener (front or behind)."""
    if {a0, a1} == {90.0, -90.0}:
        x = -closest_m if behind else closest_m
        half = PASS_LENGTH * closest_m
        start = np.array([x, half if a0 > 0 else -half, 0.0])
        end = np.array([x, -start[1], 0.0])
    else:
        half = PASS_LENGTH * closest_m
        start, end = spherical_to_cartesian(np.array([a0, a1]), 0.0, half)
        offset = np.array([-(end - start)[1], (end - start)[0], 0.0])
        offset *= closest_m / np.linalg.norm(offset)
        start, end = start + offset, end + offset
    azimuths, elevations, distances = cartesian_to_spherical(np.stack([start, end]))
    return [(float(a), float(e), round(float(d), 3)) for a, e, d in zip(azimuths, elevations, distances, strict=True)]


def _static_azimuth(text: str) -> float | None:
    clock = words.CLOCK.search(text)
    if clock:
        return _clock_azimuth(int(clock.group(1)), clock.group(0))
    angle = words.ANGLE.search(text)
    if angle:
        return _wrap(_angle(angle.group(1), angle.group(0)))
    for phrase, (azimuth, _el) in sorted(words.DIRECTIONS.items(), key=lambda item: -len(item[0])):
        if re.search(rf"\b{re.escape(phrase)}\b", text):
            return azimuth
    return None


def _clock_azimuth(hour: int, where: str) -> float:
    """Azimuth of a clock position (12 ahead, 3 right, 6 behind, 9 left): ``−30·N`` wrapped to (−180°, 180°]."""
    if not 1 <= hour <= 12:
        raise ParameterError(f"{where!r}: clock positions run from 1 to 12 o'clock")
    return _wrap(-30.0 * hour)


def _wrap(azimuth: float) -> float:
    return float(wrap_azimuth(azimuth))


def _elevation(text: str) -> float:
    for phrase, elevation in sorted(words.ELEVATIONS.items(), key=lambda item: -len(item[0])):
        if re.search(rf"\b{re.escape(phrase)}\b", text):
            return elevation
    return 0.0


def _direction(event: Event, rest: str, decisions: list[str], *, default_note: bool = True) -> str:
    clock = words.CLOCK.search(rest)
    angle = words.ANGLE.search(rest)
    found = [(phrase, value) for phrase, value in sorted(words.DIRECTIONS.items(), key=lambda item: -len(item[0]))
             if re.search(rf"\b{re.escape(phrase)}\b", rest)]
    elevation = _elevation(rest)
    for phrase in words.ELEVATIONS:
        rest = re.sub(rf"\b{re.escape(phrase)}\b", " ", rest)
    event.placed = event.placed or bool(clock or angle or found)
    if clock:
        event.azimuth_deg = _clock_azimuth(int(clock.group(1)), clock.group(0))
        rest = rest.replace(clock.group(0), " ")
    elif angle:
        event.azimuth_deg = _wrap(_angle(angle.group(1), angle.group(0)))
        rest = rest.replace(angle.group(0), " ")
    elif found:
        phrase, (azimuth, _el) = found[0]
        # The longest phrase wins; a second, different side in the same clause contradicts it.
        remaining = re.sub(rf"\b{re.escape(phrase)}\b", " ", rest)
        others = [(p, v) for p, v in found[1:] if re.search(rf"\b{re.escape(p)}\b", remaining)]
        combined = _combine_sides(azimuth, [a for _p, (a, _e) in others])
        if combined is not None:
            azimuth, others = combined, []
        opposite = [p for p, (a, _e) in others if abs(_wrap(a - azimuth)) >= 90.0]
        if opposite:
            raise ParameterError(
                f"{event.sound}: {phrase!r} and {opposite[0]!r} contradict each other; for motion say "
                f"\"from {phrase} to {opposite[0]}\", for two sounds name each"
            )
        event.azimuth_deg = azimuth
        rest = remaining
        for other, _value in others:
            rest = re.sub(rf"\b{re.escape(other)}\b", " ", rest)
    elif elevation == 0.0 and default_note:
        decisions.append(f"{event.sound}: no direction given: in front")
    event.elevation_deg = elevation if not (elevation == 90.0 and (clock or angle or found)) else 60.0
    return rest


def _combine_sides(first: float, others: list[float]) -> float | None:
    """A front or back word with a side word ("behind me to the right"): the diagonal between them, else None."""
    sides = {first, *others}
    if len(sides) != 2:
        return None
    a, b = sorted(sides, key=abs)
    if a == 0.0 and abs(b) == 90.0:
        return b / 2.0
    if {abs(a), abs(b)} == {90.0, 180.0}:
        side = a if abs(a) == 90.0 else b
        return 135.0 if side > 0 else -135.0
    return None


def _meaningful(text: str) -> bool:
    return any(w not in words.FILLER for w in text.split())


def _without_modifiers(clause: str) -> str:
    """The words of a clause left once directions, distances, motion and timing are read out of it."""
    return _apply_modifiers(Event("", ""), clause, [], name="")


def _only_modifiers(clause: str) -> bool:
    """True when a clause without a sound still says something about one (distance, length, direction)."""
    moving = any(re.search(pattern, clause) for pattern, _kind in words.MOTION_PATTERNS)
    return bool(_distance(clause) or words.SECONDS.search(clause) or _has_direction(clause) or moving)
