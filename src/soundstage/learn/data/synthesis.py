"""Training pairs from our own physics: a manifest and shards, deterministic, resumable, parallel.

PseudoBinaural's idea (train on binaural audio rendered from mono sounds, no recordings needed),
done with Soundstage's acoustics: each scene (:mod:`~soundstage.learn.data.scenes`) is rendered to
two ears by :func:`soundstage.acoustics.render.render` with the scene's head, in free field or a
shoebox, and drawn as a picture with its exact depth (:mod:`~soundstage.learn.data.pictures`).

Layout of a dataset folder::

    recipe.json             what made it (a different recipe in the same folder is refused)
    sounds/                 the sound pool (:mod:`~soundstage.learn.data.sounds`)
    shards/train-00000.npz  binaural (n, 2, samples) float16 at peak 0.5, rgb (n, H, W, 3) uint8,
                            depth_m (n, H, W) float16, labels (n, H, W) uint8 (k+1 = source k)
    shards/train-00000.jsonl one scene per line, row by row
    manifest.jsonl          every scene of every shard, written last

Splits are by sound clip AND by head: a clip belongs to one split (by a hash of its id), and the
test split is heard only through the test head, which no training scene uses — so the test set
has unheard sounds and an unseen head. A shard is the unit of work and of resumption: it is written
atomically, and a run after a kill redoes only missing shards; shard ``k`` of a split is seeded by
``(seed, split, k)``, so the data does not depend on how many workers made it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from soundstage.errors import InputFileError, ParameterError, SoundstageError, first_line
from soundstage.io.atomic import atomic_write, ensure_dir
from soundstage.learn.data.heads import DEFAULT_TEST_HEAD, DEFAULT_TRAIN_HEADS, load_head, parse_sphere
from soundstage.learn.data.pictures import DrawnObject, draw_picture
from soundstage.learn.data.scenes import ROOM_PROBABILITY, sample_scene

SPLITS = ("train", "val", "test")
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}


@dataclass(frozen=True)
class DatasetRecipe:
    """Everything that determines a dataset (stored as ``recipe.json``).

    Attributes
    ----------
    scenes : int
        Scenes in all splits together.
    seed : int
        Seed of the sound pool, the scenes and the pictures.
    sample_rate : int
        Audio rate in Hz (16 kHz: the FAIR-Play protocol).
    clip_seconds : float
        Audio per scene, seconds.
    picture_height, picture_width : int
        Picture size in pixels.
    train_heads : tuple of str
        Heads of the training and validation scenes (:mod:`~soundstage.learn.data.heads`).
    test_head : str
        Head of the test scenes, not among ``train_heads``.
    split_fractions : tuple of float
        Shares of clips and scenes in train, val and test.
    shard_size : int
        Scenes per shard.
    clips_per_class : int
        Clips of each generated sound class in the pool.
    sounds_dir, images_dir : str or None
        The user's folder of sound clips and of background photographs.
    max_sources : int
        Most sources in a scene (1–3).
    room_probability : float
        Share of scenes in a shoebox room, 0–1 (the rest are free field).
    """

    scenes: int = 1000
    seed: int = 0
    sample_rate: int = 16000
    clip_seconds: float = 2.0
    picture_height: int = 96
    picture_width: int = 192
    train_heads: tuple[str, ...] = DEFAULT_TRAIN_HEADS
    test_head: str = DEFAULT_TEST_HEAD
    split_fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)
    shard_size: int = 100
    clips_per_class: int = 8
    sounds_dir: str | None = None
    images_dir: str | None = None
    max_sources: int = 3
    room_probability: float = ROOM_PROBABILITY

    def __post_init__(self) -> None:
        if not 0.0 <= self.room_probability <= 1.0:
            raise ParameterError(f"--rooms {self.room_probability}: give the share of scenes in rooms, 0–1")
        if not 1 <= self.max_sources <= 3:
            raise ParameterError(f"--max-sources {self.max_sources}: give 1, 2 or 3")
        if self.scenes < 3:
            raise ParameterError(f"--scenes {self.scenes}: give at least 3 (one per split)")
        if _head_key(self.test_head) in {_head_key(head) for head in self.train_heads}:
            raise ParameterError(f"test head {self.test_head!r} is also a training head; the test head must be unseen")
        for head in (*self.train_heads, self.test_head):
            parse_sphere(head)
        if abs(sum(self.split_fractions) - 1.0) > 1e-6 or min(self.split_fractions) <= 0:
            raise ParameterError(f"split fractions {self.split_fractions} must be positive and sum to 1")

    def split_sizes(self) -> dict[str, int]:
        """Scenes per split (the remainder goes to train)."""
        val = max(1, round(self.scenes * self.split_fractions[1]))
        test = max(1, round(self.scenes * self.split_fractions[2]))
        return {"train": self.scenes - val - test, "val": val, "test": test}


@dataclass(frozen=True)
class ShardTask:
    """One shard to make (everything a worker needs, picklable)."""

    folder: str
    split: str
    index: int
    count: int
    recipe: DatasetRecipe
    clips: tuple[tuple[str, str, str, float], ...]  # (clip_id, label, path, seconds)
    heads: tuple[str, ...]
    backgrounds: tuple[str, ...] = field(default=())

    @property
    def name(self) -> str:
        return f"{self.split}-{self.index:05d}"


@dataclass
class SynthesisSummary:
    """What a run did: scenes per split, shards made now and shards found done."""

    folder: Path
    scenes: dict[str, int]
    shards_made: int
    shards_reused: int
    pool: dict[str, int]


def _head_key(spec: str) -> tuple:
    """What makes two head specs the same head: a sphere's numbers, or a file's resolved path."""
    sphere = parse_sphere(spec)
    if sphere is not None:
        return ("sphere", round(sphere[0], 6), round(sphere[1], 6))
    path = Path(spec).expanduser()
    return ("file", str(path.resolve())) if path.exists() else ("name", spec)


def clip_split(clip_id: str, fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)) -> str:
    """The split a clip belongs to, from a hash of its id (stable across runs and machines)."""
    position = int.from_bytes(hashlib.sha256(clip_id.encode()).digest()[:8], "big") / 2.0**64
    if position < fractions[0]:
        return "train"
    return "val" if position < fractions[0] + fractions[1] else "test"


def synthesize_dataset(
    folder: str | Path,
    recipe: DatasetRecipe,
    *,
    backend: str = "auto",
    address: str | None = None,
    workers: int | None = None,
    progress: bool = True,
) -> SynthesisSummary:
    """Make (or finish) a dataset in ``folder``.

    Parameters
    ----------
    folder : str or Path
        Dataset folder; created if missing.
    recipe : DatasetRecipe
    backend, address, workers
        Where the shards are made (:func:`soundstage.parallel.map_tasks`).
    progress : bool
        Show a progress bar over scenes.

    Returns
    -------
    SynthesisSummary

    Raises
    ------
    ParameterError
        When ``folder`` holds a dataset made with another recipe.
    """
    from soundstage.learn.data.sounds import build_sound_pool
    from soundstage.parallel import map_tasks

    # Every input is checked before anything is written, so a bad request leaves no folder behind.
    backgrounds = _backgrounds(recipe.images_dir)
    if recipe.sounds_dir is not None and not Path(recipe.sounds_dir).is_dir():
        raise InputFileError(f"--sounds {recipe.sounds_dir}: no such folder; give a folder of sound clips")
    folder = ensure_dir(folder)
    _check_recipe(folder, recipe)
    pool = build_sound_pool(
        folder / "sounds",
        sample_rate=recipe.sample_rate,
        clips_per_class=recipe.clips_per_class,
        seed=recipe.seed,
        user_dir=recipe.sounds_dir,
        progress=progress,
    )
    _check_pool(folder, pool)
    by_split: dict[str, list[tuple[str, str, str, float]]] = {split: [] for split in SPLITS}
    for clip in pool:
        seconds = _clip_seconds(str(clip.path))
        by_split[clip_split(clip.clip_id, recipe.split_fractions)].append(
            (clip.clip_id, clip.label, str(clip.path), seconds)
        )
    empty = [split for split in SPLITS if not by_split[split]]
    if empty:
        raise ParameterError(
            f"the sound pool has {len(pool)} clips and none fell in the {', '.join(empty)} split; "
            "raise --clips-per-class or add clips with --sounds"
        )
    tasks: list[ShardTask] = []
    for split, total in recipe.split_sizes().items():
        heads = (recipe.test_head,) if split == "test" else recipe.train_heads
        for index, start in enumerate(range(0, total, recipe.shard_size)):
            tasks.append(
                ShardTask(
                    str(folder),
                    split,
                    index,
                    min(recipe.shard_size, total - start),
                    recipe,
                    tuple(by_split[split]),
                    heads,
                    tuple(backgrounds),
                )
            )
    shard_dir = ensure_dir(folder / "shards")
    pending = [task for task in tasks if not _shard_done(shard_dir, task)]
    reused = len(tasks) - len(pending)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(
            total=recipe.scenes,
            initial=sum(t.count for t in tasks) - sum(t.count for t in pending),
            desc="scenes",
            unit="scene",
        )
    failures: list[str] = []

    def failed(task: ShardTask, error: BaseException) -> int:
        # One shard's failure (or its worker's death) stops neither the others nor the progress bar.
        reason = first_line(error)
        failures.append(f"{task.split} shard {task.index}: {reason}")
        return 0

    try:
        for count in map_tasks(
            synthesize_shard, pending, backend=backend, address=address, workers=workers, on_error=failed
        ):
            if bar is not None:
                bar.update(count)
    finally:
        if bar is not None:
            bar.close()
    if failures:
        raise SoundstageError(
            f"{len(failures)} of {len(pending)} shards failed (first: {failures[0]}); the others are kept: "
            "run the same command again to make the missing ones"
        )
    _write_manifest(folder, tasks)
    counts = {split: sum(t.count for t in tasks if t.split == split) for split in SPLITS}
    return SynthesisSummary(folder, counts, len(pending), reused, {s: len(by_split[s]) for s in SPLITS})


def synthesize_shard(task: ShardTask) -> int:
    """Render, draw and write one shard; returns its number of scenes."""
    recipe = task.recipe
    rng = np.random.default_rng([recipe.seed, SPLITS.index(task.split), task.index])
    clips = [{"clip_id": c[0], "label": c[1]} for c in task.clips]
    paths = {c[0]: c[2] for c in task.clips}
    lengths = {c[0]: c[3] for c in task.clips}
    n = round(recipe.clip_seconds * recipe.sample_rate)
    height, width = recipe.picture_height, recipe.picture_width
    arrays = {
        "binaural": np.zeros((task.count, 2, n), dtype=np.float16),
        "rgb": np.zeros((task.count, height, width, 3), dtype=np.uint8),
        "depth_m": np.zeros((task.count, height, width), dtype=np.float16),
        "labels": np.zeros((task.count, height, width), dtype=np.uint8),
    }
    lines = []
    backgrounds = [Path(p) for p in task.backgrounds]
    for row in range(task.count):
        spec = sample_scene(
            rng,
            clips,
            list(task.heads),
            aspect=width / height,
            clip_seconds=recipe.clip_seconds,
            clip_lengths_s=lengths,
            max_sources=recipe.max_sources,
            room_probability=recipe.room_probability,
        )
        arrays["binaural"][row] = render_scene(spec, paths, recipe.sample_rate, n).astype(np.float16)
        picture = draw_picture(
            [
                DrawnObject(s["label"], s["azimuth_deg"], s["elevation_deg"], s["distance_m"], s["size_m"])
                for s in spec["sources"]
            ],
            height=height,
            width=width,
            horizontal_fov_deg=spec["fov_deg"],
            seed=spec["picture_seed"],
            backgrounds=backgrounds or None,
        )
        arrays["rgb"][row] = picture.rgb
        arrays["depth_m"][row] = np.minimum(picture.depth_m, 60000.0).astype(np.float16)
        arrays["labels"][row] = picture.labels
        lines.append(
            {"scene_id": f"{task.name}-{row:03d}", "split": task.split, "shard": task.name, "row": row, **spec}
        )
    shard_dir = Path(task.folder) / "shards"
    _atomic_bytes(shard_dir / f"{task.name}.jsonl", "".join(json.dumps(line) + "\n" for line in lines).encode())
    _atomic_npz(shard_dir / f"{task.name}.npz", arrays)
    return task.count


def render_scene(spec: dict[str, Any], clip_paths: dict[str, str], sample_rate: int, n_samples: int) -> np.ndarray:
    """The binaural truth of a scene, ``(2, n_samples)`` float32 scaled to a peak of 0.5."""
    from soundstage.acoustics.render import render
    from soundstage.scene.model import Scene

    sources = []
    for source in spec["sources"]:
        audio = _clip_audio(clip_paths[source["clip_id"]])
        start = round(source["offset_s"] * sample_rate)
        piece = np.resize(np.roll(audio, -start), n_samples)  # loops a clip shorter than the scene
        sources.append(
            {
                "audio": piece,
                "sample_rate": sample_rate,
                "name": source["label"],
                "gain_db": source["gain_db"],
                "position": {"az": source["azimuth_deg"], "el": source["elevation_deg"], "dist": source["distance_m"]},
            }
        )
    document: dict[str, Any] = {"sources": sources, "output": {"format": "binaural", "sample_rate": sample_rate}}
    sphere = parse_sphere(spec["head"])
    if sphere is not None:
        document["listener"] = {"head_radius": sphere[0]}
        document["hrtf"] = {"name": "sphere", "ear_azimuth_deg": sphere[1]}
    room = spec.get("room")
    if room is not None:
        document["room"] = {"shoebox": {"size": room["size"]}, "rt60": room["rt60"], "seed": int(spec["picture_seed"])}
        document.setdefault("listener", {})["position"] = room["listener"]
    scene = Scene.model_validate(document)
    head = None if sphere is not None else load_head(spec["head"], sample_rate)
    audio = render(scene, hrtf=head, progress=False).audio[:, :n_samples]
    out = np.zeros((2, n_samples), dtype=np.float32)
    out[:, : audio.shape[1]] = audio
    peak = float(np.max(np.abs(out)))
    return out * np.float32(0.5 / peak) if peak > 0 else out


def load_manifest(folder: str | Path, split: str | None = None) -> list[dict[str, Any]]:
    """The scenes of a dataset folder (of one split when ``split`` is given)."""
    path = Path(folder) / "manifest.jsonl"
    if not path.is_file():
        raise InputFileError(
            f"{folder}: no manifest.jsonl; make the data with `soundstage data binaural --out {folder}`"
        )
    scenes = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [scene for scene in scenes if split is None or scene["split"] == split]


@lru_cache(maxsize=512)
def _clip_audio(path: str) -> np.ndarray:
    """A pool clip's samples, read once per worker process."""
    from soundstage.io.audio import read_audio_file

    return read_audio_file(path).audio[0]


def _clip_seconds(path: str) -> float:
    import soundfile

    info = soundfile.info(path)
    return info.frames / info.samplerate


def _backgrounds(images_dir: str | None) -> list[str]:
    if images_dir is None:
        return []
    folder = Path(images_dir)
    if not folder.is_dir():
        raise InputFileError(f"--images {images_dir}: no such folder; give a folder of photographs")
    found = sorted(str(p) for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
    if not found:
        raise InputFileError(f"--images {images_dir}: no .jpg/.png pictures in this folder")
    return found


def _check_recipe(folder: Path, recipe: DatasetRecipe) -> None:
    path = folder / "recipe.json"
    wanted = json.loads(json.dumps(asdict(recipe)))
    if path.is_file():
        try:
            existing = json.loads(path.read_text())
        except json.JSONDecodeError:
            existing = None
        if existing != wanted:
            changed = sorted(k for k in wanted if not isinstance(existing, dict) or existing.get(k) != wanted[k])
            raise ParameterError(
                f"{folder} holds a dataset made with another recipe (differs in {', '.join(changed)}); "
                "give another --out, or the same options to resume it"
            )
        return
    _atomic_bytes(path, (json.dumps(wanted, indent=2) + "\n").encode())


def _check_pool(folder: Path, pool) -> None:
    """Refuse to finish a dataset whose sound pool changed since its first shards were made.

    The pool depends on the tools installed (FluidSynth, espeak-ng); installing one between a killed run
    and its resumption would change the clips each split draws from, and the dataset could no longer
    be made again from its recipe.
    """
    ids = "\n".join(sorted(clip.clip_id for clip in pool))
    fingerprint = hashlib.sha256(ids.encode()).hexdigest()
    path = folder / "pool_clips.sha256"
    if path.is_file() and path.read_text().strip() != fingerprint:
        raise ParameterError(
            f"{folder}: the sound pool differs from the one its shards were made with (were FluidSynth or "
            "espeak-ng installed or removed?); give another --out"
        )
    if not path.is_file():
        _atomic_bytes(path, (fingerprint + "\n").encode())


def _shard_done(shard_dir: Path, task: ShardTask) -> bool:
    npz, lines = shard_dir / f"{task.name}.npz", shard_dir / f"{task.name}.jsonl"
    if not (npz.is_file() and lines.is_file()):
        return False
    try:
        with np.load(npz) as shard:
            return shard["binaural"].shape[0] == task.count
    except (OSError, ValueError, KeyError):
        return False


def _write_manifest(folder: Path, tasks: list[ShardTask]) -> None:
    text = "".join((folder / "shards" / f"{task.name}.jsonl").read_text() for task in tasks)
    _atomic_bytes(folder / "manifest.jsonl", text.encode())


def _atomic_bytes(path: Path, data: bytes) -> None:
    with atomic_write(path, overwrite=True) as temporary:
        temporary.write_bytes(data)


def _atomic_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    # A file object, so that numpy does not add ".npz" to the temporary name.
    with atomic_write(path, overwrite=True) as temporary, temporary.open("wb") as stream:
        np.savez(stream, **arrays)
