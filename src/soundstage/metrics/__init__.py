"""Measuring tools: binauralization metrics, interaural cues, localizers, room acoustics, angular errors.

Submodules load on use so that importing :mod:`soundstage.metrics` stays cheap.
"""
