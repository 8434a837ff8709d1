"""Propagation models, chosen by name: how each source reaches the listener.

A model turns a source position into its *early arrivals* (direct sound, reflections) and,
for rooms, the statistics of its *diffuse late field*. The renderer feeds the arrivals to the
output format's encoder and synthesises the late field with the encoder's diffuse-field
coherence (:mod:`soundstage.acoustics.room.late_reverb`), so every model works with every
format.

=============  ==========================================================================
name           what it does
=============  ==========================================================================
free_field     the direct sound only (no room)
ground         direct sound plus the reflection off the ground plane z = 0 (open scenes)
shoebox        image sources of a rectangular room up to the mixing time, then a diffuse
               tail decaying at Eyring's rate per octave band
mesh           image sources of a triangle-mesh room up to a low order, with visibility,
               plus the energy its surfaces scatter (ray tracing with diffuse rain), then
               the diffuse tail at the traced level and decay per band
=============  ==========================================================================
"""

from __future__ import annotations

import dataclasses
import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from soundstage.acoustics.air_absorption import air_absorption_db_per_m
from soundstage.acoustics.arrivals import OCTAVE_BANDS_HZ, Arrivals
from soundstage.acoustics.free_field import free_field_arrivals
from soundstage.conventions import rotation_matrix
from soundstage.errors import ParameterError

if TYPE_CHECKING:
    from soundstage.acoustics.room.late_reverb import DiffuseDecay
    from soundstage.scene.model import Scene

#: Time after the last first-order reflection before the tail may start, in seconds.
_FIRST_ORDER_MARGIN_S = 0.005
#: Band whose reverberation time ``room.rt60`` sets (1 kHz; the other bands differ by air absorption).
RT60_BAND_HZ = 1000.0
_RT60_BAND = int(np.argmin(np.abs(OCTAVE_BANDS_HZ - RT60_BAND_HZ)))
#: Fewest reflections in the window before the mixing time for the tail's level to be read from them;
#: with fewer, the level comes from the diffuse-field formula.
_MIN_REFLECTIONS_FOR_LEVEL = 20


@dataclass(frozen=True)
class SourcePropagation:
    """How one source reaches the listener.

    Attributes
    ----------
    early : Arrivals
        Direct sound and the reflections modelled one by one, head frame.
    decay : DiffuseDecay or None
        The diffuse late field after the mixing time, or None without a room.
    reflection_order : np.ndarray of int, shape (K,)
        Reflection order of each early arrival (0 = direct sound).
    """

    early: Arrivals
    decay: DiffuseDecay | None
    reflection_order: np.ndarray


class PropagationModel(ABC):
    """Source position in, arrivals (and late-field statistics) out; see the module docstring."""

    name: str

    @abstractmethod
    def propagate(self, source_position: np.ndarray, label: str) -> SourcePropagation:
        """Arrivals of a source at ``source_position`` (world/room metres); ``label`` names it in errors."""

    @abstractmethod
    def describe(self) -> str:
        """One line for reports: the model and its main parameters."""

    def describe_decay(self) -> str | None:
        """The late decay per octave band and where it came from, for ``--explain``; None without a room."""
        return None


@dataclass
class Air:
    """Speed of sound and per-band air attenuation shared by the models."""

    speed_of_sound: float
    attenuation_db_per_m: np.ndarray | None

    @classmethod
    def of(cls, scene: Scene) -> Air:
        p = scene.propagation
        attenuation = None
        if p.air_absorption:
            attenuation = air_absorption_db_per_m(
                OCTAVE_BANDS_HZ, temperature_c=p.temperature_c, relative_humidity=p.relative_humidity
            )
        return cls(p.speed_of_sound, attenuation)

    @property
    def attenuation_or_zero(self) -> np.ndarray:
        return np.zeros(len(OCTAVE_BANDS_HZ)) if self.attenuation_db_per_m is None else self.attenuation_db_per_m


class FreeField(PropagationModel):
    """The direct sound only."""

    name = "free_field"

    def __init__(self, scene: Scene) -> None:
        self.scene = scene
        self.listener = _listener_xyz(scene)
        self.rotation = _listener_rotation(scene)

    def propagate(self, source_position: np.ndarray, label: str) -> SourcePropagation:
        p = self.scene.propagation
        try:
            arrivals = free_field_arrivals(
                source_position,
                self.listener,
                self.rotation,
                head_radius=self.scene.listener.head_radius,
                speed_of_sound=p.speed_of_sound,
                air_absorption=p.air_absorption,
                temperature_c=p.temperature_c,
                relative_humidity=p.relative_humidity,
            )
        except ParameterError as error:
            raise ParameterError(f"{label}: {error}") from None
        return SourcePropagation(arrivals, None, np.zeros(1, dtype=np.int64))

    def describe(self) -> str:
        return "free field"


class Ground(FreeField):
    """Free field plus the specular reflection off the ground plane z = 0.

    The reflection comes from the source mirrored below the ground, with the pressure
    reflection coefficient ``√(1 − α)`` per band of the ground's material (a plane-wave,
    energy-based model: the ground wave and the interference dip of a soft ground at grazing
    incidence are not modelled).
    """

    name = "ground"

    def __init__(self, scene: Scene) -> None:
        from soundstage.acoustics.room.materials import absorption_coefficients

        super().__init__(scene)
        self.material = scene.room.ground
        self.reflection = np.sqrt(1.0 - absorption_coefficients(self.material, field="room.ground"))
        self.air = Air.of(scene)

    def propagate(self, source_position: np.ndarray, label: str) -> SourcePropagation:
        direct = super().propagate(source_position, label).early
        from soundstage.acoustics.room.image_arrivals import image_source_arrivals

        mirrored = np.asarray(source_position, dtype=float) * np.array([1.0, 1.0, -1.0])
        bounce = image_source_arrivals(
            mirrored[None, :],
            np.log(self.reflection)[None, :],
            self.listener,
            self.rotation,
            speed_of_sound=self.air.speed_of_sound,
            air_absorption_db_per_m=self.air.attenuation_db_per_m,
        )
        return SourcePropagation(Arrivals.concatenate([_banded(direct), bounce]), None, np.array([0, 1]))

    def describe(self) -> str:
        return f"free field + ground reflection ({self.material})"


class _Room(PropagationModel):
    """What shoebox and mesh rooms share: the listener, air, and the diffuse tail's statistics."""

    def __init__(self, scene: Scene) -> None:
        self.scene = scene
        self.room_spec = scene.room
        self.listener = _listener_xyz(scene)
        self.rotation = _listener_rotation(scene)
        self.air = Air.of(scene)
        self.head_radius = scene.listener.head_radius

    #: Where :attr:`rt60_s` comes from, for reports.
    decay_formula = "Eyring's formula"

    def describe_decay(self) -> str | None:
        if not self.room_spec.late_reverb:
            return None
        return _decay_line(self.rt60_s, self.decay_formula)

    def uniform_absorption(self, volume_m3: float, surface_m2: float) -> float:
        """The one absorption coefficient giving ``room.rt60`` (Eyring, at 1 kHz with its air absorption)."""
        from soundstage.acoustics.room.reverberation_time import eyring_absorption_for_rt60

        band = _RT60_BAND
        return float(
            eyring_absorption_for_rt60(
                self.room_spec.rt60,
                volume_m3,
                surface_m2,
                air_attenuation_db_per_m=self.air.attenuation_or_zero[band],
                speed_of_sound=self.air.speed_of_sound,
            )
        )

    def check_decay(self, rt60_s: np.ndarray) -> np.ndarray:
        """``rt60_s``, or an error naming the materials when a band never decays (nothing absorbs in it)."""
        endless = ~np.isfinite(rt60_s)
        if endless.any():
            band = OCTAVE_BANDS_HZ[int(np.argmax(endless))]
            field = "room.rt60" if self.room_spec.rt60 is not None else "room.materials"
            raise ParameterError(
                f"{field}: nothing absorbs sound in the {band:g} Hz band, so it would never die away; give "
                "absorption above 0 (a material name, e.g. plaster) or set propagation.air_absorption: true"
            )
        return rt60_s

    def check_head(self, source_position: np.ndarray, label: str) -> None:
        distance = float(np.linalg.norm(np.asarray(source_position) - self.listener))
        if distance < self.head_radius:
            raise ParameterError(
                f"{label}: source is {distance:.3f} m from the listener, inside the head "
                f"(radius {self.head_radius} m); move it further away"
            )

    def decay(
        self,
        early: Arrivals,
        order: np.ndarray,
        mixing_time_s: float,
        rt60_s: np.ndarray,
        volume_m3: float,
        *,
        complete: bool,
    ) -> DiffuseDecay | None:
        """The late field's statistics: Eyring decay per band, at the level of the reflections before it.

        The level is read from the reflections in the half mixing time before the join when they
        are all there (``complete``: no order limit cut into them) and there are enough of them;
        otherwise it is the diffuse-field formula :func:`diffuse_energy_rate`.
        """
        from soundstage.acoustics.room.late_reverb import DiffuseDecay, energy_rate_at

        if not self.room_spec.late_reverb:
            return None
        window = (order > 0) & (early.delay_s >= mixing_time_s / 2) & (early.delay_s < mixing_time_s)
        if complete and np.count_nonzero(window) >= _MIN_REFLECTIONS_FOR_LEVEL:
            reflections = _subset(early, order > 0)
            rate = energy_rate_at(reflections, mixing_time_s, rt60_s)
        else:
            rate = diffuse_energy_rate(volume_m3, mixing_time_s, rt60_s, self.air.speed_of_sound)
        return DiffuseDecay(mixing_time_s, rt60_s, rate, OCTAVE_BANDS_HZ)


class ShoeboxModel(_Room):
    """Image sources of a rectangular room up to the mixing time, then the diffuse tail."""

    name = "shoebox"

    def __init__(self, scene: Scene) -> None:
        from soundstage.acoustics.room.shoebox import ShoeboxRoom, surface_absorption

        super().__init__(scene)
        size = np.asarray(self.room_spec.shoebox.size, dtype=float)
        if self.room_spec.rt60 is not None:
            provisional = ShoeboxRoom(size, np.zeros((6, len(OCTAVE_BANDS_HZ))))
            alpha = self.uniform_absorption(provisional.volume_m3, float(provisional.areas_m2.sum()))
            absorption = np.full((6, len(OCTAVE_BANDS_HZ)), alpha)
        else:
            absorption = surface_absorption(self.room_spec.materials)
        self.room = ShoeboxRoom(size, absorption)
        self.rt60_s = self.check_decay(
            self.room.eyring_rt60(
                air_attenuation_db_per_m=self.air.attenuation_or_zero, speed_of_sound=self.air.speed_of_sound
            )
        )

    def mixing_time(self, source_position: np.ndarray) -> float:
        """``room.mixing_time``, or the perceptual mixing time, but never before a first-order reflection.

        The perceptual mixing time of Lindau, Kosanke and Weinzierl (2012), ``20 V/S + 12`` ms,
        is when listeners stop telling a room's measured late field from any other exponentially
        decaying noise. All first-order reflections (plus 5 ms) stay exact image sources even
        when they come later. Starting the tail earlier keeps the decay on Eyring's rate: a
        shoebox's image sources alone decay more slowly as time goes on (images along the axes
        hit few walls), which is why image-source-only tools overshoot the target RT60.
        """
        if self.room_spec.mixing_time is not None:
            return float(self.room_spec.mixing_time)
        from soundstage.acoustics.room.shoebox import image_sources

        perceptual = 0.020 * self.room.volume_m3 / float(self.room.areas_m2.sum()) + 0.012
        reach = 2.0 * float(np.linalg.norm(self.room.size_m)) + 1.0
        images, _ = image_sources(self.room, source_position, self.listener, max_distance_m=reach, max_order=1)
        last = float(np.max(np.linalg.norm(images - self.listener, axis=1))) / self.air.speed_of_sound
        return max(perceptual, last + _FIRST_ORDER_MARGIN_S)

    def propagate(self, source_position: np.ndarray, label: str) -> SourcePropagation:
        from soundstage.acoustics.room.shoebox import shoebox_arrivals

        self.check_head(source_position, label)
        spec = self.room_spec
        mixing_time = self.mixing_time(source_position)
        # Without a tail the image sources run until the slowest band has decayed by 60 dB.
        horizon = mixing_time if spec.late_reverb else float(np.max(self.rt60_s))
        early, order = shoebox_arrivals(
            self.room,
            source_position,
            self.listener,
            self.rotation,
            max_delay_s=horizon,
            max_order=spec.max_order,
            speed_of_sound=self.air.speed_of_sound,
            air_absorption_db_per_m=self.air.attenuation_db_per_m,
            jitter_m=spec.randomize,
            rng=np.random.default_rng([spec.seed, _position_seed(source_position)]),
        )
        keep = early.delay_s < horizon
        early, order = _subset(early, keep), order[keep]
        complete = spec.max_order is None
        decay = self.decay(early, order, mixing_time, self.rt60_s, self.room.volume_m3, complete=complete)
        return SourcePropagation(_flat_to_broadband(early), decay, order)

    def describe(self) -> str:
        size = " × ".join(f"{v:g}" for v in self.room.size_m)
        rt = float(self.rt60_s[_RT60_BAND])
        tail = "diffuse tail" if self.room_spec.late_reverb else "no tail"
        return f"shoebox {size} m, image sources + {tail}, Eyring RT60 {rt:.2f} s at 1 kHz"


class MeshModel(_Room):
    """Image sources of a triangle-mesh room up to a low order, with visibility, then the diffuse tail."""

    name = "mesh"
    #: Image-source order of mesh rooms unless ``room.max_order`` says otherwise...
    DEFAULT_ORDER = 2
    #: ...and of meshes with more reflecting planes than this (a depth-map mesh has thousands): the
    #: candidates of order 2 grow as the square of the planes.
    MANY_PLANES = 200
    #: Longest ray trace, in seconds after emission.
    MAX_TRACE_S = 1.0

    def __init__(self, scene: Scene) -> None:
        from soundstage.acoustics.room.mesh import load_mesh_room
        from soundstage.io.inputs import record_input

        super().__init__(scene)
        path = scene.resolve_path(self.room_spec.mesh)
        record_input(path)
        if self.room_spec.rt60 is not None:
            room = load_mesh_room(path, 0.0)
            alpha = self.uniform_absorption(room.volume_m3, room.surface_area_m2)
            room = dataclasses.replace(room, absorption=np.full_like(room.absorption, alpha))
        else:
            room = load_mesh_room(path, self.room_spec.materials)
        from soundstage.acoustics.room.ray_tracing import DEFAULT_RAYS
        from soundstage.acoustics.room.reverberation_time import arau_puchades_rt60, modal_bands

        self.room = room
        self.path = path
        # Arau-Puchades: Eyring's time where the absorption is even, longer where a pair of surfaces holds it.
        self.rt60_s = self.check_decay(
            arau_puchades_rt60(
                room.volume_m3,
                room.plane_areas_m2,
                room.absorption,
                room.plane_normals,
                air_attenuation_db_per_m=self.air.attenuation_or_zero,
                speed_of_sound=self.air.speed_of_sound,
            )
        )
        requested = self.room_spec.rays
        # Rays feed the tail and the scattered early energy; without a tail there is nothing to feed.
        self.rays = (DEFAULT_RAYS if requested is None else requested) if self.room_spec.late_reverb else 0
        #: The traced decay of each source propagated so far (RT60 per band), for reports.
        self.traced_rt60_s: list[np.ndarray] = []
        #: Bands the rays could not tell in the last trace (they keep the formula's decay).
        self.untraced_bands = 0
        #: Bands below the Schroeder frequency whose traced decay the formula capped, most in any trace.
        self.capped_bands = 0
        self._modal = modal_bands(room.volume_m3, self.rt60_s, OCTAVE_BANDS_HZ)  # the same for every source
        many = len(self.room.plane_names) > self.MANY_PLANES
        default_order = 1 if many else self.DEFAULT_ORDER
        self.max_order = default_order if self.room_spec.max_order is None else self.room_spec.max_order
        inside = self.room.contains(self.listener[None, :])
        if not inside[0]:
            raise ParameterError(
                f"listener.position {self.listener.tolist()} is outside the mesh room {path}; "
                "positions are in the mesh's coordinates"
            )

    def mixing_time(self, early: Arrivals, order: np.ndarray) -> float:
        """``room.mixing_time``, or when the mean reflection count passes the image-source order.

        A diffuse field meets ``c S / (4 V)`` surfaces per second, so reflections of order
        ``max_order + 1`` start to matter after about ``(max_order + 1) · 4V / (S c)``; as in a
        shoebox, never before the last first-order reflection (+5 ms) has arrived.
        """
        if self.room_spec.mixing_time is not None:
            return float(self.room_spec.mixing_time)
        mean_free_path = 4.0 * self.room.volume_m3 / self.room.surface_area_m2
        statistical = (self.max_order + 1) * mean_free_path / self.air.speed_of_sound
        first = early.delay_s[order == 1]
        return max(statistical, float(first.max()) + _FIRST_ORDER_MARGIN_S) if len(first) else statistical

    def propagate(self, source_position: np.ndarray, label: str) -> SourcePropagation:
        from soundstage.acoustics.room.mesh import mesh_image_arrivals

        self.check_head(source_position, label)
        if not self.room.contains(np.asarray(source_position, dtype=float)[None, :])[0]:
            raise ParameterError(
                f"{label}: position {np.round(source_position, 3).tolist()} is outside the mesh room "
                f"{self.path}; positions are in the mesh's coordinates"
            )
        source = np.asarray(source_position, dtype=float)
        early, order = mesh_image_arrivals(
            self.room,
            source,
            self.listener,
            self.rotation,
            max_order=self.max_order,
            speed_of_sound=self.air.speed_of_sound,
            air_absorption_db_per_m=self.air.attenuation_db_per_m,
            head_radius=self.head_radius,
            scattering=self.room.scattering_or_zero if self.rays else None,
        )
        mixing_time = self.mixing_time(early, order)
        if self.room_spec.late_reverb:
            # The tail carries everything after the join; images past it would count twice.
            keep = early.delay_s < mixing_time
            early, order = _subset(early, keep), order[keep]
        if self.rays:
            return self._traced(source, early, order, mixing_time)
        # Order-limited images thin out before the join: the level comes from diffuse-field theory.
        decay = self.decay(early, order, mixing_time, self.rt60_s, self.room.volume_m3, complete=False)
        return SourcePropagation(_flat_to_broadband(early), decay, order)

    def describe_decay(self) -> str | None:
        if not self.room_spec.late_reverb:
            return None
        if not self.traced_rt60_s:
            return _decay_line(self.rt60_s, "Arau-Puchades' formula: absorption by the axis its surfaces face")
        mean = np.mean(self.traced_rt60_s, axis=0)
        sources = len(self.traced_rt60_s)
        origin = f"ray tracing, {self.rays} rays per source" + (f", mean of {sources} sources" if sources > 1 else "")
        if self.untraced_bands:
            origin += f"; Arau-Puchades' formula in {_bands(self.untraced_bands)} the rays could not tell"
        if self.capped_bands:
            origin += (
                f"; capped at Arau-Puchades' time in {_bands(self.capped_bands)} below the Schroeder frequency "
                "(the room is modal there, and rays overshoot)"
            )
        return _decay_line(mean, origin)

    def trace_duration(self, mixing_time_s: float) -> float:
        """Seconds to follow the rays: a third of the longest RT60 (at most :attr:`MAX_TRACE_S`), and never less
        than 0.3 s past the join, enough to fit the decay."""
        longest = float(np.max(self.rt60_s))
        return float(max(mixing_time_s + 0.3, min(self.MAX_TRACE_S, longest / 3.0)))

    def _traced(self, source: np.ndarray, early: Arrivals, order: np.ndarray, mixing_time: float) -> SourcePropagation:
        """Image sources plus the traced scattered energy before the join; the tail's level and decay from the trace."""
        from soundstage.acoustics.room.late_reverb import DiffuseDecay
        from soundstage.acoustics.room.ray_tracing import fit_late_decay, rain_arrivals, trace_energy

        spec = self.room_spec
        seed = [spec.seed, _position_seed(source)]
        response = trace_energy(
            self.room,
            self.room.scattering_or_zero,
            source,
            self.listener,
            duration_s=self.trace_duration(mixing_time),
            specular_order=self.max_order,
            n_rays=self.rays,
            speed_of_sound=self.air.speed_of_sound,
            air_absorption_db_per_m=self.air.attenuation_db_per_m,
            seed=np.random.SeedSequence(seed).generate_state(1)[0],
            images_until_s=mixing_time,
        )
        rained = rain_arrivals(
            response,
            mixing_time,
            self.rotation,
            speed_of_sound=self.air.speed_of_sound,
            band_centers_hz=OCTAVE_BANDS_HZ,
            rng=np.random.default_rng(seed),
        )
        rt60, rate = fit_late_decay(response, mixing_time)
        if spec.rt60 is not None:
            rt60 = np.where(np.isfinite(rt60), self.rt60_s, rt60)  # the decay the scene asks for, at the traced level
        # A band the trace cannot tell (no energy after the join) keeps the formula's decay and level.
        formula = diffuse_energy_rate(self.room.volume_m3, mixing_time, self.rt60_s, self.air.speed_of_sound)
        unknown = ~np.isfinite(rt60)
        rt60 = np.where(unknown, self.rt60_s, rt60)
        rate = np.where(unknown, formula, rate)
        self.untraced_bands = max(self.untraced_bands, int(np.count_nonzero(unknown)))
        # Below the Schroeder frequency a room is modal and geometric acoustics does not hold: rays that keep
        # bouncing specularly between hard parallel walls (scattering is low there) decay more slowly than the
        # room does (the BRAS seminar room: +13 % at 125 Hz). There the decay is at most the formula's.
        capped = self._modal & (rt60 > self.rt60_s)
        rt60 = np.where(capped, self.rt60_s, rt60)
        self.capped_bands = max(self.capped_bands, int(np.count_nonzero(capped)))
        self.traced_rt60_s.append(rt60)
        decay = DiffuseDecay(mixing_time, rt60, rate, OCTAVE_BANDS_HZ)  # rays run only with a tail
        arrivals = Arrivals.concatenate([_banded(early), rained])
        orders = np.concatenate([order, np.full(len(rained.delay_s), self.max_order + 1)])
        return SourcePropagation(arrivals, decay, orders)

    def describe(self) -> str:
        rt = float(self.rt60_s[_RT60_BAND])
        tail = "diffuse tail" if self.room_spec.late_reverb else "no tail"
        repaired = f", repaired on load: {', '.join(self.room.repairs)}" if self.room.repairs else ""
        early = f" + scattered energy by ray tracing ({self.rays} rays, diffuse rain)" if self.rays else ""
        if self.rays and self.traced_rt60_s:
            at_1k = sorted(float(t[_RT60_BAND]) for t in self.traced_rt60_s)
            spread = f"{at_1k[0]:.2f}" if at_1k[-1] - at_1k[0] < 0.005 else f"{at_1k[0]:.2f}–{at_1k[-1]:.2f}"
            decay = f"traced RT60 {spread} s at 1 kHz"
        else:
            decay = f"Arau-Puchades RT60 {rt:.2f} s at 1 kHz" + (" before tracing" if self.rays else "")
        return (
            f"mesh {self.path.name} ({len(self.room.plane_names)} planes, {self.room.volume_m3:.0f} m³), "
            f"image sources to order {self.max_order}{early} + {tail}, {decay}{repaired}"
        )


#: The models by name.
MODELS = {"free_field": FreeField, "ground": Ground, "shoebox": ShoeboxModel, "mesh": MeshModel}


def propagation_model(scene: Scene) -> PropagationModel:
    """The propagation model a scene asks for: its ``room`` kind, or the free field without one."""
    name = "free_field" if scene.room is None else scene.room.kind
    return MODELS[name](scene)


def diffuse_energy_rate(volume_m3: float, time_s: float, rt60_s: np.ndarray, speed_of_sound: float) -> np.ndarray:
    """Energy per second of a room's reflections at ``time_s``, per band, from diffuse-field theory.

    Image sources fill space with one image per room volume, so ``4π c³ t² / V`` arrive per
    second at time ``t``, each with energy ``1/(c t)²`` (0 dB at 1 m) times the losses, which on
    average follow the room's decay: ``(4π c / V) · 10^(−6 t / T)``.

    Parameters
    ----------
    volume_m3 : float
    time_s : float
        Seconds after emission.
    rt60_s : np.ndarray, shape (B,)
        Reverberation time per band.
    speed_of_sound : float
        In m/s.

    Returns
    -------
    np.ndarray, shape (B,)
        Σ gain² per second.
    """
    return 4.0 * math.pi * speed_of_sound / volume_m3 * 10.0 ** (-6.0 * time_s / np.asarray(rt60_s, dtype=float))


def _bands(count: int) -> str:
    return f"{count} band" if count == 1 else f"{count} bands"


def _decay_line(rt60_s: np.ndarray, origin: str) -> str:
    """``RT60 125 Hz 1.62 s, 250 Hz 1.58 s, … (origin)`` for the bands up to 8 kHz."""
    bands = ", ".join(
        f"{f / 1000:g} kHz {t:.2f} s" if f >= 1000 else f"{f:g} Hz {t:.2f} s"
        for f, t in zip(OCTAVE_BANDS_HZ, rt60_s, strict=True)
        if f <= 8000
    )
    return f"RT60 {bands} ({origin})"


def _listener_xyz(scene: Scene) -> np.ndarray:
    p = scene.listener.position
    return np.array([p.x, p.y, p.z], dtype=float)


def _listener_rotation(scene: Scene) -> np.ndarray:
    o = scene.listener.orientation
    return rotation_matrix(o.yaw, o.pitch, o.roll)


def _position_seed(position: np.ndarray) -> int:
    """A seed from a source position (so each source's jitter and noise differ, reproducibly)."""
    return int(np.uint32(hash(tuple(np.round(np.asarray(position, dtype=float), 6).tolist())) & 0xFFFFFFFF))


def _subset(arrivals: Arrivals, keep: np.ndarray) -> Arrivals:
    gain = np.asarray(arrivals.gain)[keep]
    return Arrivals(
        arrivals.delay_s[keep], gain, arrivals.direction[keep], arrivals.distance_m[keep], arrivals.band_centers_hz
    )


def _banded(arrivals: Arrivals) -> Arrivals:
    """The same arrivals with per-band gains on OCTAVE_BANDS_HZ."""
    if arrivals.is_banded:
        return arrivals
    gain = np.repeat(np.asarray(arrivals.gain, dtype=float)[:, None], len(OCTAVE_BANDS_HZ), axis=1)
    return Arrivals(arrivals.delay_s, gain, arrivals.direction, arrivals.distance_m, OCTAVE_BANDS_HZ)


def _flat_to_broadband(arrivals: Arrivals) -> Arrivals:
    """Banded arrivals whose gains are equal in every band, as broadband arrivals (exact, cheaper)."""
    gain = np.asarray(arrivals.gain)
    if not arrivals.is_banded or not np.all(gain == gain[:, :1]):
        return arrivals
    return Arrivals(arrivals.delay_s, gain[:, 0].copy(), arrivals.direction, arrivals.distance_m)
