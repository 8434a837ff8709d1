"""The embedded sound library: recognisable sounds of everyday classes, made on this machine, offline.

Instruments are played by FluidSynth with the General MIDI soundfont, voices spoken by espeak-ng (both Debian
packages), and the rest synthesized from physical or spectral models (the training pool's procedural sounds and
:mod:`.synthesizers`). :data:`CLASSES` lists every class with the words prompts use for it and its typical level;
:func:`make_sound` makes one clip.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from soundstage.errors import ParameterError


@dataclass(frozen=True)
class SoundClass:
    """A class of sound the library can make.

    Attributes
    ----------
    name : str
        Its name (``church_bell``...).
    words : tuple of str
        What prompts call it, longest phrases first when matching (``"church bell"``, ``"bells"``...).
    kind : str
        ``fluidsynth``, ``espeak``, ``procedural`` (the training pool's synthesizers) or ``library``
        (:mod:`.synthesizers`).
    generator : str
        The instrument, procedural sound or synthesizer that makes it.
    level_db : float
        Typical level at 1 m relative to a voice at 1 m, in dB (a bell is much louder than a voice).
    ambient : bool
        A sound of everywhere (rain, wind, a crowd) rather than of a point.
    """

    name: str
    words: tuple[str, ...]
    kind: str
    generator: str
    level_db: float
    ambient: bool = False


CLASSES: tuple[SoundClass, ...] = (
    SoundClass("speech", ("man speaking", "woman speaking", "person speaking", "someone speaking", "man talking",
               "woman talking", "someone talking", "people talking", "voice", "voices", "speech", "speaking",
               "talking", "man", "woman", "person", "someone", "somebody", "narrator", "whisper", "whispering",
               "child", "kid", "boy", "girl", "teacher", "lecturer", "announcer", "speaker", "presenter", "reporter",
               "guy", "lady", "stranger", "friend", "says", "saying", "speaks", "talks", "chatting", "singer",
               "singing voice"),
               "espeak", "speech", 0.0),
    SoundClass("piano", ("piano", "grand piano", "keyboard", "pianist"), "fluidsynth", "piano", 12.0),
    SoundClass("guitar", ("acoustic guitar", "guitar", "guitarist", "strumming"), "fluidsynth", "acoustic_guitar", 8.0),
    SoundClass("violin", ("violin", "fiddle", "violinist", "viola"), "fluidsynth", "violin", 10.0),
    SoundClass("flute", ("flute", "flutist", "flautist", "flute player"), "fluidsynth", "flute", 8.0),
    SoundClass("drums", ("drum kit", "drums", "drum", "drummer", "percussion", "snare"), "fluidsynth", "drums", 20.0),
    SoundClass("church_bell", ("church bell", "church bells", "bell tower", "bells", "bell", "chime", "chimes",
               "carillon", "tolling"), "procedural", "bell", 30.0),
    SoundClass("phone_ring", ("phone ringing", "telephone ringing", "mobile phone", "cell phone", "cellphone",
               "smartphone", "phone", "telephone", "ringtone", "ringing", "rings"), "library", "phone_ring", 10.0),
    SoundClass("clock", ("clock ticking", "ticking clock", "wall clock", "grandfather clock", "clock", "ticking",
               "tick-tock", "ticks"), "library", "clock", -10.0),
    SoundClass("footsteps", ("footsteps", "footstep", "footfalls", "steps", "walking", "heels", "someone walking",
               "person walking"), "procedural", "footsteps", 0.0),
    SoundClass("car", ("car engine", "car passing", "car", "cars", "engine", "truck", "lorry", "bus", "van", "taxi",
               "cab", "jeep", "motorbike", "motorcycle", "scooter", "vehicle", "traffic"), "procedural", "engine",
               20.0),
    SoundClass("helicopter", ("helicopter", "chopper", "heli"), "library", "helicopter", 40.0),
    SoundClass("siren", ("siren", "ambulance", "police car", "police siren", "fire engine", "fire truck", "alarm"),
               "library", "siren", 40.0),
    SoundClass("dog", ("dog barking", "dog bark", "barking dog", "dog", "dogs", "puppy", "pup", "hound", "terrier",
               "poodle", "barking", "barks", "yapping", "yaps", "woof"), "procedural", "dog_bark", 20.0),
    SoundClass("bird", ("bird song", "birdsong", "birds singing", "bird singing", "birds", "bird", "songbird",
               "blackbird", "robin", "sparrow", "crow", "raven", "seagull", "gull", "pigeon", "owl", "lark",
               "finch", "cuckoo", "chirping", "chirps", "tweeting"), "procedural", "bird", 5.0),
    SoundClass("rain", ("rain", "raining", "rainfall", "raindrops", "drizzle", "downpour", "shower"),
               "procedural", "rain", 10.0, ambient=True),
    SoundClass("wind", ("wind", "windy", "breeze", "gusts", "gust", "gale"), "library", "wind", 10.0, ambient=True),
    SoundClass("water_stream", ("water stream", "stream", "brook", "creek", "river", "waterfall", "fountain",
               "running water", "water", "gurgling", "trickling", "tap water"), "library", "water_stream", 5.0),
    SoundClass("crowd", ("crowd murmur", "crowd", "murmur", "murmuring", "people chatting", "chatter", "babble",
               "students"), "library", "crowd", 10.0, ambient=True),
    SoundClass("applause", ("applause", "clapping", "claps", "audience clapping", "ovation"),
               "library", "applause", 15.0),
)

#: The classes by name.
BY_NAME = {sound.name: sound for sound in CLASSES}
#: RMS level every library sound is made at, before its class level (−20 dBFS).
REFERENCE_RMS = 0.1


def make_sound(name: str, seconds: float, sample_rate: int, *, seed: int = 0) -> tuple[np.ndarray, str]:
    """One clip of class ``name``: mono float32 at ``sample_rate``, RMS :data:`REFERENCE_RMS`, and how it was made.

    Raises
    ------
    ParameterError
        For a class the library lacks (the message lists those it has), or one whose generator is missing here
        (the message says which package to install, or to give the sound as a file).
    """
    from soundstage.learn.data.sounds import available_generators, synthesize_clip
    from soundstage.library.synthesizers import SYNTHESIZERS

    sound = BY_NAME.get(name)
    if sound is None:
        raise ParameterError(
            f"the sound library has no {name!r}; it has {', '.join(BY_NAME)} (or give --sound {name}=FILE, or a "
            "text-to-audio model with --tta)"
        )
    kind = "procedural" if sound.kind == "library" else sound.kind
    synthesizer = SYNTHESIZERS.get(sound.generator) if sound.kind == "library" else None
    missing = available_generators()[kind]
    if missing is not None:
        raise ParameterError(f"{name}: {missing}; or give --sound {name}=FILE")
    rng = np.random.default_rng([seed, sum(map(ord, name))])
    for _attempt in range(4):
        audio, drawn = synthesize_clip(kind, sound.generator, rng, sample_rate, seconds, synthesizer=synthesizer)
        if audio is not None:
            break
    else:
        raise ParameterError(f"the library could not make {name!r} of {seconds:g} s; give --sound {name}=FILE")
    rms = float(np.sqrt(np.mean(np.square(audio, dtype=np.float64))))
    audio = (audio * (REFERENCE_RMS / max(rms, 1e-9))).astype(np.float32)
    made = ", ".join(f"{key} {value}" for key, value in drawn.items() if key != "text")
    return audio, f"{sound.kind} {sound.generator}" + (f" ({made})" if made else "")
