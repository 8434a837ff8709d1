"""Writing the spatial soundtrack into an MP4 beside the clip's own pictures, copied untouched.

=========  ========================================================================================
format     audio stream
=========  ========================================================================================
binaural   AAC, 2 channels (stereo)
stereo     AAC, 2 channels
5.1 / 7.1  AAC with the 5.1 / 7.1 channel layout (FL FR FC LFE SL SR [BL BR])
foa        Opus with channel mapping family 2 (ambisonics, ACN/SN3D, every channel coded on its own —
           never as coupled stereo pairs), and the spatial-audio ``SA3D`` box that 360° players read
=========  ========================================================================================

The video stream is copied packet by packet (not re-encoded). The file is written under a temporary
name and renamed into place; the input is never opened for writing.

The ``SA3D`` box follows Google's spatial media specification (``spatial-audio-rfc.md``): inside the
audio sample entry, ``version 0, ambisonic_type 0 (periphonic), ambisonic_order, channel ordering 0
(ACN), normalization 0 (SN3D), num_channels, channel_map``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from soundstage.errors import OutputError, ParameterError

#: FFmpeg channel layouts of the loudspeaker formats, in Soundstage's channel order.
_LAYOUTS = {
    "binaural": "stereo",
    "stereo": "stereo",
    "ortf": "stereo",
    "ab": "stereo",
    "omni": "mono",
    "5.1": "5.1",
    "7.1": "7.1",
    "foa": "ambisonic 1",
}
#: Boxes that only contain other boxes, on the way from ``moov`` to the sample entries.
_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl"}
#: Bytes of an audio sample entry before its child boxes (ISO/IEC 14496-12 AudioSampleEntry).
_AUDIO_ENTRY_FIELDS = 28
#: Audio bit rate per channel, bits per second.
_BITRATE_PER_CHANNEL = 96_000


@dataclass(frozen=True)
class SpatialAudio:
    """The ``SA3D`` box's fields."""

    version: int
    ambisonic_type: int
    order: int
    channel_ordering: int
    normalization: int
    channel_map: tuple[int, ...]


def write_spatial_mp4(
    video: Path, output: Path, audio: np.ndarray, sample_rate: int, format_name: str, *, overwrite: bool = False
) -> Path:
    """Copy ``video``'s picture stream and add ``audio`` (C, n) in ``format_name``'s codec and layout.

    Raises
    ------
    ParameterError
        For a format that has no MP4 audio layout here (hoaN).
    OutputError
        For an output that exists (without ``overwrite``), is the input, or cannot be written.
    """
    import av

    from soundstage.io.atomic import atomic_write
    from soundstage.io.inputs import InputFile

    layout = mp4_layout(format_name)
    opus = format_name == "foa"
    rate = 48000 if opus else int(sample_rate)
    if rate != sample_rate:
        from soundstage.io.audio import resample

        audio = resample(audio, int(sample_rate), rate)
    audio = np.ascontiguousarray(audio, dtype=np.float32)
    with atomic_write(Path(output), overwrite=overwrite, inputs=(InputFile.of(video),)) as temporary:
        with av.open(str(video)) as source, av.open(str(temporary), "w", format="mp4") as target:
            picture = target.add_stream_from_template(source.streams.video[0])
            if opus:
                sound = target.add_stream("libopus", rate=rate, options={"mapping_family": "2"})
            else:
                sound = target.add_stream("aac", rate=rate)
            sound.layout = layout
            sound.bit_rate = _BITRATE_PER_CHANNEL * audio.shape[0]
            for packet in source.demux(source.streams.video[0]):
                if packet.dts is None:
                    continue
                packet.stream = picture
                target.mux(packet)
            frame_size = 960 if opus else 1024
            # The soundtrack starts with the first picture, which may be due later than 0 (camcorder files).
            video_stream = source.streams.video[0]
            first = video_stream.start_time * video_stream.time_base if video_stream.start_time is not None else 0
            offset = round(float(first) * rate)
            for start in range(0, audio.shape[1], frame_size):
                frame = _audio_frame(audio[:, start : start + frame_size], layout)
                frame.sample_rate = rate
                frame.pts = offset + start
                for packet in sound.encode(frame):
                    target.mux(packet)
            for packet in sound.encode(None):
                target.mux(packet)
        if opus:
            insert_sa3d(temporary, SpatialAudio(0, 0, 1, 0, 0, (0, 1, 2, 3)))
    return Path(output)


def mp4_layout(format_name: str) -> str:
    """The FFmpeg channel layout of a format's MP4 soundtrack, or an error naming the formats that have one."""
    layout = _LAYOUTS.get(str(format_name).lower())
    if layout is None:
        raise ParameterError(
            f"--format {format_name}: an MP4 soundtrack is binaural, stereo, 5.1, 7.1 or foa; render "
            "other formats to a WAV with soundstage render"
        )
    return layout


def _audio_frame(chunk: np.ndarray, layout: str):
    """A planar float frame of ``chunk`` (C, n), filled plane by plane.

    PyAV's ``from_ndarray`` fails for 8 channels (it counts a ninth plane), so the planes are written
    one by one.
    """
    import av

    frame = av.AudioFrame(format="fltp", layout=layout, samples=chunk.shape[1])
    for channel in range(chunk.shape[0]):
        frame.planes[channel].update(np.ascontiguousarray(chunk[channel], dtype=np.float32).tobytes())
    return frame


def sa3d_payload(spatial: SpatialAudio) -> bytes:
    """The ``SA3D`` box, header included."""
    body = struct.pack(
        ">BBIBBI",
        spatial.version,
        spatial.ambisonic_type,
        spatial.order,
        spatial.channel_ordering,
        spatial.normalization,
        len(spatial.channel_map),
    ) + b"".join(struct.pack(">I", c) for c in spatial.channel_map)
    return struct.pack(">I", 8 + len(body)) + b"SA3D" + body


def insert_sa3d(path: Path, spatial: SpatialAudio) -> None:
    """Add an ``SA3D`` box to the audio sample entry of an MP4, fixing the sizes and chunk offsets.

    Raises
    ------
    OutputError
        When the file has no audio sample entry to put it in.
    """
    data = bytearray(Path(path).read_bytes())
    box = sa3d_payload(spatial)
    chain = _audio_entry_chain(data)
    if chain is None:
        raise OutputError(f"{path}: no audio sample entry found for the spatial audio (SA3D) box")
    entry_start, entry_size = chain[-1]
    at = entry_start + entry_size
    moov_start = chain[0][0]
    data[at:at] = box
    for start, size in chain:
        struct.pack_into(">I", data, start, size + len(box))
    mdat = _find_top(data, b"mdat")
    if mdat is not None and mdat > moov_start:
        _shift_chunk_offsets(data, moov_start, len(box))
    Path(path).write_bytes(bytes(data))


def read_sa3d(path: str | Path) -> SpatialAudio | None:
    """The ``SA3D`` box of an MP4's audio sample entry, or None when it has none."""
    data = Path(path).read_bytes()
    chain = _audio_entry_chain(bytearray(data))
    if chain is None:
        return None
    start, size = chain[-1]
    for child, _child_size, kind in _children(data, start + 8 + _AUDIO_ENTRY_FIELDS, start + size):
        if kind == b"SA3D":
            version, kind_, order, ordering, normalization, count = struct.unpack_from(">BBIBBI", data, child + 8)
            channel_map = struct.unpack_from(f">{count}I", data, child + 8 + 12)
            return SpatialAudio(version, kind_, order, ordering, normalization, tuple(channel_map))
    return None


def _children(data: bytes | bytearray, start: int, end: int):
    """(offset, size, type) of each box between ``start`` and ``end``."""
    offset = start
    while offset + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, offset)
        if size == 1:
            size = struct.unpack_from(">Q", data, offset + 8)[0]
        elif size == 0:
            size = end - offset
        if size < 8:
            return
        yield offset, size, kind
        offset += size


def _find_top(data: bytearray, kind: bytes) -> int | None:
    for offset, _size, found in _children(data, 0, len(data)):
        if found == kind:
            return offset
    return None


def _audio_entry_chain(data: bytearray) -> list[tuple[int, int]] | None:
    """Offsets and sizes of moov, trak, mdia, minf, stbl, stsd and the audio sample entry, outermost first."""
    for moov, size, kind in _children(data, 0, len(data)):
        if kind != b"moov":
            continue
        for trak, trak_size, trak_kind in _children(data, moov + 8, moov + size):
            if trak_kind != b"trak" or not _is_sound(data, trak, trak_size):
                continue
            chain = [(moov, size), (trak, trak_size)]
            cursor, cursor_size = trak, trak_size
            for wanted in (b"mdia", b"minf", b"stbl", b"stsd"):
                inside = _children(data, cursor + 8, cursor + cursor_size)
                found = next(((o, s) for o, s, k in inside if k == wanted), None)
                if found is None:
                    return None
                chain.append(found)
                cursor, cursor_size = found
            # stsd is a full box (version, flags) with an entry count before its entries.
            entries = list(_children(data, cursor + 16, cursor + cursor_size))
            if not entries:
                return None
            chain.append(entries[0][:2])
            return chain
    return None


def _is_sound(data: bytearray, trak: int, size: int) -> bool:
    for mdia, mdia_size, kind in _children(data, trak + 8, trak + size):
        if kind == b"mdia":
            for hdlr, _s, hkind in _children(data, mdia + 8, mdia + mdia_size):
                if hkind == b"hdlr":
                    return bytes(data[hdlr + 16 : hdlr + 20]) == b"soun"
    return False


def _shift_chunk_offsets(data: bytearray, moov: int, shift: int) -> None:
    """Move every stco/co64 chunk offset by ``shift`` bytes (the media data moved that far)."""
    size = struct.unpack_from(">I", data, moov)[0]

    def walk(start: int, end: int) -> None:
        for offset, box_size, kind in _children(data, start, end):
            if kind in _CONTAINERS:
                walk(offset + 8, offset + box_size)
            elif kind in (b"stco", b"co64"):
                count = struct.unpack_from(">I", data, offset + 12)[0]
                wide = kind == b"co64"
                for i in range(count):
                    at = offset + 16 + i * (8 if wide else 4)
                    value = struct.unpack_from(">Q" if wide else ">I", data, at)[0]
                    struct.pack_into(">Q" if wide else ">I", data, at, value + shift)

    walk(moov + 8, moov + size)
