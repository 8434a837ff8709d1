"""An offline pool of real, varied mono sounds to train a learned binauralizer on.

Everything is synthesized on this machine, with no download: instrument phrases played by
FluidSynth with the General MIDI soundfont (from MIDI files written here), speech from
espeak-ng voices, procedural sounds (the demo's bell, clicks, bird and drone, plus an engine,
footsteps, rain and a barking dog made here) and, optionally, a folder of the user's own clips.

Each clip is a mono float WAV in the pool folder, trimmed of leading and trailing silence,
holding at least :data:`MIN_SOUND_S` of sound and peak-normalized to :data:`PEAK`.
``pool.json`` lists the clips with the recipe that made each one, so building again reuses
what is there and makes only what is missing or stale: an interrupted build resumes.

Every clip draws its random choices from a generator seeded by the pool's seed and the clip's
id alone, so a clip is the same whichever other clips are added, removed or skipped.

This module keeps the pool (its bookkeeping, the external tools, speech and user clips); the
instrument phrases are written by :mod:`~soundstage.learn.data.midi` and the procedural sounds
synthesized by :mod:`~soundstage.learn.data.procedural_sounds`.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import shutil
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from soundstage.errors import InputFileError, ParameterError
from soundstage.learn.data.midi import INSTRUMENTS, Instrument, _drum_notes, _midi_file, _pitched_notes
from soundstage.learn.data.procedural_sounds import PROCEDURAL
from soundstage.sample_rate import check_sample_rate

#: Bump when a generator changes: clips made by an older recipe are then re-made, never mixed in.
POOL_VERSION = 1
#: The file listing a pool's clips and parameters, in the pool folder.
POOL_FILE = "pool.json"
#: Peak (linear full scale) of every clip as stored and as returned by :func:`load_clip`.
PEAK = 0.5
#: Highest peak a stored clip may have to count as valid (below full scale: no clipping).
MAX_PEAK = 0.99
#: Least sound a clip holds after silence trimming, in seconds.
MIN_SOUND_S = 1.0
#: Lowest pool sample rate in Hz: speech and instruments need their band up to 4 kHz.
MIN_SAMPLE_RATE_HZ = 8000
#: Where Debian's General MIDI soundfonts live (fluid-soundfont-gm), most preferred first.
SOUNDFONT_PATHS = (
    Path("/usr/share/sounds/sf2/FluidR3_GM.sf2"),
    Path("/usr/share/sounds/sf2/default-GM.sf2"),
    Path("/usr/share/soundfonts/FluidR3_GM.sf2"),
    Path("/usr/share/soundfonts/default.sf2"),
)
#: File types read from a user folder.
USER_SUFFIXES = (".wav", ".flac", ".ogg", ".oga")

_SILENCE_DB = -50.0  # a 10 ms frame this far below the loudest frame counts as silence
_FRAME_S = 0.01
_FADE_IN_S = 0.002  # short: the cut sits just before an onset, which must keep its attack
_FADE_OUT_S = 0.02  # a cut at clip_seconds may fall mid-note; a fade avoids the click
_MARGIN_S = 0.5  # generate this much more than clip_seconds so that trimming still leaves a full clip
_ATTEMPTS = 4  # redraws of a synthetic clip whose sound comes out shorter than MIN_SOUND_S
_FLUID_RATE_HZ = 44100  # FluidR3's samples are at 44.1 kHz; rendering lower would alias, so resample after
_PROCEDURAL_RATE_HZ = 32000  # the bird sings up to 6.7 kHz: synthesize above twice that, then resample
_TOOL_TIMEOUT_S = 120.0
_WORKERS = 4  # clips made at once
# Reverb and chorus off: the pool holds dry sources, the renderer adds the room. Dynamic sample
# loading reads only the samples of the program played, not all 140 MB of the soundfont.
_FLUIDSYNTH_OPTIONS = ("-n", "-i", "-q", "-R", "0", "-C", "0", "-g", "0.5", "-o", "synth.dynamic-sample-loading=1")
_FLUIDSYNTH_OPTIONS += ("-O", "float", "-T", "wav")


@dataclass(frozen=True)
class SoundClip:
    """One clip of the pool.

    Attributes
    ----------
    clip_id : str
        Stable id, ``"<kind>/<label>/<name>"``, e.g. ``"fluidsynth/violin/003"``; splits hash it.
    label : str
        Sound class, e.g. ``"violin"``, ``"speech"``, ``"bell"``.
    kind : str
        ``"fluidsynth"``, ``"espeak"``, ``"procedural"`` or ``"user"``.
    path : Path
        Mono float WAV at the pool's sample rate inside the pool folder.
    """

    clip_id: str
    label: str
    kind: str
    path: Path


class _ToolFailed(RuntimeError):
    """An external synthesizer failed; its kind of sound is skipped for the rest of the build."""


# --------------------------------------------------------------------------------------------
# Public API


def available_generators() -> dict[str, str | None]:
    """Which kinds of synthetic sound this machine can make.

    Returns
    -------
    dict of str to (str or None)
        ``{"fluidsynth": ..., "espeak": ..., "procedural": None}``: None where the kind is
        available, else one line saying what is missing and which Debian package to install.

    Examples
    --------
    >>> available_generators()["procedural"] is None
    True
    """
    return {"fluidsynth": _fluidsynth_missing(), "espeak": _espeak_missing(), "procedural": None}


def build_sound_pool(
    folder: str | Path,
    *,
    sample_rate: int = 16000,
    clips_per_class: int = 8,
    clip_seconds: float = 4.0,
    seed: int = 0,
    user_dir: str | Path | None = None,
    progress: bool = True,
) -> list[SoundClip]:
    """Make (or complete) a pool of mono training sounds in ``folder``.

    Clips already in the folder whose recipe matches and whose file is valid are reused, so a
    second call is cheap and an interrupted one resumes. Kinds whose tool is missing are
    skipped with one warning each, naming the Debian package to install.

    Parameters
    ----------
    folder : str or Path
        Pool folder, created if missing; holds ``pool.json`` and ``<kind>/<label>/<name>.wav``.
    sample_rate : int, default 16000
        Rate of every clip in Hz, at least :data:`MIN_SAMPLE_RATE_HZ`.
    clips_per_class : int, default 8
        Synthetic clips per sound class (user clips are all taken), at least 1.
    clip_seconds : float, default 4.0
        Longest clip in seconds (trimmed clips may be shorter), at least :data:`MIN_SOUND_S`.
    seed : int, default 0
        Seed of every random choice; the same seed gives the same audio.
    user_dir : str or Path, optional
        Folder of the user's clips (WAV, FLAC, OGG, searched recursively), each trimmed, cut to
        ``clip_seconds``, averaged to mono and resampled. A file's label is its parent folder's
        name, or for files directly in ``user_dir`` its name up to the first digit, ``_``, ``-``
        or space (``dog_01.wav`` → ``"dog"``). Unreadable files and files with under
        :data:`MIN_SOUND_S` of sound are skipped with one warning.
    progress : bool, default True
        Show a progress bar on stderr.

    Returns
    -------
    list of SoundClip
        User clips first, then instruments, speech and procedural sounds, each in class order.

    Raises
    ------
    ParameterError
        If a parameter is out of range.
    InputFileError
        If ``user_dir`` does not exist or holds no readable clip with at least 1 s of sound.
    OutputError
        If ``folder`` or a clip cannot be written.

    Examples
    --------
    Skipped as a doctest (it takes seconds); ``tests/test_learn_sounds.py`` builds such pools.

    >>> import tempfile
    >>> clips = build_sound_pool(tempfile.mkdtemp(), clips_per_class=1, progress=False)  # doctest: +SKIP
    >>> sorted({clip.label for clip in clips if clip.kind == "procedural"})  # doctest: +SKIP
    ['bell', 'bird', 'clicks', 'dog_bark', 'drone', 'engine', 'footsteps', 'rain']
    >>> load_clip(clips[0]).max()  # doctest: +SKIP
    0.5
    """
    from tqdm.auto import tqdm

    from soundstage.io.atomic import ensure_dir

    parameters = _check_parameters(sample_rate, clips_per_class, clip_seconds, seed)
    rate = parameters["sample_rate"]
    user_files = _user_files(Path(user_dir)) if user_dir is not None else []
    folder = ensure_dir(folder)

    missing = available_generators()
    for kind, reason in missing.items():
        if reason is not None:
            warnings.warn(f"sound pool: no {kind} sounds — {reason}", stacklevel=2)
    user_jobs = [_user_job(folder, path, Path(user_dir), parameters) for path in user_files]
    jobs = user_jobs + _synthetic_jobs(folder, parameters, missing)

    previous = _read_pool(folder)
    done: list[dict[str, Any]] = []
    # Kinds not to make (a missing tool, or one that failed mid-build); worker threads add to it.
    skipped: dict[str, str] = {kind: reason for kind, reason in missing.items() if reason is not None}
    warned = set(skipped)
    unusable_user: list[str] = []
    bar = tqdm(total=len(jobs), desc="sound pool", unit="clip", disable=not progress, file=sys.stderr)
    # Threads, not processes: a FluidSynth or espeak-ng run mostly waits (FluidSynth sleeps while its
    # player starts), so a few at once cut the wall time without loading the CPU much.
    executor = ThreadPoolExecutor(max_workers=_WORKERS)
    try:
        for batch in (user_jobs, jobs[len(user_jobs) :]):
            futures = [
                executor.submit(_reuse_or_make, job, previous.get(job.clip.clip_id), rate, skipped) for job in batch
            ]
            for job, future in zip(batch, futures, strict=True):
                outcome = future.result()
                bar.update(1)
                if outcome.entry is not None:
                    done.append(outcome.entry)
                elif outcome.failure is not None and job.clip.kind not in warned:
                    warned.add(job.clip.kind)
                    warnings.warn(f"sound pool: no more {job.clip.kind} sounds — {outcome.failure}", stacklevel=2)
                elif outcome.unusable is not None:
                    unusable_user.append(outcome.unusable)
            if batch is user_jobs and user_jobs and not done:
                raise InputFileError(
                    f"{user_dir}: holds no readable clip with at least {MIN_SOUND_S:g} s of sound "
                    f"(tried {len(user_files)} {'/'.join(USER_SUFFIXES)} files); add some or drop user_dir"
                )
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
        bar.close()
        # Written even when interrupted, so that the next call reuses what was made.
        _write_pool(folder, parameters, user_dir, skipped, done)
    if unusable_user:
        warnings.warn(
            f"sound pool: skipped {len(unusable_user)} unreadable or near-silent user file(s), e.g. {unusable_user[0]}",
            stacklevel=2,
        )
    return [_clip_of(folder, entry) for entry in done]


def synthesize_clip(
    kind: str, label: str, rng: np.random.Generator, rate: int, seconds: float, *, synthesizer=None
) -> tuple[np.ndarray | None, dict[str, Any]]:
    """One clip of a pool class made on demand: trimmed, cut to ``seconds``, faded and peak-normalized.

    Parameters
    ----------
    kind : {"fluidsynth", "espeak", "procedural"}
        The generator; :func:`available_generators` says which this machine has.
    label : str
        An instrument of :data:`INSTRUMENTS` (fluidsynth), ``"speech"`` (espeak) or a key of
        :data:`~soundstage.learn.data.procedural_sounds.PROCEDURAL`.
    rng : np.random.Generator
    rate : int
        In Hz.
    seconds : float
        Length wanted.
    synthesizer : callable or None
        For ``procedural``: a synthesizer ``(rng, rate, seconds) -> (audio, parameters)`` to use instead of the
        pool's own one of ``label``.

    Returns
    -------
    audio : np.ndarray or None
        Mono float32, or None when less than a second of sound came out (draw again).
    drawn : dict
        What was drawn (program, voice, pitch...).

    Raises
    ------
    ParameterError
        When the generator is missing on this machine (the message says which package to install).
    """
    from soundstage.errors import ParameterError

    missing = available_generators().get(kind)
    if missing is not None:
        raise ParameterError(missing)
    if kind == "fluidsynth":
        instrument = next(i for i in INSTRUMENTS if i.label == label)
        return _instrument_clip(rng, instrument, shutil.which("fluidsynth"), _soundfont(), rate, seconds)
    if kind == "espeak":
        return _speech_clip(rng, shutil.which("espeak-ng"), rate, seconds)
    return _procedural_clip(rng, synthesizer or PROCEDURAL[label], rate, seconds)


def load_clip(clip: SoundClip) -> np.ndarray:
    """Read a pool clip as a mono signal, silence-trimmed and peak-normalized to :data:`PEAK`.

    Parameters
    ----------
    clip : SoundClip
        A clip from :func:`build_sound_pool`.

    Returns
    -------
    np.ndarray, shape (n_samples,), float32
        At the pool's sample rate, peak ``PEAK`` (linear full scale).

    Raises
    ------
    InputFileError
        If the file is missing, unreadable or silent; the message names it.
    """
    from soundstage.io.audio import read_audio_file

    read = read_audio_file(clip.path, field=clip.clip_id)
    audio = _trim_silence(read.audio.mean(axis=0, dtype=np.float64), read.sample_rate)
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if peak == 0.0:
        raise InputFileError(f"{clip.clip_id} ({clip.path}): is silent; delete it and build the pool again")
    return (audio * (PEAK / peak)).astype(np.float32)


# --------------------------------------------------------------------------------------------
# Building: jobs, reuse, pool.json


@dataclass(frozen=True)
class _Job:
    """A clip to have, the recipe that makes it, and the maker (rng → audio at the pool rate, details)."""

    clip: SoundClip
    recipe: dict[str, Any]
    make: Callable[[np.random.Generator], tuple[np.ndarray, dict[str, Any]]]
    synthetic: bool = True


def _check_parameters(sample_rate: int, clips_per_class: int, clip_seconds: float, seed: int) -> dict[str, Any]:
    rate = check_sample_rate(sample_rate)
    if rate < MIN_SAMPLE_RATE_HZ:
        raise ParameterError(f"sample_rate must be at least {MIN_SAMPLE_RATE_HZ} Hz for a sound pool, got {rate}")
    if isinstance(clips_per_class, bool) or not isinstance(clips_per_class, int | np.integer) or clips_per_class < 1:
        raise ParameterError(f"clips_per_class must be a positive integer, got {clips_per_class!r}")
    if isinstance(clip_seconds, bool) or not isinstance(clip_seconds, int | float | np.number):
        raise ParameterError(f"clip_seconds must be a number of seconds, got {clip_seconds!r}")
    if not (math.isfinite(clip_seconds) and clip_seconds >= MIN_SOUND_S):
        raise ParameterError(
            f"clip_seconds must be at least {MIN_SOUND_S:g} s (a clip's least sound), got {clip_seconds}"
        )
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ParameterError(f"seed must be a non-negative integer, got {seed!r}")
    return {
        "sample_rate": rate,
        "clips_per_class": int(clips_per_class),
        "clip_seconds": float(clip_seconds),
        "seed": int(seed),
    }


@dataclass(frozen=True)
class _Outcome:
    """What became of a job: its pool.json entry, or why it has none (a failed tool, an unusable user file)."""

    entry: dict[str, Any] | None
    failure: str | None = None
    unusable: str | None = None


def _reuse_or_make(job: _Job, old: dict[str, Any] | None, rate: int, skipped: dict[str, str]) -> _Outcome:
    """Reuse the clip of ``job`` when its recipe and file still hold, else make and write it (in a worker thread)."""
    clip = job.clip
    entry = {"clip_id": clip.clip_id, "label": clip.label, "kind": clip.kind, "recipe": job.recipe}
    if old is not None and old.get("recipe") == job.recipe and _is_valid_clip_file(clip.path, rate):
        return _Outcome({**entry, "drawn": old.get("drawn", {})})
    if clip.kind in skipped:
        return _Outcome(None, failure=skipped[clip.kind])
    audio: np.ndarray | None = None
    details: dict[str, Any] = {}
    try:
        for attempt in range(_ATTEMPTS if job.synthetic else 1):
            audio, details = job.make(_rng(job.recipe.get("seed", 0), clip.clip_id, attempt))
            if audio is not None:
                break
    except _ToolFailed as error:
        # Skip the rest of this kind: a tool that failed once (broken install, bad soundfont) fails again.
        skipped.setdefault(clip.kind, str(error))
        return _Outcome(None, failure=str(error))
    if audio is None:
        if not job.synthetic:
            return _Outcome(None, unusable=str(job.recipe["source"]))
        # Every generator fills its clip; reaching here is a bug in one, not a user error.
        raise RuntimeError(f"{clip.clip_id}: made less than {MIN_SOUND_S:g} s of sound in {_ATTEMPTS} attempts")
    _write_clip(clip.path, audio, rate)
    return _Outcome({**entry, "drawn": details})


def _rng(seed: int, clip_id: str, attempt: int) -> np.random.Generator:
    """A generator that depends only on the seed, the clip and the attempt (not on the build order)."""
    digest = hashlib.sha256(f"{seed}:{clip_id}:{attempt}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def _is_valid_clip_file(path: Path, rate: int) -> bool:
    """Whether ``path`` is a mono clip at ``rate`` with enough sound, finite and below :data:`MAX_PEAK`."""
    import soundfile

    try:
        info = soundfile.info(str(path))
        if info.samplerate != rate or info.channels != 1 or info.frames < MIN_SOUND_S * rate:
            return False
        data, _ = soundfile.read(str(path), dtype="float32")
    except (RuntimeError, OSError, ValueError):  # missing, truncated or not audio: make it again
        return False
    if not np.all(np.isfinite(data)):
        return False
    peak = float(np.max(np.abs(data)))
    return 0.0 < peak <= MAX_PEAK


def _write_clip(path: Path, audio: np.ndarray, rate: int) -> None:
    """Write a float WAV atomically (temporary file, then os.replace), so a crash leaves no half clip."""
    import soundfile

    from soundstage.io.atomic import atomic_write, ensure_dir

    ensure_dir(path.parent)
    with atomic_write(path, overwrite=True) as temporary:
        soundfile.write(str(temporary), audio, rate, subtype="FLOAT", format="WAV")


def _read_pool(folder: Path) -> dict[str, dict[str, Any]]:
    """The clip entries of an existing pool.json by clip id; empty when there is none or it is damaged."""
    try:
        data = json.loads((folder / POOL_FILE).read_text(encoding="utf-8"))
        return {entry["clip_id"]: entry for entry in data["clips"]}
    except (OSError, ValueError, KeyError, TypeError):
        return {}  # a damaged list only costs a rebuild: every file is checked again anyway


def _write_pool(
    folder: Path,
    parameters: dict[str, Any],
    user_dir: str | Path | None,
    skipped: dict[str, str],
    entries: list[dict[str, Any]],
) -> None:
    from soundstage.io.reports import write_json

    clips = [{**entry, "path": f"{entry['clip_id']}.wav"} for entry in entries]
    data = {
        "version": POOL_VERSION,
        "parameters": {**parameters, "user_dir": None if user_dir is None else str(user_dir)},
        "skipped": skipped,
        "classes": sorted({entry["label"] for entry in entries}),
        "clips": clips,
    }
    write_json(data, folder / POOL_FILE, overwrite=True)


def _clip_of(folder: Path, entry: dict[str, Any]) -> SoundClip:
    return SoundClip(entry["clip_id"], entry["label"], entry["kind"], folder / f"{entry['clip_id']}.wav")


def _synthetic_jobs(folder: Path, parameters: dict[str, Any], missing: dict[str, str | None]) -> list[_Job]:
    rate, seconds = parameters["sample_rate"], parameters["clip_seconds"]
    common = {"version": POOL_VERSION, "sample_rate": rate, "clip_seconds": seconds, "seed": parameters["seed"]}
    jobs: list[_Job] = []

    def add(kind: str, label: str, extra: dict[str, Any], make: Callable[..., tuple[np.ndarray, dict[str, Any]]]):
        for index in range(parameters["clips_per_class"]):
            clip_id = f"{kind}/{label}/{index:03d}"
            clip = SoundClip(clip_id, label, kind, folder / f"{clip_id}.wav")
            jobs.append(_Job(clip, {**common, **extra}, make))

    if missing["fluidsynth"] is None:
        fluidsynth, soundfont = shutil.which("fluidsynth"), _soundfont()
        assert fluidsynth is not None and soundfont is not None
        for instrument in INSTRUMENTS:
            extra = {"soundfont": soundfont.name, "soundfont_bytes": soundfont.stat().st_size}

            def make_instrument(rng, instrument=instrument, fluidsynth=fluidsynth, soundfont=soundfont):
                return _instrument_clip(rng, instrument, fluidsynth, soundfont, rate, seconds)

            add("fluidsynth", instrument.label, extra, make_instrument)
    if missing["espeak"] is None:
        espeak = shutil.which("espeak-ng")
        assert espeak is not None
        add("espeak", "speech", {}, lambda rng: _speech_clip(rng, espeak, rate, seconds))
    for label, synthesize in PROCEDURAL.items():

        def make_procedural(rng, synthesize=synthesize):
            return _procedural_clip(rng, synthesize, rate, seconds)

        add("procedural", label, {}, make_procedural)
    return jobs


# --------------------------------------------------------------------------------------------
# Finishing: trim, cut, normalize


def _trim_silence(audio: np.ndarray, rate: int) -> np.ndarray:
    """``audio`` without the leading and trailing 10 ms frames more than 50 dB below the loudest one."""
    frame = max(1, round(_FRAME_S * rate))
    n_frames = math.ceil(audio.size / frame)
    if n_frames == 0:
        return audio
    padded = np.zeros(n_frames * frame)
    padded[: audio.size] = audio
    rms = np.sqrt(np.mean(padded.reshape(n_frames, frame) ** 2, axis=1))
    if rms.max() <= 0.0:
        return audio[:0]
    loud = np.flatnonzero(rms >= rms.max() * 10.0 ** (_SILENCE_DB / 20.0))
    return audio[loud[0] * frame : min(audio.size, (loud[-1] + 1) * frame)]


def _finish(audio: np.ndarray, rate: int, clip_seconds: float) -> np.ndarray | None:
    """Trim, cut to ``clip_seconds``, fade the cut edges and normalize; None if under 1 s of sound remains."""
    audio = np.asarray(audio, dtype=np.float64)
    if audio.size == 0 or not np.all(np.isfinite(audio)):
        return None
    audio = _trim_silence(audio, rate)[: round(clip_seconds * rate)]
    # Trimmed again: the cut may have fallen in a pause (between barks, words or phrases).
    audio = _trim_silence(audio, rate).copy()
    if audio.size < MIN_SOUND_S * rate:
        return None
    fade_in, fade_out = round(_FADE_IN_S * rate), round(_FADE_OUT_S * rate)
    audio[:fade_in] *= np.sin(0.5 * np.pi * np.arange(fade_in) / fade_in) ** 2
    audio[audio.size - fade_out :] *= np.cos(0.5 * np.pi * np.arange(1, fade_out + 1) / fade_out) ** 2
    return (audio * (PEAK / np.max(np.abs(audio)))).astype(np.float32)


def _to_rate(audio: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    from soundstage.io.audio import resample

    audio = np.asarray(audio, dtype=np.float64)
    return audio if from_rate == to_rate else resample(audio, from_rate, to_rate)


# --------------------------------------------------------------------------------------------
# External tools


def _soundfont() -> Path | None:
    return next((path for path in SOUNDFONT_PATHS if path.is_file()), None)


def _fluidsynth_missing() -> str | None:
    if shutil.which("fluidsynth") is None:
        return "fluidsynth is not on PATH; install the Debian packages fluidsynth and fluid-soundfont-gm"
    if _soundfont() is None:
        return (
            f"no General MIDI soundfont at {', '.join(map(str, SOUNDFONT_PATHS))}; "
            "install the Debian package fluid-soundfont-gm"
        )
    return None


def _espeak_missing() -> str | None:
    if shutil.which("espeak-ng") is None:
        return "espeak-ng is not on PATH; install the Debian package espeak-ng"
    return None


def _run_tool(command: list[str]) -> None:
    name = Path(command[0]).name
    try:
        result = subprocess.run(
            command, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=_TOOL_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise _ToolFailed(f"{name} could not run ({error})") from None
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines()
        raise _ToolFailed(f"{name} failed with exit code {result.returncode}: {lines[-1] if lines else 'no message'}")


def _read_mono(path: Path) -> tuple[np.ndarray, int]:
    """An audio file (a tool's output, a user clip) as mono float64 (channels averaged) and its rate in Hz."""
    from soundstage.io.audio import read_audio_file

    if not path.is_file() or path.stat().st_size == 0:
        raise _ToolFailed(f"{path.name} was not written")
    try:
        read = read_audio_file(path)
    except InputFileError as error:
        raise _ToolFailed(str(error)) from None
    return read.audio.mean(axis=0, dtype=np.float64), read.sample_rate


# --------------------------------------------------------------------------------------------
# Instruments: a seeded phrase written as a standard MIDI file, played by FluidSynth


def _instrument_clip(
    rng: np.random.Generator, instrument: Instrument, fluidsynth: str, soundfont: Path, rate: int, seconds: float
) -> tuple[np.ndarray | None, dict[str, Any]]:
    program = int(rng.choice(instrument.programs))
    tempo_bpm = float(rng.uniform(80.0, 160.0) if instrument.style == "drums" else rng.uniform(66.0, 144.0))
    beats = (seconds + _MARGIN_S) * tempo_bpm / 60.0
    if instrument.style == "drums":
        notes, details = _drum_notes(rng, beats), {}
    else:
        notes, details = _pitched_notes(rng, instrument, beats)
    channel = 9 if instrument.style == "drums" else 0
    midi = _midi_file(notes, program=program, channel=channel, tempo_bpm=tempo_bpm)
    render_rate = max(rate, _FLUID_RATE_HZ)
    with tempfile.TemporaryDirectory(prefix="soundstage-fluidsynth-") as temporary:
        mid, wav = Path(temporary) / "phrase.mid", Path(temporary) / "phrase.wav"
        mid.write_bytes(midi)
        _run_tool([fluidsynth, *_FLUIDSYNTH_OPTIONS, "-r", str(render_rate), "-F", str(wav), str(soundfont), str(mid)])
        audio, file_rate = _read_mono(wav)
    drawn = {"program": program, "tempo_bpm": round(tempo_bpm, 2), "notes": len(notes), **details}
    return _finish(_to_rate(audio, file_rate, rate), rate, seconds), drawn


# --------------------------------------------------------------------------------------------
# Speech: seeded sentences from word lists, spoken by espeak-ng voices

#: espeak-ng voices and the word list each speaks.
VOICES = {"en-us": "en", "en-gb": "en", "en-gb-scotland": "en", "de": "de", "fr": "fr", "es": "es", "it": "it"}
#: espeak-ng voice variants (male and female), appended to the voice as ``+m3``.
VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5")
_WORDS = {
    "en": "the a small old house river morning light window quickly walks under over we they she finds "
    "remembers green cold evening station train letter never always because little garden city road music "
    "children bright across tomorrow yesterday water table strong quiet open running".split(),
    "de": "der die das kleine alte Haus Fluss Morgen Licht Fenster schnell geht unter über wir sie findet "
    "erinnert grün kalt Abend Bahnhof Zug Brief nie immer weil Garten Stadt Straße Musik Kinder hell morgen "
    "gestern Wasser Tisch stark leise offen".split(),
    "fr": "le la petit vieille maison rivière matin lumière fenêtre vite marche sous sur nous ils elle trouve "
    "souvient vert froid soir gare train lettre jamais toujours parce jardin ville route musique enfants "
    "clair demain hier eau table fort calme ouvert".split(),
    "es": "el la pequeño vieja casa río mañana luz ventana rápido camina bajo sobre nosotros ellos ella "
    "encuentra recuerda verde frío tarde estación tren carta nunca siempre porque jardín ciudad camino música "
    "niños claro ayer agua mesa fuerte tranquilo abierto".split(),
    "it": "il la piccola vecchia casa fiume mattina luce finestra presto cammina sotto sopra noi loro lei trova "
    "ricorda verde freddo sera stazione treno lettera mai sempre perché giardino città strada musica bambini "
    "chiaro domani ieri acqua tavolo forte piano aperto".split(),
}


def _sentences(rng: np.random.Generator, words: list[str], n_words: int) -> str:
    """Sentences of 4–9 random words with commas and mixed endings, so the voice's intonation varies."""
    sentences = []
    while n_words > 0:
        count = min(n_words, int(rng.integers(4, 10)))
        chosen = [str(word) for word in rng.choice(words, size=count)]
        if count > 5 and rng.random() < 0.4:
            chosen[count // 2] += ","
        sentences.append(" ".join(chosen).capitalize() + str(rng.choice([".", ".", ".", "?", "!"])))
        n_words -= count
    return " ".join(sentences)


def _speech_clip(
    rng: np.random.Generator, espeak: str, rate: int, seconds: float
) -> tuple[np.ndarray | None, dict[str, Any]]:
    voice = str(rng.choice(list(VOICES)))
    variant = str(rng.choice(VARIANTS))
    words_per_minute = int(rng.integers(130, 211))
    pitch = int(rng.integers(25, 76))  # espeak-ng's 0..99 scale, 50 is the voice's own
    # Enough words to fill the clip at this speed, plus a margin for pauses trimmed later.
    text = _sentences(rng, _WORDS[VOICES[voice]], math.ceil((seconds + _MARGIN_S) * words_per_minute / 60.0 * 1.3))
    with tempfile.TemporaryDirectory(prefix="soundstage-espeak-") as temporary:
        text_file, wav = Path(temporary) / "text.txt", Path(temporary) / "speech.wav"
        text_file.write_text(text, encoding="utf-8")
        voice_options = ["-v", f"{voice}+{variant}", "-s", str(words_per_minute), "-p", str(pitch)]
        _run_tool([espeak, *voice_options, "-b", "1", "-z", "-w", str(wav), "-f", str(text_file)])
        audio, file_rate = _read_mono(wav)
    drawn = {"voice": f"{voice}+{variant}", "words_per_minute": words_per_minute, "pitch": pitch, "text": text}
    return _finish(_to_rate(audio, file_rate, rate), rate, seconds), drawn


# --------------------------------------------------------------------------------------------
# Procedural sounds: synthesized above the pool rate (procedural_sounds), then resampled and finished


def _procedural_clip(
    rng: np.random.Generator, synthesize: Callable[..., tuple[np.ndarray, dict[str, Any]]], rate: int, seconds: float
) -> tuple[np.ndarray | None, dict[str, Any]]:
    synth_rate = max(rate, _PROCEDURAL_RATE_HZ)
    audio, drawn = synthesize(rng, synth_rate, seconds + _MARGIN_S)
    return _finish(_to_rate(audio, synth_rate, rate), rate, seconds), drawn


# --------------------------------------------------------------------------------------------
# User clips


def _user_files(user_dir: Path) -> list[Path]:
    if not user_dir.is_dir():
        raise InputFileError(f"{user_dir}: user sound folder does not exist or is not a folder; give a folder of clips")
    files = sorted(path for path in user_dir.rglob("*") if path.suffix.lower() in USER_SUFFIXES and path.is_file())
    if not files:
        raise InputFileError(
            f"{user_dir}: user sound folder holds no {'/'.join(USER_SUFFIXES)} files; add clips or drop user_dir"
        )
    return files


def _slug(text: str) -> str:
    """Lower case, runs of anything but letters and digits as one ``_``: safe in a path and an id."""
    return re.sub(r"[^0-9a-z]+", "_", text.lower()).strip("_") or "clip"


def _user_label(path: Path, user_dir: Path) -> str:
    if path.parent != user_dir:
        return _slug(path.parent.name)
    prefix = re.split(r"[\d_\-\s.]", path.stem, maxsplit=1)[0]
    return _slug(prefix or path.stem)


def _user_job(folder: Path, path: Path, user_dir: Path, parameters: dict[str, Any]) -> _Job:
    label = _user_label(path, user_dir)
    name = _slug(str(path.relative_to(user_dir).with_suffix("")))
    clip_id = f"user/{label}/{name}"
    status = path.stat()
    rate, seconds = parameters["sample_rate"], parameters["clip_seconds"]
    recipe = {
        "version": POOL_VERSION,
        "sample_rate": rate,
        "clip_seconds": seconds,
        "source": str(path.resolve()),
        "source_bytes": status.st_size,
        "source_mtime_ns": status.st_mtime_ns,
    }

    def make(_rng: np.random.Generator) -> tuple[np.ndarray | None, dict[str, Any]]:
        try:
            audio, file_rate = _read_mono(path)
        except _ToolFailed:
            return None, {}  # an unreadable file is skipped; only a folder of them is an error
        return _finish(_to_rate(audio, file_rate, rate), rate, seconds), {"source_rate": file_rate}

    return _Job(SoundClip(clip_id, label, "user", folder / f"{clip_id}.wav"), recipe, make, synthetic=False)
