"""Many moving sources in the free field, rendered together: one set of array operations per block, not one per source.

:class:`BlockEngine` renders each source on its own, with every path's exact direction kernel from the
format's encoder: right for an offline render, but a stream of hundreds of sources spends its whole block
in per-source bookkeeping and in the head's series. :class:`SourceBank` renders the same scene (free field:
the direct sound of each source, any format whose channels are gains, or binaural) with every step done for
all sources at once:

1. **where** — each source's path is sampled once per block on a grid running well ahead
   (:class:`PathSamples`, refreshed for a source when its window runs out or it is moved live), so the
   exact emission time of the sound reaching the head at the block's end is solved for all sources together;
2. **delay** — with ``doppler`` the delay glides through the block (a windowed-sinc read of each source's
   line, as the block engine reads the direct sound); without, it is held at a whole sample (within 10 µs
   at 48 kHz, the same for both ears) and reset with a crossfade when it drifts by more than
   ``HELD_DELAY_TOLERANCE_S``, as the block engine does; a held read is a copy of a slice;
3. **gain** — the 1/r law ramped through the block;
4. **direction** — panning gains from the encoder, or, binaural, the head's minimum-phase spectra and ear
   delays from a :class:`~soundstage.acoustics.hrtf.head_table.HeadTable`, for the head's orientation at
   the block's end; a source's kernel is made again only when its direction has turned by more than
   ``KERNEL_ANGLE_DEG``. Each block crossfades from the previous kernels to the new ones (overlap-save
   in the frequency domain: one FFT per source, one sum over sources per ear, and a second sum only over
   the sources whose kernel changed).

Trajectories with jumps, rooms, a ground, air absorption and formats with spaced microphones are the block
engine's (:func:`~soundstage.acoustics.moving.scene_render.engine_for_scene` chooses).
"""

from __future__ import annotations

import math
import threading
import weakref

import numpy as np
import scipy.fft as sp_fft

from soundstage.acoustics.delay import HALF_WIDTH
from soundstage.acoustics.hrtf.head_table import KEPT_ENERGY, HeadTable
from soundstage.acoustics.moving.delay_line import DelayLines
from soundstage.acoustics.moving.engine import (
    _MAX_ITERATIONS,
    _RETARDATION_TOLERANCE_S,
    HELD_DELAY_TOLERANCE_S,
    MovingSource,
)
from soundstage.acoustics.moving.kernels import gains_only, panning_gains
from soundstage.acoustics.moving.partitioned import PartitionedConvolver
from soundstage.acoustics.moving.paths import ImagePaths, direct_path
from soundstage.acoustics.propagation import Air
from soundstage.errors import ParameterError

#: A source's kernel is made again when its direction has turned by more than this (degrees): half the
#: smallest angle listeners tell apart, and a sixth of the table's spacing, between which it interpolates.
KERNEL_ANGLE_DEG = 0.5
#: Blocks of each source's path sampled ahead of the block being rendered.
AHEAD_BLOCKS = 128
#: Samples before the earliest ear's onset in a binaural kernel: the ripple a fractional shift puts before an
#: onset decays there, so that what the FFT wraps around the kernel's ends stays 60 dB down.
_ONSET_MARGIN = 64
#: Samples after the longest filter's end.
_TAIL_MARGIN = 8

_TABLES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_TABLES_LOCK = threading.Lock()


def head_table(hrtf) -> HeadTable:
    """The :class:`HeadTable` of ``hrtf``, made on first use and kept while the head lives."""
    with _TABLES_LOCK:
        table = _TABLES.get(hrtf)
        if table is None:
            table = HeadTable(hrtf)
            _TABLES[hrtf] = table
        return table


def bank_can_render(encoder, air: Air, model, paths: list) -> bool:
    """True when :class:`SourceBank` renders this scene: no air absorption, no jumps, and the free field in a
    panned or binaural format, or a shoebox with a late tail, binaural."""
    from soundstage.acoustics.encoders.binaural import BinauralEncoder

    if air.attenuation_db_per_m is not None or any(len(path.jump_times) for path in paths):
        return False
    binaural = isinstance(encoder, BinauralEncoder)
    if model.name == "free_field":
        return binaural or gains_only(encoder)
    return model.name == "shoebox" and binaural and bool(model.room_spec.late_reverb)


def first_order_room(model, encoder, starts: list[np.ndarray], air: Air, rng: np.random.Generator):
    """A shoebox as the source bank hears it: the direct sound and six first-order images, then one diffuse tail.

    The tail joins ``FIRST_ORDER_MARGIN_S`` (5 ms) after the last first-order reflection of any source (from where it
    starts), at the level diffuse-field theory gives a room of this volume and decay then
    (:func:`~soundstage.acoustics.propagation.diffuse_energy_rate`): it stands in for the higher orders
    the offline render places one by one.

    Returns
    -------
    paths : ImagePaths
        Seven paths, the direct sound first.
    tail : np.ndarray, shape (C, N)
        The shared tail, tap 0 at emission.
    reach_m : float
        Longest a first-order path can be while source and listener stay in the room, metres.
    """
    from soundstage.acoustics.arrivals import OCTAVE_BANDS_HZ
    from soundstage.acoustics.moving.paths import shoebox_paths
    from soundstage.acoustics.propagation import FIRST_ORDER_MARGIN_S, diffuse_energy_rate
    from soundstage.acoustics.room.late_reverb import DiffuseDecay, diffuse_tail

    room, listener, c = model.room, model.listener, air.speed_of_sound
    diagonal = float(np.linalg.norm(room.size_m))
    paths = shoebox_paths(room, starts[0], listener, max_distance_m=4.0 * diagonal, max_order=1)
    paths = paths.subset(np.argsort(paths.order, kind="stable"))
    last = max(float(np.max(np.linalg.norm(paths.images(start) - listener, axis=1))) for start in starts)
    join = last / c + FIRST_ORDER_MARGIN_S
    rate = diffuse_energy_rate(room.volume_m3, join, model.rt60_s, c)
    tail = diffuse_tail(encoder, DiffuseDecay(join, model.rt60_s, rate, OCTAVE_BANDS_HZ), rng=rng)
    return paths, tail, 2.0 * diagonal


class PathSamples:
    """Each source's position on a shared grid of times (one point per ``step_s``), looked up for all at once.

    Row ``s`` holds grid points ``first[s]`` to ``first[s] + width - 1`` (grid point ``g`` is time
    ``g * step_s``). A row is sampled again, in one call to its path, when a lookup needs a point beyond it
    or when :meth:`invalidate` says its path changed; rows start staggered so that they are not all sampled
    in the same block.
    """

    def __init__(self, sources: list[MovingSource], step_s: float, behind: int, ahead: int) -> None:
        self.sources = sources  # their paths are read when sampled: a stream may wrap them after set-up
        self.step_s = float(step_s)
        self.behind = int(behind)
        self.width = int(behind) + int(ahead) + 2
        self.points = np.zeros((len(sources), self.width, 3))
        self.first = np.zeros(len(sources), dtype=np.int64)
        for row in range(len(sources)):
            # Row s's window first runs out s/S of the way through a window: refreshes spread over blocks.
            self._sample(row, -self.behind - (row * int(ahead)) // max(len(sources), 1))
        self._stale: set[int] = set()

    def invalidate(self, row: int) -> None:
        """Row ``row``'s path changed: sample it again before its next lookup."""
        self._stale.add(row)

    def _sample(self, row: int, first: int) -> None:
        times = (first + np.arange(self.width)) * self.step_s
        self.points[row] = self.sources[row].path.at(times)
        self.first[row] = first

    def refresh(self, earliest_s: float, latest_s: float) -> None:
        """Make sure every row covers ``earliest_s`` to ``latest_s`` with points as they are now."""
        lo = math.floor(earliest_s / self.step_s)
        hi = math.floor(latest_s / self.step_s) + 1
        rows = np.flatnonzero((self.first > lo) | (self.first + self.width - 1 < hi))
        for row in set(rows.tolist()) | self._stale:
            self._sample(row, lo)
        self._stale.clear()

    def at(self, times: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Row ``rows[k]``'s position at time ``times[k]``, shape (K, 3), linear between grid points."""
        u = times / self.step_s
        g = np.floor(u)
        fraction = (u - g)[:, None]
        index = np.clip(g.astype(np.int64) - self.first[rows], 0, self.width - 2)
        return self.points[rows, index] * (1.0 - fraction) + self.points[rows, index + 1] * fraction


class SourceBank:
    """Moving sources in the free field or a shoebox, all rendered together block by block (see the module's notes).

    Takes what :class:`~soundstage.acoustics.moving.engine.BlockEngine` takes and offers what it offers
    (``process``, ``position``, ``latency_samples``, ``sources``, ``listener``, ``head``), plus
    :meth:`path_changed` for sources moved while it plays.

    Parameters
    ----------
    encoder, sources, listener, head, air, block, max_delay_s
        As :class:`~soundstage.acoustics.moving.engine.BlockEngine` takes them.
    paths : ImagePaths or None
        The paths every source is heard by (the direct sound and a shoebox's first-order images, whose
        maps do not depend on where the source is); None for the direct sound alone.
    tail : np.ndarray or None, shape (C, N)
        One late tail that every source feeds (tap 0 = emission), or None.
    """

    name = "source bank"

    def __init__(
        self,
        encoder,
        sources: list[MovingSource],
        listener,
        head,
        air: Air,
        block: int,
        max_delay_s: float,
        *,
        paths: ImagePaths | None = None,
        tail: np.ndarray | None = None,
    ) -> None:
        self.encoder = encoder
        self.sources = sources
        self.listener = listener
        self.head = head
        self.air = air
        self.block = int(block)
        self.max_delay_s = float(max_delay_s)
        self.sample_rate = int(encoder.sample_rate)
        self.gain_paths = gains_only(encoder)
        paths = direct_path() if paths is None else paths
        n_sources, n_paths = len(sources), len(paths)
        # Row r is path r % P of source r // P.
        self.row_source = np.repeat(np.arange(n_sources), n_paths)
        self.row_matrix = np.tile(paths.matrices, (n_sources, 1, 1))
        self.row_offset = np.tile(paths.offsets, (n_sources, 1))
        reflected = np.any(paths.log_reflection != 0.0, axis=1)
        if self.gain_paths and reflected.any():
            raise ParameterError("the source bank renders reflections binaurally only; use the block engine")
        if self.gain_paths:
            self.table = None
            self.lead = 0
            self.kernel_taps = 1
            self.n_fft = 0
        else:
            self.table = head_table(encoder.hrtf)
            walls = _wall_filters(np.exp(paths.log_reflection), self.sample_rate)
            self.lead = math.ceil(max(0.0, -float(self.table.delays.min()))) + _ONSET_MARGIN
            self.kernel_taps = (
                self.lead
                + math.ceil(float(self.table.delays.max()))
                + self.table.filter_taps
                + walls.shape[1]
                - 1
                + _TAIL_MARGIN
            )
            self.n_fft = sp_fft.next_fast_len(self.block + self.kernel_taps - 1, real=True)
            self.wall_spectra = np.tile(np.fft.rfft(walls, self.n_fft, axis=-1).astype(np.complex64), (n_sources, 1))
        self.latency_samples = self.lead + HALF_WIDTH
        self.tail = None
        if tail is not None:
            delayed = np.zeros((tail.shape[0], tail.shape[1] + self.latency_samples))
            delayed[:, self.latency_samples :] = tail
            self.tail = PartitionedConvolver(delayed, self.block)
        capacity = math.ceil(self.max_delay_s * self.sample_rate) + self.latency_samples + 2 * self.block + 64
        self.lines = DelayLines(n_sources, capacity, spill=self.block + 2 * HALF_WIDTH)
        step = self.block / self.sample_rate
        behind = math.ceil(self.max_delay_s / step) + 2
        self.positions = PathSamples(sources, step, behind, AHEAD_BLOCKS)
        self.doppler = np.array([source.doppler for source in sources], dtype=bool)[self.row_source]
        self.position = 0
        self._start()  # now, not in the first block: a stream's first block must be on time too

    # -- live control -----------------------------------------------------------------------------

    def path_changed(self, index: int) -> None:
        """Source ``index``'s path was changed (moved live): its samples are taken again."""
        self.positions.invalidate(index)

    # -- geometry ---------------------------------------------------------------------------------

    def _time(self, sample: int) -> float:
        return (sample - self.latency_samples) / self.sample_rate

    def _arrivals(self, time: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Each row's delay (R,) in seconds of the sound reaching the head at ``time``, distance (R,) and head-frame
        direction (R, 3)."""
        c = self.air.speed_of_sound
        self.positions.refresh(time - self.max_delay_s - self.positions.step_s, time)
        listener = self.listener.at(np.array([time]))[0]
        emitted = time - self._delay
        for _ in range(_MAX_ITERATIONS):  # each step gains a factor v / c: two or three suffice
            source = self.positions.at(emitted, self.row_source)
            offset = np.einsum("rij,rj->ri", self.row_matrix, source) + self.row_offset - listener
            distance = np.linalg.norm(offset, axis=1)
            previous, emitted = emitted, time - distance / c
            if np.max(np.abs(emitted - previous), initial=0.0) < _RETARDATION_TOLERANCE_S:
                break
        rotation = self.head.rotations(np.array([time]))[0]
        directions = (offset / distance[:, None]) @ rotation  # world → head frame
        return distance / c, distance, directions

    def _kernels(self, directions: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        if self.gain_paths:
            return panning_gains(self.encoder, directions).astype(np.float32)
        spectra = self.table.kernel_spectra(directions, self.n_fft, self.lead)
        walls = self.wall_spectra if rows is None else self.wall_spectra[rows]
        spectra *= walls[:, None, :]
        return spectra

    def _start(self) -> None:
        n = len(self.row_source)
        self._delay = np.zeros(n)
        # Twice: the first solve starts from no delay, the second from the first's.
        for _ in range(2):
            self._delay, self._distance, self._directions = self._arrivals(self._time(self.position))
        self._held = np.round(self._delay * self.sample_rate).astype(np.int64)
        self._kernel = self._kernels(self._directions)
        self._made_for = self._directions.copy()
        self._history = np.zeros((n, self.kernel_taps - 1), dtype=np.float32)

    # -- one block --------------------------------------------------------------------------------

    def process(self, inputs) -> np.ndarray:
        """The next output block (C, B) for the next block of every source's signal ((S, B) or one array each)."""
        x = np.asarray(inputs, dtype=np.float32)
        if x.shape != (len(self.sources), self.block):
            raise ParameterError(
                f"give one input block of {self.block} samples per source ({len(self.sources)}), got shape {x.shape}"
            )
        self.lines.write(x)
        block = self.block
        delay_a, distance_a = self._delay, self._distance
        delay_b, distance_b, directions = self._arrivals(self._time(self.position + block))
        ramp = np.arange(block, dtype=np.float32) / block  # sample n of the block is n / B of the way
        gain_a = (1.0 / distance_a).astype(np.float32)
        gain_b = (1.0 / distance_b).astype(np.float32)
        signal = self._read(delay_a, delay_b, ramp)
        if not self.gain_paths:
            signal *= gain_a[:, None] + (gain_b - gain_a)[:, None] * ramp
        turned = np.einsum("kd,kd->k", directions, self._made_for) < np.cos(np.radians(KERNEL_ANGLE_DEG))
        out = self._mix(signal, directions, turned, gain_a, gain_b)
        self._made_for[turned] = directions[turned]
        self._delay, self._distance = delay_b, distance_b
        if self.tail is not None:
            out += self.tail.process(x.sum(axis=0, dtype=np.float64))
        self.position += block
        return out

    def _read(self, delay_a: np.ndarray, delay_b: np.ndarray, ramp: np.ndarray) -> np.ndarray:
        """Each row's signal as it reaches the head during this block, before its gain (R, B)."""
        block, rate = self.block, self.sample_rate
        base = self.position - self.latency_samples + self.lead  # read position at zero delay
        signal = np.empty((len(self.row_source), block), dtype=np.float32)
        gliding = np.flatnonzero(self.doppler)
        if len(gliding):
            delay = delay_a[gliding, None] + (delay_b - delay_a)[gliding, None] * ramp
            positions = base + np.arange(block) - delay * rate
            signal[gliding] = self.lines.read(self.row_source[gliding], positions)
        held = np.flatnonzero(~self.doppler)
        if len(held):
            signal[held] = self.lines.read_blocks(self.row_source[held], base - self._held[held], block)
            target = np.round(delay_b[held] * rate).astype(np.int64)
            reset = np.abs(target - self._held[held]) > HELD_DELAY_TOLERANCE_S * rate
            if reset.any():
                rows = held[reset]
                after = self.lines.read_blocks(self.row_source[rows], base - target[reset], block)
                w = (np.arange(block, dtype=np.float32) + 1.0) / block
                signal[rows] = (1.0 - w) * signal[rows] + w * after
                self._held[rows] = target[reset]
        return signal

    def _mix(
        self, signal: np.ndarray, directions: np.ndarray, turned: np.ndarray, gain_a: np.ndarray, gain_b: np.ndarray
    ) -> np.ndarray:
        """Every row through its direction kernels, crossfaded from the previous ones to the new, summed (C, B).

        Binaural signals come with their 1/r gain applied; panned ones get it here, folded into the channel
        gains, which glide linearly from the block's start to its end (gain × panning, one ramp).
        """
        block = self.block
        w = (np.arange(block, dtype=np.float32) + 1.0) / block
        if self.gain_paths:
            start = self._kernel * gain_a[:, None]
            end = self._kernels(directions) * gain_b[:, None]
            out = start.T @ signal + (end - start).T @ (signal * w)
            self._kernel = end / gain_b[:, None]
            return out.astype(np.float64)
        window = np.concatenate([self._history, signal], axis=1)
        self._history = window[:, block:]
        spectrum = sp_fft.rfft(window, self.n_fft, axis=-1)  # (R, F)
        before = np.einsum("sf,scf->cf", spectrum, self._kernel)
        after = before.copy()
        rows = np.flatnonzero(turned)
        if len(rows):
            fresh = self._kernels(directions[rows], rows)
            after += np.einsum("sf,scf->cf", spectrum[rows], fresh - self._kernel[rows])
            self._kernel[rows] = fresh
        y = sp_fft.irfft(np.stack([before, after]), self.n_fft, axis=-1)
        valid = slice(window.shape[1] - block, window.shape[1])
        return ((1.0 - w) * y[0, :, valid] + w * y[1, :, valid]).astype(np.float64)


def _wall_filters(band_gains: np.ndarray, sample_rate: int) -> np.ndarray:
    """Minimum-phase filters (P, N) with each path's reflection gain per octave band (a unit impulse when flat)."""
    from soundstage.acoustics.arrivals import OCTAVE_BANDS_HZ
    from soundstage.acoustics.encoders.band_filter import band_filters
    from soundstage.acoustics.hrtf.minimum_phase import minimum_phase

    flat = np.all(band_gains == 1.0, axis=1)
    if flat.all():
        return np.ones((len(band_gains), 1))
    filters = minimum_phase(band_filters(band_gains, OCTAVE_BANDS_HZ, sample_rate))
    energy = np.cumsum(filters**2, axis=-1)
    taps = int(np.max(np.argmax(energy >= KEPT_ENERGY * energy[:, -1:], axis=-1))) + 1
    filters = filters[:, :taps]
    filters[flat] = 0.0
    filters[flat, 0] = 1.0
    return filters
