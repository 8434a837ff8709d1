"""Text → spatial audio: a prompt is read into events (``parse``), turned into a scene with sounds from the
library, the user's files or a text-to-audio model (``scene_builder``), and rendered like any scene.
"""
