"""The real-time renderer: the moving-sources block engine, fed block by block, steered while it plays.

:class:`Streamer` holds a block engine set up for a scene, each source's signal (looped), and live
controls: :meth:`Streamer.move_source` and :meth:`Streamer.turn_head` may be called from any thread (the
OSC server's); they are queued and applied at the start of the next block, so a block never sees a
half-made change. :meth:`Streamer.next_block` renders one block and times it. The output lags the input by
``latency_samples`` (the engine's filters) plus whatever the audio device buffers: one block.
"""

from __future__ import annotations

import math
import queue
import time
from dataclasses import dataclass, field

import numpy as np

from soundstage.conventions import spherical_to_cartesian
from soundstage.errors import ParameterError
from soundstage.stream.live import LiveHeadTurn, LivePath

#: Farthest a live source may be sent from the listener, in metres (sizes the delay lines).
REACH_M = 50.0
#: Closest, in metres (the engine refuses paths through the head).
NEAREST_M = 0.3


@dataclass
class BlockTimes:
    """How long each block took to render, in seconds, and how many missed their deadline."""

    block_s: float
    seconds: list[float] = field(default_factory=list)
    overruns: int = 0

    def add(self, seconds: float) -> None:
        self.seconds.append(seconds)
        if seconds > self.block_s:
            self.overruns += 1

    @property
    def real_time_factor(self) -> float:
        """Mean render time per block over the block's duration (below 1: faster than real time)."""
        return float(np.mean(self.seconds)) / self.block_s if self.seconds else math.nan

    @property
    def worst_block_rtf(self) -> float:
        return float(np.max(self.seconds)) / self.block_s if self.seconds else math.nan


class Streamer:
    """A scene rendered block by block, with sources that can be moved and a head that can be turned live.

    Parameters
    ----------
    scene : Scene
    block : int
        Samples per block.
    format, sample_rate, hrtf
        As :func:`soundstage.render` takes them.
    clones : int
        Replace the scene's sources by this many copies of them on random trajectories (a load test).
    seed : int
        Seed of those trajectories.
    live : dict or None
        Sources fed from the audio input instead of their files: source name (or number) → input channel
        (from 0); see :meth:`next_block`.
    via : str or None
        Render binaural through this ambisonic format (``foa``, ``hoaN``) and one decode to the two ears:
        each source costs a set of gains instead of a pair of filters.
    exact : bool
        Render with the offline render's block engine (each source on its own, each path's exact filter,
        delays to a fraction of a sample) instead of the source bank, which renders hundreds of sources in
        real time (see :mod:`soundstage.acoustics.moving.bank`); scenes the bank cannot render (mesh rooms, a
        ground, air absorption, jumps, spaced microphones, a shoebox in a format other than binaural) always
        get the block engine.
    """

    def __init__(
        self,
        scene,
        *,
        block: int = 512,
        format=None,
        sample_rate=None,
        hrtf=None,
        clones: int = 0,
        seed: int = 0,
        live: dict[str, int] | None = None,
        via: str | None = None,
        exact: bool = False,
    ) -> None:
        from soundstage.acoustics.moving.scene_render import engine_for_scene
        from soundstage.acoustics.render import prepare_render

        if not (isinstance(block, int) and 16 <= block <= 16384):
            raise ParameterError(f"--block {block}: give a block of 16 to 16384 samples (e.g. 512)")
        if via is not None:
            _check_via(via, format)
        job = prepare_render(scene, format=format if via is None else via, sample_rate=sample_rate, hrtf=hrtf)
        self.decoder, self.decoder_latency = None, 0
        self.format = job.format_name
        if via is not None:
            self.decoder, self.decoder_latency = _binaural_decoder(job, format, via, hrtf, block)
            self.format = f"binaural via {job.format_name}"
        scene = job.scene if clones == 0 else cloned_scene(job.scene, clones, seed)
        self.scene = scene
        self.rate = job.sample_rate
        self.encoder = job.encoder
        c = scene.propagation.speed_of_sound
        self.engine = engine_for_scene(
            scene, job.encoder, job.model, block=block, min_max_delay_s=REACH_M / c, bank=not exact
        )
        for source in self.engine.sources:
            source.path = LivePath(source.path, speed_limit=0.5 * c)
        self.engine.head = LiveHeadTurn(self.engine.head)
        self.live = {self.source_index_in(scene, name): channel for name, channel in (live or {}).items()}
        # A live source's file is not read: its samples come from the audio input, block by block. Sources
        # playing the same sound share one copy (a load test's clones, a crowd from one recording).
        loaded: dict[tuple, np.ndarray] = {}
        self.signals = [
            None if index in self.live else _shared_signal(scene, index, self.rate, loaded)
            for index in range(len(scene.sources))
        ]
        self.starts = [round(source.start * self.rate) for source in scene.sources]
        # Sources that play the same samples at the same time are read once per block.
        groups: dict[tuple[int, int], list[int]] = {}
        for index, (signal, start) in enumerate(zip(self.signals, self.starts, strict=True)):
            if signal is not None:
                groups.setdefault((id(signal), start), []).append(index)
        self._groups = [(self.signals[rows[0]], start, np.array(rows)) for (_, start), rows in groups.items()]
        self.block = block
        self.times = BlockTimes(block / self.rate)
        self.underflows = 0  # PortAudio's own count of blocks it had to play late (device output)
        self._updates: queue.SimpleQueue = queue.SimpleQueue()

    # -- controls (any thread) ---------------------------------------------------------------------

    @property
    def latency_samples(self) -> int:
        """Samples from a sample's entry to its exit, besides the device's buffering."""
        return self.engine.latency_samples + self.decoder_latency

    @property
    def latency_ms(self) -> float:
        """Milliseconds from a sample's entry to its exit: one block and the engine's (and decoder's) filters."""
        return 1000.0 * (self.block + self.latency_samples) / self.rate

    @staticmethod
    def source_index_in(scene, name: str) -> int:
        """A source of ``scene`` by name or number, or a one-line error naming those there are."""
        names = {source.name: index for index, source in enumerate(scene.sources) if source.name}
        if name in names:
            return names[name]
        if str(name).isdigit() and int(name) < len(scene.sources):
            return int(name)
        raise ParameterError(f"source {name!r}: no such source; the scene has {', '.join(names) or 'unnamed ones'}")

    def source_index(self, name: str) -> int:
        """A source by name (or by its number from 0), or a one-line error naming those there are."""
        return self.source_index_in(self.scene, name)

    def move_source(self, index: int, xyz: np.ndarray) -> None:
        """Send source ``index`` to ``xyz`` (world metres), from the next block on."""
        self._updates.put(("source", index, np.asarray(xyz, dtype=float).reshape(3)))

    def move_source_around(self, index: int, az_deg: float, el_deg: float, dist_m: float) -> None:
        """Send source ``index`` to azimuth/elevation/distance from the listener (world axes)."""
        listener = self.engine.listener.at(np.array([self.time]))[0]
        self.move_source(index, listener + spherical_to_cartesian(az_deg, el_deg, dist_m))

    def turn_head(self, matrix: np.ndarray) -> None:
        """Turn the head to the head-to-world rotation ``matrix``, from the next block on."""
        self._updates.put(("head", np.asarray(matrix, dtype=float).reshape(3, 3)))

    # -- rendering (the audio thread) -----------------------------------------------------------------

    @property
    def time(self) -> float:
        """Seconds rendered so far."""
        return self.engine.position / self.rate

    def next_block(self, live: dict[int, np.ndarray] | None = None) -> np.ndarray:
        """The next block, shape (block, channels) float32; its render time is recorded.

        ``live`` gives this block's samples (shape (block,)) of the live sources by index (silence for a
        live source left out); the other sources play their files, looped.
        """
        started = time.perf_counter()
        self._apply_updates()
        lo = self.engine.position
        inputs = np.zeros((len(self.signals), self.block), dtype=np.float32)
        for signal, start, rows in self._groups:
            inputs[rows] = _looped(signal, start, lo, self.block)
        for index, samples in (live or {}).items():
            if index in self.live:
                samples = np.asarray(samples, dtype=np.float32).reshape(-1)[: self.block]
                inputs[index, : len(samples)] = samples
        out = self.engine.process(inputs)
        if self.decoder is not None:
            out = self.decoder.process(out)
        self.times.add(time.perf_counter() - started)
        return np.ascontiguousarray(out.T, dtype=np.float32)

    def _apply_updates(self) -> None:
        now = self.time
        listener = self.engine.listener.at(np.array([now]))[0]
        while True:
            try:
                update = self._updates.get_nowait()
            except queue.Empty:
                return
            if update[0] == "head":
                self.engine.head.turn_to(now, update[1])
            else:
                _, index, xyz = update
                self.engine.sources[index].path.move_to(now, self._allowed(xyz, listener), listener)
                self.engine.path_changed(index)

    def _allowed(self, xyz: np.ndarray, listener: np.ndarray) -> np.ndarray:
        """``xyz`` kept between :data:`NEAREST_M` and :data:`REACH_M` of the listener, and inside a shoebox."""
        if not np.all(np.isfinite(xyz)):
            return listener + np.array([1.0, 0.0, 0.0])
        offset = xyz - listener
        distance = float(np.linalg.norm(offset))
        if distance < NEAREST_M:
            offset = offset / distance * NEAREST_M if distance > 0 else np.array([NEAREST_M, 0.0, 0.0])
        elif distance > REACH_M:
            offset = offset / distance * REACH_M
        xyz = listener + offset
        room = self.scene.room
        if room is not None and room.kind == "shoebox":
            xyz = np.clip(xyz, 0.05, np.asarray(room.shoebox.size) - 0.05)
        elif room is not None and room.kind == "ground":
            xyz[2] = max(xyz[2], 0.05)
        return xyz


def _check_via(via: str, format: str | None) -> None:
    """Refuse a ``via`` that is not ambisonic, or a ``format`` other than binaural beside it."""
    from soundstage.acoustics.encoders import parse_format

    if parse_format(via)[0] != "ambisonics":
        raise ParameterError(f"--via {via}: give an ambisonic format to render through (foa or hoaN, e.g. hoa3)")
    if format is not None and format.lower() != "binaural":
        raise ParameterError(
            f"--via {via} renders through ambisonics and decodes to the two ears: use it with --format binaural, "
            f"not {format}"
        )


def _binaural_decoder(job, format: str | None, via: str, hrtf, block: int):
    """The block convolver that decodes ``via`` (an ambisonic format) to binaural with the scene's head."""
    from soundstage.acoustics.encoders import parse_format
    from soundstage.acoustics.encoders.ambisonic_decoder import ambisonic_binaural_filters
    from soundstage.acoustics.moving.partitioned import MatrixConvolver
    from soundstage.acoustics.render import load_scene_hrtf

    order = parse_format(via)[1]
    if format is None and job.scene.output.format.lower() != "binaural":
        raise ParameterError(
            f"--via {via} renders through ambisonics and decodes to the two ears, but the scene asks for "
            f"{job.scene.output.format}: add --format binaural"
        )
    head = load_scene_hrtf(job.scene, job.sample_rate, hrtf)
    filters = ambisonic_binaural_filters(order, head)  # for AmbiX channels
    if job.scene.output.ambisonic_convention == "fuma":  # the encoder writes FuMa: decode what it writes
        from soundstage.acoustics.encoders.spherical_harmonics import fuma_to_ambix

        filters = np.einsum("ojn,ji->oin", filters, fuma_to_ambix(np.eye(4)))
    return MatrixConvolver(filters, block), round(head.latency_s * job.sample_rate)


def _shared_signal(scene, index: int, rate: int, loaded: dict) -> np.ndarray:
    """Source ``index``'s signal, the same array as an earlier source's that plays the same file at the same gain."""
    from soundstage.acoustics.render import source_signal

    source = scene.sources[index]
    if isinstance(source.audio, np.ndarray):
        return source_signal(scene, index, rate)
    key = (str(scene.resolve_audio_path(index)), source.downmix, source.gain_db)
    if key not in loaded:
        loaded[key] = source_signal(scene, index, rate)
    return loaded[key]


def _looped(signal: np.ndarray, start: int, lo: int, block: int) -> np.ndarray:
    """Samples ``lo``…``lo + block`` of a signal that starts at sample ``start`` and then repeats."""
    first = lo - start
    if first >= 0 and len(signal) and first % len(signal) + block <= len(signal):  # most blocks: one slice
        offset = first % len(signal)
        return signal[offset : offset + block]
    n = np.arange(lo, lo + block) - start
    out = np.zeros(block, dtype=np.float64)
    playing = n >= 0
    if len(signal):
        out[playing] = signal[n[playing] % len(signal)]
    return out


def cloned_scene(scene, count: int, seed: int):
    """``count`` copies of the scene's sources, each circling the listener on its own random arc (a load test).

    Each clone keeps a radius (1–3 m in a shoebox, 1–6 m elsewhere) and an elevation, and turns by 20–80° every
    2.5 s: a chord of such an arc stays at least 0.7 of the radius from the head.
    """
    from soundstage.scene import Scene

    if count < 1:
        raise ParameterError(f"--sources {count}: give at least 1")
    rng = np.random.default_rng(seed)
    position = scene.listener.position
    centre = np.array([position.x, position.y, position.z])
    box = np.asarray(scene.room.shoebox.size) if scene.room is not None and scene.room.kind == "shoebox" else None
    data = scene.model_dump(exclude={"base_dir"})
    originals = data["sources"]
    sources = []
    for index in range(count):
        source = dict(originals[index % len(originals)])
        source.pop("position", None)
        radius = rng.uniform(1.0, 3.0 if box is not None else 6.0)
        elevation = rng.uniform(-0.3, 0.5)
        azimuth = rng.uniform(-np.pi, np.pi)
        turn = rng.choice([-1.0, 1.0])
        keyframes = []
        for k in range(5):
            point = centre + spherical_to_cartesian(np.degrees(azimuth), np.degrees(elevation), radius)
            if box is not None:
                point = np.clip(point, 0.2, box - 0.2)
            keyframes.append({"t": 2.5 * k, "position": [float(v) for v in point]})
            azimuth += turn * np.radians(rng.uniform(20.0, 80.0))
        source.update(name=f"{source.get('name') or 'source'}_{index}", trajectory={"keyframes": keyframes})
        sources.append(source)
    data["sources"] = sources
    return Scene.model_validate({**data, "base_dir": scene.base_dir})
