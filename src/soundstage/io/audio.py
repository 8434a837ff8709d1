"""Source signals: loading mono sounds from files, checking arrays, resampling.

Sources are mono. Files are read with :mod:`soundfile` (libsndfile: WAV, FLAC, OGG,
MP3...), arrays given through the Python API are checked with :func:`validate_signal`,
and both are brought to the render's rate with :func:`resample`, which uses libsoxr's
very-high-quality band-limited resampler (so content above the new Nyquist frequency is
filtered out instead of aliasing).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from soundstage.errors import InputFileError, ParameterError


def load_audio(
    path: str | Path,
    *,
    sample_rate: int | None = None,
    downmix: bool = False,
    field: str | None = None,
    downmix_hint: str | None = None,
) -> tuple[np.ndarray, int]:
    """Load a mono sound from an audio file.

    Parameters
    ----------
    path : str or Path
        Any file libsndfile reads (WAV, FLAC, OGG/Vorbis, MP3, AIFF...).
    sample_rate : int, optional
        Resample to this rate in Hz; by default the file's rate is kept.
    downmix : bool, default False
        Average the channels of a multichannel file; without it such a file is an error.
    field : str, optional
        Where the path came from, e.g. ``"sources[1].audio"``, quoted in error messages.
    downmix_hint : str, optional
        How the caller's user asks for a downmix, for the message about a multichannel file
        (default: the scene file's ``downmix: true``).

    Returns
    -------
    audio : np.ndarray, shape (n_samples,), float32
        Samples, full scale ±1.
    sample_rate : int
        Rate of ``audio`` in Hz (``sample_rate`` if given, else the file's).

    Raises
    ------
    InputFileError
        If the file is missing, cannot be decoded, is empty, holds NaN/Inf samples, or
        has several channels and ``downmix`` is False.
    ParameterError
        If ``sample_rate`` is not a positive integer.

    Examples
    --------
    >>> import tempfile, pathlib, soundfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "click.wav"
    >>> soundfile.write(path, np.zeros(4410), 44100)
    >>> audio, rate = load_audio(path, sample_rate=48000)
    >>> audio.shape, rate
    ((4800,), 48000)
    """
    if sample_rate is not None:
        sample_rate = _check_rate(sample_rate, "sample_rate")
    where = f"{field} ({path})" if field else str(path)
    clip = read_audio_file(path, field=field)
    n_channels = clip.audio.shape[0]
    if n_channels > 1 and not downmix:
        raise InputFileError(
            f"{where}: has {n_channels} channels; sources must be mono — {downmix_hint or DOWNMIX_HINT} "
            "or pass a mono file"
        )
    # The mean, not the sum, so that a source identical in all channels keeps its level.
    audio = clip.audio[0].copy() if n_channels == 1 else clip.audio.mean(axis=0, dtype=np.float64).astype(np.float32)
    if sample_rate is not None and sample_rate != clip.sample_rate:
        return resample(audio, clip.sample_rate, sample_rate), sample_rate
    return audio, clip.sample_rate


#: Lowest sampling rate of an audio file, in Hz: below, the header is damaged (a "1 Hz" WAV plays for hours).
MIN_AUDIO_RATE_HZ = 1000

#: What a scene file's user does about a multichannel source (the image command says its own fix).
DOWNMIX_HINT = "set `downmix: true` for this source"


@dataclass(frozen=True)
class AudioFile:
    """The samples of an audio file as read, before any mixing or resampling.

    Attributes
    ----------
    audio : np.ndarray, shape (n_channels, n_frames), float32
        Samples, full scale ±1, every one finite; at least one frame.
    sample_rate : int
        In Hz.
    channel_mask : int or None
        dwChannelMask of a WAVE_FORMAT_EXTENSIBLE file, else None.
    """

    audio: np.ndarray
    sample_rate: int
    channel_mask: int | None


def read_audio_file(path: str | Path, *, field: str | None = None, min_frames: int = 1) -> AudioFile:
    """Read every channel of an audio file, refusing files that would give a wrong result.

    The one reader of user audio (sources, ambisonic files to decode, files to analyse or
    score): the file is recorded as the job's input (so no output replaces it), a WAV header
    promising more frames than the file holds is an error (libsndfile would quietly read
    what is there), and empty files or NaN/Inf samples are refused.

    Parameters
    ----------
    path : str or Path
        Any file libsndfile reads (WAV, FLAC, OGG/Vorbis, MP3, AIFF...).
    field : str, optional
        Where the path came from, e.g. ``"sources[1].audio"``, quoted in error messages.
    min_frames : int, default 1
        Fewest sample frames the caller can use.

    Returns
    -------
    AudioFile

    Raises
    ------
    InputFileError
        If the file is missing, a folder, a symlink loop, unreadable, truncated, sampled below
        :data:`MIN_AUDIO_RATE_HZ`, shorter than ``min_frames`` or holds NaN/Inf samples; the message
        names the file.
    """
    import soundfile

    from soundstage.io.inputs import check_input_file, record_input
    from soundstage.io.wav import check_wav_length, read_wav_header

    path = Path(path)
    where = f"{field} ({path})" if field else str(path)
    record_input(path)
    check_input_file(path, where=where, kind="audio file")
    check_wav_length(path)
    try:
        data, rate = soundfile.read(path, dtype="float32", always_2d=True)
    except (RuntimeError, TypeError, ValueError, OSError) as error:
        # LibsndfileError is a RuntimeError; its error_string is the reason without the path.
        reason = getattr(error, "error_string", None) or str(error)
        raise InputFileError(f"{where}: cannot be read as audio ({reason}); convert it to WAV/FLAC") from None
    if rate < MIN_AUDIO_RATE_HZ:
        raise InputFileError(
            f"{where}: says it is sampled at {rate} Hz, below any audio rate ({MIN_AUDIO_RATE_HZ} Hz); "
            "its header is damaged — re-export the file"
        )
    n_frames = data.shape[0]
    if n_frames < max(min_frames, 1):
        held = "contains no samples" if n_frames == 0 else f"holds {n_frames} sample frame{'s' * (n_frames > 1)}"
        need = "" if min_frames <= 1 else f" (at least {min_frames} are needed)"
        raise InputFileError(f"{where}: {held}{need}; give a file with sound in it")
    bad_frames = ~np.isfinite(data).all(axis=1)
    if bad_frames.any():
        first = int(np.argmax(bad_frames))
        raise InputFileError(
            f"{where}: contains NaN or infinite samples at sample {first} ({first / rate:.3f} s); "
            "repair or re-export the file"
        )
    mask = None
    if path.suffix.lower() == ".wav":
        try:
            mask = read_wav_header(path).channel_mask
        except InputFileError:
            mask = None  # a WAV libsndfile reads but our header parser does not (e.g. ADPCM): no mask
    return AudioFile(np.ascontiguousarray(data.T), int(rate), mask)


def resample(audio: np.ndarray, orig_sample_rate: int, target_sample_rate: int) -> np.ndarray:
    """Change the sampling rate with a band-limited (anti-aliased) resampler.

    Uses libsoxr at its "VHQ" (very high quality) setting: linear phase, a pass band
    flat to within a small fraction of a dB up to about 0.9 of the lower Nyquist
    frequency, and a stop band attenuated by well over 100 dB above it.

    Parameters
    ----------
    audio : np.ndarray, shape (n_samples,) or (n_channels, n_samples)
        Signal(s) at ``orig_sample_rate``.
    orig_sample_rate : int
        Current rate in Hz.
    target_sample_rate : int
        Wanted rate in Hz.

    Returns
    -------
    np.ndarray, shape (n_samples_out,) or (n_channels, n_samples_out)
        The resampled signal, float32 for float32 input and float64 otherwise;
        ``n_samples_out`` is ``n_samples * target / orig`` rounded. The input itself
        (not a copy) when the rates are equal.

    Examples
    --------
    >>> resample(np.ones(441), 44100, 48000).shape
    (480,)
    >>> resample(np.zeros((2, 480)), 48000, 16000).shape
    (2, 160)
    """
    orig_sample_rate = _check_rate(orig_sample_rate, "orig_sample_rate")
    target_sample_rate = _check_rate(target_sample_rate, "target_sample_rate")
    audio = np.asarray(audio)
    if audio.ndim not in (1, 2):
        raise ParameterError(f"audio: shape {audio.shape} must be (n_samples,) or (n_channels, n_samples)")
    if orig_sample_rate == target_sample_rate:
        return audio
    dtype = np.float32 if audio.dtype == np.float32 else np.float64
    if audio.shape[-1] == 0:
        return np.zeros((*audio.shape[:-1], 0), dtype=dtype)

    import soxr

    # soxr wants (n_samples, n_channels), C-contiguous.
    frames = np.ascontiguousarray(audio.T, dtype=dtype)
    out = soxr.resample(frames, orig_sample_rate, target_sample_rate, quality="VHQ")
    return np.ascontiguousarray(out.T)


def validate_signal(audio: np.ndarray, *, name: str) -> np.ndarray:
    """Check a signal given as an array (Python API) and return it as a float array.

    Parameters
    ----------
    audio : array_like, shape (n_samples,)
        A mono signal, floating point, full scale ±1.
    name : str
        What to call it in error messages, e.g. ``"sources[0].audio"``.

    Returns
    -------
    np.ndarray, shape (n_samples,)
        ``audio`` as a float32 or float64 array (float16 becomes float32).

    Raises
    ------
    ParameterError
        If it is not 1-D, not floating point, empty, or holds NaN/Inf samples.

    Examples
    --------
    >>> validate_signal([0.0, 0.5, -0.5], name="sources[0].audio").dtype
    dtype('float64')
    """
    try:
        array = np.asarray(audio)
    except (TypeError, ValueError) as error:  # ragged lists and the like
        raise ParameterError(f"{name}: cannot be read as a numeric array ({error}); pass a 1-D float array") from None
    if array.dtype.kind in "iub":
        # Integer PCM has an implied full scale we cannot guess; a silent /32768 would be wrong for 24-bit data.
        raise ParameterError(
            f"{name}: integer samples ({array.dtype}) are ambiguous; pass floats with full scale ±1, "
            "e.g. pcm / 2**15 for 16-bit"
        )
    if array.dtype.kind != "f":
        raise ParameterError(f"{name}: dtype {array.dtype} is not a real floating-point signal; pass a 1-D float array")
    if array.ndim != 1:
        raise ParameterError(
            f"{name}: has shape {array.shape}; sources must be mono 1-D arrays — average the channels "
            "(e.g. audio.mean(axis=0)) or pick one"
        )
    if array.size == 0:
        raise ParameterError(f"{name}: is empty; give a signal with at least one sample")
    finite = np.isfinite(array)
    if not finite.all():
        raise ParameterError(f"{name}: contains NaN or infinite samples (first at index {int(np.argmin(finite))})")
    if array.dtype == np.float16:
        array = array.astype(np.float32)
    return array


def _check_rate(rate: int, name: str) -> int:
    """A sampling rate as a positive int (integral floats such as 48000.0 accepted)."""
    if isinstance(rate, bool) or not isinstance(rate, (int, float, np.integer, np.floating)):
        raise ParameterError(f"{name}: {rate!r} must be a positive whole number of Hz")
    if not (np.isfinite(rate) and rate > 0 and float(rate).is_integer()):
        raise ParameterError(f"{name}: {rate!r} must be a positive whole number of Hz")
    return int(rate)
