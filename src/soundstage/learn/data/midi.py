"""Seeded musical phrases as standard MIDI files, for FluidSynth to play into the sound pool.

The instrument classes (General MIDI programs and note ranges), the note-sequence generators
(melodies over a scale, chord progressions, arpeggios, drum grooves) and a writer of format-0
standard MIDI files (tempo, program change, notes, variable-length quantities). Every random
choice comes from the generator passed in, so a phrase depends on it alone.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass
from typing import Any

import numpy as np

_TICKS_PER_BEAT = 480  # time resolution of the files written here


@dataclass(frozen=True)
class Instrument:
    """An instrument class: General MIDI programs (0-based) and the range of MIDI notes it plays.

    ``style`` is ``"melody"`` (one line), ``"chords"`` (chords under a melody), ``"arpeggio"``
    (broken chords) or ``"drums"`` (a kit on MIDI channel 10; ``programs`` are kits).
    """

    label: str
    programs: tuple[int, ...]
    low: int
    high: int
    style: str


#: The instrument classes, each with distinct General MIDI programs.
INSTRUMENTS = (
    Instrument("piano", (0, 1), 40, 88, "chords"),
    Instrument("acoustic_guitar", (24, 25), 40, 79, "arpeggio"),
    Instrument("violin", (40,), 55, 93, "melody"),
    Instrument("cello", (42,), 36, 69, "melody"),
    Instrument("bass", (32, 33), 28, 55, "melody"),
    Instrument("trumpet", (56,), 55, 82, "melody"),
    Instrument("flute", (73,), 60, 96, "melody"),
    Instrument("saxophone", (64, 65, 66), 46, 81, "melody"),
    Instrument("organ", (16, 19), 36, 84, "chords"),
    Instrument("harp", (46,), 36, 91, "arpeggio"),
    Instrument("marimba", (12,), 48, 84, "melody"),
    Instrument("drums", (0, 8, 16, 32, 40), 35, 81, "drums"),
)

_SCALES = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "harmonic_minor": (0, 2, 3, 5, 7, 8, 11),
    "pentatonic": (0, 2, 4, 7, 9),
}
_CHORD_DEGREES = (0, 3, 4, 5, 1)  # I, IV, V, vi, ii: the common progressions' chords


@dataclass(frozen=True)
class _Note:
    start_beats: float
    length_beats: float
    key: int  # MIDI note number
    velocity: int  # 1..127


def _pitched_notes(
    rng: np.random.Generator, instrument: Instrument, beats: float
) -> tuple[list[_Note], dict[str, Any]]:
    scale_name = str(rng.choice(list(_SCALES)))
    root = int(rng.integers(0, 12))
    scale = _SCALES[scale_name]
    keys = [key for key in range(instrument.low, instrument.high + 1) if (key - root) % 12 in scale]
    details = {"scale": scale_name, "root": root}
    if instrument.style == "melody":
        return _melody(rng, keys, beats), details
    split = len(keys) // 2
    chords = _chord_progression(rng, keys[: split + 2], beats, root=root, scale=scale)
    if instrument.style == "arpeggio":
        return _arpeggios(rng, chords), details
    # Chords in the lower half under a melody in the upper half, as a pianist or organist plays.
    notes = [
        _Note(start, length * 0.95, key, int(rng.integers(50, 80))) for start, length, chord in chords for key in chord
    ]
    return notes + _melody(rng, keys[split:], beats), details


def _melody(rng: np.random.Generator, keys: list[int], beats: float) -> list[_Note]:
    """A random walk over ``keys`` (mostly steps, some leaps), with varied lengths and a few rests."""
    index = int(rng.integers(len(keys) // 4, max(len(keys) // 4 + 1, 3 * len(keys) // 4)))
    legato = rng.uniform(0.7, 1.0)
    notes: list[_Note] = []
    time = 0.0
    while time < beats:
        length = float(rng.choice([0.25, 0.5, 0.5, 1.0, 1.0, 1.0, 1.5, 2.0]))
        if notes and rng.random() < 0.1:
            time += length
            continue
        index += int(rng.choice([-3, -2, -1, -1, 0, 1, 1, 2, 3]))
        index = abs(index) if index < 0 else min(index, 2 * (len(keys) - 1) - index)  # reflect off the range
        velocity = int(np.clip(rng.normal(88, 14), 40, 124))
        notes.append(_Note(time, length * legato, keys[index], velocity))
        time += length
    return notes


def _chord_progression(
    rng: np.random.Generator, keys: list[int], beats: float, *, root: int, scale: tuple[int, ...]
) -> list[tuple[float, float, list[int]]]:
    """Triads of the scale (every other note of ``keys`` from a degree) of 2 or 4 beats: (start, length, keys)."""
    degrees = [scale.index((key - root) % 12) for key in keys]
    chords = []
    time = 0.0
    degree = 0
    while time < beats:
        length = float(rng.choice([2.0, 4.0]))
        bottom = int(rng.integers(0, max(1, len(keys) - 7)))
        # The lowest scale note of the chord's degree at or above ``bottom`` roots it.
        low = next((i for i in range(bottom, len(keys) - 4) if degrees[i] == degree % len(scale)), bottom)
        chords.append((time, length, [keys[low], keys[low + 2], keys[low + 4]]))
        time += length
        degree = int(rng.choice(_CHORD_DEGREES))
    return chords


def _arpeggios(rng: np.random.Generator, chords: list[tuple[float, float, list[int]]]) -> list[_Note]:
    """Broken chords: chord notes one after another, each ringing to the chord's end (a harp, a guitar)."""
    step = float(rng.choice([0.25, 0.5]))
    pattern = str(rng.choice(["up", "down", "updown"]))
    notes = []
    for start, length, chord in chords:
        tones = [*chord, chord[0] + 12]
        order = {"up": tones, "down": tones[::-1], "updown": tones + tones[-2:0:-1]}[pattern]
        for n in range(int(length / step)):
            onset = start + n * step
            velocity = int(np.clip(rng.normal(80, 12), 40, 120))
            notes.append(_Note(onset, start + length - onset, order[n % len(order)], velocity))
    return notes


# General MIDI percussion keys (channel 10).
_KICK, _SNARE, _CLOSED_HAT, _OPEN_HAT, _CRASH, _RIDE = 36, 38, 42, 46, 49, 51
_TOMS = (50, 48, 47, 45, 43, 41)


def _drum_notes(rng: np.random.Generator, beats: float) -> list[_Note]:
    """A rock/pop groove in sixteenths: kick, backbeat snare, hats or ride, a tom fill every few bars."""
    kicks = {0, 8} | {step for step in (3, 6, 10, 11, 14) if rng.random() < 0.3}
    cymbal = _RIDE if rng.random() < 0.3 else _CLOSED_HAT
    hat_every = int(rng.choice([1, 2, 2]))
    fill_every = int(rng.choice([2, 4]))
    notes = []
    n_bars = math.ceil(beats / 4.0)
    for bar in range(n_bars):
        hits = []
        for step in range(16):
            if step in kicks:
                hits.append((step, _KICK, 100))
            if step in (4, 12):
                hits.append((step, _SNARE, 105))
            elif step % 2 and rng.random() < 0.12:
                hits.append((step, _SNARE, 45))  # ghost note
            if step % hat_every == 0:
                open_hat = cymbal == _CLOSED_HAT and step == 14 and rng.random() < 0.4
                hits.append((step, _OPEN_HAT if open_hat else cymbal, 90 if step % 4 == 0 else 65))
        if bar % fill_every == fill_every - 1:
            hits = [hit for hit in hits if hit[0] < 12]
            hits += [(step, _TOMS[(step - 12 + int(rng.integers(0, 3))) % 6], 95) for step in range(12, 16)]
        if bar == 0 and rng.random() < 0.5:
            hits.append((0, _CRASH, 100))
        for step, key, velocity in hits:
            jitter = int(rng.integers(-6, 7))
            notes.append(_Note(bar * 4.0 + step * 0.25, 0.25, key, int(np.clip(velocity + jitter, 1, 127))))
    return notes


def _midi_file(notes: list[_Note], *, program: int, channel: int, tempo_bpm: float) -> bytes:
    """A standard MIDI file (format 0, one track): tempo, program change, then the notes.

    References
    ----------
    .. [1] MIDI Manufacturers Association, "Standard MIDI Files 1.0", 1996.
    """
    # (tick, order, message): at one tick, note-offs (order 0) go before setup (1) and note-ons (2),
    # so a repeated key is released before it is struck again.
    events: list[tuple[int, int, bytes]] = [
        (0, 1, b"\xff\x51\x03" + round(60e6 / tempo_bpm).to_bytes(3, "big")),
        (0, 1, bytes([0xC0 | channel, program])),
    ]
    for note in notes:
        on = round(note.start_beats * _TICKS_PER_BEAT)
        off = max(on + 1, round((note.start_beats + note.length_beats) * _TICKS_PER_BEAT))
        events.append((on, 2, bytes([0x90 | channel, note.key, note.velocity])))
        events.append((off, 0, bytes([0x80 | channel, note.key, 0])))
    events.sort(key=lambda event: (event[0], event[1]))
    track = bytearray()
    last = 0
    for tick, _, message in events:
        track += _variable_length(tick - last) + message
        last = tick
    # One second after the last release, so the release tails are rendered before the player stops.
    track += _variable_length(round(tempo_bpm / 60.0 * _TICKS_PER_BEAT)) + b"\xff\x2f\x00"
    header = b"MThd" + struct.pack(">IHHH", 6, 0, 1, _TICKS_PER_BEAT)
    return header + b"MTrk" + struct.pack(">I", len(track)) + bytes(track)


def _variable_length(value: int) -> bytes:
    """A MIDI variable-length quantity: 7 bits a byte, most significant first, high bit set on all but the last.

    >>> _variable_length(0x80).hex()
    '8100'
    """
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    return bytes(reversed(out))
