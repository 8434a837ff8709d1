"""What a benchmark report says about the machine it ran on: CPU, usable cores, library versions."""

from __future__ import annotations

import platform
from importlib import metadata

from soundstage.threads import usable_cores  # noqa: F401 - re-exported for the benchmarks


def package_version(distribution: str) -> str:
    """Installed version of ``distribution``, or ``"not installed"``."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), else what :mod:`platform` knows."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


