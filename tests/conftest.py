"""Session fixtures shared by several test modules, and a Hugging Face hub no test can reach."""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

#: Where the tests' Hugging Face hub "is": a local port nobody listens on.
UNREACHABLE_HUB = "http://127.0.0.1:9"


def pytest_configure(config):
    """Point huggingface_hub at a closed local port for the whole session (and the CLIs it starts).

    Online, ``auto`` backends download their weights; a test that runs them without offline mode
    then gets an immediate "connection refused" and the offline fallback, never a real download.
    Offline mode itself is left alone, so the tests of the online path see it off; they replace
    huggingface_hub's functions with a fake hub. Set before any test module imports
    huggingface_hub, which reads ``HF_ENDPOINT`` once, at import.
    """
    os.environ["HF_ENDPOINT"] = UNREACHABLE_HUB
    # Processed heads and other cached things go to a folder of this session, never a user's or CI's cache
    # (which could hold entries of other code); removed when the session ends.
    config._soundstage_cache = tempfile.mkdtemp(prefix="soundstage-test-cache-")
    os.environ["SOUNDSTAGE_CACHE"] = config._soundstage_cache


def pytest_unconfigure(config):
    folder = getattr(config, "_soundstage_cache", None)
    if folder:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def tiny_binaural_dataset(tmp_path_factory):
    """A 20-scene training set (one source each, free field), built once per test session."""
    from soundstage.learn.data.synthesis import DatasetRecipe, synthesize_dataset

    folder = tmp_path_factory.mktemp("learn") / "tiny"
    recipe = DatasetRecipe(
        scenes=20,
        clips_per_class=1,
        shard_size=8,
        max_sources=1,
        split_fractions=(0.6, 0.2, 0.2),
        seed=3,
        room_probability=0.0,
    )
    synthesize_dataset(folder, recipe, backend="local", progress=False)
    return folder
