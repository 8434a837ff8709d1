"""WAV files written and read by Soundstage itself.

libsndfile (and so :mod:`soundfile`) cannot set ``dwChannelMask``, the field of
WAVE_FORMAT_EXTENSIBLE that tells players which loudspeaker each channel feeds, so a
5.1 render written with it plays as "6 unnamed channels". This module writes the RIFF
structure directly:

* **WAVE_FORMAT_EXTENSIBLE** (``fmt`` chunk of 40 bytes, ``cbSize`` 22,
  ``wValidBitsPerSample``, ``dwChannelMask`` and the SubFormat GUID) whenever there are
  more than two channels, a channel mask is given, or samples are wider than 16 bits —
  as Microsoft's "Multiple channel audio data and WAVE files" recommends; plain PCM
  otherwise, which every reader understands.
* 16-, 24- and 32-bit integer PCM, or 32-bit IEEE float (with the ``fact`` chunk the
  specification asks of non-PCM data).
* Interleaved frames, written atomically (see :mod:`soundstage.io.atomic`).

Integer quantisation maps ``x`` to ``round(x * 2**(b-1))`` (round half to even), so
-1.0 is the lowest code and 0.0 is exactly zero; the single code above the top,
``2**(b-1)``, which only values within half a step of +1.0 reach, is clipped to
``2**(b-1) - 1``. Anything with ``|x| > 1`` is refused rather than clipped silently.
No dither is added (TPDF dither before quantisation would be the option for 16-bit
masters of very quiet material). Files whose data exceeds 4 GiB would need RF64,
which is not supported yet: they raise :class:`~soundstage.errors.OutputError`.
"""

from __future__ import annotations

import contextlib
import struct
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from soundstage.errors import InputFileError, OutputError, ParameterError
from soundstage.io.atomic import atomic_write
from soundstage.io.inputs import InputFile

#: wFormatTag values.
WAVE_FORMAT_PCM = 0x0001
WAVE_FORMAT_IEEE_FLOAT = 0x0003
WAVE_FORMAT_EXTENSIBLE = 0xFFFE

#: SubFormat GUIDs of WAVE_FORMAT_EXTENSIBLE (KSDATAFORMAT_SUBTYPE_PCM / _IEEE_FLOAT).
KSDATAFORMAT_SUBTYPE_PCM = uuid.UUID("00000001-0000-0010-8000-00aa00389b71")
KSDATAFORMAT_SUBTYPE_IEEE_FLOAT = uuid.UUID("00000003-0000-0010-8000-00aa00389b71")

#: Default dwChannelMask for one and two channels (front centre; front left + right).
#: Wider signals without a mask get 0, "no speaker assignment" (e.g. ambisonics).
_DEFAULT_MASKS = {1: 0x4, 2: 0x3}

#: Frames converted per block when writing, to bound the memory of the integer copy.
_BLOCK_FRAMES = 1 << 16

_UINT32_MAX = 0xFFFFFFFF


@dataclass(frozen=True)
class WavInfo:
    """What the header of a WAV file says.

    Attributes
    ----------
    format_tag : int
        wFormatTag: 1 (PCM), 3 (IEEE float) or 0xFFFE (extensible).
    n_channels : int
        Number of channels.
    sample_rate : int
        Sampling rate in Hz.
    bits_per_sample : int
        Container size of one sample in bits (wBitsPerSample).
    valid_bits : int
        Significant bits per sample (wValidBitsPerSample; equals ``bits_per_sample``
        for non-extensible files).
    channel_mask : int or None
        dwChannelMask, or None for files that are not WAVE_FORMAT_EXTENSIBLE.
    subformat : {"pcm", "float"}
        Integer PCM or IEEE floating point samples.
    n_frames : int
        Samples per channel.
    data_offset : int
        Byte offset of the first sample in the file.
    """

    format_tag: int
    n_channels: int
    sample_rate: int
    bits_per_sample: int
    valid_bits: int
    channel_mask: int | None
    subformat: str
    n_frames: int
    data_offset: int

    @property
    def block_align(self) -> int:
        """Bytes per frame (all channels of one sample instant)."""
        return self.n_channels * self.bits_per_sample // 8

    @property
    def duration_s(self) -> float:
        """Length in seconds."""
        return self.n_frames / self.sample_rate


def write_wav(
    path: str | Path,
    audio: np.ndarray,
    sample_rate: int,
    *,
    bit_depth: int | str = 24,
    channel_mask: int | None = None,
    overwrite: bool = False,
    inputs: Iterable[InputFile] = (),
) -> Path:
    """Write multichannel audio as a WAV file, atomically.

    Parameters
    ----------
    path : str or Path
        Output file. Its folder must exist.
    audio : np.ndarray, shape (n_channels, n_samples) or (n_samples,)
        Samples, full scale ±1. A 1-D array is one channel.
    sample_rate : int
        In Hz.
    bit_depth : {16, 24, 32, "float"}, default 24
        Integer PCM bits, or ``"float"`` (also ``"float32"``) for 32-bit IEEE float,
        which can hold peaks above full scale.
    channel_mask : int, optional
        dwChannelMask, one bit per loudspeaker (e.g. 0x60F for 5.1, see
        :func:`soundstage.conventions.channel_mask`); its number of set bits must equal
        the number of channels, or be 0 for "no assignment". Giving a mask forces
        WAVE_FORMAT_EXTENSIBLE. When omitted, an extensible file gets 0x4 for mono,
        0x3 for stereo and 0 otherwise.
    overwrite : bool, default False
        Replace an existing file.
    inputs : iterable of InputFile, optional
        Files the audio was made from (:mod:`soundstage.io.inputs`); ``path`` may never be one.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    ParameterError
        For a bad ``bit_depth``, ``sample_rate``, ``channel_mask`` or array shape.
    OutputError
        If the audio holds NaN/Inf, would clip an integer format, exceeds 4 GiB, or the
        file exists (without ``overwrite``) or cannot be written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "tone.wav"
    >>> tone = 0.5 * np.sin(2 * np.pi * 440 * np.arange(4800) / 48000)
    >>> _ = write_wav(path, np.stack([tone, -tone]), 48000, bit_depth=16)
    >>> info = read_wav_header(path)
    >>> info.n_channels, info.sample_rate, info.bits_per_sample, info.n_frames
    (2, 48000, 16, 4800)
    """
    bits, subformat = _parse_bit_depth(bit_depth)
    sample_rate = _check_sample_rate(sample_rate)
    audio = _as_channels_first(audio)
    n_channels, n_frames = audio.shape
    mask = _check_channel_mask(channel_mask, n_channels)
    if sample_rate * n_channels * (bits // 8) > _UINT32_MAX:
        raise ParameterError(
            f"sample_rate: {sample_rate} Hz × {n_channels} channels × {bits} bits exceeds the byte rate a WAV "
            "header can hold; lower the rate or the channel count"
        )
    extensible = n_channels > 2 or mask is not None or bits > 16
    if extensible and mask is None:
        mask = _DEFAULT_MASKS.get(n_channels, 0)
    header = _header(n_channels, n_frames, sample_rate, bits, subformat, mask if extensible else None)
    # Size first: it needs only the shape, so an oversized render fails before any pass over the samples.
    data_size = n_frames * n_channels * (bits // 8)
    riff_size = len(header) + data_size + (data_size & 1)  # file size minus the 8-byte RIFF chunk header
    if riff_size > _UINT32_MAX:
        raise OutputError(
            f"{path}: {data_size / 2**30:.2f} GiB of samples exceed the 4 GiB limit of WAV (RF64 is not supported "
            "yet); render shorter excerpts, fewer channels or a smaller --bit-depth"
        )
    _check_finite(audio, path)
    if subformat == "pcm":
        _check_no_clipping(audio, path, bits)

    with atomic_write(path, overwrite=overwrite, inputs=inputs) as temporary, open(temporary, "wb") as file:
        file.write(header)
        file.write(b"data" + struct.pack("<I", data_size))
        for start in range(0, n_frames, _BLOCK_FRAMES):
            file.write(_encode(audio[:, start : start + _BLOCK_FRAMES], bits, subformat))
        if data_size & 1:
            file.write(b"\x00")  # RIFF chunks are padded to an even size
    return Path(path)


class WavStream:
    """A 32-bit float WAV file written block by block (for streams whose length is not known beforehand).

    Use :func:`open_wav_stream`; blocks go straight to a temporary file, the header is completed when the
    stream closes and only then does the file take its name, so a stream stopped on the way leaves nothing.
    """

    def __init__(self, file, n_channels: int, sample_rate: int, mask: int | None) -> None:
        self.file, self.n_channels, self.sample_rate, self.mask = file, n_channels, sample_rate, mask
        self.n_frames = 0
        self._header_size = len(_header(n_channels, 0, sample_rate, 32, "float", mask)) + 8
        self.file.write(b"\x00" * self._header_size)  # replaced by the real header at the end

    def write(self, block: np.ndarray) -> None:
        """Append ``block``, shape (n_channels, n_frames); non-finite samples are refused."""
        block = np.asarray(block)
        if block.ndim != 2 or block.shape[0] != self.n_channels:
            raise ParameterError(f"a stream block must have shape ({self.n_channels}, n), got {block.shape}")
        if not np.all(np.isfinite(block)):
            raise OutputError("the stream produced NaN or Inf samples; nothing was written")
        if (self.n_frames + block.shape[1]) * self.n_channels * 4 + self._header_size > _UINT32_MAX:
            raise OutputError("the stream passed the 4 GiB a WAV file can hold; stream shorter")
        self.file.write(_encode(block, 32, "float"))
        self.n_frames += block.shape[1]

    def finish(self) -> None:
        data_size = self.n_frames * self.n_channels * 4
        self.file.seek(0)
        self.file.write(_header(self.n_channels, self.n_frames, self.sample_rate, 32, "float", self.mask))
        self.file.write(b"data" + struct.pack("<I", data_size))


@contextlib.contextmanager
def open_wav_stream(
    path: str | Path, n_channels: int, sample_rate: int, *, channel_mask: int | None = None, overwrite: bool = False
) -> Iterator[WavStream]:
    """A :class:`WavStream` writing ``path`` atomically (32-bit float, WAVE_FORMAT_EXTENSIBLE with the mask).

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "stream.wav"
    >>> with open_wav_stream(path, 2, 48000) as stream:
    ...     for _ in range(3):
    ...         stream.write(np.zeros((2, 512)))
    >>> read_wav_header(path).n_frames
    1536
    """
    sample_rate = _check_sample_rate(sample_rate)
    mask = _check_channel_mask(channel_mask, n_channels)
    if mask is None:
        mask = _DEFAULT_MASKS.get(n_channels, 0)
    with atomic_write(path, overwrite=overwrite) as temporary, open(temporary, "wb") as file:
        stream = WavStream(file, n_channels, sample_rate, mask)
        yield stream
        stream.finish()


def read_wav_header(path: str | Path) -> WavInfo:
    """Parse the RIFF chunks of a WAV file and describe its format.

    Unknown chunks (``LIST``, ``bext``, ``JUNK``...) are skipped, honouring the pad byte
    after odd-sized chunks.

    Parameters
    ----------
    path : str or Path
        The WAV file.

    Returns
    -------
    WavInfo

    Raises
    ------
    InputFileError
        If the file is missing, not RIFF/WAVE, truncated, lacks a ``fmt`` or ``data``
        chunk, or stores samples other than integer PCM or IEEE float.
    """
    path = Path(path)
    chunks = _riff_chunks(path)
    if chunks.data_offset + chunks.data_size > chunks.file_size:
        raise InputFileError(f"{path}: truncated ({_length_mismatch(chunks)}); re-export or repair the file")
    return _parse_fmt(chunks.fmt, path, data_offset=chunks.data_offset, data_size=chunks.data_size)


def check_wav_length(path: str | Path) -> None:
    """Refuse a WAV file whose header promises more sample frames than the file holds.

    libsndfile quietly reads what is there, so without this check a damaged "1 s" file
    plays for 10 ms. Files that are not RIFF/WAVE, RF64 files and streamed WAVs (a data
    size of 0 or 0xFFFFFFFF, written before the length was known) are left to the decoder.

    Parameters
    ----------
    path : str or Path
        The audio file.

    Raises
    ------
    InputFileError
        If the ``data`` chunk claims more frames than the file holds; the message names both counts.
    """
    path = Path(path)
    try:
        with open(path, "rb") as file:
            riff = file.read(12)
    except OSError:
        return  # the decoder reports unreadable files
    if len(riff) < 12 or riff[:4] != b"RIFF" or riff[8:12] != b"WAVE":
        return
    try:
        chunks = _riff_chunks(path)
    except InputFileError:
        return  # a damaged header: libsndfile's own message says what it cannot read
    if chunks.data_size in (0, _UINT32_MAX):
        return
    if chunks.data_offset + chunks.data_size > chunks.file_size:
        raise InputFileError(f"{path}: {_length_mismatch(chunks)}; the file is truncated — re-export or repair it")


@dataclass(frozen=True)
class _Chunks:
    """Where a WAV file's ``fmt`` and ``data`` chunks are: the fmt body, data offset and size, file size."""

    fmt: bytes
    data_offset: int
    data_size: int
    file_size: int

    @property
    def block_align(self) -> int:
        """Bytes per sample frame, from the fmt chunk (at least 1)."""
        return max(struct.unpack("<H", self.fmt[12:14])[0], 1) if len(self.fmt) >= 14 else 1


def _riff_chunks(path: Path) -> _Chunks:
    """Walk the RIFF chunks up to ``data``, skipping unknown ones (with the pad byte after odd sizes)."""
    try:
        file = open(path, "rb")
    except FileNotFoundError:
        raise InputFileError(f"{path}: file does not exist (resolved to {path.resolve()}); check the path") from None
    except OSError as error:
        raise InputFileError(f"{path}: cannot be opened ({error.strerror or error})") from None
    with file:
        file_size = file.seek(0, 2)
        file.seek(0)
        riff = file.read(12)
        if len(riff) < 12 or riff[8:12] != b"WAVE" or riff[:4] not in (b"RIFF", b"RF64"):
            raise InputFileError(f"{path}: not a RIFF/WAVE file; convert it to WAV")
        if riff[:4] == b"RF64":
            raise InputFileError(f"{path}: is an RF64 (> 4 GiB) WAV, which this reader does not support yet")
        fmt = None
        position = 12
        while position + 8 <= file_size:
            file.seek(position)
            chunk_id, chunk_size = struct.unpack("<4sI", file.read(8))
            body = position + 8
            if chunk_id == b"fmt ":
                if chunk_size > min(file_size - body, 1024):  # a fmt chunk is 16–40 bytes; never read a claim
                    break
                fmt = file.read(chunk_size)
                if len(fmt) < chunk_size:
                    break
            elif chunk_id == b"data":
                if fmt is None:
                    raise InputFileError(f"{path}: the data chunk comes before the fmt chunk; re-export the file")
                return _Chunks(fmt, body, chunk_size, file_size)
            position = body + chunk_size + (chunk_size & 1)
        what = "fmt" if fmt is None else "data"
        raise InputFileError(f"{path}: truncated or damaged WAV (no complete {what} chunk)")


def _length_mismatch(chunks: _Chunks) -> str:
    """``the header claims N frames but the file holds M`` for a short data chunk."""
    claimed = chunks.data_size // chunks.block_align
    held = max(chunks.file_size - chunks.data_offset, 0) // chunks.block_align
    return f"the header claims {claimed} sample frames but the file holds {held}"


def read_wav(path: str | Path) -> tuple[np.ndarray, int, WavInfo]:
    """Read a WAV file of 8/16/24/32-bit integer PCM or 32/64-bit float samples.

    Parameters
    ----------
    path : str or Path
        The WAV file.

    Returns
    -------
    audio : np.ndarray, shape (n_channels, n_frames), float64
        Samples scaled so that integer full scale is ±1 (``code / 2**(b-1)``).
    sample_rate : int
        In Hz.
    info : WavInfo
        The header, including the channel mask.

    Raises
    ------
    InputFileError
        As :func:`read_wav_header`, or for sample widths it does not decode.
    """
    info = read_wav_header(path)
    width = info.bits_per_sample // 8
    with open(path, "rb") as file:
        file.seek(info.data_offset)
        raw = file.read(info.n_frames * info.block_align)
    if info.subformat == "float":
        if width not in (4, 8):
            raise InputFileError(f"{path}: {info.bits_per_sample}-bit float samples are not supported")
        samples = np.frombuffer(raw, dtype=f"<f{width}").astype(np.float64)
    elif width == 1:
        samples = (np.frombuffer(raw, dtype=np.uint8).astype(np.float64) - 128.0) / 128.0  # 8-bit WAV is unsigned
    elif width in (2, 4):
        samples = np.frombuffer(raw, dtype=f"<i{width}") / float(2 ** (8 * width - 1))
    elif width == 3:
        triples = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        # Place the three bytes in the top of an int32 and shift back down, which sign-extends.
        codes = ((triples[:, 0] << 8) | (triples[:, 1] << 16) | (triples[:, 2] << 24)) >> 8
        samples = codes / float(2**23)
    else:
        raise InputFileError(f"{path}: {info.bits_per_sample}-bit PCM samples are not supported")
    audio = samples.reshape(info.n_frames, info.n_channels).T.copy()
    return audio, info.sample_rate, info


def _parse_bit_depth(bit_depth: int | str) -> tuple[int, str]:
    """(container bits, "pcm" | "float") for a ``bit_depth`` argument."""
    if isinstance(bit_depth, str) and bit_depth.lower() in ("float", "float32"):
        return 32, "float"
    if isinstance(bit_depth, str) and bit_depth.strip().isdigit():
        bit_depth = int(bit_depth)
    if isinstance(bit_depth, (int, np.integer)) and not isinstance(bit_depth, bool) and bit_depth in (16, 24, 32):
        return int(bit_depth), "pcm"
    raise ParameterError(f"bit_depth: {bit_depth!r} is not supported; use 16, 24, 32 or 'float'")


def _check_sample_rate(sample_rate: int) -> int:
    if (
        isinstance(sample_rate, bool)
        or not isinstance(sample_rate, (int, np.integer))
        or not (0 < sample_rate <= _UINT32_MAX)
    ):
        raise ParameterError(f"sample_rate: {sample_rate!r} must be a positive whole number of Hz")
    return int(sample_rate)


def _as_channels_first(audio: np.ndarray) -> np.ndarray:
    """Audio as a real (n_channels, n_frames) array."""
    audio = np.asarray(audio)
    if audio.dtype.kind != "f":
        # Integer arrays are ambiguous (which full scale?), complex ones meaningless here.
        raise ParameterError(
            f"audio: dtype {audio.dtype} cannot be written; pass floating-point samples with full scale ±1"
        )
    if audio.ndim == 1:
        audio = audio[None, :]
    if audio.ndim != 2 or audio.shape[0] == 0:
        raise ParameterError(f"audio: shape {audio.shape} must be (n_channels, n_samples) with at least one channel")
    # More than 64 channels and fewer frames than channels is almost surely (n_samples, n_channels).
    if audio.shape[0] > 64 and audio.shape[0] > audio.shape[1]:
        raise ParameterError(
            f"audio: shape {audio.shape} looks like (n_samples, n_channels); pass audio.T as (n_channels, n_samples)"
        )
    if audio.shape[0] > 0xFFFF:
        raise ParameterError(f"audio: {audio.shape[0]} channels exceed the 65535 a WAV file can hold")
    return audio


def _check_channel_mask(channel_mask: int | None, n_channels: int) -> int | None:
    if channel_mask is None:
        return None
    if (
        isinstance(channel_mask, bool)
        or not isinstance(channel_mask, (int, np.integer))
        or not (0 <= channel_mask <= _UINT32_MAX)
    ):
        raise ParameterError(f"channel_mask: {channel_mask!r} must be a 32-bit unsigned integer such as 0x60F")
    speakers = bin(int(channel_mask)).count("1")
    if speakers not in (0, n_channels):
        raise ParameterError(
            f"channel_mask: {int(channel_mask):#x} names {speakers} loudspeakers but the audio has {n_channels} "
            "channels; give a mask with one bit per channel (or 0)"
        )
    return int(channel_mask)


def _check_finite(audio: np.ndarray, path: str | Path) -> None:
    bad = ~np.isfinite(audio)
    if bad.any():
        channel, frame = np.argwhere(bad)[0]
        raise OutputError(
            f"{path}: the audio contains NaN or infinite samples (first at channel {channel}, sample {frame}); "
            "check the sources and gains"
        )


def _check_no_clipping(audio: np.ndarray, path: str | Path, bits: int) -> None:
    if audio.size == 0:
        return
    peak = float(np.max(np.abs(audio)))
    if peak > 1.0:
        raise OutputError(
            f"{path}: peak {20 * np.log10(peak):+.2f} dBFS would clip {bits}-bit PCM; use normalize / --normalize, "
            "lower the gains, or --bit-depth float"
        )


def _header(n_channels: int, n_frames: int, sample_rate: int, bits: int, subformat: str, mask: int | None) -> bytes:
    """RIFF header, fmt chunk and (for float) fact chunk — everything before the data chunk."""
    block_align = n_channels * bits // 8
    if mask is None:
        tag = WAVE_FORMAT_PCM if subformat == "pcm" else WAVE_FORMAT_IEEE_FLOAT
        fmt = struct.pack("<HHIIHH", tag, n_channels, sample_rate, sample_rate * block_align, block_align, bits)
    else:
        guid = KSDATAFORMAT_SUBTYPE_PCM if subformat == "pcm" else KSDATAFORMAT_SUBTYPE_IEEE_FLOAT
        fmt = struct.pack(
            "<HHIIHHHHI16s",
            WAVE_FORMAT_EXTENSIBLE,
            n_channels,
            sample_rate,
            sample_rate * block_align,
            block_align,
            bits,
            22,  # cbSize: the extension below is 22 bytes
            bits,  # wValidBitsPerSample: every bit of the container is used
            mask,
            guid.bytes_le,  # GUIDs are stored with their first three fields little-endian
        )
    chunks = b"fmt " + struct.pack("<I", len(fmt)) + fmt
    if subformat == "float":
        # Non-PCM data needs a fact chunk holding the number of samples per channel.
        chunks += b"fact" + struct.pack("<II", 4, min(n_frames, _UINT32_MAX))
    data_size = n_frames * block_align
    riff_size = 4 + len(chunks) + 8 + data_size + (data_size & 1)
    # Clamped only so that pack() works while write_wav measures an oversized file (and then refuses it).
    return b"RIFF" + struct.pack("<I", min(riff_size, _UINT32_MAX)) + b"WAVE" + chunks


def _encode(block: np.ndarray, bits: int, subformat: str) -> bytes:
    """Interleaved little-endian bytes of a (n_channels, n_frames) block."""
    frames = block.T  # (n_frames, n_channels): row-major order of this is the interleaved order
    if subformat == "float":
        return np.ascontiguousarray(frames, dtype="<f4").tobytes()
    top = 2 ** (bits - 1)
    # float64 keeps 32-bit codes exact; rint rounds half to even.
    codes = np.rint(np.asarray(frames, dtype=np.float64) * top)
    np.minimum(codes, top - 1, out=codes)  # +1.0 (and values within half a step of it) → top code
    if bits == 16:
        return np.ascontiguousarray(codes, dtype="<i2").tobytes()
    codes = np.ascontiguousarray(codes, dtype="<i4")
    if bits == 32:
        return codes.tobytes()
    # 24-bit: keep the low three bytes of each little-endian int32.
    return codes.view(np.uint8).reshape(-1, 4)[:, :3].tobytes()


def _parse_fmt(fmt: bytes, path: Path, *, data_offset: int, data_size: int) -> WavInfo:
    if len(fmt) < 16:
        raise InputFileError(f"{path}: the fmt chunk is only {len(fmt)} bytes; the file is damaged")
    tag, n_channels, sample_rate, _, block_align, bits = struct.unpack("<HHIIHH", fmt[:16])
    valid_bits, mask = bits, None
    if tag == WAVE_FORMAT_EXTENSIBLE:
        if len(fmt) < 40:
            raise InputFileError(f"{path}: extensible fmt chunk of {len(fmt)} bytes (40 expected); the file is damaged")
        valid_bits, mask, guid = struct.unpack("<HI16s", fmt[18:40])
        subtype = uuid.UUID(bytes_le=guid)
        if subtype == KSDATAFORMAT_SUBTYPE_PCM:
            subformat = "pcm"
        elif subtype == KSDATAFORMAT_SUBTYPE_IEEE_FLOAT:
            subformat = "float"
        else:
            raise InputFileError(f"{path}: sample subformat {subtype} is not PCM or float; convert it to PCM WAV")
    elif tag in (WAVE_FORMAT_PCM, WAVE_FORMAT_IEEE_FLOAT):
        subformat = "pcm" if tag == WAVE_FORMAT_PCM else "float"
    else:
        raise InputFileError(f"{path}: WAV format tag {tag:#06x} (compressed) is not supported; convert it to PCM WAV")
    if n_channels == 0 or sample_rate == 0 or bits % 8 or bits == 0 or block_align != n_channels * bits // 8:
        raise InputFileError(
            f"{path}: inconsistent fmt chunk ({n_channels} channels, {sample_rate} Hz, {bits} bits, "
            f"block align {block_align}); the file is damaged"
        )
    return WavInfo(
        format_tag=tag,
        n_channels=n_channels,
        sample_rate=sample_rate,
        bits_per_sample=bits,
        valid_bits=valid_bits,
        channel_mask=mask,
        subformat=subformat,
        n_frames=data_size // block_align,
        data_offset=data_offset,
    )
