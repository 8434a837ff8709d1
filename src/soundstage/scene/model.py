"""The scene: sources, listener, output and head — the data model every stage shares.

A scene is what a user writes in a YAML/JSON file, what the image pipeline will
produce from a photo, and what the renderer consumes. It is validated with pydantic
at the file boundary so that mistakes are reported against the field at fault.

Positions
    ``{x, y, z}`` (or a list ``[x, y, z]``) is a point in the scene's world frame in
    metres. ``{az, el, dist}`` is a direction and distance *from the listener's
    position*, measured along the world axes (a listener with zero orientation faces
    +x). Both use the conventions in :mod:`soundstage.conventions`.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator, model_validator

from soundstage.conventions import DEFAULT_HEAD_RADIUS, spherical_to_cartesian

#: Farthest a position may be from the origin or the listener, in metres: sound takes about 5 minutes
#: to cross it. Beyond, a value is a typo (or a unit mix-up), not a scene.
MAX_DISTANCE_M = 100_000.0
#: Latest start of a source, in seconds (a day).
MAX_START_S = 86_400.0
#: Gains a source may have, in dB: below, it is silent in any format; above, it is a typo.
MIN_GAIN_DB, MAX_GAIN_DB = -150.0, 60.0


class _Strict(BaseModel):
    """Base for scene models: unknown fields are errors, so typos never pass silently.

    Infinite and NaN numbers are refused everywhere (``x: .inf`` is a typo, not a place).
    """

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True, allow_inf_nan=False)


class CartesianPosition(_Strict):
    """A point in the world frame, in metres (x forward, y left, z up)."""

    x: float = Field(ge=-MAX_DISTANCE_M, le=MAX_DISTANCE_M)
    y: float = Field(ge=-MAX_DISTANCE_M, le=MAX_DISTANCE_M)
    z: float = Field(0.0, ge=-MAX_DISTANCE_M, le=MAX_DISTANCE_M)


class SphericalPosition(_Strict):
    """A point given by azimuth and elevation in degrees and distance in metres from the listener."""

    az: float = Field(description="azimuth in degrees, positive to the left")
    el: float = Field(0.0, ge=-90.0, le=90.0, description="elevation in degrees, positive up")
    dist: float = Field(gt=0.0, le=MAX_DISTANCE_M, description="distance in metres")


def _position_kind(value: Any) -> str:
    """Tell the two position forms apart by their keys, so errors name the right fields."""
    if isinstance(value, SphericalPosition):
        return "spherical"
    if isinstance(value, dict) and {"az", "el", "dist"} & value.keys():
        return "spherical"
    return "cartesian"


Position = Annotated[
    Annotated[CartesianPosition, Tag("cartesian")] | Annotated[SphericalPosition, Tag("spherical")],
    Discriminator(_position_kind),
]


def _parse_position(value: Any) -> Any:
    """Accept ``[x, y, z]`` lists as cartesian positions."""
    if isinstance(value, list | tuple) and len(value) == 3:
        return {"x": value[0], "y": value[1], "z": value[2]}
    return value


class Keyframe(_Strict):
    """Where something is at time ``t`` (seconds from the start of the scene)."""

    t: float = Field(ge=0.0, le=MAX_START_S)
    position: Position

    _parse_position = field_validator("position", mode="before")(_parse_position)


class Trajectory(_Strict):
    """A path through keyframes, interpolated ``linear`` or ``spline`` (natural cubic) in world coordinates.

    Before the first keyframe the position is the first one's, after the last the last one's. Two
    keyframes at the same time make a *jump* (a cut): the position changes at once, and the renderer
    does not glide between the two places.
    """

    keyframes: Annotated[list[Keyframe], Field(min_length=1)]
    interpolate: Literal["linear", "spline"] = "linear"

    @field_validator("keyframes")
    @classmethod
    def _in_time_order(cls, keyframes: list[Keyframe]) -> list[Keyframe]:
        times = [k.t for k in keyframes]
        for i in range(1, len(times)):
            if times[i] < times[i - 1]:
                raise ValueError(f"keyframe times must not decrease: t = {times[i]:g} after t = {times[i - 1]:g}")
            if i >= 2 and times[i] == times[i - 1] == times[i - 2]:
                raise ValueError(f"three keyframes at t = {times[i]:g}; a jump is two keyframes at the same time")
        return keyframes


def _changes(trajectory: Trajectory) -> bool:
    """True when a trajectory's keyframes hold more than one place."""
    first = trajectory.keyframes[0].position
    return any(k.position != first for k in trajectory.keyframes[1:])


class OrientationKeyframe(_Strict):
    """The head's orientation at time ``t`` (seconds), in degrees like :class:`Orientation`."""

    t: float = Field(ge=0.0, le=MAX_START_S)
    yaw: float = 0.0
    pitch: float = Field(0.0, ge=-90.0, le=90.0)
    roll: float = 0.0


class OrientationTrack(_Strict):
    """Head orientations over time, interpolated along the shortest turn between keyframes (slerp)."""

    keyframes: Annotated[list[OrientationKeyframe], Field(min_length=1)]

    @field_validator("keyframes")
    @classmethod
    def _in_time_order(cls, keyframes: list[OrientationKeyframe]) -> list[OrientationKeyframe]:
        times = [k.t for k in keyframes]
        if any(b <= a for a, b in itertools.pairwise(times)):
            raise ValueError("orientation keyframe times must increase")
        return keyframes


class Source(_Strict):
    """One sound source.

    Attributes
    ----------
    audio : str, Path or np.ndarray
        A sound file (relative paths resolve against the scene file's folder) or a mono
        signal as a 1-D array, in which case ``sample_rate`` must be given.
    sample_rate : int or None
        Sample rate in Hz of an array given as ``audio``; ignored for files.
    position : CartesianPosition or SphericalPosition or None
        Where the source is; see the module docstring. None when it moves along ``trajectory``.
    trajectory : Trajectory or None
        Keyframes the source moves through (spherical keyframes are relative to the listener's
        position at their time); give this or ``position``.
    doppler : bool
        Let the pitch change with the source's speed towards the listener (the exact delay of a
        moving source); without it, moving sources keep their pitch.
    gain_db : float
        Gain applied to the source signal, in dB.
    start : float
        Time in seconds at which the source starts playing.
    name : str or None
        A label used in messages and plots.
    downmix : bool
        Average a multichannel file to mono instead of rejecting it.
    """

    audio: str | Path | np.ndarray
    position: Position | None = None
    trajectory: Trajectory | None = None
    doppler: bool = False
    name: str | None = None
    sample_rate: int | None = Field(None, gt=0, le=10_000_000)
    gain_db: float = Field(0.0, ge=MIN_GAIN_DB, le=MAX_GAIN_DB)
    start: float = Field(0.0, ge=0.0, le=MAX_START_S)
    downmix: bool = False

    _parse_position = field_validator("position", mode="before")(_parse_position)

    @model_validator(mode="after")
    def _array_needs_rate(self) -> Source:
        if isinstance(self.audio, np.ndarray) and self.sample_rate is None:
            raise ValueError("an array given as audio needs its sample_rate")
        if (self.position is None) == (self.trajectory is None):
            raise ValueError(
                "give a source either position (it stands still) or trajectory (it moves), "
                + ("not both" if self.position is not None else "got neither")
            )
        return self

    @property
    def moves(self) -> bool:
        """True when the source has a trajectory with more than one place in it."""
        return self.trajectory is not None and _changes(self.trajectory)


class Orientation(_Strict):
    """Head orientation in degrees: yaw (+ left), pitch (+ up), roll (+ left ear up)."""

    yaw: float = 0.0
    pitch: float = Field(0.0, ge=-90.0, le=90.0)
    roll: float = 0.0


class Listener(_Strict):
    """The listener: where the head is, where it looks, and how big it is (metres).

    ``trajectory`` (cartesian keyframes) moves the head and ``orientation_track`` turns it: keyframes, or
    a CSV file with the columns ``t, yaw, pitch, roll`` (seconds and degrees; what head trackers log).
    They replace ``position`` and ``orientation``.
    """

    position: CartesianPosition = CartesianPosition(x=0.0, y=0.0, z=0.0)
    orientation: Orientation = Orientation()
    head_radius: float = Field(DEFAULT_HEAD_RADIUS, gt=0.03, lt=0.2)
    trajectory: Trajectory | None = None
    orientation_track: OrientationTrack | str | Path | None = None

    _parse_position = field_validator("position", mode="before")(_parse_position)

    @model_validator(mode="after")
    def _one_way_each(self) -> Listener:
        if self.trajectory is not None:
            if "position" in self.model_fields_set:
                raise ValueError("give the listener position or trajectory, not both")
            times = [k.t for k in self.trajectory.keyframes]
            if len(set(times)) < len(times):
                raise ValueError(
                    "trajectory: two keyframes at one time would make the listener jump, which is not supported; "
                    "give the listener's keyframes distinct times (sources may jump)"
                )
            for k, keyframe in enumerate(self.trajectory.keyframes):
                if isinstance(keyframe.position, SphericalPosition):
                    raise ValueError(
                        f"trajectory.keyframes[{k}]: the listener's keyframes are points {{x, y, z}}; "
                        "az/el/dist are measured from the listener"
                    )
            # Where the head starts, for everything that asks where the listener is; kept out of the
            # fields set so that a saved scene holds the trajectory alone.
            self.__dict__["position"] = self.trajectory.keyframes[0].position
        if self.orientation_track is not None and "orientation" in self.model_fields_set:
            raise ValueError("give the listener orientation or orientation_track, not both")
        return self


BitDepth = Literal[16, 24, 32, "float"]


class Output(_Strict):
    """What to produce: format name, sample rate (Hz), bit depth, LFE and ambisonic convention."""

    format: str = "binaural"
    sample_rate: int = Field(48000, ge=8000, le=384000)
    bit_depth: BitDepth = 24
    lfe: bool = False
    ambisonic_convention: Literal["ambix", "fuma"] = "ambix"


class HrtfChoice(_Strict):
    """Which head to render binaural with: ``sphere``, a registered name or a SOFA path."""

    name: str = "sphere"
    ear_azimuth_deg: float = Field(90.0, ge=60.0, le=120.0)
    interpolation: Literal["barycentric", "nearest"] = "barycentric"


class Propagation(_Strict):
    """How sound travels: speed of sound (m/s) and air absorption (ISO 9613-1 at the given air).

    Whether there are walls is the scene's ``room``; ``model`` is kept for older files and
    must be ``free_field``.
    """

    model: Literal["free_field"] = "free_field"
    speed_of_sound: float = Field(343.0, gt=100.0, lt=2000.0)
    air_absorption: bool = False
    temperature_c: float = Field(20.0, ge=-20.0, le=50.0)
    relative_humidity: float = Field(50.0, ge=0.0, le=100.0)


MaterialValue = str | float | list[float] | dict[str, str | float | list[float]]


class Shoebox(_Strict):
    """A rectangular room: lengths along x, y and z in metres, one corner at the origin."""

    size: tuple[float, float, float]

    @field_validator("size")
    @classmethod
    def _positive(cls, value: tuple[float, float, float]) -> tuple[float, float, float]:
        if not all(np.isfinite(v) and v > 0 for v in value):
            raise ValueError(f"room dimensions must be positive lengths in metres, got {list(value)}")
        return value


class Room(_Strict):
    """The space around the sources: a shoebox, a mesh, or an open scene with a ground.

    With a ``shoebox`` or ``mesh``, positions are room coordinates (metres, z up; a shoebox has
    one corner at the origin). ``ground`` alone is an open scene: free field plus the reflection
    off the ground plane z = 0. See the README, "Rooms".

    Attributes
    ----------
    shoebox, mesh, ground
        Exactly one: the box's size, a mesh file (OBJ/PLY/STL, relative to the scene file), or
        the ground's material.
    materials : mapping, material or None
        Surface materials: a name from the materials library, one absorption coefficient, or
        coefficients per octave band from 125 Hz; per surface (``walls``, ``floor``,
        ``ceiling``, ``front``/``back``/``left``/``right`` of a shoebox, group names of a mesh).
    rt60 : float or None
        Reverberation time in seconds to reach with uniform absorption (Eyring), instead of
        ``materials``.
    max_order : int or None
        Highest image-source order (None: every image before the mixing time; meshes default to 2).
    mixing_time : float or None
        Seconds after which the diffuse tail replaces the image sources (None: automatic).
    late_reverb : bool
        Add the diffuse tail (False: image sources only).
    randomize : float
        Jitter of image sources of order ≥ 2 in metres (0.05–0.1 breaks up flutter echoes).
    seed : int
        Seed of the tail's noise and the jitter, for reproducible renders.
    rays : int or None
        Mesh rooms: rays traced per source for the scattered early energy and the tail's level and
        decay per band (None: :data:`~soundstage.acoustics.room.ray_tracing.DEFAULT_RAYS`; 0: no
        tracing — the tail then decays at Arau-Puchades' rate from the diffuse-field level); at most 100 000
        (a trace's time grows with them: 2000 take about 0.3 s in a 100-plane room).
    """

    shoebox: Shoebox | None = None
    mesh: str | Path | None = None
    ground: MaterialValue | None = None
    materials: dict[str, MaterialValue] | MaterialValue | None = None
    rt60: float | None = Field(None, gt=0.0, le=20.0)
    max_order: int | None = Field(None, ge=0, le=100)
    mixing_time: float | None = Field(None, gt=0.0, le=2.0)
    late_reverb: bool = True
    randomize: float = Field(0.0, ge=0.0, le=1.0)
    seed: int = Field(0, ge=0, lt=2**63)
    rays: int | None = Field(None, ge=0, le=100_000)

    @field_validator("materials", "ground")
    @classmethod
    def _known_materials(cls, value: Any, info: Any) -> Any:
        from soundstage.acoustics.room.materials import absorption_coefficients, is_material_mapping
        from soundstage.errors import ParameterError

        one = not isinstance(value, dict) or is_material_mapping(value)  # {absorption, scattering} is one material
        specs = [(None, value)] if one else value.items()
        for key, spec in specs:
            if spec is None:
                continue
            try:
                absorption_coefficients(spec, field=f"room.{info.field_name}" + (f".{key}" if key else ""))
            except ParameterError as error:
                raise ValueError(str(error)) from None  # it names the field, down to the surface and key
        return value

    @model_validator(mode="after")
    def _one_kind(self) -> Room:
        kinds = [name for name in ("shoebox", "mesh", "ground") if getattr(self, name) is not None]
        if len(kinds) != 1:
            raise ValueError(
                "give exactly one of shoebox: {size: [x, y, z]}, mesh: FILE or ground: MATERIAL"
                + (f" (got {' and '.join(kinds)})" if kinds else "")
            )
        if self.rt60 is not None and self.materials is not None:
            raise ValueError("give materials or rt60, not both (rt60 solves one uniform absorption)")
        if self.ground is not None and (self.rt60 is not None or self.materials is not None):
            raise ValueError("an open scene (ground) has no walls: drop materials/rt60")
        unused = {"max_order", "mixing_time", "late_reverb", "randomize"} & self.model_fields_set
        if self.ground is not None and unused:
            raise ValueError(
                "an open scene (ground) has the direct sound and one ground reflection only: "
                f"drop {', '.join(sorted(unused))}"
            )
        if self.mesh is None and self.rays is not None:
            raise ValueError("rays are traced in mesh rooms only (a shoebox's image sources reach its tail); drop rays")
        if self.rays and not self.late_reverb:
            raise ValueError("rays feed the late tail and the energy before it; with late_reverb: false drop rays")
        if self.mesh is not None and "randomize" in self.model_fields_set:
            raise ValueError("randomize moves shoebox image sources only; drop it for a mesh room")
        return self

    @property
    def kind(self) -> str:
        """``shoebox``, ``mesh`` or ``ground``."""
        return "shoebox" if self.shoebox is not None else "mesh" if self.mesh is not None else "ground"


class Scene(_Strict):
    """A whole scene. See the module docstring and the README for the file format."""

    sources: Annotated[list[Source], Field(min_length=1)]
    listener: Listener = Listener()
    output: Output = Output()
    hrtf: HrtfChoice = HrtfChoice()
    propagation: Propagation = Propagation()
    room: Room | None = None
    base_dir: Path | None = Field(None, exclude=True)

    @field_validator("hrtf", mode="before")
    @classmethod
    def _hrtf_by_name(cls, value: Any) -> Any:
        return {"name": str(value)} if isinstance(value, str | Path) else value

    @model_validator(mode="after")
    def _inside_the_room(self) -> Scene:
        room = self.room
        if room is None or room.kind == "mesh":
            return self  # a mesh is checked when it is loaded
        from soundstage.scene.motion import listener_path, source_path

        listener = listener_path(self)
        paths = [("listener.position", listener.sample_points())]
        for i, source in enumerate(self.sources):
            if source.trajectory is None:  # one place (spherical ones around where the listener starts)
                paths.append((f"{self.source_label(i)}.position", source_world_position(source, self.listener)[None]))
            else:
                paths.append((f"{self.source_label(i)}.trajectory", source_path(self, i, listener).sample_points()))
        size = np.asarray(room.shoebox.size) if room.kind == "shoebox" else None
        for label, points in paths:  # each path's points at once: a scene may hold thousands of sources
            outside = points[:, 2] <= 0 if size is None else ~np.all((points > 0) & (points < size), axis=1)
            if not outside.any():
                continue
            xyz = points[int(np.argmax(outside))]
            if size is None:
                raise ValueError(f"{label} is at z = {xyz[2]:g} m, on or below the ground (z = 0); raise it")
            raise ValueError(
                f"{label} ({', '.join(f'{v:g}' for v in xyz)}) is outside the room "
                f"(0–{size[0]:g}, 0–{size[1]:g}, 0–{size[2]:g} m); with a room, positions are room "
                "coordinates with the origin at a corner"
            )
        return self

    def source_label(self, index: int) -> str:
        """``sources[i] 'name'`` for messages."""
        name = self.sources[index].name
        return f"sources[{index}]" + (f" '{name}'" if name else "")

    def resolve_audio_path(self, index: int) -> Path:
        """Path of source ``index``'s audio file, relative paths taken from the scene's folder."""
        return self.resolve_path(self.sources[index].audio)

    def input_files(self) -> list[Path]:
        """Every file the scene refers to: source audio files, the room mesh, a SOFA head."""
        files = [self.resolve_audio_path(i) for i, s in enumerate(self.sources) if not isinstance(s.audio, np.ndarray)]
        if self.room is not None and self.room.mesh is not None:
            files.append(self.resolve_path(self.room.mesh))
        if self.hrtf.name.lower().endswith(".sofa"):
            files.append(self.resolve_path(self.hrtf.name))
        if isinstance(self.listener.orientation_track, str | Path):
            files.append(self.resolve_path(self.listener.orientation_track))
        return files

    @property
    def moves(self) -> bool:
        """True when a source or the listener moves, or the head turns: a time-varying render."""
        listener = self.listener
        return (
            any(source.moves for source in self.sources)
            or (listener.trajectory is not None and _changes(listener.trajectory))
            or listener.orientation_track is not None
        )

    def resolve_path(self, value: str | Path) -> Path:
        """A path from the scene file, relative paths taken from the scene's folder."""
        path = Path(str(value)).expanduser()
        if not path.is_absolute() and self.base_dir is not None:
            path = self.base_dir / path
        return path


def source_world_position(source: Source, listener: Listener) -> np.ndarray:
    """World position of a source in metres, shape (3,); where it starts when it moves."""
    position = source.position if source.trajectory is None else source.trajectory.keyframes[0].position
    if isinstance(position, CartesianPosition):
        return _xyz(position)
    return _xyz(listener.position) + spherical_to_cartesian(position.az, position.el, position.dist)


def _xyz(position: CartesianPosition) -> np.ndarray:
    return np.array([position.x, position.y, position.z], dtype=float)
