"""Where a stream goes: an audio device (PortAudio through ``sounddevice``), a file paced in real time, or a
benchmark that renders as fast as it can and reports the real-time factor per block.

Every block's render time is kept; a block that took longer than it lasts is an over-run, counted and
reported at the end (on a device PortAudio's own underflow flag is counted too) — never silently dropped.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from soundstage.errors import ParameterError, first_line
from soundstage.stream.streamer import BlockTimes, Streamer

#: Longest stream written to a file, in seconds (it is written block by block, paced in real time).
MAX_FILE_SECONDS = 3600.0


def stream_to_file(
    streamer: Streamer, path: str | Path, seconds: float, *, realtime: bool = True, overwrite: bool = False
) -> BlockTimes:
    """Render ``seconds`` of the stream into a WAV file (32-bit float, the format's channel mask), block by block.

    Each block goes to the file as it is made (a long stream holds one block in memory), and the file takes
    its name only at the end. With ``realtime`` each block is rendered no earlier than its time in the
    stream, as a device would ask for it, so that controls sent while it runs land where they would.
    """
    from soundstage.io.wav import open_wav_stream

    if not (np.isfinite(seconds) and 0 < seconds <= MAX_FILE_SECONDS):
        raise ParameterError(f"--seconds {seconds:g}: give a length above 0 and at most {MAX_FILE_SECONDS:g} s")
    total = round(seconds * streamer.rate)
    count = int(np.ceil(total / streamer.block))
    channels = streamer.encoder.n_channels
    with open_wav_stream(
        path, channels, streamer.rate, channel_mask=streamer.encoder.channel_mask, overwrite=overwrite
    ) as stream:
        started = time.perf_counter()
        for index in range(count):
            if realtime:
                wait = started + index * streamer.times.block_s - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
            block = streamer.next_block()
            stream.write(block[: total - index * streamer.block].T)
    return streamer.times


def stream_to_device(
    streamer: Streamer, device: str | int | None, seconds: float | None, *, input_device: str | int | None = None
) -> BlockTimes:
    """Play the stream on an output device until ``seconds`` have played, or Ctrl-C (which ends it normally).

    Live sources (``streamer.live``) are read from the input device's channels in the same callback, so
    they reach the output one block later. PortAudio's own under- and overflows are counted in
    ``streamer.underflows`` (apart from the blocks that took too long). An error while rendering stops the
    stream and is raised here, as one line.
    """
    try:
        import sounddevice
    except (ImportError, OSError) as error:
        raise ParameterError(
            f"audio output needs sounddevice and the PortAudio library ({error}); pip install "
            "'soundstage[realtime]' and apt-get install libportaudio2, or write a file with --to out.wav"
        ) from None
    failure: list[BaseException] = []

    def render(outdata, live) -> None:
        try:
            outdata[:] = streamer.next_block(live)
        except Exception as error:  # raised in PortAudio's thread: kept, and the stream stopped
            failure.append(error)
            outdata[:] = 0.0
            raise sounddevice.CallbackAbort from None

    def play(outdata, frames, moment, status) -> None:
        streamer.underflows += int(bool(status.output_underflow))
        render(outdata, None)

    def play_and_listen(indata, outdata, frames, moment, status) -> None:
        streamer.underflows += int(bool(status.output_underflow)) + int(bool(status.input_overflow))
        render(outdata, {index: indata[:, channel] for index, channel in streamer.live.items()})

    channels = streamer.encoder.n_channels
    common = {"samplerate": streamer.rate, "blocksize": streamer.block, "dtype": "float32"}
    try:
        if streamer.live:
            inputs = max(streamer.live.values()) + 1
            opened = sounddevice.Stream(
                channels=(inputs, channels), device=(input_device, device), callback=play_and_listen, **common
            )
        else:
            opened = sounddevice.OutputStream(channels=channels, device=device, callback=play, **common)
        with opened as stream:
            deadline = None if seconds is None else time.monotonic() + seconds
            try:
                while stream.active and (deadline is None or time.monotonic() < deadline):
                    time.sleep(0.05)
            except KeyboardInterrupt:
                pass  # Ctrl-C is how a live stream is stopped: the summary still follows
    except sounddevice.PortAudioError as error:
        raise ParameterError(
            f"audio device {device or '(default)'}: {error}; list devices with "
            "python -m sounddevice, or write a file with --to out.wav"
        ) from None
    if failure:
        raise ParameterError(
            f"the stream stopped: {first_line(failure[0])}"
        )
    return streamer.times


def benchmark(streamer: Streamer, seconds: float) -> dict:
    """Render ``seconds`` as fast as possible; the real-time factor per block and the worst block."""
    count = max(1, int(np.ceil(seconds * streamer.rate / streamer.block)))
    for _ in range(count):
        streamer.next_block()
    times = streamer.times
    return {
        "sources": len(streamer.signals),
        "block": streamer.block,
        "sample_rate": streamer.rate,
        "format": streamer.format,
        "engine": streamer.engine.name,
        "blocks": len(times.seconds),
        "real_time_factor": round(times.real_time_factor, 4),
        "worst_block_rtf": round(times.worst_block_rtf, 4),
        "overruns": times.overruns,
        "latency_ms": round(streamer.latency_ms, 2),
    }


def pin_to_one_core() -> int | None:
    """Run this process — every thread it has now and those it starts — on one core; returns the core.

    Threads started at import (a BLAS pool) keep their own affinity, so each is pinned too. None where the
    system has no affinity.
    """
    import os

    from soundstage.threads import THREADS_VARIABLE

    os.environ[THREADS_VARIABLE] = "1"
    one_blas_thread()
    if not hasattr(os, "sched_setaffinity"):
        return None
    core = min(os.sched_getaffinity(0))
    tasks = Path("/proc/self/task")
    for thread_id in [int(p.name) for p in tasks.iterdir()] if tasks.is_dir() else [0]:
        try:
            os.sched_setaffinity(thread_id, {core})
        except OSError:
            continue  # a thread that ended meanwhile
    return core


def one_blas_thread() -> None:
    """Let the BLAS library use one thread: a block's small products gain nothing from more, and its idle
    threads spin on the core the audio needs (three times slower on one pinned core)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")
