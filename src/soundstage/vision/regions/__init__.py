"""Sounding-region backends by name: ``REGION_BACKENDS.create(name, **options)``.

- ``classical`` — offline saliency on superpixels, no weights (:mod:`.classical`).
- ``user`` — the user's boxes and points (:mod:`.user`).
- ``detect`` — open-vocabulary detection refined with SAM (:mod:`.detection`, needs weights).
- ``sam`` — SAM automatic masks ranked by saliency (:mod:`.sam_auto`, needs weights).

Every factory imports its module only when called, so listing the names costs nothing and heavy
libraries load only for the backend that runs. A module provides its backend as a
:class:`~soundstage.vision.stages.RegionBackend` subclass whose ``name`` is the registry name.
"""

from __future__ import annotations

import importlib
from typing import Any

from soundstage.vision.stages import RegionBackend, Registry

REGION_BACKENDS = Registry("regions")


def _lazy(name: str, module: str):
    """A factory that imports ``module`` and builds its RegionBackend subclass named ``name``."""

    def factory(**options: Any) -> RegionBackend:
        loaded = importlib.import_module(module)
        for value in vars(loaded).values():
            if (
                isinstance(value, type)
                and issubclass(value, RegionBackend)
                and value.__module__ == loaded.__name__
                and getattr(value, "name", None) == name
            ):
                return value(**options)
        raise ImportError(f"{module} defines no RegionBackend subclass with name = {name!r}")

    factory.__name__ = f"create_{name}"
    return factory


REGION_BACKENDS.register("classical", _lazy("classical", "soundstage.vision.regions.classical"))
REGION_BACKENDS.register("user", _lazy("user", "soundstage.vision.regions.user"))
REGION_BACKENDS.register("detect", _lazy("detect", "soundstage.vision.regions.detection"))
REGION_BACKENDS.register("sam", _lazy("sam", "soundstage.vision.regions.sam_auto"))

__all__ = ["REGION_BACKENDS"]
