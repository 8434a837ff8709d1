"""Pictures → scenes: camera, depth, sounding regions, assignment of sounds, room.

Each stage is a small interface with backends chosen by name (:mod:`soundstage.vision.stages`);
every stage has an offline backend that needs no downloaded weights.
"""
