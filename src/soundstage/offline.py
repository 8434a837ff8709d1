"""Offline mode: one switch that every download in Soundstage obeys.

``SOUNDSTAGE_OFFLINE`` or ``HF_HUB_OFFLINE`` set to ``1``/``true``/``yes``/``on`` forbids any
network access: model weights come from the local cache or a folder, registered HRTF sets
from the cache, and anything missing is an immediate error naming what to put where — never
a wait on retries.
"""

from __future__ import annotations

import os

#: Environment variables that forbid network access.
OFFLINE_VARIABLES = ("SOUNDSTAGE_OFFLINE", "HF_HUB_OFFLINE")


def is_offline() -> bool:
    """True when ``SOUNDSTAGE_OFFLINE`` or ``HF_HUB_OFFLINE`` asks for no network access.

    Read at call time (not at import, as huggingface_hub does), so a test or a CLI flag
    can switch it with an environment variable.
    """
    return any(os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"} for name in OFFLINE_VARIABLES)


def offline_reason() -> str:
    """Which variable switched offline mode on, for messages (e.g. ``SOUNDSTAGE_OFFLINE=1``)."""
    for name in OFFLINE_VARIABLES:
        value = os.environ.get(name, "").strip()
        if value.lower() in {"1", "true", "yes", "on"}:
            return f"{name}={value}"
    return "offline mode"
