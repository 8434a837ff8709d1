"""Where the tests find ../shared/data beside the checkout, and how they skip without it."""

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
KEMAR = SHARED_DATA / "hrtf" / "mit_kemar_normal_pinna.sofa"
SHARED_AUDIO = SHARED_DATA / "audio"


def need_kemar() -> None:
    """Skip the calling test, saying why, when the measured KEMAR SOFA file is absent."""
    if not KEMAR.is_file():
        pytest.skip(f"../shared/data absent: {KEMAR} not found")
