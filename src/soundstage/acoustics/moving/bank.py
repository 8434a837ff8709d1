"""Many moving sources rendered together: one set of array operations per block, not one per source.

:class:`BlockEngine` renders each source on its own, with every path's exact direction kernel from the
format's encoder: right for an offline render, but a stream of hundreds of sources spends its whole block
in per-source bookkeeping and in the head's series. :class:`SourceBank` renders the free field (any format
whose channels are gains, or binaural) and a shoebox heard binaurally (the direct sound, the six first-order
reflections and one tail all sources feed) with every step done for all paths of all sources at once:

1. **where** — each source's path is sampled on a grid running well ahead (once per block, or
   ``DOPPLER_POINTS`` times with Doppler; :class:`PathSamples`, refreshed for a source when its window runs
   out or it is moved live), so the exact emission time of the sound reaching the head is solved for all
   paths together;
2. **delay** — with ``doppler`` the delay glides through the block, solved exactly ``DOPPLER_POINTS`` times a
   block and read with the windowed sinc, as the block engine reads the direct sound; without, it is held at
   a whole sample (within 10 µs at 48 kHz, the same for both ears) and reset with a crossfade when it
   drifts by more than ``HELD_DELAY_TOLERANCE_S``, as the block engine does; a held read is a slice copy;
3. **gain** — the 1/r law ramped through the block;
4. **direction** — panning gains from the encoder, or, binaural, the head's minimum-phase spectra and ear
   delays from a :class:`~soundstage.acoustics.hrtf.head_table.HeadTable` (times a reflection's wall filter,
   made minimum-phase), for the head's orientation at the block's end; a path's kernel is made again only
   when its direction has turned by more than ``KERNEL_ANGLE_DEG``. Each block crossfades from the previous
   kernels to the new ones (overlap-save in the frequency domain: one FFT per path, one sum over paths per
   ear, and a second sum only over the paths whose kernel changed).

Trajectories with jumps, mesh rooms, a ground, air absorption, formats with spaced microphones, rooms in other
formats and rooms with an image order or mixing time of their own are the block engine's
(:func:`bank_can_render`; :func:`~soundstage.acoustics.moving.scene_render.engine_for_scene` chooses).
"""

from __future__ import annotations

import math

import numpy as np
import scipy.fft as sp_fft

from soundstage.acoustics.delay import HALF_WIDTH
from soundstage.acoustics.hrtf.head_table import head_table
from soundstage.acoustics.moving.delay_line import DelayLines
from soundstage.acoustics.moving.engine import HELD_DELAY_TOLERANCE_S, MovingSource
from soundstage.acoustics.moving.kernels import gains_only, panning_gains
from soundstage.acoustics.moving.partitioned import PartitionedConvolver
from soundstage.acoustics.moving.paths import ImagePaths, direct_path
from soundstage.acoustics.moving.retarded_time import solve_emission
from soundstage.acoustics.propagation import Air
from soundstage.errors import ParameterError

#: A source's kernel is made again when its direction has turned by more than this (degrees): half the
#: smallest angle listeners tell apart, and a sixth of the table's spacing, between which it interpolates.
KERNEL_ANGLE_DEG = 0.5
#: Times a block at which gliding (Doppler) delays are solved exactly (linear between: a pitch that moves
#: within the block, not in steps from block to block).
DOPPLER_POINTS = 8
#: Sources whose offline tail sets the level of a shoebox's shared tail.
_LEVEL_SOURCES = 8
#: Blocks of each source's path sampled ahead of the block being rendered.
AHEAD_BLOCKS = 256
#: Samples before the earliest ear's onset in a binaural kernel: the ripple a fractional shift puts before an
#: onset decays there, so that what the FFT wraps around the kernel's ends stays 60 dB down.
_ONSET_MARGIN = 64
#: Samples after the longest filter's end.
_TAIL_MARGIN = 8

def bank_can_render(encoder, air: Air, model, paths: list) -> bool:
    """True when :class:`SourceBank` renders this scene: no air absorption, no jumps, and the free field in a
    panned or binaural format, or a shoebox with a late tail, binaural."""
    from soundstage.acoustics.encoders.binaural import BinauralEncoder

    if air.attenuation_db_per_m is not None or any(len(path.jump_times) for path in paths):
        return False
    # A head the scene asks to be heard at its measured directions only ("nearest") is not interpolated.
    binaural = isinstance(encoder, BinauralEncoder) and getattr(encoder.hrtf, "interpolation", "") != "nearest"
    if model.name == "free_field":
        return binaural or gains_only(encoder)
    spec = getattr(model, "room_spec", None)
    # A room asked for an image order or a mixing time of its own gets them, from the block engine.
    return (
        model.name == "shoebox"
        and binaural
        and bool(spec.late_reverb)
        and spec.max_order is None
        and spec.mixing_time is None
    )


def first_order_room(
    model, encoder, starts: list[np.ndarray], listener: np.ndarray, air: Air, rng: np.random.Generator
):
    """A shoebox as the source bank hears it: the direct sound and six first-order images, then one diffuse tail.

    The tail joins at the earliest second-order reflection of any source (from where it starts: up to
    ``_LEVEL_SOURCES`` of them), at the level of the offline render's own tail (the energy its image sources
    bring, as :meth:`~soundstage.acoustics.propagation.ShoeboxModel.propagate` finds it) carried back to the
    join along the room's decay: it stands in for the second and higher orders the offline render places one
    by one.

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
    from soundstage.acoustics.room.late_reverb import ENERGY_DECAY_60DB, DiffuseDecay, diffuse_tail

    room, c = model.room, air.speed_of_sound
    diagonal = float(np.linalg.norm(room.size_m))
    paths = shoebox_paths(room, starts[0], listener, max_distance_m=4.0 * diagonal, max_order=1)
    paths = paths.subset(np.argsort(paths.order, kind="stable"))
    # Higher orders begin with the earliest second-order reflection: there the tail takes over from them.
    join, decays = math.inf, []
    for start in starts[:_LEVEL_SOURCES]:
        second = shoebox_paths(room, start, listener, max_distance_m=4.0 * diagonal, max_order=2)
        distances = np.linalg.norm(second.images(start) - listener, axis=1)[second.order == 2]
        join = min(join, float(distances.min()) / c)
        decays.append(model.propagate(np.asarray(start, dtype=float), "source").decay)
    # The tail's energy rate at its mixing time, carried back to the join along the decay.
    rates = [d.energy_rate * np.exp(ENERGY_DECAY_60DB * (d.mixing_time_s - join) / d.rt60_s) for d in decays]
    rate = np.mean(rates, axis=0)
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
            # Row s's first window is cut short by s/S of a window: their refreshes spread over the blocks.
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
        self._images = bool(np.any(paths.matrices != np.eye(3)) or np.any(paths.offsets != 0.0))
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
        self.doppler = np.array([source.doppler for source in sources], dtype=bool)[self.row_source]
        # Gliding delays are solved DOPPLER_POINTS times a block, on paths sampled as finely.
        points = DOPPLER_POINTS if self.doppler.any() else 1
        step = self.block / self.sample_rate / points
        behind = math.ceil(self.max_delay_s / step) + 2
        self.positions = PathSamples(sources, step, behind, AHEAD_BLOCKS * points)
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
        self.positions.refresh(time - self.max_delay_s - self.positions.step_s, time)
        rows = np.arange(len(self.row_source))
        # The delay a block on, extrapolated from the last two: the solve then starts within v²/c of it.
        guess = 2.0 * self._delay - self._delay_before
        offset = self._offsets(np.full(len(rows), time), rows, guess, self.listener.at(np.array([time])))
        distance = np.sqrt(np.einsum("rd,rd->r", offset, offset))
        rotation = self.head.rotations(np.array([time]))[0]
        directions = (offset / distance[:, None]) @ rotation  # world → head frame
        return distance / self.air.speed_of_sound, distance, directions

    def _offsets(self, times: np.ndarray, rows: np.ndarray, guess: np.ndarray, listener: np.ndarray) -> np.ndarray:
        """From the listener (at each reception time, (N, 3) or (1, 3)) to row ``rows[k]``'s image at the moment it
        emitted the sound heard at ``times[k]``, shape (N, 3); ``guess`` (N,) starts the delay's solve (seconds)."""
        matrices, offsets = self.row_matrix[rows], self.row_offset[rows]

        def offset_at(emitted: np.ndarray) -> np.ndarray:
            offset = self.positions.at(emitted, self.row_source[rows])
            if self._images:
                offset = np.einsum("rij,rj->ri", matrices, offset) + offsets
            return offset - listener

        return solve_emission(times, guess, offset_at, self.air.speed_of_sound)

    def _gliding_delays(self, rows: np.ndarray, delay_a: np.ndarray, delay_b: np.ndarray) -> np.ndarray:
        """Delays (G, B) in samples of the gliding ``rows`` at every sample of this block: solved exactly at
        DOPPLER_POINTS times (the block's ends and between), linear in between."""
        block, points = self.block, DOPPLER_POINTS
        knots = np.linspace(0.0, block, points + 1)
        inner = (self.position + knots[1:-1] - self.latency_samples) / self.sample_rate  # (P - 1,)
        times = np.repeat(inner, len(rows))
        tiled = np.tile(rows, points - 1)
        listener = np.repeat(self.listener.at(inner), len(rows), axis=0)
        offset = self._offsets(times, tiled, np.tile(delay_a[rows], points - 1), listener)
        middle = np.sqrt(np.einsum("rd,rd->r", offset, offset)).reshape(points - 1, len(rows)).T
        delays = np.concatenate([delay_a[rows, None], middle / self.air.speed_of_sound, delay_b[rows, None]], axis=1)
        n = np.arange(block)
        segment = np.minimum((n * points) // block, points - 1)
        fraction = (n - knots[segment]) / (knots[segment + 1] - knots[segment])
        return (delays[:, segment] * (1.0 - fraction) + delays[:, segment + 1] * fraction) * self.sample_rate

    def _kernels(self, directions: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        if self.gain_paths:
            return panning_gains(self.encoder, directions).astype(np.float32)
        spectra = self.table.kernel_spectra(directions, self.n_fft, self.lead)
        walls = self.wall_spectra if rows is None else self.wall_spectra[rows]
        spectra *= walls[:, None, :]
        return spectra

    def _start(self) -> None:
        n = len(self.row_source)
        self._delay = self._delay_before = np.zeros(n)
        # Twice: the first solve starts from no delay, the second from the first's.
        for _ in range(2):
            self._delay, self._distance, self._directions = self._arrivals(self._time(self.position))
            self._delay_before = self._delay
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
        signal = self._read(delay_a, delay_b)
        if not self.gain_paths:
            signal *= gain_a[:, None] + (gain_b - gain_a)[:, None] * ramp
        turned = np.einsum("kd,kd->k", directions, self._made_for) < np.cos(np.radians(KERNEL_ANGLE_DEG))
        out = self._mix(signal, directions, turned, gain_a, gain_b)
        self._made_for[turned] = directions[turned]
        self._delay_before = self._delay
        self._delay, self._distance = delay_b, distance_b
        if self.tail is not None:
            out += self.tail.process(x.sum(axis=0, dtype=np.float64))
        self.position += block
        return out

    def _read(self, delay_a: np.ndarray, delay_b: np.ndarray) -> np.ndarray:
        """Each row's signal as it reaches the head during this block, before its gain (R, B)."""
        block, rate = self.block, self.sample_rate
        base = self.position - self.latency_samples + self.lead  # read position at zero delay
        gliding = np.flatnonzero(self.doppler)
        held = np.flatnonzero(~self.doppler)
        if not len(gliding):  # the usual case: one gather, no copy into place
            signal = self.lines.read_blocks(self.row_source, base - self._held, block)
        else:
            signal = np.empty((len(self.row_source), block), dtype=np.float32)
            positions = base + np.arange(block) - self._gliding_delays(gliding, delay_a, delay_b)
            signal[gliding] = self.lines.read(self.row_source[gliding], positions)
            signal[held] = self.lines.read_blocks(self.row_source[held], base - self._held[held], block)
        if len(held):
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
            gains = self._kernel.copy()
            rows = np.flatnonzero(turned)
            if len(rows):
                gains[rows] = self._kernels(directions[rows])
            start = self._kernel * gain_a[:, None]
            end = gains * gain_b[:, None]
            # Σ_s (start + w (end − start))[s] signal[s]: w depends on the sample only, so one product gives both.
            both = np.concatenate([start, end - start], axis=1).T @ signal
            channels = start.shape[1]
            self._kernel = gains
            return (both[:channels] + both[channels:] * w).astype(np.float64)
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
    from soundstage.acoustics.hrtf.minimum_phase import energy_taps, minimum_phase

    flat = np.all(band_gains == 1.0, axis=1)
    if flat.all():
        return np.ones((len(band_gains), 1))
    filters = minimum_phase(band_filters(band_gains, OCTAVE_BANDS_HZ, sample_rate))
    filters = filters[:, : energy_taps(filters)]
    filters[flat] = 0.0
    filters[flat, 0] = 1.0
    return filters
