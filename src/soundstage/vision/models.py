"""Helpers the vision model backends share: pictures in the form processors expect, and SAM.

Finding, downloading and loading the models themselves is :mod:`soundstage.hub`'s job, shared
with every other learned feature.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from soundstage.errors import InputFileError, ParameterError
from soundstage.hub import load_pretrained, resolve_model


def to_pil(rgb: np.ndarray) -> Any:
    """A PIL RGB image from a float ``(H, W, 3)`` array in [0, 1] (RGB order, as processors expect).

    Passing a PIL image rather than an array spares the processors from guessing the channel
    axis (a 3-pixel-high array is ambiguous) and from rescaling floats twice.
    """
    from PIL import Image

    array = np.asarray(rgb)
    if array.ndim != 3 or array.shape[2] != 3:
        raise ParameterError(f"image must have shape (H, W, 3), got {array.shape}")
    return Image.fromarray(np.round(np.clip(array, 0.0, 1.0) * 255.0).astype(np.uint8))


def load_sam(name_or_path: str, *, device: str) -> tuple[Any, Any]:
    """SAM model (eval mode, on ``device``) and its processor, from a hub id or a folder."""

    def is_sam(config: dict[str, Any]) -> None:
        # Checked on config.json, before any weights are downloaded.
        if config.get("model_type") != "sam":
            raise InputFileError(
                f"segmentation model {name_or_path!r} is a {config.get('model_type', '?')!r} model, not SAM; "
                "give a SAM model such as 'facebook/sam-vit-base'"
            )

    folder = resolve_model(
        name_or_path,
        purpose="segmentation (SAM)",
        offline_alternative="pass a downloaded SAM folder, or use the offline region backend (--regions classical)",
        check=is_sam,
    )
    from transformers import SamModel, SamProcessor

    model = load_pretrained(SamModel, folder, purpose="segmentation (SAM)").to(device).eval()
    processor = load_pretrained(SamProcessor, folder, purpose="segmentation (SAM)")
    return model, processor
