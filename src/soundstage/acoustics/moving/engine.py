"""The block engine: moving sources and a turning head, rendered one block at a time.

Each source keeps its recent signal in a :class:`DelayLine`. Every block, for every path of every
source (the direct sound, a ground bounce, a shoebox's image sources):

1. **delay** — the exact propagation delay on a grid of times (every ``DOPPLER_STRIDE`` samples),
   solving for the moment of emission (``t − t_e = |image(t_e) − listener(t)| / c``, :mod:`.retarded_time`), then
   interpolated to every sample; reading the signal at that gliding delay *is* the Doppler shift.
   Without ``doppler`` each path's delay is held, and only when it has drifted more than
   ``HELD_DELAY_TOLERANCE_S`` from the true one does a block crossfade from the read at the held delay
   to the read at the true one: the pitch never moves, the timing stays within the tolerance;
2. **gain** — the 1/r law (and frequency-flat reflection losses) ramped sample by sample;
3. **direction** — the format's own encoder gives each path a *direction kernel* (panning gains, an
   HRIR pair, a microphone pair's response, with the band filter of walls and air) for the head's
   orientation at the end of each update interval; the output crossfades from the kernel of the
   interval's start to that of its end, which interpolates the filter sample by sample. In the free
   field and over a ground the kernels update every block; in rooms every path's (the direct sound's
   too) every ``REFLECTION_UPDATE_BLOCKS`` blocks, when the set of reflections is refreshed;
4. **fades** — paths that appear or disappear as the source moves (images entering or leaving the
   mixing time) fade in or out over an update interval; at a jump in a trajectory (a cut) the old
   paths fade out and the new ones in over ``JUMP_FADE_S``, each at its own place: nothing glides
   between the two.

A room's late tail does not follow the source: it is one fixed response per source (from where the
source starts), convolved block by block (:class:`PartitionedConvolver`). The engine's output is
``latency_samples`` late (the look-ahead of the interpolators and the encoders' linear-phase filters);
the offline render removes that, a stream states it.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import scipy.fft as sp_fft

from soundstage.acoustics.moving.delay_line import INTERPOLATOR_HALF_WIDTH, DelayLine
from soundstage.acoustics.moving.kernels import (
    KernelShape,
    direction_kernels,
    gains_only,
    kernel_shape,
    panning_gains,
)
from soundstage.acoustics.moving.partitioned import PartitionedConvolver
from soundstage.acoustics.moving.paths import ImagePaths
from soundstage.acoustics.moving.retarded_time import solve_emission
from soundstage.acoustics.propagation import Air
from soundstage.errors import ParameterError
from soundstage.scene.motion import HeadTurn, PointPath

#: Samples between exact delay evaluations (linear in between: the Doppler error is far below 0.01 %).
DOPPLER_STRIDE = 32
#: Paths up to this reflection order are read with the windowed sinc (as the still renderer places every
#: arrival); later reflections, many and heard only as the room, with cubic Lagrange interpolation
#: (8× cheaper; −0.5 dB at a quarter of the sample rate, where the walls have taken most of their energy).
SINC_ORDER = 1
#: A path keeps its direction kernel until its direction has turned by more than this (degrees, below the
#: smallest change listeners hear, about 1°) or its distance has changed by more than this ratio.
KERNEL_ANGLE_DEG = 0.25
KERNEL_DISTANCE_RATIO = 1.01
#: Blocks between updates of a room's reflections (their set, directions and band filters).
REFLECTION_UPDATE_BLOCKS = 2
#: How far a held delay (sources without Doppler) may drift from the true one before it is reset, s.
HELD_DELAY_TOLERANCE_S = 0.010
#: Length of the crossfade at a jump in a trajectory, in seconds.
JUMP_FADE_S = 0.002


@dataclass
class MovingSource:
    """What the engine needs of one source.

    Attributes
    ----------
    label : str
        Names the source in errors (``sources[0] 'car'``).
    path : PointPath
        Where it is over time, world metres.
    paths_of : callable
        Its specular paths when it stands at a position and the listener at another:
        ``paths_of(source_xyz, listener_xyz) -> ImagePaths``.
    doppler : bool
        Let the delay glide within blocks (pitch follows radial speed).
    update_blocks : int
        Blocks between updates of its reflections (1 without a room).
    tail : np.ndarray or None, shape (C, N)
        Its late tail (tap 0 = emission), or None.
    """

    label: str
    path: PointPath
    paths_of: Callable[[np.ndarray, np.ndarray], ImagePaths]
    doppler: bool
    update_blocks: int = 1
    tail: np.ndarray | None = None


@dataclass
class _PathState:
    """The live paths of a source, stacked in one order."""

    keys: list
    paths: ImagePaths
    generation: np.ndarray  # (K,) which segment of the trajectory each path belongs to
    envelope: np.ndarray  # (K, 4): start sample, end sample, value at start, value at end
    kernels_a: np.ndarray  # (K, C, F) spectra, or (K, C) gains, at the interval start
    kernels_b: np.ndarray
    flat_gain: np.ndarray  # (K,) frequency-flat loss folded into the gain (gain paths)
    history: np.ndarray  # (K, L - 1) last inputs of each path's filter
    last_delay: np.ndarray  # (K,) seconds, the latest delay (starts the next solve)
    held_delay: np.ndarray  # (K,) seconds, the delay a path without Doppler is read at
    made_for: np.ndarray  # (K, 4) the direction and distance each path's latest kernel was made for


class SourceRenderer:
    """One source through the engine: its delay line, live paths, kernels and tail."""

    def __init__(self, engine: BlockEngine, source: MovingSource, capacity: int) -> None:
        self.engine = engine
        self.source = source
        self.line = DelayLine(capacity)
        self.tail = None
        if source.tail is not None:
            delayed = np.zeros((source.tail.shape[0], source.tail.shape[1] + engine.latency_samples))
            delayed[:, engine.latency_samples :] = source.tail
            self.tail = PartitionedConvolver(delayed, engine.block)
        jumps = source.path.jump_times
        self.segment_bounds = np.concatenate([[-np.inf], jumps, [np.inf]])
        self.state: _PathState | None = None
        self.interval = (0, 0)  # engine samples of the current kernel interval [a, b)

    # -- geometry ---------------------------------------------------------------------------------

    def _source_at(self, times: np.ndarray, generation: np.ndarray) -> np.ndarray:
        """Source positions at emission ``times`` (K, G), each path kept within its own segment."""
        if len(self.segment_bounds) == 2:  # no jumps: the path's own clipping is enough
            return self.source.path.at(times.ravel()).reshape((*times.shape, 3))
        lo = self.segment_bounds[generation][:, None]
        hi = self.segment_bounds[generation + 1][:, None]
        clipped = np.clip(times, lo, np.nextafter(hi, -np.inf))
        return self.source.path.at(clipped.ravel()).reshape((*times.shape, 3))

    def delays(self, state: _PathState, times: np.ndarray, listener: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Exact delays (K, G) in seconds at reception ``times`` (G,), and the images (K, G, 3)."""
        c = self.engine.air.speed_of_sound

        def offset_at(emitted: np.ndarray) -> np.ndarray:
            return state.paths.images(self._source_at(emitted, state.generation)) - listener[None, :, :]

        offset = solve_emission(times[None, :], state.last_delay[:, None], offset_at, c)
        return np.linalg.norm(offset, axis=-1) / c, offset + listener[None, :, :]

    # -- kernels ----------------------------------------------------------------------------------

    def kernels(self, state: _PathState, time: float, *, reuse: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Direction kernels of every live path for reception at ``time``, and delays then (K,).

        With ``reuse``, paths whose direction moved less than ``KERNEL_ANGLE_DEG`` and whose distance changed
        less than ``KERNEL_DISTANCE_RATIO`` since their kernel was made keep it (``state.kernels_b``).
        """
        engine = self.engine
        listener = engine.listener.at(np.array([time]))
        rotation = engine.head.rotations(np.array([time]))[0]
        delay, images = self.delays(state, np.array([time]), listener)
        offset = images[:, 0, :] - listener[0]
        distance = np.linalg.norm(offset, axis=1)
        directions = (offset / distance[:, None]) @ rotation  # world → head frame
        made = np.concatenate([directions, distance[:, None]], axis=1)
        if engine.gain_paths:
            state.made_for = made
            return panning_gains(engine.encoder, directions), delay[:, 0]
        if not len(distance):  # no path reaches the listener now (a far source in a room, an occluded one)
            state.made_for = made
            return np.zeros((0, engine.encoder.n_channels, engine.n_fft // 2 + 1), dtype=complex), delay[:, 0]
        fresh = np.ones(len(distance), dtype=bool)
        if reuse and len(state.made_for) == len(distance):
            turned = np.einsum("kd,kd->k", directions, state.made_for[:, :3]) < np.cos(np.radians(KERNEL_ANGLE_DEG))
            moved = np.abs(np.log(distance / state.made_for[:, 3])) > np.log(KERNEL_DISTANCE_RATIO)
            fresh = turned | moved
        kernels = state.kernels_b.copy() if not fresh.all() else None
        if fresh.any():
            bands = np.exp(state.paths.log_reflection[fresh])
            if engine.air.attenuation_db_per_m is not None:
                bands = bands * 10.0 ** (-np.outer(distance[fresh], engine.air.attenuation_db_per_m) / 20.0)
            banded = bands if engine.banded else None
            spatial = direction_kernels(engine.encoder, engine.shape, directions[fresh], distance[fresh], banded)
            spectra = sp_fft.rfft(spatial, engine.n_fft, axis=-1)
            if kernels is None:
                kernels = spectra
            else:
                kernels[fresh] = spectra
            same = len(state.made_for) == len(made)
            state.made_for = np.where(fresh[:, None], made, state.made_for) if same else made
        return kernels, delay[:, 0]

    def _new_state(self, paths: ImagePaths, generation: int, time: float, fade: tuple[int, int]) -> _PathState:
        engine = self.engine
        k = len(paths)
        keys = [(generation, key) for key in paths.keys]
        flat = np.exp(paths.log_reflection[:, 0]) if engine.gain_paths else np.ones(k)
        listener = engine.listener.at(np.array([time]))[0]
        first = paths.images(self.source.path.at(max(time, 0.0)))
        state = _PathState(
            keys,
            paths,
            np.full(k, generation),
            np.tile([fade[0], fade[1], 0.0, 1.0], (k, 1)) if fade[1] > fade[0] else np.tile([0, 1, 1.0, 1.0], (k, 1)),
            np.empty(0),
            np.empty(0),
            flat,
            np.zeros((k, engine.shape.length - 1)),
            np.linalg.norm(first - listener, axis=1) / engine.air.speed_of_sound,
            np.zeros(k),
            np.empty((0, 4)),
        )
        state.kernels_b, state.last_delay = self.kernels(state, time)
        state.held_delay = state.last_delay.copy()
        state.kernels_a = state.kernels_b.copy()
        return state

    # -- one block --------------------------------------------------------------------------------

    def process(self, x: np.ndarray, start: int) -> np.ndarray:
        """Write the input block (scene samples ``start``…) and return this source's output block (C, B)."""
        engine = self.engine
        block = len(x)
        self.line.write(x)
        out = np.zeros((engine.encoder.n_channels, block))
        if self.tail is not None:
            out += self.tail.process(x)
        rate = engine.sample_rate
        t_start = (start - engine.latency_samples) / rate
        t_end = (start + block - engine.latency_samples) / rate
        if self.state is None:
            generation = int(np.searchsorted(self.source.path.jump_times, t_start, side="right"))
            self.state = self._new_state(self._paths_at(t_start, generation), generation, t_start, (0, 0))
            self.interval = (start, start)
        self._jump(t_start, t_end, start, block)
        if start >= self.interval[1]:
            self._update(start, block)
        self._render_paths(start, block, out)
        return out

    def _paths_at(self, time: float, generation: int) -> ImagePaths:
        bounds = self.segment_bounds
        t = float(np.clip(time, bounds[generation], np.nextafter(bounds[generation + 1], -np.inf)))
        return self.source.paths_of(self.source.path.at(t), self.engine.listener.at(np.array([time]))[0])

    def _update(self, start: int, block: int) -> None:
        """A new kernel interval: refresh the path set (rooms) and every path's kernel for its end."""
        engine, state = self.engine, self.state
        length = block * self.source.update_blocks
        end = start + length
        t_end = (end - engine.latency_samples) / engine.sample_rate
        # Paths that faded out are gone; what was the interval's end is now its start.
        alive = ~((state.envelope[:, 3] == 0.0) & (state.envelope[:, 1] <= start))
        state = self._keep(state, alive)
        state.kernels_a = state.kernels_b
        if self.source.update_blocks > 1:  # even with no live path: one may come within reach again
            state = self._refresh(state, start, end, t_end)
        if len(state.keys):
            state.kernels_b, _ = self.kernels(state, t_end, reuse=True)
            fading = state.envelope[:, 3] == 0.0
            state.kernels_b[fading] = state.kernels_a[fading]  # a path on its way out keeps its last kernel
        self.state = state
        self.interval = (start, end)

    def _refresh(self, state: _PathState, start: int, end: int, t_end: float) -> _PathState:
        """Fade out paths that left the set, fade in paths that joined it."""
        current = int(state.generation.max()) if len(state.generation) else 0
        fresh = self._paths_at(t_end, current)
        live_keys = {key for key, g in zip(state.keys, state.generation, strict=True) if g == current}
        fresh_keys = {(current, key) for key in fresh.keys}
        leaving = np.array([(key in live_keys) and (key not in fresh_keys) for key in state.keys], dtype=bool)
        state.envelope[leaving] = [start, end, 1.0, 0.0]
        joining = [i for i, key in enumerate(fresh.keys) if (current, key) not in live_keys]
        if not joining:
            return state
        added = self._new_state(fresh.subset(np.array(joining)), current, t_end, (start, end))
        return self._join(state, added)

    def _jump(self, t_start: float, t_end: float, start: int, block: int) -> None:
        """At a jump within this block, fade the old paths out and the new ones in where they are."""
        jumps = self.source.path.jump_times
        crossed = jumps[(jumps > t_start) & (jumps <= t_end)]
        for jump in crossed:
            engine, state = self.engine, self.state
            at = start + round((jump - t_start) * engine.sample_rate)
            fade = max(1, round(JUMP_FADE_S * engine.sample_rate))
            generation = int(np.searchsorted(jumps, jump, side="right"))
            old = state.generation < generation
            state.envelope[old] = [at, at + fade, 1.0, 0.0]
            state.kernels_b[old] = state.kernels_a[old]
            added = self._new_state(self._paths_at(jump, generation), generation, max(t_end, jump), (at, at + fade))
            added.kernels_a = added.kernels_b.copy()
            self.state = self._join(state, added)

    @staticmethod
    def _keep(state: _PathState, keep: np.ndarray) -> _PathState:
        if keep.all():
            return state
        parts = {}
        for item in dataclasses.fields(state):
            value = getattr(state, item.name)
            if item.name == "keys":
                parts["keys"] = [k for k, flag in zip(value, keep, strict=True) if flag]
            elif item.name == "paths":
                parts["paths"] = value.subset(keep)
            else:
                parts[item.name] = value[keep]
        return _PathState(**parts)

    @staticmethod
    def _join(state: _PathState, added: _PathState) -> _PathState:
        parts = {}
        for item in dataclasses.fields(state):
            mine, theirs = getattr(state, item.name), getattr(added, item.name)
            if item.name == "keys":
                parts["keys"] = mine + theirs
            elif item.name == "paths":
                parts["paths"] = ImagePaths.concatenate([mine, theirs])
            else:
                parts[item.name] = np.concatenate([mine, theirs])
        return _PathState(**parts)

    def _render_paths(self, start: int, block: int, out: np.ndarray) -> None:
        engine, state = self.engine, self.state
        if not len(state.keys):
            return
        rate = engine.sample_rate
        samples = start + np.arange(block)
        grid = _delay_grid(block)
        t_grid = (start + grid - engine.latency_samples) / rate
        listener = engine.listener.at(t_grid)
        delay_grid, _ = self.delays(state, t_grid, listener)
        state.last_delay = delay_grid[:, -1]
        c = engine.air.speed_of_sound
        gain = _interpolate(grid, 1.0 / np.maximum(delay_grid * c, 1e-9), block)
        gain *= state.flat_gain[:, None] * _envelope(state.envelope, samples)
        lead = 0 if engine.gain_paths else engine.shape.lead
        base = samples - engine.latency_samples + lead  # read position at zero delay
        interpolator = np.where(state.paths.order <= SINC_ORDER, "sinc", "cubic")
        signal = np.empty((len(state.keys), block))
        for kind in ("sinc", "cubic"):
            rows = np.flatnonzero(interpolator == kind)
            if not len(rows):
                continue
            if self.source.doppler:
                delay = _interpolate(grid, delay_grid[rows], block) * rate
                signal[rows] = self.line.read(base[None, :] - delay, kind)
            else:
                held = state.held_delay[rows]
                signal[rows] = self.line.read(base[None, :] - held[:, None] * rate, kind)
                target = delay_grid[rows, -1]
                reset = np.abs(target - held) > HELD_DELAY_TOLERANCE_S
                if reset.any():
                    w = (np.arange(block) + 1.0) / block
                    after = self.line.read(base[None, :] - target[reset, None] * rate, kind)
                    signal[rows[reset]] = (1.0 - w) * signal[rows[reset]] + w * after
                    state.held_delay[rows[reset]] = target[reset]
        signal *= gain
        a, b = self.interval
        w = np.clip((samples + 1.0 - a) / max(b - a, 1), 0.0, 1.0)
        if engine.gain_paths:
            mixed = np.einsum("kb,kc->cb", signal, state.kernels_a) * (1.0 - w)
            mixed += np.einsum("kb,kc->cb", signal, state.kernels_b) * w
            out += mixed
            return
        window = np.concatenate([state.history, signal], axis=1)
        state.history = window[:, block:]
        spectrum = sp_fft.rfft(window, engine.n_fft, axis=-1)  # (K, F)
        y_a = sp_fft.irfft(np.einsum("kf,kcf->cf", spectrum, state.kernels_a), engine.n_fft, axis=-1)
        y_b = sp_fft.irfft(np.einsum("kf,kcf->cf", spectrum, state.kernels_b), engine.n_fft, axis=-1)
        valid = slice(window.shape[1] - block, window.shape[1])
        out += (1.0 - w) * y_a[:, valid] + w * y_b[:, valid]


def _interpolate(grid: np.ndarray, values: np.ndarray, block: int) -> np.ndarray:
    """Values (K, G) on sample offsets ``grid`` (``_delay_grid(block)``) interpolated linearly to 0…block−1."""
    segment, frac = _grid_weights(block)
    return values[:, segment] * (1.0 - frac) + values[:, segment + 1] * frac


@functools.cache
def _delay_grid(block: int) -> np.ndarray:
    """Sample offsets within a block where delays are solved exactly: every DOPPLER_STRIDE, and the block's end."""
    return np.unique(np.concatenate([np.arange(0, block, DOPPLER_STRIDE), [block]]))


@functools.cache
def _grid_weights(block: int) -> tuple[np.ndarray, np.ndarray]:
    """For each sample of a block, the grid interval it falls in and how far along it."""
    grid, offsets = _delay_grid(block), np.arange(block)
    segment = np.clip(np.searchsorted(grid, offsets, side="right") - 1, 0, len(grid) - 2)
    return segment, (offsets - grid[segment]) / (grid[segment + 1] - grid[segment])


def _envelope(envelope: np.ndarray, samples: np.ndarray) -> np.ndarray:
    """Each path's fade (K, 4: start, end, value at start, value at end) at ``samples``, shape (K, B)."""
    start, end, v0, v1 = (envelope[:, i : i + 1] for i in range(4))
    ramp = np.clip((samples[None, :] + 1.0 - start) / np.maximum(end - start, 1.0), 0.0, 1.0)
    return v0 + (v1 - v0) * ramp


@dataclass
class BlockEngine:
    """Renders moving sources for a turning, moving listener, one block at a time.

    Parameters
    ----------
    encoder : Encoder
        The output format.
    sources : list of MovingSource
    listener : PointPath
        The head's position over time.
    head : HeadTurn
        The head's orientation over time.
    air : Air
    block : int
        Samples per block.
    max_delay_s : float
        Longest propagation delay any path may have (sizes the delay lines).
    banded : bool
        Some path's gain depends on frequency (reflections, air absorption): every path then goes
        through a direction kernel with its band filter.
    """

    encoder: object
    sources: list[MovingSource]
    listener: PointPath
    head: HeadTurn
    air: Air
    block: int
    max_delay_s: float
    banded: bool
    renderers: list[SourceRenderer] = field(init=False)
    name = "block engine"

    def __post_init__(self) -> None:
        self.sample_rate = int(self.encoder.sample_rate)
        self.gain_paths = gains_only(self.encoder) and not self.banded
        self.shape: KernelShape = KernelShape(0, 1) if self.gain_paths else kernel_shape(self.encoder, self.banded)
        self.latency_samples = self.shape.lead + INTERPOLATOR_HALF_WIDTH["sinc"]
        self.n_fft = sp_fft.next_fast_len(self.block + self.shape.length - 1, real=True)
        capacity = math.ceil(self.max_delay_s * self.sample_rate) + self.latency_samples + 2 * self.block + 64
        self.renderers = [SourceRenderer(self, source, capacity) for source in self.sources]
        self.position = 0

    def path_changed(self, index: int) -> None:
        """Source ``index``'s path was changed while playing: nothing to do, every block asks the paths afresh."""

    def process(self, inputs: list[np.ndarray]) -> np.ndarray:
        """The next output block (C, B) for the next block of every source's signal (one array each)."""
        if len(inputs) != len(self.renderers):
            raise ParameterError(f"give one input block per source ({len(self.renderers)}), got {len(inputs)}")
        out = np.zeros((self.encoder.n_channels, self.block))
        for renderer, x in zip(self.renderers, inputs, strict=True):
            out += renderer.process(np.asarray(x, dtype=np.float64), self.position)
        self.position += self.block
        return out
