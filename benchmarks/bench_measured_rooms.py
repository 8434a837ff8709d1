"""Benchmark: rooms held against measured rooms — T20, EDT, C80 and D50 per octave beside the measurement.

The reference is the BRAS database (Aspöck, Brinkmann, Ackermann, Weinzierl, Vorländer, *A benchmark
for room acoustical simulation*, Applied Acoustics 2020; CC BY-SA 4.0) with the geometry of its
informed-simulation supplement (Aspöck 2020; CC BY-NC-SA 4.0). Neither is in this repository: the
benchmark reads them from ``--bras DIR``, a folder laid out as the ``validation/bras`` folder of the
public building3d-rs repository (or as the two downloads unpacked there), and skips without it.

For each room (CR2, the small seminar room, and CR4, the large auditorium, scenes 9 and 11):

- the AC3D model (y up) becomes an OBJ mesh in z-up coordinates, one group per material;
- each material gets the BRAS fitted absorption and scattering at the octave centres
  (the third-octave value at 125 Hz … 8 kHz);
- every source/receiver pair of the measurement (RAVEN project file) is rendered to an omni
  impulse response with air absorption at the measured temperature and humidity;
- T20, EDT, C80 and D50 (ISO 3382-1, :func:`soundstage.metrics.room.room_acoustics`) in the third-octave
  band at each octave centre are averaged over the pairs and set beside the measured room averages at the
  same third octaves (the BRAS evaluation files give third octaves);
- the peer: pyroomacoustics' hybrid (image sources to order 1 + ray tracing with scattering) on the
  same mesh, materials and pairs, timed in the same run.

Where a room's geometry and measurements are there but not its RAVEN project and fitted materials (the
building3d-rs folder holds CR4's model and measured parameters only), the room runs as a **stand-in**: each
material group gets the library material its name says (``STAND_IN_MATERIALS``), positions are placed on the
model's floors (``STAND_IN_POSITIONS``: sources 1.5 m above the stage, receivers 1.2 m above the seating), one
render of every pair measures the library materials' T20 per octave, and every absorption coefficient is
scaled per octave by the ratio to the measured T20 (calibrated as BRAS fitted its own materials, with the
simulator) before the reported render. T20 then matches by construction; EDT, C80 and D50 test the early
energy, at positions other than the measured ones. The peer is not run on a stand-in (5144 triangles).

Run ``python benchmarks/bench_measured_rooms.py --bras /path/to/validation/bras [--rooms CR2] [--rays N]``.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import itertools
import re
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from machine import cpu_model, package_version  # noqa: E402

RATE = 44100
OCTAVES = (125, 250, 500, 1000, 2000, 4000)
PARAMETERS = ("T20", "EDT", "C80", "D50")
#: BRAS scenes: AC3D model, RAVEN project, material prefix and the measured room's name.
ROOMS = {
    "CR2": ("scene9.ac", "Scene09_Informed.rpf", "mat_CR2_"),
    "CR4": ("scene11.ac", "Scene11_Informed.rpf", "mat_CR4_"),
}
#: Stand-in materials (library names) by the word after the scene prefix of each AC3D material.
STAND_IN_MATERIALS = {
    "brickwall": "brick",
    "concrete": "concrete",
    "linoleum": "linoleum",
    "parquet": "wood_floor",
    "seating": "audience",
    "whitePanels": "gypsum_board",
    "windows": "glass",
    "woodPanels": "wood_panel",
}
#: Stand-in positions (z-up model coordinates, x y only; heights from the floor below): sources on the stage,
#: receivers spread over the seating.
STAND_IN_POSITIONS = {
    "CR4": (((-3.0, -1.5), (-3.0, 1.5)), ((4.0, 2.0), (8.0, -4.0), (12.0, 3.0), (16.0, -1.0), (19.0, 6.0))),
}
#: Temperature (°C) and relative humidity (%) of the measurement (BRAS: CR4 at 20.9 °C, 37.5 %).
STAND_IN_CLIMATE = {"CR4": (20.9, 37.5)}
#: Height above the floor below of stand-in sources and receivers, m.
STAND_IN_HEIGHTS = (1.5, 1.2)
#: y up (RAVEN) → z up: (x, y, z) → (x, −z, y), a proper rotation.
Y_UP_TO_Z_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])


@dataclass
class Room:
    name: str
    obj: Path
    materials: dict[str, dict[str, list[float]]]
    sources: np.ndarray
    receivers: np.ndarray
    temperature_c: float
    humidity: float
    measured: dict[str, dict[int, float]]
    faces: list[tuple[str, np.ndarray]]
    stand_in: bool = False


def find(root: Path, name: str) -> Path | None:
    found = sorted(root.rglob(name))
    return found[0] if found else None


def read_ac(path: Path) -> tuple[list[str], np.ndarray, list[tuple[int, list[int]]]]:
    """Materials, vertices and polygons (material index, vertex indices) of an AC3D file (all objects flattened)."""
    lines = path.read_text().splitlines()
    materials, vertices, polygons = [], [], []
    base, i = 0, 0
    while i < len(lines):
        words = lines[i].split()
        if words and words[0] == "MATERIAL":
            materials.append(re.findall(r'"([^"]*)"', lines[i])[0])
        elif words and words[0] == "numvert":
            base, count = len(vertices), int(words[1])
            vertices += [[float(v) for v in lines[i + 1 + k].split()[:3]] for k in range(count)]
            i += count
        elif words and words[0] == "SURF":
            material = int(lines[i + 1].split()[1])
            count = int(lines[i + 2].split()[1])
            polygons.append((material, [base + int(lines[i + 3 + k].split()[0]) for k in range(count)]))
            i += 2 + count
        i += 1
    return materials, np.array(vertices), polygons


def ear_clip(points: np.ndarray) -> list[tuple[int, int, int]]:
    """Triangles (indices into ``points``, (n, 2)) of a simple polygon."""

    def cross(o, a, b):
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    index = list(range(len(points)))
    area = sum(cross((0, 0), points[k], points[(k + 1) % len(points)]) for k in range(len(points)))
    if area < 0:
        index.reverse()
    triangles = []
    while len(index) > 3:
        for k in range(len(index)):
            a, b, c = index[k - 1], index[k], index[(k + 1) % len(index)]
            if cross(points[a], points[b], points[c]) <= 1e-12:
                continue
            others = (j for j in index if j not in (a, b, c))
            if any(
                cross(points[a], points[b], points[j]) >= 0
                and cross(points[b], points[c], points[j]) >= 0
                and cross(points[c], points[a], points[j]) >= 0
                for j in others
            ):
                continue
            triangles.append((a, b, c))
            index.pop(k)
            break
        else:  # only degenerate corners left: fan them
            triangles += [(index[0], index[m], index[m + 1]) for m in range(1, len(index) - 1)]
            return triangles
    triangles.append(tuple(index))
    return triangles


def write_obj(ac: Path, out: Path) -> list[tuple[str, np.ndarray]]:
    """The AC3D model as an OBJ (z up, a group per material); returns (material, triangle corners) per triangle."""
    materials, vertices, polygons = read_ac(ac)
    vertices = vertices @ Y_UP_TO_Z_UP.T
    groups: dict[str, list[tuple[int, int, int]]] = {}
    for material, refs in polygons:
        corners = vertices[refs]
        normal = sum(np.cross(corners[k], corners[(k + 1) % len(corners)]) for k in range(len(corners)))
        if np.linalg.norm(normal) < 1e-12:  # a polygon with no area (the model has a few)
            continue
        normal = normal / np.linalg.norm(normal)
        u = corners[1] - corners[0]
        u = u - normal * (u @ normal)
        u /= np.linalg.norm(u)
        w = np.cross(normal, u)
        flat = np.stack([(corners - corners[0]) @ u, (corners - corners[0]) @ w], axis=1)
        for a, b, c in ear_clip(flat):
            groups.setdefault(materials[material], []).append((refs[a], refs[b], refs[c]))
    lines = [f"v {x:.9f} {y:.9f} {z:.9f}" for x, y, z in vertices]
    faces = []
    for name, triangles in groups.items():
        lines.append(f"g {name}")
        lines += [f"f {a + 1} {b + 1} {c + 1}" for a, b, c in triangles]
        faces += [(name, vertices[[a, b, c]]) for a, b, c in triangles]
    out.write_text("\n".join(lines) + "\n")
    return faces


def read_rpf(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text(errors="replace").splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, value = line.split("=", 1)
            values[key.strip()] = value.strip()
    return values


def positions(text: str) -> np.ndarray:
    return np.array([float(v) for v in text.split(",")]).reshape(-1, 3) @ Y_UP_TO_Z_UP.T


def octave_values(frequencies: list[float], values: list[float]) -> list[float]:
    """The third-octave values at the octave centres 125 Hz … 8 kHz."""
    lookup = dict(zip(frequencies, values, strict=True))
    return [lookup[min(lookup, key=lambda f: abs(f - centre))] for centre in (*OCTAVES, 8000)]


def load_room(root: Path, name: str, work: Path) -> Room | None:
    model, project, prefix = ROOMS[name]
    ac, rpf = find(root, model), find(root, project)
    measured = measured_parameters(root, name)
    if ac is None or measured is None:
        return None
    obj = work / f"{name}.obj"
    faces = write_obj(ac, obj)
    groups = sorted({g for g, _ in faces})
    # The project file first: without it (CR4) the material tables are not searched for.
    tables = {} if rpf is None else {group: find(root, f"{prefix}{group.split('_', 2)[-1]}.csv") for group in groups}
    if rpf is None or None in tables.values():
        return stand_in_room(name, obj, faces, measured) if name in STAND_IN_POSITIONS else None
    materials = {}
    for group, table in tables.items():
        rows = [[float(v) for v in row] for row in csv.reader(table.read_text().splitlines()) if row]
        materials[group] = {
            "absorption": octave_values(rows[0], rows[1]),
            "scattering": octave_values(rows[0], rows[2]),
        }
    settings = read_rpf(rpf)
    return Room(
        name,
        obj,
        materials,
        positions(settings["sourcePositions"]),
        positions(settings["receiverPositions"]),
        float(settings.get("Temperature", 20.0)),
        float(settings.get("Humidity", 50.0)),
        measured,
        faces,
    )


def measured_parameters(root: Path, name: str) -> dict[str, dict[int, float]] | None:
    """The measured room averages at the octave centres' third octaves, or None without the files."""
    measured = {}
    for parameter in PARAMETERS:
        path = find(root, f"Evaluation_{name}_{parameter}.txt")
        if path is None:
            return None
        rows = [[float(v) for v in row] for row in csv.reader(path.read_text().splitlines()) if row]
        table = dict(zip(rows[0], rows[1], strict=True))
        measured[parameter] = {f: table[min(table, key=lambda x: abs(x - f))] for f in OCTAVES}
    return measured


def stand_in_room(name: str, obj: Path, faces: list[tuple[str, np.ndarray]], measured: dict) -> Room:
    """The room with library materials by group name and positions on its floors (see the module docstring)."""
    from soundstage.acoustics.room.materials import absorption_coefficients, scattering_coefficients
    from soundstage.acoustics.room.mesh import load_mesh_room

    materials = {}
    for group in sorted({g for g, _ in faces}):
        word = group.split("_", 2)[-1]
        if word not in STAND_IN_MATERIALS:
            raise SystemExit(f"{name}: material group {group!r} has no stand-in; add {word!r} to STAND_IN_MATERIALS")
        library = STAND_IN_MATERIALS[word]
        materials[group] = {
            "absorption": [float(a) for a in absorption_coefficients(library)[:7]],
            "scattering": [float(x) for x in scattering_coefficients(library)[:7]],  # 125 Hz … 8 kHz
        }
    room = load_mesh_room(obj, materials)
    sources, receivers = STAND_IN_POSITIONS[name]
    temperature_c, humidity = STAND_IN_CLIMATE[name]
    return Room(
        f"{name} (stand-in: library materials calibrated to the measured T20, positions placed on the floors)",
        obj,
        materials,
        np.array([floor_point(room, xy, STAND_IN_HEIGHTS[0]) for xy in sources]),
        np.array([floor_point(room, xy, STAND_IN_HEIGHTS[1]) for xy in receivers]),
        temperature_c,
        humidity,
        measured,
        faces,
        stand_in=True,
    )


def floor_point(room, xy: tuple[float, float], height: float) -> np.ndarray:
    """The point ``height`` metres above the lowest floor under ``xy`` from which it stands in the room's air.

    A floor is a triangle facing up into the room; the point must be inside the room (not in a solid such as a
    raked seating block) and no surface may cross the ``height`` metres below it.
    """
    corners = room.vertices[room.triangles]
    a, b, c = corners[:, 0], corners[:, 1], corners[:, 2]
    point = np.asarray(xy, dtype=float)

    def side(p: np.ndarray, q: np.ndarray) -> np.ndarray:
        return (p[:, 0] - point[0]) * (q[:, 1] - point[1]) - (q[:, 0] - point[0]) * (p[:, 1] - point[1])

    s1, s2, s3 = side(a, b), side(b, c), side(c, a)
    over = ((s1 >= 0) & (s2 >= 0) & (s3 >= 0)) | ((s1 <= 0) & (s2 <= 0) & (s3 <= 0))
    normal = np.cross(b - a, c - a)
    crossing = over & (np.abs(normal[:, 2]) > 1e-12 * np.linalg.norm(normal, axis=1))
    z = (
        a[crossing, 2]
        - ((point[0] - a[crossing, 0]) * normal[crossing, 0] + (point[1] - a[crossing, 1]) * normal[crossing, 1])
        / normal[crossing, 2]
    )
    facing_up = normal[crossing, 2] > 0.5 * np.linalg.norm(normal[crossing], axis=1)  # inward normals: floors
    for floor in np.sort(z[facing_up]):
        above = np.array([point[0], point[1], floor + height])
        clear = not np.any((z > floor + 1e-6) & (z < floor + height))
        if clear and room.contains(above)[0]:
            return above
    raise SystemExit(f"no floor under {tuple(xy)} with {height} m of air above it in {room.source_path}")


def calibrated(room: Room, library: dict) -> Room:
    """The room with every absorption scaled per octave so that the walls' share of the decay rate gives the
    measured T20.

    The energy decay rate ``13.8 / T`` (1/s) is the walls' plus the air's ``m c`` (m: energy attenuation per
    metre); only the walls' share scales with their absorption (linearly as in Sabine's formula, which
    Eyring's follows closely at these coefficients).
    """
    from soundstage.acoustics.air_absorption import air_absorption_db_per_m
    from soundstage.acoustics.room.reverberation_time import air_energy_attenuation
    from soundstage.conventions import SPEED_OF_SOUND

    air_db = air_absorption_db_per_m(
        np.array(OCTAVES, dtype=float), temperature_c=room.temperature_c, relative_humidity=room.humidity
    )
    air_rate = air_energy_attenuation(air_db) * SPEED_OF_SOUND  # 1/s
    decades = 6.0 * np.log(10.0)  # 60 dB of energy in nepers
    simulated = np.array([library["T20"][f] for f in OCTAVES])
    measured = np.array([room.measured["T20"][f] for f in OCTAVES])
    ratio = list((decades / measured - air_rate) / (decades / simulated - air_rate))
    ratio.append(ratio[-1])  # 8 kHz as 4 kHz
    materials = {
        group: {
            "absorption": [min(0.99, a * r) for a, r in zip(spec["absorption"], ratio, strict=True)],
            "scattering": spec["scattering"],
        }
        for group, spec in room.materials.items()
    }
    return dataclasses.replace(room, materials=materials)


def parameters_of(ir: np.ndarray) -> dict[str, dict[int, float]]:
    """T20, EDT, C80 and D50 in the third-octave band at each octave centre, as the BRAS evaluation gives them.

    Each band is the response filtered by a 3rd-order Butterworth band-pass with edges ``f·2^(±1/6)`` run
    forwards and backwards (zero phase, as :func:`soundstage.metrics.room.room_acoustics` filters its
    octaves), then measured by ``room_acoustics``. Octave bands would mix in the neighbouring third
    octaves, whose decay differs by up to 40 % in CR2 (1.35 s at 250 Hz, 1.87 s at 315 Hz).
    """
    from scipy.signal import butter, sosfiltfilt

    from soundstage.metrics.room import room_acoustics

    out: dict[str, dict[int, float]] = {p: {} for p in PARAMETERS}
    for f in OCTAVES:
        edges = [f * 2 ** (-1 / 6), f * 2 ** (1 / 6)]
        band = room_acoustics(sosfiltfilt(butter(3, edges, "bandpass", fs=RATE, output="sos"), ir), RATE)
        c50 = 10.0 ** (band.c50_db / 10.0)
        out["T20"][f], out["EDT"][f], out["C80"][f] = band.t20_s, band.edt_s, band.c80_db
        out["D50"][f] = 100.0 * c50 / (1.0 + c50)
    return out


def mean_over(results: list[dict[str, dict[int, float]]]) -> dict[str, dict[int, float]]:
    return {p: {f: float(np.nanmean([r[p].get(f, np.nan) for r in results])) for f in OCTAVES} for p in PARAMETERS}


def soundstage_run(room: Room, rays: int | None) -> tuple[dict, float]:
    from soundstage.acoustics.render import impulse_responses
    from soundstage.scene.model import Scene

    results, start = [], time.perf_counter()
    for pair, (source, receiver) in enumerate(itertools.product(room.sources, room.receivers)):
        # Each pair its own late-field noise, as each measured position has its own (the same seed would
        # average one realization ten times: one-third-octave T20 of one realization swings by ±15 %).
        scene = Scene.model_validate(
            {
                "output": {"format": "omni", "sample_rate": RATE},
                "room": {"mesh": str(room.obj), "materials": room.materials, "rays": rays, "seed": pair},
                "propagation": {
                    "air_absorption": True,
                    "temperature_c": room.temperature_c,
                    "relative_humidity": room.humidity,
                },
                "listener": {"position": receiver.tolist()},
                "sources": [{"audio": "unused.wav", "position": source.tolist()}],
            }
        )
        ((_, response),) = impulse_responses(scene, progress=False)
        results.append(parameters_of(response.audio[0]))
    return mean_over(results), time.perf_counter() - start


def peer_run(room: Room, n_rays: int, rate: int) -> tuple[dict, float]:
    """pyroomacoustics' hybrid simulator on the same mesh, materials and pairs."""
    import pyroomacoustics as pra

    start = time.perf_counter()
    walls = []
    for group, corners in room.faces:
        material = room.materials[group]
        walls.append(
            pra.wall_factory(
                corners.T,
                material["absorption"],
                material["scattering"],
            )
        )
    results = []
    for source in room.sources:
        # The measured air, as Soundstage gets it (pyroomacoustics' default: dry air at the 343 m/s temperature).
        simulated = pra.Room(
            walls,
            fs=rate,
            max_order=1,
            ray_tracing=True,
            air_absorption=True,
            temperature=room.temperature_c,
            humidity=room.humidity,
        )
        simulated.set_ray_tracing(n_rays=n_rays, receiver_radius=0.5, energy_thres=1e-7, time_thres=3.0)
        simulated.add_source(source)
        simulated.add_microphone_array(pra.MicrophoneArray(room.receivers.T, rate))
        simulated.compute_rir()
        for mic in range(len(room.receivers)):
            ir = np.asarray(simulated.rir[mic][0], dtype=float)
            if rate != RATE:
                from scipy.signal import resample_poly

                ir = resample_poly(ir, RATE, rate)
            results.append(parameters_of(ir))
    return mean_over(results), time.perf_counter() - start


def error(parameter: str, value: float, measured: float) -> str:
    """The error as the targets state it: % for decay times, dB for C80, points for D50."""
    if parameter in ("T20", "EDT"):
        return f"{100 * (value - measured) / measured:+.1f} %"
    return f"{value - measured:+.2f} dB" if parameter == "C80" else f"{value - measured:+.1f} pt"


def table(room: Room, ours: dict, peer: dict | None) -> str:
    lines = [f"### {room.name}: {len(room.sources)} sources × {len(room.receivers)} receivers\n"]
    header = "| parameter | octave (Hz) | measured | Soundstage | error |"
    lines += [
        header + (" pyroomacoustics | error |" if peer else ""),
        "|---|---:|---:|---:|---:|" + ("---:|---:|" if peer else ""),
    ]
    for p in PARAMETERS:
        for f in OCTAVES:
            m = room.measured[p][f]
            row = f"| {p} | {f} | {m:.2f} | {ours[p][f]:.2f} | {error(p, ours[p][f], m)} |"
            if peer:
                row += f" {peer[p][f]:.2f} | {error(p, peer[p][f], m)} |"
            lines.append(row)
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bras", type=Path, help="folder holding the BRAS files (see the module docstring)")
    parser.add_argument("--rooms", nargs="+", default=["CR2"], choices=sorted(ROOMS))
    parser.add_argument("--rays", type=int, default=None, help="Soundstage rays per source (default: the library's)")
    parser.add_argument("--peer-rays", type=int, default=5000)
    parser.add_argument("--peer-rate", type=int, default=16000, help="pyroomacoustics' sample rate (Hz)")
    parser.add_argument("--no-peer", action="store_true")
    args = parser.parse_args()
    if args.bras is None or not args.bras.is_dir():
        print("skipped: give --bras DIR, a folder with the BRAS files (see this script's docstring)")
        return 0
    print("# Rooms against measured rooms (BRAS)\n")
    print(
        f"machine: {cpu_model()}; soundstage {package_version('soundstage')}, "
        f"pyroomacoustics {package_version('pyroomacoustics')}\n"
    )
    with tempfile.TemporaryDirectory() as folder:
        for name in args.rooms:
            room = load_room(args.bras, name, Path(folder))
            if room is None:
                print(f"{name}: skipped, its files are not under {args.bras}")
                continue
            calibration = ""
            if room.stand_in:
                library, library_s = soundstage_run(room, args.rays)
                t20 = ", ".join(f"{error('T20', library['T20'][f], room.measured['T20'][f])}" for f in OCTAVES)
                calibration = f" (and {library_s:.1f} s before, library materials: T20 {t20} at 125 Hz…4 kHz)"
                room = calibrated(room, library)
            ours, ours_s = soundstage_run(room, args.rays)
            no_peer = args.no_peer or room.stand_in
            peer, peer_s = (None, 0.0) if no_peer else peer_run(room, args.peer_rays, args.peer_rate)
            print(table(room, ours, peer))
            pairs = len(room.sources) * len(room.receivers)
            line = f"\ntime for {pairs} pairs: Soundstage {ours_s:.1f} s at {RATE} Hz{calibration}"
            if peer is not None:
                line += (
                    f"; pyroomacoustics {peer_s:.1f} s at {args.peer_rate} Hz ({args.peer_rays} rays, "
                    f"order 1); ratio {peer_s / ours_s:.1f}×"
                )
            print(line + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
