"""Session fixtures shared by several test modules."""

from __future__ import annotations

import pytest


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
