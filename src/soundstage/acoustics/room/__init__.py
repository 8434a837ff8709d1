"""Rooms: image sources, materials and the late reverberant tail."""
