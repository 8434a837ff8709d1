"""Training a learned binauralizer: plain PyTorch, resumable, on one CPU or many GPUs.

AdamW with a linear warm-up and a cosine decay, gradient clipping, automatic mixed precision on a
GPU (bfloat16), a checkpoint every ``checkpoint_every`` steps that a killed run resumes from (the
same run folder: model, optimizer, schedule, step and data order come back, so the weights equal a
run that was never stopped), a CSV log, a progress bar, seeds everywhere. Distributed data parallel
through ``torchrun`` (gloo on CPUs, NCCL on GPUs)::

    soundstage train depth_attention_small --data data/ --out runs/da_small
    torchrun --nproc_per_node 2 -m soundstage.learn.train depth_attention_small --data data/ --out runs/da

A run folder holds ``config.yaml`` (the run's full config), ``checkpoint.pt`` (to resume),
``log.csv`` (one row per logged step) and ``model/`` (the best model on the validation split so
far, as ``save_pretrained`` writes it). ``batch_size`` is per process.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import dataclasses
import math
import os
import pickle
import sys
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from soundstage.errors import InputFileError, ParameterError


@dataclass(frozen=True)
class TrainingConfig:
    """How to train (the ``training:`` section of a run config).

    Attributes
    ----------
    steps : int
        Optimizer steps in all.
    batch_size : int
        Crops per step and process.
    learning_rate, weight_decay : float
        AdamW's peak learning rate and decoupled weight decay.
    warmup_steps : int
        Steps of the linear warm-up (then cosine down to 2 % of the peak).
    grad_clip : float
        Largest gradient norm (0: no clipping).
    crops_per_scene : int
        Crops of each training scene per epoch.
    eval_every : int
        Steps between validations (and checkpoints).
    log_every : int
        Steps between rows of ``log.csv``.
    seed : int
        Seed of the weights, the data order and the augmentations.
    num_workers : int
        Data-loading processes (0: in the training process; right for 2 cores).
    augment : bool
        Random crops with the augmentations of :mod:`soundstage.learn.dataset` (False: fixed crops and
        exact views — to fit a few scenes exactly, e.g. to check a pipeline).
    """

    steps: int = 6000
    batch_size: int = 16
    learning_rate: float = 5e-4
    weight_decay: float = 0.01
    warmup_steps: int = 300
    grad_clip: float = 1.0
    crops_per_scene: int = 8
    eval_every: int = 500
    log_every: int = 50
    seed: int = 0
    num_workers: int = 0
    augment: bool = True

    def __post_init__(self) -> None:
        positive = ("steps", "batch_size", "crops_per_scene", "eval_every", "log_every")
        for name in positive:
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(f"{name} must be a whole number of at least 1, got {getattr(self, name)!r}")
        if self.warmup_steps < 0 or self.num_workers < 0 or self.seed < 0:
            raise ValueError("warmup_steps, num_workers and seed must not be negative")
        if not self.learning_rate > 0 or self.weight_decay < 0 or self.grad_clip < 0:
            raise ValueError("learning_rate must be positive; weight_decay and grad_clip must not be negative")


@dataclass
class RunConfig:
    """A run: which model, built how, trained how."""

    model: str
    model_config: dict[str, Any]
    training: TrainingConfig

    def as_dict(self) -> dict[str, Any]:
        return {"model": self.model, "model_config": self.model_config, "training": dataclasses.asdict(self.training)}


def packaged_configs() -> list[str]:
    """Names of the configs shipped with the package (``soundstage train NAME``)."""
    folder = resources.files("soundstage.learn") / "configs"
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))


def load_run_config(name_or_path: str | Path) -> RunConfig:
    """A run config from a YAML file or the name of a packaged one."""
    import yaml

    path = Path(name_or_path)
    if not path.is_file():
        packaged = resources.files("soundstage.learn") / "configs" / f"{name_or_path}.yaml"
        if not packaged.is_file():
            raise InputFileError(
                f"{name_or_path}: no such config file or packaged config; packaged: {', '.join(packaged_configs())}"
            )
        text, where = packaged.read_text(), f"{name_or_path} (packaged)"
    else:
        text, where = path.read_text(), str(path)
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise InputFileError(f"{where}: not valid YAML ({str(error).splitlines()[0]})") from None
    return run_config_from_dict(document, where=where)


def run_config_from_dict(document: Any, *, where: str) -> RunConfig:
    """Check and build a :class:`RunConfig` from its YAML/JSON form."""
    from soundstage.learn.pretrained import ARCHITECTURES, _import_architectures, config_from_dict

    _import_architectures()
    if not isinstance(document, dict) or "model" not in document:
        raise InputFileError(f"{where}: a run config needs 'model' (one of {', '.join(sorted(ARCHITECTURES))})")
    unknown = set(document) - {"model", "model_config", "training"}
    if unknown:
        raise InputFileError(
            f"{where}: unknown field(s) {', '.join(sorted(unknown))}; use model, model_config, training"
        )
    if document["model"] not in ARCHITECTURES:
        raise InputFileError(f"{where}: model {document['model']!r}: use one of {', '.join(sorted(ARCHITECTURES))}")
    model_config = document.get("model_config") or {}
    config_from_dict(ARCHITECTURES[document["model"]].config_class, model_config, where=f"{where}: model_config")
    training = config_from_dict(TrainingConfig, document.get("training") or {}, where=f"{where}: training")
    return RunConfig(document["model"], model_config, training)


def build_model(run: RunConfig):
    """The untrained network of a run config."""
    from soundstage.learn.pretrained import ARCHITECTURES, config_from_dict

    cls = ARCHITECTURES[run.model]
    config = config_from_dict(cls.config_class, run.model_config, where="model_config")
    try:
        return cls(config)
    except (ValueError, TypeError) as error:
        raise InputFileError(f"model_config: {error}") from None


@dataclass
class TrainResult:
    """What a training run ended with."""

    folder: Path
    steps: int
    best_validation: float
    resumed_from: int
    seconds: float


def learning_rate_factor(step: int, config: TrainingConfig) -> float:
    """Linear warm-up to 1, then cosine to 0.02 at the last step."""
    if step < config.warmup_steps:
        return (step + 1) / config.warmup_steps
    progress = (step - config.warmup_steps) / max(1, config.steps - config.warmup_steps)
    return 0.02 + 0.98 * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def train(
    config: str | Path | RunConfig,
    data: str | Path,
    out: str | Path,
    *,
    steps: int | None = None,
    device: str | None = None,
    progress: bool = True,
) -> TrainResult:
    """Train (or resume) a run; see the module docstring.

    Parameters
    ----------
    config : str, Path or RunConfig
        A YAML file, a packaged config's name, or a config.
    data : str or Path
        A dataset folder (``soundstage data binaural``).
    out : str or Path
        The run folder; a run already there with the same config resumes.
    steps : int or None
        Override ``training.steps``.
    device : str or None
        ``cpu``, ``cuda`` (default: cuda when available, cpu otherwise).
    progress : bool
        Show a progress bar.

    Returns
    -------
    TrainResult
    """
    import torch

    from soundstage.learn.dataset import BinauralScenes
    from soundstage.learn.spectral import stft

    run = config if isinstance(config, RunConfig) else load_run_config(config)
    if steps is not None:
        if steps < 1:
            raise ParameterError(f"--steps {steps}: give at least 1")
        run = RunConfig(run.model, run.model_config, dataclasses.replace(run.training, steps=steps))
    settings = run.training
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    rank, world = 0, 1
    if distributed:
        import torch.distributed as dist

        dist.init_process_group("nccl" if device == "cuda" else "gloo")
        rank, world = dist.get_rank(), dist.get_world_size()
        if device == "cuda":
            local_rank = int(os.environ.get("LOCAL_RANK", 0))
            torch.cuda.set_device(local_rank)
            device = f"cuda:{local_rank}"
    out = Path(out)
    torch.manual_seed(settings.seed)
    model = build_model(run).to(device)
    spectral, view = model.config.spectral, model.config.view
    train_set = BinauralScenes(
        data,
        "train",
        view,
        spectral,
        crops_per_scene=settings.crops_per_scene,
        augment=settings.augment,
        seed=settings.seed,
    )
    val_set = BinauralScenes(data, "val", view, spectral, crops_per_scene=1, augment=False)
    # The data is checked before the run folder is made, so a bad request leaves nothing behind; every
    # rank checks the folder (so all stop with the same one-line error), rank 0 writes it.
    _start_run_folder(out, run, write=rank == 0)
    if distributed:
        torch.distributed.barrier()
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.learning_rate, weight_decay=settings.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: learning_rate_factor(s, settings))
    step, best = 0, math.inf
    checkpoint_path = out / "checkpoint.pt"
    if checkpoint_path.is_file():
        try:
            state = torch.load(checkpoint_path, map_location=device, weights_only=False)
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            scheduler.load_state_dict(state["scheduler"])
            step, best = int(state["step"]), float(state["best_validation"])
        except (RuntimeError, EOFError, KeyError, ValueError, TypeError, pickle.UnpicklingError):
            raise InputFileError(
                f"{checkpoint_path}: damaged or from another model; delete it to start the run again"
            ) from None
    resumed_from = step
    network = model
    if distributed:
        local = [torch.device(device).index] if device.startswith("cuda") else None
        network = torch.nn.parallel.DistributedDataParallel(model, device_ids=local)
    use_amp = device.startswith("cuda")
    batches_per_epoch = max(1, len(train_set) // (settings.batch_size * world))
    log = _Log(out / "log.csv", after_step=step) if rank == 0 else None
    bar = None
    if progress and rank == 0:
        from tqdm.auto import tqdm

        bar = tqdm(total=settings.steps, initial=step, desc=f"train {run.model}", unit="step")
    started = time.perf_counter()
    try:
        while step < settings.steps:
            epoch, position = divmod(step, batches_per_epoch)
            train_set.set_epoch(epoch)
            generator = torch.Generator().manual_seed(settings.seed * 1_000_003 + epoch)
            order = torch.randperm(len(train_set), generator=generator)[rank::world].tolist()
            batches = [
                order[i * settings.batch_size : (i + 1) * settings.batch_size] for i in range(batches_per_epoch)
            ][position:]
            loader = torch.utils.data.DataLoader(train_set, batch_sampler=batches, num_workers=settings.num_workers)
            for batch in loader:
                model.train()
                mix = stft(batch["mix"].to(device), spectral)
                target = stft(batch["difference"].to(device), spectral)
                with torch.autocast("cuda", dtype=torch.bfloat16) if use_amp else contextlib.nullcontext():
                    outputs = network(mix, batch["view"].to(device))
                outputs = {key: value.float() for key, value in outputs.items()}
                loss, parts = model.loss(outputs, target)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if settings.grad_clip > 0:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), settings.grad_clip)
                optimizer.step()
                scheduler.step()
                step += 1
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(loss=f"{float(loss.detach()):.4f}")
                validate = step % settings.eval_every == 0 or step == settings.steps
                validation = None
                if validate and rank == 0:
                    validation = evaluate_loss(model, val_set, device=device)
                    if validation < best:
                        best = validation
                        model.save_pretrained(out / "model", overwrite=True, metadata=_metadata(run, data, step, best))
                if log is not None and (step % settings.log_every == 0 or validate):
                    log.write(
                        step,
                        epoch,
                        scheduler.get_last_lr()[0],
                        float(loss.detach()),
                        parts,
                        validation,
                        time.perf_counter() - started,
                    )
                if validate:
                    if rank == 0:
                        _save_checkpoint(checkpoint_path, model, optimizer, scheduler, step, best, run)
                    if distributed:
                        torch.distributed.barrier()
                if step >= settings.steps:
                    break
    finally:
        if bar is not None:
            bar.close()
        if distributed:
            torch.distributed.destroy_process_group()
    return TrainResult(out, step, best, resumed_from, time.perf_counter() - started)


def evaluate_loss(model, dataset, *, device: str, batch_size: int = 32) -> float:
    """Mean difference-spectrum loss (the STFT term) of a model over a fixed dataset."""
    import torch

    from soundstage.learn.spectral import stft

    model.eval()
    total, count = 0.0, 0
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=False)
    with torch.no_grad():
        for batch in loader:
            mix = stft(batch["mix"].to(device), model.spectral)
            target = stft(batch["difference"].to(device), model.spectral)
            outputs = model(mix, batch["view"].to(device))
            total += float(torch.sum(torch.mean((outputs["difference"] - target) ** 2, dim=(1, 2, 3))))
            count += mix.shape[0]
    return total / count


def _metadata(run: RunConfig, data, step: int, best: float) -> dict[str, Any]:
    import json

    recipe_path = Path(data) / "recipe.json"
    recipe = json.loads(recipe_path.read_text()) if recipe_path.is_file() else None
    return {"run": run.as_dict(), "data_recipe": recipe, "step": step, "validation_stft_loss": best}


def _start_run_folder(out: Path, run: RunConfig, *, write: bool = True) -> None:
    import yaml

    from soundstage.io.atomic import atomic_write, ensure_dir

    path = out / "config.yaml"
    wanted = run.as_dict()
    if write:
        ensure_dir(out)
    if path.is_file():
        try:
            existing = yaml.safe_load(path.read_text())
        except (yaml.YAMLError, UnicodeDecodeError):
            raise InputFileError(f"{path}: damaged; delete the run folder {out} or give another --out") from None
        if _without_steps(existing) != _without_steps(wanted):
            raise ParameterError(
                f"{out} holds a run with another config; give another --out, or the same config to resume it"
            )
        if existing != wanted and write:  # only the length changed: a run extended with --steps goes on
            with atomic_write(path, overwrite=True) as temporary:
                temporary.write_text(yaml.safe_dump(wanted, sort_keys=False))
        return
    if write:
        with atomic_write(path, overwrite=True) as temporary:
            temporary.write_text(yaml.safe_dump(wanted, sort_keys=False))


def _without_steps(document: Any) -> Any:
    """A run config without ``training.steps`` (extending a run is resuming it, not a new run)."""
    if not isinstance(document, dict) or not isinstance(document.get("training"), dict):
        return document
    return {**document, "training": {k: v for k, v in document["training"].items() if k != "steps"}}


def _save_checkpoint(path: Path, model, optimizer, scheduler, step: int, best: float, run: RunConfig) -> None:
    import torch

    state = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "step": step,
        "best_validation": best,
        "run": run.as_dict(),
    }
    from soundstage.io.atomic import atomic_write

    with atomic_write(path, overwrite=True) as temporary:
        torch.save(state, temporary)


class _Log:
    """``log.csv``: appended row by row (a resumed run continues the same file)."""

    FIELDS = (
        "step",
        "epoch",
        "learning_rate",
        "loss",
        "stft",
        "magnitude",
        "phase",
        "reconstruction",
        "validation_stft",
        "seconds",
    )

    def __init__(self, path: Path, *, after_step: int = 0):
        self.path = path
        if path.is_file():
            # Rows past the checkpoint a run resumes from were made by the lost steps: drop them.
            with path.open(newline="") as stream:
                rows = list(csv.reader(stream))
            kept = [rows[0]] + [row for row in rows[1:] if row and row[0].isdigit() and int(row[0]) <= after_step]
            if len(kept) != len(rows):
                with path.open("w", newline="") as stream:
                    csv.writer(stream).writerows(kept)
        else:
            with path.open("w", newline="") as stream:
                csv.writer(stream).writerow(self.FIELDS)

    def write(self, step, epoch, lr, loss, parts, validation, seconds) -> None:
        row = {
            "step": step,
            "epoch": epoch,
            "learning_rate": f"{lr:.3e}",
            "loss": f"{loss:.5f}",
            "validation_stft": "" if validation is None else f"{validation:.5f}",
            "seconds": f"{seconds:.1f}",
        }
        row.update({key: f"{value:.5f}" for key, value in parts.items()})
        with self.path.open("a", newline="") as stream:
            csv.writer(stream).writerow([row.get(name, "") for name in self.FIELDS])


def main(argv: list[str] | None = None) -> int:
    """``python -m soundstage.learn.train`` (what ``torchrun`` runs); the CLI's ``train`` calls :func:`train`."""
    parser = argparse.ArgumentParser(prog="python -m soundstage.learn.train", description=__doc__.splitlines()[0])
    parser.add_argument("config", help="YAML run config, or a packaged config's name")
    parser.add_argument("--data", required=True, help="dataset folder (soundstage data binaural)")
    parser.add_argument("--out", required=True, help="run folder (resumes a run already there)")
    parser.add_argument("--steps", type=int, help="override training.steps")
    parser.add_argument("--device", choices=("cpu", "cuda"), help="default: cuda when available")
    args = parser.parse_args(argv)
    try:
        result = train(args.config, args.data, args.out, steps=args.steps, device=args.device)
    except (InputFileError, ParameterError) as error:
        print(f"soundstage: error: {error}", file=sys.stderr)
        return 2
    if int(os.environ.get("RANK", "0")) == 0:
        print(
            f"trained {result.steps} steps; best validation STFT loss {result.best_validation:.4f}; "
            f"model in {result.folder}/model"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
