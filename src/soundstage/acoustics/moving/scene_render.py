"""A whole moving scene through the block engine: sources, paths per room kind, checks, the offline loop.

The offline render feeds each source's signal to :class:`BlockEngine` a block at a time, exactly as a
real-time stream would, and removes the engine's latency from the result.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from soundstage.acoustics.moving.bank import SourceBank, bank_can_render
from soundstage.acoustics.moving.engine import BlockEngine, MovingSource
from soundstage.acoustics.moving.paths import direct_path, ground_paths, mesh_paths, shoebox_paths
from soundstage.errors import ParameterError
from soundstage.scene.motion import PointPath, head_turn, listener_path, source_path

if TYPE_CHECKING:
    from soundstage.acoustics.encoders.base import Encoder
    from soundstage.acoustics.propagation import PropagationModel
    from soundstage.scene.model import Scene

#: Samples per block of the offline render (a real-time stream chooses its own).
OFFLINE_BLOCK = 1024
#: Time step at which trajectories are checked for speed and for passing through the head, seconds.
_CHECK_STEP_S = 0.001


def engine_for_scene(
    scene: Scene,
    encoder: Encoder,
    model: PropagationModel,
    *,
    block: int,
    min_max_delay_s: float = 0.0,
    bank: bool = False,
) -> BlockEngine | SourceBank:
    """A block engine set up for ``scene``: every source's paths, tail and checks.

    ``min_max_delay_s`` sizes the delay lines for at least that delay (a live stream whose sources may be
    moved further away than the scene puts them). With ``bank``, a scene the :class:`SourceBank` can render
    (:func:`~soundstage.acoustics.moving.bank.bank_can_render`: the free field panned or binaural, a shoebox
    binaural) gets one: all sources together, kernels from a table of the head, a shoebox's first-order
    reflections and one shared tail (a real-time stream's choice); otherwise the :class:`BlockEngine` (each
    path's kernel exact).

    Raises
    ------
    ParameterError
        For a room kind moving sources cannot use yet, a trajectory faster than sound or through the
        listener's head.
    """
    from soundstage.acoustics.propagation import Air

    listener = listener_path(scene)
    air = Air.of(scene)
    c = air.speed_of_sound
    checked = []
    for index, source in enumerate(scene.sources):
        label = scene.source_label(index)
        path = source_path(scene, index, listener)
        field = f"{label}.trajectory" if source.trajectory is not None else f"{label}.position"
        distance = _check_path(path, listener, scene, field, c)
        if model.name == "mesh":
            _check_inside_mesh(model, path, listener, field)
        checked.append((label, path, distance))
    longest = max((distance for _, _, distance in checked), default=0.0) / c
    if bank and bank_can_render(encoder, air, model, [path for _, path, _ in checked] + [listener]):
        return _source_bank(scene, encoder, model, checked, listener, air, block, longest, min_max_delay_s)
    horizon = 0.0
    sources = []
    for index, (label, path, _distance) in enumerate(checked):
        source = scene.sources[index]
        start_xyz = path.at(0.0)
        propagation = model.propagate(start_xyz, label)
        tail = None
        if propagation.decay is not None:
            from soundstage.acoustics.room.late_reverb import diffuse_tail

            seed = scene.room.seed if scene.room is not None else 0
            tail = diffuse_tail(encoder, propagation.decay, rng=np.random.default_rng([seed, index]))
        tail = _with_scattered_energy(encoder, model, propagation, tail)
        paths_of, update, reach = _paths_of(model, start_xyz, propagation, c)
        if model.name == "ground":
            # The bounce off the ground is longer than the direct sound by at most twice the heights.
            heights = np.concatenate([path.sample_points()[:, 2], listener.sample_points()[:, 2]])
            reach = 2.0 * float(np.max(heights))
        horizon = max(horizon, reach / c)
        sources.append(MovingSource(label, path, paths_of, bool(source.doppler), update, tail))
    return BlockEngine(
        encoder,
        sources,
        listener,
        head_turn(scene),
        air,
        block,
        max_delay_s=max(longest + horizon + 0.01, min_max_delay_s),
        banded=model.name != "free_field" or air.attenuation_db_per_m is not None,
    )


def _source_bank(scene, encoder, model, checked, listener, air, block: int, longest: float, min_max_delay_s: float):
    """A :class:`SourceBank` for a free-field scene, or a shoebox heard by its first-order reflections and one
    tail that all sources feed (its level the diffuse field's, from right after the last first-order
    reflection of any source)."""
    from soundstage.acoustics.moving.bank import first_order_room

    def unused(source, listener):  # the bank reads its paths from `paths`, the same for every source
        raise AssertionError("the source bank has no per-source paths")

    sources = [MovingSource(label, path, unused, bool(scene.sources[i].doppler)) for i, (label, path, _) in
               enumerate(checked)]
    paths, tail, reach = None, None, 0.0
    if model.name == "shoebox":
        seed = scene.room.seed if scene.room is not None else 0
        starts = [path.at(0.0) for _, path, _ in checked]
        rng = np.random.default_rng([seed, 0])
        paths, tail, reach = first_order_room(model, encoder, starts, listener.at(0.0), air, rng)
    max_delay_s = max(longest + reach / air.speed_of_sound + 0.01, min_max_delay_s)
    return SourceBank(encoder, sources, listener, head_turn(scene), air, block, max_delay_s, paths=paths, tail=tail)


def render_moving(
    scene: Scene,
    encoder: Encoder,
    model: PropagationModel,
    signals: list[np.ndarray],
    starts: list[int],
    *,
    progress: bool = True,
    memory_limit_bytes: int | None = None,
) -> np.ndarray:
    """Render a scene whose sources move or whose listener moves or turns, shape (C, n), float32.

    Parameters
    ----------
    scene : Scene
    encoder : Encoder
    model : PropagationModel
    signals : list of np.ndarray
        Each source's mono signal at the output rate, gain applied.
    starts : list of int
        Each source's start in samples.
    progress : bool
        Show a progress bar over the blocks when rendering takes more than a second.
    memory_limit_bytes : int or None
        Refuse, before the work, an output larger than this.
    """
    block = OFFLINE_BLOCK
    engine = engine_for_scene(scene, encoder, model, block=block)
    rate = engine.sample_rate
    tail = max((s.tail.shape[1] for s in engine.sources if s.tail is not None), default=0)
    end = max(start + len(signal) for start, signal in zip(starts, signals, strict=True))
    length = end + math.ceil(engine.max_delay_s * rate) + engine.shape.length + tail
    if memory_limit_bytes is not None:
        from soundstage.acoustics.budget import Cost, check_cost, mix_cost

        check_cost(
            Cost(
                mix_cost(encoder.n_channels, length) * 2,
                "sources",
                f"a moving render of {length / rate:.3g} s",
                "give shorter sounds or later starts",
            ),
            memory_limit_bytes,
        )
    n_blocks = -(-(length + engine.latency_samples) // block)
    out = np.zeros((encoder.n_channels, n_blocks * block), dtype=np.float32)
    from soundstage.progress import progress_bar

    description = f"render {encoder.name} (moving)"
    blocks = progress_bar(range(n_blocks), enabled=progress, description=description, unit="block")
    for b in blocks:
        lo = b * block
        inputs = [_block_of(signal, start, lo, block) for signal, start in zip(signals, starts, strict=True)]
        out[:, lo : lo + block] = engine.process(inputs)
    return out[:, engine.latency_samples : engine.latency_samples + length]


def _block_of(signal: np.ndarray, start: int, lo: int, block: int) -> np.ndarray:
    """Samples ``lo`` to ``lo + block`` of the scene of a signal that starts at sample ``start`` (silence around it)."""
    out = np.zeros(block)
    first, last = max(lo, start), min(lo + block, start + len(signal))
    if last > first:
        out[first - lo : last - lo] = signal[first - start : last - start]
    return out


def _paths_of(model: PropagationModel, start_xyz: np.ndarray, propagation, c: float):
    """(paths_of(source, listener), blocks between path updates, farthest path length in metres)."""
    from soundstage.acoustics.moving.engine import REFLECTION_UPDATE_BLOCKS

    if model.name == "free_field":
        direct = direct_path()
        return (lambda source, listener: direct), 1, 0.0
    if model.name == "ground":
        both = ground_paths(model.reflection)
        return (lambda source, listener: both), 1, 0.0
    spec = model.room_spec
    if model.name == "mesh":
        # The tail joins where the still render of the start position joins it. Without a tail every image
        # up to the order limit counts, and a path of n reflections is at most (n + 1) room diagonals long.
        if propagation.decay is not None:
            reach = propagation.decay.mixing_time_s * c
        else:
            reach = (model.max_order + 1) * model.room.diagonal_m

        scattering = model.room.scattering_or_zero if model.rays else None

        def mesh(source: np.ndarray, listener: np.ndarray):
            return mesh_paths(
                model.room, source, listener, max_distance_m=reach, max_order=model.max_order, scattering=scattering
            )

        return mesh, REFLECTION_UPDATE_BLOCKS, reach
    horizon = model.mixing_time(start_xyz) if spec.late_reverb else float(np.max(model.rt60_s))
    reach = horizon * c

    def shoebox(source: np.ndarray, listener: np.ndarray):
        return shoebox_paths(model.room, source, listener, max_distance_m=reach, max_order=spec.max_order)

    return shoebox, REFLECTION_UPDATE_BLOCKS, reach


def _with_scattered_energy(encoder, model, propagation, tail: np.ndarray | None) -> np.ndarray | None:
    """``tail`` plus a mesh room's traced scattered early energy, which, like the tail, stays where the source
    started (the image sources follow it)."""
    if model.name != "mesh" or not model.rays:
        return tail
    rained = propagation.reflection_order > model.max_order
    if not rained.any():
        return tail
    from soundstage.acoustics.propagation import _subset
    from soundstage.acoustics.render import summed_responses

    scattered = encoder.impulse_response(_subset(propagation.early, rained))
    return scattered if tail is None else summed_responses(scattered, tail)


def _check_inside_mesh(model, path: PointPath, listener: PointPath, field: str) -> None:
    """Refuse a source or listener path that leaves a mesh room, naming where."""
    times = np.arange(0.0, float(max(path.segment_ends.max(), listener.segment_ends.max())) + 0.01, 0.01)
    walkers = ((field, path.at(times), "source"), ("listener.trajectory", listener.at(times), "listener"))
    for what, points, name in walkers:
        inside = model.room.contains(points)
        if not inside.all():
            first = int(np.argmin(inside))
            raise ParameterError(
                f"{what}: the {name} leaves the mesh room {model.path} at t = {times[first]:.2f} s "
                f"({', '.join(f'{v:.2f}' for v in points[first])} m); keep it inside (positions are in the "
                "mesh's coordinates)"
            )


def _check_path(path: PointPath, listener: PointPath, scene: Scene, field: str, c: float) -> float:
    """Refuse a path faster than sound or through the head; return its largest distance to the listener."""
    end = float(max(path.segment_ends.max(), listener.segment_ends.max()))
    times = np.arange(0.0, end + _CHECK_STEP_S, _CHECK_STEP_S)
    xyz, head = path.at(times), listener.at(times)
    distance = np.linalg.norm(xyz - head, axis=1)
    closest = int(np.argmin(distance))
    radius = scene.listener.head_radius
    if distance[closest] < radius:
        raise ParameterError(
            f"{field}: passes {distance[closest]:.3f} m from the listener at t = {times[closest]:.3f} s, inside "
            f"the head (radius {radius} m); keep it further away"
        )
    if len(times) > 1:
        step = np.linalg.norm(np.diff(xyz, axis=0), axis=1) / _CHECK_STEP_S
        jumps = path.jump_times
        across = np.zeros(len(step), dtype=bool)
        for jump in jumps:
            across |= (times[:-1] < jump) & (times[1:] >= jump)
        step[across] = 0.0
        fastest = int(np.argmax(step))
        if step[fastest] >= 0.8 * c:
            raise ParameterError(
                f"{field}: moves at {step[fastest]:.0f} m/s around t = {times[fastest]:.3f} s, too close to the "
                f"speed of sound ({c:g} m/s) for a smooth render; slow it down (or make it a jump: two keyframes "
                "at the same time)"
            )
    return float(distance.max())
