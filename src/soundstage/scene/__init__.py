"""The scene data model shared by every stage, and its file format."""

from soundstage.scene.files import load_scene, save_scene, scene_from_dict
from soundstage.scene.model import (
    CartesianPosition,
    HrtfChoice,
    Listener,
    Orientation,
    Output,
    Propagation,
    Room,
    Scene,
    Shoebox,
    Source,
    SphericalPosition,
    source_world_position,
)

__all__ = [
    "CartesianPosition",
    "HrtfChoice",
    "Listener",
    "Orientation",
    "Output",
    "Propagation",
    "Room",
    "Scene",
    "Shoebox",
    "Source",
    "SphericalPosition",
    "load_scene",
    "save_scene",
    "scene_from_dict",
    "source_world_position",
]
